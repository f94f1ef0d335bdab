"""Responses: read survey exports (CSV / Excel), code answers into scale codes and
validate every cell, collecting all problems at once.

The reader is vectorised: pyarrow parses the file with every survey column read as a
dictionary-encoded string, so each distinct answer text is coded once and the codes
of a million rows are one array lookup. Row numbers in errors are the rows a person
sees in a spreadsheet (the header is row 1).
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import os
import re
import sys
from collections import Counter
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
    name = encoding.lower().replace("-", "_")
    return name.startswith(("cp125", "latin", "iso8859", "mac_", "ascii", "windows_125"))


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


def _detect_header_rows(rows: list[list[str]]) -> tuple[int, str | None]:
    """Extra header rows of known export tools: Qualtrics (3 rows), SurveyMonkey (2)."""
    if len(rows) >= 3 and any(c.strip().startswith('{"ImportId"') for c in rows[2]):
        return 3, "Qualtrics"
    if len(rows) >= 2:
        second = {c.strip() for c in rows[1]}
        if second & set(GENERIC_SUBHEADERS):
            return 2, "SurveyMonkey"
    return 1, None


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


def _read_csv(
    path: Path,
    survey_columns: set[str],
    delimiter: str | None,
    header_rows: int | None,
    encoding: str | None,
) -> _Raw:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    file = str(path)
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if not sample.strip(b"\r\n\t \xef\xbb\xbf\xff\xfe\x00"):
        raise ResponsesError(CellError(file, None, None, None, "the file is empty", "empty_file"))
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
        head = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delim))[:4]
    except csv.Error:
        head = []
    detected_rows, tool = _detect_header_rows(head)
    n_header = header_rows if header_rows is not None else detected_rows
    names = _header_names(head, n_header, tool if header_rows is None else None)
    if not names or not any(names):
        raise ResponsesError(
            CellError(file, 1, None, None, "the file has no header row", "no_header")
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
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=read_names,
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
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
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
    first_data_row = n_header + 1
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
    return _Raw(names, columns, rows, source, fixed_ragged, blank)


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
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[no-any-return]
    return str(value)


def _read_xlsx(
    path: Path, survey_columns: set[str], sheet: str | None, header_rows: int | None
) -> _Raw:
    import pyarrow as pa
    from openpyxl import load_workbook

    file = str(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a corrupt file
        raise ResponsesError(
            CellError(
                file, None, None, None, "the file is not a readable .xlsx workbook", "not_xlsx"
            )
        ) from None
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise ResponsesError(
                CellError(
                    file,
                    None,
                    None,
                    sheet,
                    f"no sheet named {sheet!r}; sheets: {', '.join(wb.sheetnames)}",
                    "no_sheet",
                )
            )
        ws = wb[sheet] if sheet is not None else wb.worksheets[0]
        records = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
        sheet_name = ws.title
    finally:
        wb.close()
    while records and not any(c.strip() for c in records[-1]):
        records.pop()
    if not records:
        raise ResponsesError(CellError(file, None, None, None, "the sheet is empty", "empty_file"))
    detected_rows, tool = _detect_header_rows(records[:4])
    n_header = header_rows if header_rows is not None else detected_rows
    names = _header_names(records[:4], n_header, tool if header_rows is None else None)
    width = len(names)
    while width and not names[width - 1]:
        width -= 1  # trailing empty header cells of a formatted sheet
    names = names[:width]
    data = records[n_header:]
    ragged = []
    kept_rows = []
    kept = []
    for i, rec in enumerate(data):
        row = n_header + 1 + i
        extra = [c for c in rec[width:] if c.strip()]
        if extra:
            ragged.append((row, width, width + len(extra)))
            continue
        kept_rows.append(row)
        kept.append(rec[:width] + [""] * (width - len(rec)))
    columns = {}
    for j, name in enumerate(names):
        values = [rec[j] for rec in kept]
        arr = pa.array(values, type=pa.string())
        columns[j] = arr.dictionary_encode() if name in survey_columns else arr
    n = len(kept)
    source = SourceInfo(
        file=file,
        format="xlsx",
        header_rows=n_header,
        export_tool=tool if header_rows is None else None,
        sheet=sheet_name,
    )
    return _Raw(
        names,
        columns,
        np.asarray(kept_rows, dtype=np.int64),
        source,
        ragged,
        _blank_rows(columns, n),
    )


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
    progress: bool = False,
) -> ResponseSet:
    """Read, code and validate one export. Never raises for bad data: problems are
    returned in `ResponseSet.errors` (strict) or counted as changes (lenient).
    A file that can't be read at all raises ResponsesError.
    """
    path = Path(path)
    file = str(path)
    if not path.exists():
        raise ResponsesError(CellError(file, None, None, None, "no such file", "not_found"))
    if path.is_dir():
        raise ResponsesError(CellError(file, None, None, None, "is a directory", "not_found"))

    items = survey.items
    item_columns = [item.source_column for item in items]
    role_col = survey.roles.column
    survey_columns = {*item_columns, role_col, *survey.segments}
    status = _Status(progress and path.stat().st_size >= LARGE_FILE_BYTES)
    with status:
        status.step("reading")
        is_xlsx = path.suffix.lower() in (".xlsx", ".xlsm")
        if not is_xlsx:
            with path.open("rb") as fh:
                is_xlsx = fh.read(4) == b"PK\x03\x04" and path.suffix.lower() != ".csv"
        if is_xlsx:
            raw = _read_xlsx(path, survey_columns, sheet, header_rows)
        else:
            raw = _read_csv(path, survey_columns, delimiter, header_rows, encoding)
        status.step("coding")
        return _validate(raw, survey, lenient, status)


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
                error(1, f"column {letter}", "", "column has no name", "blank_column_name")
            continue
        if name in position:
            first = _column_letter(position[name])
            msg = f"column name {name!r} appears twice (columns {first} and {letter})"
            if name in survey_columns:
                ambiguous = True
                error(1, name, name, msg, "duplicate_column")
            elif lenient:
                warnings.append(msg + "; the second is ignored")
            else:
                error(1, name, name, msg, "duplicate_column")
            continue
        position[name] = j

    items = survey.items
    required: list[tuple[str, str]] = [(item.source_column, f"item {item.id}") for item in items]
    required.append((survey.roles.column, "the role column"))
    required += [(seg, "a segment column") for seg in survey.segments]
    if survey.respondent_id:
        required.append((survey.respondent_id, "the respondent id column"))
    known = [n for n in raw.names if n]
    for column, purpose in required:
        if column not in position:
            hint = difflib.get_close_matches(column, known, n=1, cutoff=0.6)
            if not hint:
                lowered = {k.casefold(): k for k in known}
                hint = [lowered[column.casefold()]] if column.casefold() in lowered else []
            reason = f"required column {column!r} ({purpose}) is missing"
            if hint:
                reason += f"; did you mean {hint[0]!r}?"
            error(1, column, None, reason, "missing_column")
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

    if ambiguous or any(e.kind == "missing_column" for e in errors):
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
                    reason = f"answer {value.strip()} is outside the scale {span}"
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
        remap = np.asarray([cats.index(v) for v in shown] or [0], dtype=np.int32)
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
    """A header row plus one example row a client can fill in."""
    header: list[str] = []
    example: list[str] = []
    if survey.respondent_id:
        header.append(survey.respondent_id)
        example.append("R0001")
    header.append(survey.roles.column)
    example.append(next(iter(survey.roles.groups.values()))[0])
    for seg in survey.segments:
        header.append(seg)
        example.append(f"example {seg}")
    labels = survey.scale.labels
    for i, item in enumerate(survey.items):
        header.append(item.source_column)
        example.append(labels[(i + len(labels) // 2) % len(labels)])
    for comment in survey.comments:
        header.append(comment.source_column)
        example.append("")
    return [header, example]


def write_errors_csv(errors: list[CellError], target: Path | io.TextIOBase) -> None:
    """All errors as CSV: file,row,column,value,reason,kind (values are the offending cells)."""
    opened = None
    out: Any
    if isinstance(target, Path):
        opened = target.open("w", newline="", encoding="utf-8")
        out = opened
    else:
        out = target
    try:
        writer = csv.writer(out)
        writer.writerow(["file", "row", "column", "value", "reason", "kind"])
        for e in errors:
            row = [e.file, e.row or "", e.column or "", e.value or "", e.reason, e.kind]
            writer.writerow([_csv_safe(str(v)) for v in row])
    finally:
        if opened:
            opened.close()


def _csv_safe(text: str) -> str:
    """Neutralise spreadsheet formulas in cells written back out (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text
