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

from alignscan.errors import AlignscanError
from alignscan.render.drivers_html import drivers_view
from alignscan.render.formats import FILTERS
from alignscan.render.sections import section_context
from alignscan.render.summary_html import summary_view
from alignscan.result import findings
from alignscan.result.findings import significant
from alignscan.result.models import (
    CommentTexts,
    GroupStats,
    ItemStats,
    ResultDocument,
    Suppressed,
    TrendDocument,
    as_result,
    as_trend,
)
from alignscan.result.models import Segment as SegmentCell  # `Segment` here is a bar's part

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
COLOR_A = "#0072B2"  # blue
COLOR_B = "#D55E00"  # vermillion
LIKERT_NEU = "#D9D9D9"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("alignscan", "templates"),
        autoescape=True,  # every template, whatever its extension
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    env.filters["bdi"] = bdi
    env.globals.update(
        significant=significant,
        low_reliability=findings.low_reliability,
        alpha_reading=findings.alpha_reading,
        direction_word=findings.direction_word,
        change_words=findings.change_words,
        effect_words=findings.effect_words,
    )
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


def report_date(date: str | None) -> str | None:
    """The date printed on the report: `date`, else SOURCE_DATE_EPOCH, else none."""
    if date:
        return date
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), tz=_dt.UTC).date().isoformat()
    return None


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


def dumbbell(result: ResultDocument) -> Dumbbell:
    """Per dimension: A and B means on the answer scale, and the gap with its 95% CI."""
    a, b = result.compare
    points, first = result.scale.points, result.scale.start
    scale_axis = Axis(first, first + points - 1, 250, 520)
    bounds = [
        abs(v)
        for d in result.dimensions
        if d.gap is not None
        for v in (*(d.gap.mean_ci or ()), d.gap.mean)
    ]
    limit = max(0.5, math.ceil(max(bounds, default=0.5) * 2) / 2)
    gap_axis = Axis(-limit, limit, 590, 800)
    rows = []
    y = 48.0
    for dim in result.dimensions:
        ma, mb = (getattr(dim.groups.get(g), "mean", None) for g in (a, b))
        gap = dim.gap
        rows.append(
            DumbbellRow(
                title=dim.title,
                y=y,
                xa=scale_axis.x(ma) if ma is not None else None,
                xb=scale_axis.x(mb) if mb is not None else None,
                gx=gap_axis.x(gap.mean) if gap else None,
                glo=gap_axis.x(gap.mean_ci[0]) if gap and gap.mean_ci else None,
                ghi=gap_axis.x(gap.mean_ci[1]) if gap and gap.mean_ci else None,
                significant=significant(gap),
                magnitude=gap.magnitude if gap else None,
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
    code: int  # scale position on the scored (recoded) scale
    share: float
    label: str = ""  # the answer people gave (for reverse-keyed items: the raw label)
    count: int = 0


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


def raw_counts(
    cell: ItemStats | GroupStats, reverse: bool, first: int, points: int
) -> dict[int, int]:
    """Answer counts per code as people answered (reverse-keyed items un-recoded):
    `answer_counts` when the result has them, else the mirror of the recoded counts."""
    if cell.answer_counts is not None:
        return {int(k): v for k, v in cell.answer_counts.items()}
    counts = {int(k): v for k, v in (cell.counts or {}).items()}
    last = first + points - 1
    return {first + last - c: v for c, v in counts.items()} if reverse else counts


def likert_bar(
    cell: ItemStats | GroupStats | Suppressed | None,
    group: str,
    points: int,
    centre: float,
    scale: float,
    first: int = 1,
    labels: list[str] | None = None,
    reverse: bool = False,
) -> LikertBar:
    """A diverging stacked bar ordered by favorability: unfavorable left of `centre`,
    favorable right, neutral centred, coloured by favorability. Segments are by scored
    scale position (1..points); each carries the answer people gave and its count, so a
    reverse-keyed item shows "Strongly agree" on its unfavorable end."""
    if not isinstance(cell, ItemStats | GroupStats) or not cell.counts:
        return LikertBar(group=group, suppressed=True)
    counts = {int(k) - first + 1: v for k, v in cell.counts.items()}
    n = sum(counts.values())
    if n == 0:
        return LikertBar(group=group, suppressed=True)
    labels = labels or [str(first + i) for i in range(points)]
    colors = likert_colors(points)
    shares = {code: counts.get(code, 0) / n for code in range(1, points + 1)}
    half = points // 2
    neutral = shares.get(half + 1, 0.0) if points % 2 else 0.0
    negative = sum(shares[c] for c in range(1, half + 1))
    x = centre - (negative + neutral / 2) * scale
    segments = []
    for code in range(1, points + 1):
        w = shares[code] * scale
        answered = points - code if reverse else code - 1  # index of the label people chose
        segments.append(
            Segment(
                round(x, 1),
                round(w, 1),
                colors[code],
                code,
                shares[code],
                labels[answered],
                counts.get(code, 0),
            )
        )
        x += w
    return LikertBar(group, False, segments, cell.n, cell.favorable)


# ColorBrewer PuOr ends (colour-blind safe): orange where the segment's gap is larger than
# the comparator's, purple where it is smaller.
HEAT_MORE, HEAT_LESS = (179, 88, 6), (84, 39, 136)


def heat_color(gap: float | None, limit: float) -> str:
    """Diverging orange (above the comparator) / purple (below) fill; white at zero."""
    if gap is None:
        return "#FFFFFF"
    t = max(-1.0, min(1.0, gap / limit)) if limit else 0.0
    target = HEAT_MORE if t > 0 else HEAT_LESS
    mix = abs(t) ** 0.8
    r, g, b = (round(255 + (c - 255) * mix) for c in target)
    return f"#{r:02X}{g:02X}{b:02X}"


def text_on(fill: str) -> str:
    r, g, b = (int(fill[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return "#000000" if luminance > 0.18 else "#FFFFFF"


def heatmaps(result: ResultDocument) -> list[dict[str, Any]]:
    """One heatmap per segment column: rows = values, columns = dimensions; each cell
    coloured and labelled by its gap's difference from the whole company's gap on that
    dimension (the comparator), with the gap itself kept for the table."""
    segs = result.segments
    if not segs:
        return []
    dims = [(d.id, d.title) for d in result.dimensions]
    company = {d.id: d.gap.mean if d.gap else None for d in result.dimensions}
    headers = [
        textwrap.wrap(title, 15, max_lines=3, placeholder="…", break_long_words=False)
        for _, title in dims
    ]
    columns: dict[str, dict[str, dict[str, SegmentCell]]] = {}
    for s in segs:
        columns.setdefault(s.column, {}).setdefault(s.value, {})[s.dimension] = s
    cells_by_column = {
        column: {
            value: [_heat_cell(by_dim.get(i), company[i]) for i, _ in dims]
            for value, by_dim in values.items()
        }
        for column, values in columns.items()
    }
    diffs = [
        abs(c["diff"])
        for v in cells_by_column.values()
        for r in v.values()
        for c in r
        if c["diff"] is not None
    ]
    limit = max(diffs, default=1.0) or 1.0
    out = []
    for column, values in cells_by_column.items():
        rows = []
        for value, cells in values.items():
            for c in cells:
                c["fill"] = heat_color(c["diff"], limit)
                c["ink"] = text_on(c["fill"])
            rows.append({"value": value, "cells": cells})
        out.append({"column": column, "rows": rows, "dims": dims, "headers": headers})
    return out


def _heat_cell(seg: SegmentCell | None, company: float | None) -> dict[str, Any]:
    """A heatmap cell: the segment's gap, its significance and its difference from the
    comparator (None when either is hidden)."""
    g = seg.gap if seg else None
    gap = g.mean if g else None
    diff = None if gap is None or company is None else gap - company
    return {"gap": gap, "diff": diff, "significant": significant(g), "suppressed": g is None}


def comment_lists(result: ResultDocument) -> list[dict[str, Any]]:
    """Comments per question and group, identical answers collapsed with their count."""
    out = []
    for c in result.comments:
        groups: dict[str, dict[str, Any] | None] = {}
        for g, cell in c.groups.items():
            if not isinstance(cell, CommentTexts):
                groups[g] = None
                continue
            counted: Counter[str] = Counter()
            for text in cell.texts:  # distinct texts with their counts
                counted[text.text] += text.count
            groups[g] = {
                "count": cell.count,
                "shown": counted.total(),
                "texts": sorted(counted.items()),
            }
        out.append({"text": c.text, "groups": groups})
    return out


def items_view(result: ResultDocument, centre: float, bar_scale: float) -> dict[str, list]:
    """Per dimension id: each item with its two bars and its raw answer counts per group."""
    a, b = result.compare
    scale = result.scale
    points, first = scale.points, scale.start
    out: dict[str, list[dict[str, Any]]] = {}
    for item in result.items:
        cells = {g: item.groups.get(g) for g in (a, b)}
        bars = [
            likert_bar(
                cells[g],
                findings.group_label(result, g),
                points,
                centre,
                bar_scale,
                first,
                scale.labels,
                item.reverse,
            )
            for g in (a, b)
        ]
        raw = {
            g: raw_counts(c, item.reverse, first, points)
            if isinstance(c, ItemStats | GroupStats)
            else None
            for g, c in cells.items()
        }
        out.setdefault(item.dimension, []).append({"item": item, "bars": bars, "raw": raw})
    return out


def report_context(result: ResultDocument) -> dict[str, Any]:
    """The branding block of the result (client, prepared_by, logo, date), or {}."""
    return {} if result.report is None else result.report.document()


def with_report_extras(
    result: ResultDocument, trend: TrendDocument | None, date: str | None
) -> ResultDocument:
    """The result with what its report shows beyond the analysis: the trend (key
    `trend`, with a baseline) and the report date (`report_date`), so that
    `alignscan report result.json` draws the same report."""
    extras: dict[str, Any] = {}
    if trend is not None:
        extras["trend"] = trend
    if date:
        extras["report_date"] = date
    return result.updated(**extras) if extras else result


def _trend_context(trend: TrendDocument | None) -> dict[str, Any]:
    """Template variables of the trend section (none without a trend)."""
    if trend is None:
        return {"trend_section": False}
    from alignscan.render.trend_charts import small_multiples

    return {
        "trend_section": True,
        "t": trend,
        "grid": small_multiples(trend),
        "trend_sentence": findings.trend_sentence(trend),
        "t_unit": findings.trend_unit(trend),
    }


def render_html(
    result: ResultDocument | dict[str, Any],
    *,
    date: str | None = None,
    trend: TrendDocument | dict[str, Any] | None = None,
) -> str:
    """The full report as one self-contained HTML string (no external references).
    The trend and date stored in the result are used unless others are given."""
    result = as_result(result)
    a, b = result.compare
    points, first = result.scale.points, result.scale.start
    bar_scale, centre = 260.0, 400.0
    used = result.rows.used
    if used is None:  # withheld: it would give a hidden group's size
        used = sum(getattr(c, "n", 0) for c in result.groups.values())
    trend = result.trend if trend is None else as_trend(trend)
    branding = report_context(result)
    date = date or result.report_date
    extra = _trend_context(trend)
    labels = findings.group_labels(result)
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            **extra,
            r=result,
            a=a,
            b=b,
            a_label=labels[a],
            b_label=labels[b],
            labels=labels,
            dim_titles={d.id: d.title for d in result.dimensions},
            color_a=COLOR_A,
            color_b=COLOR_B,
            used=used,
            groups=dict(result.groups),
            head=findings.headline(result),
            top_gaps=findings.top_item_gaps(result),
            dumbbell=dumbbell(result),
            items_by_dim=items_view(result, centre, bar_scale),
            likert_legend=[
                (result.scale.labels[c - 1], color)
                for c, color in sorted(likert_colors(points).items())
            ],
            first_code=first,
            last_code=first + points - 1,
            centre=centre,
            bar_scale=bar_scale,
            heatmaps=heatmaps(result),
            comments=comment_lists(result),
            recs=findings.recommendations(result),
            drivers=drivers_view(result),
            brand=branding,
            date=report_date(date),
            minimum=result.min_group_size,
            comment_minimum=result.min_comment_group_size,
            isfinite=math.isfinite,
            summary=summary_view(result),
            **section_context(result),
        )
    )


class PdfUnavailable(AlignscanError):
    """The optional PDF renderer (WeasyPrint) is not installed."""

    code = "pdf_unavailable"
    hint = "pip install 'alignscan[pdf]'"
    exit_code = 2


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
