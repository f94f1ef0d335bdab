"""Realistic synthetic survey responses for the demo, the benchmarks and the tests.

Each respondent has a latent attitude per dimension: a base level, a role-group offset
(executives more confident than practitioners, most of all about ROI), a department
effect and personal noise. The offsets are made up for the demo. Only their direction
follows published surveys of AI at work, e.g. Gallup (2025, where AI tools are available:
leaders 67%, managers 52%, individual contributors 46% use AI a few times a week or more;
https://www.gallup.com/workplace/704252/workplace-separates-adopters-holdouts.aspx).
They are no benchmark: norms come from real organisations' results (`norms build`).
The outcome dimension of a driver analysis (if the survey has one) is built from the
personal attitudes on its predictors with group-specific weights (`DRIVER_WEIGHTS`).
Item answers are the latent attitude plus item noise, cut into scale codes. Everything
is vectorised and seeded, so 1,000,000 rows take seconds and the same seed gives the
same file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from alignscan.survey import Dimension, Survey

# Latent offsets (in 5-point scale units) of the executive group over the practitioner
# group per dimension of the built-in instrument; other surveys use them by position.
EXEC_OFFSET = {
    "roi": 0.5,
    "goals": 0.30,
    "collaboration": 0.20,
    "talent": 0.45,
    "experimentation": 0.40,
    "delivery": 0.30,
    "confidence": 0.45,
}
# What moves each group's outcome (the survey's drivers.outcome): weights on the personal
# attitude (standardised) of each predictor dimension. Executives' confidence rides on
# ROI; practitioners' on talent and trust in delivery; management sits in between.
DRIVER_WEIGHTS = {
    "executive": {"roi": 0.7, "goals": 0.25, "experimentation": 0.15},
    "management": {"goals": 0.45, "collaboration": 0.35, "roi": 0.3},
    "practitioner": {"talent": 0.5, "delivery": 0.5, "collaboration": 0.15},
}
OTHER_GROUP_WEIGHTS = (0.5, 0.4)  # groups not above: the first two predictors
# How much of each executive offset is left in later waves (wave 2 closes the ROI gap).
WAVE_SHRINK = {"roi": 0.2, "delivery": 0.8}
PRACTITIONER_BASE = 3.42
GROUP_SHARE = {"executive": 0.10, "management": 0.17, "practitioner": 0.73}
DEPARTMENTS = {
    "Finance": 0.18,
    "Operations": 0.26,
    "IT": 0.24,
    "Marketing": 0.15,
    "HR": 0.10,
    "Legal": 0.07,
}
DEPARTMENT_EFFECT = {"IT": 0.15, "Finance": -0.10, "Legal": -0.15}
REGIONS = {"EMEA": 0.45, "Americas": 0.345, "APAC": 0.19, "Middle East": 0.015}
COMMENTS = [
    "Tell us which business results the AI projects are meant to move.",
    "Give teams time to learn instead of adding AI on top of everything else.",
    "Fund small pilots and let us stop the ones that don't work.",
    "Bring IT into the planning before the budget is fixed.",
    "Share the results of pilots, including the failures.",
    "Fewer announcements, more working tools.",
    "Let us share data between departments without months of approvals.",
    "Leadership should ask the people doing the work what is realistic.",
]


def _segment_values(column: str) -> dict[str, float]:
    name = column.casefold()
    if "dep" in name or "team" in name or "unit" in name:
        return DEPARTMENTS
    if "region" in name or "country" in name or "site" in name:
        return REGIONS
    return {f"{column} A": 0.5, f"{column} B": 0.3, f"{column} C": 0.2}


def _group_shares(survey: Survey) -> dict[str, float]:
    groups = list(survey.roles.groups)
    raw = {g: GROUP_SHARE.get(g, 0.15) for g in groups}
    total = sum(raw.values())
    return {g: v / total for g, v in raw.items()}


def generate_responses(
    survey: Survey,
    n: int = 2000,
    *,
    seed: int = 0,
    wave: int = 1,
    answers: Literal["labels", "codes"] = "labels",
    missing_rate: float = 0.03,
    comment_rate: float = 0.25,
) -> pd.DataFrame:
    """A DataFrame shaped like a survey export for `survey`: one row per respondent.

    Columns: respondent id (if the survey has one), role, segments, one per item (labels
    or codes, reverse-keyed items answered the "raw" way round), one per comment.
    """
    rng = np.random.default_rng([seed, wave])
    points = survey.scale.points
    out: dict[str, object] = {}
    if survey.respondent_id:
        out[survey.respondent_id] = np.char.add(
            f"W{wave}-R", np.char.zfill(np.arange(1, n + 1).astype(str), 7)
        )

    shares = _group_shares(survey)
    group_names = list(shares)
    group_idx = rng.choice(len(group_names), size=n, p=list(shares.values()))
    role = np.empty(n, dtype=object)
    for g, name in enumerate(group_names):
        values = survey.roles.groups[name]
        mask = group_idx == g
        role[mask] = np.asarray(values, dtype=object)[rng.integers(0, len(values), mask.sum())]
    out[survey.roles.column] = role

    dept_effect = np.zeros(n)
    for column in survey.segments:
        shares = _segment_values(column)
        seg_values = list(shares)
        idx = rng.choice(len(seg_values), size=n, p=list(shares.values()))
        out[column] = pd.Categorical.from_codes(idx, categories=seg_values)
        if shares is DEPARTMENTS:
            dept_effect += np.asarray([DEPARTMENT_EFFECT.get(d, 0.0) for d in seg_values])[idx]

    compare_a, compare_b = survey.roles.compare
    offsets = list(EXEC_OFFSET.values())
    attitude: dict[str, np.ndarray] = {}
    deferred: tuple[Dimension, np.ndarray] | None = None
    for d, dim in enumerate(survey.dimensions):
        exec_offset = EXEC_OFFSET.get(dim.id, offsets[d % len(offsets)])
        if wave > 1:
            exec_offset *= WAVE_SHRINK.get(dim.id, 1.0) ** (wave - 1)
        offset_by_group = np.array(
            [
                exec_offset if g == compare_a else 0.0 if g == compare_b else exec_offset / 2
                for g in group_names
            ]
        )
        outcome = survey.drivers is not None and dim.id == survey.drivers.outcome
        if outcome:  # made after its predictors; keep its place among the columns
            deferred = (dim, offset_by_group)
            out.update({item.source_column: None for item in dim.items})
            continue
        attitude[dim.id] = rng.normal(0.0, 1.0, size=n)
        base = PRACTITIONER_BASE + offset_by_group[group_idx] + dept_effect
        person = base + 0.7 * attitude[dim.id]
        _write_items(out, dim, person, rng, points, survey, answers, missing_rate)
    if deferred is not None:
        dim, offset_by_group = deferred
        driven = _driven_attitude(survey, attitude, group_names, group_idx, rng)
        person = PRACTITIONER_BASE + offset_by_group[group_idx] + dept_effect + 0.7 * driven
        _write_items(out, dim, person, rng, points, survey, answers, missing_rate)

    for comment in survey.comments:
        has = rng.random(n) < comment_rate
        idx = rng.integers(0, len(COMMENTS), size=n)
        out[comment.source_column] = pd.Categorical.from_codes(
            np.where(has, idx, len(COMMENTS)), categories=[*COMMENTS, ""]
        )
    return pd.DataFrame(out)


def _driven_attitude(
    survey: Survey,
    attitude: dict[str, np.ndarray],
    group_names: list[str],
    group_idx: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """A standardised outcome attitude: weighted predictor attitudes plus noise, per group."""
    assert survey.drivers is not None
    outcome = survey.drivers.outcome
    predictors = survey.drivers.predictors or [d for d in attitude if d != outcome]
    noise = rng.normal(0.0, 1.0, size=len(group_idx))
    driven = np.zeros(len(group_idx))
    for g, name in enumerate(group_names):
        weights = DRIVER_WEIGHTS.get(name) or dict(
            zip(predictors, OTHER_GROUP_WEIGHTS, strict=False)
        )
        weights = {d: w for d, w in weights.items() if d in predictors and d in attitude}
        mask = group_idx == g
        rest = math.sqrt(max(0.1, 1.0 - sum(w * w for w in weights.values())))
        driven[mask] = rest * noise[mask]
        for dim_id, w in weights.items():
            driven[mask] += w * attitude[dim_id][mask]
    return driven


def _write_items(
    out: dict[str, object],
    dim: Dimension,
    person: np.ndarray,
    rng: np.random.Generator,
    points: int,
    survey: Survey,
    answers: Literal["labels", "codes"],
    missing_rate: float,
) -> None:
    """One column per item: the person's latent attitude plus item noise, as codes/labels."""
    n = len(person)
    for item in dim.items:
        bias = rng.normal(0.0, 0.1)
        latent = person + bias + rng.normal(0.0, 0.8, size=n)
        scaled = 1 + (latent - 1) * (points - 1) / 4  # latent lives on a 1..5 scale
        code = np.clip(np.rint(scaled), 1, points).astype(np.int8)
        if item.reverse:
            code = (points + 1 - code).astype(np.int8)
        missing = rng.random(n) < missing_rate
        if answers == "codes":  # positions 1..points written as the scale's codes
            col = pd.array(code + (survey.scale.start - 1), dtype="Int8")
            col[missing] = pd.NA
            out[item.source_column] = col
        else:
            labels = [*survey.scale.labels, ""]
            idx = np.where(missing, len(labels) - 1, code - 1)
            out[item.source_column] = pd.Categorical.from_codes(idx, categories=labels)


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a generated frame as UTF-8 CSV quickly (pyarrow's writer)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = {}
    for name, col in frame.items():
        if isinstance(col.dtype, pd.CategoricalDtype):
            arr = pa.DictionaryArray.from_arrays(
                pa.array(col.cat.codes.to_numpy(), type=pa.int32()),
                pa.array([str(c) for c in col.cat.categories], type=pa.string()),
            ).cast(pa.string())
        else:
            arr = pa.array(col.to_numpy(dtype=object) if col.dtype == object else col)
        columns[str(name)] = arr
    buffer = pa.BufferOutputStream()
    pacsv.write_csv(pa.table(columns), buffer)
    from alignscan.atomic import write_one

    write_one(path, buffer.getvalue().to_pybytes())  # every file goes through one writer
    return path
