"""Norms: how one organisation's gap compares with other organisations'.

`build_norms` pools saved result documents (one organisation each; they hold no
respondent rows) into percentiles per dimension and item. An entry is published only
when at least `MIN_ORGS` organisations have it, and nothing in the norms names or
orders an organisation, nor gives one organisation's exact figure: percentiles are
taken of coarsened figures (favorable shares in whole percentage points, means in
tenths of a scale point), and the number of organisations at each whole percentage
point (needed for a percentile rank) is published only from `MIN_DISTRIBUTION_ORGS`
organisations. `add_benchmarks` places one result within the norms.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from alignscan.errors import AlignscanError
from alignscan.result.findings import shown

if TYPE_CHECKING:
    from alignscan.result.models import Dimension, Item, ResultDocument

NORMS_VERSION = 1
MIN_ORGS = 5
MIN_DISTRIBUTION_ORGS = 10  # organisations per whole point: only from this many
MEAN_STEP = 0.1  # means (and mean gaps) are pooled in tenths of a scale point
PERCENTILES = (25, 50, 75)


class NormsError(AlignscanError):
    """The inputs can't make (or be compared with) norms; `problems` lists every reason."""

    code = "norms_invalid"

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def load_norms(path: str | Path) -> dict[str, Any]:
    """A saved norms.json, checked against its schema; NormsError says why not."""
    import jsonschema

    from alignscan.errors import AlignscanError
    from alignscan.limits import read_document, strict_json

    path = Path(path)
    try:
        norms = strict_json(read_document(path, "norms file"))
    except AlignscanError as exc:
        raise NormsError([str(exc)]) from None
    except (OSError, UnicodeDecodeError, RecursionError) as exc:
        raise NormsError([f"{path} is not a readable norms JSON ({type(exc).__name__})"]) from None
    except ValueError as exc:  # bad JSON, NaN, Infinity, a number out of range
        raise NormsError([f"{path} is not a valid norms JSON: {exc}"[:300]]) from None
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(norms_json_schema()).iter_errors(norms)
    )
    if error is not None:
        where = "/".join(str(p) for p in error.path) or "(top level)"
        raise NormsError([f"{path} is not an alignscan norms file: {where}: {error.message}"])
    assert isinstance(norms, dict)
    return norms


@dataclass(frozen=True)
class Source:
    """One organisation's saved result and where it came from (for messages only)."""

    name: str
    result: ResultDocument


def whole_points(share: float) -> int:
    """A share (0.623) as whole percentage points (62), halves rounded up on the decimal
    the share prints as (0.145 -> 15, as the report prints it; not 14 from the float)."""
    exact = Decimal(repr(float(share))) * 100
    return int(exact.quantize(Decimal(1), ROUND_HALF_UP))


def fingerprint(result: ResultDocument) -> str:
    """Identifies an organisation's figures, whatever file, version or title they came with."""
    doc = result.document()
    core = {
        "survey": result.survey.id,
        "rows": doc["rows"],
        "groups": doc["groups"],
        "dimensions": [(d["id"], d["groups"], d["gap"]) for d in doc["dimensions"]],
        "items": [(i["id"], i["groups"], i["gap"]) for i in doc["items"]],
    }
    return hashlib.sha256(json.dumps(core, sort_keys=True).encode()).hexdigest()


def check_sources(sources: Sequence[Source]) -> list[str]:
    """Every reason these results can't be pooled: too few, mixed surveys, duplicates."""
    problems = []
    if len(sources) < MIN_ORGS:
        problems.append(
            f"norms need the results of at least {MIN_ORGS} organisations; got {len(sources)}"
        )
    if not sources:
        return problems
    first = sources[0].result
    ref_scale = (first.scale.points, sorted(first.scale.favorable))
    seen: dict[str, str] = {}
    for s in sources:
        r = s.result
        if r.survey.id != first.survey.id:
            problems.append(
                f"{s.name}: survey {r.survey.id!r}, not {first.survey.id!r} "
                f"like {sources[0].name}"
            )
        if (r.scale.points, sorted(r.scale.favorable)) != ref_scale:
            problems.append(
                f"{s.name}: scale of {r.scale.points} points with favorable "
                f"{r.scale.favorable}, not {ref_scale[0]} points with favorable "
                f"{ref_scale[1]} like {sources[0].name}"
            )
        if list(r.compare) != list(first.compare):
            problems.append(
                f"{s.name}: compares {' - '.join(r.compare)}, not "
                f"{' - '.join(first.compare)} like {sources[0].name}"
            )
        key = fingerprint(r)
        if key in seen:
            problems.append(
                f"{s.name} is the same result as {seen[key]}: give each organisation once"
            )
        seen.setdefault(key, s.name)
    return problems


def _figures(unit: Item | Dimension, compare: Sequence[str]) -> dict[str, float] | None:
    """An organisation's published figures for one dimension or item, or None if any is hidden."""
    gap = unit.gap
    cells = [unit.groups.get(g) for g in compare]
    if gap is None or not all(shown(c) for c in cells):
        return None
    out: dict[str, Any] = {"gap.favorable": gap.favorable, "gap.mean": gap.mean}
    for g, c in zip(compare, cells, strict=True):
        out[f"{g}.favorable"] = c.favorable  # type: ignore[union-attr]
        out[f"{g}.mean"] = c.mean  # type: ignore[union-attr]
    if any(v is None for v in out.values()):
        return None
    return out


def coarse(value: float, favorable: bool) -> int:
    """A figure in the norms' units: a share in whole percentage points (0.17391 -> 17),
    a mean in tenths of a scale point (3.478 -> 35), halves rounded up, so no published
    percentile is one organisation's exact figure."""
    return whole_points(value) if favorable else math.floor(value / MEAN_STEP + 0.5)


def summary(values: Sequence[float], distribution: bool) -> dict[str, Any]:
    """p25/p50/p75 (numpy's linear interpolation) of the coarsened figures, rounded again
    to the same step (halves up); for shares from MIN_DISTRIBUTION_ORGS organisations on,
    also the organisations per whole point."""
    units = np.asarray([coarse(v, distribution) for v in values], dtype=float)
    step = 100 if distribution else round(1 / MEAN_STEP)
    quartiles = np.percentile(units, PERCENTILES)  # whole units: halves are exact
    out: dict[str, Any] = {
        f"p{p}": math.floor(float(q) + 0.5) / step
        for p, q in zip(PERCENTILES, quartiles, strict=True)
    }
    if distribution and len(values) >= MIN_DISTRIBUTION_ORGS:
        counts: dict[int, int] = {}
        for v in values:
            counts[whole_points(v)] = counts.get(whole_points(v), 0) + 1
        out["distribution"] = {str(k): counts[k] for k in sorted(counts)}
    return out


def _entry(ident: str, rows: list[dict[str, float]], compare: Sequence[str]) -> dict[str, Any]:
    def stats(prefix: str) -> dict[str, Any]:
        return {
            "favorable": summary([r[f"{prefix}.favorable"] for r in rows], distribution=True),
            "mean": summary([r[f"{prefix}.mean"] for r in rows], distribution=False),
        }

    return {
        "id": ident,
        "orgs": len(rows),
        "groups": {g: stats(g) for g in compare},
        "gap": stats("gap"),
    }


def _pool(sources: Sequence[Source], kind: str, compare: Sequence[str]) -> list[dict[str, Any]]:
    """One entry per dimension (or item) id that at least MIN_ORGS organisations have."""
    by_id: dict[str, list[dict[str, float]]] = {}
    for s in sources:
        for unit in getattr(s.result, kind):
            figures = _figures(unit, compare)
            by_id.setdefault(unit.id, [])
            if figures is not None:
                by_id[unit.id].append(figures)
    return [_entry(i, rows, compare) for i, rows in by_id.items() if len(rows) >= MIN_ORGS]


def build_norms(
    sources: Sequence[Source], references: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The norms document from several organisations' results; NormsError lists every
    reason it can't be built (fewer than MIN_ORGS, mixed surveys or scales, duplicates)."""
    problems = check_sources(sources)
    if problems:
        raise NormsError(problems)
    first = sources[0].result
    compare = list(first.compare)
    return {
        "norms_version": NORMS_VERSION,
        "survey": {
            "id": first.survey.id,
            "title": first.survey.title,
            "versions": sorted({str(s.result.survey.version) for s in sources}),
        },
        "scale": {"points": first.scale.points, "favorable": sorted(first.scale.favorable)},
        "compare": compare,
        "min_orgs": MIN_ORGS,
        "orgs": len(sources),
        "dimensions": _pool(sources, "dimensions", compare),
        "items": _pool(sources, "items", compare),
        "references": list(references or []),
    }


# ----------------------------------------------------------------------------- benchmark


def percentile_rank(share: float, distribution: dict[str, int]) -> float:
    """100 x (organisations below + half those equal) / organisations, in whole points."""
    mine = whole_points(share)
    below = sum(n for k, n in distribution.items() if int(k) < mine)
    equal = distribution.get(str(mine), 0)
    return 100 * (below + 0.5 * equal) / sum(distribution.values())


def check_compatible(result: ResultDocument, norms: dict[str, Any]) -> list[str]:
    """Why a result can't be compared with these norms (empty when it can)."""
    problems = []
    if result.survey.id != norms["survey"]["id"]:
        problems.append(
            f"the norms are for survey {norms['survey']['id']!r}, "
            f"this result is for {result.survey.id!r}"
        )
    if list(result.compare) != list(norms["compare"]):
        problems.append(
            f"the norms compare {' - '.join(norms['compare'])}, "
            f"this result compares {' - '.join(result.compare)}"
        )
    scale = (result.scale.points, sorted(result.scale.favorable))
    if scale != (norms["scale"]["points"], sorted(norms["scale"]["favorable"])):
        problems.append("the norms use another answer scale or favorable codes")
    return problems


def _mark(share: float | None, stats: dict[str, Any]) -> dict[str, Any]:
    fav = stats["favorable"]
    dist = fav.get("distribution")  # none below MIN_DISTRIBUTION_ORGS organisations
    rank = None if share is None or dist is None else percentile_rank(share, dist)
    return {
        "favorable_p25": fav["p25"],
        "favorable_p50": fav["p50"],
        "favorable_p75": fav["p75"],
        "favorable_percentile": rank,
    }


def benchmark(unit: Item | Dimension, entry: dict[str, Any], refs: list[dict[str, Any]]):
    """The `benchmark` member of one dimension or item of a result."""
    out: dict[str, Any] = {"orgs": entry["orgs"], "groups": {}}
    for g, stats in entry["groups"].items():
        cell = unit.groups.get(g)
        out["groups"][g] = _mark(getattr(cell, "favorable", None), stats)
    out["gap"] = _mark(None if unit.gap is None else unit.gap.favorable, entry["gap"])
    if refs:
        out["references"] = refs
    return out


def add_benchmarks(result: ResultDocument, norms: dict[str, Any]) -> ResultDocument:
    """The result with `benchmark` on each dimension and item (null where the norms have
    no entry) and the `norms` it was placed in; NormsError when they don't fit."""
    problems = check_compatible(result, norms)
    if problems:
        raise NormsError(problems)
    placed: dict[str, Any] = {}
    for kind, key in (("dimensions", "dimension"), ("items", "item")):
        entries = {e["id"]: e for e in norms[kind]}
        units = []
        for unit in getattr(result, kind):
            entry = entries.get(unit.id)
            refs = [r for r in norms.get("references", []) if r.get(key) == unit.id]
            units.append(
                unit.updated(benchmark=None if entry is None else benchmark(unit, entry, refs))
            )
        placed[kind] = units
    summary = {
        "norms_version": norms["norms_version"],
        "orgs": norms["orgs"],
        "min_orgs": norms.get("min_orgs", MIN_ORGS),
    }
    return result.updated(**placed, norms=summary)


# ----------------------------------------------------------------------------- references

REFERENCE_KEYS = ("source", "dimension", "item", "label", "groups")


def _share(value: Any) -> float | None:
    """0.62, 62% or "62%" as a share in [0, 1]; None if it is none of those."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            value = float(value.strip()[:-1]) / 100
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value <= 1 else None


def _reference(
    raw: Any, ids: dict[str, set[str]], compare: Sequence[str]
) -> tuple[dict[str, Any] | None, list[tuple[tuple[Any, ...], str]]]:
    """One checked reference figure, or the (path, message) of each problem in it."""
    if not isinstance(raw, dict):
        return None, [((), "a reference is a mapping with source, dimension or item, groups")]
    problems: list[tuple[tuple[Any, ...], str]] = []
    for key in raw:
        if key not in REFERENCE_KEYS:
            problems.append(
                ((key,), f"unknown field {key!r}: expected {', '.join(REFERENCE_KEYS)}")
            )
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        problems.append((("source",), "source is required: who published the figure, and where"))
    targets = [k for k in ("dimension", "item") if k in raw]
    if len(targets) != 1:
        problems.append(((), "give exactly one of dimension or item"))
    for k in targets:
        if str(raw[k]) not in ids[k]:
            problems.append(((k,), f"unknown {k} {raw[k]!r}: not in the pooled results"))
    groups = raw.get("groups")
    shares: dict[str, float] = {}
    if not isinstance(groups, dict) or not groups:
        problems.append((("groups",), "groups maps compared groups to favorable shares"))
        groups = {}
    for g, v in groups.items():
        share = _share(v)
        if g not in compare:
            problems.append((("groups", g), f"unknown group {g!r}: expected {', '.join(compare)}"))
        elif share is None:
            problems.append((("groups", g), f"{v!r} is not a share: write 62% or 0.62"))
        else:
            shares[g] = share
    if problems:
        return None, problems
    assert isinstance(source, str)
    out: dict[str, Any] = {"source": source.strip(), targets[0]: str(raw[targets[0]])}
    out["label"] = str(raw.get("label") or "")
    out["groups"] = {g: shares[g] for g in compare if g in shares}
    out["gap"] = shares[compare[0]] - shares[compare[1]] if len(shares) == 2 else None
    return out, []


def parse_references(
    text: str, file: str, sources: Sequence[Source]
) -> tuple[list[dict[str, Any]], list[Any]]:
    """Reference figures from YAML text (a `references:` list); every problem with its line."""
    from alignscan.survey.problems import Problem, _locate, _path_text
    from alignscan.survey.safe_yaml import _YamlProblem, parse_yaml

    try:
        data, locations = parse_yaml(text)
    except _YamlProblem as exc:
        return [], [Problem(file, exc.line, exc.column, "", exc.message)]
    if not isinstance(data, dict) or not isinstance(data.get("references"), list):
        return [], [Problem(file, 1, 1, "references", "expected a `references:` list")]
    ids = {
        "dimension": {d.id for s in sources for d in s.result.dimensions},
        "item": {i.id for s in sources for i in s.result.items},
    }
    compare = list(sources[0].result.compare) if sources else []
    refs, problems = [], []
    for n, raw in enumerate(data["references"]):
        ref, found = _reference(raw, ids, compare)
        for path, message in found:
            loc = ("references", n, *path)
            line, col = _locate(locations, loc)
            problems.append(Problem(file, line, col, _path_text(loc), message))
        if ref is not None:
            refs.append(ref)
    return refs, problems


# ----------------------------------------------------------------------------- schemas


def _obj(props: dict[str, Any], required: Sequence[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(props if required is None else required),
        "additionalProperties": False,
    }


def _reference_schema() -> dict[str, Any]:
    string = {"type": "string"}
    share = {"type": "number", "minimum": 0, "maximum": 1}
    return _obj(
        {
            "source": string,
            "dimension": string,
            "item": string,
            "label": string,
            "groups": {"type": "object", "additionalProperties": share},
            "gap": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        },
        required=["source", "label", "groups", "gap"],
    )


def norms_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of the norms document written by `alignscan norms build`."""
    number = {"type": "number"}
    string = {"type": "string"}
    quartiles = {"p25": number, "p50": number, "p75": number}
    distribution = {
        "type": "object",
        "description": "Organisations per whole percentage point (no organisation named).",
        "additionalProperties": {"type": "integer", "minimum": 1},
    }
    stats = _obj(
        {
            "favorable": _obj(
                {**quartiles, "distribution": distribution}, required=list(quartiles)
            ),
            "mean": _obj(quartiles),
        }
    )
    entry = _obj(
        {
            "id": string,
            "orgs": {"type": "integer", "minimum": MIN_ORGS},
            "groups": {"type": "object", "additionalProperties": stats},
            "gap": stats,
        }
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "alignscan norms",
        **_obj(
            {
                "norms_version": {"const": NORMS_VERSION},
                "survey": _obj(
                    {"id": string, "title": string, "versions": {"type": "array", "items": string}}
                ),
                "scale": _obj(
                    {
                        "points": {"type": "integer"},
                        "favorable": {"type": "array", "items": {"type": "integer"}},
                    }
                ),
                "compare": {"type": "array", "items": string, "minItems": 2, "maxItems": 2},
                "min_orgs": {"type": "integer"},
                "orgs": {"type": "integer", "minimum": MIN_ORGS},
                "dimensions": {"type": "array", "items": entry},
                "items": {"type": "array", "items": entry},
                "references": {"type": "array", "items": _reference_schema()},
            }
        ),
    }


def benchmark_json_schema() -> dict[str, Any]:
    """JSON Schema of a result's `benchmark` member (on each dimension and item)."""
    nullable = {"anyOf": [{"type": "number"}, {"type": "null"}]}
    number = {"type": "number"}
    mark = _obj(
        {
            "favorable_p25": number,
            "favorable_p50": number,
            "favorable_p75": number,
            "favorable_percentile": nullable,
        },
        required=["favorable_p50", "favorable_percentile"],
    )
    refs = norms_json_schema()["properties"]["references"]
    return {
        "anyOf": [
            _obj(
                {
                    "orgs": {"type": "integer"},
                    "groups": {"type": "object", "additionalProperties": mark},
                    "gap": mark,
                    "references": refs,
                },
                required=["orgs", "groups", "gap"],
            ),
            {"type": "null"},
        ]
    }


def norms_summary_json_schema() -> dict[str, Any]:
    """JSON Schema of a result's top-level `norms` member (which norms it was compared with)."""
    integer = {"type": "integer"}
    return _obj({"norms_version": integer, "orgs": integer, "min_orgs": integer})
