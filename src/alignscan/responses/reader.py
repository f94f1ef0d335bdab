"""The entry point: `read_responses` picks the reader by the file's kind (CSV, Excel,
Parquet), then validates. Progress goes to an optional callback, never to the screen."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alignscan.responses import csv_reader, parquet_reader, xlsx_reader
from alignscan.responses.kinds import ErrorKind
from alignscan.responses.model import CellError, RawTable, ResponsesError, ResponseSet
from alignscan.responses.sniffing import question_texts
from alignscan.responses.validation import validate
from alignscan.survey import Survey

Progress = Callable[[str, float], None]
"""progress(stage, done): stage "reading", "coding" or "done"; done from 0.0 to 1.0."""

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary Office formats (.xls)
XLS = (".xls", ".xlsx", ".xlsm")
ENGINES = ("default", "duckdb")


def read_responses(
    path: str | Path,
    survey: Survey,
    *,
    lenient: bool = False,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_rows: int | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
    progress: Progress | None = None,
    engine: str = "default",
) -> ResponseSet:
    """Read, code and validate one export. Never raises for bad data: problems are
    returned in `ResponseSet.errors` (strict) or counted as changes (lenient).
    A file that can't be read at all raises ResponsesError. `header_row` is the
    spreadsheet row of the header when title rows sit above it (1 = the first row).
    `engine="duckdb"` lets DuckDB read the file (see `duckdb_reader`); results and
    error reports are the default engine's.
    """
    path = check_path(path)
    report = progress or (lambda stage, done: None)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; engines: {', '.join(ENGINES)}")
    args = (path, survey, delimiter, sheet, header_rows, encoding, header_row)
    report("reading", 0.0)
    by_duckdb = _read_duckdb(*args) if engine == "duckdb" else None
    raw = by_duckdb or _read_raw(*args)
    report("coding", 0.5)
    result = validate(raw, survey, lenient)
    if by_duckdb is not None and result.errors:
        # DuckDB numbers records, not lines: the error report comes from the default reader
        result = validate(_read_raw(*args), survey, lenient)
    report("done", 1.0)
    return result


def _read_duckdb(
    path: Path,
    survey: Survey,
    delimiter: str | None,
    sheet: str | None,
    header_rows: int | None,
    encoding: str | None,
    header_row: int | None,
) -> RawTable | None:
    """The file read by DuckDB, or None when DuckDB can't read it as sniffed (the
    default reader then reads it, and reports why if it can't either)."""
    from alignscan.responses import duckdb_reader as ddb

    if not ddb.duckdb_available():
        reason = "the duckdb engine needs the duckdb package: pip install 'alignscan[duckdb]'"
        raise ResponsesError(CellError(str(path), None, None, None, reason, ErrorKind.NO_ENGINE))
    with path.open("rb") as fh:
        magic = fh.read(8)
    keep = keep_columns(survey)
    try:
        if parquet_reader.is_parquet(path, magic):
            return ddb.read_parquet_duckdb(path, keep)
        if magic[:4] == b"PK\x03\x04" or magic == OLE_MAGIC or path.suffix.lower() in XLS:
            return None  # workbooks: the default reader
        survey_columns = {*(i.source_column for i in survey.items), survey.roles.column}
        survey_columns |= set(survey.segments)
        skip = max(0, (header_row or 1) - 1)
        return ddb.read_csv_duckdb(
            path,
            survey_columns,
            keep,
            delimiter,
            header_rows,
            encoding,
            skip=skip,
            questions=question_texts(survey),
        )
    except ddb.Unsupported:
        return None


def keep_columns(survey: Survey) -> set[str]:
    """Every column validation looks at: items, role, segments, id, comments."""
    keep = {i.source_column for i in survey.items} | {survey.roles.column, *survey.segments}
    keep |= {*filter(None, [survey.respondent_id])}
    return keep | {c.source_column for c in survey.comments}


def check_path(path: str | Path) -> Path:
    """The path of an existing file, or ResponsesError (not found, a directory)."""
    path = Path(path)
    file = str(path)
    if not path.exists():
        raise ResponsesError(CellError(file, None, None, None, "no such file", ErrorKind.NOT_FOUND))
    if path.is_dir():
        raise ResponsesError(
            CellError(file, None, None, None, "is a directory", ErrorKind.NOT_FOUND)
        )
    return path


def dictionary_columns(survey: Survey) -> set[str]:
    """The columns read dictionary-encoded (few distinct texts): items, role, segments."""
    return {*(item.source_column for item in survey.items), survey.roles.column, *survey.segments}


def file_kind(path: Path) -> str:
    """The kind of file: "parquet", "xlsx" or "csv", by its first bytes and suffix; the .xls
    format (the old one) raises ResponsesError."""
    with path.open("rb") as fh:
        magic = fh.read(8)
    if magic == OLE_MAGIC or path.suffix.lower() == ".xls":
        reason = "the old .xls format is not supported: save as .xlsx or CSV"
        raise ResponsesError(CellError(str(path), None, None, None, reason, ErrorKind.NOT_TEXT))
    if parquet_reader.is_parquet(path, magic):
        return "parquet"
    is_xlsx = path.suffix.lower() in (".xlsx", ".xlsm")
    if is_xlsx or (magic[:4] == b"PK\x03\x04" and path.suffix.lower() != ".csv"):
        return "xlsx"
    return "csv"


def _read_raw(
    path: Path,
    survey: Survey,
    delimiter: str | None,
    sheet: str | None,
    header_rows: int | None,
    encoding: str | None,
    header_row: int | None,
) -> RawTable:
    """The parsed file, by the reader its kind needs."""
    survey_columns = dictionary_columns(survey)
    options: dict[str, Any] = {
        "skip": max(0, (header_row or 1) - 1),
        "questions": question_texts(survey),
    }
    kind = file_kind(path)
    if kind == "parquet":
        return parquet_reader.read_parquet(path, keep_columns(survey))
    if kind == "xlsx":
        return xlsx_reader.read_xlsx(path, survey_columns, sheet, header_rows, **options)
    return csv_reader.read_csv(path, survey_columns, delimiter, header_rows, encoding, **options)
