"""`--engine duckdb`: DuckDB reads the file (CSV or Parquet, out of core, on all
cores) into the same `RawTable` the default readers make; coding, validation and the
statistics are then the default ones, so results are identical.

What DuckDB does here is the reading and the per-column dictionary encoding: the
count-table route (SQL `GROUP BY cell, key`) can't give the anonymity audit its
per-row atoms yet (see docs/architecture.md). Row numbers: DuckDB numbers records,
not lines, so when validation finds errors the file is read again by the default
reader, whose report has every row as a spreadsheet shows it. Files DuckDB can't
parse as the sniffed layout (ragged rows, encodings other than UTF-8, a header over
several lines) go to the default reader too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from alignscan.responses.csv_reader import CsvLayout, sniff_layout
from alignscan.responses.model import RawTable, SourceInfo, blank_rows
from alignscan.responses.parquet_reader import as_text, concat_dictionaries
from alignscan.responses.sniffing import header_hint

BATCH_ROWS = 1 << 20


class Unsupported(Exception):
    """DuckDB can't read this file as sniffed: use the default reader."""


def duckdb_available() -> bool:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


def read_csv_duckdb(
    path: Path,
    survey_columns: set[str],
    keep_columns: set[str],
    delimiter: str | None,
    header_rows: int | None,
    encoding: str | None,
    *,
    skip: int = 0,
    questions: frozenset[str] = frozenset(),
) -> RawTable:
    """A CSV file through DuckDB's reader, laid out as our sniffing found it."""
    layout = sniff_layout(path, delimiter, header_rows, encoding, skip, questions)
    if layout.enc not in ("utf-8", "utf-8-sig") or _multiline(layout):
        raise Unsupported(layout.enc)
    columns = ", ".join(f"'c{j}': 'VARCHAR'" for j in range(len(layout.names)))
    query = (
        "SELECT * FROM read_csv(?, delim = ?, header = false, skip = ?, quote = '\"', "
        f"escape = '\"', auto_detect = false, strict_mode = true, columns = {{{columns}}})"
    )
    params = [str(path), layout.delim, skip + layout.n_header]
    raw = _collect(_batches(query, params), layout.names, keep_columns, str(path))
    raw.rows += skip + layout.n_header
    raw.first_row = skip + 1
    raw.source = SourceInfo(
        file=str(path),
        format="csv",
        encoding="utf-8",
        delimiter=layout.delim,
        header_rows=layout.n_header,
        export_tool=layout.tool if header_rows is None else None,
    )
    raw.header_hint = header_hint(layout.top, survey_columns, skip)
    return raw


def read_parquet_duckdb(path: Path, keep_columns: set[str]) -> RawTable:
    """A Parquet file through DuckDB (same text rules as the default Parquet reader)."""
    import pyarrow.parquet as pq

    try:
        names = [f.name.strip() for f in pq.read_schema(path)]
    except Exception as exc:
        raise Unsupported(str(exc)) from None
    raw = _collect(_batches("SELECT * FROM read_parquet(?)", [str(path)]), names, keep_columns, "")
    raw.first_row = None
    raw.source = SourceInfo(file=str(path), format="parquet", header_rows=0)
    return raw


def _multiline(layout: CsvLayout) -> bool:
    return any("\n" in c or "\r" in c for r in layout.head[: layout.n_header] for c in r)


def _batches(query: str, params: list[Any]) -> Iterator[Any]:
    """Arrow record batches of a DuckDB query; a parse error means Unsupported."""
    import duckdb

    con = duckdb.connect()
    try:
        reader: Any = con.sql(query, params=params).to_arrow_reader(BATCH_ROWS)
        yield from reader
    except duckdb.Error as exc:
        raise Unsupported(str(exc).splitlines()[0]) from None
    finally:
        con.close()


def _collect(batches: Any, names: list[str], keep_columns: set[str], file: str) -> RawTable:
    """Batches -> a RawTable: text columns (nulls blank), kept columns dictionary-encoded,
    blank rows over all columns; rows numbered 1.. (callers shift them)."""
    wanted = [j for j, n in enumerate(names) if n in keep_columns]
    parts: dict[int, list[Any]] = {j: [] for j in wanted}
    blank: list[np.ndarray] = []
    for batch in batches:
        text = {j: as_text(batch.column(j)) for j in range(len(names))}
        blank.append(blank_rows(text, batch.num_rows))
        for j in wanted:
            parts[j].append(text[j].dictionary_encode())
    mask = np.concatenate(blank) if blank else np.zeros(0, dtype=bool)
    columns = {j: concat_dictionaries(parts[j]) for j in wanted}
    source = SourceInfo(file=file, format="csv")
    return RawTable(names, columns, np.arange(1, len(mask) + 1), source, [], mask)
