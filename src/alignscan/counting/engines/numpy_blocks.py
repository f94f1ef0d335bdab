"""The default counting engine: an export read in blocks (bounded memory), each block
validated and counted as it comes, the block tables summed.

The reference every other engine is checked against, and where the SQL engines (DuckDB,
Spark) send files that are not plainly valid. A module of its own, below `engines` and
the SQL engines, so that they can all reach it without importing each other; it loads
`counts` (and pandas) only once the reading threads have started.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alignscan.counting.counts import CountTable
    from alignscan.survey import Survey

__all__ = ["PENDING_TABLES", "count_file_blocks"]

PENDING_TABLES = 32  # block tables summed once this many wait: memory stays flat


def count_file_blocks(
    path: str | Path, survey: Survey, *, progress: Any = None, **options: Any
) -> CountTable:
    """Read, validate and count one export in blocks; `options` are `read_responses`'s
    (lenient, delimiter, sheet, header_rows, ...)."""
    from alignscan.responses.blocks import NotUtf8

    try:  # UTF-8 is taken on trust, not read to the end first: a file that isn't is
        return _count_blocks(path, survey, progress, options, guess_utf8=True)
    except NotUtf8:
        pass  # out of the handler first, so the first try's tables and ids can go
    return _count_blocks(path, survey, progress, options, guess_utf8=False)


def _count_blocks(
    path: str | Path, survey: Survey, progress: Any, options: dict[str, Any], guess_utf8: bool
) -> CountTable:
    """Blocks parsed and checked in threads, counted here."""
    from alignscan.responses.readahead import read_ahead
    from alignscan.responses.streaming import stream_responses

    stream = stream_responses(path, survey, progress=progress, guess_utf8=guess_utf8, **options)
    blocks = read_ahead(stream.blocks())  # parse | check threads start now
    try:
        from alignscan.counting.counts import count_responses, empty_table, sum_tables

        tables: list[CountTable] = []
        for block in blocks:
            tables.append(count_responses(block))
            if len(tables) >= PENDING_TABLES:
                tables = [sum_tables(tables)]
    finally:
        blocks.close()
    meta = stream.finish()
    if meta.errors:  # strict: a file with errors has no used rows; the blocks were provisional
        return empty_table(survey).with_responses(meta)
    return sum_tables(tables, survey).with_responses(meta)
