"""`--engine spark` and `alignscan.count_table(spark_df, survey)`: the count table by
Spark SQL, the same SQL as DuckDB's (`counts_sql`), so surveys that live in a warehouse
are counted on the cluster and only the small table comes back.

Validation is the default engine's. The distinct texts of the survey's columns are
coded in Python; when some are not valid (an answer off the scale, a role that matches
no group, a blank row) or a respondent id repeats, the rows concerned, and only those,
are fetched with their row index (1 = the DataFrame's first row, in partition order)
and validated by `responses.validation.validate`: the same errors, with the same
reasons, as a Parquet file with these rows; lenient mode's exclusions and changes are
then applied in SQL. Without a file there is no spreadsheet row: errors name the row
index, as the default engine does for Parquet.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alignscan.counting.counts import CountTable, count_responses
from alignscan.counting.engines.duckdb_sql import (
    FETCH_ROWS,
    Columns,
    Fallback,
    Mappings,
    as_metadata,
    build_mappings,
    check_ids,
    count_file_default,
    count_sql,
    distinct_values,
    header_validation,
    metadata,
    survey_columns,
)
from alignscan.responses.model import RawTable, ResponseSet, RowCounts, SourceInfo
from alignscan.survey import Survey

__all__ = ["count_file_spark", "count_table", "local_session"]

MAX_PROBLEM_ROWS = 1_000_000  # rows with a problem fetched to the driver at most
INDEX = "__alignscan_row"  # the row index column, as a segment while validating
# Wider than any trimming the readers do: ids that might be equal once trimmed are
# fetched, and validation (which trims exactly) decides.
TRIM = r"(?U)^[\s\p{Z}\x{1c}-\x{1f}\x{85}\x{feff}]+|[\s\p{Z}\x{1c}-\x{1f}\x{85}\x{feff}]+$"


class SparkRunner:
    """`counts_sql.SqlRunner` over a SparkSession; views it makes have unique names."""

    max_grouping_columns = 64  # Spark's limit on the columns of GROUPING SETS

    def __init__(self, spark: Any):
        self.spark = spark
        self.tag = uuid.uuid4().hex[:10]
        self.views: list[str] = []
        self.cached: list[Any] = []

    def name(self, base: str) -> str:
        view = f"{base}_{self.tag}"
        self.views.append(view)
        return view

    def table(self, sql: str) -> Any:
        return _to_arrow(self.spark.sql(sql))

    def batches(self, sql: str) -> Iterator[Any]:
        import pyarrow as pa

        rows: list[dict[str, Any]] = []
        for row in self.spark.sql(sql).toLocalIterator():
            rows.append(row.asDict())
            if len(rows) == FETCH_ROWS:
                yield pa.RecordBatch.from_pylist(rows)
                rows = []
        if rows:
            yield pa.RecordBatch.from_pylist(rows)

    def register(self, name: str, frame: pd.DataFrame) -> str:
        view = self.name(name)
        schema = "k STRING, v LONG"
        rows = [(k, int(v)) for k, v in zip(frame["k"], frame["v"], strict=True)]
        self.spark.createDataFrame(rows, schema).createOrReplaceTempView(view)
        return view

    def literal(self, text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def materialize(self, sql: str) -> str:
        frame = self.spark.sql(sql).persist()
        self.cached.append(frame)
        view = self.name("alignscan_p")
        frame.createOrReplaceTempView(view)
        return view

    def close(self) -> None:
        for frame in self.cached:
            frame.unpersist()
        for view in self.views:
            self.spark.catalog.dropTempView(view)


def _to_arrow(frame: Any) -> Any:
    if hasattr(frame, "toArrow"):  # pyspark >= 4
        return frame.toArrow()
    return frame._collect_as_arrow_table() if hasattr(frame, "_collect_as_arrow_table") \
        else __import__("pyarrow").Table.from_batches(frame._collect_as_arrow())


def count_table(spark_df: Any, survey: Survey, *, lenient: bool = False) -> CountTable:
    """The count table of a Spark DataFrame whose columns are named as the survey's
    source columns (any types; read as text as the Parquet reader does). Bad cells are
    the default engine's errors with the row index (strict: `.responses.errors`, and
    `analyze_counts` refuses; lenient: excluded or set to not answered, and counted).
    The respondent ids stay on the cluster (`.responses.respondent_ids` is None)."""
    source = SourceInfo(file="Spark DataFrame", format="spark", header_rows=0)
    from alignscan.errors import AlignscanError

    run = SparkRunner(spark_df.sparkSession)
    try:
        return _count(run, spark_df, survey, lenient, source, strict_data=False)
    except Fallback as exc:  # only limits of the SQL route remain here
        raise AlignscanError(f"the Spark engine can't count this survey: {exc}") from None
    finally:
        run.close()


def _count(
    run: SparkRunner, spark_df: Any, survey: Survey, lenient: bool, source: SourceInfo,
    *, strict_data: bool, fetch_ids: bool = False,
) -> CountTable:
    """strict_data: any problem raises Fallback (a file: the default engine reports it)."""
    names = [str(c).strip() for c in spark_df.columns]
    checked = header_validation(names, survey, source, lenient, None)
    if checked.errors:
        if strict_data:
            raise Fallback("the header has errors")
        n = spark_df.count()
        rows = RowCounts(read=n, used=0, excluded={_has_errors(): n} if n else {})
        return count_responses(checked).with_responses(replace(checked, rows=rows))
    columns = survey_columns(names, survey)
    src = run.name("alignscan_src")
    spark_df.toDF(*[f"c{j}" for j in range(len(names))]).createOrReplaceTempView(src)
    maps = build_mappings(distinct_values(run, columns, src), columns, survey, tolerant=True)
    dups = _repeated_ids(run, columns, src)
    if maps.clean and not dups:
        table, _, ids = count_sql(run, survey, columns, src, maps=maps, fetch_ids=fetch_ids)
        if ids is not None:
            check_ids(ids)
        return table.with_responses(
            metadata(survey, source, maps.rows, list(checked.warnings), ids))
    if strict_data:
        raise Fallback("not clean")
    if maps.rows == 0:
        return _no_rows(names, survey, source, lenient)
    return _count_unclean(run, spark_df, survey, lenient, source, columns, maps, dups)


def _has_errors() -> str:
    from alignscan.responses.kinds import Exclusion

    return Exclusion.FILE_HAS_ERRORS


def _no_rows(names: list[str], survey: Survey, source: SourceInfo, lenient: bool) -> CountTable:
    """An empty DataFrame: the default engine's "no responses" error."""
    from alignscan.responses.validation import validate

    empty = RawTable(names, {}, np.zeros(0, dtype=np.int64), source, [],
                     np.zeros(0, dtype=bool), first_row=None)
    checked = validate(empty, survey, lenient)
    return count_responses(checked).with_responses(checked)


def _repeated_ids(run: SparkRunner, columns: Columns, src: str) -> str | None:
    """SQL of the (over-)trimmed respondent ids that occur more than once, or None."""
    if columns.respondent_id is None:
        return None
    trimmed = f"regexp_replace(CAST(c{columns.respondent_id} AS STRING), {run.literal(TRIM)}, '')"
    sql = (f"SELECT {trimmed} AS rid FROM {src} WHERE {trimmed} <> '' "
           f"GROUP BY {trimmed} HAVING COUNT(*) > 1")
    found = run.spark.sql(sql).limit(1).count()
    return sql if found else None


def _count_unclean(
    run: SparkRunner, spark_df: Any, survey: Survey, lenient: bool, source: SourceInfo,
    columns: Columns, maps: Mappings, dups: str | None,
) -> CountTable:
    """Validate only the rows with a problem (with their index); strict with errors:
    the errors; otherwise count the rows validation keeps."""
    from alignscan.responses.kinds import Exclusion
    from alignscan.responses.validation import validate

    src = _indexed(run, spark_df)
    problem = _problem_sql(run, columns, maps, dups)
    rows = run.spark.sql(f"SELECT * FROM {src} WHERE {problem}").limit(MAX_PROBLEM_ROWS + 1)
    raw = _raw_rows(rows.toPandas(), [str(c).strip() for c in spark_df.columns], source)
    tagged = survey.model_copy(update={"segments": [*survey.segments, INDEX]})
    checked = validate(raw, tagged, lenient)
    read = maps.rows - int(raw.blank_rows.sum())
    if checked.errors:
        rs = replace(as_metadata(_untag(checked, survey)), rows=RowCounts(
            read=read, used=0, excluded={Exclusion.FILE_HAS_ERRORS: read}))
        return count_responses(rs).with_responses(rs)
    used = {int(v) for v in checked.segments[INDEX]}
    dropped = sorted(set(raw.rows.tolist()) - used)
    excl = run.register("alignscan_excluded", pd.DataFrame(
        {"k": [str(i) for i in dropped], "v": dropped}))
    where = f"WHERE NOT EXISTS (SELECT 1 FROM {excl} x WHERE x.v = src.cidx)"
    table, _, _ = count_sql(run, survey, columns, src, maps=maps, where=where, fetch_ids=False)
    excluded = dict(checked.rows.excluded)
    rs = replace(as_metadata(_untag(checked, survey)), rows=RowCounts(
        read=read, used=read - sum(excluded.values()), excluded=excluded), respondent_ids=None)
    return table.with_responses(rs)


def _untag(rs: ResponseSet, survey: Survey) -> ResponseSet:
    segments = {k: v for k, v in rs.segments.items() if k != INDEX}
    return replace(rs, survey=survey, segments=segments)


def _indexed(run: SparkRunner, spark_df: Any) -> str:
    """A view of the rows with `cidx`, the row index from 1 in partition order (the
    index is stable: the numbered rows are persisted)."""
    from pyspark.sql import functions as F

    names = [f"c{j}" for j in range(len(spark_df.columns))]
    marked = spark_df.toDF(*names).withColumn("_pid", F.spark_partition_id()) \
        .withColumn("_mid", F.monotonically_increasing_id()).persist()
    run.cached.append(marked)
    stats = sorted(marked.groupBy("_pid").agg(F.min("_mid").alias("lo"),
                                              F.count("*").alias("n")).collect())
    offsets, start = [], 1
    for pid, lo, n in stats:
        offsets.append((pid, lo, start))
        start += n
    table = run.spark.createDataFrame(offsets, "pid INT, lo LONG, off LONG")
    indexed = marked.join(F.broadcast(table), marked["_pid"] == table["pid"]) \
        .select(*names, (F.col("_mid") - F.col("lo") + F.col("off")).alias("cidx"))
    view = run.name("alignscan_rows")
    indexed.createOrReplaceTempView(view)
    return view


def _problem_sql(run: SparkRunner, columns: Columns, maps: Mappings, dups: str | None) -> str:
    """A condition true for every row validation might reject (and maybe a few more)."""
    lit = run.literal
    known = ", ".join(lit(k) for k in maps.roles)
    role = f"CAST(c{columns.role} AS STRING)"
    parts = [f"{role} IS NULL" + (f" OR {role} NOT IN ({known})" if known else " OR TRUE")]
    for j, bad in zip(columns.items, maps.bad_items, strict=True):
        texts = [k for k in bad if k is not None]
        if texts:
            parts.append(f"CAST(c{j} AS STRING) IN ({', '.join(lit(k) for k in texts)})")
    if dups is not None:
        trimmed = f"regexp_replace(CAST(c{columns.respondent_id} AS STRING), {lit(TRIM)}, '')"
        parts.append(f"{trimmed} IN (SELECT rid FROM ({dups}) r)")
    return " OR ".join(f"({p})" for p in parts)


def _raw_rows(frame: pd.DataFrame, names: list[str], source: SourceInfo) -> RawTable:
    """The fetched rows as the RawTable a Parquet file with them would give, plus the
    row index as one more column (validated as a segment, to see which rows are kept)."""
    import pyarrow as pa

    from alignscan.responses.model import blank_rows
    from alignscan.responses.parquet_reader import as_text

    if len(frame) > MAX_PROBLEM_ROWS:
        from alignscan.errors import AlignscanError

        raise AlignscanError(f"more than {MAX_PROBLEM_ROWS:,} rows have invalid cells")
    index = frame["cidx"].to_numpy(dtype=np.int64)
    text = {j: as_text(pa.array(frame[f"c{j}"].tolist())) for j in range(len(names))}
    blank = blank_rows(text, len(frame))
    columns = {j: arr.dictionary_encode() for j, arr in text.items()}
    columns[len(names)] = pa.array([str(i) for i in index]).dictionary_encode()
    return RawTable([*names, INDEX], columns, index, source, [], blank, first_row=None)


def local_session(cores: str = "*") -> Any:
    """A local SparkSession (`local[cores]`), quiet, with few shuffle partitions."""
    import os
    import shutil

    from alignscan.errors import AlignscanError

    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise AlignscanError(
            "the spark engine needs pyspark: pip install 'alignscan[spark]' (or make spark)"
        ) from None
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        raise AlignscanError("the spark engine needs Java 17 or later (java is not on PATH)")

    spark = (
        SparkSession.builder.master(f"local[{cores}]").appName("alignscan")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def count_file_spark(
    path: str | Path,
    survey: Survey,
    *,
    lenient: bool = False,
    delimiter: str | None = None,
    header_rows: int | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
    spark: Any = None,
) -> CountTable:
    """`--engine spark`: a CSV or Parquet file counted by a local Spark (`local[*]`,
    unless `spark` is given). As with DuckDB, a file that is not clean (or a layout
    Spark's CSV reader can't follow) is counted by the default engine, whose report
    has every row as a spreadsheet shows it."""
    path = Path(path)
    options: dict[str, Any] = dict(delimiter=delimiter, header_rows=header_rows,
                                   encoding=encoding, header_row=header_row)
    try:
        frame, source = _read(spark or local_session(), path, survey, **options)
        run = SparkRunner(frame.sparkSession)
        try:
            return _count(run, frame, survey, lenient, source, strict_data=True, fetch_ids=True)
        finally:
            run.close()
    except Fallback:
        return count_file_default(path, survey, lenient=lenient, **options)
    except Exception as exc:  # Spark's own errors (a row it can't parse): the default engine
        if type(exc).__module__.startswith(("pyspark", "py4j")):
            return count_file_default(path, survey, lenient=lenient, **options)
        raise


def _read(spark: Any, path: Path, survey: Survey, **options: Any) -> tuple[Any, SourceInfo]:
    """The file as a Spark DataFrame: Parquet as stored, CSV with every column text."""
    from alignscan.counting.engines.duckdb_sql import csv_source
    from alignscan.responses import parquet_reader

    if not path.is_file():
        raise Fallback("no such file")
    with path.open("rb") as fh:
        magic = fh.read(8)
    if parquet_reader.is_parquet(path, magic):
        from alignscan.counting.engines.duckdb_sql import parquet_source

        parquet_source(path)  # types the default reader can't read: it says why
        return spark.read.parquet(str(path)), SourceInfo(
            file=str(path), format="parquet", header_rows=0)
    if magic[:4] == b"PK\x03\x04" or path.suffix.lower() in (".xls", ".xlsx", ".xlsm"):
        raise Fallback("a workbook")
    names, _, source, first_row = csv_source(path, survey, **options)
    if first_row != 1 or source.header_rows != 1:
        raise Fallback("title rows or a header over several rows")
    schema = ", ".join(f"c{j} STRING" for j in range(len(names)))
    frame = spark.read.csv(
        str(path), schema=schema, sep=source.delimiter, header=True, quote='"', escape='"',
        multiLine=True, mode="FAILFAST", encoding="UTF-8",
        ignoreLeadingWhiteSpace=False, ignoreTrailingWhiteSpace=False,
    )
    return frame.toDF(*names), source
