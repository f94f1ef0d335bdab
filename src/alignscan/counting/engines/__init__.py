"""Read, validate and count one export with an engine: the entry point of `analyze`,
`check`, `trend` and `alignscan.analyze(path)`.

Kept apart from `counts` (which loads pandas) so that the reading threads start first:
the first blocks are parsed and checked while pandas and the analysis modules load.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alignscan.counting.counts import CountTable
    from alignscan.survey import Survey

__all__ = ["ENGINES", "count_file"]

ENGINES = ("default", "duckdb", "spark")
SQL_OPTIONS = ("lenient", "delimiter", "header_rows", "encoding", "header_row")


def count_file(
    path: str | Path,
    survey: Survey,
    *,
    engine: str = "default",
    progress: Any = None,
    **options: Any,
) -> CountTable:
    """Read, validate and count one export with an engine: "default" (blocks of the
    file, so memory stays bounded), "duckdb" or "spark" (SQL GROUP BY; files that are
    not plainly valid go to the default engine, so error reports are the same).
    `options` are `read_responses`'s (lenient, delimiter, sheet, header_rows, ...);
    the table's `responses` holds the reading's metadata and errors."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; engines: {', '.join(ENGINES)}")
    if engine != "default" and _sql_countable(path):
        return _count_sql(path, survey, engine, options)
    from alignscan.counting.engines.numpy_blocks import count_file_blocks

    return count_file_blocks(path, survey, progress=progress, **options)


def _sql_countable(path: str | Path) -> bool:
    """CSV and Parquet files go to DuckDB or Spark; workbooks (and missing files, whose
    error the default reader gives) to the default engine."""
    from alignscan.responses.reader import check_path, file_kind

    return file_kind(check_path(path)) != "xlsx"


def _count_sql(
    path: str | Path, survey: Survey, engine: str, options: dict[str, Any]
) -> CountTable:
    """The table counted by DuckDB or Spark SQL (`counts_sql`, `spark`); files that are
    not plainly valid come back through the default engine."""
    given = {k: v for k, v in options.items() if k in SQL_OPTIONS}
    if engine == "duckdb":
        from alignscan.counting.engines.duckdb_sql import count_file_duckdb

        return count_file_duckdb(path, survey, **given)
    from alignscan.counting.engines.spark_sql import count_file_spark

    return count_file_spark(path, survey, **given)
