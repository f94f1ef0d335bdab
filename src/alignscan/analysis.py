"""Gap analysis: group statistics, the executive-practitioner gap with its uncertainty,
and anonymity protection.

The engine works on mergeable sufficient statistics: for every (cell, value) pair it
counts respondents, where a cell is a role group (optionally within one segment value)
and a value is an integer key (a scale code for items; the rank of a distinct dimension
score, whose exact value is kept as a fraction). Everything reported (n, mean, sd,
favorable share, Welch's test, Cliff's delta) is a function of those counts, and the
dimensions' clustered favorable interval of counts per (favorable, answered) pair, so chunks
of a file, or partitions on DuckDB or Spark (`GROUP BY cell, value`), can be counted
separately and summed before the statistics are computed. Cronbach's alpha needs integer
sums and sums of squares over complete rows, which are mergeable too. (With rank keys,
chunks must share one key table: the distinct scores of a dimension with k items on a
p-point scale are known in advance, so a shared table is cheap to build.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np

from alignscan import __version__
from alignscan.responses import ResponseSet
from alignscan.stats import (  # re-exported: the statistics used to live here
    MAGNITUDES,
    Z95,
    ClusterSums,
    Welch,
    benjamini_hochberg,
    cliffs_delta,
    clustered_ci,
    fcr_level,
    magnitude,
    newcombe_ci,
    welch,
    welch_ci,
    wilson,
)
from alignscan.survey import Survey

__all__ = [
    "MAGNITUDES",
    "Z95",
    "ClusterSums",
    "Welch",
    "benjamini_hochberg",
    "cliffs_delta",
    "clustered_ci",
    "fcr_level",
    "magnitude",
    "newcombe_ci",
    "welch",
    "welch_ci",
    "wilson",
]
MAX_COMMENTS_PER_GROUP = 500
RESULT_VERSION = 2


class AnalysisError(Exception):
    """The analysis can't run on this data (e.g. a compared group is too small)."""


# ----------------------------------------------------------------------------- scoring


def recode_reverse(codes: np.ndarray, reverse: np.ndarray, points: int) -> np.ndarray:
    """Reverse-keyed columns become points + 1 - x; 0 (not answered) stays 0.

    `codes` are scale positions (1..points), so this is (start + end) - x in codes."""
    out = codes.copy()
    cols = np.flatnonzero(reverse)
    if len(cols):
        block = out[:, cols]
        out[:, cols] = np.where(block > 0, points + 1 - block, 0).astype(out.dtype)
    return out


def dimension_keys(scored: np.ndarray, points: int) -> tuple[np.ndarray, list[Fraction]]:
    """Per-respondent dimension scores as dense integer keys, and the exact score of each.

    A score (mean of the answered items) exists when at least ceil(k/2) of the k items
    are answered; key 0 = no score. Keys are ordered like the scores, so counts per key
    are the sufficient statistics for means, variances and rank tests alike.
    """
    k = scored.shape[1]
    answered = (scored > 0).sum(axis=1)
    total = scored.sum(axis=1, dtype=np.int64)
    valid = answered >= math.ceil(k / 2)
    # (total, answered) pairs are few: at most (k * points + 1) * (k + 1) of them
    pair = np.where(valid, total * (k + 1) + answered, 0)
    present = np.flatnonzero(np.bincount(pair, minlength=1))
    scores = {int(p): Fraction(int(p) // (k + 1), int(p) % (k + 1)) for p in present if p}
    distinct = sorted(set(scores.values()))
    rank = {score: i + 1 for i, score in enumerate(distinct)}
    lut = np.zeros(int(present.max(initial=0)) + 1, dtype=np.int64)
    for p, score in scores.items():
        lut[p] = rank[score]
    return lut[pair], [Fraction(0), *distinct]


# ----------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class ValueTable:
    """The exact value of each key: numerator / denominator (key 0 = not answered)."""

    num: np.ndarray  # int64
    den: np.ndarray  # int64, > 0

    @classmethod
    def of(cls, values: Sequence[int | Fraction]) -> ValueTable:
        fracs = [Fraction(v) for v in values]
        return cls(
            np.asarray([f.numerator for f in fracs], dtype=np.int64),
            np.asarray([f.denominator for f in fracs], dtype=np.int64),
        )

    @cached_property
    def denominators(self) -> list[tuple[int, np.ndarray]]:
        return [(int(d), self.den == d) for d in np.unique(self.den[1:])]


@dataclass(frozen=True)
class Dist:
    """A distribution as counts per key; keys are ordered like their values, and key 0
    means "not answered"."""

    counts: np.ndarray  # int64 counts per key
    values: ValueTable

    @property
    def n(self) -> int:
        return int(self.counts[1:].sum())

    @cached_property
    def _sums(self) -> tuple[int, Fraction, Fraction]:
        """(n, sum, sum of squares), exact: integer sums per denominator."""
        c = self.counts.astype(np.int64, copy=True)
        c[0] = 0
        num = self.values.num
        s1, s2 = Fraction(0), Fraction(0)
        for d, mask in self.values.denominators:
            cm, nm = c[mask], num[mask]
            s1 += Fraction(int((cm * nm).sum()), d)
            s2 += Fraction(int((cm * nm * nm).sum()), d * d)
        return int(c.sum()), s1, s2

    def mean(self) -> float | None:
        n, s1, _ = self._sums
        return float(s1 / n) if n else None

    def sd(self) -> float | None:
        n, s1, s2 = self._sums
        if n < 2:
            return None
        return math.sqrt(float((s2 * n - s1 * s1) / (n * (n - 1))))


def mann_whitney(a: Dist, b: Dist) -> tuple[float | None, float | None]:
    """(two-sided Welch p-value, Cliff's delta) of A vs B. Kept for callers of the v1
    name; the p-value is Welch's t-test since statistics contract v2."""
    ma, mb, sa, sb = a.mean(), b.mean(), a.sd(), b.sd()
    delta, _ = cliffs_delta(a.counts, b.counts)
    if ma is None or mb is None or sa is None or sb is None:
        return None, delta
    return welch(ma, sa, a.n, mb, sb, b.n).p_value(), delta


def _moments(values: np.ndarray, flag: Any) -> tuple[int, int]:
    """(sum, sum of squares) of non-negative integer `values` over rows where flag is 1,
    via counts (no row selection, exact integers)."""
    counts = np.bincount(values.astype(np.int64) * 2 + flag)[1::2]
    v = np.arange(len(counts), dtype=np.int64)
    return int((v * counts).sum()), int((v * v * counts).sum())


def cronbach_alpha(block: np.ndarray) -> tuple[float | None, int]:
    """Cronbach's alpha, listwise over rows with every item answered; (alpha, n).

    Built from integer sums and sums of squares, which are mergeable across chunks."""
    k = block.shape[1]
    complete = (block > 0).all(axis=1)
    n = int(complete.sum())
    if k < 2 or n < 2:
        return None, n
    flag = complete.astype(np.int64)
    item_var = 0  # each variance scaled by n(n-1), which cancels in the ratio
    total = np.zeros(len(block), dtype=np.int64)
    for j in range(k):
        s1, s2 = _moments(block[:, j], flag)
        item_var += s2 * n - s1 * s1
        total += block[:, j]
    t1, t2 = _moments(total, flag)
    total_var = t2 * n - t1 * t1
    if total_var == 0:
        return None, n
    return float(k / (k - 1) * (1 - item_var / total_var)), n


# ----------------------------------------------------------------------------- cells


def count_cells(cells: np.ndarray, n_cells: int, keys: np.ndarray, n_keys: int) -> np.ndarray:
    """Counts per (cell, key) in one pass: the sufficient statistics. `cells` is int64
    with no negative entries (see `_valid_cells`). Returns shape (n_cells, n_keys)."""
    flat = cells * n_keys
    flat += keys
    return np.bincount(flat, minlength=n_cells * n_keys).reshape(n_cells, n_keys)


def _valid_cells(cells: np.ndarray, n_cells: int) -> np.ndarray:
    """Rows outside every cell (negative) go to an extra cell that is dropped later."""
    out = cells.astype(np.int64, copy=True)
    out[out < 0] = n_cells
    return out


def group_cell(
    counts: np.ndarray,
    values: ValueTable,
    favorable: tuple[int, int] | None,
    minimum: int,
    with_counts: np.ndarray | None,
    *,
    first_code: int = 1,
    cluster: ClusterSums | None = None,
) -> dict[str, Any]:
    """The published statistics of one group cell, or {"suppressed": true}.

    `with_counts` is indexed by scale position (1 = the first code, `first_code`);
    `cluster` (dimensions) adds the respondent-clustered standard error of `favorable`."""
    dist = Dist(counts, values)
    n = dist.n
    if n < minimum:
        return {"suppressed": True}
    cell: dict[str, Any] = {"n": n, "mean": dist.mean(), "sd": dist.sd()}
    if favorable is not None:
        fav, answered = favorable
        cell["favorable"] = fav / answered if answered else None
    if cluster is not None:
        var = cluster.variance()
        cell["favorable_se"] = math.sqrt(var) if var is not None else None
    if with_counts is not None:
        cell["counts"] = {
            str(pos + first_code - 1): int(c) for pos, c in enumerate(with_counts) if pos > 0
        }
    return cell


def gap(
    a: np.ndarray,
    b: np.ndarray,
    values: ValueTable,
    fav_a: tuple[int, int],
    fav_b: tuple[int, int],
    cluster: tuple[ClusterSums, ClusterSums] | None = None,
) -> dict[str, Any]:
    """Gap statistics A - B from two count vectors (neither suppressed).

    p from Welch's t-test (the same estimate and se as `mean_ci`); `mean_ci_adjusted`
    is filled in per family by `_apply_q`. The favorable interval is Newcombe's (items)
    or, given `cluster` sums (dimensions, segments), the respondent-clustered one."""
    da, db = Dist(a, values), Dist(b, values)
    ma, mb, sa, sb = da.mean(), db.mean(), da.sd(), db.sd()
    assert ma is not None and mb is not None and sa is not None and sb is not None
    w = welch(ma, sa, da.n, mb, sb, db.n)
    delta, size = cliffs_delta(a, b)
    out: dict[str, Any] = {
        "mean": w.diff,
        "mean_ci": w.ci(),
        "mean_ci_adjusted": None,
        "se": w.se,
        "df": w.df,
        "favorable": None,
        "favorable_ci": None,
        "p_value": w.p_value(),
        "q_value": None,
        "cliffs_delta": delta,
        "magnitude": size,
    }
    if fav_a[1] and fav_b[1]:
        out["favorable"] = fav_a[0] / fav_a[1] - fav_b[0] / fav_b[1]
        if cluster is None:
            out["favorable_ci"] = newcombe_ci(fav_a[0], fav_a[1], fav_b[0], fav_b[1])
        else:
            out["favorable_ci"] = clustered_ci(*cluster)
    return out


# ----------------------------------------------------------------------------- analysis


@dataclass
class _Level:
    """Counts for one unit (an item or a dimension) over all cells."""

    counts: np.ndarray  # (cells, keys) counts of scores
    values: ValueTable  # the score of each key
    fav: np.ndarray  # (cells,) favorable answers
    answered: np.ndarray  # (cells,) answered (for the favorable share)
    codes: np.ndarray | None  # (cells, points+1) answer counts per scale position
    first_code: int = 1  # the code of scale position 1 (scale.start)
    pairs: np.ndarray | None = None  # dimensions: (cells, keys f*(k+1)+m) respondent counts
    k: int = 1  # items in the dimension

    def cluster(self, cell: int) -> ClusterSums | None:
        """The clustered-ratio sums of one cell (dimensions only)."""
        if self.pairs is None:
            return None
        return ClusterSums.from_pair_counts(self.pairs[cell], self.k)

    def extras(self, cell: int) -> dict[str, Any]:
        """Keyword arguments of `group_cell` beyond the counts."""
        return {"first_code": self.first_code, "cluster": self.cluster(cell)}


def _levels(
    scored: np.ndarray,
    survey: Survey,
    cells: np.ndarray,
    n_cells: int,
    dim_keys: list[tuple[np.ndarray, list[Fraction]]],
) -> tuple[list[_Level], list[_Level]]:
    """Counts per cell for every item and dimension (one pass over each column).

    `scored` holds scale positions (1..points); a dimension's answer counts, favorable
    share and clustered sums cover only respondents with a dimension score, the same
    people as its n."""
    points, first = survey.scale.points, survey.scale.start
    favorable = [code - first + 1 for code in survey.scale.favorable]
    item_levels = []
    codes = ValueTable.of([0, *range(first, first + points)])
    cells = _valid_cells(cells, n_cells)
    for k in range(scored.shape[1]):
        counts = count_cells(cells, n_cells + 1, scored[:, k], points + 1)[:n_cells]
        fav, answered = counts[:, favorable].sum(axis=1), counts[:, 1:].sum(axis=1)
        item_levels.append(_Level(counts, codes, fav, answered, counts, first))
    is_fav = np.zeros(points + 1, dtype=np.int8)
    is_fav[favorable] = 1
    dim_levels = []
    start = 0
    for dim, (keys, values) in zip(survey.dimensions, dim_keys, strict=True):
        k = len(dim.items)
        block = scored[:, start : start + k]
        members = item_levels[start : start + k]
        start += k
        counts = count_cells(cells, n_cells + 1, keys, len(values))[:n_cells]
        # answers of respondents with a score: every answer, less those of the few without
        unscored = np.flatnonzero(keys == 0)
        code_counts = np.sum([m.counts for m in members], axis=0)  # item keys are positions
        left_out = cells[unscored]
        for j in range(k):
            code_counts -= count_cells(left_out, n_cells + 1, block[unscored, j], points + 1)[
                :n_cells
            ]
        f = np.add.reduce(is_fav[block], axis=1, dtype=np.int64)
        m = np.add.reduce(block > 0, axis=1, dtype=np.int64)
        pair_keys = np.where(keys > 0, f * (k + 1) + m, 0)
        pairs = count_cells(cells, n_cells + 1, pair_keys, (k + 1) ** 2)[:n_cells]
        shifted = ValueTable.of([0, *(v + first - 1 for v in values[1:])])
        fav, answered = code_counts[:, favorable].sum(axis=1), code_counts[:, 1:].sum(axis=1)
        level = _Level(counts, shifted, fav, answered, code_counts, first, pairs, k)
        dim_levels.append(level)
    return item_levels, dim_levels


def _group_cells(
    level: _Level, cell_ids: list[int], names: list[str], minimum: int, hidden: set[int]
) -> dict[str, Any]:
    out = {}
    for cell, name in zip(cell_ids, names, strict=True):
        if cell in hidden:
            out[name] = {"suppressed": True}
            continue
        out[name] = group_cell(
            level.counts[cell],
            level.values,
            (int(level.fav[cell]), int(level.answered[cell])),
            minimum,
            level.codes[cell] if level.codes is not None else None,
            **level.extras(cell),
        )
    return out


def _gap_of(level: _Level, cell_a: int, cell_b: int, groups: dict[str, Any], a: str, b: str):
    if groups[a].get("suppressed") or groups[b].get("suppressed"):
        return None
    ca, cb = level.cluster(cell_a), level.cluster(cell_b)
    return gap(
        level.counts[cell_a],
        level.counts[cell_b],
        level.values,
        (int(level.fav[cell_a]), int(level.answered[cell_a])),
        (int(level.fav[cell_b]), int(level.answered[cell_b])),
        (ca, cb) if ca is not None and cb is not None else None,
    )


def complementary_hidden(sizes: dict[int, int], minimum: int) -> set[int]:
    """Cells to hide within one segment column for one group: those under the minimum
    and, when exactly one non-empty cell is, also the next-smallest shown cell, so the
    hidden one can't be recovered by subtracting the others from the group total."""
    hidden = {k for k, n in sizes.items() if n < minimum}
    small = [k for k, n in sizes.items() if 0 < n < minimum]
    if len(small) == 1:
        shown = sorted((n, k) for k, n in sizes.items() if k not in hidden)
        if shown:
            hidden.add(shown[0][1])
    return hidden


def analyze(rs: ResponseSet) -> dict[str, Any]:
    """The full gap analysis of validated responses, as a JSON-ready result document."""
    survey = rs.survey
    if rs.errors:
        raise AnalysisError("the responses have errors; fix them or use --lenient")
    minimum = survey.privacy.min_group_size
    a_name, b_name = survey.roles.compare
    groups = list(rs.group.categories)
    group_idx = np.asarray(rs.group.codes, dtype=np.int64)
    sizes = np.bincount(group_idx[group_idx >= 0], minlength=len(groups))
    for name in (a_name, b_name):
        n = int(sizes[groups.index(name)])
        if n < minimum:
            raise AnalysisError(
                f"group {name!r} has fewer than {minimum} respondents "
                f"(privacy.min_group_size), so it can't be compared"
            )
    points = survey.scale.points
    reverse = np.asarray([item.reverse for item in survey.items], dtype=bool)
    # column-major: every statistic walks one item column at a time
    scored = np.asfortranarray(recode_reverse(rs.codes, reverse, points))
    dim_keys = []
    start = 0
    for dim in survey.dimensions:
        dim_keys.append(dimension_keys(scored[:, start : start + len(dim.items)], points))
        start += len(dim.items)

    # overall: one cell per group
    item_levels, dim_levels = _levels(scored, survey, group_idx, len(groups), dim_keys)
    ia, ib = groups.index(a_name), groups.index(b_name)
    all_cells = list(range(len(groups)))
    items_out = []
    tests: list[dict[str, Any]] = []
    share = rs.answered_share()
    for item, level in zip(survey.items, item_levels, strict=True):
        g = _group_cells(level, all_cells, groups, minimum, set())
        gp = _gap_of(level, ia, ib, g, a_name, b_name)
        items_out.append(
            {
                "id": item.id,
                "dimension": survey.item_dimension()[item.id],
                "text": item.text,
                "reverse": item.reverse,
                "answered_share": share[item.id],
                "groups": g,
                "gap": gp,
            }
        )
        if gp is not None:
            tests.append(gp)
    dims_out = []
    start = 0
    for dim, level in zip(survey.dimensions, dim_levels, strict=True):
        alpha, alpha_n = cronbach_alpha(scored[:, start : start + len(dim.items)])
        start += len(dim.items)
        g = _group_cells(level, all_cells, groups, minimum, set())
        gp = _gap_of(level, ia, ib, g, a_name, b_name)
        dims_out.append(
            {
                "id": dim.id,
                "title": dim.title,
                "description": dim.description,
                "actions": list(dim.actions),
                "items": [i.id for i in dim.items],
                "alpha": alpha,
                "alpha_n": alpha_n,
                "groups": g,
                "gap": gp,
            }
        )
        if gp is not None:
            tests.append(gp)
    _apply_q(tests)

    segments_out = _segments(rs, scored, survey, groups, group_idx, minimum, dim_keys)
    group_sizes = {
        name: ({"n": int(n)} if n >= minimum else {"suppressed": True})
        for name, n in zip(groups, sizes, strict=True)
    }
    return {
        "result_version": RESULT_VERSION,
        "alignscan_version": __version__,
        "survey": {"id": survey.id, "version": survey.version, "title": survey.title},
        "source": {
            "file": rs.source.file.replace("\\", "/").rsplit("/", 1)[-1],
            "format": rs.source.format,
            "export_tool": rs.source.export_tool,
        },
        "scale": {
            "points": points,
            "start": survey.scale.start,
            "labels": list(survey.scale.labels),
            "favorable": list(survey.scale.favorable),
        },
        "compare": [a_name, b_name],
        "min_group_size": minimum,
        "min_comment_group_size": survey.privacy.min_comment_group_size,
        "rows": {
            "read": rs.rows.read,
            "used": rs.rows.used,
            "excluded": rs.rows.excluded_total,
            "excluded_by_reason": dict(sorted(rs.rows.excluded.items())),
            "cells_set_missing": dict(sorted(rs.cells_set_missing.items())),
        },
        "groups": group_sizes,
        "items": items_out,
        "dimensions": dims_out,
        "segments": segments_out,
        "comments": _comments(rs, groups, group_idx, sizes),
        "warnings": list(rs.warnings),
    }


def _apply_q(tests: list[dict[str, Any]]) -> None:
    """One family: Benjamini-Hochberg q-values, then the false-coverage-rate adjusted
    interval of every gap (it excludes zero exactly when q < 0.05)."""
    with_p = [t for t in tests if t["p_value"] is not None]
    q_values = benjamini_hochberg([t["p_value"] for t in with_p])
    for t, q in zip(with_p, q_values, strict=True):
        t["q_value"] = q
    level = fcr_level(q_values)
    for t in with_p:
        t["mean_ci_adjusted"] = Welch(t["mean"], t["se"], t["df"]).ci(level)


def _segments(
    rs: ResponseSet,
    scored: np.ndarray,
    survey: Survey,
    groups: list[str],
    group_idx: np.ndarray,
    minimum: int,
    dim_keys: list[tuple[np.ndarray, list[Fraction]]],
) -> list[dict[str, Any]]:
    a_name, b_name = survey.roles.compare
    out: list[dict[str, Any]] = []
    tests: list[dict[str, Any]] = []
    n_groups = len(groups)
    for column in survey.segments:
        seg = rs.segments[column]
        values = [str(v) for v in seg.categories]
        seg_idx = np.asarray(seg.codes, dtype=np.int64)
        cells = np.where((seg_idx >= 0) & (group_idx >= 0), seg_idx * n_groups + group_idx, -1)
        n_cells = len(values) * n_groups
        _, dim_levels = _levels(scored, survey, cells, n_cells, dim_keys)
        # One hidden set for the whole column: a cell hidden for one dimension stays
        # hidden for all, so a dimension where it is shown can't give it away.
        hidden: set[int] = set()
        for level in dim_levels:
            for g in range(n_groups):
                sizes = {
                    v: int(level.counts[v * n_groups + g, 1:].sum()) for v in range(len(values))
                }
                hidden |= {v * n_groups + g for v in complementary_hidden(sizes, minimum)}
        for dim, level in zip(survey.dimensions, dim_levels, strict=True):
            for v, value in enumerate(values):
                cell_ids = [v * n_groups + g for g in range(n_groups)]
                g_cells = _group_cells(level, cell_ids, groups, minimum, hidden)
                gp = _gap_of(
                    level,
                    v * n_groups + groups.index(a_name),
                    v * n_groups + groups.index(b_name),
                    g_cells,
                    a_name,
                    b_name,
                )
                out.append(
                    {
                        "column": column,
                        "value": value,
                        "dimension": dim.id,
                        "groups": g_cells,
                        "gap": gp,
                    }
                )
                if gp is not None:
                    tests.append(gp)
    _apply_q(tests)
    return out


def _comments(
    rs: ResponseSet, groups: list[str], group_idx: np.ndarray, sizes: np.ndarray
) -> list[dict[str, Any]]:
    survey = rs.survey
    threshold = survey.privacy.min_comment_group_size
    out = []
    for comment in survey.comments:
        texts = rs.comments.get(comment.id)
        per_group: dict[str, Any] = {}
        for g, name in enumerate(groups):
            if sizes[g] < threshold or texts is None:
                per_group[name] = {"suppressed": True}
                continue
            mine = [t for t in texts[group_idx == g] if t]
            mine.sort()  # order carries no trace of who answered when
            shown = mine[:MAX_COMMENTS_PER_GROUP]
            per_group[name] = {"count": len(mine), "texts": shown}
        out.append({"id": comment.id, "text": comment.text, "groups": per_group})
    return out


def clean_json(value: Any) -> Any:
    """NaN/inf become None; numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {k: clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    return value
