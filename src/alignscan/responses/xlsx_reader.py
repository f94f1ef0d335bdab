"""The Excel (.xlsx) reader: every row of the sheet, whatever its stated dimensions,
with formula cells Excel never calculated reported as cell errors; workbooks that
declare XML entities are refused before any XML parser sees them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

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


def _refuse_entities(path: Path) -> None:
    """An .xlsx is a zip of XML parts; one that declares a DTD or entities is refused
    before any XML parser sees it (entity expansion, external entities)."""
    import zipfile

    file = str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.lower().endswith((".xml", ".rels", ".vml")):
                    continue
                with zf.open(info) as fh:
                    tail = b""
                    while chunk := fh.read(1 << 20):
                        if b"<!DOCTYPE" in (tail + chunk) or b"<!ENTITY" in (tail + chunk):
                            reason = (
                                f"the workbook part {info.filename} declares XML entities "
                                "(a DTD), which alignscan never reads: re-save it in Excel "
                                "or export CSV"
                            )
                            raise _xlsx_error(file, reason, ErrorKind.XML_ENTITIES)
                        tail = chunk[-16:]
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError):
        raise _xlsx_error(file, "the file is not a readable .xlsx workbook") from None


def _sheet_rows(
    file: str, wb: Any, ws: Any, limit: int | None = None
) -> list[tuple[int, list[Any]]]:
    """The non-empty rows of a sheet as (spreadsheet row, values), read in full whatever
    the sheet's stated dimensions; more than Excel's 1,048,576 rows is refused at once."""
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
    _refuse_entities(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a corrupt file
        raise _xlsx_error(file, "the file is not a readable .xlsx workbook") from None
    note = None
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            reason = f"no sheet named {sheet!r}; sheets: {', '.join(wb.sheetnames)}"
            raise ResponsesError(CellError(file, None, None, sheet, reason, ErrorKind.NO_SHEET))
        if sheet is not None:
            ws = wb[sheet]
        else:
            ws, note = _pick_sheet(file, wb, survey_columns)
        sparse = _sheet_rows(file, wb, ws)
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
