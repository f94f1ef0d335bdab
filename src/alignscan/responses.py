"""Responses: read survey exports (CSV / Excel), code answers into scale codes and
validate every cell, collecting all problems at once.

The reader is vectorised: pyarrow parses the file with every survey column read as a
dictionary-encoded string, so each distinct answer text is coded once and the codes
of a million rows are one array lookup. Row numbers in errors are the rows a person
sees in a spreadsheet (the header is row 1).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import io
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alignscan.survey import Survey, normalise

BLANK_SEGMENT = "(blank)"
SAMPLE_BYTES = 256 * 1024
LARGE_FILE_BYTES = 50 * 1024 * 1024
BLOCK_SIZE = 1 << 24  # bytes pyarrow parses per thread task
MAX_LISTED_ERRORS = 1_000_000  # beyond this, errors are counted by kind, not listed


@dataclass(frozen=True)
class CellError:
    """One rejected value. `row` is the spreadsheet row (header = row 1); None for file-level."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    reason: str
    kind: str  # machine-readable reason code, e.g. "out_of_range", "unknown_role"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
            "kind": self.kind,
        }


@dataclass
class SourceInfo:
    file: str
    format: str  # "csv" | "xlsx"
    encoding: str | None = None
    delimiter: str | None = None
    header_rows: int = 1
    export_tool: str | None = None  # "qualtrics" | "surveymonkey" | None
    sheet: str | None = None

    def describe(self) -> str:
        if self.format == "xlsx":
            text = f"Excel workbook, sheet {self.sheet!r}"
        else:
            names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
            delim = names.get(self.delimiter or ",", repr(self.delimiter))
            text = f"CSV, {self.encoding}, {delim}-separated"
        if self.export_tool:
            text += f", {self.export_tool} export"
        if self.header_rows != 1:
            text += f", {self.header_rows} header rows"
        return text


@dataclass
class RowCounts:
    read: int
    used: int
    excluded: dict[str, int] = field(default_factory=dict)  # reason -> rows

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())


@dataclass(frozen=True)
class Labels:
    """A categorical column: integer codes into `categories` (-1 = no category).

    The same `.codes` / `.categories` interface as a pandas Categorical, without pandas."""

    codes: np.ndarray
    categories: list[str]

    @classmethod
    def from_codes(cls, codes: np.ndarray, categories: list[str]) -> Labels:
        return cls(np.asarray(codes, dtype=np.int32), list(categories))

    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self):  # type: ignore[no-untyped-def]
        names = np.asarray([*self.categories, None], dtype=object)
        return iter(names[self.codes].tolist())

    def counts(self) -> np.ndarray:
        return np.bincount(self.codes[self.codes >= 0], minlength=len(self.categories))


@dataclass
class ResponseSet:
    """Validated, coded responses: one row per used respondent.

    codes: int8 array (rows x items, survey item order) of scale positions 1..points
           (position = code - scale.start + 1; equal to the code when start is 1),
           0 = not answered. Reverse-keyed items are NOT recoded here (analysis does that).
    group: role group name per row (categories = survey.roles.groups order).
    segments: segment column -> value per row; blank values are "(blank)".
    comments: comment id -> text per row ("" when blank).
    """

    survey: Survey
    source: SourceInfo
    codes: np.ndarray
    item_ids: list[str]
    group: Labels
    segments: dict[str, Labels]
    comments: dict[str, np.ndarray]
    rows: RowCounts
    cells_set_missing: dict[str, int] = field(default_factory=dict)  # lenient: reason -> cells
    errors: list[CellError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error_counts: dict[str, int] = field(default_factory=dict)  # kind -> count (all errors)
    unknown_roles: dict[str, int] = field(default_factory=dict)  # distinct unknown role -> rows
    unlisted_errors: dict[str, int] = field(default_factory=dict)  # kind -> errors not listed
    respondent_ids: Any = None  # pyarrow array: the used rows' ids (survey.respondent_id)

    @property
    def ok(self) -> bool:
        return not self.errors

    def answered_share(self) -> dict[str, float]:
        """Share of used rows that answered each item."""
        if self.codes.shape[0] == 0:
            return {item: 0.0 for item in self.item_ids}
        share = (self.codes > 0).mean(axis=0)
        return {item: float(s) for item, s in zip(self.item_ids, share, strict=True)}

    def group_sizes(self) -> dict[str, int]:
        counts = np.bincount(
            np.asarray(self.group.codes)[np.asarray(self.group.codes) >= 0],
            minlength=len(self.group.categories),
        )
        return {str(g): int(n) for g, n in zip(self.group.categories, counts, strict=True)}


class ResponsesError(Exception):
    """A file that can't be read at all (not found, not text, empty...)."""

    def __init__(self, error: CellError):
        self.error = error
        super().__init__(error.reason)


# ----------------------------------------------------------------------------- sniffing


def _detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # a multi-byte character may be cut at the end of the sample
        sample.decode("utf-8") if len(sample) < SAMPLE_BYTES else sample[:-4].decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample[:65536]).best()
    encoding = (best.encoding if best else None) or "cp1252"
    # Short samples make single-byte code pages hard to tell apart; exports from Excel
    # on Windows are overwhelmingly Windows-1252, so prefer it whenever it fits.
    if _single_byte(encoding):
        try:
            sample.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass
    return encoding


def _single_byte(encoding: str) -> bool:
    """True for a one-byte-per-character code page (cp775, hp_roman8, latin-1...)."""
    try:
        if codecs.lookup(encoding).name.startswith("utf"):
            return False
        return len(bytes(range(256)).decode(encoding, errors="replace")) == 256
    except LookupError:
        return False


def _looks_binary(sample: bytes, encoding: str) -> bool:
    if encoding == "utf-16":
        return False
    if sample.startswith(b"PK\x03\x04"):
        return True
    return b"\x00" in sample[:8192]


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines most consistently: , ; tab or |."""
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", -1.0
    for delim in (",", ";", "\t", "|"):
        try:
            rows = list(csv.reader(io.StringIO("\n".join(lines[:10])), delimiter=delim))
        except csv.Error:
            continue
        widths = [len(r) for r in rows if r]
        if not widths or widths[0] < 2:
            continue
        consistent = sum(w == widths[0] for w in widths) / len(widths)
        score = consistent * 1000 + widths[0]
        if score > best_score:
            best, best_score = delim, score
    return best


GENERIC_SUBHEADERS = ("Response", "Open-Ended Response")  # SurveyMonkey's second header row


def _detect_header_rows(
    rows: list[list[str]], questions: frozenset[str] = frozenset()
) -> tuple[int, str | None]:
    """Extra header rows of known export tools: Qualtrics (3 rows), SurveyMonkey (2), and
    the question-text row of `alignscan template` (2)."""
    if len(rows) >= 3 and any(c.strip().startswith('{"ImportId"') for c in rows[2]):
        return 3, "Qualtrics"
    if len(rows) >= 2:
        second = {c.strip() for c in rows[1]}
        if second & set(GENERIC_SUBHEADERS):
            return 2, "SurveyMonkey"
        if _is_question_row(rows[1], questions):
            return 2, None
    return 1, None


def _header_hint(rows: list[list[str]], survey_columns: set[str], skip: int) -> int | None:
    """When the header row holds none of the survey's columns, the first row (1-based) in
    `rows` that does: the likely `--header-row` of an export with title rows."""
    header = rows[skip] if len(rows) > skip else []
    if {c.strip() for c in header} & survey_columns:
        return None
    for k, row in enumerate(rows[:30]):
        if len({c.strip() for c in row} & survey_columns) >= 2:
            return k + 1
    return None


def question_texts(survey: Survey) -> frozenset[str]:
    """The survey's item texts, normalised: what the template's second header row holds."""
    return frozenset(normalise(i.text) for i in survey.items)


def _header_names(rows: list[list[str]], header_rows: int, tool: str | None) -> list[str]:
    """Column names from the header row; for SurveyMonkey's two-row header, the question
    (carried over the blank cells of a matrix) joined with its sub-question or option."""
    names = [c.strip() for c in rows[0]] if rows else []
    if tool == "SurveyMonkey" and header_rows >= 2 and len(rows) >= 2:
        merged, question = [], ""
        for i, name in enumerate(names):
            sub = rows[1][i].strip() if i < len(rows[1]) else ""
            question = name or question
            if not sub or sub == GENERIC_SUBHEADERS[0]:
                merged.append(name or question)
            elif sub == GENERIC_SUBHEADERS[1] and name:
                merged.append(name)
            else:
                merged.append(f"{question} - {sub}" if question else sub)
        names = merged
    return names


# ----------------------------------------------------------------------------- raw reading


@dataclass
class _Raw:
    """The parsed file: string columns plus the spreadsheet row of every record."""

    names: list[str]
    columns: dict[int, Any]  # position -> pyarrow array (dictionary or string)
    rows: np.ndarray  # spreadsheet row number per record
    source: SourceInfo
    ragged: list[tuple[int, int, int]]  # (row, expected, actual)
    blank_rows: np.ndarray  # mask over records: every cell empty
    header_hint: int | None = None  # the row that looks like the real header, if not row 1
    first_row: int = 1  # the spreadsheet row of the header (after any title rows)
    notes: list[str] = field(default_factory=list)  # warnings from reading (sheet chosen...)
    unsaved: list[tuple[int, str]] = field(default_factory=list)  # formula cells: (row, column)


def _read_csv(
    path: Path,
    survey_columns: set[str],
    delimiter: str | None,
    header_rows: int | None,
    encoding: str | None,
    *,
    skip: int = 0,
    questions: frozenset[str] = frozenset(),
) -> _Raw:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    file = str(path)
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if not sample.strip(b"\r\n\t \xef\xbb\xbf\xff\xfe\x00"):
        raise ResponsesError(CellError(file, None, None, None, "the file is empty", "empty_file"))
    if encoding is not None:
        encoding = _checked_encoding(file, encoding, sample)
    enc = encoding or _detect_encoding(sample)
    if _looks_binary(sample, enc):
        raise ResponsesError(
            CellError(
                file,
                None,
                None,
                None,
                "the file is not a text (CSV) file; export CSV or .xlsx",
                "not_text",
            )
        )
    text = sample.decode(enc, errors="replace")
    delim = delimiter or _sniff_delimiter(text)
    try:
        with _field_limit(len(text) + 1):
            top = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delim))[:30]
    except csv.Error:
        top = []
    head = top[skip : skip + 4]
    detected_rows, tool = _detect_header_rows(head, questions)
    n_header = header_rows if header_rows is not None else detected_rows
    names = _header_names(head, n_header, tool if header_rows is None else None)
    if not names or not any(names):
        raise ResponsesError(
            CellError(file, skip + 1, None, None, "the file has no header row", "no_header")
        )
    read_names = [f"__col{i}" for i in range(len(names))]
    dict_type = pa.dictionary(pa.int32(), pa.string())
    # survey columns compare trimmed names, like the header itself
    types = {
        read_names[i]: (dict_type if name in survey_columns else pa.string())
        for i, name in enumerate(names)
    }
    ragged: list[tuple[int | None, int, int]] = []

    def on_invalid(row: object) -> str:
        ragged.append((row.number, row.expected_columns, row.actual_columns))  # type: ignore[attr-defined]
        return "skip"

    def read(safe: bool, enc: str) -> Any:
        """The fast pass runs on all cores and lets pyarrow split the file at any newline;
        the safe pass (newlines inside quoted values, rows numbered in order) runs when
        the fast one meets a row it can't parse."""
        terminate = unterminated and _ascii_based(enc)
        return pacsv.read_csv(
            pa.BufferReader(sample + b"\n") if terminate else path,
            read_options=pacsv.ReadOptions(
                column_names=read_names,
                skip_rows=skip,
                skip_rows_after_names=n_header,
                encoding="utf8" if enc in ("utf-8", "utf-8-sig") else enc,
                use_threads=not safe,
                block_size=BLOCK_SIZE,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delim,
                newlines_in_values=safe,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )

    # a whole small file without a final newline: pyarrow can't end on the header line
    unterminated = len(sample) < SAMPLE_BYTES and not sample.endswith((b"\n", b"\r"))
    multiline_header = any("\n" in c or "\r" in c for r in head[:n_header] for c in r)
    # A file that looks like UTF-8 in its first block may still hold Windows-1252 further on.
    fallback = "cp1252" if encoding is None and enc in ("utf-8", "utf-8-sig") else None
    while True:
        try:
            try:
                if multiline_header:  # the fast pass would skip lines, not rows
                    raise pa.ArrowInvalid("multi-line header")
                table = read(False, enc)
            except pa.ArrowInvalid as exc:
                if "UTF8" in str(exc):
                    raise
                ragged.append((None, 0, 0))  # unparseable in the fast pass: go safe
            if ragged:
                ragged.clear()
                table = read(True, enc)
            break
        except (pa.ArrowInvalid, UnicodeError) as exc:
            message = str(exc)
            bad_text = "UTF8" in message or "decode" in message.lower()
            if bad_text and fallback:
                enc, fallback = fallback, None
                ragged.clear()
                continue
            if bad_text:
                reason = f"the file is not valid {enc} text; pass --encoding"
            else:  # pyarrow's detail may quote a row: keep only its kind of error
                reason = "the file can't be parsed as CSV (" + message.split(":")[0][:80] + ")"
            raise ResponsesError(CellError(file, None, None, None, reason, "unreadable")) from None
    n = table.num_rows
    first_data_row = skip + n_header + 1
    ragged_rows = sorted(r for r, _, _ in ragged if r is not None)
    if ragged_rows:
        all_rows = np.arange(first_data_row, first_data_row + n + len(ragged_rows))
        rows = np.setdiff1d(all_rows, np.asarray(ragged_rows), assume_unique=True)[:n]
    else:
        rows = np.arange(first_data_row, first_data_row + n)
    columns = {i: table.column(i).combine_chunks() for i in range(len(names))}
    blank = _blank_rows(columns, n)
    source = SourceInfo(
        file=file,
        format="csv",
        encoding="utf-8" if enc == "utf-8-sig" else enc,
        delimiter=delim,
        header_rows=n_header,
        export_tool=tool if header_rows is None else None,
    )
    fixed_ragged = [(r if r is not None else 0, e, a) for r, e, a in ragged]
    raw = _Raw(names, columns, rows, source, fixed_ragged, blank, first_row=skip + 1)
    raw.header_hint = _header_hint(top, survey_columns, skip)
    return raw


def _ascii_based(encoding: str) -> bool:
    """True when a newline is the single byte 0x0A in `encoding` (not UTF-16/32)."""
    try:
        return "\n".encode(encoding).endswith(b"\n") and len("\n".encode(encoding)) == 1
    except LookupError:
        return False


@contextlib.contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    """Let the csv module read cells as long as the sample (its default stops at 131,072
    characters); the file itself is parsed by pyarrow, which has no such limit."""
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, limit))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _checked_encoding(file: str, encoding: str, sample: bytes) -> str:
    """The --encoding a user gave, or a clear error when Python doesn't know it or a
    BOM-less file is read as UTF-16/32 (whose byte order would be a guess)."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        hint = "; for Windows 'ANSI' files use cp1252" if "ansi" in encoding.lower() else ""
        reason = f"unknown encoding {encoding!r} (try utf-8, cp1252, utf-16, latin-1){hint}"
        raise ResponsesError(CellError(file, None, None, None, reason, "bad_encoding")) from None
    boms = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
    if name in ("utf-16", "utf-32") and not sample.startswith(boms):
        reason = (
            f"the file has no byte order mark, so {encoding} can't tell its byte order: "
            f"use --encoding {name}-le or {name}-be"
        )
        raise ResponsesError(CellError(file, None, None, None, reason, "bad_encoding"))
    return encoding


def _blank_rows(columns: dict[int, Any], n: int) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    blank = np.ones(n, dtype=bool)
    for arr in columns.values():
        if pa.types.is_dictionary(arr.type):
            empty = np.asarray(
                [not str(v).strip() for v in arr.dictionary.to_pylist()] or [True], dtype=bool
            )
            idx = arr.indices.to_numpy(zero_copy_only=False)
            blank &= empty[idx] if len(idx) else blank
        else:
            blank &= np.asarray(pc.equal(pc.utf8_trim_whitespace(arr), "").to_numpy(False))
        if not blank.any():
            break
    return blank


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


def _xlsx_error(file: str, reason: str, kind: str = "not_xlsx") -> ResponsesError:
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
                            raise _xlsx_error(file, reason, "xml_entities")
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
                raise _xlsx_error(file, reason, "too_many_rows")
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
        f"read sheet {matches[0].title!r} instead (choose with --sheet)"
    )
    return matches[0], note


def _read_xlsx(
    path: Path,
    survey_columns: set[str],
    sheet: str | None,
    header_rows: int | None,
    *,
    skip: int = 0,
    questions: frozenset[str] = frozenset(),
) -> _Raw:
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
            raise ResponsesError(CellError(file, None, None, sheet, reason, "no_sheet"))
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
        raise ResponsesError(CellError(file, None, None, None, "the sheet is empty", "empty_file"))
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
) -> _Raw:
    """Sparse sheet rows -> the reader's columns; formula cells without a saved value
    are listed as cell errors."""
    import pyarrow as pa

    by_row = dict(sparse)
    top = [[_cell_text(v) for v in by_row.get(r, [])] for r in range(1, 31)]
    head = top[skip : skip + 4]
    detected_rows, tool = _detect_header_rows(head, questions)
    n_header = header_rows if header_rows is not None else detected_rows
    names = _header_names(head, n_header, tool if header_rows is None else None)
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
    raw = _Raw(
        names,
        columns,
        np.asarray(kept_rows, dtype=np.int64),
        source,
        ragged,
        _blank_rows(columns, len(kept)),
        first_row=skip + 1,
    )
    raw.unsaved = [(r, names[j] or f"column {_column_letter(j)}") for r, j in unsaved]
    raw.header_hint = _header_hint(top, survey_columns, skip)
    return raw


# ----------------------------------------------------------------------------- coding


def answer_lookup(survey: Survey) -> dict[str, int]:
    """Normalised answer text -> scale position (1..points; 0 = not answered) for
    labels, aliases and missing values."""
    scale = survey.scale
    lookup: dict[str, int] = {"": 0}
    for text in scale.missing:
        lookup[normalise(text)] = 0
    for position, label in enumerate(scale.labels, start=1):
        lookup[normalise(label)] = position
    for alias, code in scale.aliases.items():
        lookup[normalise(alias)] = code - scale.start + 1
    return lookup


_CODE_AND_LABEL = (
    re.compile(r"^(\d+)\s*[-–—=:.)]\s*(.+)$"),  # "5 - Strongly agree", "5) Strongly agree"
    re.compile(r"^(.+?)\s*[(\[](\d+)[)\]]$"),  # "Strongly agree (5)"
)


def code_answer(text: str, lookup: dict[str, int], points: int, start: int = 1) -> int | None:
    """The scale position (1..points) of one answer text; None when it is not a valid
    answer. Codes run start..start+points-1.

    Accepts a label, an alias, a code (``4`` or ``4.0``), or a code and its label
    together as many tools export them (``5 - Strongly agree``, ``Strongly agree (5)``)
    when the two agree."""
    key = normalise(text)
    if key in lookup:
        return lookup[key]
    try:
        number = float(key.replace(",", "."))
    except ValueError:
        return _code_with_label(key, lookup, points, start)
    if number.is_integer() and start <= number < start + points:
        return int(number) - start + 1
    return None


def _code_with_label(key: str, lookup: dict[str, int], points: int, start: int) -> int | None:
    for pattern in _CODE_AND_LABEL:
        match = pattern.match(key)
        if not match:
            continue
        first, second = match.groups()
        number, label = (first, second) if first.isdigit() else (second, first)
        position = lookup.get(label.strip())
        if position and int(number) == position + start - 1 and position <= points:
            return position
    return None


def _dictionary_parts(arr: object) -> tuple[list[str], np.ndarray]:
    import pyarrow as pa

    if not pa.types.is_dictionary(arr.type):  # type: ignore[attr-defined]
        arr = arr.dictionary_encode()  # type: ignore[attr-defined]
    values = [str(v) for v in arr.dictionary.to_pylist()]  # type: ignore[attr-defined]
    indices = arr.indices.to_numpy(zero_copy_only=False)  # type: ignore[attr-defined]
    return values, indices


def _show(value: str) -> str:
    """An offending cell as shown in an error: trimmed to a readable length."""
    return value if len(value) <= 80 else value[:77] + "..."


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# ----------------------------------------------------------------------------- main entry


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
    progress: bool = False,
) -> ResponseSet:
    """Read, code and validate one export. Never raises for bad data: problems are
    returned in `ResponseSet.errors` (strict) or counted as changes (lenient).
    A file that can't be read at all raises ResponsesError. `header_row` is the
    spreadsheet row of the header when title rows sit above it (1 = the first row).
    """
    path = Path(path)
    file = str(path)
    if not path.exists():
        raise ResponsesError(CellError(file, None, None, None, "no such file", "not_found"))
    if path.is_dir():
        raise ResponsesError(CellError(file, None, None, None, "is a directory", "not_found"))

    item_columns = [item.source_column for item in survey.items]
    survey_columns = {*item_columns, survey.roles.column, *survey.segments}
    options: dict[str, Any] = {
        "skip": max(0, (header_row or 1) - 1),
        "questions": question_texts(survey),
    }
    status = _Status(progress and path.stat().st_size >= LARGE_FILE_BYTES)
    with status:
        status.step("reading")
        with path.open("rb") as fh:
            magic = fh.read(8)
        if magic == OLE_MAGIC or path.suffix.lower() == ".xls":
            reason = "the old .xls format is not supported: save as .xlsx or CSV"
            raise ResponsesError(CellError(file, None, None, None, reason, "not_text"))
        is_xlsx = path.suffix.lower() in (".xlsx", ".xlsm")
        is_xlsx = is_xlsx or (magic[:4] == b"PK\x03\x04" and path.suffix.lower() != ".csv")
        if is_xlsx:
            raw = _read_xlsx(path, survey_columns, sheet, header_rows, **options)
        else:
            raw = _read_csv(path, survey_columns, delimiter, header_rows, encoding, **options)
        status.step("coding")
        return _validate(raw, survey, lenient, status)


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary Office formats (.xls)


class _Status:
    """A rich progress bar on stderr for large files, only when stderr is a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty() and not os.environ.get("CI")
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> _Status:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("reading", total=3)
        return self

    def step(self, description: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=description, advance=1)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)


def _validate(raw: _Raw, survey: Survey, lenient: bool, status: _Status) -> ResponseSet:
    file = raw.source.file
    errors: list[CellError] = []
    warnings: list[str] = []
    changes: Counter[str] = Counter()
    excluded: Counter[str] = Counter()
    unknown_roles: Counter[str] = Counter()

    unlisted: Counter[str] = Counter()  # errors past MAX_LISTED_ERRORS: counted only

    def error(row: int | None, column: str | None, value: str | None, reason: str, kind: str):
        if len(errors) < MAX_LISTED_ERRORS:
            errors.append(CellError(file, row, column, value, reason, kind))
        else:
            unlisted[kind] += 1

    # --- header: blank / duplicate names, missing columns
    position: dict[str, int] = {}
    survey_columns = {i.source_column for i in survey.items}
    survey_columns |= {survey.roles.column, *survey.segments, *filter(None, [survey.respondent_id])}
    ambiguous = False
    for j, name in enumerate(raw.names):
        letter = _column_letter(j)
        if not name:
            if lenient:
                warnings.append(f"column {letter} has no name; it is ignored")
            else:
                reason = "column has no name"
                error(raw.first_row, f"column {letter}", "", reason, "blank_column_name")
            continue
        if name in position:
            first = _column_letter(position[name])
            msg = f"column name {name!r} appears twice (columns {first} and {letter})"
            if name in survey_columns:
                ambiguous = True
                error(raw.first_row, name, name, msg, "duplicate_column")
            elif lenient:
                warnings.append(msg + "; the second is ignored")
            else:
                error(raw.first_row, name, name, msg, "duplicate_column")
            continue
        position[name] = j

    items = survey.items
    required: list[tuple[str, str]] = [(item.source_column, f"item {item.id}") for item in items]
    required.append((survey.roles.column, "the role column"))
    required += [(seg, "a segment column") for seg in survey.segments]
    if survey.respondent_id:
        required.append((survey.respondent_id, "the respondent id column"))
    for column, reason, kind in _missing_columns(raw, survey, required, position):
        error(raw.first_row, column, None, reason, kind)
    warnings.extend(raw.notes)
    for row, column in raw.unsaved:
        error(row, column, None, UNSAVED_FORMULA, "unsaved_formula")
    for comment in survey.comments:
        if comment.source_column not in position:
            warnings.append(f"comment column {comment.source_column!r} is not in the file")

    n_records = len(raw.rows)
    # ragged rows
    for row, expected, actual in raw.ragged:
        reason = f"row has {actual} cells but the header has {expected}"
        if lenient:
            excluded["row has the wrong number of cells"] += 1
        else:
            error(row or None, None, None, reason, "ragged_row")

    if ambiguous or any(e.kind in ("missing_column", "no_item_columns") for e in errors):
        # can't code anything reliably; report header problems only
        return _result(raw, survey, errors, warnings, changes, excluded, None)
    if n_records - int(raw.blank_rows.sum()) == 0 and not raw.ragged:
        error(None, None, None, "the file has a header but no responses", "no_rows")
        return _result(raw, survey, errors, warnings, changes, excluded, None)

    keep = ~raw.blank_rows  # fully blank lines are not responses
    rows = raw.rows

    # --- roles
    lookup_role = survey.role_lookup()
    groups = list(survey.roles.groups)
    role_values, role_idx = _dictionary_parts(raw.columns[position[survey.roles.column]])
    value_group = np.asarray(
        [
            groups.index(lookup_role[normalise(v)]) if normalise(v) in lookup_role else -1
            for v in role_values
        ]
        or [-1],
        dtype=np.int16,
    )
    group_idx = value_group[role_idx] if len(role_idx) else np.zeros(0, dtype=np.int16)
    unplaced = (group_idx < 0) & keep
    if unplaced.any():
        role_column = survey.roles.column
        blank_mask = np.asarray([not v.strip() for v in role_values] or [False])[role_idx]
        unknown_counts = Counter(role_values[i] for i in role_idx[unplaced & ~blank_mask])
        n_blank = int((unplaced & blank_mask).sum())
        if survey.roles.unmatched == "ignore":
            if unknown_counts:
                excluded["role matches no group"] += sum(unknown_counts.values())
            if n_blank:
                excluded["role is blank"] += n_blank
        elif lenient:
            if unknown_counts:
                excluded["role matches no group"] += sum(unknown_counts.values())
            if n_blank:
                excluded["role is blank"] += n_blank
        else:
            unknown_roles.update(unknown_counts)
            for i in np.nonzero(unplaced)[0]:
                value = role_values[role_idx[i]]
                if value.strip():
                    reason = f"role {value.strip()!r} matches no group in roles.groups"
                    error(int(rows[i]), role_column, _show(value), reason, "unknown_role")
                else:
                    error(int(rows[i]), role_column, "", "role is blank", "blank_role")
        keep &= ~unplaced

    # --- respondent ids
    if survey.respondent_id:
        ids = raw.columns[position[survey.respondent_id]]
        id_values, id_idx = _dictionary_parts(ids) if _has_duplicates(ids) else ([""], None)
        if id_idx is None:
            id_idx = np.zeros(0, dtype=np.int32)
            nonblank = np.zeros(0, dtype=bool)
        else:
            nonblank = np.asarray([bool(v.strip()) for v in id_values] or [False])[id_idx] & keep
        candidates = np.nonzero(nonblank)[0]
        seen = _repeats(id_idx[candidates])
        dups = candidates[seen]
        if len(dups):
            first_row: dict[int, int] = {}
            for i in candidates[~seen]:
                first_row.setdefault(int(id_idx[i]), int(rows[i]))
            for i in dups:
                value = id_values[id_idx[i]]
                if lenient:
                    continue
                error(
                    int(rows[i]),
                    survey.respondent_id,
                    _show(value),
                    f"respondent id {value!r} already used on row {first_row[int(id_idx[i])]}",
                    "duplicate_id",
                )
            if lenient:
                excluded["duplicate respondent id"] += len(dups)
                keep[dups] = False

    # --- answers
    scale_lookup = answer_lookup(survey)
    points, start = survey.scale.points, survey.scale.start
    span = f"{start}..{start + points - 1}"
    labels = ", ".join(survey.scale.labels)
    codes = np.zeros((n_records, len(items)), dtype=np.int8, order="F")
    for k, item in enumerate(items):
        column = item.source_column
        values, idx = _dictionary_parts(raw.columns[position[column]])
        coded = [code_answer(v, scale_lookup, points, start) for v in values]
        lut = np.asarray([-1 if c is None else c for c in coded] or [0], dtype=np.int8)
        col_codes = lut[idx] if len(idx) else np.zeros(0, dtype=np.int8)
        bad = (col_codes < 0) & keep
        if bad.any():
            bad_rows = np.nonzero(bad)[0]
            bad_values = idx[bad_rows]
            for v in np.unique(bad_values):  # one reason per distinct bad answer
                value = values[v]
                where = bad_rows[bad_values == v]
                if _is_number(value):
                    reason = f"answer {value.strip()} is not a whole-number code of the scale {span}"  # noqa: E501
                    kind, change = "out_of_range", "answer out of range"
                else:
                    reason = (
                        f"{value.strip()!r} is not an answer on the scale ({span} or {labels})"
                    )
                    kind, change = "unknown_answer", "answer not on the scale"
                if lenient:
                    changes[change] += len(where)
                    continue
                room = max(0, MAX_LISTED_ERRORS - len(errors))
                for i in where[:room]:
                    error(int(rows[i]), column, _show(value), reason, kind)
                unlisted[kind] += max(0, len(where) - room)
            col_codes = np.where(col_codes < 0, 0, col_codes).astype(np.int8)
        codes[:, k] = col_codes

    result = _result(
        raw, survey, errors, warnings, changes, excluded, (codes, group_idx, keep, position)
    )
    result.unknown_roles = dict(unknown_roles.most_common())
    result.unlisted_errors = dict(unlisted)
    for kind, count in unlisted.items():
        result.error_counts[kind] = result.error_counts.get(kind, 0) + count
    return result


def _missing_columns(
    raw: _Raw, survey: Survey, required: list[tuple[str, str]], position: dict[str, int]
) -> list[tuple[str | None, str, str]]:
    """(column, reason, kind) per required column not in the header. When no item column
    at all is there, one error says the file doesn't match the survey instead."""
    items = {i.source_column for i in survey.items}
    title_hint = ""
    if raw.header_hint is not None:
        title_hint = (
            f"; row {raw.first_row} looks like a title, and row {raw.header_hint} like the "
            f"header: pass --header-row {raw.header_hint}"
        )
    if not items & set(position):
        examples = ", ".join(repr(c) for c in list(dict.fromkeys(items))[:3])
        reason = (
            f"none of the {len(items)} item columns of survey {survey.id!r} "
            f"({examples}, ...) is in the file: is this the survey the file was made for? "
            f"Pass its definition with --survey{title_hint}"
        )
        return [(None, reason, "no_item_columns")]
    known = [n for n in raw.names if n]
    found: list[tuple[str | None, str, str]] = []
    for column, purpose in required:
        if column in position:
            continue
        hint = difflib.get_close_matches(column, known, n=1, cutoff=0.6)
        if not hint:
            lowered = {k.casefold(): k for k in known}
            hint = [lowered[column.casefold()]] if column.casefold() in lowered else []
        reason = f"required column {column!r} ({purpose}) is missing"
        if hint:
            reason += f"; did you mean {hint[0]!r}?"
        found.append((column, reason + title_hint, "missing_column"))
    return found


def _repeats(values: np.ndarray) -> np.ndarray:
    """True where a value already occurred earlier in the array."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    repeat = np.zeros(len(values), dtype=bool)
    repeat[order[1:]] = ordered[1:] == ordered[:-1]
    return repeat


def _has_duplicates(arr: object) -> bool:
    import pyarrow.compute as pc

    return len(pc.unique(arr)) < len(arr)  # type: ignore[arg-type]


def _is_number(text: str) -> bool:
    try:
        float(text.strip().replace(",", "."))
    except ValueError:
        return False
    return True


def _result(
    raw: _Raw,
    survey: Survey,
    errors: list[CellError],
    warnings: list[str],
    changes: Counter[str],
    excluded: Counter[str],
    coded: tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]] | None,
) -> ResponseSet:
    items = survey.items
    groups = list(survey.roles.groups)
    n_records = len(raw.rows)
    n_blank = int(raw.blank_rows.sum())
    read = n_records - n_blank + len(raw.ragged)
    errors.sort(key=lambda e: (e.row or 0, e.column or ""))
    error_counts = dict(Counter(e.kind for e in errors))
    empty_group = Labels.from_codes(np.zeros(0, dtype=np.int32), groups)
    if errors or coded is None:
        if errors:
            excluded_counts = {"not analysed: the file has errors": read}
        else:
            excluded_counts = dict(excluded)
            excluded_counts.setdefault("not analysed", read - sum(excluded_counts.values()))
        return ResponseSet(
            survey=survey,
            source=raw.source,
            codes=np.zeros((0, len(items)), dtype=np.int8),
            item_ids=[i.id for i in items],
            group=empty_group,
            segments={s: Labels.from_codes(np.zeros(0), []) for s in survey.segments},
            comments={c.id: np.asarray([], dtype=object) for c in survey.comments},
            rows=RowCounts(
                read=read, used=0, excluded={k: v for k, v in excluded_counts.items() if v}
            ),
            cells_set_missing=dict(changes),
            errors=errors,
            warnings=warnings,
            error_counts=error_counts,
        )
    codes, group_idx, keep, position = coded
    used = np.nonzero(keep)[0]
    segments = {}
    for column in survey.segments:
        values, idx = _dictionary_parts(raw.columns[position[column]])
        shown = [v.strip() or BLANK_SEGMENT for v in values]
        cats = sorted(set(shown))
        where = {v: k for k, v in enumerate(cats)}  # linear, unlike list.index per value
        remap = np.asarray([where[v] for v in shown] or [0], dtype=np.int32)
        segments[column] = Labels.from_codes(remap[idx[used]], cats)
    comments = {}
    for comment in survey.comments:
        if comment.source_column in position:
            arr = raw.columns[position[comment.source_column]]
            values, idx = _dictionary_parts(arr)
            texts = np.asarray([v.strip() for v in values] or [""], dtype=object)
            comments[comment.id] = texts[idx[used]] if len(idx) else np.asarray([], dtype=object)
        else:
            comments[comment.id] = np.full(len(used), "", dtype=object)
    rs = ResponseSet(
        survey=survey,
        source=raw.source,
        codes=codes if len(used) == len(codes) else np.asfortranarray(codes[used]),
        item_ids=[i.id for i in items],
        group=Labels.from_codes(group_idx[used], groups),
        segments=segments,
        comments=comments,
        rows=RowCounts(read=read, used=len(used), excluded=dict(excluded)),
        cells_set_missing=dict(changes),
        errors=[],
        warnings=warnings,
        error_counts={},
        respondent_ids=_used_ids(raw, survey, position, used),
    )
    assert rs.rows.read == rs.rows.used + rs.rows.excluded_total, rs.rows
    return rs


def _used_ids(raw: _Raw, survey: Survey, position: dict[str, int], used: np.ndarray) -> Any:
    """The respondent ids of the used rows (a pyarrow array, taken in C), or None."""
    if not survey.respondent_id or survey.respondent_id not in position:
        return None
    return raw.columns[position[survey.respondent_id]].take(used)  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- template


def template_rows(survey: Survey) -> list[list[str]]:
    """The header row plus a second header row with each question's text; no example
    answers, so an unfilled template can never be analysed as a respondent."""
    header: list[str] = []
    texts: list[str] = []
    if survey.respondent_id:
        header.append(survey.respondent_id)
        texts.append("Respondent id")
    header.append(survey.roles.column)
    roles = "; ".join(v[0] for v in survey.roles.groups.values() if v)
    texts.append(f"Role (one of: {roles})")
    for seg in survey.segments:
        header.append(seg)
        texts.append(seg)
    for item in survey.items:
        header.append(item.source_column)
        texts.append(item.text)
    for comment in survey.comments:
        header.append(comment.source_column)
        texts.append(comment.text)
    return [header, texts]


def _is_question_row(row: list[str], questions: frozenset[str]) -> bool:
    """True for the second header row of `alignscan template`: mostly the item texts."""
    cells = [normalise(c) for c in row if c.strip()]
    hits = sum(c in questions for c in cells)
    return bool(questions) and hits >= max(1, len(questions) // 2)


def errors_csv_text(errors: list[CellError]) -> str:
    """All errors as CSV text: file,row,column,value,reason,kind (values are the offending
    cells, formula-guarded)."""
    from alignscan.textsafe import csv_text

    header = ["file", "row", "column", "value", "reason", "kind"]
    rows = ([e.file, e.row or "", e.column or "", e.value or "", e.reason, e.kind] for e in errors)
    return csv_text([header, *rows])


def write_errors_csv(errors: list[CellError], target: Path | io.TextIOBase) -> None:
    """`errors_csv_text` to a file (atomically) or an open text stream."""
    text = errors_csv_text(errors)
    if isinstance(target, Path):
        from alignscan.atomic import write_one

        write_one(target, text)
    else:
        target.write(text)
