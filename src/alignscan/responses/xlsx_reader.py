"""The Excel (.xlsx) reader: every row of the sheet, whatever its stated dimensions,
with formula cells Excel never calculated reported as cell errors; workbooks that
declare XML entities are refused before any XML parser sees them."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from alignscan import limits
from alignscan.responses.coding import column_letter
from alignscan.responses.kinds import ErrorKind
from alignscan.responses.model import (
    CellError,
    RawTable,
    ResponsesError,
    SourceInfo,
    blank_rows,
)
from alignscan.responses.sniffing import detect_header_rows, header_hint, header_names


def _cell_text(value: object) -> str:
    if value is None or isinstance(value, _Unsaved):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[no-any-return]
    return str(value)


EXCEL_MAX_ROWS = 1_048_576
UNSAVED_FORMULA = "formula without a saved value: open and save the file in Excel, or export CSV"


class _Unsaved:
    """Stands for a formula cell whose value Excel never saved."""


def _xlsx_error(file: str, reason: str, kind: ErrorKind = ErrorKind.NOT_XLSX) -> ResponsesError:
    return ResponsesError(CellError(file, None, None, None, reason, kind))


def _too_large(file: str, reason: str, limit: Any) -> ResponsesError:
    return _xlsx_error(file, f"{reason}; {limit.hint()}", ErrorKind.TOO_LARGE)


def _refuse_entities(path: Path) -> int:
    """Check the archive before any XML parser sees it, and return the bytes its sheets
    and shared strings unfold to. Refused: a part larger, or compressed more, than the
    limits (a zip bomb); a sheet past Excel's rows or the column limit (counted from the
    raw XML, whatever its <dimension> says); any DTD or entity declaration."""
    import zipfile

    file = str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if _is_xml(i.filename)]
            for info in infos:  # a <dimension> past Excel's limits: refused at once
                if _is_sheet(info.filename):
                    with zf.open(info) as fh:
                        _check_dimension(file, info.filename, fh.read(4096))
            unfolded = _check_sizes(file, infos)
            for info in infos:
                with zf.open(info) as fh:
                    _scan_part(file, info.filename, fh)
    except ResponsesError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError):
        raise _xlsx_error(file, "the file is not a readable .xlsx workbook") from None
    return unfolded


def _is_xml(name: str) -> bool:
    return name.lower().endswith((".xml", ".rels", ".vml"))


def _is_sheet(name: str) -> bool:
    return name.lower().startswith("xl/worksheets/") and name.lower().endswith(".xml")


def _check_sizes(file: str, infos: list[Any]) -> int:
    """Refuse a part that unfolds past the limits, from the archive's directory alone;
    return the unfolded size of the sheets and shared strings."""
    part_max, ratio_max = limits.XLSX_PART_MB.value(), limits.XLSX_RATIO.value()
    strings_max = limits.SHARED_STRINGS_MB.value()
    unfolded = 0
    for info in infos:
        name, size = info.filename, info.file_size
        if size > part_max:
            reason = f"the workbook part {name} unfolds to {size:,} bytes (limit {part_max:,})"
            raise _too_large(file, reason, limits.XLSX_PART_MB)
        ratio = size / max(info.compress_size, 1)
        if size > limits.RATIO_FLOOR and ratio > ratio_max:
            reason = (
                f"the workbook part {name} is compressed {ratio:,.0f} to 1 ({size:,} bytes "
                f"from {info.compress_size:,}; limit {ratio_max} to 1): a zip bomb?"
            )
            raise _too_large(file, reason, limits.XLSX_RATIO)
        shared = name.lower().endswith("sharedstrings.xml")
        if shared and size > strings_max:
            reason = f"the workbook's shared strings take {size:,} bytes (limit {strings_max:,})"
            raise _too_large(file, reason, limits.SHARED_STRINGS_MB)
        if shared or _is_sheet(name):
            unfolded += size
    return unfolded


_ROW_TAGS = (b"<row ", b"<row>", b"<row/", b":row ", b":row>", b":row/")
_BIG_ROW = re.compile(rb'r="(\d{7,})"')  # a row number of 7+ digits (cells are "A123")
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*\bref="[A-Z]*\d*:?([A-Z]*)(\d*)"')
_WIDE_CELL = re.compile(rb'r="([A-Z]{3,})\d')  # a cell past column ZZ


def _scan_part(file: str, name: str, fh: Any) -> None:
    """Stream one part: refuse entity declarations and, in a sheet, rows past Excel's
    limit or columns past the limit (counted from the rows themselves)."""
    sheet, tail, rows = _is_sheet(name), b"", 0
    while chunk := fh.read(1 << 20):
        buf = tail + chunk
        if b"<!DOCTYPE" in buf or b"<!ENTITY" in buf:
            reason = (
                f"the workbook part {name} declares XML entities (a DTD), which alignscan "
                "never reads: re-save it in Excel or export CSV"
            )
            raise _xlsx_error(file, reason, ErrorKind.XML_ENTITIES)
        cut = buf.rfind(b"<", max(0, len(buf) - 4096)) if sheet else len(buf) - 16
        cut = len(buf) if cut < 0 else cut  # a tag is never split, the tail stays small
        body, tail = buf[:cut], buf[cut:]
        if sheet:
            rows = _count_rows(file, name, body, rows)
    if sheet:
        _count_rows(file, name, tail, rows)


def _check_dimension(file: str, name: str, head: bytes) -> None:
    """The sheet's own <dimension> (near its start), if it states too many rows or columns."""
    dim = _DIMENSION.search(head.split(b"<sheetData", 1)[0])
    if dim:
        _check_extent(file, name, _column_number(dim.group(1)), int(dim.group(2) or 0))


def _count_rows(file: str, name: str, body: bytes, rows: int) -> int:
    """The rows counted after `body` (its row tags; any row numbered past Excel's limit is
    refused), and any cell past the column limit. Counted in C, not parsed."""
    rows += sum(body.count(tag) for tag in _ROW_TAGS)
    numbered = max((int(m) for m in _BIG_ROW.findall(body)), default=0)
    _check_extent(file, name, 0, max(rows, numbered))
    widest = max((_column_number(m) for m in _WIDE_CELL.findall(body)), default=0)
    _check_extent(file, name, widest, 0)
    return rows


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _check_extent(file: str, name: str, columns: int, rows: int) -> None:
    sheet = name.rsplit("/", 1)[-1]
    if rows > EXCEL_MAX_ROWS:
        reason = f"sheet {sheet} has more than {EXCEL_MAX_ROWS:,} rows (the most Excel allows)"
        raise _xlsx_error(file, reason, ErrorKind.TOO_MANY_ROWS)
    most = limits.COLUMNS.value()
    if columns > most:
        reason = f"sheet {sheet} has {columns:,} columns (limit {most:,})"
        raise _too_large(file, reason, limits.COLUMNS)


def _check_shared_strings(file: str, wb: Any) -> None:
    """A shared string longer than Excel ever saves is refused before any cell uses it."""
    sheets = wb.worksheets  # read-only sheets share the workbook's one list
    strings = (getattr(sheets[0], "_shared_strings", None) if sheets else None) or []
    longest = max(map(len, strings), default=0)
    if longest > limits.EXCEL_MAX_CELL_CHARS:
        reason = (
            f"a shared string has {longest:,} characters; Excel saves at most "
            f"{limits.EXCEL_MAX_CELL_CHARS:,} in a cell (a crafted workbook?)"
        )
        raise _xlsx_error(file, reason, ErrorKind.TOO_LARGE)


def _sheet_rows(
    file: str, wb: Any, ws: Any, limit: int | None = None, text_budget: int | None = None
) -> list[tuple[int, list[Any]]]:
    """The non-empty rows of a sheet as (spreadsheet row, values), read in full whatever
    the sheet's stated dimensions; more than Excel's 1,048,576 rows is refused at once, and
    so is more cell text than `text_budget` characters (cells repeating a long shared
    string would unfold without bound when copied into columns)."""
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    class Parser(WorkSheetParser):  # type: ignore[misc]
        def parse_cell(self, element: Any) -> dict[str, Any]:
            cell: dict[str, Any] = super().parse_cell(element)
            if element.find(FORMULA_TAG) is not None and _no_saved_value(element):
                cell["value"] = _Unsaved()
            return cell

    ws.reset_dimensions()  # never trust <dimension>: it may under-state the rows
    out: list[tuple[int, list[Any]]] = []
    with ws._get_source() as src:
        parser = Parser(
            src,
            ws._shared_strings,
            data_only=True,
            epoch=wb.epoch,
            date_formats=wb._date_formats,
            timedelta_formats=wb._timedelta_formats,
        )
        for idx, cells in parser.parse():
            if idx > EXCEL_MAX_ROWS:
                reason = f"sheet {ws.title!r} has more than {EXCEL_MAX_ROWS:,} rows (Excel's limit)"
                reason = reason.replace("(Excel's limit)", "(the most Excel allows)")
                raise _xlsx_error(file, reason, ErrorKind.TOO_MANY_ROWS)
            if text_budget is not None:
                text_budget -= sum(len(c["value"]) for c in cells if type(c["value"]) is str)
                if text_budget < 0:
                    _refuse_text(file, ws.title)
            width = max((c["column"] for c in cells if c["column"] <= 16_384), default=0)
            values: list[Any] = [None] * width
            for c in cells:
                if c["column"] <= width:
                    values[c["column"] - 1] = c["value"]
            if any(v is not None and v != "" for v in values):
                out.append((idx, values))
            if limit is not None and len(out) >= limit:
                break
    return out


def _text_budget(unfolded: int) -> int:
    """Characters of cell text a sheet may hold: twice what its XML unfolds to, plus
    64 Mi (a cell's text is rarely longer than the XML naming it), unless set."""
    if os.environ.get(limits.XLSX_TEXT_MB.env, "").strip():
        return limits.XLSX_TEXT_MB.value()
    return 2 * unfolded + limits.XLSX_TEXT_MB.value()


def _refuse_text(file: str, title: str) -> None:
    reason = (
        f"the cells of sheet {title!r} hold far more text than the workbook stores (cells "
        "repeating one long shared string)"
    )
    raise _too_large(file, reason, limits.XLSX_TEXT_MB)


def _no_saved_value(element: Any) -> bool:
    """A formula cell Excel never calculated: no <v>, or an empty one on a non-text cell
    (an empty text result is saved as t="str" with an empty <v>)."""
    from openpyxl.worksheet._reader import VALUE_TAG

    value = element.findtext(VALUE_TAG)
    return value is None or (value == "" and element.get("t") not in ("str", "s", "inlineStr"))


def _pick_sheet(file: str, wb: Any, survey_columns: set[str]) -> tuple[Any, str | None]:
    """The first sheet, or, when it holds none of the survey's columns and exactly one
    other sheet does, that sheet (with a note saying so)."""

    def has_columns(ws: Any) -> bool:
        top = _sheet_rows(file, wb, ws, limit=30)
        return any(set(map(_cell_text, row)) & survey_columns for _, row in top)

    first = wb.worksheets[0]
    if len(wb.worksheets) == 1 or has_columns(first):
        return first, None
    matches = [ws for ws in wb.worksheets[1:] if has_columns(ws)]
    if len(matches) != 1:
        return first, None
    note = (
        f"the first sheet {first.title!r} has none of the survey's columns; "
        f"read sheet {matches[0].title!r} instead (name a sheet to read another)"
    )
    return matches[0], note


def read_xlsx(
    path: Path,
    survey_columns: set[str],
    sheet: str | None,
    header_rows: int | None,
    *,
    skip: int = 0,
    questions: frozenset[str] = frozenset(),
) -> RawTable:
    from openpyxl import load_workbook

    file = str(path)
    budget = _text_budget(_refuse_entities(path))
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a corrupt file
        raise _xlsx_error(file, "the file is not a readable .xlsx workbook") from None
    note = None
    try:
        _check_shared_strings(file, wb)
        if sheet is not None and sheet not in wb.sheetnames:
            reason = f"no sheet named {sheet!r}; sheets: {', '.join(wb.sheetnames)}"
            raise ResponsesError(CellError(file, None, None, sheet, reason, ErrorKind.NO_SHEET))
        if sheet is not None:
            ws = wb[sheet]
        else:
            ws, note = _pick_sheet(file, wb, survey_columns)
        sparse = _sheet_rows(file, wb, ws, text_budget=budget)
        sheet_name = ws.title
    except ResponsesError:
        raise
    except Exception:  # a damaged sheet part
        raise _xlsx_error(file, "the file is not a readable .xlsx workbook") from None
    finally:
        wb.close()
    if not sparse:
        raise ResponsesError(
            CellError(file, None, None, None, "the sheet is empty", ErrorKind.EMPTY_FILE)
        )
    raw = _xlsx_raw(file, sparse, survey_columns, header_rows, skip, questions, sheet_name)
    if note:
        raw.notes.append(note)
    return raw


def _xlsx_raw(
    file: str,
    sparse: list[tuple[int, list[Any]]],
    survey_columns: set[str],
    header_rows: int | None,
    skip: int,
    questions: frozenset[str],
    sheet_name: str,
) -> RawTable:
    """Sparse sheet rows -> the reader's columns; formula cells without a saved value
    are listed as cell errors."""
    import pyarrow as pa

    by_row = dict(sparse)
    top = [[_cell_text(v) for v in by_row.get(r, [])] for r in range(1, 31)]
    head = top[skip : skip + 4]
    detected_rows, tool = detect_header_rows(head, questions)
    n_header = header_rows if header_rows is not None else detected_rows
    names = header_names(head, n_header, tool if header_rows is None else None)
    width = len(names)
    while width and not names[width - 1]:
        width -= 1  # trailing empty header cells of a formatted sheet
    names = names[:width]
    first_data = skip + n_header + 1
    ragged, kept_rows, kept = [], [], []
    unsaved: list[tuple[int, int]] = []
    for row, values in sparse:
        if row < first_data:
            continue
        rec = [_cell_text(v) for v in values]
        extra = [c for c in rec[width:] if c.strip()]
        if extra:
            ragged.append((row, width, width + len(extra)))
            continue
        unsaved += [(row, j) for j, v in enumerate(values[:width]) if isinstance(v, _Unsaved)]
        kept_rows.append(row)
        kept.append(rec[:width] + [""] * (width - len(rec)))
    columns = {}
    for j, name in enumerate(names):
        arr = pa.array([rec[j] for rec in kept], type=pa.string())
        columns[j] = arr.dictionary_encode() if name in survey_columns else arr
    source = SourceInfo(
        file=file,
        format="xlsx",
        header_rows=n_header,
        export_tool=tool if header_rows is None else None,
        sheet=sheet_name,
    )
    raw = RawTable(
        names,
        columns,
        np.asarray(kept_rows, dtype=np.int64),
        source,
        ragged,
        blank_rows(columns, len(kept)),
        first_row=skip + 1,
    )
    raw.unsaved = [(r, names[j] or f"column {column_letter(j)}") for r, j in unsaved]
    raw.header_hint = header_hint(top, survey_columns, skip)
    return raw
