"""Waves: is the gap closing? Compares the gap of each item and dimension across survey
waves, each wave being one result document from `analysis.analyze`.

The change in a gap between two waves is the difference of two independent gaps; its
standard error combines each wave's Welch standard error,
    se_wave = sqrt(sd_A^2 / n_A + sd_B^2 / n_B),   se_change = sqrt(se_1^2 + se_2^2),
and the 95% interval and the two-sided p-value come from a t distribution with the
Welch-Satterthwaite degrees of freedom of se_change (from each wave's Welch df). P-values
are corrected with Benjamini-Hochberg across the whole trend table, and a change gets a
direction word ("closing", "widening", "reversed") only when it is significant.
Favorable shares use each wave's own definition of favorable. Anything suppressed in a
wave stays suppressed: its gap and every change involving it are null, and no figure is
pooled across waves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from alignscan._version import version
from alignscan.analysis.stats import (
    Z95,
    Welch,
    benjamini_hochberg,
    combined_df,
    newcombe_ci,
    welch,
)
from alignscan.errors import AlignscanError
from alignscan.result.findings import shown, significant_q
from alignscan.survey.diff import wave_warnings

if TYPE_CHECKING:
    from alignscan.result.models import Dimension, Item, ItemStats, ResultDocument

Unit = Any  # an Item or a Dimension of a wave (models; see `trend`)
TREND_VERSION = 2


class TrendError(AlignscanError, ValueError):
    """The waves can't be compared as asked (e.g. different answer scales)."""

    code = "waves_incomparable"


def wave_welch(unit: Item | Dimension, a: str, b: str) -> Welch | None:
    """One wave's gap as a Welch difference (estimate, se, df), from its group cells."""
    ga, gb = unit.groups.get(a), unit.groups.get(b)
    if unit.gap is None or not shown(ga) or not shown(gb):
        return None
    if ga.sd is None or gb.sd is None:  # type: ignore[union-attr]
        return None
    return welch(ga.mean, ga.sd, ga.n, gb.mean, gb.sd, gb.n)  # type: ignore[union-attr, arg-type]


def change_in_gap(
    gap1: float, se1: float, gap2: float, se2: float, df1: float | None, df2: float | None
) -> dict[str, Any]:
    """Change gap2 - gap1 of two independent gaps: a t interval and p-value with the
    Welch-Satterthwaite df of the combined se. The direction is set later, once the
    change is known to be significant (see `direction`)."""
    change = Welch(gap2 - gap1, math.sqrt(se1**2 + se2**2), combined_df([(se1, df1), (se2, df2)]))
    return {
        "change": change.diff,
        "ci": change.ci(),
        "se": change.se,
        "df": change.df,
        "p_value": change.p_value(),
        "q_value": None,
        "direction": None,
        "from_gap": gap1,
        "to_gap": gap2,
        "size_change": abs(gap2) - abs(gap1),
    }


def direction(gap1: float, gap2: float, sign_changed: bool = False) -> str:
    """The word for a significant change: "reversed" when the gap changed sign (+0.70 to
    -0.55: the other group is now ahead, whose size is told by `size_change`, not by the
    change of 1.25), else "closing" (toward zero) or "widening". `sign_changed` (each
    wave clearly away from zero) is implied by a change of sign and kept for callers."""
    if sign_changed or gap1 * gap2 < 0:
        return "reversed"
    return "closing" if abs(gap2) < abs(gap1) else "widening"


def _clear_sign(ci: list[float] | None) -> int:
    """+1 / -1 when a 95% interval lies above / below zero, else 0."""
    if not ci:
        return 0
    return 1 if ci[0] > 0 else -1 if ci[1] < 0 else 0


def _favorable_counts(cell: Any, favorable: list[int]) -> tuple[int, int] | None:
    """(favorable answers, answers) of a shown cell, from its code counts."""
    if not shown(cell) or not cell.counts:
        return None
    counts = {int(k): v for k, v in cell.counts.items()}
    total = sum(counts.values())
    if total == 0:
        return None
    return sum(counts.get(c, 0) for c in favorable), total


def _units(results: list[ResultDocument], kind: str) -> list[tuple[str, list[Unit | None]]]:
    """Units (items or dimensions) matched by id across waves, in first-seen order."""
    order: list[str] = []
    by_wave: list[dict[str, Unit]] = []
    for result in results:
        units = {u.id: u for u in getattr(result, kind)}
        by_wave.append(units)
        order += [uid for uid in units if uid not in order]
    return [(uid, [w.get(uid) for w in by_wave]) for uid in order]


def _scale(result: ResultDocument) -> dict[str, Any]:
    scale = result.scale
    return {"points": scale.points, "start": scale.start, "favorable": sorted(scale.favorable)}


def _scale_checks(
    results: list[ResultDocument], labels: list[str], favorable_only: bool
) -> list[str]:
    """Warnings about scales; raises TrendError for different scales unless only the
    favorable shares are compared."""
    warnings = []
    scales = [_scale(r) for r in results]
    for i in range(1, len(results)):
        s1, s2, l1, l2 = scales[i - 1], scales[i], labels[i - 1], labels[i]
        if (s1["points"], s1["start"]) != (s2["points"], s2["start"]):
            shape = (
                f"{s1['start']}..{s1['start'] + s1['points'] - 1} in {l1}, "
                f"{s2['start']}..{s2['start'] + s2['points'] - 1} in {l2}"
            )
            if not favorable_only:
                raise TrendError(
                    f"the waves use different answer scales ({shape}), so their mean gaps "
                    "can't be compared; compare favorable shares only"
                )
            warnings.append(
                f"different answer scales ({shape}): only favorable shares are compared, "
                "each with its own wave's definition of favorable"
            )
        elif s1["favorable"] != s2["favorable"]:
            warnings.append(
                f"the favorable answers changed from {s1['favorable']} in {l1} to "
                f"{s2['favorable']} in {l2}; each wave's favorable share uses its own "
                "definition, so a change in it is partly a change of definition"
            )
    return warnings


def _shared_notes(
    shared: dict[tuple[int, int], int] | None, labels: list[str], minimum: int
) -> list[str]:
    """A note per pair of waves with respondent ids in common; the count is stated only
    when it is at least the minimum group size (a smaller count is a count of people)."""
    tail = (
        ": their changes are computed as if the waves were independent, so those "
        "intervals are conservative (too wide) for the paired answers"
    )
    return [
        (
            f"{labels[i]} and {labels[j]} share {count:,} respondent ids"
            if count >= minimum
            else f"some respondent ids appear in both {labels[i]} and {labels[j]}"
        )
        + tail
        for (i, j), count in sorted((shared or {}).items())
        if count > 0
    ]


def trend(
    waves: Sequence[ResultDocument | dict[str, Any]],
    labels: list[str] | None = None,
    *,
    favorable_only: bool = False,
    shared: dict[tuple[int, int], int] | None = None,
) -> dict[str, Any]:
    """The trend document: per dimension and item, the gap in each wave and its changes.
    Each wave is a result (typed; a plain dict is validated once here).

    `favorable_only` compares waves on different answer scales by their favorable
    shares alone; `shared` gives, per pair of wave indexes, how many respondent ids
    both waves contain (the interval is then conservative, and the document says so)."""
    from alignscan.result.models import as_result

    results = [as_result(w) for w in waves]
    if len(results) < 2:
        raise TrendError("a trend needs at least two waves")
    labels = labels or [f"Wave {i + 1}" for i in range(len(results))]
    if len(labels) != len(results):
        raise TrendError(f"{len(labels)} labels for {len(results)} waves")
    a, b = results[-1].compare
    for r in results:
        if list(r.compare) != [a, b]:
            raise TrendError(f"waves compare different groups: {r.compare} vs {[a, b]}")
    warnings = _scale_checks(results, labels, favorable_only)
    compare_means = not any("different answer scales" in w for w in warnings)
    documents = [r.document() for r in results]  # the survey diff reads plain documents
    warnings += wave_warnings(documents, labels)  # survey versions that break the comparison
    warnings += weighting_warnings(results, labels)
    tests: list[dict[str, Any]] = []
    sections: dict[str, list[dict[str, Any]]] = {}
    for kind in ("dimensions", "items"):
        rows = []
        for uid, units in _units(results, kind):
            rows.append(_row(uid, units, kind, results, labels, (a, b), compare_means, tests))
        sections[kind] = rows
    _significance(tests)
    partial = [
        {"id": r["id"], "waves_present": r["waves_present"]}
        for r in sections["items"] + sections["dimensions"]
        if len(r["waves_present"]) < len(results)
    ]
    doc: dict[str, Any] = {
        "trend_version": TREND_VERSION,
        "alignscan_version": version(),
        "labels": labels,
        "compare": [a, b],
        **_display_extras(results, documents, labels),
        "compared_on": "means and favorable shares" if compare_means else "favorable shares",
        "waves": [
            {
                "label": label,
                "survey": r.survey.document(),
                "source": r.source.document(),
                "scale": _scale(r),
                "groups": {g: c.document() for g, c in r.groups.items()},
                "min_group_size": r.min_group_size,
            }
            for label, r in zip(labels, results, strict=True)
        ],
        "dimensions": sections["dimensions"],
        "items": sections["items"],
        "partial": partial,
        "warnings": warnings,
        "notes": _shared_notes(
            shared, labels, max(r.min_group_size for r in results)
        ),
    }
    return doc


def _display_extras(
    results: list[ResultDocument], documents: list[dict[str, Any]], labels: list[str]
) -> dict[str, Any]:
    """What the trend's renderers show beyond the figures, each only when there is one:
    the groups' display names (roles.labels) and the survey-version changes that break
    the comparison between two waves (with the dimensions they touch)."""
    from alignscan.survey.diff import wave_comparability

    out: dict[str, Any] = {}
    if results[-1].group_labels:
        out["group_labels"] = dict(results[-1].group_labels)
    comparability = wave_comparability(documents, labels)
    if comparability:
        out["comparability"] = comparability
    return out


def weighting_warnings(results: list[ResultDocument], labels: list[str]) -> list[str]:
    """A warning when some waves are weighted to headcount (`--weight-to`) and others not."""
    weighted = [
        label for r, label in zip(results, labels, strict=True) if r.weighting is not None
    ]
    if not weighted or len(weighted) == len(results):
        return []
    plain = [label for label in labels if label not in weighted]
    return [
        f"{', '.join(weighted)} weighted to headcount, {', '.join(plain)} not: a change in gap "
        "may come from the weighting, not the people (weight every wave, or none)"
    ]


def _significance(tests: list[dict[str, Any]]) -> None:
    """BH q-values across the table; direction words for significant changes only."""
    for t, q in zip(tests, benjamini_hochberg([t["p_value"] for t in tests]), strict=True):
        t["q_value"] = q
        if significant_q(q):
            t["direction"] = direction(t["from_gap"], t["to_gap"], t["sign_changed"])


def _wave_cell(unit: Unit | None, a: str, b: str, means: bool) -> dict[str, Any]:
    if unit is None:
        return {"present": False}
    w = wave_welch(unit, a, b) if means else None
    gap = unit.gap if means else None
    cell: dict[str, Any] = {
        "present": True,
        "gap": gap.mean if gap else None,
        "se": w.se if w else None,
        "df": w.df if w else None,
    }
    if gap:
        cell["mean_ci"] = gap.mean_ci
    fav: dict[str, float | None] = {}
    for g in (a, b):
        c = unit.groups.get(g)
        fav[g] = c.favorable if shown(c) else None
    cell["favorable"] = fav
    return cell


def _row(
    uid: str,
    units: list[Unit | None],
    kind: str,
    results: list[ResultDocument],
    labels: list[str],
    ab: tuple[str, str],
    means: bool,
    tests: list[dict[str, Any]],
) -> dict[str, Any]:
    """One trend row: the unit's gap in every wave and its changes between waves."""
    a, b = ab
    present = [i for i, u in enumerate(units) if u is not None]
    waves = [_wave_cell(unit, a, b, means) for unit in units]
    pairs = [(present[j], present[j + 1]) for j in range(len(present) - 1)]
    if len(present) > 2:
        pairs.append((present[0], present[-1]))
    changes = []
    for i, j in pairs:
        change = _change(units[i], units[j], waves[i], waves[j], ab, (results[i], results[j]))
        change.update({"from": labels[i], "to": labels[j]})
        changes.append(change)
        if change.get("gap") is not None:
            tests.append(change["gap"])
    title = next((getattr(u, "title", None) or getattr(u, "text", None) for u in units if u), uid)
    row: dict[str, Any] = {
        "id": uid,
        "title": title,
        "waves_present": [labels[i] for i in present],
        "waves": waves,
        "changes": changes,
    }
    if kind == "items":
        row["dimension"] = next(u.dimension for u in units if u)
    return row


def _change(
    u1: Unit | None,
    u2: Unit | None,
    w1: dict[str, Any],
    w2: dict[str, Any],
    ab: tuple[str, str],
    waves: tuple[ResultDocument, ResultDocument],
) -> dict[str, Any]:
    out: dict[str, Any] = {"gap": None, "favorable": {}}
    if w1.get("gap") is not None and w2.get("gap") is not None:
        if w1["se"] is not None and w2["se"] is not None:
            out["gap"] = change_in_gap(w1["gap"], w1["se"], w2["gap"], w2["se"], w1["df"], w2["df"])
            signs = _clear_sign(w1.get("mean_ci")) * _clear_sign(w2.get("mean_ci"))
            out["gap"]["sign_changed"] = signs < 0
    for g in ab:
        c1 = u1.groups.get(g) if u1 else None
        c2 = u2.groups.get(g) if u2 else None
        out["favorable"][g] = _favorable_change(c1, c2, waves)
    return out


def _favorable_change(
    c1: ItemStats | Any, c2: ItemStats | Any, waves: tuple[ResultDocument, ResultDocument]
) -> dict[str, Any] | None:
    """Change in one group's favorable share, each wave with its own definition: the
    clustered standard errors of a dimension's share when both waves publish them
    (answers come k per respondent), else Newcombe's interval on the answer counts."""
    f1 = _favorable_counts(c1, waves[0].scale.favorable)
    f2 = _favorable_counts(c2, waves[1].scale.favorable)
    if f1 is None or f2 is None:
        return None
    change = f2[0] / f2[1] - f1[0] / f1[1]
    se1, se2 = c1.favorable_se, c2.favorable_se
    if se1 is not None and se2 is not None:
        half = Z95 * math.sqrt(se1**2 + se2**2)
        return {"change": change, "ci": [change - half, change + half]}
    return {"change": change, "ci": newcombe_ci(f2[0], f2[1], f1[0], f1[1])}


def trend_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of the trend document (generated from `alignscan.result.models`)."""
    from alignscan.result.models import trend_schema

    return trend_schema()


def shared_ids(ids: list[Any]) -> dict[tuple[int, int], int]:
    """Per pair of waves (consecutive, and first to last), how many non-blank respondent
    ids both contain (None for a wave without ids); `trend(..., shared=)` takes this."""
    import pyarrow.compute as pc

    present = [i for i, v in enumerate(ids) if v is not None]
    pairs = list(zip(present, present[1:], strict=False))
    if len(present) > 2:
        pairs.append((present[0], present[-1]))
    out = {}
    for i, j in pairs:
        first = pc.utf8_trim_whitespace(ids[i].cast("string"))
        second = pc.utf8_trim_whitespace(ids[j].cast("string"))
        both = pc.and_(pc.is_in(first, value_set=second), pc.not_equal(first, ""))
        out[(i, j)] = len(pc.unique(pc.filter(first, both)))
    return out

