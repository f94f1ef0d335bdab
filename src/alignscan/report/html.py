"""The HTML report: a self-contained, board-ready page rendered from a result document.

Python computes the chart geometry (plain data); the Jinja2 template draws it as inline
SVG. Autoescaping is on for every template, and nothing derived from the survey or the
responses is ever marked safe, so untrusted text always lands as text.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from alignscan.report.drivers_html import drivers_view, rank_by_importance
from alignscan.report.sections import section_context

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
COLOR_A = "#0072B2"  # blue
COLOR_B = "#D55E00"  # vermillion
LIKERT_NEU = "#D9D9D9"
SIGNIFICANT_Q = 0.05


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("alignscan", "templates"),
        autoescape=True,  # every template, whatever its extension
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pct"] = lambda v, digits=0: "–" if v is None else f"{v * 100:.{digits}f}%"
    env.filters["num"] = lambda v, fmt=".2f": "–" if v is None else format(v, fmt)
    env.filters["signed"] = lambda v, fmt="+.2f": "–" if v is None else format(v, fmt)
    env.filters["pts"] = lambda v: "–" if v is None else f"{v * 100:+.0f} pts"
    env.filters["qfmt"] = _qfmt
    env.filters["thousands"] = lambda v: "–" if v is None else f"{v:,}"
    env.filters["bdi"] = bdi
    env.filters["iso"] = isolate
    return env


def bdi(value: object) -> Markup:
    """Data text in HTML, isolated from the text around it (`<bdi>`), so a right-to-left
    name or a stray U+202E can't reorder the figures printed next to it. The value is
    escaped by Markup.format; nothing untrusted is marked safe."""
    return Markup("<bdi>{}</bdi>").format(value)


def isolate(value: object) -> str:
    """Data text isolated with FSI..PDI, for SVG text, titles and attributes where an
    element can't go; the PDI also closes any embedding the text left open."""
    return f"\u2068{value}\u2069"


def _qfmt(q: float | None) -> str:
    if q is None:
        return "–"
    return "< 0.001" if q < 0.001 else f"{q:.3f}"


UNCOUNTABLE = {
    "staff",
    "management",
    "leadership",
    "personnel",
    "workforce",
    "c-suite",
    "board",
    "it",
    "hr",
    "frontline",
    "faculty",
    "crew",
    "team",
}


def plural(name: str) -> str:
    """'executive' -> 'executives': group names read as people in sentences."""
    name = name.replace("_", " ").replace("-", " ") if name.lower() != "c-suite" else name
    if name.lower() in UNCOUNTABLE or name.endswith("s"):
        return name
    if name.endswith("y") and not name.endswith(("ay", "ey", "oy", "uy")):
        return name[:-1] + "ies"
    return name + "s"


def possessive(people: str) -> str:
    """'executives' -> "executives'", 'staff' -> "staff's"."""
    return people + ("'" if people.endswith("s") else "'s")


def report_date(date: str | None) -> str | None:
    """The date printed on the report: `date`, else SOURCE_DATE_EPOCH, else none."""
    if date:
        return date
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), tz=_dt.UTC).date().isoformat()
    return None


def _significant(gap: dict[str, Any] | None) -> bool:
    return bool(gap and gap.get("q_value") is not None and gap["q_value"] < SIGNIFICANT_Q)


# ----------------------------------------------------------------------------- geometry


@dataclass
class Axis:
    """Maps scale values to x pixels."""

    lo: float
    hi: float
    x0: float
    x1: float

    def x(self, value: float) -> float:
        return round(self.x0 + (value - self.lo) / (self.hi - self.lo) * (self.x1 - self.x0), 1)


@dataclass
class DumbbellRow:
    title: str
    y: float
    xa: float | None  # group A mean on the scale axis
    xb: float | None
    gx: float | None  # gap on the gap axis, with its CI
    glo: float | None
    ghi: float | None
    significant: bool
    magnitude: str | None


@dataclass
class Dumbbell:
    width: int
    height: int
    scale_ticks: list[tuple[float, str]]
    gap_ticks: list[tuple[float, str]]
    zero_x: float
    rows: list[DumbbellRow]


def dumbbell(result: dict[str, Any]) -> Dumbbell:
    """Per dimension: A and B means on the answer scale, and the gap with its 95% CI."""
    a, b = result["compare"]
    points, first = result["scale"]["points"], result["scale"].get("start", 1)
    scale_axis = Axis(first, first + points - 1, 250, 520)
    bounds = [
        abs(v)
        for d in result["dimensions"]
        if d["gap"] is not None
        for v in (*d["gap"]["mean_ci"], d["gap"]["mean"])
    ]
    limit = max(0.5, math.ceil(max(bounds, default=0.5) * 2) / 2)
    gap_axis = Axis(-limit, limit, 590, 800)
    rows = []
    y = 48.0
    for dim in result["dimensions"]:
        ga, gb, gap = dim["groups"].get(a, {}), dim["groups"].get(b, {}), dim["gap"]
        rows.append(
            DumbbellRow(
                title=dim["title"],
                y=y,
                xa=scale_axis.x(ga["mean"]) if ga.get("mean") is not None else None,
                xb=scale_axis.x(gb["mean"]) if gb.get("mean") is not None else None,
                gx=gap_axis.x(gap["mean"]) if gap else None,
                glo=gap_axis.x(gap["mean_ci"][0]) if gap else None,
                ghi=gap_axis.x(gap["mean_ci"][1]) if gap else None,
                significant=_significant(gap),
                magnitude=gap["magnitude"] if gap else None,
            )
        )
        y += 34
    scale_ticks = [(scale_axis.x(v), str(v)) for v in range(first, first + points)]
    step = limit / 2
    gap_ticks = [
        (
            gap_axis.x(v * step),
            f"{v * step:+g}".replace("+0", "0", 1) if v == 0 else f"{v * step:+g}",
        )
        for v in range(-2, 3)
    ]
    return Dumbbell(820, int(y + 6), scale_ticks, gap_ticks, gap_axis.x(0), rows)


@dataclass
class Segment:
    x: float
    width: float
    color: str
    code: int
    share: float


@dataclass
class LikertBar:
    group: str
    suppressed: bool
    segments: list[Segment] = field(default_factory=list)
    n: int | None = None
    favorable: float | None = None


# ColorBrewer BrBG (colour-blind safe), by number of answer options; the neutral middle of
# odd scales is a grey that stands out from the page.
BRBG = {
    2: "d8b365 5ab4ac",
    3: "d8b365 - 5ab4ac",
    4: "a6611a dfc27d 80cdc1 018571",
    5: "a6611a dfc27d - 80cdc1 018571",
    6: "8c510a d8b365 f6e8c3 c7eae5 5ab4ac 01665e",
    7: "8c510a d8b365 f6e8c3 - c7eae5 5ab4ac 01665e",
    8: "8c510a bf812d dfc27d f6e8c3 c7eae5 80cdc1 35978f 01665e",
    9: "8c510a bf812d dfc27d f6e8c3 - c7eae5 80cdc1 35978f 01665e",
    10: "543005 8c510a bf812d dfc27d f6e8c3 c7eae5 80cdc1 35978f 01665e 003c30",
    11: "543005 8c510a bf812d dfc27d f6e8c3 - c7eae5 80cdc1 35978f 01665e 003c30",
}


def likert_colors(points: int) -> dict[int, str]:
    """Diverging colours: disagree codes left (brown), neutral grey, agree right (teal)."""
    names = BRBG[points].split()
    return {
        code: LIKERT_NEU if name == "-" else f"#{name.upper()}"
        for code, name in enumerate(names, start=1)
    }


def likert_bar(
    cell: dict[str, Any], group: str, points: int, centre: float, scale: float, first: int = 1
):
    """A diverging stacked bar: disagree left of `centre`, agree right, neutral centred.
    Segments are by scale position (1..points); `first` is the code of position 1."""
    if cell.get("suppressed") or not cell.get("counts"):
        return LikertBar(group=group, suppressed=True)
    counts = {int(k) - first + 1: v for k, v in cell["counts"].items()}
    n = sum(counts.values())
    if n == 0:
        return LikertBar(group=group, suppressed=True)
    colors = likert_colors(points)
    shares = {code: counts.get(code, 0) / n for code in range(1, points + 1)}
    half = points // 2
    neutral = shares.get(half + 1, 0.0) if points % 2 else 0.0
    negative = sum(shares[c] for c in range(1, half + 1))
    x = centre - (negative + neutral / 2) * scale
    segments = []
    for code in range(1, points + 1):
        w = shares[code] * scale
        segments.append(Segment(round(x, 1), round(w, 1), colors[code], code, shares[code]))
        x += w
    return LikertBar(group, False, segments, cell.get("n"), cell.get("favorable"))


def heat_color(gap: float | None, limit: float) -> str:
    """Diverging blue (A higher) / orange (B higher) fill for a gap; white at zero."""
    if gap is None:
        return "#FFFFFF"
    t = max(-1.0, min(1.0, gap / limit)) if limit else 0.0
    target = (33, 102, 172) if t > 0 else (178, 24, 43)
    mix = abs(t) ** 0.8
    r, g, b = (round(255 + (c - 255) * mix) for c in target)
    return f"#{r:02X}{g:02X}{b:02X}"


def text_on(fill: str) -> str:
    r, g, b = (int(fill[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return "#000000" if luminance > 0.18 else "#FFFFFF"


def heatmaps(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One heatmap per segment column: rows = values, columns = dimensions."""
    segs = result.get("segments") or []
    if not segs:
        return []
    dims = [(d["id"], d["title"]) for d in result["dimensions"]]
    headers = [
        textwrap.wrap(title, 15, max_lines=3, placeholder="…", break_long_words=False)
        for _, title in dims
    ]
    gaps = [abs(s["gap"]["mean"]) for s in segs if s.get("gap")]
    limit = max(gaps, default=1.0) or 1.0
    columns: dict[str, dict[str, dict[str, Any]]] = {}
    for s in segs:
        columns.setdefault(s["column"], {}).setdefault(s["value"], {})[s["dimension"]] = s
    out = []
    for column, values in columns.items():
        rows = []
        for value, by_dim in values.items():
            cells = []
            for dim_id, _ in dims:
                s = by_dim.get(dim_id)
                g = s["gap"] if s else None
                fill = heat_color(g["mean"] if g else None, limit)
                cells.append(
                    {
                        "gap": g["mean"] if g else None,
                        "significant": _significant(g),
                        "fill": fill,
                        "ink": text_on(fill),
                        "suppressed": g is None,
                    }
                )
            rows.append({"value": value, "cells": cells})
        out.append({"column": column, "rows": rows, "dims": dims, "headers": headers})
    return out


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The sentence a board remembers, built from the data."""
    a, b = result["compare"]
    ranked = sorted(
        (d for d in result["dimensions"] if _significant(d["gap"])),
        key=lambda d: -abs(d["gap"]["mean"]),
    )
    if ranked:
        d = ranked[0]
        fa = d["groups"][a].get("favorable")
        fb = d["groups"][b].get("favorable")
        if fa is not None and fb is not None:
            joiner = "but only" if fa > fb else "against"
            sentence = (
                f"{fa:.0%} of {isolate(possessive(plural(a)))} answers {joiner} {fb:.0%} of "
                f"{isolate(possessive(plural(b)))} answers on {isolate(d['title'])} are favorable."
            )
        else:
            sentence = f"The largest gap is on {isolate(d['title'])}."
        return {"sentence": sentence, "dimension": d["title"], "significant": True}
    return {
        "sentence": (
            f"No dimension shows a gap between {isolate(plural(a))} and {isolate(plural(b))} "
            "that is statistically significant after correction for multiple comparisons."
        ),
        "dimension": None,
        "significant": False,
    }


def trend_sentence(trend: dict[str, Any]) -> str | None:
    """The largest significant change in a dimension gap since the first wave, in words."""
    moves = []
    for d in trend["dimensions"]:
        change = d["changes"][-1]["gap"] if d["changes"] else None
        if change and change["q_value"] is not None and change["q_value"] < SIGNIFICANT_Q:
            moves.append((abs(change["change"]), d["title"], change, d["changes"][-1]["from"]))
    if not moves:
        return (
            f"No dimension gap changed significantly since {isolate(trend['labels'][0])}."
            if trend["dimensions"]
            else None
        )
    _, title, change, since = max(moves, key=lambda m: m[0])
    ci = f"(95% CI {change['ci'][0]:+.2f} to {change['ci'][1]:+.2f})"
    if change["direction"] == "reversed":
        return (
            f"Since {isolate(since)}, the gap on {isolate(title)} has reversed, "
            f"from {change['from_gap']:+.2f} "
            f"to {change['to_gap']:+.2f} points: a change of {change['change']:+.2f} {ci}."
        )
    verb = {"closing": "narrowed", "widening": "widened"}.get(change["direction"], "moved")
    size = abs(change["change"])
    where = f"Since {isolate(since)}, the gap on {isolate(title)}"
    return f"{where} has {verb} by {size:.2f} points {ci}."


def recommendations(result: dict[str, Any], limit: int = 3) -> list[dict[str, Any]]:
    """The largest meaningful gaps (significant, not negligible), ranked by size then q."""
    meaningful = [
        d
        for d in result["dimensions"]
        if _significant(d["gap"]) and d["gap"].get("magnitude") not in (None, "negligible")
    ]
    meaningful.sort(key=lambda d: (-abs(d["gap"]["mean"]), d["gap"]["q_value"]))
    if result.get("drivers"):  # then by gap x importance: where closing the gap pays most
        meaningful = rank_by_importance(result, meaningful)
    return meaningful[:limit]


def alpha_reading(alpha: float | None) -> str:
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
    return "poor: the items do not measure one thing; read items one by one"


def comment_lists(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Comments per question and group, identical answers collapsed with their count."""
    out = []
    for c in result.get("comments") or []:
        groups: dict[str, dict[str, Any] | None] = {}
        for g, cell in c["groups"].items():
            if cell.get("suppressed"):
                groups[g] = None
                continue
            counted = Counter(cell.get("texts", []))
            groups[g] = {
                "count": cell.get("count", len(cell.get("texts", []))),
                "shown": len(cell.get("texts", [])),
                "texts": sorted(counted.items()),
            }
        out.append({"text": c["text"], "groups": groups})
    return out


def render_html(
    result: dict[str, Any], *, date: str | None = None, trend: dict[str, Any] | None = None
) -> str:
    """The full report as one self-contained HTML string (no external references)."""
    a, b = result["compare"]
    points, first = result["scale"]["points"], result["scale"].get("start", 1)
    bar_scale, centre = 260.0, 400.0
    items_by_dim: dict[str, list[dict[str, Any]]] = {}
    for item in result["items"]:
        bars = [
            likert_bar(
                item["groups"].get(g, {"suppressed": True}), g, points, centre, bar_scale, first
            )
            for g in (a, b)
        ]
        items_by_dim.setdefault(item["dimension"], []).append({"item": item, "bars": bars})
    used = result["rows"]["used"]
    if used is None:  # withheld: it would give a hidden group's size
        used = sum(c.get("n", 0) for c in result["groups"].values())
    shown_groups = {g: c for g, c in result["groups"].items()}
    env = _environment()
    template = env.get_template("report.html.j2")
    extra: dict[str, Any] = {"trend_section": False}
    if trend is not None:
        from alignscan.report.trend_html import small_multiples

        extra = {
            "trend_section": True,
            "t": trend,
            "grid": small_multiples(trend),
            "trend_sentence": trend_sentence(trend),
        }
    html = template.render(
        **extra,
        r=result,
        a=a,
        b=b,
        a_label=plural(a),
        b_label=plural(b),
        color_a=COLOR_A,
        color_b=COLOR_B,
        used=used,
        groups=shown_groups,
        head=headline(result),
        dumbbell=dumbbell(result),
        items_by_dim=items_by_dim,
        likert_legend=[
            (result["scale"]["labels"][c - 1], color)
            for c, color in sorted(likert_colors(points).items())
        ],
        first_code=first,
        last_code=first + points - 1,
        centre=centre,
        bar_scale=bar_scale,
        heatmaps=heatmaps(result),
        comments=comment_lists(result),
        recs=recommendations(result),
        drivers=drivers_view(result),
        alpha_reading=alpha_reading,
        date=report_date(date),
        minimum=result["min_group_size"],
        comment_minimum=result.get("min_comment_group_size", 10),
        isfinite=math.isfinite,
        **section_context(result),
    )
    return html


class PdfUnavailable(Exception):
    """The optional PDF renderer (WeasyPrint) is not installed."""


def render_pdf(html: str) -> bytes:
    """The report as PDF through WeasyPrint (the `pdf` extra). Every URL fetch is
    refused, so the PDF can't reach the network, whatever the HTML says."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: missing system libraries (pango)
        raise PdfUnavailable(str(exc)) from None

    def refuse(url: str, *args: object, **kwargs: object) -> dict[str, Any]:
        raise ValueError(f"alignscan reports make no network requests ({url[:40]})")

    fetcher: Any = refuse
    try:  # WeasyPrint 66+ takes a URLFetcher object; older versions a function
        from weasyprint.urls import URLFetcher

        class Refuse(URLFetcher):  # type: ignore[misc]
            def fetch(self, url: str, headers: object = None) -> Any:
                return refuse(url)

        fetcher = Refuse()
    except ImportError:
        pass
    return HTML(string=html, url_fetcher=fetcher).write_pdf()  # type: ignore[no-any-return]
