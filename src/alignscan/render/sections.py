"""Report sections for participation and benchmarks: plain data for their templates
(`_participation.html.j2`, `_benchmark.html.j2`) and the sentences they print."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alignscan.extras.norms import whole_points
from alignscan.render.formats import half_up

if TYPE_CHECKING:
    from alignscan.result.models import Dimension, Item, ResultDocument


def ordinal(n: int) -> str:
    """1 -> '1st', 88 -> '88th', 12 -> '12th', 23 -> '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def percentile_place(n: int, unit: str = "") -> str:
    """A whole percentile rank: 88 -> '88th' (+ `unit`); 0 -> 'lowest' (below every
    organisation) and 100 -> 'highest' (above every one): never '0th percentile'."""
    if n <= 0:
        return "lowest"
    if n >= 100:
        return "highest"
    return ordinal(n) + unit


def benchmark_sentence(result: ResultDocument, unit: Dimension | Item) -> str | None:
    """'your Executives–Practitioners gap on ROI is +17 percentage points (favorable
    share); the median of 24
    organisations is +9: 88th percentile.' (None when the unit has no comparable gap;
    no percentile when the norms are from too few organisations to give one)."""
    if unit.benchmark is None or unit.gap is None or unit.gap.favorable is None:
        return None  # no gap, or its favorable difference withheld (privacy)
    bench = unit.benchmark
    from alignscan.result.findings import group_label

    a, b = (group_label(result, g) for g in result.compare)
    title = _title(unit)
    mine = whole_points(unit.gap.favorable)
    median = whole_points(bench.gap.favorable_p50)
    head = (
        f"your {a}–{b} gap on {title} is {mine:+d} percentage points (favorable share); "
        f"the median of {bench.orgs} organisations is {median:+d}"
    )
    if bench.gap.favorable_percentile is None:
        return f"{head}."
    rank = percentile_place(int(half_up(bench.gap.favorable_percentile)), " percentile")
    if rank in ("lowest", "highest"):
        rank = f"the {rank} of them"
    return f"{head}: {rank}."


def benchmark_sentences(result: ResultDocument) -> list[str]:
    """One sentence per benchmarked dimension."""
    return [s for d in result.dimensions if (s := benchmark_sentence(result, d))]


def _title(unit: Dimension | Item) -> str:
    """A dimension's title, or an item's text (its id when it has none)."""
    return getattr(unit, "title", None) or unit.id


def _strip(unit: Dimension, lo: float, hi: float) -> dict[str, Any]:
    """Pixel positions of one dimension's gap strip: quartile band, median, own gap, marks."""
    x0, x1 = 200.0, 640.0

    def x(points: float) -> float:
        return round(x0 + (points - lo) / (hi - lo) * (x1 - x0), 1)

    assert unit.benchmark is not None  # only benchmarked dimensions are drawn
    bench, gap = unit.benchmark, unit.gap
    marks = [
        {"x": x(100 * r.gap), "source": r.source, "label": r.label, "gap": r.gap}
        for r in bench.references or []
        if r.gap is not None
    ]
    quartiles = (bench.gap.favorable_p25, bench.gap.favorable_p75)
    return {
        "title": _title(unit),
        "median": x(100 * bench.gap.favorable_p50),
        "band": [x(100 * q) for q in quartiles if q is not None],
        "mine": None if gap is None or gap.favorable is None else x(100 * gap.favorable),
        "marks": marks,
    }


def benchmark_view(result: ResultDocument) -> dict[str, Any] | None:
    """What `_benchmark.html.j2` draws; None when the result was not benchmarked."""
    if result.norms is None:
        return None
    dims = [d for d in result.dimensions if d.benchmark is not None]
    benches = {d.id: d.benchmark for d in dims if d.benchmark is not None}
    values = [0.0]
    for d in dims:
        mark = benches[d.id].gap
        quartiles = (mark.favorable_p25, mark.favorable_p50, mark.favorable_p75)
        values += [100 * q for q in quartiles if q is not None]
        if d.gap is not None and d.gap.favorable is not None:
            values.append(100 * d.gap.favorable)
        values += [100 * r.gap for r in benches[d.id].references or [] if r.gap is not None]
    limit = max(10.0, min(100.0, 10 * -(-max(abs(v) for v in values) // 10)))
    ticks = [t for t in range(-100, 101, 10) if -limit <= t <= limit]
    rows = [_strip(d, -limit, limit) for d in dims]
    refs = [r for d in dims for r in benches[d.id].references or []]
    return {
        "sentences": benchmark_sentences(result),
        "rows": rows,
        "ticks": [(_tick_x(t, limit), f"{t:+d}" if t else "0") for t in ticks],
        "zero": _tick_x(0, limit),
        "dims": dims,
        "item_rows": [i for i in result.items if i.benchmark is not None],
        "references": refs,
    }


def _tick_x(points: float, limit: float) -> float:
    return round(200.0 + (points + limit) / (2 * limit) * 440.0, 1)


def section_context(result: ResultDocument) -> dict[str, Any]:
    """Template variables for the participation and benchmark sections."""
    return {
        "benchmark_view": benchmark_view(result),
        "ordinal": percentile_place,  # the templates rank only percentiles with it
        "whole_points": whole_points,
    }
