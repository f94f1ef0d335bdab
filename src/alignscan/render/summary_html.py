"""Page 1 of the HTML report, the executive summary: plain data for `_summary.html.j2`
(what it says is decided in `alignscan.result.findings`; this module only lays out its chart)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from alignscan.result import findings

if TYPE_CHECKING:
    from alignscan.result.models import ResultDocument

CHART_W, LABEL_W, ROW_H, TOP = 640, 210, 20, 24


def _tick(points: int) -> str:
    return f"{points:+d}" if points else "0"


def gap_chart(result: ResultDocument, focus: set[str]) -> dict[str, Any]:
    """The summary's one chart, in one unit: each dimension's favorable-share gap in
    percentage points, as a bar from zero; the focus areas drawn darker."""
    shares = [
        100 * abs(d.gap.favorable)
        for d in result.dimensions
        if d.gap is not None and d.gap.favorable is not None
    ]
    limit = max(10, 10 * math.ceil(max(shares, default=10) / 10))
    x0, x1 = LABEL_W + 10, CHART_W - 40
    zero = (x0 + x1) / 2

    def x(points: float) -> float:
        return round(zero + points / limit * (x1 - zero), 1)

    rows = []
    for i, d in enumerate(result.dimensions):
        gap = d.gap
        value = None if gap is None else gap.favorable
        points = None if value is None else 100 * value
        rows.append(
            {
                "title": d.title,
                "y": TOP + i * ROW_H,
                "points": points,
                "x": None if points is None else min(x(points), zero),
                "width": None if points is None else abs(x(points) - zero),
                "end": None if points is None else x(points),
                "focus": d.id in focus,
                "significant": findings.significant(gap),
                "label": None if points is None else _tick(round(points)),
            }
        )
    step = limit // 2
    ticks = [(x(t), _tick(t)) for t in range(-limit, limit + 1, step)]
    return {
        "width": CHART_W,
        "height": TOP + ROW_H * len(rows) + 20,
        "zero": zero,
        "rows": rows,
        "ticks": ticks,
        "label_w": LABEL_W,
    }


def summary_view(result: ResultDocument) -> dict[str, Any]:
    """Everything the executive summary shows."""
    focus = findings.focus_areas(result)
    return {
        "focus": focus,
        "focus_basis": findings.focus_basis(result),
        "strengths": findings.strengths(result),
        "participation": findings.participation_summary(result),
        "chart": gap_chart(result, {f["id"] for f in focus}),
        "scale_unit": findings.scale_unit(result),
        "share_unit": findings.SHARE_UNIT,
    }
