"""Untrusted text leaving alignscan: to a terminal and to CSV files.

Survey texts, column names, answers, segment values and comments come from files a
user did not write. `terminal` makes them inert for rich (markup, emoji codes) and for
the terminal itself (escape sequences, bidi overrides); `csv_cell` is the one formula
guard for every CSV alignscan writes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

# C0 and C1 controls, DEL, and the bidi embedding/override/isolate/mark characters.
_CONTROLS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_SPACES = re.compile("[\t\n\r]")
# A cell a spreadsheet would run as a formula: = + - @ (also full-width), TAB, CR.
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def strip_controls(text: str) -> str:
    """`text` without control and bidi characters; tabs and newlines become spaces."""
    return _CONTROLS.sub("", _SPACES.sub(" ", text))


def terminal(text: object) -> str:
    """Untrusted text made safe to print with rich markup on a terminal."""
    from rich.markup import escape

    return escape(strip_controls(str(text)))


def csv_cell(value: Any) -> str:
    """A text cell for a CSV file, neutralised (leading ') when a spreadsheet would read
    it as a formula. Numbers, and text that is just a number (`-1`), stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    if _NUMBER.fullmatch(text):
        return text
    # Compatibility forms (small or superscript "=", full-width "＋") read as formula
    # signs once normalised, as spreadsheets and their import filters do.
    if text.startswith(FORMULA_START) or unicodedata.normalize("NFKC", text).startswith(
        FORMULA_START
    ):
        return "'" + text
    return text


_QUOTE_IF = re.compile('[\r\n\t",]')


def _field(cell: str) -> str:
    """One CSV field: quoted when it holds CR, LF, TAB, a quote or the comma. The csv
    module's minimal quoting leaves a lone CR bare with a "\n" line end, and Excel (like
    `csv.reader`) starts a new row there."""
    if _QUOTE_IF.search(cell):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def csv_text(rows: Iterable[Iterable[Any]], *, bom: bool = False, crlf: bool = False) -> str:
    """Rows as CSV text, every cell through `csv_cell`: the one CSV writer of alignscan."""
    end = "\r\n" if crlf else "\n"
    lines = []
    for row in rows:
        cells = [_field(csv_cell(v)) for v in row]
        lines.append('""' if cells == [""] else ",".join(cells))  # a lone empty cell
    return ("\ufeff" if bom else "") + "".join(line + end for line in lines)
