"""Findings: what the figures mean, decided once for every renderer.

The significance rule lives here and nowhere else; the HTML report, the terminal and the
data frames only display what these pure functions of the result document decide: the
headline, the largest item gaps, the recommendations, the reliability reading and the
trend's words.
"""

from __future__ import annotations

from typing import Any

from alignscan.report.formats import signed

ALPHA = 0.05  # false discovery rate for calling a gap significant
LOW_RELIABILITY = 0.6  # alpha below this: "low reliability" wherever the dimension is read
HEADLINE_RELIABILITY = 0.5  # the headline is never built on a dimension below this
TOP_GAPS = 10


def significant(gap: dict[str, Any] | None) -> bool:
    """A gap (or a change) is significant when its Benjamini-Hochberg q-value is below 0.05."""
    if not gap:
        return False
    q = gap.get("q_value")
    return q is not None and q < ALPHA


def isolate(value: object) -> str:
    """Data text isolated with FSI..PDI inside a sentence, so a right-to-left name can't
    reorder the figures around it (the terminal strips the marks, HTML keeps them)."""
    return f"\u2068{value}\u2069"


# ----------------------------------------------------------------------------- groups


def default_label(group: str) -> str:
    """'c_suite' -> 'C suite': the id with `_` as spaces, first letter capitalised."""
    text = group.replace("_", " ")
    return text[:1].upper() + text[1:]


def group_label(result: dict[str, Any], group: str) -> str:
    """The display name of a group: the survey's `roles.labels`, else the default."""
    labels = result.get("group_labels") or {}
    return labels.get(group) or default_label(group)


def group_labels(result: dict[str, Any]) -> dict[str, str]:
    """Every group id of the result -> its display name."""
    ids = [*result["compare"], *result.get("groups", {})]
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


def largest_dimension_gaps(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Significant dimension gaps, largest first (ties: smaller q first)."""
    dims = [d for d in result["dimensions"] if significant(d["gap"])]
    return sorted(dims, key=lambda d: (-abs(d["gap"]["mean"]), d["gap"]["q_value"], d["id"]))


def top_item_gaps(result: dict[str, Any], limit: int = TOP_GAPS) -> list[dict[str, Any]]:
    """The `limit` largest significant item gaps: by |gap| descending, then q, then id."""
    items = [i for i in result["items"] if significant(i["gap"])]
    items.sort(key=lambda i: (-abs(i["gap"]["mean"]), i["gap"]["q_value"], i["id"]))
    return items[:limit]


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The sentence a board remembers: the largest significant dimension gap whose
    reliability is not below 0.5, in favorable shares when they are shown."""
    a, b = result["compare"]
    la, lb = isolate(group_label(result, a)), isolate(group_label(result, b))
    ranked = [
        d
        for d in largest_dimension_gaps(result)
        if d.get("alpha") is None or d["alpha"] >= HEADLINE_RELIABILITY
    ]
    if not ranked:
        return {
            "sentence": (
                f"No dimension shows a gap between {la} and {lb} that is statistically "
                "significant after correction for multiple comparisons."
            ),
            "dimension": None,
            "significant": False,
        }
    d = ranked[0]
    fa, fb = d["groups"][a].get("favorable"), d["groups"][b].get("favorable")
    if fa is None or fb is None:
        sentence = f"The largest gap between {la} and {lb} is on {isolate(d['title'])}."
    else:
        joiner = "but only" if fa > fb else "against"
        sentence = (
            f"On {isolate(d['title'])}, {fa:.0%} of the answers of {la} are favorable, "
            f"{joiner} {fb:.0%} of the answers of {lb}."
        )
    return {"sentence": sentence, "dimension": d["title"], "significant": True}


def recommendations(result: dict[str, Any], limit: int = 3) -> list[dict[str, Any]]:
    """The largest meaningful gaps (significant, not negligible), ranked by size then q;
    with driver figures, by gap size times importance for the second group."""
    meaningful = [
        d
        for d in largest_dimension_gaps(result)
        if d["gap"].get("magnitude") not in (None, "negligible")
    ]
    if result.get("drivers"):
        meaningful = rank_by_importance(result, meaningful)
    return meaningful[:limit]


def importance_of(result: dict[str, Any], group: str) -> dict[str, float] | None:
    """Predictor id -> importance for `group`, or None when not available."""
    block = result.get("drivers")
    cell = (block or {}).get("groups", {}).get(group)
    if not cell or cell.get("suppressed") or cell.get("r2") is None:
        return None
    return {d["id"]: d["importance"] for d in cell["dimensions"]}


def rank_by_importance(result: dict[str, Any], dims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dimensions ordered by |gap| x importance for the second compared group (the
    predictors), then the others (e.g. the outcome itself) by gap size."""
    importance = importance_of(result, result["compare"][1])
    if importance is None:
        return dims

    def key(d: dict[str, Any]) -> tuple[int, float]:
        size = abs(d["gap"]["mean"])
        if d["id"] in importance:
            return (0, -size * importance[d["id"]])
        return (1, -size)

    return sorted(dims, key=key)


# ----------------------------------------------------------------------------- trend

NO_CLEAR_CHANGE = "no clear change"


def direction_word(change: dict[str, Any] | None) -> str:
    """'closing', 'widening' or 'reversed' for a significant change, else 'no clear change'."""
    if change is None:
        return "not available"
    if significant(change) and change.get("direction"):
        return str(change["direction"])
    return NO_CLEAR_CHANGE


def change_interval(change: dict[str, Any]) -> tuple[float, float]:
    """The 95% CI of a change on the scale of its size (|change|): a narrowing by 0.33
    with CI -0.48..-0.18 reads "by 0.33 points, 95% CI 0.18 to 0.48"."""
    lo, hi = change["ci"]
    if change["change"] < 0:
        lo, hi = -hi, -lo
    return lo, hi


def change_words(change: dict[str, Any]) -> str:
    """A change in words that follow its significance: "narrowed by 0.33 points, 95% CI
    0.18 to 0.48", "reversed from +0.40 to -0.20 points", or "no clear change"."""
    word = direction_word(change)
    if word == "reversed":
        before, after = signed(change["from_gap"]), signed(change["to_gap"])
        return f"reversed, from {before} to {after} points"
    if word in ("closing", "widening"):
        verb = "narrowed" if word == "closing" else "widened"
        lo, hi = change_interval(change)
        return f"{verb} by {abs(change['change']):.2f} points, 95% CI {lo:.2f} to {hi:.2f}"
    return word


def change_sentence(title: str, since: str, change: dict[str, Any]) -> str:
    """One dimension's gap change as a sentence."""
    where = f"Since {isolate(since)}, the gap on {isolate(title)}"
    words = change_words(change)
    if direction_word(change) == "reversed":
        return (
            f"{where} has {words}: a change of {signed(change['change'])} "
            f"(95% CI {signed(change['ci'][0])} to {signed(change['ci'][1])})."
        )
    if words == NO_CLEAR_CHANGE:
        return f"{where}: no clear change."
    return f"{where} has {words}."


def trend_sentence(trend: dict[str, Any]) -> str | None:
    """The largest significant change in a dimension gap since the first wave, in words."""
    moves = [
        (abs(d["changes"][-1]["gap"]["change"]), d)
        for d in trend["dimensions"]
        if d["changes"] and significant(d["changes"][-1]["gap"])
    ]
    if not moves:
        if not trend["dimensions"]:
            return None
        since = isolate(trend["labels"][0])
        return f"No dimension gap changed significantly since {since}: no clear change."
    _, d = max(moves, key=lambda m: m[0])
    last = d["changes"][-1]
    return change_sentence(d["title"], last["from"], last["gap"])
