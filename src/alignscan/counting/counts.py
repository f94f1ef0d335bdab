"""The count table: everything the analysis needs from responses, as mergeable counts.

Each engine (the in-memory reader, the streaming CSV reader block by block, DuckDB or
Spark SQL) only has to produce a `CountTable`; `analysis.analyze_counts` reads nothing
else. Tables add up (`a + b`), so blocks of a file, or partitions of a warehouse table,
are counted separately and summed. The layout is plain pandas so that a table computed
on a cluster can be saved and finished anywhere (`to_parquet` / `read_count_table`).

`counts` has one row per (measure, group, column, value, key) with `n` respondents:

| measure | level | key |
|---|---|---|
| `item:<item>` | group | recoded scale position, 0 = not answered |
| `score:<dim>` | group, each segment column | T*(k+1)+M when scored, else 0 |
| `cluster:<dim>` | group, each segment column | F*(k+1)+M when scored, else 0 |
| `scored:<dim>:<item>` | group, each segment column | position when scored, else 0 |
| `unscored:<dim>` | group | 1 when some items answered but no score |

M = items of the dimension answered, T = the sum of their positions, F = how many are
favorable; a respondent has a score when M >= ceil(k/2). At group level `column` and
`value` are "". `atoms` counts respondents per (group, every segment value, has-score per
dimension) for the anonymity audit; `sums` holds exact integer sums per group for
Cronbach's alpha and the driver analysis; `comments` the redacted comment texts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alignscan.errors import AlignscanError
from alignscan.privacy.privacy import REDACTION_KINDS, redact
from alignscan.responses import ResponseSet
from alignscan.survey import Survey

__all__ = [
    "COUNT_COLUMNS",
    "CommentTally",
    "CountTable",
    "Measure",
    "count_responses",
    "favorable_positions",
    "measures",
    "read_count_table",
    "tally_comments",
]

COUNT_COLUMNS = ["measure", "group", "column", "value", "key", "n"]
MAX_COMMENTS_PER_GROUP = 500


class CountTableError(AlignscanError, ValueError):
    """A count table that no engine could have made (wrong columns, unknown names...)."""

    code = "count_table_invalid"


@dataclass(frozen=True)
class CommentTally:
    """One group's comments on one question: how many, the first texts in sorted order
    (redacted), and how many e-mails, phones and links were redacted in all of them."""

    count: int = 0
    texts: tuple[str, ...] = ()
    redactions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REDACTION_KINDS, 0))

    def __add__(self, other: CommentTally) -> CommentTally:
        texts = tuple(sorted(self.texts + other.texts)[:MAX_COMMENTS_PER_GROUP])
        red = {k: self.redactions.get(k, 0) + other.redactions.get(k, 0) for k in REDACTION_KINDS}
        return CommentTally(self.count + other.count, texts, red)


def tally_comments(texts: Iterable[Any], groups: Iterable[Any]) -> dict[str, CommentTally]:
    """Comment tallies per group from parallel sequences of texts and group names
    (blank texts are not comments). Each distinct text is redacted once."""
    text_codes, uniques = pd.factorize(np.asarray(list(texts), dtype=object))
    group_codes, names = pd.factorize(np.asarray(list(groups), dtype=object))
    return _tally_codes(text_codes, uniques, group_codes, len(names),
                        [(g, str(name)) for g, name in enumerate(names)])


def _tally_codes(
    text_codes: np.ndarray, uniques: Any, group_codes: np.ndarray, n_groups: int,
    order: list[tuple[int, str]],
) -> dict[str, CommentTally]:
    """The tallies of factorized texts and groups (-1 = none), for the groups of
    `order` (code, name) in that order."""
    ok = (text_codes >= 0) & (group_codes >= 0)
    n_texts = len(uniques)
    table = np.bincount(
        group_codes[ok] * n_texts + text_codes[ok], minlength=n_groups * n_texts
    ).reshape(n_groups, n_texts)
    out = {}
    for g, group in order:
        clean: dict[str, int] = {}
        red = dict.fromkeys(REDACTION_KINDS, 0)
        for t in np.flatnonzero(table[g]):
            if not uniques[t]:
                continue
            n = int(table[g, t])
            text, hits = redact(str(uniques[t]))
            clean[text] = clean.get(text, 0) + n
            for kind, h in hits:
                red[kind] += h * n
        if clean:
            out[group] = CommentTally(sum(clean.values()), _first_texts(clean), red)
    return out


def _first_texts(counted: dict[str, int]) -> tuple[str, ...]:
    """The first MAX_COMMENTS_PER_GROUP texts in sorted order, repeats included."""
    kept: list[str] = []
    for text in sorted(counted):
        kept.extend([text] * min(counted[text], MAX_COMMENTS_PER_GROUP - len(kept)))
        if len(kept) >= MAX_COMMENTS_PER_GROUP:
            break
    return tuple(kept)


@dataclass(frozen=True)
class CountTable:
    """The sufficient statistics of one set of responses (see the module docstring).

    `responses` carries the reading's metadata (source, row counts, errors, warnings,
    respondent ids) as a `ResponseSet` without rows; engines that read no file leave it
    None and `analyze_counts` makes a neutral one."""

    counts: pd.DataFrame
    atoms: pd.DataFrame
    sums: pd.DataFrame
    comments: dict[str, dict[str, CommentTally]]
    responses: ResponseSet | None = None

    def __add__(self, other: CountTable) -> CountTable:
        return sum_tables([self, other])

    def normalized(self) -> CountTable:
        """Duplicate keys summed, zero rows dropped, rows sorted: equal data, equal frames."""
        return CountTable(
            _sum_frame(self.counts, COUNT_COLUMNS[:-1], "n"),
            _sum_frame(self.atoms, list(self.atoms.columns[:-1]), "n"),
            _sum_frame(self.sums, ["group", "name"], "value"),
            self.comments,
            self.responses,
        )

    def with_responses(self, responses: ResponseSet | None) -> CountTable:
        return replace(self, responses=responses)

    def group_sizes(self) -> dict[str, int]:
        """Used respondents per role group (groups without any are left out)."""
        by_group = self.atoms.groupby("group")["n"].sum()
        return {str(g): int(n) for g, n in by_group.items()}

    @property
    def ok(self) -> bool:
        """No invalid cells were found while reading (lenient reading has none)."""
        return self.responses is None or self.responses.ok

    def equals(self, other: CountTable) -> bool:
        """Same counts, atoms, sums and comments (metadata aside)."""
        a, b = self.normalized(), other.normalized()
        return (
            a.counts.equals(b.counts)
            and a.atoms.equals(b.atoms)
            and a.sums.astype({"value": object}).equals(b.sums.astype({"value": object}))
            and _plain(a.comments) == _plain(b.comments)
        )

    def to_parquet(self, folder: str | Path) -> None:
        """Save the table (counts, atoms, sums, comments) as four Parquet files in
        `folder`, all or none (through the one atomic writer)."""
        from alignscan.atomic import write_all

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        t = self.normalized()
        rows = [
            {"comment": cid, "group": g, "count": c.count, "texts": list(c.texts),
             **{f"redacted {k}": c.redactions.get(k, 0) for k in REDACTION_KINDS}}
            for cid, per in t.comments.items() for g, c in per.items()
        ]
        frames = {
            "counts": t.counts,
            "atoms": t.atoms,
            "sums": t.sums.astype({"value": str}),  # exact, whatever the size
            "comments": pd.DataFrame(rows),
        }
        write_all({folder / f"{name}.parquet": _parquet_bytes(f) for name, f in frames.items()})


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    import io

    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def read_count_table(folder: str | Path) -> CountTable:
    """A table saved by `CountTable.to_parquet`; CountTableError when the folder doesn't
    hold one."""
    import pyarrow as pa

    folder = Path(folder)
    try:
        return _read_saved(folder)
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CountTableError(f"{folder}: not a saved count table ({reason})") from None


def _read_saved(folder: Path) -> CountTable:
    sums = pd.read_parquet(folder / "sums.parquet")
    sums["value"] = pd.Series([int(v) for v in sums["value"]], dtype=object)
    comments: dict[str, dict[str, CommentTally]] = {}
    for row in pd.read_parquet(folder / "comments.parquet").to_dict("records"):
        red = {k: int(row.get(f"redacted {k}", 0)) for k in REDACTION_KINDS}  # older: fewer
        tally = CommentTally(int(row["count"]), tuple(row["texts"]), red)
        comments.setdefault(str(row["comment"]), {})[str(row["group"])] = tally
    return CountTable(
        pd.read_parquet(folder / "counts.parquet"),
        pd.read_parquet(folder / "atoms.parquet"),
        sums,
        comments,
    )


def _plain(comments: dict[str, dict[str, CommentTally]]) -> dict[str, Any]:
    out = {}
    for cid, per in comments.items():
        shown = {g: (c.count, c.texts, dict(c.redactions)) for g, c in per.items() if c.count}
        if shown:
            out[cid] = shown
    return out


def _sum_frame(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Rows with equal keys summed, zero rows dropped, sorted by the keys; key columns
    that hold text as objects, counts as int64 (sums stay Python ints)."""
    if not frame.empty:
        frame = frame.groupby(keys, sort=True, dropna=False, observed=True)[value].sum()
        frame = frame.reset_index()
        frame = frame[frame[value] != 0]
    types = {c: np.int64 if c in ("key", "n") or c.startswith("scored:") else object
             for c in frame.columns}
    return frame.reset_index(drop=True).astype(types)


# ----------------------------------------------------------------------------- numpy engine


def favorable_positions(survey: Survey) -> list[int]:
    """The favorable answers as scale positions (1 = the first code)."""
    return [code - survey.scale.start + 1 for code in survey.scale.favorable]


@dataclass(frozen=True)
class _Plan:
    """What the numpy engine needs from a survey, made once and shared by every block
    of a file (a survey is frozen, so it is cached by identity)."""

    survey: Survey
    spans: tuple[tuple[int, int], ...]  # (first column, k) per dimension
    luts: tuple[np.ndarray, ...]  # per dimension: position -> its share of S (`_dimension`)
    reverse: tuple[int, ...]  # the reverse-keyed columns
    width: int  # item keys: scale points + 1
    dim_width: int  # the widest score or cluster key range (each dimension padded to it)
    measures: Any  # strings: item, scored per item (2j, 2j+1), then score, cluster, unscored
    complete: np.ndarray  # (D, dim_width, 3) int64: [1, T, T*T] at score keys with M = k
    alpha_names: tuple[tuple[str, ...], ...]  # per dimension, in the order of `_alpha_sums`
    drivers: tuple[list[str], list[int], list[np.ndarray], int] | None


_PLANS: dict[int, _Plan] = {}


def _plan(survey: Survey) -> _Plan:
    """The survey's plan, made on first use (a few surveys are kept)."""
    plan = _PLANS.get(id(survey))
    if plan is None or plan.survey is not survey:
        if len(_PLANS) >= 8:
            _PLANS.clear()
        plan = _PLANS[id(survey)] = _make_plan(survey)
    return plan


def _make_plan(survey: Survey) -> _Plan:
    """The plan of `survey` (see `_Plan`)."""
    p = survey.scale.points
    fav = np.zeros(p + 1, dtype=np.int64)
    fav[favorable_positions(survey)] = 1
    v = np.arange(p + 1, dtype=np.int64)
    spans, luts, start = [], [], 0
    for dim in survey.dimensions:
        k = len(dim.items)
        lut = (v > 0) + (k + 1) * v + (k + 1) * (k * p + 1) * fav
        luts.append(lut.astype(np.int32 if k * int(lut.max()) < 2**31 else np.int64))
        spans.append((start, k))
        start += k
    dim_width = max((k * p + 1) * (k + 1) for _, k in spans)
    complete = np.zeros((len(spans), dim_width, 3), dtype=np.int64)
    for d, (_, k) in enumerate(spans):
        total = np.arange(k, k * p + 1)
        complete[d, total * (k + 1) + k] = np.stack([total**0, total, total * total], axis=1)
    measures = [f"{kind}:{item.id}" for dim in survey.dimensions for item in dim.items
                for kind in ("item", f"scored:{dim.id}")]
    measures += [f"{kind}:{dim.id}" for dim in survey.dimensions
                 for kind in ("score", "cluster", "unscored")]
    alpha = tuple(
        tuple(f"alpha:{dim.id}:{what}" for what in
              ["n", *(f"{x}:{i.id}" for i in dim.items for x in ("x", "xx")), "t", "tt"])
        for dim in survey.dimensions
    )
    return _Plan(
        survey, tuple(spans), tuple(luts),
        tuple(j for j, item in enumerate(survey.items) if item.reverse),
        p + 1, dim_width, _strings(measures), complete, alpha, _driver_plan(survey),
    )


def _driver_plan(survey: Survey) -> tuple[list[str], list[int], list[np.ndarray], int] | None:
    """The driver variables, their dimensions and score key -> integer score tables
    (every possible key; -1 where no score)."""
    from alignscan.extras.drivers import driver_spec, score_scale

    spec = driver_spec(survey)
    if spec is None:
        return None
    ids = [spec.outcome, *spec.predictors]
    position = {d.id: i for i, d in enumerate(survey.dimensions)}
    scale = score_scale([len(d.items) for d in survey.dimensions])
    p, tables = survey.scale.points, []
    for dim_id in ids:
        k = len(survey.dimensions[position[dim_id]].items)
        table = np.full((k * p + 1) * (k + 1), -1, dtype=np.int64)
        for answered in range(1, k + 1):
            total = np.arange(answered, answered * p + 1)
            table[total * (k + 1) + answered] = total * (scale // answered)
        tables.append(table)
    return ids, [position[i] for i in ids], tables, scale


def _strings(values: Sequence[str]) -> Any:
    """Texts as the array pandas makes of them in a frame; `.take` on it is much faster
    than building the frame from a long object column."""
    return pd.Series(np.asarray(values, dtype=object)).array


@dataclass
class _Dimension:
    """Per respondent: a dimension's M, T, F and the table keys built from them."""

    k: int
    answered: np.ndarray  # M
    total: np.ndarray  # T
    scored: np.ndarray  # bool: M >= ceil(k/2)
    score_key: np.ndarray
    cluster_key: np.ndarray


def _dimension(block: np.ndarray, lut: np.ndarray, points: int) -> _Dimension:
    """One lookup per answer: lut[x] = [x > 0] + (k+1)x + q[x favorable] with
    q = (k+1)(kp+1), so the row sum S holds F = S // q and T*(k+1) + M = S % q."""
    k = block.shape[1]
    s = np.zeros(len(block), dtype=lut.dtype)
    for j in range(k):
        s += np.take(lut, block[:, j])
    fav, code = np.divmod(s, (k + 1) * (k * points + 1))
    total, answered = np.divmod(code, k + 1)
    scored = answered >= math.ceil(k / 2)
    return _Dimension(
        k,
        answered,
        total,
        scored,
        np.where(scored, code, 0),
        np.where(scored, fav * (k + 1) + answered, 0),
    )


def _recoded(codes: np.ndarray, plan: _Plan) -> np.ndarray:
    """Scale positions with reverse-keyed columns recoded (points + 1 - x; 0 stays 0),
    as a new column-major array (columns are read one at a time)."""
    out = np.array(codes, order="F")
    for j in plan.reverse:
        column = out[:, j]
        np.subtract(plan.width, column, out=column, where=column > 0)
    return out


class _Emitter:
    """Collects the long `counts` rows of one level (a set of cells) measure by measure."""

    def __init__(self, cells: np.ndarray, n_cells: int, names: list[tuple[str, str, str]]):
        self.cells, self.n_cells, self.names = cells, n_cells, names
        self.parts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
        self.base: dict[int, np.ndarray] = {}  # cells * width, made once per width

    def add(self, measure: str, keys: np.ndarray, n_keys: int) -> None:
        """Count `keys` (non-negative, below `n_keys`) per cell."""
        if n_keys not in self.base:
            self.base[n_keys] = self.cells * n_keys
        flat_keys = self.base[n_keys] + keys
        if self.n_cells * n_keys <= 4 * len(keys) + (1 << 20):
            flat = np.bincount(flat_keys, minlength=self.n_cells * n_keys)
            nz = np.flatnonzero(flat)
            n = flat[nz]
        else:  # many sparse cells (e.g. 100,000 segment values): count only those present
            nz, n = np.unique(flat_keys, return_counts=True)
        self.parts.append((measure, nz // n_keys, nz % n_keys, n))

    def add_dense(self, measure: str, counts: np.ndarray) -> None:
        """Add already counted cells x keys."""
        width = counts.shape[1]
        nz = np.flatnonzero(counts)
        self.parts.append((measure, nz // width, nz % width, counts.ravel()[nz]))

    def frame(self) -> pd.DataFrame:
        cols: dict[str, list[Any]] = {c: [] for c in COUNT_COLUMNS}
        names = np.asarray(self.names, dtype=object).reshape(-1, 3)
        for measure, cell, key, n in self.parts:
            cols["measure"].append(np.full(len(cell), measure, dtype=object))
            for j, c in enumerate(("group", "column", "value")):
                cols[c].append(names[cell, j])
            cols["key"].append(key.astype(np.int64))
            cols["n"].append(n.astype(np.int64))
        return pd.DataFrame({c: np.concatenate(v) if v else [] for c, v in cols.items()})


def count_responses(rs: ResponseSet) -> CountTable:
    """The count table of validated responses (the reference engine)."""
    survey = rs.survey
    plan = _plan(survey)
    groups = list(survey.roles.groups)
    gidx = np.asarray(rs.group.codes, dtype=np.int64)
    ok = gidx >= 0
    everyone = bool(ok.all())
    if not everyone:
        gidx = gidx[ok]
    scored = _recoded(rs.codes if everyone else rs.codes[ok], plan)
    points = survey.scale.points
    dims = [_dimension(scored[:, a : a + k], lut, points)
            for (a, k), lut in zip(plan.spans, plan.luts, strict=True)]
    seg_values = {c: _segment_strings(rs.segments[c], None if everyone else ok)
                  for c in survey.segments}
    shape = _cross_shape(plan, len(groups), seg_values, len(gidx))
    if shape is not None:
        counts, alpha = _count_cross(plan, groups, gidx, seg_values, scored, dims, shape)
    else:
        levels = _Levels(groups, gidx, seg_values)
        _count_measures(levels, survey, scored, dims)
        counts = pd.concat([em.frame() for em in levels.emitters()], ignore_index=True)
        alpha = _alpha_sums(survey, groups, gidx, scored, dims)
    comments = {
        c.id: _tally_block(rs.comments[c.id], None if everyone else ok, gidx, groups)
        for c in survey.comments
        if c.id in rs.comments
    }
    sums = alpha + _driver_sums(plan, groups, gidx, dims)
    return CountTable(
        counts,
        _atoms(survey, groups, gidx, seg_values, dims),
        pd.DataFrame(sums, columns=["group", "name", "value"]).astype({"value": object}),
        comments,
        None,
    )  # keys are already distinct; `normalized()` sorts when it matters


def _segment_strings(labels: Any, ok: np.ndarray | None) -> tuple[np.ndarray, list[str]]:
    """A segment column's codes on the used rows (`ok`; None = all) and its values."""
    codes = np.asarray(labels.codes, dtype=np.int64)
    return codes if ok is None else codes[ok], [str(v) for v in labels.categories]


def _tally_block(
    texts: Any, ok: np.ndarray | None, gidx: np.ndarray, groups: list[str]
) -> dict[str, CommentTally]:
    """`tally_comments` of a block's used rows, from the group codes already made
    (groups come out in the order they first appear, as there)."""
    texts = np.asarray(texts, dtype=object)
    text_codes, uniques = pd.factorize(texts if ok is None else texts[ok])
    present = np.flatnonzero(np.bincount(gidx, minlength=len(groups)))
    first = sorted((int(np.argmax(gidx == g)), int(g)) for g in present)
    return _tally_codes(text_codes, uniques, gidx, len(groups),
                        [(g, groups[g]) for _, g in first])


def _cross_shape(
    plan: _Plan, n_groups: int, seg_values: dict[str, tuple[np.ndarray, list[str]]], rows: int
) -> list[int] | None:
    """The shape (groups, values of each segment column) of the cross of all cells when
    every measure can be counted densely over it; None for a sparse cross (and no rows)."""
    shape = [n_groups, *(max(len(values), 1) for _, values in seg_values.values())]
    cells, limit = math.prod(shape), max(4 * rows, 1 << 14)
    if not rows or cells * max(3 * plan.width, plan.dim_width) > limit:
        return None
    n_items = sum(k for _, k in plan.spans)
    size = cells * 3 * (plan.width * n_items + plan.dim_width * len(plan.spans))
    return shape if size <= 1 << 22 else None


def _count_cross(
    plan: _Plan, groups: list[str], gidx: np.ndarray,
    seg_values: dict[str, tuple[np.ndarray, list[str]]], scored: np.ndarray,
    dims: list[_Dimension], shape: list[int],
) -> tuple[pd.DataFrame, list[tuple[str, str, int]]]:
    """The `counts` rows and the alpha sums from two dense cubes over the cross of the
    groups and every segment column (one bincount per item, three per dimension); each
    level is a sum of the cubes, and the rows come out in the order `_Levels` gives."""
    combo = gidx
    for (codes, _), size in zip(seg_values.values(), shape[1:], strict=True):
        combo = combo * size + codes
    cells, n_groups, seg_shape = math.prod(shape), shape[0], shape[1:]
    items = _item_cube(plan, combo, cells, scored, dims).reshape(
        -1, n_groups, cells // n_groups, 3, plan.width)
    cube = _dim_cube(plan, combo, cells, dims).reshape(
        len(dims), 3, n_groups, cells // n_groups, plan.dim_width)
    in_dims = items[:, :, :, 1] + items[:, :, :, 2]  # key = the answer when scored, else 0
    in_dims[..., 0] += items[:, :, :, 0].sum(axis=-1)
    m, d = 2 * np.arange(len(items))[:, None], 2 * len(items) + 3 * np.arange(len(dims))[:, None]
    parts: list[tuple[np.ndarray, np.ndarray, int, int]] = [
        (np.stack([items.sum(axis=(2, 3)), in_dims.sum(axis=2)], axis=1)[:, :, None],
         m + [0, 1], 0, 0),
        (cube.sum(axis=3)[:, :, None], d + [0, 1, 2], 0, 0),
    ]
    offset = 1
    for c, (_, values) in enumerate(seg_values.values()):
        other = tuple(a for a in range(len(seg_shape)) if a != c)
        per_item = in_dims.reshape(*in_dims.shape[:2], *seg_shape, plan.width).sum(
            axis=tuple(2 + a for a in other))
        parts.append((per_item.transpose(0, 2, 1, 3)[:, None], m + 1, c + 1, offset))
        per_dim = cube[:, :2].reshape(len(dims), 2, n_groups, *seg_shape, plan.dim_width).sum(
            axis=tuple(3 + a for a in other))
        parts.append((per_dim.transpose(0, 1, 3, 2, 4), d + [0, 1], c + 1, offset))
        offset += len(values)
    counts = _long_rows(plan, parts, groups, seg_values)
    complete_items = items[:, :, :, 2].sum(axis=2)
    return counts, _alpha_cross(plan, groups, complete_items, cube[:, 0].sum(axis=2))


def _item_cube(
    plan: _Plan, combo: np.ndarray, cells: int, scored: np.ndarray, dims: list[_Dimension]
) -> np.ndarray:
    """Respondents per (item, cell, state, answer): state 0 = the item's dimension has
    no score, 1 = it has one, 2 = every item of it answered (the rows of alpha)."""
    size = cells * 3 * plan.width
    out = np.empty((scored.shape[1], size), dtype=np.int64)
    combo3 = combo * 3
    for (start, k), dd in zip(plan.spans, dims, strict=True):
        base = (combo3 + dd.scored + (dd.answered == k)) * plan.width
        for j in range(start, start + k):
            out[j] = np.bincount(base + scored[:, j], minlength=size)
    return out


def _dim_cube(
    plan: _Plan, combo: np.ndarray, cells: int, dims: list[_Dimension]
) -> np.ndarray:
    """Respondents per (dimension, measure: score / cluster / unscored, cell, key)."""
    size = cells * plan.dim_width
    out = np.empty((len(dims), 3, size), dtype=np.int64)
    base = combo * plan.dim_width
    for d, dd in enumerate(dims):
        out[d, 0] = np.bincount(base + dd.score_key, minlength=size)
        out[d, 1] = np.bincount(base + dd.cluster_key, minlength=size)
        out[d, 2] = np.bincount(base + ((dd.answered > 0) & ~dd.scored), minlength=size)
    return out


def _long_rows(
    plan: _Plan, parts: list[tuple[np.ndarray, np.ndarray, int, int]], groups: list[str],
    seg_values: dict[str, tuple[np.ndarray, list[str]]],
) -> pd.DataFrame:
    """The non-zero cells of (measure, family, value, group, key) arrays as the long
    `counts` frame: the measure of (measure, family) from `codes`, one segment column
    (0 = group level) and its values from `offset` in the list of all values."""
    cols: dict[str, list[np.ndarray]] = {c: [] for c in COUNT_COLUMNS}
    for array, codes, column, offset in parts:
        flat = array.ravel()
        nz = np.flatnonzero(flat)
        a, f, v, g, key = np.unravel_index(nz, array.shape)
        for name, values in (("measure", codes[a, f]), ("group", g), ("key", key),
                             ("column", np.full(len(nz), column)), ("value", v + offset),
                             ("n", flat[nz])):
            cols[name].append(values)
    names = {
        "measure": plan.measures,
        "group": _strings(groups),
        "column": _strings(["", *seg_values]),
        "value": _strings(["", *(v for _, values in seg_values.values() for v in values)]),
    }
    return pd.DataFrame({
        c: names[c].take(np.concatenate(v)) if c in names else np.concatenate(v).astype(np.int64)
        for c, v in cols.items()
    })


def _alpha_cross(
    plan: _Plan, groups: list[str], complete_items: np.ndarray, scores: np.ndarray
) -> list[tuple[str, str, int]]:
    """The alpha sums of `_alpha_sums` from the counts of complete rows: answers per
    (item, group) and score keys with M = k per (dimension, group)."""
    v = np.arange(plan.width, dtype=np.int64)
    x, xx = complete_items @ v, complete_items @ (v * v)
    ntt = scores @ plan.complete  # (dimension, group, [n, t, tt])
    rows: list[tuple[str, str, int]] = []
    for d, (start, k) in enumerate(plan.spans):
        per = [ntt[d, :, 0]]
        for j in range(start, start + k):
            per += [x[j], xx[j]]
        values = np.stack([*per, ntt[d, :, 1], ntt[d, :, 2]], axis=1).tolist()
        for name, row in zip(groups, values, strict=True):
            rows += [(name, what, n) for what, n in zip(plan.alpha_names[d], row, strict=True)]
    return rows


def _item_positions(survey: Survey, dims: list[_Dimension]) -> list[tuple[int, int, Any, Any]]:
    """(dimension index, column, item, dimension) for every item, in survey order."""
    out, j = [], 0
    for d, dim in enumerate(survey.dimensions):
        for item in dim.items:
            out.append((d, j, item, dim))
            j += 1
    return out


class _Levels:
    """The cells counts are kept for: role groups, and segment value x group for each
    segment column. When the cross of all segment columns is small, a measure is counted
    once over that cross and summed down to every level (one pass over the rows, not one
    per level); with many values (a sparse cross) each level is counted on its own."""

    def __init__(
        self, groups: list[str], gidx: np.ndarray,
        seg_values: dict[str, tuple[np.ndarray, list[str]]],
    ):
        n = len(groups)
        self.group = _Emitter(gidx, n, [(g, "", "") for g in groups])
        self.segments = []
        self.shape = [n]
        combo = gidx.copy()
        for column, (codes, values) in seg_values.items():
            names = [(g, column, v) for v in values for g in groups]
            self.segments.append(_Emitter(codes * n + gidx, len(values) * n, names))
            self.shape.append(max(len(values), 1))
            combo = combo * self.shape[-1] + codes
        self.combo, self.cells, self.rows = combo, math.prod(self.shape), len(gidx)
        self.base: dict[int, np.ndarray] = {}

    def emitters(self) -> list[_Emitter]:
        return [self.group, *self.segments]

    def count(self, measure: str, keys: np.ndarray, width: int) -> None:
        """Count `keys` (below `width`) at group level and for every segment column."""
        if self.cells * width > max(4 * self.rows, 1 << 16):
            for em in self.emitters():
                em.add(measure, keys, width)
            return
        if width not in self.base:
            self.base[width] = self.combo * width
        flat = np.bincount(self.base[width] + keys, minlength=self.cells * width)
        dense = flat.reshape(*self.shape, width)
        axes = tuple(range(1, len(self.shape)))
        self.group.add_dense(measure, dense.sum(axis=axes))
        for c, em in enumerate(self.segments, start=1):
            per = dense.sum(axis=tuple(a for a in axes if a != c))  # (groups, values, keys)
            em.add_dense(measure, per.transpose(1, 0, 2).reshape(-1, width))


def _count_measures(
    levels: _Levels, survey: Survey, scored: np.ndarray, dims: list[_Dimension]
) -> None:
    """Every measure of the `counts` table, at the levels and widths `measures` declares."""
    spec = {m.name: m for m in measures(survey)}

    def add(name: str, keys: np.ndarray) -> None:
        m = spec[name]
        if m.per_segment:
            levels.count(name, keys, m.width)
        else:
            levels.group.add(name, keys, m.width)

    for d, j, item, dim in _item_positions(survey, dims):
        add(f"item:{item.id}", scored[:, j])
        add(f"scored:{dim.id}:{item.id}", np.where(dims[d].scored, scored[:, j], 0))
    for dim, dd in zip(survey.dimensions, dims, strict=True):
        add(f"score:{dim.id}", dd.score_key)
        add(f"cluster:{dim.id}", dd.cluster_key)
        add(f"unscored:{dim.id}", (dd.answered > 0) & ~dd.scored)


def _atoms(
    survey: Survey, groups: list[str], gidx: np.ndarray,
    seg_values: dict[str, tuple[np.ndarray, list[str]]], dims: list[_Dimension],
) -> pd.DataFrame:
    """Respondents per (group, segment values, has-score per dimension)."""
    columns = [gidx, *(codes for codes, _ in seg_values.values())]
    columns += [dd.scored.astype(np.int64) for dd in dims]
    names = ["group", *seg_values, *(f"scored:{d.id}" for d in survey.dimensions)]
    if not len(gidx):
        return pd.DataFrame({**{c: [] for c in names}, "n": []})
    uniq, n = _distinct_rows(columns)
    out: dict[str, Any] = {"group": np.asarray(groups, dtype=object)[uniq[:, 0]]}
    for c, (column, (_, values)) in enumerate(seg_values.items(), start=1):
        out[column] = np.asarray(values, dtype=object)[uniq[:, c]]
    for d, dim in enumerate(survey.dimensions, start=1 + len(seg_values)):
        out[f"scored:{dim.id}"] = uniq[:, d].astype(np.int8)
    out["n"] = n.astype(np.int64)
    return pd.DataFrame(out)


def _distinct_rows(columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of non-negative integer columns (sorted) and how often each
    occurs: one int64 key per row (mixed radix) when it fits, else numpy's row unique;
    the keys are counted with a bincount when their range is small."""
    radix = [int(c.max(initial=0)) + 1 for c in columns]
    size = math.prod(radix)
    if size >= 1 << 62:
        return np.unique(np.stack(columns, axis=1), axis=0, return_counts=True)
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for c, base in zip(columns, radix, strict=True):
        key *= base
        key += c
    if size <= max(4 * len(key), 1 << 16):
        counted = np.bincount(key, minlength=size)
        uniq_key = np.flatnonzero(counted)
        n = counted[uniq_key]
    else:
        uniq_key, n = np.unique(key, return_counts=True)
    parts = []
    for base in reversed(radix):
        parts.append(uniq_key % base)
        uniq_key = uniq_key // base
    return np.stack(parts[::-1], axis=1), n


def _group_sums(gidx: np.ndarray, n_groups: int, values: np.ndarray) -> tuple[list[int], list[int]]:
    """Exact sums of small non-negative integers `values` and of their squares, per
    group, from counts per (group, value)."""
    width = int(values.max(initial=0)) + 1
    table = np.bincount(gidx * width + values, minlength=n_groups * width)
    table = table.reshape(n_groups, width)
    v = np.arange(width, dtype=np.int64)
    return [int(x) for x in table @ v], [int(x) for x in table @ (v * v)]


def _alpha_sums(
    survey: Survey, groups: list[str], gidx: np.ndarray, scored: np.ndarray,
    dims: list[_Dimension],
) -> list[tuple[str, str, int]]:
    """Exact integer sums per group over the rows with every item of a dimension
    answered, for Cronbach's alpha."""
    rows: list[tuple[str, str, int]] = []
    start, n_groups = 0, len(groups)
    for dim, dd in zip(survey.dimensions, dims, strict=True):
        k = len(dim.items)
        complete = np.flatnonzero(dd.answered == k)
        g = gidx[complete]
        named: list[tuple[str, list[int]]] = [("n", np.bincount(g, minlength=n_groups).tolist())]
        for j, item in enumerate(dim.items):
            x, xx = _group_sums(g, n_groups, scored[complete, start + j].astype(np.int64))
            named += [(f"x:{item.id}", x), (f"xx:{item.id}", xx)]
        t, tt = _group_sums(g, n_groups, dd.total[complete].astype(np.int64))
        named += [("t", t), ("tt", tt)]
        for i, name in enumerate(groups):
            rows += [(name, f"alpha:{dim.id}:{what}", int(v[i])) for what, v in named]
        start += k
    return rows


def _driver_sums(
    plan: _Plan, groups: list[str], gidx: np.ndarray, dims: list[_Dimension]
) -> list[tuple[str, str, int]]:
    """The driver analysis' sums per group (none when the survey has no drivers)."""
    from alignscan.extras.drivers import driver_stats

    if plan.drivers is None:
        return []
    ids, positions, tables, scale = plan.drivers
    keys = [dims[p].score_key for p in positions]
    stats = driver_stats(keys, tables, gidx, len(groups), scale)
    return driver_rows(stats, groups, ids)


def driver_rows(
    stats: Any, groups: Sequence[str], ids: Sequence[str]
) -> list[tuple[str, str, int]]:
    """`DriverStats` as rows of `sums` (the inverse of `analysis` reading them)."""
    rows = []
    for g, name in enumerate(groups):
        rows.append((name, "drivers:n", int(stats.n[g])))
        for a, da in enumerate(ids):
            rows.append((name, f"drivers:sum:{da}", int(stats.sums[g][a])))
            for b, db in enumerate(ids):
                rows.append((name, f"drivers:cross:{da}:{db}", int(stats.cross[g][a][b])))
    return rows


# ----------------------------------------------------------------------------- reading


def neutral_responses(survey: Survey, respondents: int) -> ResponseSet:
    """Metadata for a table that came with none (counted on a cluster): no file, no
    exclusions, every counted respondent used."""
    from alignscan.responses.model import Labels, RowCounts, SourceInfo

    return ResponseSet(
        survey=survey,
        source=SourceInfo(file="count table", format="counts"),
        codes=np.zeros((0, len(survey.items)), dtype=np.int8),
        item_ids=[i.id for i in survey.items],
        group=Labels.from_codes(np.zeros(0, dtype=np.int32), list(survey.roles.groups)),
        segments={},
        comments={},
        rows=RowCounts(read=respondents, used=respondents),
    )


def check_table(table: CountTable, survey: Survey) -> None:
    """Refuse a table that doesn't fit the survey (a clear message, not a wrong result)."""
    want = {
        "counts": COUNT_COLUMNS,
        "atoms": ["group", *survey.segments, *(f"scored:{d.id}" for d in survey.dimensions), "n"],
        "sums": ["group", "name", "value"],
    }
    for name, columns in want.items():
        got = list(getattr(table, name).columns)
        if got != columns:
            raise CountTableError(f"count table {name!r} has columns {got}, expected {columns}")
    groups = set(survey.roles.groups)
    for name in ("counts", "atoms", "sums"):
        unknown = set(getattr(table, name)["group"]) - groups
        if unknown:
            raise CountTableError(
                f"count table {name!r} has groups the survey doesn't define: {sorted(unknown)}"
            )
    measures = set(_measure_widths(survey))
    unknown = set(table.counts["measure"]) - measures
    if unknown:
        raise CountTableError(f"count table has unknown measures: {sorted(unknown)[:5]}")
    widths = _measure_widths(survey)
    keys, n = table.counts["key"].to_numpy(), table.counts["n"].to_numpy()
    limit = table.counts["measure"].map(widths).to_numpy()
    if len(keys) and ((keys < 0) | (keys >= limit) | (n < 0)).any():
        raise CountTableError("count table has keys outside their range or negative counts")
    extra = set(table.counts["column"]) - {"", *survey.segments}
    if extra:
        raise CountTableError(f"count table has unknown segment columns: {sorted(extra)}")


@dataclass(frozen=True)
class Measure:
    """One measure of the `counts` table (see the module docstring): its name, how many
    keys it has (0 .. width-1), and whether it is counted per segment value too."""

    name: str
    width: int
    per_segment: bool


def measures(survey: Survey) -> list[Measure]:
    """The count schema of `survey`, declared once: every measure a table may hold. Each
    engine (numpy, DuckDB and Spark SQL) counts exactly these (tests/test_count_schema.py)."""
    p = survey.scale.points + 1
    out = [Measure(f"item:{i.id}", p, False) for i in survey.items]
    for dim in survey.dimensions:
        k = len(dim.items)
        out += [Measure(f"scored:{dim.id}:{i.id}", p, True) for i in dim.items]
        out += [
            Measure(f"score:{dim.id}", (k * survey.scale.points + 1) * (k + 1), True),
            Measure(f"cluster:{dim.id}", (k + 1) ** 2, True),
            Measure(f"unscored:{dim.id}", 2, False),
        ]
    return out


def _measure_widths(survey: Survey) -> dict[str, int]:
    """Every measure a table for `survey` may hold, with the number of keys it has."""
    return {m.name: m.width for m in measures(survey)}


def build_cubes(
    counts: pd.DataFrame, groups: list[str], segments: list[tuple[str, list[str], dict[str, int]]]
) -> dict[tuple[str, str], np.ndarray]:
    """The long counts as dense arrays per (measure, column): cells x keys, where the
    cells are the groups ("" column) or pooled segment value x group."""
    n_groups = len(groups)
    position = {g: i for i, g in enumerate(groups)}
    cell = counts["group"].map(position).to_numpy(dtype=np.int64).copy()
    column = counts["column"].to_numpy()
    n_cells = {"": n_groups}
    for name, values, lut in segments:
        rows = np.flatnonzero(column == name)
        pooled = counts["value"].iloc[rows].map(lut).to_numpy(dtype=np.int64)
        cell[rows] = pooled * n_groups + cell[rows]
        n_cells[name] = len(values) * n_groups
    keys, n = counts["key"].to_numpy(np.int64), counts["n"].to_numpy(np.int64)
    out = {}
    for (measure, col), idx in counts.groupby(["measure", "column"], sort=False).indices.items():
        if col not in n_cells:
            continue
        arr = np.zeros((n_cells[col], int(keys[idx].max()) + 1), dtype=np.int64)
        np.add.at(arr, (cell[idx], keys[idx]), n[idx])
        out[(measure, col)] = arr
    return out


def score_ranks(
    cubes: dict[tuple[str, str], np.ndarray], dim_id: str, k: int
) -> tuple[np.ndarray, list[Fraction]]:
    """Score keys T*(k+1)+M -> dense ranks ordered like the scores (0 = no score), and
    the exact score of each rank: equal scores (2/1 and 4/2) share a rank."""
    found = cubes.get((f"score:{dim_id}", ""))
    present = np.flatnonzero(found.sum(axis=0)) if found is not None else np.zeros(0, int)
    scores = {int(p): Fraction(int(p) // (k + 1), int(p) % (k + 1)) for p in present if p}
    distinct = sorted(set(scores.values()))
    rank = {score: i + 1 for i, score in enumerate(distinct)}
    lut = np.zeros(int(present.max(initial=0)) + 1, dtype=np.int64)
    for p, score in scores.items():
        lut[p] = rank[score]
    return lut, [Fraction(0), *distinct]


# ----------------------------------------------------------------------------- files

def empty_table(survey: Survey) -> CountTable:
    """The count table of no respondents."""
    atoms = ["group", *survey.segments, *(f"scored:{d.id}" for d in survey.dimensions), "n"]
    return CountTable(
        pd.DataFrame({c: pd.Series([], dtype=object if c in ("measure", "group", "column",
                                                               "value") else np.int64)
                      for c in COUNT_COLUMNS}),
        pd.DataFrame({c: [] for c in atoms}),
        pd.DataFrame({"group": [], "name": [], "value": []}).astype({"value": object}),
        {},
    )


def sum_tables(tables: Sequence[CountTable], survey: Survey | None = None) -> CountTable:
    """The sum of many tables in one pass (`a + b + ...` regroups once, not per pair);
    an empty sequence needs the survey and gives the table of no respondents."""
    if not tables:
        if survey is None:
            raise ValueError("the sum of no count tables needs the survey")
        return empty_table(survey)
    if len(tables) == 1:
        return tables[0]
    comments: dict[str, dict[str, CommentTally]] = {}
    for table in tables:
        for cid, per in table.comments.items():
            mine = comments.setdefault(cid, {})
            for g, tally in per.items():
                mine[g] = mine[g] + tally if g in mine else tally
    first = tables[0]
    return CountTable(
        pd.concat([t.counts for t in tables], ignore_index=True),
        pd.concat([t.atoms for t in tables], ignore_index=True),
        pd.concat([t.sums for t in tables], ignore_index=True),
        comments,
        first.responses,
    ).normalized()


def __getattr__(name: str) -> Any:
    """`counts.count_file` and `counts.ENGINES`, their former home (deprecated): they live
    in `alignscan.counting.engines`, which imports this module, so this one may not import it."""
    if name in ("count_file", "ENGINES"):
        import importlib
        import warnings

        warnings.warn(
            f"alignscan.counting.counts.{name} moved to alignscan.counting.engines.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module("alignscan.counting.engines"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
