"""Gap analysis: group statistics, the executive-practitioner gap with its uncertainty,
and anonymity protection, all from a count table (`counts.CountTable`).

`analyze_counts(table)` reads nothing but the table: per (cell, key) respondent counts,
where a cell is a role group (optionally within one segment value) and a key is a scale
position (items) or a dimension score key T*(k+1)+M, ranked here so that equal scores
share a rank; the atoms the anonymity audit needs; and exact integer sums for alpha and
the drivers. Everything reported (n, mean, sd, favorable share, Welch's test, Cliff's
delta, the clustered favorable interval) is a function of those counts, so a table summed
from blocks of a file, or computed by DuckDB or Spark, gives the same result as the rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np

import alignscan.privacy.privacy_int as privacy_int
from alignscan import limits
from alignscan._version import version
from alignscan.analysis.stats import (  # re-exported: the statistics used to live here
    MAGNITUDES,
    SMALL,
    SMALL_FAV,
    Z95,
    ClusterSums,
    Welch,
    benjamini_hochberg,
    cliffs_delta,
    clustered_ci,
    cronbach_alpha_sums,
    el_rows,
    fcr_level,
    magnitude,
    newcombe_ci,
    small_gap,
    welch,
    welch_ci,
    wilson,
)
from alignscan.counting.counts import (
    MAX_COMMENTS_PER_GROUP,
    CommentTally,
    CountTable,
    CountTableError,
    build_cubes,
    check_table,
    count_responses,
    favorable_positions,
    neutral_responses,
    score_ranks,
)
from alignscan.errors import AlignscanError
from alignscan.extras.drivers import DriverStats, driver_result, driver_spec, score_scale
from alignscan.privacy.privacy import (
    REDACTION_KINDS,
    AnswerMargins,
    Plan,
    audit_atoms,
    plan_suppression,
    pool_values,
)
from alignscan.responses import ResponseSet
from alignscan.survey import Survey

__all__ = [
    "MAX_COMMENTS_PER_GROUP",
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
RESULT_VERSION = 2


class AnalysisError(AlignscanError):
    """The analysis can't run on this data (e.g. a compared group is too small)."""

    code = "analysis_impossible"


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


# ----------------------------------------------------------------------------- cells


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
    bounds: tuple[float, float] | None = None,
    *,
    defer: bool = False,
) -> dict[str, Any]:
    """Gap statistics A - B from two count vectors (neither suppressed).

    Both groups at least `WELCH_MIN`: p from Welch's t-test (the same estimate and se as
    `mean_ci`). Otherwise, or with zero spread in both, p and `mean_ci` come from the
    empirical likelihood on the scale `bounds` (see `small_gap`), filled in by
    `fill_small` (at once for a family when `defer`). `mean_ci_adjusted` is filled in per
    family by `_apply_q`. The favorable interval is Newcombe's (items) or, given
    `cluster` sums (dimensions, segments), the respondent-clustered one."""
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
    if small_gap(da.n, db.n, w.se):
        out[SMALL] = _support(a, b, values, bounds)
        if cluster is not None and out["favorable_ci"] is not None:
            out[SMALL_FAV] = _share_support(*cluster)
        if not defer:
            fill_small([out])
            out.pop(SMALL)
    return out


def _support(
    a: np.ndarray, b: np.ndarray, values: ValueTable, bounds: tuple[float, float] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(counts A, counts B, values) over the scale's support: every key, and the ends of
    the scale (`bounds`) with no answers when no key has them."""
    v = (values.num[1:] / values.den[1:]).astype(float)
    ca, cb = a[1 : len(v) + 1].astype(float), b[1 : len(v) + 1].astype(float)
    lo, hi = bounds if bounds is not None else (v.min(), v.max())
    if v[0] > lo:
        v, ca, cb = np.r_[lo, v], np.r_[0.0, ca], np.r_[0.0, cb]
    if v[-1] < hi:
        v, ca, cb = np.r_[v, hi], np.r_[ca, 0.0], np.r_[cb, 0.0]
    return ca, cb, v


def _share_support(a: ClusterSums, b: ClusterSums) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts of respondents per favorable share f/m (0 and 1 always in the support)."""
    assert a.shares is not None and b.shares is not None
    support = sorted({0.0, 1.0, *a.shares, *b.shares})
    index = {s: i for i, s in enumerate(support)}
    ca, cb = np.zeros(len(support)), np.zeros(len(support))
    for counts, shares in ((ca, a.shares), (cb, b.shares)):
        for share, n in shares.items():
            counts[index[share]] += n
    return ca, cb, np.asarray(support)


def fill_small(gaps: list[dict[str, Any]]) -> None:
    """p-value and 95% interval of every small gap (the `SMALL` key), all in one pass:
    the empirical likelihood ratio, and its inversion. The dimension favorable interval
    is the inversion for the mean of each respondent's favorable share, moved to centre
    on the published ratio of shares (the same when everyone answered every item)."""
    small = [g for g in gaps if SMALL in g]
    if small:
        p, ci, _ = el_rows([g[SMALL] for g in small], 0.95)
        assert p is not None
        for g, pv, (lo, hi) in zip(small, p, ci, strict=True):
            g["p_value"], g["mean_ci"] = float(min(pv, 1.0)), [float(lo), float(hi)]
    fav = [g for g in gaps if SMALL_FAV in g]
    if fav:
        _, ci, estimate = el_rows([g.pop(SMALL_FAV) for g in fav], 0.95, test=False)
        shift = np.array([g["favorable"] for g in fav]) - estimate
        for g, (lo, hi), by in zip(fav, ci, shift, strict=True):
            g["favorable_ci"] = [float(lo + by), float(hi + by)]


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

    @property
    def bounds(self) -> tuple[float, float] | None:
        """The ends of the answer scale (the support of the small-group test)."""
        if self.codes is None:
            return None
        return (float(self.first_code), float(self.first_code + self.codes.shape[1] - 2))

    def cluster(self, cell: int) -> ClusterSums | None:
        """The clustered-ratio sums of one cell (dimensions only)."""
        if self.pairs is None:
            return None
        return ClusterSums.from_pair_counts(self.pairs[cell], self.k)

    def extras(self, cell: int) -> dict[str, Any]:
        """Keyword arguments of `group_cell` beyond the counts."""
        return {"first_code": self.first_code, "cluster": self.cluster(cell)}


def _item_level(prep: _Prepared, item_id: str) -> _Level:
    """An item's answer counts per role group."""
    scale = prep.survey.scale
    counts = prep.cube(f"item:{item_id}", "", scale.points + 1)
    codes = ValueTable.of([0, *range(scale.start, scale.start + scale.points)])
    fav = counts[:, prep.favorable].sum(axis=1)
    return _Level(counts, codes, fav, counts[:, 1:].sum(axis=1), counts, scale.start)


def _dimension_level(prep: _Prepared, d: int, column: str) -> _Level:
    """A dimension's counts per cell of one level ("" = role groups, else a segment
    column's values x groups). Answer counts, favorable share and clustered sums cover
    only respondents with a dimension score, the same people as its n."""
    dim, scale = prep.survey.dimensions[d], prep.survey.scale
    k = len(dim.items)
    lut, values = prep.ranks[d]
    raw = prep.cube(f"score:{dim.id}", column, len(lut))
    counts = np.zeros((raw.shape[0], len(values)), dtype=np.int64)
    for key in np.flatnonzero(raw.any(axis=0)):
        counts[:, lut[key]] += raw[:, key]
    pairs = prep.cube(f"cluster:{dim.id}", column, (k + 1) ** 2)
    code_counts = sum(
        (prep.cube(f"scored:{dim.id}:{i.id}", column, scale.points + 1) for i in dim.items),
        np.zeros((raw.shape[0], scale.points + 1), dtype=np.int64),
    )
    shifted = ValueTable.of([0, *(v + scale.start - 1 for v in values[1:])])
    fav = code_counts[:, prep.favorable].sum(axis=1)
    answered = code_counts[:, 1:].sum(axis=1)
    return _Level(counts, shifted, fav, answered, code_counts, scale.start, pairs, k)


def _group_cells(
    level: _Level,
    cell_ids: list[int],
    names: list[str],
    minimum: int,
    hidden: set[int],
    no_counts: frozenset[int] = frozenset(),
) -> dict[str, Any]:
    """Each cell's statistics; `hidden` cells are suppressed, and `no_counts` (group
    indices) keep their statistics but not the pooled answer counts (see privacy)."""
    out: dict[str, Any] = {}
    for g, (cell, name) in enumerate(zip(cell_ids, names, strict=True)):
        if cell in hidden:
            out[name] = {"suppressed": True}
            continue
        withheld = g in no_counts
        out[name] = group_cell(
            level.counts[cell],
            level.values,
            (int(level.fav[cell]), int(level.answered[cell])),
            minimum,
            level.codes[cell] if level.codes is not None and not withheld else None,
            **level.extras(cell),
        )
        if withheld and "n" in out[name] and not privacy_int.ENABLED:  # the old behaviour
            out[name]["counts"] = None
        elif withheld and "n" in out[name]:
            # the share and its standard error with the items' counts would give the
            # withheld counts back (an integer equation): withheld together
            out[name].update(counts=None, favorable=None)
            if "favorable_se" in out[name]:
                out[name]["favorable_se"] = None
    return out


def _without_withheld_share(gp: dict[str, Any] | None, cells: dict[str, Any], a: str, b: str):
    """A gap's favorable difference (and interval) is dropped when either compared cell's
    favorable share is withheld: with the other share it would give it back."""
    if not privacy_int.ENABLED:
        return gp
    if gp is not None and any(cells[g].get("favorable", 0) is None for g in (a, b)):
        gp["favorable"] = None
        gp["favorable_ci"] = None
        gp.pop(SMALL_FAV, None)  # no small-sample interval for it either
    return gp


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
        level.bounds,
        defer=True,
    )


@dataclass
class _Prepared:
    """What every part of the analysis reads, computed once from the count table."""

    survey: Survey
    responses: ResponseSet  # the reading's metadata (no rows)
    table: CountTable
    groups: list[str]
    sizes: np.ndarray  # respondents per group
    segments: list[tuple[str, list[str], dict[str, int]]]  # column, pooled values, raw -> pooled
    ranks: list[tuple[np.ndarray, list[Fraction]]]  # per dimension: score key -> rank, scores
    plan: Plan
    cubes: dict[tuple[str, str], np.ndarray]
    sums: dict[tuple[str, str], int]

    @property
    def favorable(self) -> list[int]:
        return favorable_positions(self.survey)

    def cells(self, column: str) -> int:
        """How many cells a level has: groups, or a segment column's values x groups."""
        if not column:
            return len(self.groups)
        values = next(v for c, v, _ in self.segments if c == column)
        return len(values) * len(self.groups)

    def cube(self, measure: str, column: str, width: int) -> np.ndarray:
        """Dense counts (cells x keys) of one measure at one level, zero-padded."""
        out = np.zeros((self.cells(column), width), dtype=np.int64)
        found = self.cubes.get((measure, column))
        if found is not None:
            out[:, : found.shape[1]] = found[:, :width]
        return out

    def total(self, group: int, name: str) -> int:
        return self.sums.get((self.groups[group], name), 0)


def comparison_refusal(survey: Survey, sizes: dict[str, int]) -> str | None:
    """The one rule for refusing an analysis: a compared group below the minimum size
    (None when both are large enough). `check` and `analyze` both ask this."""
    minimum = survey.privacy.min_group_size
    for name in survey.roles.compare:
        if sizes.get(name, 0) < minimum:
            return (
                f"group {name!r} has fewer than {minimum} respondents (privacy.min_group_size)"
            )
    return None


def prepare(
    source: ResponseSet | CountTable, survey: Survey | None = None, *, refuse_small: bool = True
) -> _Prepared:
    """Count (responses) or take the count table, pool rare segment values, rank the
    dimension scores and plan the suppression."""
    table = source if isinstance(source, CountTable) else count_responses(source)
    if isinstance(source, ResponseSet):
        table = table.with_responses(source)
    survey = survey or (table.responses.survey if table.responses else None)
    if survey is None:
        raise CountTableError("a count table without responses metadata needs its survey")
    check_table(table, survey)
    meta = table.responses or neutral_responses(survey, int(table.atoms["n"].sum()))
    if meta.errors:
        raise AnalysisError(
            "the responses have invalid cells; fix them, or read them leniently "
            "to exclude and count them"
        )
    groups = list(survey.roles.groups)
    atoms = table.atoms
    counted = table.group_sizes()
    sizes = np.asarray([counted.get(g, 0) for g in groups], dtype=np.int64)
    refused = comparison_refusal(survey, dict(zip(groups, sizes.tolist(), strict=True)))
    if refuse_small and refused:
        raise AnalysisError(f"{refused}, so it can't be compared")
    minimum = survey.privacy.min_group_size
    segments = [(c, *pool_values(atoms.groupby(c)["n"].sum(), minimum)) for c in survey.segments]
    cubes = build_cubes(table.counts, groups, segments)
    ranks = [score_ranks(cubes, dim.id, len(dim.items)) for dim in survey.dimensions]
    sums = {(str(g), str(n)): int(v) for g, n, v in table.sums.itertuples(index=False)}
    keep = {groups.index(name) for name in survey.roles.compare}
    answers = answer_margins(survey, cubes, len(groups), segments)
    plan = plan_suppression(
        audit_atoms(atoms, survey, groups, segments, answers, minimum), minimum, keep
    )
    return _Prepared(survey, meta, table, groups, sizes, segments, ranks, plan, cubes, sums)


def answer_margins(
    survey: Survey,
    cubes: dict[tuple[str, str], np.ndarray],
    n_groups: int,
    segments: list[tuple[str, list[str], dict[str, int]]],
) -> list[list[AnswerMargins]]:
    """Per group and dimension, the answer totals its published cells give away (the
    respondents with a score: the dimension's n, mean, sd and favorable share), for the
    anonymity audit's `privacy.answer_risk`."""
    scale = survey.scale
    fav = np.zeros(scale.points + 1, dtype=bool)
    fav[favorable_positions(survey)] = True
    pos = np.arange(scale.points + 1)
    weights = np.stack([fav, ~fav, pos - 1, scale.points - pos]).astype(np.int64)
    weights[:, 0] = 0  # key 0: no answer

    def totals(dim: Any, column: str, cells: int) -> np.ndarray:  # (cells, families)
        out = np.zeros((cells, scale.points + 1), dtype=np.int64)
        for item in dim.items:
            found = cubes.get((f"scored:{dim.id}:{item.id}", column))
            if found is not None:
                out[:, : found.shape[1]] += found[:, : scale.points + 1]
        return out @ weights.T

    out: list[list[AnswerMargins]] = [[] for _ in range(n_groups)]
    for d, dim in enumerate(survey.dimensions):
        group = totals(dim, "", n_groups)
        per_col = [totals(dim, c, len(v) * n_groups) for c, v, _ in segments]
        for g in range(n_groups):
            cols = []
            for arr in per_col:
                mine = arr[g :: n_groups].T  # (families, values)
                cols.append(np.concatenate([mine, (group[g] - mine.sum(axis=1))[:, None]], 1))
            out[g].append(AnswerMargins(d, group[g], cols, len(dim.items) == 1))
    return out


def analyze(rs: ResponseSet) -> dict[str, Any]:
    """The full gap analysis of validated responses, as a JSON-ready result document."""
    return analyze_counts(count_responses(rs).with_responses(rs))


def analyze_counts(
    table: CountTable, survey: Survey | None = None, *, weighting: Any = None
) -> dict[str, Any]:
    """The full gap analysis from a count table (any engine's), as a result document.

    `survey` defaults to the one the table's responses were read with; `weighting` (a
    `weighting.Weighting`) weights the compared groups' items and dimensions."""
    prep = prepare(table, survey)
    survey = prep.survey
    minimum = survey.privacy.min_group_size
    a_name, b_name = survey.roles.compare
    groups = prep.groups
    hidden = prep.plan.hidden_groups
    ia, ib = groups.index(a_name), groups.index(b_name)
    all_cells = list(range(len(groups)))
    tests: list[dict[str, Any]] = []
    items_out = []
    item_levels = [_item_level(prep, item.id) for item in survey.items]
    for item, level in zip(survey.items, item_levels, strict=True):
        g = _group_cells(level, all_cells, groups, minimum, hidden)
        gp = _gap_of(level, ia, ib, g, a_name, b_name)
        items_out.append(
            {
                "id": item.id,
                "dimension": survey.item_dimension()[item.id],
                "text": item.text,
                "reverse": item.reverse,
                "answered_share": None,
                "groups": g,
                "gap": gp,
            }
        )
        if gp is not None:
            tests.append(gp)
    _answered_shares(items_out, item_levels, prep)
    _add_answer_counts(items_out, survey.scale.start, survey.scale.points)
    no_counts = _withheld_counts(prep, items_out)
    dims_out = []
    for d, dim in enumerate(survey.dimensions):
        level = _dimension_level(prep, d, "")
        g = _group_cells(level, all_cells, groups, minimum, hidden, no_counts[d])
        gp = _without_withheld_share(_gap_of(level, ia, ib, g, a_name, b_name), g, a_name, b_name)
        dims_out.append({**_dimension_head(dim, d, prep), "groups": g, "gap": gp})
        if gp is not None:
            tests.append(gp)
    section = None
    if weighting is not None:
        from alignscan.extras.weighting import apply_weights

        tests, section = apply_weights(weighting, prep, items_out, dims_out)
        for unit in items_out + dims_out:  # weighted gaps replace the small-group test
            for key in (SMALL, SMALL_FAV):
                (unit["gap"] or {}).pop(key, None)
    _apply_q(tests)
    document = _document(prep, items_out, dims_out, _segments(prep, no_counts))
    if section is not None:
        document["weighting"] = section
    return document


def group_labels(survey: Any) -> dict[str, str]:
    """Display name of every role group: the survey's `roles.labels`, else the default."""
    from alignscan.result.findings import default_label

    return {g: survey.roles.labels.get(g) or default_label(g) for g in survey.roles.groups}


def _add_answer_counts(items_out: list[dict[str, Any]], first: int, points: int) -> None:
    """Each shown item cell's counts per code as people answered (`answer_counts`): for a
    reverse-keyed item the mirror of the recoded `counts` (a bijection of published
    figures, so nothing new about respondents), for the others the same counts."""
    last = first + points - 1
    for item in items_out:
        for cell in item["groups"].values():
            counts = cell.get("counts")
            if counts is None:
                continue
            if item["reverse"]:
                mirrored = {first + last - int(code): n for code, n in counts.items()}
                cell["answer_counts"] = {str(c): mirrored[c] for c in sorted(mirrored)}
            else:
                cell["answer_counts"] = dict(counts)


def check_figures(source: ResponseSet | CountTable) -> dict[str, Any]:
    """The figures `check` shows, under the same suppression as the analysis: respondents
    per group, per segment value and group, the row totals and each item's answered share."""
    prep = prepare(source, refuse_small=False)
    minimum = prep.survey.privacy.min_group_size
    plan = prep.plan
    hidden = {"suppressed": True, "below": minimum}
    groups = {
        name: hidden if g in plan.hidden_groups else {"n": int(prep.sizes[g])}
        for g, name in enumerate(prep.groups)
    }
    segments = []
    n_groups = len(prep.groups)
    for col, (column, values, lut) in enumerate(prep.segments):
        counts = np.zeros(len(values) * n_groups, dtype=np.int64)
        position = {g: i for i, g in enumerate(prep.groups)}
        by = prep.table.atoms.groupby([column, "group"])["n"].sum()
        for (value, group), n in by.items():
            counts[lut[value] * n_groups + position[group]] += int(n)
        for v, value in enumerate(values):
            cells = {
                name: (
                    hidden if plan.cell_hidden(g, col, v) else {"n": int(counts[v * n_groups + g])}
                )
                for g, name in enumerate(prep.groups)
            }
            segments.append({"column": column, "value": value, "groups": cells})
    shares = {}
    for item in prep.survey.items:
        answered = prep.cube(f"item:{item.id}", "", prep.survey.scale.points + 1)[:, 1:].sum(axis=1)
        shares[item.id] = answered_share(answered, prep)
    rows = _rows(prep.responses, plan, {})
    rows.pop("comment_redactions")
    return {"groups": groups, "segments": segments, "answered_share": shares, "rows": rows}


def _document(
    prep: _Prepared,
    items_out: list[dict[str, Any]],
    dims_out: list[dict[str, Any]],
    segments_out: list[dict[str, Any]],
) -> dict[str, Any]:
    survey, rs = prep.survey, prep.responses
    minimum = survey.privacy.min_group_size
    group_sizes = {
        name: ({"n": int(n)} if g not in prep.plan.hidden_groups else {"suppressed": True})
        for g, (name, n) in enumerate(zip(prep.groups, prep.sizes, strict=True))
    }
    comments, redactions = _comments(prep)
    result = {
        "result_version": RESULT_VERSION,
        "alignscan_version": version(),
        "survey": {"id": survey.id, "version": survey.version, "title": survey.title},
        "source": {
            "file": rs.source.file.replace("\\", "/").rsplit("/", 1)[-1],
            "format": rs.source.format,
            "export_tool": rs.source.export_tool,
        },
        "scale": {
            "points": survey.scale.points,
            "start": survey.scale.start,
            "labels": list(survey.scale.labels),
            "favorable": list(survey.scale.favorable),
        },
        "compare": list(survey.roles.compare),
        "group_labels": group_labels(survey),
        "min_group_size": minimum,
        "min_comment_group_size": survey.privacy.min_comment_group_size,
        "rows": _rows(rs, prep.plan, redactions),
        "groups": group_sizes,
        "items": items_out,
        "dimensions": dims_out,
        "segments": segments_out,
        "comments": comments,
        "privacy": {**_privacy_summary(prep.plan, minimum), "protective_hides": _why(prep)},
        "warnings": [*rs.warnings, *_audit_warnings(prep.plan)],
        "detectable_gap": detectable_gap(prep, items_out, dims_out),
    }
    if survey.report is not None:
        result["report"] = survey.report.model_dump(exclude_none=True)
    drivers = _drivers(prep)
    if drivers is not None:
        for g in prep.plan.hidden_groups:  # a hidden group stays hidden here too
            drivers["groups"][prep.groups[g]] = {"suppressed": True}
        result["drivers"] = drivers
    return result


def detectable_gap(
    prep: _Prepared, items_out: list[dict[str, Any]], dims_out: list[dict[str, Any]]
) -> dict[str, Any]:
    """The smallest gap the data can tell from noise: the median half-width of the
    adjusted intervals of the item gaps and of the dimension gaps (a gap is flagged
    exactly when its adjusted interval excludes zero), and the smaller compared group."""
    names = list(prep.survey.roles.compare)
    sizes = [int(prep.sizes[prep.groups.index(g)]) for g in names]
    small = int(np.argmin(sizes))

    def median_half(units: list[dict[str, Any]]) -> float | None:
        halves = [
            (u["gap"]["mean_ci_adjusted"][1] - u["gap"]["mean_ci_adjusted"][0]) / 2
            for u in units
            if u["gap"] is not None and u["gap"]["mean_ci_adjusted"] is not None
        ]
        return float(np.median(halves)) if halves else None

    return {
        "group": names[small],
        "n": sizes[small],
        "items": median_half(items_out),
        "dimensions": median_half(dims_out),
    }


def _drivers(prep: _Prepared) -> dict[str, Any] | None:
    """The driver block from the exact sums of the count table; None without drivers."""
    spec = driver_spec(prep.survey)
    if spec is None:
        return None
    ids = [spec.outcome, *spec.predictors]
    n_groups, v = len(prep.groups), len(ids)
    n = np.asarray([prep.total(g, "drivers:n") for g in range(n_groups)], dtype=np.int64)
    sums = np.zeros((n_groups, v), dtype=object)
    cross = np.zeros((n_groups, v, v), dtype=object)
    for g in range(n_groups):
        for a, da in enumerate(ids):
            sums[g, a] = prep.total(g, f"drivers:sum:{da}")
            for b, db in enumerate(ids):
                cross[g, a, b] = prep.total(g, f"drivers:cross:{da}:{db}")
    scale = score_scale([len(d.items) for d in prep.survey.dimensions])
    return driver_result(DriverStats(n, sums, cross, scale), prep.groups, spec)


def _rows(rs: ResponseSet, plan: Plan, redactions: dict[str, int]) -> dict[str, Any]:
    """Row counts; the totals are withheld when they would give a hidden group's size."""
    withheld = plan.withhold_totals
    return {
        "read": None if withheld else rs.rows.read,
        "used": None if withheld else rs.rows.used,
        "excluded": None if withheld else rs.rows.excluded_total,
        "excluded_by_reason": dict(sorted(rs.rows.excluded.items())),
        "cells_set_missing": dict(sorted(rs.cells_set_missing.items())),
        "comment_redactions": redactions,
    }


def _privacy_summary(plan: Plan, minimum: int) -> dict[str, Any]:
    return {
        "min_group_size": minimum,
        "segment_cells": plan.total_cells,
        "cells_hidden_small": plan.small_cells,
        "cells_hidden_protective": plan.protective_cells,
        "groups_hidden": len(plan.hidden_groups),
        "row_totals_withheld": plan.withhold_totals,
        "pooled_counts_withheld": plan.pooled_withheld,
    }


def _why(prep: _Prepared) -> list[dict[str, Any]]:
    """Each protectively hidden segment cell and why, in general words: never the small
    combination of segment values it protects (naming it would tell the reader that
    combination holds 1 .. minimum - 1 people)."""
    out = []
    for g, cells in sorted(prep.plan.reasons.items()):
        for col, v in cells:
            column, values, _ = prep.segments[col]
            out.append({
                "group": prep.groups[g], "column": column, "value": values[v],
                "protects": {
                    "group": prep.groups[g],
                    "reason": "hidden so that a smaller group of respondents, in this "
                    "cell and others, can't be worked out from the published figures",
                },
            })
    return out


def _dimension_head(dim: Any, d: int, prep: _Prepared) -> dict[str, Any]:
    """A dimension's description and reliability. Alpha is taken over the respondents of
    shown groups only (a hidden group's completeness would otherwise be derivable)."""
    shown = [g for g in range(len(prep.groups)) if g not in prep.plan.hidden_groups]

    def total(name: str) -> int:
        return sum(prep.total(g, f"alpha:{dim.id}:{name}") for g in shown)

    k = len(dim.items)
    n_complete = total("n")
    items = [(total(f"x:{i.id}"), total(f"xx:{i.id}")) for i in dim.items]
    alpha = cronbach_alpha_sums(n_complete, items, (total("t"), total("tt")))
    alpha_n: int | None = n_complete
    if n_complete < prep.survey.privacy.min_group_size:  # too few complete answers to publish
        alpha = None
        alpha_n = 0 if n_complete == 0 else None
    return {
        "id": dim.id,
        "title": dim.title,
        "description": dim.description,
        "actions": list(dim.actions),
        "items": [i.id for i in dim.items],
        "alpha": alpha,
        "alpha_n": alpha_n if k > 1 else None,  # k=1: it would be an item n
    }


def answered_share(answered: np.ndarray, prep: _Prepared) -> float | None:
    """Share of respondents who answered an item (`answered`: answerers per group), over
    the shown groups whose item cell is shown (at least the minimum answered) or has no
    answer at all, so the share adds nothing to the published cells."""
    minimum = prep.survey.privacy.min_group_size
    base = [
        g
        for g in range(len(prep.groups))
        if g not in prep.plan.hidden_groups and (answered[g] >= minimum or answered[g] == 0)
    ]
    people = int(prep.sizes[base].sum()) if base else 0
    return int(np.asarray(answered)[base].sum()) / people if people else None


def _answered_shares(
    items_out: list[dict[str, Any]], item_levels: list[_Level], prep: _Prepared
) -> None:
    for item, level in zip(items_out, item_levels, strict=True):
        item["answered_share"] = answered_share(level.answered[: len(prep.groups)], prep)


def _withheld_counts(prep: _Prepared, items_out: list[dict[str, Any]]) -> list[frozenset[int]]:
    """Per dimension, the groups whose pooled answer counts are withheld: when an item
    cell of the dimension is hidden (the pooled counts minus the other items would give
    it), or when 1 .. minimum-1 respondents answered some of its items without a score
    (the items' counts minus the pooled counts would give their answers)."""
    minimum = prep.survey.privacy.min_group_size
    out = []
    by_id = {item["id"]: item for item in items_out}
    for dim in prep.survey.dimensions:
        per_group = prep.cube(f"unscored:{dim.id}", "", 2)[:, 1]
        withheld = set()
        for g, name in enumerate(prep.groups):
            item_hidden = any(by_id[i.id]["groups"][name].get("suppressed") for i in dim.items)
            if item_hidden or 0 < per_group[g] < minimum:
                withheld.add(g)
        out.append(frozenset(withheld))
        prep.plan.pooled_withheld += len(withheld - prep.plan.hidden_groups)
    return out


def _audit_warnings(plan: Plan) -> list[str]:
    """The audit's own warning: it ran out of time and hid what it had not cleared."""
    if not plan.timed_out:
        return []
    return [
        "the anonymity audit reached its time budget (ALIGNSCAN_MAX_AUDIT_SECONDS, "
        f"{limits.AUDIT_SECONDS.value()} s): segment cells it had not cleared are hidden "
        "to be safe; raise the budget to publish more of them"
    ]


def _apply_q(tests: list[dict[str, Any]]) -> None:
    """One family: the small gaps' p-values, Benjamini-Hochberg q-values, then the
    false-coverage-rate adjusted interval of every gap (it excludes zero exactly when
    q < 0.05: Welch's at that level, or the inverted likelihood ratio test)."""
    fill_small(tests)
    with_p = [t for t in tests if t["p_value"] is not None]
    q_values = benjamini_hochberg([t["p_value"] for t in with_p])
    for t, q in zip(with_p, q_values, strict=True):
        t["q_value"] = q
    level = fcr_level(q_values)
    for t in with_p:
        if SMALL not in t:
            t["mean_ci_adjusted"] = Welch(t["mean"], t["se"], t["df"]).ci(level)
    small = [t for t in tests if SMALL in t]
    if small:
        _, ci, _ = el_rows([t.pop(SMALL) for t in small], level, test=False)
        for t, (lo, hi) in zip(small, ci, strict=True):
            t["mean_ci_adjusted"] = [float(lo), float(hi)]


def _segments(prep: _Prepared, no_counts: list[frozenset[int]]) -> list[dict[str, Any]]:
    """Dimension statistics per segment value and group, with the planned cells hidden."""
    survey = prep.survey
    minimum = survey.privacy.min_group_size
    a_name, b_name = survey.roles.compare
    groups = prep.groups
    n_groups = len(groups)
    ia, ib = groups.index(a_name), groups.index(b_name)
    out: list[dict[str, Any]] = []
    tests: list[dict[str, Any]] = []
    for col, (column, values, _) in enumerate(prep.segments):
        hidden = {
            v * n_groups + g
            for v in range(len(values))
            for g in range(n_groups)
            if prep.plan.cell_hidden(g, col, v)
        }
        for d, dim in enumerate(survey.dimensions):
            level = _dimension_level(prep, d, column)
            for v, value in enumerate(values):
                ids = [v * n_groups + g for g in range(n_groups)]
                g_cells = _group_cells(level, ids, groups, minimum, hidden, no_counts[d])
                for cell in g_cells.values():  # answer counts per segment cell: never
                    if "n" in cell and privacy_int.ENABLED:  # (integer reasoning pins
                        cell["counts"] = None  # small crossings with them)
                gp = _without_withheld_share(
                    _gap_of(level, ids[ia], ids[ib], g_cells, a_name, b_name),
                    g_cells, a_name, b_name,
                )
                out.append(
                    {"column": column, "value": value, "dimension": dim.id,
                     "groups": g_cells, "gap": gp}
                )
                if gp is not None:
                    tests.append(gp)
    _apply_q(tests)
    return out


def _comments(prep: _Prepared) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Comments of groups at or above the comment threshold (and not hidden), sorted,
    with e-mail addresses, phone numbers and links redacted; and the redaction counts."""
    survey = prep.survey
    threshold = survey.privacy.min_comment_group_size
    out = []
    redactions = dict.fromkeys(REDACTION_KINDS, 0)
    for comment in survey.comments:
        tallies = prep.table.comments.get(comment.id, {})
        per_group: dict[str, Any] = {}
        for g, name in enumerate(prep.groups):
            if prep.sizes[g] < threshold or g in prep.plan.hidden_groups:
                per_group[name] = {"suppressed": True}
                continue
            tally = tallies.get(name, CommentTally())
            for kind, n in tally.redactions.items():
                redactions[kind] += n
            per_group[name] = {"count": tally.count, "texts": distinct_texts(tally.texts)}
        out.append({"id": comment.id, "text": comment.text, "groups": per_group})
    return out, redactions


def distinct_texts(texts: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each distinct comment text once, with how many times it was given (in the order
    of `texts`, which is sorted): one sentence 37 times is one entry with count 37."""
    counted: dict[str, int] = {}
    for text in texts:
        counted[text] = counted.get(text, 0) + 1
    return [{"text": text, "count": n} for text, n in counted.items()]


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
