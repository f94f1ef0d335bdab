"""Running the SQL of `sql_plan` through an engine's runner and reading its results into a
count table: counts, atoms, sums, comments and respondent ids, and the reading's
metadata for a clean file."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from alignscan.counting.counts import COUNT_COLUMNS, CommentTally, CountTable, tally_comments
from alignscan.counting.engines.sql_plan import (
    Columns,
    Mappings,
    Query,
    SqlRunner,
    build_mappings,
    counts_sql,
    distinct_values,
    measure_chunks,
    projection,
    rows_sql,
    sums_sql,
)
from alignscan.responses.model import Labels, ResponseSet, RowCounts, SourceInfo
from alignscan.survey import Survey

FETCH_ROWS = 1 << 16  # rows per Arrow batch when comments and ids are fetched


def count_sql(
    run: SqlRunner, survey: Survey, columns: Columns, src: str, *,
    maps: Mappings | None = None, where: str = "", fetch_ids: bool = True,
) -> tuple[CountTable, Mappings, Any]:
    """The count table of the source `src` (columns c0, c1, ...) by SQL, over the rows
    `where` keeps; also the mappings (made here unless given) and the used rows'
    respondent ids (a pyarrow array, or None)."""
    if maps is None:
        maps = build_mappings(distinct_values(run, columns, src), columns, survey)
    q = projection(run, survey, columns, maps, src, where)
    frames, atoms = [], None
    for n, chunk in enumerate(measure_chunks(q, getattr(run, "max_grouping_columns", None))):
        wide = run.table(counts_sql(q, chunk, atoms=n == 0))
        frames.append(_counts_frame(wide, q, chunk, survey, maps))
        atoms = _atoms_frame(wide, q, survey, maps) if n == 0 else atoms
    counts = pd.concat(frames, ignore_index=True)
    sql, names = sums_sql(q)
    sums = _sums_frame(run.table(sql), names, survey)
    comments, ids = _rows(run, q, columns, survey, fetch_ids)
    return CountTable(counts, atoms, sums, comments).normalized(), maps, ids


def _valid(wide: Any, name: str) -> np.ndarray:
    return np.asarray(wide.column(name).is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _ints(wide: Any, name: str) -> np.ndarray:
    return np.asarray(wide.column(name).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)


def _counts_frame(
    wide: Any, q: Query, measures: list[tuple[str, str, bool]], survey: Survey, maps: Mappings
) -> pd.DataFrame:
    """The wide GROUPING SETS result as long `counts` rows: each row belongs to the one
    set whose columns are exactly its non-null ones."""
    groups = np.asarray(list(survey.roles.groups), dtype=object)
    g, n = _ints(wide, "g"), _ints(wide, "n")
    seg_valid = [_valid(wide, s) for s in q.segments]
    parts: dict[str, list[Any]] = {c: [] for c in COUNT_COLUMNS}
    for measure, col, by_segment in measures:
        mine = _valid(wide, col)
        group_level = ~np.any(seg_valid, axis=0) if seg_valid else np.ones(len(g), bool)
        levels: list[tuple[str, np.ndarray, Any]] = [("", group_level, None)]
        if by_segment:
            levels += [(s, seg_valid[c], c) for c, s in enumerate(survey.segments)]
        keys = _ints(wide, col)
        for column, level, c in levels:
            rows = np.flatnonzero(mine & level)
            parts["measure"].append(np.full(len(rows), measure, dtype=object))
            parts["group"].append(groups[g[rows]])
            parts["column"].append(np.full(len(rows), column, dtype=object))
            if c is None:
                parts["value"].append(np.full(len(rows), "", dtype=object))
            else:
                values = np.asarray(maps.segments[c][1], dtype=object)
                parts["value"].append(values[_ints(wide, q.segments[c])[rows]])
            parts["key"].append(keys[rows])
            parts["n"].append(n[rows])
    return pd.DataFrame({c: np.concatenate(v) if v else [] for c, v in parts.items()})


def _atoms_frame(wide: Any, q: Query, survey: Survey, maps: Mappings) -> pd.DataFrame:
    groups = np.asarray(list(survey.roles.groups), dtype=object)
    rows = np.flatnonzero(_valid(wide, q.flags[0])) if q.flags else np.flatnonzero(
        np.all([_valid(wide, s) for s in q.segments], axis=0) if q.segments else _valid(wide, "g"))
    out: dict[str, Any] = {"group": groups[_ints(wide, "g")[rows]]}
    for c, column in enumerate(survey.segments):
        values = np.asarray(maps.segments[c][1], dtype=object)
        out[column] = values[_ints(wide, q.segments[c])[rows]]
    for flag, dim in zip(q.flags, survey.dimensions, strict=True):
        out[f"scored:{dim.id}"] = _ints(wide, flag)[rows].astype(np.int8)
    out["n"] = _ints(wide, "n")[rows]
    return pd.DataFrame(out)


def _sums_frame(result: Any, names: list[str], survey: Survey) -> pd.DataFrame:
    groups = list(survey.roles.groups)
    rows: list[tuple[str, str, int]] = []
    g = result.column("g").to_pylist()
    for x, name in enumerate(names):
        for gi, value in zip(g, result.column(f"x{x}").to_pylist(), strict=True):
            rows.append((groups[gi], name, int(value or 0)))
    return pd.DataFrame(rows, columns=["group", "name", "value"]).astype({"value": object})


def _rows(
    run: SqlRunner, q: Query, columns: Columns, survey: Survey, fetch_ids: bool
) -> tuple[dict[str, dict[str, CommentTally]], Any]:
    """Comment tallies (batch by batch) and the respondent ids of the used rows."""
    import pyarrow as pa

    from alignscan.responses.parquet_reader import as_text

    comments: dict[str, dict[str, CommentTally]] = {c.id: {} for c in survey.comments}
    want_ids = fetch_ids and columns.respondent_id is not None
    sql = rows_sql(q, want_ids, len(columns.comments))
    if sql is None:
        return comments, None
    groups = np.asarray(list(survey.roles.groups), dtype=object)
    ids: list[Any] = []
    for batch in run.batches(sql):
        g = groups[np.asarray(batch.column("g").to_numpy(zero_copy_only=False), dtype=np.int64)]
        for n, cid in enumerate(columns.comments):
            texts = [t.strip() for t in as_text(batch.column(f"cm{n}")).to_pylist()]
            for group, tally in tally_comments(texts, g).items():
                mine = comments[cid]
                mine[group] = mine[group] + tally if group in mine else tally
        if want_ids:
            ids.append(as_text(batch.column("rid")))
    if not want_ids:
        return comments, None
    return comments, pa.chunked_array(ids, type=pa.string()).combine_chunks()


def metadata(
    survey: Survey, source: SourceInfo, rows: int, warnings: list[str], ids: Any
) -> ResponseSet:
    """The reading's metadata for a clean source: every row read is used."""
    return ResponseSet(
        survey=survey,
        source=source,
        codes=np.zeros((0, len(survey.items)), dtype=np.int8),
        item_ids=[i.id for i in survey.items],
        group=Labels.from_codes(np.zeros(0, dtype=np.int32), list(survey.roles.groups)),
        segments={s: Labels.from_codes(np.zeros(0), []) for s in survey.segments},
        comments={c.id: np.asarray([], dtype=object) for c in survey.comments},
        rows=RowCounts(read=rows, used=rows, excluded={}),
        warnings=warnings,
        respondent_ids=ids,
    )


def as_metadata(rs: ResponseSet) -> ResponseSet:
    """A ResponseSet without its rows (what `CountTable.responses` carries)."""
    from dataclasses import replace

    return replace(
        rs,
        codes=np.zeros((0, len(rs.survey.items)), dtype=np.int8),
        group=Labels.from_codes(np.zeros(0, dtype=np.int32), list(rs.survey.roles.groups)),
        segments={s: Labels.from_codes(np.zeros(0), []) for s in rs.survey.segments},
        comments={c.id: np.asarray([], dtype=object) for c in rs.survey.comments},
    )
