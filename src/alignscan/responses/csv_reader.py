"""The CSV reader: pyarrow parses the file with every survey column read as a
dictionary-encoded string. Row numbers are the rows a person sees in a spreadsheet
(the header is row 1)."""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alignscan import limits
from alignscan.responses.kinds import ErrorKind
from alignscan.responses.model import (
    CellError,
    RawTable,
    ResponsesError,
    SourceInfo,
    blank_rows,
)
from alignscan.responses.sniffing import (
    SAMPLE_BYTES,
    ascii_based,
    checked_encoding,
    detect_encoding,
    detect_header_rows,
    field_limit,
    header_hint,
    header_names,
    looks_binary,
    sniff_delimiter,
)

BLOCK_SIZE = 1 << 24  # bytes pyarrow parses per thread task
SCAN_BYTES = 1 << 24  # bytes read at a time when a whole file's encoding is checked


def _quiet_undecodable_rows(args: Any) -> None:
    """pyarrow decodes a ragged row's text before it calls our invalid-row handler
    (`on_invalid`); text that isn't in the encoding read makes it print the decoding
    error as an ignored exception, then fail the read, which the readers handle (read
    again as Windows-1252, or a clear error). Keep that print off the terminal."""
    handler = getattr(args.object, "__name__", "")
    if issubclass(args.exc_type, UnicodeDecodeError) and handler == "on_invalid":
        return
    _previous_hook(args)


_previous_hook = sys.unraisablehook
sys.unraisablehook = _quiet_undecodable_rows


def read_csv(
    path: Path,
    survey_columns: set[str],
    delimiter: str | None,
    header_rows: int | None,
    encoding: str | None,
    *,
    skip: int = 0,
    questions: frozenset[str] = frozenset(),
) -> RawTable:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    layout = sniff_layout(path, delimiter, header_rows, encoding, skip, questions)
    file, sample, enc = layout.file, layout.sample, layout.enc
    encoding, head, n_header, names = layout.encoding, layout.head, layout.n_header, layout.names
    types = column_types(names, survey_columns)
    ragged: list[tuple[int | None, int, int]] = []

    def on_invalid(row: object) -> str:
        ragged.append((row.number, row.expected_columns, row.actual_columns))  # type: ignore[attr-defined]
        return "skip"

    def read(safe: bool, enc: str) -> Any:
        """The fast pass runs on all cores and lets pyarrow split the file at any newline;
        the safe pass (newlines inside quoted values, rows numbered in order) runs when
        the fast one meets a row it can't parse."""
        terminate = unterminated and ascii_based(enc)
        read_options, parse_options, convert_options = csv_options(
            layout, skip, enc, types, safe, on_invalid
        )
        return pacsv.read_csv(
            pa.BufferReader(sample + b"\n") if terminate else path,
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )

    # a whole small file without a final newline: pyarrow can't end on the header line
    unterminated = len(sample) < SAMPLE_BYTES and not sample.endswith((b"\n", b"\r"))
    multiline_header = any("\n" in c or "\r" in c for r in head[:n_header] for c in r)
    # A file that looks like UTF-8 in its first block may still hold Windows-1252 further on.
    fallback = "cp1252" if encoding is None and enc in ("utf-8", "utf-8-sig") else None
    table, enc = _parse(read, ragged, enc, fallback, multiline_header, file)
    return _raw_table(table, layout, enc, ragged, skip, header_rows, survey_columns)


def _parse(
    read: Any,
    ragged: list[tuple[int | None, int, int]],
    enc: str,
    fallback: str | None,
    multiline_header: bool,
    file: str,
) -> tuple[Any, str]:
    """Parse with the fast pass, then the safe one when a row needs it, then once more as
    Windows-1252 when UTF-8 fails further in; (table, encoding used)."""
    import pyarrow as pa

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
            return table, enc
        except (pa.ArrowInvalid, UnicodeError) as exc:
            message = str(exc)
            bad_text = "UTF8" in message or "decode" in message.lower()
            if fallback and (bad_text or not valid_utf8(Path(file))):
                enc, fallback = fallback, None  # a ragged row's bad text fails as "parse error"
                ragged.clear()
                continue
            raise parse_failure(file, enc, message, bad_text) from None


def valid_utf8(path: Path) -> bool:
    """True when the whole file is UTF-8: pyarrow's validator over each chunk up to its
    last newline (no character is split there), the rest joined to the next chunk's
    first line."""
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(SCAN_BYTES):
            first, last = chunk.find(b"\n"), chunk.rfind(b"\n")
            if first < 0:
                tail += chunk
                continue
            if not (_utf8(tail + chunk[: first + 1]) and _utf8(chunk, first + 1, last + 1)):
                return False
            tail = chunk[last + 1 :]
    return _utf8(tail)


def _utf8(data: bytes, start: int = 0, end: int | None = None) -> bool:
    """True when data[start:end] is valid UTF-8 (checked in place by pyarrow)."""
    import pyarrow as pa

    end = len(data) if end is None else end
    offsets = pa.py_buffer(np.asarray([start, end], dtype=np.int32).tobytes())
    text = pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def check_width(file: str, columns: int) -> None:
    """Refuse a file with more columns than the limit (each column costs memory whether
    the survey uses it or not)."""
    most = limits.COLUMNS.value()
    if columns > most:
        reason = f"the file has {columns:,} columns (limit {most:,}); {limits.COLUMNS.hint()}"
        raise ResponsesError(CellError(file, None, None, None, reason, ErrorKind.TOO_LARGE))


def block_size() -> int:
    """Bytes pyarrow parses at once: also the longest line it can read (ALIGNSCAN_MAX_LINE_MB
    raises it)."""
    return max(BLOCK_SIZE, limits.CSV_LINE_MB.value())


def parse_failure(file: str, enc: str, message: str, bad_text: bool) -> ResponsesError:
    """The error for a file pyarrow can't parse: bad text in `enc`, or bad CSV."""
    if bad_text:
        reason = f"the file is not valid {enc} text; give its encoding (e.g. cp1252)"
    elif "straddl" in message:  # a record longer than the block pyarrow parses at once
        most = block_size()
        reason = (
            f"a line (or a quoted cell spanning lines) is longer than {most:,} bytes; "
            f"{limits.CSV_LINE_MB.hint()}"
        )
        return ResponsesError(CellError(file, None, None, None, reason, ErrorKind.TOO_LARGE))
    else:  # pyarrow's detail may quote a row: keep only its kind of error
        reason = "the file can't be parsed as CSV (" + message.split(":")[0][:80] + ")"
    return ResponsesError(CellError(file, None, None, None, reason, ErrorKind.UNREADABLE))


def column_types(names: list[str], survey_columns: set[str]) -> dict[str, Any]:
    """pyarrow column types by read name: survey columns dictionary-encoded (each
    distinct text coded once), the rest plain strings. Names compare trimmed."""
    import pyarrow as pa

    dict_type = pa.dictionary(pa.int32(), pa.string())
    return {
        f"__col{i}": (dict_type if name in survey_columns else pa.string())
        for i, name in enumerate(names)
    }


def csv_options(
    layout: CsvLayout, skip: int, enc: str, types: dict[str, Any], safe: bool, on_invalid: Any
) -> tuple[Any, Any, Any]:
    """pyarrow's read, parse and convert options for a sniffed file: every cell as
    text, blank lines kept (as blank records), ragged rows sent to `on_invalid`."""
    import pyarrow.csv as pacsv

    read_options = pacsv.ReadOptions(
        column_names=list(types),
        skip_rows=skip,
        skip_rows_after_names=layout.n_header,
        encoding="utf8" if enc in ("utf-8", "utf-8-sig") else enc,
        use_threads=not safe,
        block_size=block_size(),
    )
    parse_options = pacsv.ParseOptions(
        delimiter=layout.delim,
        newlines_in_values=safe,
        ignore_empty_lines=False,
        invalid_row_handler=on_invalid,
    )
    convert_options = pacsv.ConvertOptions(
        column_types=types,
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        null_values=[],
    )
    return read_options, parse_options, convert_options


def _raw_table(
    table: Any,
    layout: CsvLayout,
    enc: str,
    ragged: list[tuple[int | None, int, int]],
    skip: int,
    header_rows: int | None,
    survey_columns: set[str],
) -> RawTable:
    """The parsed table with each record's row number as a spreadsheet shows it (rows
    pyarrow skipped as ragged are left out of the count)."""
    n = table.num_rows
    first_data_row = skip + layout.n_header + 1
    ragged_rows = sorted(r for r, _, _ in ragged if r is not None)
    if ragged_rows:
        all_rows = np.arange(first_data_row, first_data_row + n + len(ragged_rows))
        rows = np.setdiff1d(all_rows, np.asarray(ragged_rows), assume_unique=True)[:n]
    else:
        rows = np.arange(first_data_row, first_data_row + n)
    columns = {i: table.column(i).combine_chunks() for i in range(len(layout.names))}
    source = csv_source(layout, enc, header_rows)
    fixed_ragged = [(r if r is not None else 0, e, a) for r, e, a in ragged]
    raw = RawTable(
        layout.names,
        columns,
        rows,
        source,
        fixed_ragged,
        blank_rows(columns, n),
        first_row=skip + 1,
    )
    raw.header_hint = header_hint(layout.top, survey_columns, skip)
    return raw


def csv_source(layout: CsvLayout, enc: str, header_rows: int | None) -> SourceInfo:
    """What the report says about the file read: encoding, delimiter, header rows, tool."""
    return SourceInfo(
        file=layout.file,
        format="csv",
        encoding="utf-8" if enc == "utf-8-sig" else enc,
        delimiter=layout.delim,
        header_rows=layout.n_header,
        export_tool=layout.tool if header_rows is None else None,
    )


@dataclass
class CsvLayout:
    """What sniffing found out about a CSV file before it is parsed."""

    file: str
    sample: bytes
    encoding: str | None  # as given by the user
    enc: str  # as used
    delim: str
    top: list[list[str]]  # the first 30 rows (csv module), for hints
    head: list[list[str]]  # the header rows and a few more, after title rows
    n_header: int
    tool: str | None
    names: list[str]


def sniff_layout(
    path: Path,
    delimiter: str | None,
    header_rows: int | None,
    encoding: str | None,
    skip: int,
    questions: frozenset[str],
) -> CsvLayout:
    """Encoding, delimiter, header rows and column names of a CSV file; a file that can't
    be a responses export (empty, binary, no header) raises ResponsesError."""
    file = str(path)
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if not sample.strip(b"\r\n\t \xef\xbb\xbf\xff\xfe\x00"):
        raise ResponsesError(
            CellError(file, None, None, None, "the file is empty", ErrorKind.EMPTY_FILE)
        )
    if encoding is not None:
        encoding = checked_encoding(file, encoding, sample)
    enc = encoding or detect_encoding(sample)
    if looks_binary(sample, enc):
        raise ResponsesError(
            CellError(
                file,
                None,
                None,
                None,
                "the file is not a text (CSV) file; export CSV or .xlsx",
                ErrorKind.NOT_TEXT,
            )
        )
    text = sample.decode(enc, errors="replace")
    delim = delimiter or sniff_delimiter(text)
    try:
        with field_limit(len(text) + 1):
            top = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delim))[:30]
    except csv.Error:
        top = []
    head = top[skip : skip + 4]
    detected_rows, tool = detect_header_rows(head, questions)
    n_header = header_rows if header_rows is not None else detected_rows
    names = header_names(head, n_header, tool if header_rows is None else None)
    if not names or not any(names):
        raise ResponsesError(
            CellError(file, skip + 1, None, None, "the file has no header row", ErrorKind.NO_HEADER)
        )
    check_width(file, len(names))
    return CsvLayout(file, sample, encoding, enc, delim, top, head, n_header, tool, names)
