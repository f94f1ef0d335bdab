"""The deck being built and what every slide draws with: titled slides on the template's
layouts, speaker notes, bullets, native bar charts (their data in an embedded workbook)
and native tables, and the words a slide says about a unit (an item, a dimension, a
segment cell)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from alignscan.render.formats import DASH, pct, qfmt, signed
from alignscan.render.html import COLOR_A, COLOR_B, text_on
from alignscan.render.office.sheets import HIDDEN, labels, text
from alignscan.result import findings
from alignscan.result.models import Dimension, Gap, Item, ResultDocument, Segment

Unit = Item | Dimension | Segment
EMU_PER_INCH = 914400
GREY = "#D9D9D9"
SERIES_COLORS = [COLOR_A, COLOR_B, "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]


def inches(value: float) -> int:
    return int(value * EMU_PER_INCH)


@dataclass
class Deck:
    """A presentation being built, with the result it shows."""

    prs: Any
    result: ResultDocument
    templated: bool

    @property
    def width(self) -> int:
        return int(self.prs.slide_width)

    @property
    def height(self) -> int:
        return int(self.prs.slide_height)

    def body(self, slide: Any) -> tuple[int, int, int, int]:
        """The free area below the slide's title: left, top, width, height."""
        margin = inches(0.5)
        title = slide.shapes.title
        top = int(title.top + title.height) + inches(0.15) if title is not None else margin
        top = min(max(top, inches(1.0)), self.height // 3)
        return margin, top, self.width - 2 * margin, self.height - top - inches(0.4)


def _layout(prs: Any, want_center_title: bool) -> Any:
    """A title-slide layout (centred title) or a "title only" one; else the closest."""
    from pptx.enum.shapes import PP_PLACEHOLDER as PH

    def kinds(layout: Any) -> set[Any]:
        return {ph.placeholder_format.type for ph in layout.placeholders}

    layouts = list(prs.slide_layouts)
    if want_center_title:
        found = [lo for lo in layouts if PH.CENTER_TITLE in kinds(lo)]
    else:
        extra = {PH.BODY, PH.OBJECT, PH.PICTURE, PH.CHART, PH.TABLE, PH.CENTER_TITLE}
        found = [lo for lo in layouts if PH.TITLE in kinds(lo) and not kinds(lo) & extra]
        found = found or [lo for lo in layouts if PH.TITLE in kinds(lo)]
    return (found or layouts)[0]


def new_slide(deck: Deck, title: str) -> Any:
    """A slide with `title`, other placeholders removed (nothing says "Click to add")."""
    from pptx.util import Pt

    slide = deck.prs.slides.add_slide(_layout(deck.prs, False))
    for ph in list(slide.placeholders):
        if ph.placeholder_format.idx != 0:
            ph._element.getparent().remove(ph._element)
    if slide.shapes.title is None:
        box = slide.shapes.add_textbox(
            inches(0.5), inches(0.3), deck.width - inches(1), inches(0.9)
        )
        box.text_frame.text = title
        box.text_frame.paragraphs[0].runs[0].font.size = Pt(28)
        return slide
    slide.shapes.title.text = title
    if not deck.templated:  # python-pptx's master is laid out for 4:3
        shape = slide.shapes.title
        shape.left, shape.top = inches(0.5), inches(0.3)
        shape.width, shape.height = deck.width - inches(1), inches(1.0)
        shape.text_frame.paragraphs[0].runs[0].font.size = Pt(30)
    return slide


def notes(slide: Any, lines: list[str]) -> None:
    """The speaker notes: the exact figures behind the slide."""
    slide.notes_slide.notes_text_frame.text = "\n".join(text(line) for line in lines)


def rgb(hex_color: str) -> Any:
    from pptx.dml.color import RGBColor

    return RGBColor.from_string(hex_color.lstrip("#"))


def bullets(slide: Any, box: tuple[int, int, int, int], lines: list[tuple[str, int, bool]]) -> None:
    """A text box of (text, size in pt, bold) paragraphs."""
    from pptx.util import Pt

    frame = slide.shapes.add_textbox(*box).text_frame
    frame.word_wrap = True
    for k, (line, size, bold) in enumerate(lines):
        para = frame.paragraphs[0] if k == 0 else frame.add_paragraph()
        run = para.add_run()
        run.text = text(line)
        run.font.size, run.font.bold = Pt(size), bold
        para.space_after = Pt(6)


def _chart_data(categories: list[str], series: list[tuple[str, list[Any]]], fmt: str) -> Any:
    """Chart data whose embedded workbook writes text as text (never a formula)."""
    from pptx.chart.data import CategoryChartData
    from pptx.chart.xlsx import CategoryWorkbookWriter
    from xlsxwriter import Workbook

    class SafeWriter(CategoryWorkbookWriter):  # type: ignore[misc]
        @contextmanager
        def _open_worksheet(self, xlsx_file: Any) -> Iterator[tuple[Any, Any]]:
            options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
            workbook = Workbook(xlsx_file, options)
            yield workbook, workbook.add_worksheet()
            workbook.close()

    class SafeData(CategoryChartData):  # type: ignore[misc]
        @property
        def _workbook_writer(self) -> Any:
            return SafeWriter(self)

    data = SafeData(number_format=fmt)
    data.categories = [text(c) for c in categories]
    for name, values in series:
        data.add_series(text(name), [None if v is HIDDEN else v for v in values])
    return data


def bar_chart(
    slide: Any,
    box: tuple[int, int, int, int],
    categories: list[str],
    series: list[tuple[str, list[Any]]],
    fmt: str,
) -> Any:
    """A clustered horizontal bar chart, categories top to bottom, values labelled."""
    from pptx.enum.chart import (
        XL_AXIS_CROSSES,
        XL_CHART_TYPE,
        XL_LEGEND_POSITION,
        XL_TICK_LABEL_POSITION,
    )
    from pptx.util import Pt

    data = _chart_data(categories, series, fmt)
    chart = slide.shapes.add_chart(XL_CHART_TYPE.BAR_CLUSTERED, *box, data).chart
    chart.has_legend = True
    chart.legend.position = XL_LEGEND_POSITION.TOP
    chart.legend.include_in_layout = False
    chart.category_axis.reverse_order = True  # the first category on top...
    chart.category_axis.crosses = XL_AXIS_CROSSES.MAXIMUM  # ...and the values below
    chart.category_axis.tick_label_position = XL_TICK_LABEL_POSITION.LOW
    chart.category_axis.tick_labels.font.size = Pt(11)
    chart.value_axis.tick_labels.font.size = Pt(10)
    chart.value_axis.tick_labels.number_format = fmt
    chart.value_axis.tick_labels.number_format_is_linked = False
    chart.value_axis.has_major_gridlines = False
    chart.value_axis.visible = False  # every bar carries its value
    plot = chart.plots[0]
    plot.gap_width, plot.overlap = 60, -10
    plot.has_data_labels = True
    plot.data_labels.number_format, plot.data_labels.number_format_is_linked = fmt, False
    plot.data_labels.font.size = Pt(11)
    for k, s in enumerate(chart.series):
        s.format.fill.solid()
        s.format.fill.fore_color.rgb = rgb(SERIES_COLORS[k % len(SERIES_COLORS)])
    return chart


def table(
    slide: Any,
    box: tuple[int, int, int, int],
    header: list[str],
    rows: list[list[str]],
    fills: list[list[str | None]] | None = None,
    size: int = 11,
    bold: list[list[bool]] | None = None,
) -> Any:
    """A native table: header row, then rows of text; `fills` colours body cells and
    `bold` marks them."""
    from pptx.util import Pt

    left, top, width, height = box
    row_height = min(inches(0.45), height // (len(rows) + 1))
    shape = slide.shapes.add_table(len(rows) + 1, len(header), left, top, width, row_height)
    grid = shape.table
    for r, values in enumerate([header, *rows]):
        grid.rows[r].height = row_height
        for c, value in enumerate(values):
            cell = grid.cell(r, c)
            cell.text = text(value)
            cell.margin_top = cell.margin_bottom = Pt(2)
            for para in cell.text_frame.paragraphs:
                for run in para.runs:
                    run.font.size = Pt(size)
                    run.font.bold = bool(bold and r and bold[r - 1][c])
            fill = fills[r - 1][c] if fills and r else None
            if fill:
                cell.fill.solid()
                cell.fill.fore_color.rgb = rgb(fill)
                for run in cell.text_frame.paragraphs[0].runs:
                    run.font.color.rgb = rgb(text_on(fill))
    return grid


def names(deck: Deck) -> tuple[str, str]:
    a, b = deck.result.compare
    label = labels(deck.result)
    return label[a], label[b]


def favorable(unit: Unit, group: str) -> Any:
    cell = unit.groups.get(group)
    return getattr(cell, "favorable", None) if findings.shown(cell) else HIDDEN


def pp(share: float | None) -> str:
    """A difference of shares in percentage points, one decimal: +5.4 pts."""
    return DASH if share is None else f"{share * 100:+.1f} pts"


def gap_words(gap: Gap | None) -> str:
    """A gap with its intervals and test, for the notes."""
    if gap is None:
        return "gap hidden (a group below the minimum size)"
    lo, hi = gap.mean_ci or (None, None)
    words = f"mean gap {signed(gap.mean)} (95% CI {signed(lo)} to {signed(hi)})"
    if gap.favorable is not None:
        flo, fhi = gap.favorable_ci or (None, None)
        words += f", favorable gap {pp(gap.favorable)} (95% CI {pp(flo)} to {pp(fhi)})"
    sig = "significant" if findings.significant(gap) else "not significant"
    return f"{words}, q {qfmt(gap.q_value)} ({sig}), {gap.magnitude}"


def unit_line(deck: Deck, title: str, unit: Unit) -> str:
    """One dimension or item in the notes: both groups' figures and the gap."""
    a, b = deck.result.compare
    la, lb = names(deck)
    parts = []
    for g, label in ((a, la), (b, lb)):
        cell: Any = unit.groups.get(g)
        if not findings.shown(cell):
            parts.append(f"{label} hidden")
        else:
            eff = cell.n_effective
            parts.append(
                f"{label} {pct(cell.favorable, 1)} favorable, mean "
                f"{signed(cell.mean, '.2f')}, n {cell.n}"
                + (f" (effective n {eff:.1f})" if eff is not None else "")
            )
    return f"{title}: {'; '.join(parts)}; {gap_words(unit.gap)}."
