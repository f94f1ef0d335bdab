"""Streaming: read a responses file block by block, so memory follows the block size,
not the file (issue #15).

`stream_responses(path, survey, ...)` sniffs the file (errors that stop reading are
raised here, as `read_responses` raises them) and returns a `ResponseStream`:
`blocks()` yields one `ResponseSet` per block holding only that block's used rows, and
`finish()` gives the whole file's metadata exactly as `read_responses` reports it
(rows, errors with their spreadsheet rows, warnings, counts, the used rows' ids).

The blocks are validated by the same functions as a whole file (`validation`), each
block a `RawTable` carrying its records' spreadsheet rows; only what spans blocks is
kept: repeated respondent ids (`id_index.IdIndex`, 128-bit fingerprints in sorted numpy
runs, no Python set of ids) and the listing cap of errors (`block_checks._ErrorLog`,
which lists the same errors a whole-file read lists). The raw blocks come from `blocks`
(CSV, Parquet), parsed ahead in a thread (`readahead`). In strict mode a file with errors
has no used rows: the blocks' rows are then provisional and `finish().errors` says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from alignscan.responses import validation, xlsx_reader
from alignscan.responses.block_checks import _Checker
from alignscan.responses.blocks import _csv_blocks, _parquet_blocks
from alignscan.responses.model import Labels, RawTable, ResponseSet, SourceInfo
from alignscan.responses.readahead import read_ahead
from alignscan.responses.reader import Progress, check_path, dictionary_columns, file_kind
from alignscan.responses.sniffing import question_texts
from alignscan.responses.validation import empty_set
from alignscan.survey import Survey

DEFAULT_BLOCK_ROWS = 1 << 17  # rows per block at most (a CSV block also ends with pyarrow's)


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
