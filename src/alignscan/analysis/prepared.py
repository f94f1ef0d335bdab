"""The count table prepared for the analysis (`prepare`): value tables per role group and
segment cell at each level (an item, a dimension), the anonymity plan, and the cells and
gaps of one level."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

import alignscan.privacy.privacy_int as privacy_int
from alignscan.analysis.cells import ValueTable, gap, group_cell
from alignscan.analysis.stats import (  # re-exported: the statistics used to live here
    SMALL_FAV,
    ClusterSums,
)
from alignscan.counting.counts import (
    CountTable,
    CountTableError,
    build_cubes,
    check_table,
    neutral_responses,
    score_ranks,
)
from alignscan.counting.tally import count_responses, favorable_positions
from alignscan.errors import AlignscanError
from alignscan.privacy.privacy import (
    AnswerMargins,
    Plan,
    audit_atoms,
    plan_suppression,
    pool_values,
)
from alignscan.responses import ResponseSet
from alignscan.survey import Survey


class AnalysisError(AlignscanError):
    """The analysis can't run on this data (e.g. a compared group is too small)."""

    code = "analysis_impossible"


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
