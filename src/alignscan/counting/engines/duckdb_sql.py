"""The count table computed by SQL (DuckDB here, Spark SQL in `counting.engines.spark_sql`).

One builder writes the SQL for both engines. The answers are NOT coded in SQL: the
distinct raw texts of every survey column are fetched (one `GROUPING SETS` scan), coded
in Python by the default engine's own functions (`responses.coding`), and the mappings
go back into the SQL as `CASE` expressions (items, roles) and joined lookup tables
(segment values, which can be many). A per-respondent projection (group, segment
values, recoded positions, per dimension M/T/F and the keys built from them) is then
counted with one `GROUP BY GROUPING SETS` (every measure at every level, and the atoms)
and summed per group with exact integer sums (BIGINT or wider; DECIMAL(38,0) for the
driver products).

Why only clean files take the SQL route (`count_file_duckdb`): a file with any error or
lenient change (an answer off the scale, an unknown or blank role, a repeated
respondent id, a ragged row, a header problem, an encoding DuckDB can't read) is
counted by the default engine instead, so that its report names every cell with its
row as a spreadsheet shows it (DuckDB numbers records, not lines) and strict and
lenient modes behave byte for byte as they do there. For a clean file both routes see
the same cells, so the counts and the reading's metadata are the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alignscan.counting.counts import CountTable
from alignscan.counting.engines.sql_count import FETCH_ROWS, count_sql, metadata
from alignscan.counting.engines.sql_plan import Fallback, SqlRunner, header_check
from alignscan.responses.model import SourceInfo
from alignscan.survey import Survey

__all__ = ["Fallback", "SqlRunner", "count_file_default", "count_file_duckdb", "count_sql"]
MEMORY_LIMIT = "768MB"  # DuckDB's own buffers; the 10M-row benchmark stays under 1.5 GB


class DuckRunner:
    """`SqlRunner` over one DuckDB connection; DuckDB errors (a row it can't parse,
    text that is not UTF-8) become Fallback."""

    def __init__(self) -> None:
        import tempfile

        import duckdb

        # bounded memory: DuckDB spills to a private temporary folder (never the
        # user's working directory) above MEMORY_LIMIT
        self.spill = tempfile.TemporaryDirectory(prefix="alignscan-duckdb-")
        self.con = duckdb.connect(config={
            "memory_limit": MEMORY_LIMIT,
            "temp_directory": self.spill.name,
        })
        self.error = duckdb.Error

    def close(self) -> None:
        self.con.close()
        self.spill.cleanup()

    def table(self, sql: str) -> Any:
        try:
            return self.con.sql(sql).to_arrow_table()
        except self.error as exc:
            raise Fallback(str(exc).splitlines()[0]) from None

    def batches(self, sql: str) -> Iterator[Any]:
        try:
            yield from self.con.sql(sql).to_arrow_reader(FETCH_ROWS)
        except self.error as exc:
            raise Fallback(str(exc).splitlines()[0]) from None

    def register(self, name: str, frame: pd.DataFrame) -> str:
        self.con.register(name, frame)
        return name

    def literal(self, text: str) -> str:
        return duck_literal(text)

    def materialize(self, sql: str) -> str:
        # one scan of the file; the count queries then read small integer columns
        try:
            self.con.execute(f"CREATE TEMP TABLE alignscan_p AS {sql}")
        except self.error as exc:
            raise Fallback(str(exc).splitlines()[0]) from None
        return "alignscan_p"


def duck_literal(text: str) -> str:
    """A DuckDB (standard SQL) string literal."""
    return "'" + text.replace("'", "''") + "'"


def count_file_duckdb(
    path: str | Path,
    survey: Survey,
    *,
    lenient: bool = False,
    delimiter: str | None = None,
    header_rows: int | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
) -> CountTable:
    """The count table of a CSV or Parquet file computed by DuckDB (out of core), with
    the reading's metadata in `.responses`. Files that are not clean (see the module
    docstring) and workbooks are counted by the default engine: same table, same
    metadata, and its error report."""
    from alignscan.responses.duckdb_reader import duckdb_available

    path = Path(path)
    if not duckdb_available():
        from alignscan.responses.kinds import ErrorKind
        from alignscan.responses.model import CellError, ResponsesError

        reason = "the duckdb engine needs the duckdb package: pip install 'alignscan[duckdb]'"
        raise ResponsesError(CellError(str(path), None, None, None, reason, ErrorKind.NO_ENGINE))
    try:
        return _count_duckdb(path, survey, lenient, delimiter, header_rows, encoding, header_row)
    except Fallback:
        return count_file_default(path, survey, lenient=lenient, delimiter=delimiter,
                                  header_rows=header_rows, encoding=encoding,
                                  header_row=header_row)


def count_file_default(path: Path, survey: Survey, **options: Any) -> CountTable:
    """The default engine (blocks of the file, bounded memory): the reference for every
    engine, and where files that are not plainly valid go."""
    from alignscan.counting.engines.numpy_blocks import count_file_blocks

    return count_file_blocks(path, survey, **options)


def _count_duckdb(
    path: Path, survey: Survey, lenient: bool, delimiter: str | None,
    header_rows: int | None, encoding: str | None, header_row: int | None,
) -> CountTable:
    from alignscan.responses import parquet_reader

    if not path.is_file():
        raise Fallback("no such file: the default reader says so")
    with path.open("rb") as fh:
        magic = fh.read(8)
    if parquet_reader.is_parquet(path, magic):
        names, scan, source, first_row = parquet_source(path)
    elif magic[:4] == b"PK\x03\x04" or path.suffix.lower() in (".xls", ".xlsx", ".xlsm"):
        raise Fallback("a workbook")
    else:
        names, scan, source, first_row = csv_source(
            path, survey, delimiter, header_rows, encoding, header_row)
    columns, warnings = header_check(names, survey, source, lenient, first_row)
    run = DuckRunner()
    try:
        run.con.execute(f"CREATE TEMP VIEW alignscan_src AS {scan}")
        table, maps, ids = count_sql(run, survey, columns, "alignscan_src")
    finally:
        run.close()
    if maps.rows == 0:
        raise Fallback("no rows")
    if ids is not None:
        check_ids(ids)
        if source.format == "parquet":
            ids = ids.dictionary_encode()
    return table.with_responses(metadata(survey, source, maps.rows, warnings, ids))


def check_ids(ids: Any) -> None:
    """Fallback when a respondent id repeats, compared as validation compares them."""
    import pyarrow.compute as pc

    from alignscan.responses.coding import dictionary_parts

    values, idx = dictionary_parts(pc.utf8_trim_whitespace(ids))
    nonblank = np.asarray([bool(v.strip()) for v in values] or [False])[idx]
    if len(idx) and np.bincount(idx[nonblank], minlength=len(values)).max(initial=0) > 1:
        raise Fallback("a respondent id repeats")


def csv_source(
    path: Path, survey: Survey, delimiter: str | None, header_rows: int | None,
    encoding: str | None, header_row: int | None,
) -> tuple[list[str], str, SourceInfo, int]:
    """The CSV as DuckDB reads it (the layout our sniffing finds, as in
    `duckdb_reader`): names, the scan's SQL, source info, the header's row. (A header
    problem goes to the default reader, so no title-row hint is needed here.)"""
    from alignscan.responses.csv_reader import sniff_layout
    from alignscan.responses.duckdb_reader import _multiline
    from alignscan.responses.model import ResponsesError
    from alignscan.responses.sniffing import question_texts

    skip = max(0, (header_row or 1) - 1)
    try:
        layout = sniff_layout(path, delimiter, header_rows, encoding, skip,
                              question_texts(survey))
    except ResponsesError:
        raise Fallback("the default reader reports why") from None
    if layout.enc not in ("utf-8", "utf-8-sig") or _multiline(layout):
        raise Fallback(layout.enc)
    lit = duck_literal
    columns = ", ".join(f"'c{j}': 'VARCHAR'" for j in range(len(layout.names)))
    scan = (
        f"SELECT * FROM read_csv({lit(str(path))}, delim = {lit(layout.delim)}, "
        f"header = false, skip = {skip + layout.n_header}, quote = '\"', escape = '\"', "
        f"auto_detect = false, strict_mode = true, columns = {{{columns}}})"
    )
    source = SourceInfo(
        file=str(path), format="csv", encoding="utf-8", delimiter=layout.delim,
        header_rows=layout.n_header, export_tool=layout.tool if header_rows is None else None,
    )
    return layout.names, scan, source, skip + 1


def parquet_source(path: Path) -> tuple[list[str], str, SourceInfo, None]:
    """A Parquet file: names as the default reader strips them; columns of types it
    can't read as text go to the default reader (which says why)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError):
        raise Fallback("not a readable Parquet file") from None
    for f in schema:
        t = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
                or pa.types.is_floating(t)):
            raise Fallback(f"column {f.name!r} holds {f.type}")
    names = [f.name.strip() for f in schema]
    alias = ", ".join(f"c{j}" for j in range(len(names)))
    scan = f"SELECT * FROM read_parquet({duck_literal(str(path))}) AS t({alias})"
    return names, scan, SourceInfo(file=str(path), format="parquet", header_rows=0), None
