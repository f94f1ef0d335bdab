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

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from alignscan.counting.counts import (
    COUNT_COLUMNS,
    CommentTally,
    CountTable,
    favorable_positions,
    measures,
    tally_comments,
)
from alignscan.responses.coding import answer_lookup, code_answer
from alignscan.responses.model import (
    BLANK_SEGMENT,
    Labels,
    RawTable,
    ResponseSet,
    RowCounts,
    SourceInfo,
)
from alignscan.survey import Survey, normalise

__all__ = ["Fallback", "SqlRunner", "count_file_default", "count_file_duckdb", "count_sql"]

FETCH_ROWS = 1 << 16  # rows per Arrow batch when comments and ids are fetched
DECIMAL = "DECIMAL(38,0)"


class Fallback(Exception):
    """The data is not clean (or the engine can't read it as sniffed): the default
    engine must count it. The message says why."""


class SqlRunner(Protocol):
    """What the builder needs from an engine."""

    def table(self, sql: str) -> Any:
        """A small result as a pyarrow Table."""

    def batches(self, sql: str) -> Iterator[Any]:
        """A result as pyarrow record batches of bounded size."""

    def register(self, name: str, frame: pd.DataFrame) -> str:
        """A small lookup table; the name to query it by (`name`, made unique if the
        engine's session is shared)."""

    def literal(self, text: str) -> str:
        """`text` as a SQL string literal of the engine's dialect."""

    def materialize(self, sql: str) -> str | None:
        """Store the result of `sql` (the per-row projection, read by every count
        query) and return its name; None: compute it inline each time."""


# ----------------------------------------------------------------------------- the plan


@dataclass
class Columns:
    """Where the survey's columns are in the source (positions; the source's columns
    are named c0, c1, ...), from the header check."""

    items: list[int]
    role: int
    segments: list[int]
    respondent_id: int | None
    comments: dict[str, int]  # comment id -> position (comments whose column exists)


@dataclass
class Mappings:
    """Raw text (as the engine casts it to a string) -> code, per survey column."""

    items: list[dict[str, int]]  # recoded position (reverse items already reversed)
    roles: dict[str, int]  # group index
    segments: list[tuple[dict[str, int], list[str]]]  # text -> value index, values
    rows: int
    bad_items: list[set[str | None]] = field(default_factory=list)  # tolerant: not answers
    bad_roles: bool = False  # tolerant: some role (or a blank one) matches no group

    @property
    def clean(self) -> bool:
        return not self.bad_roles and not any(self.bad_items) and self.rows > 0


def header_validation(
    names: list[str], survey: Survey, source: SourceInfo, lenient: bool,
    first_row: int | None, notes: Sequence[str] = (),
) -> ResponseSet:
    """The default validation of the header alone (column names, missing columns,
    comment columns): a ResponseSet with its errors and warnings (the "no rows" error
    that an empty table also gets is left out)."""
    from dataclasses import replace

    from alignscan.responses.kinds import ErrorKind
    from alignscan.responses.validation import validate

    empty = RawTable(names, {}, np.zeros(0, dtype=np.int64), source, [],
                     np.zeros(0, dtype=bool), first_row=first_row, notes=list(notes))
    checked = validate(empty, survey, lenient)  # no rows: only the header can be wrong
    errors = [e for e in checked.errors if e.kind != ErrorKind.NO_ROWS]
    counts = {k: v for k, v in checked.error_counts.items() if k != ErrorKind.NO_ROWS}
    return replace(checked, errors=errors, error_counts=counts)


def header_check(
    names: list[str], survey: Survey, source: SourceInfo, lenient: bool,
    first_row: int | None,
) -> tuple[Columns, list[str]]:
    """The positions of the survey's columns and the header's warnings; Fallback when
    the header has an error (the default engine reports it)."""
    checked = header_validation(names, survey, source, lenient, first_row)
    if checked.errors:
        raise Fallback("the header has errors")
    return survey_columns(names, survey), list(checked.warnings)


def survey_columns(names: list[str], survey: Survey) -> Columns:
    """Where the survey's columns are (first of equal names, as validation takes them)."""
    position: dict[str, int] = {}
    for j, name in enumerate(names):
        if name:
            position.setdefault(name, j)
    return Columns(
        [position[i.source_column] for i in survey.items],
        position[survey.roles.column],
        [position[s] for s in survey.segments],
        position[survey.respondent_id] if survey.respondent_id else None,
        {c.id: position[c.source_column] for c in survey.comments
         if c.source_column in position},
    )


def distinct_values(run: SqlRunner, columns: Columns, src: str) -> dict[int, Any]:
    """Every distinct value of the item, role and segment columns: column position ->
    the Arrow table holding them (one scan; Spark: one per 64 columns)."""
    wanted = _coded_columns(columns)
    size = getattr(run, "max_grouping_columns", None) or len(wanted)
    out = {}
    for start in range(0, len(wanted), size):
        chunk = wanted[start : start + size]
        table = run.table(distinct_sql(chunk, src))
        out.update(dict.fromkeys(chunk, table))
    return out


def distinct_sql(wanted: list[int], src: str) -> str:
    """The distinct values of the columns `wanted` in one scan: the value as the engine
    casts it to text (`k`), as stored (`v`), and `GROUPING(v)` to tell the sets apart;
    `n` counts rows."""
    select = []
    for j in wanted:
        select += [f"CAST(c{j} AS STRING) AS k{j}", f"c{j} AS v{j}", f"GROUPING(c{j}) AS r{j}"]
    sets = ", ".join(f"(c{j})" for j in wanted)
    return f"SELECT {', '.join(select)}, COUNT(*) AS n FROM {src} GROUP BY GROUPING SETS ({sets})"


def _coded_columns(columns: Columns) -> list[int]:
    return list(dict.fromkeys([*columns.items, columns.role, *columns.segments]))


def build_mappings(
    distinct: dict[int, Any], columns: Columns, survey: Survey, *, tolerant: bool = False
) -> Mappings:
    """Code the distinct values with the default engine's rules; Fallback when a value
    is not a valid answer or a role matches no group, unless `tolerant` (then they are
    left out of the mappings and noted in `bad_items` / `bad_roles`)."""
    from alignscan.responses.parquet_reader import as_text

    texts: dict[int, dict[str | None, str]] = {}
    rows = 0
    for j in _coded_columns(columns):
        mine = distinct[j].filter(_eq(distinct[j].column(f"r{j}"), 0))
        keys = mine.column(f"k{j}").to_pylist()
        shown = as_text(mine.column(f"v{j}").combine_chunks()).to_pylist()
        pairs: dict[str | None, str] = {}  # None: NULL cells (blank, as the readers see them)
        for key, text in zip(keys, shown, strict=True):
            if pairs.setdefault(key, text) != text:
                raise Fallback(f"two values of column c{j} read as the same text {key!r}")
        texts[j] = pairs
        rows = int(np.sum(mine.column("n").to_numpy()))
    bad: list[set[str | None]] = [set() for _ in columns.items]
    roles = _role_map(texts[columns.role], survey, tolerant)
    return Mappings(
        [_item_map(texts[j], survey, item.reverse, bad[t] if tolerant else None)
         for t, (j, item) in enumerate(zip(columns.items, survey.items, strict=True))],
        roles,
        [_segment_map(texts[j]) for j in columns.segments],
        rows,
        bad,
        len(roles) < len(texts[columns.role]),
    )


def _eq(arr: Any, value: int) -> Any:
    import pyarrow.compute as pc

    return pc.equal(arr, value)


def _item_map(
    texts: dict[str | None, str], survey: Survey, reverse: bool, bad: set[str | None] | None
) -> dict[str, int]:
    lookup = answer_lookup(survey)
    points, start = survey.scale.points, survey.scale.start
    out = {}
    for key, text in texts.items():
        pos = code_answer(text, lookup, points, start)
        if pos is None:
            if bad is None:
                raise Fallback(f"{text!r} is not an answer on the scale")
            bad.add(key)
            continue
        if key is not None:  # NULL: not answered (the CASE's ELSE 0)
            out[key] = points + 1 - pos if reverse and pos else pos
    return out


def _role_map(texts: dict[str | None, str], survey: Survey, tolerant: bool) -> dict[str, int]:
    lookup = survey.role_lookup()
    groups = list(survey.roles.groups)
    out: dict[str, int] = {}
    for key, text in texts.items():
        group = lookup.get(normalise(text)) if key is not None else None
        if key is None or group is None:  # blank (NULL) roles included
            if not tolerant:
                raise Fallback(f"role {text!r} matches no group")
            continue
        out[key] = groups.index(group)
    return out


def _segment_map(texts: dict[str | None, str]) -> tuple[dict[str, int], list[str]]:
    shown = {key: text.strip() or BLANK_SEGMENT for key, text in texts.items() if key is not None}
    values = sorted({*shown.values(), BLANK_SEGMENT})  # (blank) for NULL cells too
    where = {v: i for i, v in enumerate(values)}
    return {key: where[v] for key, v in shown.items()}, values


# ----------------------------------------------------------------------------- the SQL


@dataclass
class Query:
    """The projection's SQL and the names of what it computes."""

    survey: Survey
    p_sql: str = ""  # the per-row projection p: g, s<c>, i<j>
    rows_sql: str = ""  # g, rid (respondent id), cm<n> (comment texts) per row
    rest: str = ""  # the CTEs d, e, k computed from p
    ctes: str = ""  # WITH p, d, e, k
    measures: list[tuple[str, str, bool]] = field(default_factory=list)  # (measure, col, seg)
    flags: list[str] = field(default_factory=list)  # per dimension: scored 0/1 column
    segments: list[str] = field(default_factory=list)  # segment value index columns

    def p_from(self, table: str | None) -> None:
        """Read p from `table` (the engine stored it) or compute it inline."""
        p = f"SELECT * FROM {table}" if table else self.p_sql
        self.ctes = f"WITH p AS ({p}), {self.rest}"


def projection(
    run: SqlRunner, survey: Survey, columns: Columns, maps: Mappings, src: str,
    where: str = "",
) -> Query:
    """The per-respondent projection as CTEs ending in `k`: g, s<c>, i<j> (positions),
    per dimension d: m/t/f (M, T, F), fd (scored 0/1), sd/cd (score and cluster keys),
    ud (unscored), and q<j> (the position when scored)."""
    lit = run.literal
    # small types: DuckDB keeps p as a table (1 byte per answer); sums cast back up
    sel = ["CAST(" + _case(f"src.c{columns.role}", maps.roles, lit, None) + " AS SMALLINT) AS g"]
    joins = []
    for c, (j, (mapping, values)) in enumerate(zip(columns.segments, maps.segments, strict=True)):
        name = run.register(f"alignscan_seg{c}",
                            pd.DataFrame({"k": list(mapping), "v": list(mapping.values())}))
        blank = values.index(BLANK_SEGMENT)
        sel.append(f"CAST(COALESCE(m{c}.v, {blank}) AS INT) AS s{c}")
        joins.append(f"LEFT JOIN {name} m{c} ON CAST(src.c{j} AS STRING) = m{c}.k")
    for j, (col, mapping) in enumerate(zip(columns.items, maps.items, strict=True)):
        sel.append("CAST(" + _case(f"src.c{col}", {k: v for k, v in mapping.items() if v}, lit, 0)
                   + f" AS TINYINT) AS i{j}")
    extra = [] if columns.respondent_id is None else [f"src.c{columns.respondent_id} AS rid"]
    extra += [f"src.c{j} AS cm{n}" for n, j in enumerate(columns.comments.values())]
    p = f"SELECT {', '.join(sel)} FROM {src} src {' '.join(joins)} {where}"
    # ids and comments: read from the source by their own (streamed) query, not stored
    rows = f"SELECT {', '.join([sel[0], *extra])} FROM {src} src {where}" if extra else ""
    q = Query(survey, p_sql=p, rows_sql=rows,
              segments=[f"s{c}" for c in range(len(columns.segments))])
    _dimension_columns(q, survey)
    q.p_from(run.materialize(p))
    return q


def _dimension_columns(q: Query, survey: Survey) -> None:
    """The CTEs d (M, T, F), e (scored flag) and k (keys) per dimension, and the
    measures they give, in the order of the spec."""
    fav = ", ".join(map(str, favorable_positions(survey)))
    seg = {m.name: m.per_segment for m in measures(survey)}  # the schema, declared in counts
    d_cols, e_cols, k_cols = [], [], []
    j = 0
    for d, dim in enumerate(survey.dimensions):
        k = len(dim.items)
        ids = [f"i{j + t}" for t in range(k)]
        d_cols += [
            " + ".join(f"CASE WHEN {i} > 0 THEN 1 ELSE 0 END" for i in ids) + f" AS m{d}",
            " + ".join(f"CAST({i} AS INT)" for i in ids) + f" AS t{d}",
            " + ".join(f"CASE WHEN {i} IN ({fav}) THEN 1 ELSE 0 END" for i in ids) + f" AS f{d}",
        ]
        e_cols.append(f"CASE WHEN m{d} >= {math.ceil(k / 2)} THEN 1 ELSE 0 END AS fd{d}")
        k_cols += [
            f"CASE WHEN fd{d} = 1 THEN t{d} * {k + 1} + m{d} ELSE 0 END AS sd{d}",
            f"CASE WHEN fd{d} = 1 THEN f{d} * {k + 1} + m{d} ELSE 0 END AS cd{d}",
            f"CASE WHEN m{d} >= 1 AND fd{d} = 0 THEN 1 ELSE 0 END AS ud{d}",
        ]
        k_cols += [f"CASE WHEN fd{d} = 1 THEN {i} ELSE 0 END AS q{j + t}"
                   for t, i in enumerate(ids)]
        names = [f"scored:{dim.id}:{item.id}" for item in dim.items]
        q.measures += [(name, f"q{j + t}", seg[name]) for t, name in enumerate(names)]
        q.measures += [(f"{kind}:{dim.id}", f"{col}{d}", seg[f"{kind}:{dim.id}"])
                       for kind, col in (("score", "sd"), ("cluster", "cd"), ("unscored", "ud"))]
        q.flags.append(f"fd{d}")
        j += k
    q.measures[:0] = [(f"item:{item.id}", f"i{t}", seg[f"item:{item.id}"])
                      for t, item in enumerate(survey.items)]
    q.rest = (
        f"d AS (SELECT p.*, {', '.join(d_cols)} FROM p WHERE g IS NOT NULL), "
        f"e AS (SELECT d.*, {', '.join(e_cols)} FROM d), "
        f"k AS (SELECT e.*, {', '.join(k_cols)} FROM e)"
    )


def _case(expr: str, mapping: dict[str, int], lit: Callable[[str], str], other: int | None) -> str:
    if not mapping:
        return "CAST(NULL AS INT)" if other is None else str(other)
    whens = " ".join(f"WHEN {lit(k)} THEN {v}" for k, v in mapping.items())
    tail = "" if other is None else f" ELSE {other}"
    return f"CASE CAST({expr} AS STRING) {whens}{tail} END"


def counts_sql(q: Query, measures: list[tuple[str, str, bool]], atoms: bool) -> str:
    """`measures` at every level (and the atoms) in one GROUP BY GROUPING SETS."""
    keys = [c for _, c, _ in measures]
    flags = q.flags if atoms else []
    sets = []
    for _, c, by_segment in measures:
        sets.append(f"(g, {c})")
        if by_segment:
            sets += [f"(g, {s}, {c})" for s in q.segments]
    if atoms:
        sets.append("(" + ", ".join(["g", *q.segments, *q.flags]) + ")")
    cols = ", ".join(["g", *q.segments, *keys, *flags])
    sets_sql = ", ".join(sets)
    return f"{q.ctes} SELECT {cols}, COUNT(*) AS n FROM k GROUP BY GROUPING SETS ({sets_sql})"


def measure_chunks(q: Query, limit: int | None) -> list[list[tuple[str, str, bool]]]:
    """The measures in chunks whose GROUPING SETS name at most `limit` columns (Spark
    allows 64); the first chunk also carries the atoms."""
    if limit is None:
        return [q.measures]
    room = limit - 1 - len(q.segments)
    first = room - len(q.flags)
    if first < 1:
        raise Fallback("too many segment columns and dimensions for one grouping")
    chunks = [q.measures[:first]]
    rest = q.measures[first:]
    chunks += [rest[i : i + room] for i in range(0, len(rest), room)]
    return chunks


def sums_sql(q: Query) -> tuple[str, list[str]]:
    """Exact integer sums per group (Cronbach's alpha, drivers); the sums' names."""
    from alignscan.extras.drivers import driver_spec, score_scale

    survey = q.survey
    exprs: list[tuple[str, str]] = []
    j = 0
    for d, dim in enumerate(survey.dimensions):
        k = len(dim.items)
        full = f"m{d} = {k}"
        exprs.append((f"alpha:{dim.id}:n", f"CASE WHEN {full} THEN 1 ELSE 0 END"))
        for t, item in enumerate(dim.items):
            exprs.append((f"alpha:{dim.id}:x:{item.id}",
                          f"CASE WHEN {full} THEN CAST(i{j + t} AS INT) ELSE 0 END"))
            exprs.append((f"alpha:{dim.id}:xx:{item.id}",
                          f"CASE WHEN {full} THEN CAST(i{j + t} AS INT) * i{j + t} ELSE 0 END"))
        exprs.append((f"alpha:{dim.id}:t", f"CASE WHEN {full} THEN t{d} ELSE 0 END"))
        exprs.append((f"alpha:{dim.id}:tt", f"CASE WHEN {full} THEN t{d} * t{d} ELSE 0 END"))
        j += k
    spec = driver_spec(survey)
    v_cols = ""
    if spec is not None:
        index = {dim.id: d for d, dim in enumerate(survey.dimensions)}
        scale = score_scale([len(d.items) for d in survey.dimensions])
        ids = [spec.outcome, *spec.predictors]
        v = []
        for a, dim_id in enumerate(ids):
            d = index[dim_id]
            k = len(survey.dimensions[d].items)
            whens = " ".join(f"WHEN {m} THEN CAST(t{d} AS {DECIMAL}) * {scale // m}"
                             for m in range(1, k + 1))
            v.append(f"CASE m{d} {whens} ELSE 0 END AS v{a}")
        v_cols = ", " + ", ".join(v)
        every = " AND ".join(f"fd{index[i]} = 1" for i in ids)
        exprs.append(("drivers:n", f"CASE WHEN {every} THEN 1 ELSE 0 END"))
        for a, da in enumerate(ids):
            exprs.append((f"drivers:sum:{da}", f"CASE WHEN {every} THEN v{a} ELSE 0 END"))
            for b, db in enumerate(ids):
                exprs.append((f"drivers:cross:{da}:{db}",
                              f"CASE WHEN {every} THEN v{a} * v{b} ELSE 0 END"))
    # integer sums are exact (DuckDB: HUGEINT; Spark: BIGINT, ANSI mode raises on
    # overflow); the driver values and their products are DECIMAL(38,0) already
    body = ", ".join(f"SUM({e}) AS x{n}" for n, (_, e) in enumerate(exprs))
    sql = f"{q.ctes}, w AS (SELECT k.*{v_cols} FROM k) SELECT g, {body} FROM w GROUP BY g"
    return sql, [name for name, _ in exprs]


def rows_sql(q: Query, ids: bool, comments: int) -> str | None:
    """The respondent ids (`ids`: every used row, in file order) and the first
    `comments` comment texts with their group (without ids: only rows with a comment),
    or None when there is nothing to fetch."""
    wanted = (["rid"] if ids else []) + [f"cm{n}" for n in range(comments)]
    if not q.rows_sql or not wanted:
        return None
    where = "g IS NOT NULL"
    if not ids:
        texts = " OR ".join(f"CAST(cm{n} AS STRING) <> ''" for n in range(comments))
        where += f" AND ({texts})"
    return f"SELECT {', '.join(wanted)}, g FROM ({q.rows_sql}) r WHERE {where}"


# ----------------------------------------------------------------------------- results


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


# ----------------------------------------------------------------------------- DuckDB


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
