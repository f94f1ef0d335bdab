"""A file's raw blocks: CSV parsed by pyarrow's streaming reader (regrouped into blocks of
`block_rows` records, each carrying its records' spreadsheet rows, ragged rows found on
the way), and Parquet by record batches; each block a `RawTable` for the checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from alignscan.responses import csv_reader, parquet_reader
from alignscan.responses.model import RawTable, SourceInfo
from alignscan.responses.reader import dictionary_columns, keep_columns
from alignscan.responses.sniffing import SAMPLE_BYTES, ascii_based, header_hint, question_texts
from alignscan.survey import Survey

READ_BYTES = 1 << 22  # pyarrow's CSV block: it reads some ahead (1M rows: 1 MiB -> 4 MiB
# costs ~120 MiB more and saves ~0.3 s, fewer hand-overs between the threads)


def _csv_blocks(
    path: Path,
    survey: Survey,
    delimiter: str | None,
    header_rows: int | None,
    encoding: str | None,
    skip: int,
    block_rows: int,
    guess_utf8: bool = False,
) -> tuple[RawTable, Iterator[Callable[[], RawTable]], int]:
    """(header, blocks, estimated records) of a CSV file, sniffed as `read_csv` does;
    the encoding is settled by a pre-scan before any block is read, unless UTF-8 is to
    be taken on trust (`guess_utf8`, see `stream_responses`)."""
    survey_columns = dictionary_columns(survey)
    layout = csv_reader.sniff_layout(
        path, delimiter, header_rows, encoding, skip, question_texts(survey)
    )
    guess = guess_utf8 and layout.encoding is None and layout.enc in ("utf-8", "utf-8-sig")
    enc = layout.enc if guess else _settled_encoding(path, layout)
    source = csv_reader.csv_source(layout, enc, header_rows)
    header = _header_table(layout.names, source, skip + 1)
    header.header_hint = header_hint(layout.top, survey_columns, skip)
    size = path.stat().st_size
    per_record = max(1, len(layout.sample) // max(1, layout.sample.count(b"\n")))
    blocks = _csv_records(path, layout, enc, skip, survey_columns, source, block_rows, guess)
    return header, blocks, max(1, size // per_record)


def _header_table(names: list[str], source: SourceInfo, first_row: int | None) -> RawTable:
    """A RawTable with the header only: what the header checks look at."""
    none = np.zeros(0, dtype=np.int64)
    return RawTable(names, {}, none, source, [], none.astype(bool), first_row=first_row)


class NotUtf8(Exception):
    """A file read on the guess that it is UTF-8 failed to parse: it may not be UTF-8
    (see `stream_responses`); reading it again with the encoding settled first tells."""


def _settled_encoding(path: Path, layout: csv_reader.CsvLayout) -> str:
    """The encoding every block is read in. A file sniffed as UTF-8 is checked to the
    end first (in bounded memory): one that isn't is read as Windows-1252, as the
    whole-file reader falls back to it, unless the user gave the encoding."""
    enc = layout.enc
    if enc not in ("utf-8", "utf-8-sig"):
        return enc
    if csv_reader.valid_utf8(path):
        return enc
    if layout.encoding is None and _decodes(path, "cp1252"):
        return "cp1252"
    raise csv_reader.parse_failure(
        layout.file, "cp1252" if layout.encoding is None else enc, "", True
    )


def _decodes(path: Path, encoding: str) -> bool:
    """True when the whole file decodes in `encoding` (read a chunk at a time)."""
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(csv_reader.SCAN_BYTES):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _csv_records(
    path: Path,
    layout: csv_reader.CsvLayout,
    enc: str,
    skip: int,
    survey_columns: set[str],
    source: SourceInfo,
    block_rows: int,
    guess: bool = False,
) -> Iterator[Callable[[], RawTable]]:
    """The file's records in blocks of at most `block_rows` records, each a function
    that makes its RawTable, parsed by pyarrow's streaming reader with the whole-file
    reader's safe-pass options (quoted newlines, rows in order, ragged rows numbered).
    pyarrow reads ahead some 30 of its byte blocks, so they are small; a record longer
    than one makes the reading start again after the records already given, with the
    whole-file reader's block size. Cells are parsed as plain text: coding the survey
    columns' texts is left to the block's function, run by whoever checks the block."""
    import pyarrow as pa

    numbers = _RowNumbers(skip + layout.n_header + 1)
    pass_ = _CsvPass(path, layout, enc, skip, numbers)
    coded = {i for i, name in enumerate(layout.names) if name in survey_columns}
    given, read_bytes = 0, READ_BYTES
    while True:
        try:
            for batches in _rebatched(pass_.batches(read_bytes, given), block_rows):
                table = pa.Table.from_batches(batches)
                rows = numbers.take(table.num_rows)
                ragged = _fixed(numbers.ragged_until(int(rows[-1])))
                given += len(rows)
                yield partial(_csv_block, table, coded, layout.names, rows, ragged, source, skip)
            break
        except (pa.ArrowInvalid, UnicodeError) as exc:
            message = str(exc)
            if "straddl" in message and read_bytes < csv_reader.block_size():
                read_bytes = csv_reader.block_size()
                numbers.rewind()
                continue
            if guess:  # bad text; or a ragged row's, which fails as a bare "parse error"
                raise NotUtf8(layout.file) from None
            bad_text = "UTF8" in message or "decode" in message.lower()
            raise csv_reader.parse_failure(layout.file, enc, message, bad_text) from None
    rows = np.zeros(0, dtype=np.int64)
    ragged = _fixed(numbers.ragged_until(None))
    blank = rows.astype(bool)
    yield partial(RawTable, layout.names, {}, rows, source, ragged, blank, first_row=skip + 1)


class _CsvPass:
    """One read of the file by pyarrow's streaming reader (see `_csv_records`)."""

    def __init__(
        self,
        path: Path,
        layout: csv_reader.CsvLayout,
        enc: str,
        skip: int,
        numbers: _RowNumbers,
    ) -> None:
        self.path, self.layout, self.enc, self.skip = path, layout, enc, skip
        self.types = csv_reader.column_types(layout.names, set())  # all plain text
        self.numbers = numbers

    def on_invalid(self, row: Any) -> str:
        number = row.number
        if number is None or number >= self.numbers.resume:  # not reported before a restart
            self.numbers.ragged.append((number, row.expected_columns, row.actual_columns))
        return "skip"

    def batches(self, read_bytes: int, given: int) -> Iterator[Any]:
        """The record batches after the first `given` records."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        layout, sample = self.layout, self.layout.sample
        options = csv_reader.csv_options(
            layout, self.skip, self.enc, self.types, True, self.on_invalid
        )
        options[0].block_size = read_bytes
        unterminated = len(sample) < SAMPLE_BYTES and not sample.endswith((b"\n", b"\r"))
        terminate = unterminated and ascii_based(self.enc)
        reader = pacsv.open_csv(
            pa.BufferReader(sample + b"\n") if terminate else str(self.path),
            read_options=options[0],
            parse_options=options[1],
            convert_options=options[2],
        )
        for batch in reader:
            if given >= batch.num_rows:
                given -= batch.num_rows
                continue
            yield batch.slice(given) if given else batch
            given = 0


def _rebatched(batches: Iterator[Any], block_rows: int) -> Iterator[list[Any]]:
    """Record batches regrouped into lists of exactly `block_rows` records (the last
    list may hold fewer)."""
    group: list[Any] = []
    size = 0
    for batch in batches:
        while batch.num_rows:
            take = min(batch.num_rows, block_rows - size)
            group.append(batch.slice(0, take))
            size += take
            batch = batch.slice(take)
            if size == block_rows:
                yield group
                group, size = [], 0
    if group:
        yield group


def _csv_block(
    table: Any,
    coded: set[int],
    names: list[str],
    rows: np.ndarray,
    ragged: list[tuple[int, int, int]],
    source: SourceInfo,
    skip: int,
) -> RawTable:
    """One block as a RawTable: the survey columns (positions `coded`) dictionary-encoded
    with one dictionary per block, as the whole-file reader gives them, the rest text.
    Run in the checking thread: encoding costs as much as parsing the text."""
    import pyarrow.compute as pc

    from alignscan.responses.model import blank_rows

    columns = {}
    for i in range(table.num_columns):
        column = pc.dictionary_encode(table.column(i)) if i in coded else table.column(i)
        columns[i] = column.combine_chunks()
    blank = blank_rows(columns, table.num_rows)
    return RawTable(names, columns, rows, source, ragged, blank, first_row=skip + 1)


def _fixed(ragged: list[tuple[int | None, int, int]]) -> list[tuple[int, int, int]]:
    """Ragged rows as a RawTable holds them: an unknown row as 0."""
    return [(r if r is not None else 0, e, a) for r, e, a in ragged]


class _RowNumbers:
    """Spreadsheet rows of records as a whole-file read numbers them: the k-th record
    is on the k-th row from the first data row that is not a ragged row (pyarrow
    skips those and reports them, possibly a block ahead, in file order)."""

    def __init__(self, first: int) -> None:
        self.next = first
        self.ragged: list[tuple[int | None, int, int]] = []  # from the invalid-row handler
        self.given = 0  # ragged rows handed to a block
        self.passed = 0  # ragged rows before `next`
        self.resume = 0  # after a restart: rows before this were reported already

    def take(self, n: int) -> np.ndarray:
        while self.passed < len(self.ragged) and (self.ragged[self.passed][0] or 0) < self.next:
            self.passed += 1
        skipped = [r for r, _, _ in self.ragged[self.passed :] if r is not None]
        candidates = np.arange(self.next, self.next + n + len(skipped), dtype=np.int64)
        rows = np.setdiff1d(candidates, np.asarray(skipped, dtype=np.int64), assume_unique=True)
        rows = rows[:n]
        self.next = int(rows[-1]) + 1 if n else self.next
        return rows

    def ragged_until(self, row: int | None) -> list[tuple[int | None, int, int]]:
        """The ragged rows not handed out yet that come before `row` (all when None)."""
        end = self.given
        while end < len(self.ragged) and (row is None or (self.ragged[end][0] or 0) < row):
            end += 1
        out, self.given = self.ragged[self.given : end], end
        return out

    def rewind(self) -> None:
        """Before reading again from the start: forget ragged rows not handed out."""
        del self.ragged[self.given :]
        self.passed = min(self.passed, self.given)
        self.resume = self.next


# ------------------------------------------------------------------------ Parquet blocks


def _parquet_blocks(
    path: Path, survey: Survey, block_rows: int
) -> tuple[RawTable, Iterator[Callable[[], RawTable]], int]:
    """(header, blocks, records) of a Parquet file read by record batches; a record's
    row is its position counting from 1, as the whole-file reader numbers it."""
    pf, names = parquet_reader.open_parquet(path)
    keep = keep_columns(survey)
    wanted = [j for j, n in enumerate(names) if n in keep]
    source = SourceInfo(file=str(path), format="parquet", header_rows=0)

    def blocks() -> Iterator[Callable[[], RawTable]]:
        import pyarrow as pa

        start = 1
        try:
            for batch in pf.iter_batches(batch_size=block_rows):
                columns, mask = parquet_reader.batch_text(batch, names, wanted)
                rows = np.arange(start, start + batch.num_rows, dtype=np.int64)
                start += batch.num_rows
                yield partial(RawTable, names, columns, rows, source, [], mask, first_row=None)
        except (pa.ArrowException, OSError) as exc:
            raise parquet_reader.unreadable(str(path), exc) from None

    return _header_table(names, source, None), blocks(), pf.metadata.num_rows
