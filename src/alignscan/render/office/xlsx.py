"""The result as a formatted Excel workbook (`--xlsx`), written with XlsxWriter.

One sheet per level (see `render.office.sheets`), numbers as numbers with number formats,
frozen header rows, filters, and a README sheet explaining every column. Text from the
survey and the responses is always written as a string, never as a formula: XlsxWriter's
formula, URL and number conversions are off, and a text that would start a formula
(after NFKC normalisation) also gets Excel's quote prefix, so editing it keeps it text.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from typing import Any

from alignscan.render.office.sheets import (
    HIDDEN,
    OFFICE_EXTRA,
    Fig,
    OfficeUnavailable,
    Table,
    workbook_tables,
)
from alignscan.render.office.sheets import text as plain
from alignscan.result.models import ResultDocument, as_result
from alignscan.textsafe import FORMULA_START

FORMATS = {
    "text": {},
    "int": {"num_format": "#,##0"},
    "dec": {"num_format": "0.00"},
    "signed": {"num_format": "+0.00;-0.00;0.00"},
    "pct": {"num_format": "0.0%"},
    "pp": {"num_format": "+0.0%;-0.0%;0.0%"},
    "p": {"num_format": "0.0000"},
}
WIDTHS = {"text": 14, "int": 10, "dec": 9, "signed": 10, "pct": 10, "pp": 11, "p": 9}
MAX_TEXT_WIDTH = 60
# The HTML heatmap's colours (render.html's HEAT_MORE / HEAT_LESS; html is a sibling layer,
# so they are repeated here and a test keeps them equal).
HEAT_MORE, HEAT_LESS = (179, 88, 6), (84, 39, 136)


def formula_like(value: str) -> bool:
    """True when a spreadsheet could read the text as a formula: it starts with = + - @
    (or a TAB/CR), also after NFKC folds full-width signs to ASCII."""
    folded = unicodedata.normalize("NFKC", value).lstrip(" ")
    return value.startswith(FORMULA_START) or folded.startswith(FORMULA_START)


class _Writer:
    """Cell formats of one workbook, and how each kind of value is written."""

    def __init__(self, book: Any) -> None:
        self.book = book
        self.fmt = {k: book.add_format(v) for k, v in FORMATS.items()}
        head = {"bold": True, "bg_color": "#DDE4EE", "text_wrap": True}
        self.header = book.add_format(head)
        self.header_quoted = book.add_format({**head, "quote_prefix": True})
        self.hidden = book.add_format({"italic": True, "font_color": "#6E6E6E", "align": "right"})
        self.quoted = book.add_format({"quote_prefix": True})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})

    def head(self, sheet: Any, col: int, name: str) -> None:
        """A header cell (a dimension title in the heatmap is survey text too)."""
        name = plain(name)
        sheet.write_string(0, col, name, self.header_quoted if formula_like(name) else self.header)

    def cell(self, sheet: Any, row: int, col: int, value: Any, kind: str) -> None:
        if isinstance(value, Fig):
            value, kind = value.value, value.kind
        if value is HIDDEN:
            sheet.write_string(row, col, "hidden", self.hidden)
        elif value is None:
            sheet.write_blank(row, col, None)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            text = plain(value)
            sheet.write_string(row, col, text, self.quoted if formula_like(text) else None)
        else:
            sheet.write_number(row, col, value, self.fmt[kind if kind != "text" else "dec"])


def _width(table: Table, col: int) -> float:
    """A column width that fits its header and (up to a limit) its text."""
    kind = table.cols[col].kind
    longest = max((len(str(r[col])) for r in table.rows if isinstance(r[col], str)), default=0)
    header = min(len(table.cols[col].name) + 2, 24)
    return min(MAX_TEXT_WIDTH, max(WIDTHS[kind], header, longest + 1 if kind == "text" else 0))


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgb)


def _heat(sheet: Any, table: Table) -> None:
    """A diverging colour scale on the gap columns, in the HTML heatmap's colours (one
    colour above 0, the other below, white at 0); hidden cells are text and stay white."""
    last = len(table.rows)
    if not last:
        return
    for col in table.heat:
        sheet.conditional_format(
            1,
            col,
            last,
            col,
            {
                "type": "3_color_scale",
                "min_color": _hex(HEAT_LESS),
                "mid_type": "num",
                "mid_value": 0,
                "mid_color": "#FFFFFF",
                "max_color": _hex(HEAT_MORE),
            },
        )


def _sheet(w: _Writer, table: Table) -> None:
    sheet = w.book.add_worksheet(table.name)
    for c, col in enumerate(table.cols):
        w.head(sheet, c, col.name)
        sheet.set_column(c, c, _width(table, c))
    for r, row in enumerate(table.rows, start=1):
        for c, value in enumerate(row):
            w.cell(sheet, r, c, value, table.cols[c].kind)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(table.rows), 1), len(table.cols) - 1)
    _heat(sheet, table)


def _readme(w: _Writer, tables: list[Table]) -> None:
    """What every sheet and column means; how hidden cells and formats read."""
    sheet = w.book.add_worksheet("README")
    lines = [
        ["sheet", "column", "meaning"],
        ["", "", "Numbers are numbers: change a cell's format to see more decimals."],
        ["", "", '"hidden": suppressed to protect a group below the minimum group size.'],
        ["", "", "An empty cell: the figure does not exist (e.g. no second wave)."],
    ]
    for t in tables:
        lines.append([t.name, "", t.about])
        lines += [[t.name, col.name, col.doc] for col in t.cols]
    for r, line in enumerate(lines):
        for c, value in enumerate(line):
            if r == 0:
                w.head(sheet, c, value)
            else:
                w.cell(sheet, r, c, value, "text")
    sheet.set_column(0, 0, 14)
    sheet.set_column(1, 1, 26)
    sheet.set_column(2, 2, 90, w.wrap)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(lines) - 1, 2)


def _properties(result: ResultDocument) -> dict[str, Any]:
    """Document properties; created on the report date when there is one, so the same
    dated result gives the same bytes."""
    props: dict[str, Any] = {"title": "alignscan result", "comments": "Written by alignscan"}
    try:
        props["created"] = dt.datetime.fromisoformat(str(result.report_date))
    except ValueError:
        pass
    return props


def render_xlsx(result: ResultDocument | dict[str, Any]) -> bytes:
    """The workbook as bytes: README, then one sheet per table of `render.office.sheets`."""
    result = as_result(result)
    try:
        import xlsxwriter
    except ImportError as exc:
        raise OfficeUnavailable(f"--xlsx needs XlsxWriter: {OFFICE_EXTRA} ({exc})") from None
    out = io.BytesIO()
    options = {
        "in_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
    }
    book = xlsxwriter.Workbook(out, options)
    book.set_properties(_properties(result))
    writer = _Writer(book)
    tables = workbook_tables(result)
    _readme(writer, tables)
    for table in tables:
        _sheet(writer, table)
    book.close()
    return out.getvalue()
