"""Streaming: read a responses file block by block, so memory follows the block size,
not the file (issue #15).

`stream_responses(path, survey, ...)` sniffs the file (errors that stop reading are
raised here, as `read_responses` raises them) and returns a `ResponseStream`:
`blocks()` yields one `ResponseSet` per block holding only that block's used rows, and
`finish()` gives the whole file's metadata exactly as `read_responses` reports it
(rows, errors with their spreadsheet rows, warnings, counts, the used rows' ids).

The blocks are validated by the same functions as a whole file (`validation`), each
block a `RawTable` carrying its records' spreadsheet rows; only what spans blocks is
kept here: repeated respondent ids (`IdIndex`, 128-bit fingerprints in sorted numpy
runs, no Python set of ids) and the listing cap of errors (`_ErrorLog`, which lists the
same errors a whole-file read lists). In strict mode a file with errors has no used
rows: the blocks' rows are then provisional and `finish().errors` says so.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from alignscan.responses import csv_reader, parquet_reader, validation, xlsx_reader
from alignscan.responses.coding import answer_lookup, code_answer, dictionary_parts, show
from alignscan.responses.kinds import ErrorKind
from alignscan.responses.model import (
    CellError,
    Labels,
    RawTable,
    ResponseSet,
    RowCounts,
    SourceInfo,
)
from alignscan.responses.reader import (
    Progress,
    check_path,
    dictionary_columns,
    file_kind,
    keep_columns,
)
from alignscan.responses.sniffing import SAMPLE_BYTES, ascii_based, header_hint, question_texts
from alignscan.responses.validation import (
    Findings,
    check_header,
    check_ragged,
    check_records,
    empty_set,
    failed_result,
    report_duplicate_ids,
    used_rows,
)
from alignscan.survey import Survey

DEFAULT_BLOCK_ROWS = 1 << 17  # rows per block at most (a CSV block also ends with pyarrow's)
CODED_CACHE = 1 << 16  # answer texts whose coding is remembered across blocks, per item
READ_BYTES = 1 << 22  # pyarrow's CSV block: it reads some ahead (1M rows: 1 MiB -> 4 MiB
# costs ~120 MiB more and saves ~0.3 s, fewer hand-overs between the threads)


class ResponseStream:
    """A file being read block by block: `source` is known before the first block."""

    def __init__(
        self,
        source: SourceInfo,
        raw_blocks: Iterator[Callable[[], RawTable]] | None,
        checker: _Checker | None,
        whole: ResponseSet | None = None,
        progress: Callable[[str, float], None] | None = None,
        total: int = 0,
        block_rows: int = DEFAULT_BLOCK_ROWS,
    ) -> None:
        self.source = source
        self._raw_blocks = raw_blocks
        self._checker = checker
        self._whole = whole  # Excel: the workbook read and validated at once
        self._report = progress or (lambda stage, done: None)
        self._total = total  # records expected (an estimate for CSV), for progress
        self._block_rows = block_rows
        self._started = False
        self._done = False

    def blocks(self) -> Iterator[ResponseSet]:
        """One ResponseSet per block with that block's used rows (blocks without any
        used row are skipped). Can be iterated once."""
        if self._started:
            raise RuntimeError("blocks() can be iterated once")
        self._started = True
        if self._whole is not None:
            yield from _slices(self._whole, self._block_rows)
        else:
            assert self._raw_blocks is not None and self._checker is not None
            ahead = read_ahead(self._raw_blocks)  # parsed in a thread, checked here
            try:
                for finish in ahead:
                    rs = self._checker.check(finish())
                    done = self._checker.records / self._total if self._total else 1.0
                    self._report("reading", min(1.0, done))
                    if rs is not None and len(rs.codes):
                        yield rs
            finally:
                ahead.close()
        self._done = True

    def finish(self) -> ResponseSet:
        """The whole file's metadata as `read_responses` gives it, with no rows (codes
        of shape (0, items)). Reads any blocks not read yet."""
        if not self._started:
            for _ in self.blocks():
                pass
        elif not self._done:
            raise RuntimeError("finish() before blocks() is exhausted")
        self._report("done", 1.0)
        if self._whole is not None:
            return _metadata(self._whole)
        assert self._checker is not None
        return self._checker.finish(self.source)


def stream_responses(
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
    block_rows: int = DEFAULT_BLOCK_ROWS,
    guess_utf8: bool = False,
) -> ResponseStream:
    """Open `path` for reading in blocks of at most `block_rows` rows; the options are
    `read_responses`' (its `progress` stages: "reading" with the share of the file
    done, then "done"). A file that can't be read at all raises ResponsesError now
    (or, for damage found further in, while its blocks are read).

    A CSV whose start is UTF-8 is first read to the end to make sure all of it is
    (else it is read as Windows-1252, as `read_responses` does). With `guess_utf8`
    that check is skipped and `NotUtf8` is raised from the blocks if the guess was
    wrong: the caller then drops what it has and opens the file again without it."""
    if block_rows < 1:
        raise ValueError("block_rows must be at least 1")
    path = check_path(path)
    report = progress or (lambda stage, done: None)
    report("reading", 0.0)
    kind = file_kind(path)
    skip = max(0, (header_row or 1) - 1)
    if kind == "xlsx":
        columns, questions = dictionary_columns(survey), question_texts(survey)
        raw = xlsx_reader.read_xlsx(
            path, columns, sheet, header_rows, skip=skip, questions=questions
        )
        whole = validation.validate(raw, survey, lenient)
        return ResponseStream(whole.source, None, None, whole, report, block_rows=block_rows)
    if kind == "parquet":
        header, raw_blocks, total = _parquet_blocks(path, survey, block_rows)
    else:
        header, raw_blocks, total = _csv_blocks(
            path, survey, delimiter, header_rows, encoding, skip, block_rows, guess_utf8
        )
    checker = _Checker(survey, lenient, header)
    return ResponseStream(header.source, raw_blocks, checker, progress=report, total=total)


def _slices(rs: ResponseSet, block_rows: int) -> Iterator[ResponseSet]:
    """The used rows of a whole-file set, `block_rows` at a time."""
    for a in range(0, len(rs.codes), block_rows):
        b = a + block_rows
        yield replace(
            rs,
            codes=rs.codes[a:b],
            group=Labels(rs.group.codes[a:b], rs.group.categories),
            segments={s: Labels(v.codes[a:b], v.categories) for s, v in rs.segments.items()},
            comments={c: v[a:b] for c, v in rs.comments.items()},
            respondent_ids=None if rs.respondent_ids is None else rs.respondent_ids[a:b],
        )


def _metadata(rs: ResponseSet) -> ResponseSet:
    """`rs` without its rows: the metadata `finish()` returns."""
    empty = empty_set(rs.survey, rs.source)
    return replace(
        rs, codes=empty.codes, group=empty.group, segments=empty.segments, comments=empty.comments
    )


# ------------------------------------------------------------------------- reading ahead
@dataclass(frozen=True)
class _Raised:
    error: BaseException


def _produce(
    blocks: Iterator[Any], ready: queue.Queue[Any], stop: threading.Event, done: object
) -> None:
    """`ReadAhead`'s thread: hand each block over, then `done` (or the error raised).
    It never waits on a full queue once told to stop."""

    def hand_over(item: Any) -> bool:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                ready.put(item, timeout=0.05)
                return True
        return False

    try:
        for block in blocks:
            if not hand_over(block):
                return
    except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
        hand_over(_Raised(exc))
        return
    finally:  # a generator's own clean-up (a nested ReadAhead) runs in this thread
        close = getattr(blocks, "close", None)
        if close is not None:
            close()
    hand_over(done)


class ReadAhead:
    """Blocks made up to `depth` ahead in a thread, started at once, while the caller
    works on the current one: pyarrow's parsing and numpy's array work release the GIL,
    so the stages overlap (parse | check | count: 1M rows 5.2 s -> about 2 s). An error in
    the thread is raised in the caller. `close()` stops the thread, which closes
    `blocks` there, and waits for it; dropping a ReadAhead stops it without waiting."""

    def __init__(self, blocks: Iterator[Any], depth: int = 2) -> None:
        self._ready: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop, self._done = threading.Event(), object()
        self._finished = False
        # the thread holds no reference to self, so dropping self stops it (__del__)
        args = (blocks, self._ready, self._stop, self._done)
        self._thread = threading.Thread(
            target=_produce, args=args, name="alignscan-read-ahead", daemon=True
        )
        self._thread.start()

    def __iter__(self) -> ReadAhead:
        return self

    def __next__(self) -> Any:
        if self._finished:
            raise StopIteration
        item = self._ready.get()
        if item is self._done or isinstance(item, _Raised):
            self.close()
            if isinstance(item, _Raised):
                error, item = item.error, None  # no cycle: error -> frame -> item -> error
                try:
                    raise error
                finally:
                    del error
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop reading: let the thread finish (it may be waiting to hand a block over)."""
        self._finished = True
        self._stop.set()
        if threading.current_thread() is self._thread:  # dropped by its own thread
            return
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._ready.get(timeout=0.05)
        self._thread.join()

    def __del__(self) -> None:
        # never wait here: garbage collection may run this in the thread we'd wait for
        if hasattr(self, "_stop"):
            self._finished = True
            self._stop.set()


def read_ahead(blocks: Iterator[Any], depth: int = 2) -> ReadAhead:
    """`blocks`, read up to `depth` ahead in a thread that starts now (see `ReadAhead`)."""
    return ReadAhead(blocks, depth)


# ---------------------------------------------------------------------------- CSV blocks


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


# ------------------------------------------------------------------------------ checking


class _Checker:
    """Validates blocks one after another and keeps what spans them: counts, the error
    listing, lenient changes and exclusions, ids seen, the used rows' ids."""

    def __init__(self, survey: Survey, lenient: bool, header: RawTable) -> None:
        self.survey = survey
        self.lenient = lenient
        self.found = Findings(header.source.file)  # header findings, then the blocks' counts
        self.position, self.usable = check_header(header, survey, lenient, self.found)
        self.log = _ErrorLog(survey, self.found, strict=not lenient)
        self.ids = IdIndex(keep_rows=not lenient) if survey.respondent_id else None
        self.records = self.blank = self.ragged = self.used = 0
        self.id_chunks: list[Any] = []
        self.id_type: Any = None

    def check(self, raw: RawTable) -> ResponseSet | None:
        """Validate one block; its used rows (None when nothing can be coded)."""
        found = _BlockFindings(self.log, raw.source.file)
        check_ragged(raw, self.lenient, found)
        self.records += len(raw.rows)
        self.blank += int(raw.blank_rows.sum())
        self.ragged += len(raw.ragged)
        if not self.usable or not len(raw.rows):
            self._merge(found)
            return None
        self.log.rank_answers(raw, self.position)
        codes, group_idx, keep = check_records(
            raw, self.survey, self.position, self.lenient, found, self._check_ids
        )
        self._merge(found)
        rs = used_rows(raw, self.survey, self.position, codes, group_idx, keep)
        self.used += len(rs.codes)
        if rs.respondent_ids is not None:
            self.id_chunks.append(rs.respondent_ids)
        return rs

    def _merge(self, found: _BlockFindings) -> None:
        """Add a block's findings to the file's."""
        self.log.merge(found)
        self.found.changes.update(found.changes)
        self.found.excluded.update(found.excluded)
        self.found.unknown_roles.update(found.unknown_roles)

    def _check_ids(
        self,
        raw: RawTable,
        id_column: str,
        position: dict[str, int],
        keep: np.ndarray,
        lenient: bool,
        found: Findings,
    ) -> None:
        """Repeated respondent ids (compared trimmed, blanks ignored) within the block
        and against every block before: the first use stays, later ones repeat it."""
        import pyarrow.compute as pc

        assert self.ids is not None
        column = raw.columns[position[id_column]]
        self.id_type = column.type
        trimmed = pc.utf8_trim_whitespace(column.cast("string"))
        h1, h2, lengths = fingerprints(trimmed)
        candidates = np.nonzero((lengths > 0) & keep)[0]  # pyarrow trims as str.strip does
        if not len(candidates):
            return
        a, b, rows = h1[candidates], h2[candidates], raw.rows[candidates]
        order = _by_fingerprint(a, b)  # stable: a repeated id's first use comes first
        sa, sb = a[order], b[order]
        same = (sa[1:] == sa[:-1]) & (sb[1:] == sb[:-1])
        group = np.concatenate([[0], np.cumsum(~same)])  # per sorted position
        firsts = order[np.concatenate([[True], ~same])]  # each distinct id's first use
        of = np.empty(len(order), dtype=np.int64)
        of[order] = group  # candidate -> its distinct id
        earlier = self.ids.lookup(a[firsts], b[firsts])  # first row in an earlier block, or -1
        new = earlier < 0
        self.ids.add(a[firsts][new], b[firsts][new], rows[firsts][new])
        repeat = np.zeros(len(candidates), dtype=bool)
        repeat[order[1:]] = same
        repeat |= earlier[of] >= 0
        if not repeat.any():
            return
        dups = candidates[repeat]
        first_row = np.where(earlier >= 0, earlier, rows[firsts])[of[repeat]]
        names = trimmed.take(dups).to_pylist() if not lenient else []
        report_duplicate_ids(raw, id_column, dups, names, first_row.tolist(), keep, lenient, found)

    def finish(self, source: SourceInfo) -> ResponseSet:
        """The file's metadata, as `validation.validate` reports it for the whole file."""
        read = self.records - self.blank + self.ragged
        found = self.found
        if not self.usable:
            found.errors, found.unlisted = self.log.listed()[0], Counter()
            return failed_result(source, self.survey, found, read)
        if self.records - self.blank == 0 and not self.ragged:
            found.errors = self.log.listed()[0]
            reason = "the file has a header but no responses"
            found.error(None, None, None, reason, ErrorKind.NO_ROWS)
            return failed_result(source, self.survey, found, read)
        found.errors, unlisted = self.log.listed()
        if found.errors:
            rs = failed_result(source, self.survey, found, read)
        else:
            rs = empty_set(self.survey, source)
            rs.rows = RowCounts(read=read, used=self.used, excluded=dict(found.excluded))
            rs.cells_set_missing = dict(found.changes)
            rs.warnings = found.warnings
            rs.respondent_ids = self._used_ids()
            assert rs.rows.read == rs.rows.used + rs.rows.excluded_total, rs.rows
        rs.unknown_roles = dict(found.unknown_roles.most_common())
        rs.unlisted_errors = dict(unlisted)
        for kind, count in unlisted.items():
            rs.error_counts[kind] = rs.error_counts.get(kind, 0) + count
        return rs

    def _used_ids(self) -> Any:
        """The used rows' ids in file order, one array (None without an id column)."""
        import pyarrow as pa

        if not self.survey.respondent_id:
            return None
        if self.id_type is not None and pa.types.is_dictionary(self.id_type):
            return parquet_reader.concat_dictionaries(self.id_chunks)
        return pa.concat_arrays(self.id_chunks) if self.id_chunks else pa.array([], pa.string())


# ------------------------------------------------------------------------- error listing

RAGGED, ROLES, IDS, ANSWERS = 1, 2, 3, 4  # categories after 0, the header's errors
ROLE_KINDS = (ErrorKind.UNKNOWN_ROLE, ErrorKind.BLANK_ROLE)


class _ErrorLog:
    """The errors a whole-file read would list under its cap (`MAX_LISTED_ERRORS`), kept
    in bounded memory. A whole-file read lists errors in this order until the cap:
    the header's, ragged rows, roles, repeated ids (each in row order), then each item's
    answers (by first appearance of the bad text in the file, then row). Each category
    keeps at most the cap minus what the categories before it already hold."""

    def __init__(self, survey: Survey, header: Findings, strict: bool) -> None:
        self.item_category = {
            item.source_column: ANSWERS + k for k, item in enumerate(survey.items)
        }
        self.items = survey.items
        n = ANSWERS + len(survey.items)
        self.kept: list[list[tuple[tuple[int, int], CellError]]] = [[] for _ in range(n)]
        self.kept[0] = [((0, k), e) for k, e in enumerate(header.errors)]
        self.totals = [0] * n
        self.totals[0] = len(header.errors) + sum(header.unlisted.values())
        self.kinds: Counter[str] = Counter(e.kind for e in header.errors) + header.unlisted
        self.strict = strict
        self.ranks: list[dict[str, int]] = [{} for _ in survey.items]  # bad text -> rank
        self.coded: list[dict[str, bool]] = [{} for _ in survey.items]  # text -> is bad
        self.lookup = answer_lookup(survey)
        self.scale = (survey.scale.points, survey.scale.start)

    def category(self, kind: str, column: str | None) -> int:
        if kind == ErrorKind.RAGGED_ROW:
            return RAGGED
        if kind in ROLE_KINDS:
            return ROLES
        if kind == ErrorKind.DUPLICATE_ID:
            return IDS
        return self.item_category[column or ""]

    def quotas(self) -> list[int]:
        """Per category: how many of its errors can still be listed at most."""
        cap = validation.MAX_LISTED_ERRORS
        before = np.concatenate([[0], np.cumsum(self.totals)[:-1]])
        return [max(0, cap - int(b)) for b in before]

    def merge(self, block: _BlockFindings) -> None:
        """Add a block's listed errors, keeping each category's first ones only."""
        quotas = self.quotas()
        for c, new in enumerate(block.new):
            kept = self.kept[c] + new if new else self.kept[c]
            if new and c >= ANSWERS:
                kept.sort(key=lambda pair: pair[0])
            self.kept[c] = kept[: quotas[c]]

    def listed(self) -> tuple[list[CellError], Counter[str]]:
        """(the errors listed, in category order; per kind, the errors counted only)."""
        errors = [e for c, q in enumerate(self.quotas()) for _, e in self.kept[c][:q]]
        unlisted = self.kinds - Counter(e.kind for e in errors)
        return errors, unlisted

    def rank_answers(self, raw: RawTable, position: dict[str, int]) -> None:
        """Rank every bad answer text by its first appearance in the file (any record of
        the block, used or not), as a whole-file read's dictionary orders them."""
        if not self.strict:
            return  # lenient lists no answer errors
        points, start = self.scale
        for k, item in enumerate(self.items):
            values, idx = dictionary_parts(raw.columns[position[item.source_column]])
            coded, ranks = self.coded[k], self.ranks[k]
            if len(coded) > CODED_CACHE:  # a cache: free text in an item column can't grow it
                coded.clear()
            for v in values:
                if v not in coded:
                    coded[v] = code_answer(v, self.lookup, points, start) is None
            fresh = [j for j, v in enumerate(values) if coded[v] and v not in ranks]
            firsts = []
            for j in fresh:
                hits = np.flatnonzero(idx == j)
                if len(hits):
                    firsts.append((int(hits[0]), values[j]))
            for _, v in sorted(firsts):
                ranks[v] = len(ranks)


class _BlockFindings(Findings):
    """A block's findings, listed per category within the room the categories before
    it leave (see `_ErrorLog`), every error counted."""

    def __init__(self, log: _ErrorLog, file: str) -> None:
        super().__init__(file)
        self.log = log
        self.quota = log.quotas()
        self.new: list[list[tuple[tuple[int, int], CellError]]] = [[] for _ in log.kept]

    def room(self, column: str | None, kind: str) -> int:
        c = self.log.category(kind, column)
        if c >= ANSWERS:  # merged by rank: any row may still be among the first
            return self.quota[c]
        return max(0, self.quota[c] - len(self.log.kept[c]) - len(self.new[c]))

    def error(
        self, row: int | None, column: str | None, value: str | None, reason: str, kind: str
    ) -> None:
        c = self.log.category(kind, column)
        self.log.totals[c] += 1
        self.log.kinds[kind] += 1
        if self.room(column, kind) > 0:
            error = CellError(self.file, row, column, value, reason, kind)
            self.new[c].append(((0, row or 0), error))

    def cell_errors(
        self, rows: np.ndarray, column: str, value: str, reason: str, kind: str
    ) -> None:
        c = self.log.category(kind, column)
        self.log.totals[c] += len(rows)
        self.log.kinds[kind] += len(rows)
        rank = self.log.ranks[c - ANSWERS].get(value, 0)
        shown = show(value)
        for row in rows[: self.quota[c]]:
            error = CellError(self.file, int(row), column, shown, reason, kind)
            self.new[c].append(((rank, int(row)), error))


# ---------------------------------------------------------------------- respondent ids


def _by_fingerprint(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The stable order by (a, b): by `a` alone unless two fingerprints share an `a`
    but not a `b` (a 64-bit collision), which sorting by `b` as well then settles."""
    order = np.argsort(a, kind="stable")
    sa, sb = a[order], b[order]
    tie = sa[1:] == sa[:-1]
    if tie.any() and (sb[1:][tie] != sb[:-1][tie]).any():
        return np.lexsort((b, a))
    return order


_M1 = np.uint64(0x87C37B91114253D5)
_M2 = np.uint64(0x4CF5AD432745937F)
_F1 = np.uint64(0xFF51AFD7ED558CCD)
_F2 = np.uint64(0xC4CEB9FE1A85EC53)
_SEEDS = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xD1B54A32D192ED03))


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


def _fmix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * _F1
    h = h ^ (h >> np.uint64(33))
    h = h * _F2
    return h ^ (h >> np.uint64(33))


def fingerprints(arr: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two 64-bit MurmurHash3-style hashes (different seeds) of each string of `arr`,
    computed 8 bytes at a time over pyarrow's buffers (a 128-bit fingerprint), and
    each string's length in bytes."""
    import pyarrow as pa

    arr = arr.cast(pa.large_string())
    n = len(arr)
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else None
    lengths = np.diff(offsets)
    hashes = [np.full(n, seed, dtype=np.uint64) ^ lengths.astype(np.uint64) for seed in _SEEDS]
    if data is not None and n and int(lengths.max()) <= PADDED_ID_BYTES:
        words = _padded_words(data, offsets, lengths)
        for j in range(words.shape[1]):  # word j counts for strings longer than 8*j
            k = _rotl(words[:, j] * _M1, 31) * _M2
            longer = lengths > 8 * j
            for h in hashes:
                mixed = _rotl(h ^ k, 27) * np.uint64(5) + np.uint64(0x52DCE729)
                np.copyto(h, mixed, where=longer)
    elif data is not None:
        _hash_words(hashes, data, offsets, lengths)
    return _fmix(hashes[0]), _fmix(hashes[1]), lengths


PADDED_ID_BYTES = 64  # ids up to this long are hashed from one zero-padded matrix


def _padded_words(data: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The strings as rows of little-endian 8-byte words, zero-padded: (n, words)."""
    n, width = len(lengths), int(lengths.max())
    words = -(-width // 8)
    matrix = np.zeros((n, 8 * words), dtype=np.uint8)
    start = int(offsets[0])
    if int(lengths.min()) == width:  # one length (ids like R0000001): a reshape
        matrix[:, :width] = data[start : start + n * width].reshape(n, width)
    elif width:
        row = np.repeat(np.arange(n), lengths)
        col = np.arange(int(offsets[-1]) - start) - np.repeat(offsets[:-1] - start, lengths)
        matrix[row, col] = data[start : int(offsets[-1])]
    return matrix.view("<u8")


def _hash_words(
    hashes: list[np.ndarray], data: np.ndarray, offsets: np.ndarray, lengths: np.ndarray
) -> None:
    """`fingerprints`' rounds for long strings: 8 bytes of the strings still going at a
    time, gathered from the buffer (no matrix as wide as the longest string)."""
    lanes = np.arange(8)
    active = np.nonzero(lengths > 0)[0]
    pos = 0
    while len(active):
        left = lengths[active, None] - pos
        at = np.minimum(offsets[active, None] + pos + lanes, len(data) - 1)
        word = np.where(lanes < left, data[at], 0).astype(np.uint8)
        k = np.ascontiguousarray(word).view("<u8").ravel()
        k = _rotl(k * _M1, 31) * _M2
        for h in hashes:
            h[active] = _rotl(h[active] ^ k, 27) * np.uint64(5) + np.uint64(0x52DCE729)
        pos += 8
        active = active[lengths[active] > pos]


class IdIndex:
    """Respondent ids seen so far as fingerprints (a 64-bit key and 32 more bits to
    confirm it) with the row of their first use, in sorted numpy runs merged as they
    grow: 16 bytes an id (12 without rows), a lookup is a binary search per run."""

    def __init__(self, keep_rows: bool = True) -> None:
        self.keep_rows = keep_rows
        self.runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def lookup(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        """Per fingerprint, the row it was first seen on (0 when rows aren't kept), or -1."""
        out = np.full(len(h1), -1, dtype=np.int64)
        check = h2.astype(np.uint32)
        for a, b, rows in self.runs:
            at = np.minimum(np.searchsorted(a, h1), len(a) - 1)
            near = a[at] == h1
            exact = near & (b[at] == check)
            out[exact] = rows[at[exact]] if self.keep_rows else 0
            for i in np.nonzero(near & ~exact)[0]:  # a 64-bit collision: look further
                end = np.searchsorted(a, h1[i], side="right")
                match = np.nonzero(b[at[i] : end] == check[i])[0]
                if len(match):
                    out[i] = rows[at[i] + match[0]] if self.keep_rows else 0
        return out

    def add(self, h1: np.ndarray, h2: np.ndarray, rows: np.ndarray) -> None:
        if not len(h1):
            return
        order = np.argsort(h1, kind="stable")
        kept = rows[order].astype(np.uint32) if self.keep_rows else np.zeros(0, np.uint32)
        self.runs.append((h1[order], h2[order].astype(np.uint32), kept))
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            last = self.runs.pop()
            self.runs[-1] = self._merged(self.runs[-1], last)

    def _merged(
        self, one: tuple[np.ndarray, ...], two: tuple[np.ndarray, ...]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Two sorted runs as one, by inserting the second's entries (no full sort)."""
        at = np.searchsorted(one[0], two[0], side="right") + np.arange(len(two[0]))
        rest = np.ones(len(one[0]) + len(two[0]), dtype=bool)
        rest[at] = False
        merged = []
        for x, y in zip(one, two, strict=True):
            if not len(x) and not len(y):
                merged.append(x)
                continue
            out = np.empty(len(rest), dtype=x.dtype)
            out[at], out[rest] = y, x
            merged.append(out)
        return merged[0], merged[1], merged[2]
