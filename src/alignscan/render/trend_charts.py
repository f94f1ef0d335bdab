"""The trend's small-multiple line charts: the gap per dimension across waves, as the
geometry the templates draw in inline SVG (the report's trend section and the trend
page both use it)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alignscan.result.models import TrendDocument, WaveCell

CHART_W, CHART_H, PAD_L, PAD_R, PAD_T, PAD_B = 280, 150, 60, 40, 14, 30


def _interval(w: WaveCell) -> list[float]:
    """A wave's 95% CI of its gap (the gap itself at both ends when it has none)."""
    return w.mean_ci if w.mean_ci is not None else [w.gap, w.gap]  # type: ignore[list-item]


def small_multiples(trend: TrendDocument) -> dict[str, Any]:
    """One chart per dimension: the gap in each wave with its 95% CI, and a zero line."""
    values = [
        v
        for d in trend.dimensions
        for w in d.waves
        if w.gap is not None
        for v in (*_interval(w), w.gap)
    ]
    limit = max(0.5, math.ceil(max((abs(v) for v in values), default=0.5) * 2) / 2)
    n = len(trend.labels)

    def x(i: int) -> float:
        span = CHART_W - PAD_L - PAD_R
        return round(PAD_L + (span * i / (n - 1) if n > 1 else span / 2), 1)

    def y(v: float) -> float:
        span = CHART_H - PAD_T - PAD_B
        return round(PAD_T + (limit - v) / (2 * limit) * span, 1)

    charts = []
    for d in trend.dimensions:
        points = []
        for i, w in enumerate(d.waves):
            if w.gap is None:
                points.append({"x": x(i), "hidden": True, "present": w.present})
                continue
            lo, hi = _interval(w)
            points.append(
                {
                    "x": x(i),
                    "y": y(w.gap),
                    "lo": y(lo),
                    "hi": y(hi),
                    "gap": w.gap,
                    "hidden": False,
                    "present": True,
                }
            )
        segments = [
            (p, q)
            for p, q in zip(points, points[1:], strict=False)
            if not p["hidden"] and not q["hidden"]
        ]
        last = next((c for c in reversed(d.changes) if c.gap), None)
        overall = d.changes[-1].gap if d.changes else None
        changes = [c.document() for c in trend.comparability or []]  # their own shape
        charts.append(
            {
                "id": d.id,
                "title": d.title,
                "changed": [c for c in changes if d.id in c["dimensions"]],
                "points": points,
                "segments": segments,
                "overall": overall,
                "last": last,
            }
        )
    ticks = [(y(v), f"{v:+g}" if v else "0") for v in (-limit, -limit / 2, 0.0, limit / 2, limit)]
    return {
        "charts": charts,
        "ticks": ticks,
        "labels": trend.labels,
        "xs": [x(i) for i in range(n)],
        "zero": y(0.0),
        "w": CHART_W,
        "h": CHART_H,
    }
