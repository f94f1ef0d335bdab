"""The drivers section of the HTML report: plain chart geometry and sentences from the
"drivers" block of a result document (the template `_drivers_section.html.j2` draws it)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from alignscan.render.formats import signed
from alignscan.result.findings import driver_cell, group_label, importance_of

if TYPE_CHECKING:
    from alignscan.result.models import DriverCell, Drivers, ResultDocument

BAR_X0, BAR_X1 = 230.0, 470.0  # the bar panels are 520 wide (two fit side by side)
ROW_H = 26.0
# priority chart plot area
PX0, PX1, PY0, PY1 = 70.0, 560.0, 30.0, 290.0


def _label(result: ResultDocument, group: str) -> str:
    return group_label(result, group)


def _nice(value: float) -> float:
    """A round axis maximum at or above `value`."""
    if value <= 0:
        return 1.0
    step = 10 ** math.floor(math.log10(value))
    for mult in (1, 2, 2.5, 5, 10):
        if mult * step >= value:
            return mult * step
    return 10 * step


def _bars(cell: DriverCell, titles: dict[str, str]) -> list[dict[str, Any]]:
    dims = sorted(cell.dimensions, key=lambda d: -(d.share or 0.0))
    top = max((d.share or 0.0 for d in dims), default=0.0)
    limit = _nice(top) if top > 0 else 1.0
    rows = []
    for i, d in enumerate(dims):
        share = d.share or 0.0
        rows.append(
            {
                "id": d.id,
                "title": titles.get(d.id, d.id),
                "y": 8 + i * ROW_H,
                "width": round(max(0.0, share) / limit * (BAR_X1 - BAR_X0), 1),
                "share": d.share,
                "importance": d.importance,
                "r": d.r,
                "r_ci": d.r_ci,
            }
        )
    return rows


def _panels(result: ResultDocument, titles: dict[str, str]) -> list[dict[str, Any]]:
    panels = []
    for group in result.compare:
        cell = driver_cell(result, group)
        panel: dict[str, Any] = {"group": group, "label": _label(result, group)}
        if cell is None:  # hidden, or no figures for the group
            panel["suppressed"] = True
        elif cell.r2 is None:
            panel["suppressed"] = False
            panel["no_variance"] = True
            panel["n"] = cell.n
        else:
            bars = _bars(cell, titles)
            panel.update(suppressed=False, n=cell.n, r2=cell.r2, bars=bars)
            panel["height"] = int(16 + ROW_H * len(bars))
        panels.append(panel)
    return panels


def _block(result: ResultDocument) -> Drivers:
    """The result's driver analysis (the drivers section is drawn only when there is one)."""
    assert result.drivers is not None
    return result.drivers


def _r2_of(result: ResultDocument, group: str) -> float | None:
    cell = driver_cell(result, group)
    return None if cell is None else cell.r2


def _gaps(result: ResultDocument) -> dict[str, float]:
    return {d.id: d.gap.mean for d in result.dimensions if d.gap is not None}


def priority(result: ResultDocument, titles: dict[str, str]) -> dict[str, Any] | None:
    """Each predictor at (|gap|, importance for the second compared group), with the
    averages as quadrant lines; None when the second group has no driver figures."""
    b = result.compare[1]
    importance = importance_of(result, b)
    gaps = _gaps(result)
    if importance is None:
        return None
    block = _block(result)
    ids = [d for d in block.predictors if d in gaps and d in importance]
    r2 = _r2_of(result, b)
    if len(ids) < 2:
        return None
    x_max = _nice(max(abs(gaps[d]) for d in ids))
    y_max = _nice(max(importance[d] for d in ids))
    gap_cut = sum(abs(gaps[d]) for d in ids) / len(ids)
    imp_cut = sum(importance[d] for d in ids) / len(ids)

    def px(v: float) -> float:
        return round(PX0 + v / x_max * (PX1 - PX0), 1)

    def py(v: float) -> float:
        return round(PY1 - v / y_max * (PY1 - PY0), 1)

    points = [
        {
            "id": d,
            "title": titles.get(d, d),
            "gap": gaps[d],
            "importance": importance[d],
            "x": px(abs(gaps[d])),
            "y": py(importance[d]),
            "hot": abs(gaps[d]) > gap_cut and importance[d] > imp_cut,
            "r2": r2,
        }
        for d in ids
    ]
    place_labels(points)
    ticks_x = [(px(x_max * i / 4), f"{x_max * i / 4:.2f}") for i in range(5)]
    ticks_y = [(py(y_max * i / 4), f"{y_max * i / 4:.3f}") for i in range(5)]
    return {
        "points": points,
        "cut_x": px(gap_cut),
        "cut_y": py(imp_cut),
        "ticks_x": ticks_x,
        "ticks_y": ticks_y,
        "box": (PX0, PX1, PY0, PY1),
        "sentence": priority_sentence(points, result),
    }


CHAR_W, LABEL_H, LABEL_MAX = 7.0, 14.0, 30  # 12px text: a generous width per character


def _label_box(x: float, y: float, width: float, anchor: str) -> tuple[float, ...]:
    x0 = x + 9 if anchor == "start" else x - 9 - width
    return (x0, y - LABEL_H + 4, x0 + width, y + 4)


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(points: list[dict[str, Any]], right: float = 800.0) -> None:
    """Label positions (`lx`, `ly`, `anchor`) so no two labels of the priority chart
    overlap, nor the axis labels below the plot: each label goes right of its dot (left
    near the right edge), moved up or down in steps of a line until it is clear; `moved`
    asks for a leader line."""
    floor = PY1 + 4  # the x axis tick labels start below this
    placed: list[tuple[float, ...]] = []
    for p in sorted(points, key=lambda p: (p["y"], p["x"])):
        width = CHAR_W * min(len(p["title"]), LABEL_MAX)
        anchor = "start" if p["x"] + 9 + width <= right else "end"
        for step in range(40):
            dy = LABEL_H * ((step + 1) // 2) * (1 if step % 2 else -1)
            box = _label_box(p["x"], p["y"] + dy, width, anchor)
            if box[3] <= floor and not any(_overlaps(box, other) for other in placed):
                break
        placed.append(box)
        p.update(lx=box[0] if anchor == "start" else box[2], ly=p["y"] + dy, anchor=anchor)
        p["moved"] = dy != 0


def _names(titles: list[str]) -> str:
    return titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]


def priority_sentence(points: list[dict[str, Any]], result: ResultDocument) -> str:
    """The "large gap, matters most" quadrant in one sentence, from the data."""
    la, lb = (_label(result, g) for g in result.compare)
    hot = sorted((p for p in points if p["hot"]), key=lambda p: -abs(p["gap"]) * p["importance"])
    if not hot:
        return (
            f"No dimension has both a larger-than-average gap and a larger-than-average "
            f"weight in the driver analysis of {lb}."
        )
    first = hot[0]
    outcome = _block(result).outcome
    outcome = next((d.title for d in result.dimensions if d.id == outcome), outcome)
    detail = f"gap {signed(first['gap'])}, {first['importance'] / first['r2']:.0%} of what the "
    detail += "dimensions explain"
    if len(hot) == 1:
        return (
            f"{first['title']} has a larger-than-average gap between {la} and "
            f"{lb} and matters more than average for {outcome} among {lb} "
            f"({detail})."
        )
    return (
        f"{_names([p['title'] for p in hot])} have larger-than-average gaps between "
        f"{la} and {lb} and matter more than average for {outcome} among "
        f"{lb}; {first['title']} comes first ({detail})."
    )


def drivers_view(result: ResultDocument) -> dict[str, Any] | None:
    """Everything the drivers section draws; None when the result has no drivers."""
    if result.drivers is None:
        return None
    block = _block(result)
    titles = {d.id: d.title for d in result.dimensions}
    return {
        "outcome": titles.get(block.outcome, block.outcome),
        "minimum": block.min_group_size,
        "panels": _panels(result, titles),
        "priority": priority(result, titles),
        "b_label": _label(result, result.compare[1]),
        "ranked_recs": importance_of(result, result.compare[1]) is not None,
    }
