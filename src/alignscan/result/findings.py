"""Findings: what the figures mean, decided once for every renderer.

The significance rule lives here and nowhere else; the HTML report, the terminal and the
data frames only display what these pure functions of the result document decide: the
headline, the largest item gaps, the recommendations, the reliability reading and the
trend's words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alignscan.render.formats import signed

if TYPE_CHECKING:
    from alignscan.result.models import (
        Dimension,
        DriverCell,
        Gap,
        GapChange,
        Item,
        ResultDocument,
        TrendDocument,
    )

ALPHA = 0.05  # false discovery rate for calling a gap significant
LOW_RELIABILITY = 0.6  # alpha below this: "low reliability" wherever the dimension is read
HEADLINE_RELIABILITY = 0.5  # the headline is never built on a dimension below this
TOP_GAPS = 10


def significant(gap: Gap | GapChange | None) -> bool:
    """A gap (or a trend's change) is significant when its Benjamini-Hochberg q-value is
    below 0.05."""
    return gap is not None and significant_q(gap.q_value)


def significant_q(q: float | None) -> bool:
    """The significance rule on a q-value: below 0.05 (Benjamini-Hochberg)."""
    return q is not None and q < ALPHA


def shown(cell: Any) -> bool:
    """Whether a group's cell has figures (not hidden for anonymity, not missing)."""
    return cell is not None and not getattr(cell, "suppressed", False)


def isolate(value: object) -> str:
    """Data text isolated with FSI..PDI inside a sentence, so a right-to-left name can't
    reorder the figures around it (the terminal strips the marks, HTML keeps them)."""
    return f"\u2068{value}\u2069"


# ----------------------------------------------------------------------------- groups


def default_label(group: str) -> str:
    """'c_suite' -> 'C suite': the id with `_` as spaces, first letter capitalised."""
    text = group.replace("_", " ")
    return text[:1].upper() + text[1:]


def group_label(doc: ResultDocument | TrendDocument, group: str) -> str:
    """The display name of a group in a result or a trend: the survey's `roles.labels`,
    else the default."""
    return (doc.group_labels or {}).get(group) or default_label(group)


def group_labels(result: ResultDocument) -> dict[str, str]:
    """Every group id of the result -> its display name."""
    ids = [*result.compare, *result.groups]
    return {g: group_label(result, g) for g in dict.fromkeys(ids)}


# ----------------------------------------------------------------------------- reliability


def low_reliability(alpha: float | None) -> bool:
    """Cronbach's alpha below 0.6: the dimension score is not one thing."""
    return alpha is not None and alpha < LOW_RELIABILITY


def alpha_reading(alpha: float | None) -> str:
    """Cronbach's alpha in words."""
    if alpha is None:
        return "not available (too few complete answers or items)"
    if alpha >= 0.9:
        return "excellent: the items measure one thing very consistently"
    if alpha >= 0.8:
        return "good: the items hang together well"
    if alpha >= 0.7:
        return "acceptable: the items hang together"
    if alpha >= 0.6:
        return "questionable: read the dimension score with care"
    return "low reliability: the items do not measure one thing; read items one by one"


# ----------------------------------------------------------------------------- gaps


def largest_dimension_gaps(result: ResultDocument) -> list[Dimension]:
    """Significant dimension gaps, largest first (ties: smaller q first)."""
    dims = [d for d in result.dimensions if significant(d.gap)]
    return sorted(dims, key=lambda d: (-abs(d.gap.mean), d.gap.q_value, d.id))  # type: ignore[union-attr]


def top_item_gaps(result: ResultDocument, limit: int = TOP_GAPS) -> list[Item]:
    """The `limit` largest significant item gaps: by |gap| descending, then q, then id."""
    items = [i for i in result.items if significant(i.gap)]
    items.sort(key=lambda i: (-abs(i.gap.mean), i.gap.q_value, i.id))  # type: ignore[union-attr]
    return items[:limit]


def headline(result: ResultDocument) -> dict[str, Any]:
    """The sentence a board remembers: among the significant dimension gaps whose
    reliability is not below 0.5, the largest by the figure it quotes (the favorable
    gap, in percentage points of answers, when both shares are shown; else the mean gap,
    in scale points). Significant gaps left out by the reliability rule are said so,
    never "no dimension is significant". `detectable` is the smallest gap the data can
    tell from noise, in words."""
    a, b = result.compare
    la, lb = isolate(group_label(result, a)), isolate(group_label(result, b))
    significant_dims = largest_dimension_gaps(result)
    ranked = [d for d in significant_dims if d.alpha is None or d.alpha >= HEADLINE_RELIABILITY]
    out: dict[str, Any] = {"dimension": None, "significant": False, "basis": None}
    out["detectable"] = detectable_sentence(result)
    if not ranked:
        return {**out, "sentence": _no_headline(significant_dims, la, lb)}
    with_share = [d for d in ranked if d.gap.favorable is not None]  # type: ignore[union-attr]
    if with_share:
        d = min(with_share, key=lambda d: (-abs(d.gap.favorable), d.gap.q_value, d.id))  # type: ignore
        fa, fb = d.groups[a].favorable, d.groups[b].favorable  # type: ignore[union-attr]
        joiner = "but only" if fa > fb else "against"  # type: ignore[operator]
        sentence = (
            f"On {isolate(d.title)}, {fa:.0%} of the answers of {la} are favorable, "
            f"{joiner} {fb:.0%} of the answers of {lb}."
        )
        basis = "favorable"
    else:
        d = ranked[0]
        gap = d.gap.mean  # type: ignore[union-attr]
        sentence = (
            f"On {isolate(d.title)}, {la} score {abs(gap):.2f} points "
            f"{'above' if gap > 0 else 'below'} {lb}."
        )
        basis = "mean"
    return {
        **out,
        "sentence": sentence,
        "dimension": d.title,
        "significant": True,
        "basis": basis,
    }


def _no_headline(significant_dims: list[Dimension], la: str, lb: str) -> str:
    """The headline when no reliable dimension gap is significant."""
    if not significant_dims:
        return (
            f"No dimension shows a gap between {la} and {lb} that is statistically "
            "significant after correction for multiple comparisons."
        )
    names = ", ".join(isolate(d.title) for d in significant_dims)
    return (
        f"Significant gaps between {la} and {lb} are only on dimensions whose items do not "
        f"measure one thing ({names}: reliability alpha below {HEADLINE_RELIABILITY}), so "
        "none is the headline: read their items one by one."
    )


def detectable_sentence(result: ResultDocument) -> str | None:
    """The smallest detectable gap in words, from the result's `detectable_gap` ("With 6
    respondents in Executive, item gaps under 0.90 points ... cannot be told from
    noise."; None when it has none)."""
    block = result.detectable_gap
    if block is None or block.items is None:
        return None
    label = isolate(group_label(result, block.group))
    return (
        f"With {block.n:,} respondents in {label} (the smaller group compared), item "
        f"gaps under {block.items:.2f} points on the {scale_range(result)} scale cannot "
        "be told from noise."
    )


def scale_range(result: ResultDocument) -> str:
    """The answer scale's first and last code, as "1–5"."""
    start, points = result.scale.start, result.scale.points
    return f"{start}–{start + points - 1}"


def recommendations(result: ResultDocument, limit: int = 3) -> list[Dimension]:
    """The largest meaningful gaps (significant, not negligible), ranked by size then q;
    with driver figures, by gap size times importance for the second group."""
    meaningful = meaningful_gaps(result)
    if result.drivers is not None:
        meaningful = rank_by_importance(result, meaningful)
    return meaningful[:limit]


def driver_cell(result: ResultDocument, group: str) -> DriverCell | None:
    """The driver analysis's figures for `group`; None without them (no driver analysis,
    or the group hidden)."""
    cell = None if result.drivers is None else result.drivers.groups.get(group)
    return cell if shown(cell) else None  # type: ignore[return-value]


def importance_of(result: ResultDocument, group: str) -> dict[str, float] | None:
    """Predictor id -> importance for `group`, or None when not available."""
    cell = driver_cell(result, group)
    if cell is None or cell.r2 is None:
        return None
    return {d.id: d.importance for d in cell.dimensions}  # type: ignore[misc]


def rank_by_importance(result: ResultDocument, dims: list[Dimension]) -> list[Dimension]:
    """Dimensions ordered by |gap| x importance for the second compared group (the
    predictors), then the others (e.g. the outcome itself) by gap size."""
    importance = importance_of(result, result.compare[1])
    if importance is None:
        return dims

    def key(d: Dimension) -> tuple[int, float]:
        size = abs(d.gap.mean)  # type: ignore[union-attr]
        if d.id in importance:
            return (0, -size * importance[d.id])
        return (1, -size)

    return sorted(dims, key=key)


# ----------------------------------------------------------------------------- trend

NO_CLEAR_CHANGE = "no clear change"


def direction_word(change: GapChange | None) -> str:
    """'closing', 'widening' or 'reversed' for a significant change, else 'no clear change'."""
    if change is None:
        return "not available"
    if significant(change) and change.direction:
        return str(change.direction)
    return NO_CLEAR_CHANGE


def change_interval(change: GapChange) -> tuple[float, float]:
    """The 95% CI of a change on the scale of its size (|change|): a narrowing by 0.33
    with CI -0.48..-0.18 reads "by 0.33 points, 95% CI 0.18 to 0.48"."""
    lo, hi = change.ci
    if change.change < 0:
        lo, hi = -hi, -lo
    return lo, hi


def size_change(change: GapChange) -> float:
    """How far the gap's size moved, |to| - |from| (the change itself when no sign flips)."""
    if change.size_change is None:
        return abs(change.to_gap) - abs(change.from_gap)  # type: ignore[arg-type]
    return float(change.size_change)


def size_words(change: GapChange, unit: str = "points") -> str:
    """The size of a significant change in points of |gap|: "by 0.33 points" for a
    narrowing or a widening, "smaller by 0.15 points" / "larger by 0.30 points" for a
    reversal; `unit` names the points ("points on the 1–5 scale")."""
    size = size_change(change)
    if direction_word(change) == "reversed":
        return f"{'smaller' if size < 0 else 'larger'} by {abs(size):.2f} {unit}"
    return f"by {abs(size):.2f} {unit}"


def change_words(change: GapChange, unit: str = "points") -> str:
    """A change in words that follow its significance: "narrowed by 0.33 points, 95% CI
    0.18 to 0.48", "reversed, from +0.70 to -0.55 points (the gap is smaller by 0.15
    points, the other way round)", or "no clear change". A reversal is never "narrowed
    by 1.25": its size is the change in |gap|. `unit` names the points ("points on the
    1–5 scale")."""
    word = direction_word(change)
    if word == "reversed":
        before, after = signed(change.from_gap), signed(change.to_gap)
        return (
            f"reversed, from {before} to {after} {unit} "
            f"(the gap is {size_words(change, unit)}, the other way round)"
        )
    if word in ("closing", "widening"):
        verb = "narrowed" if word == "closing" else "widened"
        lo, hi = change_interval(change)
        return f"{verb} {size_words(change, unit)}, 95% CI {lo:.2f} to {hi:.2f}"
    return word


def change_sentence(title: str, since: str, change: GapChange, unit: str = "points") -> str:
    """One dimension's gap change as a sentence."""
    where = f"Since {isolate(since)}, the gap on {isolate(title)}"
    words = change_words(change, unit)
    if words == NO_CLEAR_CHANGE:
        return f"{where}: no clear change."
    return f"{where} has {words}."


def trend_sentence(trend: TrendDocument) -> str | None:
    """The largest significant change in a dimension gap since the first wave, in words."""
    moves = [
        (abs(d.changes[-1].gap.change), d)  # type: ignore[union-attr]
        for d in trend.dimensions
        if d.changes and significant(d.changes[-1].gap)
    ]
    if not moves:
        if not trend.dimensions:
            return None
        since = isolate(trend.labels[0])
        return f"No dimension gap changed significantly since {since}: no clear change."
    _, d = max(moves, key=lambda m: m[0])
    last = d.changes[-1]
    return change_sentence(d.title, last.from_, last.gap, trend_unit(trend))  # type: ignore[arg-type]


def trend_unit(trend: TrendDocument) -> str:
    """The unit of a trend's gaps: 'points on the 1–5 scale' when it compares means on
    one scale (the latest wave's), else 'points'."""
    scale = (getattr(trend.waves[-1], "scale", None) if trend.waves else None) or {}
    if trend.compared_on == "favorable shares" or not scale.get("points"):
        return "points"
    return _points_on(scale.get("start", 1), scale["points"])


# ----------------------------------------------------------------------------- units
# One wording for every output (terminal, HTML, PDF, CSV labels): a mean gap is in points
# on the answer scale, a favorable-share gap in percentage points.

SHARE_UNIT = "percentage points (favorable share)"


def scale_unit(result: ResultDocument) -> str:
    """'points on the 1–5 scale': the unit of a mean and of a mean gap."""
    return _points_on(result.scale.start, result.scale.points)


def _points_on(first: int, points: int) -> str:
    return f"points on the {first}\u2013{first + points - 1} scale"


def mean_points(value: float, result: ResultDocument) -> str:
    """A mean gap with its unit: '0.50 points on the 1–5 scale' (no sign: say who is higher)."""
    return f"{abs(value):.2f} {scale_unit(result)}"


def share_points(value: float) -> str:
    """A favorable-share gap with its unit: '12 percentage points (favorable share)'."""
    return f"{abs(value) * 100:.0f} {SHARE_UNIT}"


EFFECT_WORDS = {
    "negligible": "a negligible difference",
    "small": "a small difference",
    "medium": "a medium-sized difference",
    "large": "a large difference",
}


def effect_words(gap: Gap | None) -> str:
    """Cliff's delta in plain words: 'a small difference'."""
    magnitude = None if gap is None else gap.magnitude
    return EFFECT_WORDS.get(magnitude or "", "not available")


def significance_word(gap: Gap | None) -> str:
    """'significant', 'not significant' or 'hidden' (a group too small to show)."""
    if gap is None:
        return "hidden"
    return "significant" if significant(gap) else "not significant"


# ----------------------------------------------------------------------------- summary

FOCUS_BY_IMPACT = "impact × gap"
FOCUS_BY_GAP = "gap"


def focus_basis(result: ResultDocument) -> dict[str, Any]:
    """How focus areas are ranked: by impact × gap when the driver analysis has figures
    for the second compared group, else by gap alone, with the reason in words."""
    b = result.compare[1]
    importance = importance_of(result, b)
    lb = group_label(result, b)
    if importance is not None:
        outcome = _dimension_title(result, result.drivers.outcome)  # type: ignore[union-attr]
        return {
            "basis": FOCUS_BY_IMPACT,
            "importance": importance,
            "sentence": (
                f"Ranked by impact × gap: the size of the gap times how much the dimension "
                f"weighs in what explains {outcome} among {lb} (the driver analysis)."
            ),
        }
    why = (
        "there is no driver analysis"
        if result.drivers is None
        else f"the driver analysis has no figures for {lb} (too few complete answers)"
    )
    return {
        "basis": FOCUS_BY_GAP,
        "importance": None,
        "sentence": f"Ranked by the size of the gap alone: {why}.",
    }


def _dimension_title(result: ResultDocument, dim_id: str) -> str:
    return next((d.title for d in result.dimensions if d.id == dim_id), dim_id)


def _summary_entry(result: ResultDocument, d: Dimension) -> dict[str, Any]:
    """The figures of one dimension that the summary prints."""
    a, b = result.compare
    gap = d.gap
    assert gap is not None  # only dimensions with a shown gap are summarised
    return {
        "id": d.id,
        "title": d.title,
        "gap": gap.mean,
        "gap_ci": list(gap.mean_ci) if gap.mean_ci else None,
        "favorable_gap": gap.favorable,
        "favorable": {g: getattr(d.groups[g], "favorable", None) for g in (a, b)},
        "significant": significant(gap),
        "effect": effect_words(gap),
        "higher": a if gap.mean > 0 else b if gap.mean < 0 else None,
        "actions": list(d.actions),
    }


def _gap_phrase(result: ResultDocument, entry: dict[str, Any]) -> str:
    """'Executives higher by 0.50 points on the 1–5 scale and 20 percentage points
    (favorable share)'."""
    if entry["higher"] is None:
        return "no difference between the groups"
    text = f"{group_label(result, entry['higher'])} higher by {mean_points(entry['gap'], result)}"
    if entry["favorable_gap"] is not None:
        text += f" and {share_points(entry['favorable_gap'])}"
    else:  # withheld by the anonymity rules: say so rather than leave the reader guessing
        text += " (the favorable share is withheld here to protect a small group)"
    return text


def meaningful_gaps(result: ResultDocument) -> list[Dimension]:
    """Significant dimension gaps that are more than negligible (Cliff's delta), largest
    first: the gaps worth acting on."""
    return [
        d
        for d in largest_dimension_gaps(result)
        if d.gap.magnitude not in (None, "negligible")  # type: ignore[union-attr]
    ]


def focus_areas(result: ResultDocument, limit: int = 3) -> list[dict[str, Any]]:
    """The `limit` gaps to act on first, among the significant, more than negligible
    ones: ranked by impact × gap (impact = LMG importance for the second compared group)
    where the driver analysis has it, dimensions without an importance (its outcome)
    after them by gap; else by gap alone. Each entry has the figures, `impact`, `score`,
    `basis` and the `reason` in words."""
    basis = focus_basis(result)
    importance = basis["importance"] or {}
    r2 = _r2(result) if importance else None
    out = []
    for d in meaningful_gaps(result):
        entry = _summary_entry(result, d)
        impact = importance.get(d.id)
        entry["impact"] = impact
        entry["score"] = abs(entry["gap"]) * impact if impact is not None else None
        entry["basis"] = FOCUS_BY_IMPACT if impact is not None else FOCUS_BY_GAP
        reason = f"{_gap_phrase(result, entry)}, {entry['effect']}"
        if impact is not None and r2:
            share = "under 1%" if impact / r2 < 0.005 else f"{impact / r2:.0%}"
            reason += f"; {share} of what the drivers explain"
        elif importance:
            reason += "; the outcome of the driver analysis"
        entry["reason"] = reason
        out.append(entry)
    out.sort(key=lambda e: (e["score"] is None, -(e["score"] or abs(e["gap"]))))
    return out[:limit]


def _r2(result: ResultDocument) -> float | None:
    cell = driver_cell(result, result.compare[1])
    return None if cell is None else cell.r2


def strengths(result: ResultDocument, limit: int = 3) -> list[dict[str, Any]]:
    """Where the compared groups are most aligned: dimensions with a shown gap that are
    not focus areas, the smallest |gap| first, ties by the higher favorable share of the
    less favorable group. Each entry has the figures and the `reason` in words. A gap
    larger than a focus area's is never called a strength (focus areas are ranked by
    impact × gap, so a larger gap can rank below them): there may be fewer than `limit`."""
    focus = focus_areas(result)
    ceiling = min((abs(f["gap"]) for f in focus), default=None)
    out = []
    for d in result.dimensions:
        if d.gap is None or d.id in {f["id"] for f in focus}:
            continue
        if ceiling is not None and abs(d.gap.mean) > ceiling:
            continue
        entry = _summary_entry(result, d)
        shares = [s for s in entry["favorable"].values() if s is not None]
        entry["floor"] = min(shares) if len(shares) == 2 else None
        sig = "a significant" if entry["significant"] else "not a significant"
        entry["reason"] = f"{_gap_phrase(result, entry)}, {sig} gap, {entry['effect']}"
        out.append(entry)
    out.sort(key=lambda e: (abs(e["gap"]), -(e["floor"] or 0.0), e["id"]))
    return out[:limit]


def plural(word: str) -> str:
    """'department' -> 'departments', 'country' -> 'countries' (segment column names)."""
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "o", "u"):
        return word[:-1] + "ies"
    return word if word.endswith("s") else word + "s"


def participation_summary(result: ResultDocument) -> dict[str, Any] | None:
    """Overall participation (shown groups pooled) and the spread of the shown rates
    across the values of each segment column; None without a headcount."""
    part = result.participation
    if part is None:
        return None
    with_rate: list[Any] = [c for c in part.groups.values() if shown(c)]
    overall: dict[str, Any] | None = None
    if with_rate:
        responded = sum(c.responded for c in with_rate)
        headcount = sum(c.headcount for c in with_rate)
        overall = {"responded": responded, "headcount": headcount}
        overall["rate"] = responded / headcount if headcount else None
    spreads = []
    for column in dict.fromkeys(s.column for s in part.segments):
        rates = [
            (c.rate, s.value)  # type: ignore[union-attr]
            for s in part.segments
            if s.column == column
            for c in s.groups.values()
            if shown(c)
        ]
        if len(rates) >= 2:
            lo, hi = min(rates)[0], max(rates)[0]
            sentence = f"response rates range from {lo:.0%} to {hi:.0%} across {plural(column)}"
            spreads.append({"column": column, "low": lo, "high": hi, "sentence": sentence})
    return {"overall": overall, "spreads": spreads, "warnings": list(part.warnings)}
