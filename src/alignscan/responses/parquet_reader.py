"""The Parquet reader: the same `RawTable` as the CSV reader, so a Parquet file is
validated and analysed exactly like a CSV with the same content.

Every column is read as text (numbers as their shortest text, `4.0` as `4`; nulls as
blank cells). The file is read one batch at a time and only the survey's columns are
kept, so memory follows the survey columns, not the file's width. A Parquet file has
no header row: an error's row is the record's position counting from 1 (pandas' row
index + 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from alignscan.responses.kinds import ErrorKind
from alignscan.responses.model import CellError, RawTable, ResponsesError, SourceInfo, blank_rows

PARQUET_MAGIC = b"PAR1"
BATCH_ROWS = 1 << 16  # rows per batch: memory for the text of all columns of one batch


def read_parquet(path: Path, keep_columns: set[str]) -> RawTable:
    """Read `path` as text columns; `keep_columns` are the columns validation needs."""
    import pyarrow as pa

    file = str(path)
    pf, names = open_parquet(path)
    wanted = [j for j, n in enumerate(names) if n in keep_columns]
    parts: dict[int, list[Any]] = {j: [] for j in wanted}
    blank: list[np.ndarray] = []
    try:
        for batch in pf.iter_batches(batch_size=BATCH_ROWS):
            columns, mask = batch_text(batch, names, wanted)
            blank.append(mask)
            for j in wanted:
                parts[j].append(columns[j])
    except (pa.ArrowException, OSError) as exc:
        raise unreadable(file, exc) from None
    n = pf.metadata.num_rows
    columns = {j: concat_dictionaries(parts[j]) for j in wanted}
    source = SourceInfo(file=file, format="parquet", header_rows=0)
    mask = np.concatenate(blank) if blank else np.zeros(0, dtype=bool)
    return RawTable(names, columns, np.arange(1, n + 1), source, [], mask, first_row=None)


def open_parquet(path: Path) -> tuple[Any, list[str]]:
    """(ParquetFile, trimmed column names); a file that isn't Parquet, or holds a column
    that can't be read as text, raises ResponsesError."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    file = str(path)
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        reason = "the file is not a readable Parquet file (" + str(exc).split(":")[0][:80] + ")"
        raise ResponsesError(
            CellError(file, None, None, None, reason, ErrorKind.NOT_PARQUET)
        ) from None
    check_extent(file, pf.metadata)
    for f in pf.schema_arrow:
        if not _textual(f.type):
            reason = f"column {f.name!r} holds {f.type} values, which can't be read as answers"
            raise ResponsesError(CellError(file, None, f.name, None, reason, ErrorKind.UNREADABLE))
    return pf, [f.name.strip() for f in pf.schema_arrow]


def check_extent(file: str, meta: Any) -> None:
    """Refuse, from the footer alone, more columns than the limit or a row group that
    unfolds past its limit (a few compressed bytes can stand for gigabytes)."""
    from alignscan import limits
    from alignscan.responses.csv_reader import check_width

    check_width(file, meta.num_columns)
    most = limits.ROW_GROUP_MB.value()
    for i in range(meta.num_row_groups):
        size = meta.row_group(i).total_byte_size
        if size > most:
            reason = (
                f"row group {i + 1} unfolds to {size:,} bytes (limit {most:,}); "
                f"{limits.ROW_GROUP_MB.hint()}"
            )
            raise ResponsesError(CellError(file, None, None, None, reason, ErrorKind.TOO_LARGE))


def batch_text(batch: Any, names: list[str], wanted: list[int]) -> tuple[dict[int, Any], Any]:
    """The `wanted` columns of one record batch as dictionary-encoded text, and the mask
    of its blank records (every column, wanted or not, empty)."""
    text = {j: as_text(batch.column(j)) for j in range(len(names))}
    mask = blank_rows(text, batch.num_rows)
    return {j: text[j].dictionary_encode() for j in wanted}, mask


def unreadable(file: str, exc: Exception) -> ResponsesError:
    """The error for a Parquet file that fails while its batches are read."""
    reason = "the file is not a readable Parquet file (" + str(exc).split(":")[0][:80] + ")"
    return ResponsesError(CellError(file, None, None, None, reason, ErrorKind.UNREADABLE))


def _textual(type_: Any) -> bool:
    """Types whose values read as one cell of text: not lists, structs, maps or binary."""
    import pyarrow as pa

    if pa.types.is_dictionary(type_):
        type_ = type_.value_type
    nested = pa.types.is_nested(type_) or pa.types.is_binary(type_)
    return not (nested or pa.types.is_large_binary(type_) or pa.types.is_fixed_size_binary(type_))


def as_text(arr: Any) -> Any:
    """One column as a string array, nulls as "" (a blank cell)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_floating(arr.type):
        arr = pc.if_else(pc.is_nan(arr), pa.scalar(None, arr.type), arr)  # NaN: not answered
        whole = pc.equal(pc.floor(arr), arr)
        as_int = pc.if_else(whole, arr, None).cast(pa.int64(), safe=False)
        arr = pc.if_else(whole, as_int.cast(pa.string()), arr.cast(pa.string()))
    elif not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    return pc.fill_null(arr.cast(pa.string()), "")


def concat_dictionaries(chunks: list[Any]) -> Any:
    """One dictionary array from per-batch dictionary arrays (dictionaries unified)."""
    import pyarrow as pa

    if not chunks:
        return pa.array([], type=pa.string()).dictionary_encode()
    return pa.chunked_array(chunks).unify_dictionaries().combine_chunks()


def is_parquet(path: Path, magic: bytes) -> bool:
    """A Parquet file by its suffix or its first bytes."""
    return path.suffix.lower() in (".parquet", ".pq") or magic[:4] == PARQUET_MAGIC
