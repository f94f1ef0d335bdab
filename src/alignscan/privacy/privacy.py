"""Anonymity that holds under subtraction: decide which cells to hide.

Every figure alignscan publishes is a sum over a set of respondents: a group, or a group
within one segment value, restricted to the respondents a statistic counts (everyone for
head counts; those with a score on a dimension for that dimension's n, sums and pooled
answer counts). Respondents of one group fall into *atoms*: the distinct combinations of
their segment values. A set of atoms is *derivable* when its indicator vector lies in the
linear span of the published sets' indicators; then any sum over it (its n, its score
sum, its answer counts) can be computed by adding and subtracting published figures.

The audit (one "family" per kind of count) looks for a derivable union of atoms holding
1 .. minimum - 1 counted respondents. Only atoms below the minimum can be part of one,
so it works on the subspace of the row space supported on small atoms: a reduced row
echelon form with the large atoms' columns first leaves a basis of that subspace, and
every 0/1 vector in it is a sum of basis rows chosen by its pivot entries, which the
search enumerates (pruned by weight). Arithmetic is exact, modulo two large primes.

Suppression is iterative: while a family finds a small derivable set, hide the smallest
segment cell that takes part in its derivation, and audit again. Deterministic, and a
dataset where no cell is small hides nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alignscan import limits
from alignscan.privacy import privacy_int
from alignscan.privacy.algebra import find_small_derivable

OTHER = "(other)"
Cell = tuple[int, int]  # (segment column index, value index)


def pool_label(real: Any) -> str:
    """The name of the pooled rare values: "(other)", or when a real value is spelled
    that way (it is left as it is), the first of "(other values)", "(other values 2)",
    ... that no real value takes, so the pool never merges with a real value."""
    taken = {str(v) for v in real}
    label, n = OTHER, 1
    while label in taken:
        label = "(other values)" if n == 1 else f"(other values {n})"
        n += 1
    return label


def pool_values(counts: Any, minimum: int) -> tuple[list[str], dict[str, int]]:
    """Segment values as published: those of used rows, with every value held by fewer
    than `minimum` respondents pooled into one value named by `pool_label`, so a rare
    value is never named. `counts` maps each value to its respondents; returns the
    published values (sorted, the pool last) and, for every raw value, its index among
    them."""
    present = sorted((str(v), int(n)) for v, n in counts.items() if n > 0)
    keep = [v for v, n in present if n >= minimum]
    label = pool_label(v for v, _ in present)
    names = keep + ([label] if len(keep) < len(present) else [])
    where = {v: i for i, v in enumerate(keep)}
    return names, {v: where.get(v, len(keep)) for v, _ in present}


def audit_atoms(
    atoms: Any,
    survey: Any,
    groups: list[str],
    segments: list[tuple[str, list[str], dict[str, int]]],
    answers: list[list[AnswerMargins]] | None = None,
    minimum: int = 0,
) -> list[GroupAtoms]:
    """Atoms per group from a count table's atoms, after pooling: respondents, and those
    with a score on each dimension, per distinct combination of pooled segment values
    (sorted, so the same data always gives the same plan). With each group's `answers`
    (`AnswerMargins` per dimension), the atoms at risk of a pinned answer count
    (`answer_risk`); without, every small atom counts as at risk."""
    position = {g: i for i, g in enumerate(groups)}
    scored = [f"scored:{d.id}" for d in survey.dimensions]
    frame = pd.DataFrame({"g": atoms["group"].map(position).astype("int64")})
    for column, _, lut in segments:
        frame[column] = atoms[column].map(lut).astype("int64")
    frame["head"] = atoms["n"].astype("int64")
    for name in scored:
        frame[name] = atoms[name].astype("int64") * frame["head"]
    keys = ["g", *(c for c, _, _ in segments)]
    merged = frame.groupby(keys, sort=True)[["head", *scored]].sum().reset_index()
    out = []
    for g in range(len(groups)):
        mine = merged[merged["g"] == g]
        values = mine[keys[1:]].to_numpy(dtype=np.int64).reshape(len(mine), len(keys) - 1)
        sc = mine[scored].to_numpy(dtype=np.int64).T.reshape(len(scored), len(mine))
        ga = GroupAtoms(values, mine["head"].to_numpy(dtype=np.int64), sc)
        if answers is not None:
            ga.risk = answer_risk(ga, answers[g], minimum)
        out.append(ga)
    return out


@dataclass
class GroupAtoms:
    """One group's respondents by atom (distinct segment-value combination)."""

    values: np.ndarray  # (atoms, columns) value index per segment column (-1 = none)
    head: np.ndarray  # respondents per atom
    scored: np.ndarray  # (dimensions, atoms) respondents with a score per dimension
    # atoms whose answer counts the published cells could pin (`answer_risk`); None: every
    # atom of 1 .. minimum - 1 people (the worst case, for callers without the margins)
    risk: np.ndarray | None = None


@dataclass(frozen=True)
class AnswerMargins:
    """One group's answers to one dimension as its published cells give them away.

    Families (rows): favorable answers, the other answers, points above the scale's
    floor, points below its ceiling; each non-negative and additive over respondents.
    `totals` (families,) are the group's; `columns[j]` (families, values + 1) each
    segment value's, the last entry respondents without a value. `worst_case`: the cell
    figures (n, mean, sd, favorable share of a one-item dimension: four equations in
    five answer counts) as good as publish its answer counts."""

    dimension: int
    totals: np.ndarray
    columns: list[np.ndarray]
    worst_case: bool = False


def answer_risk(ga: GroupAtoms, margins: list[AnswerMargins], minimum: int) -> np.ndarray:
    """The atoms of 1 .. minimum - 1 people some of whose answer counts a reader of the
    published cells might pin above zero ("someone in Legal at site P answered
    favorably"); the others need no protection beyond their head counts.

    A reader who knows each cell's total of a family bounds an atom's share from below
    by Frechet's bound, sum of its cells' totals - (columns - 1) x the group's total
    (rare answers all in its cells), exact for one family of non-negative integers over
    all combinations of values (the reader doesn't know which are empty). Every family
    tying an atom's counts to each other (favorable + other answers = answers >= people
    with a score) needs a positive bound somewhere to pin anything, so an atom is at
    risk when any family's bound is positive, its respondents with a score included (a
    cell where nobody answered favorably then pins the atom's other answers). Every cell
    is taken as published: hiding cells only widens the bounds. One-item dimensions are
    the worst case: every atom with a score on it is at risk."""
    small = (ga.head > 0) & (ga.head < minimum)
    risk = np.zeros(len(ga.head), dtype=bool)
    n_cols = ga.values.shape[1]
    for m in margins:
        scored = ga.scored[m.dimension]
        if m.worst_case:
            risk |= scored > 0
            continue
        cols = [_column_totals(ga.values, j, scored) for j in range(n_cols)]
        risk |= _frechet(ga.values, cols, int(scored.sum())) > 0
        for f in range(len(m.totals)):
            cols = [c[f] for c in m.columns]
            risk |= _frechet(ga.values, cols, int(m.totals[f])) > 0
    return risk & small


def _column_totals(values: np.ndarray, j: int, weights: np.ndarray) -> np.ndarray:
    """Per value of column j (the last entry: no value), the sum of `weights`."""
    idx = np.where(values[:, j] < 0, values[:, j].max(initial=0) + 1, values[:, j])
    return np.bincount(idx, weights=weights).astype(np.int64)


def _cell_totals(values: np.ndarray, cols: list[np.ndarray]) -> np.ndarray:
    """(columns, atoms): each atom's cell total per column (a missing value: the last)."""
    out = np.zeros(values.shape[::-1], dtype=np.int64)
    for j, col in enumerate(cols):
        idx = np.where(values[:, j] < 0, len(col) - 1, values[:, j])
        out[j] = col[np.minimum(idx, len(col) - 1)]
    return out


def _frechet(values: np.ndarray, cols: list[np.ndarray], total: int) -> np.ndarray:
    """Frechet's lower bound per atom: sum of its cells - (columns - 1) x total, >= 0."""
    if not cols:
        return np.full(len(values), total, dtype=np.int64)
    cells = _cell_totals(values, cols)
    return np.maximum(cells.sum(axis=0) - (len(cols) - 1) * total, 0)


@dataclass
class Plan:
    """What to hide: groups, and (column, value) cells per group."""

    hidden_groups: set[int]
    hidden_cells: dict[int, set[Cell]]  # group -> hidden (column, value) cells
    withhold_totals: bool  # rows read/used/excluded would reveal a hidden group
    small_cells: int = 0  # hidden because below the minimum
    protective_cells: int = 0  # hidden only so that a small one can't be derived
    total_cells: int = 0
    families_audited: int = 0
    pooled_withheld: int = 0  # dimension x group cells whose pooled answer counts are withheld
    # group -> protective cell -> the atom (value index per column) it protects
    reasons: dict[int, dict[Cell, tuple[int, ...]]] = field(default_factory=dict)
    # the audit's time budget (time.monotonic()); past it, cells not yet cleared are
    # hidden without asking (safe), and `timed_out` says so
    deadline: float = float("inf")
    timed_out: bool = False

    def seconds_left(self) -> float:
        return self.deadline - time.monotonic()

    def cell_hidden(self, group: int, column: int, value: int) -> bool:
        return group in self.hidden_groups or (column, value) in self.hidden_cells.get(group, ())


def plan_suppression(
    atoms: list[GroupAtoms],
    minimum: int,
    keep_groups: set[int],
) -> Plan:
    """Hide groups and segment cells until no family finds a small derivable set."""
    sizes = [int(a.head.sum()) for a in atoms]
    hidden_groups, withhold = _hide_groups(sizes, minimum, keep_groups)
    plan = Plan(hidden_groups, {}, withhold)
    plan.deadline = time.monotonic() + limits.AUDIT_SECONDS.value()
    for g, ga in enumerate(atoms):
        cells = _all_cells(ga)
        plan.total_cells += len(cells)
        if g in hidden_groups:
            plan.hidden_cells[g] = set(cells)
            plan.small_cells += len(cells)
            continue
        start = {c for c in cells if _is_small(ga, c, minimum)}
        hidden = _hide_until_safe(ga, cells, set(start), minimum, plan, g)
        plan.small_cells += len(start)
        plan.protective_cells += len(hidden) - len(start)
        plan.hidden_cells[g] = hidden
    return plan


def _hide_groups(sizes: list[int], minimum: int, keep: set[int]) -> tuple[set[int], bool]:
    """Groups below the minimum, plus the next-smallest other group while the hidden ones
    add up to 1 .. minimum-1 (the row totals would give them away); when no group can be
    added, the row totals are withheld instead."""
    hidden = {g for g, n in enumerate(sizes) if n < minimum}
    while 0 < sum(sizes[g] for g in hidden) < minimum:
        candidates = sorted((n, g) for g, n in enumerate(sizes) if g not in hidden | keep)
        if not candidates:
            return hidden, True
        hidden.add(candidates[0][1])
    return hidden, False


def _all_cells(ga: GroupAtoms) -> list[Cell]:
    cells = set()
    for col in range(ga.values.shape[1]):
        for v in np.unique(ga.values[:, col]):
            if v >= 0:
                cells.add((col, int(v)))
    return sorted(cells)


def _cell_mask(ga: GroupAtoms, cell: Cell) -> np.ndarray:
    return ga.values[:, cell[0]] == cell[1]


def _is_small(ga: GroupAtoms, cell: Cell, minimum: int) -> bool:
    mask = _cell_mask(ga, cell)
    if int(ga.head[mask].sum()) < minimum:
        return True
    return any(0 < int(s[mask].sum()) < minimum for s in ga.scored)


def _families(ga: GroupAtoms) -> list[np.ndarray]:
    """Weights per atom for each kind of count: respondents, then scored per dimension
    (identical weight vectors are audited once)."""
    seen: list[np.ndarray] = [ga.head]
    for s in ga.scored:
        if not any(np.array_equal(s, w) for w in seen):
            seen.append(s)
    return seen


def _hide_until_safe(
    ga: GroupAtoms, cells: list[Cell], hidden: set[Cell], minimum: int, plan: Plan, g: int = 0
) -> set[Cell]:
    """Hide cells until every family is safe, then show again each protective cell that
    turns out not to be needed (largest first), so no more is hidden than needed. Each
    protective cell keeps the small atom it was hidden for (`plan.reasons`)."""
    start = set(hidden)
    families = _families(ga)
    why: dict[Cell, tuple[int, ...]] = {}
    while (found := _first_violation(ga, families, cells, hidden, minimum, plan)) is not None:
        hidden.add(found[0])
        why[found[0]] = found[1]
    extra = sorted(hidden - start, key=lambda c: (-int(ga.head[_cell_mask(ga, c)].sum()), c))
    for cell in extra:
        hidden.discard(cell)
        if _first_violation(ga, families, cells, hidden, minimum, plan) is not None:
            hidden.add(cell)
    plan.reasons[g] = {c: why[c] for c in sorted(hidden - start)}
    return hidden


def _first_violation(
    ga: GroupAtoms,
    families: list[np.ndarray],
    cells: list[Cell],
    hidden: set[Cell],
    minimum: int,
    plan: Plan,
) -> tuple[Cell, tuple[int, ...]] | None:
    """The cell the first unsafe family asks to hide and the small atom it protects, or
    None when all are safe under subtraction and integer reasoning. The per-code check
    comes first: it is cheap, and hiding more never opens a leak to the others."""
    shown = [c for c in cells if c not in hidden]
    if shown and plan.seconds_left() <= 0:  # out of time: hide rather than publish unchecked
        plan.timed_out = True
        cell = _smallest(ga, shown)
        return cell, tuple(int(v) for v in ga.values[np.flatnonzero(_cell_mask(ga, cell))[0]])
    if privacy_int.PER_CODE and (found := _code_violation(ga, cells, hidden, minimum)):
        return found
    for weights in families:
        plan.families_audited += 1
        found = _audit_family(ga, weights, shown, minimum, plan.seconds_left())
        if found is not None:
            return found
    if privacy_int.ENABLED:
        return _integer_violation(ga, families, shown, minimum, plan)
    return None


def _code_violation(
    ga: GroupAtoms, cells: list[Cell], hidden: set[Cell], minimum: int
) -> tuple[Cell, tuple[int, ...]] | None:
    """The next cell to hide so that no answer count of a small atom can be pinned, or
    None. Worst case: the reader knows every shown cell's whole distribution of answers
    per item and dimension (its n, mean, sd and favorable share nearly fix it); an atom
    of 1 .. minimum - 1 people is safe when it can move, answers and all, between two
    hidden cells of one column (`privacy_int.code_safe`). The cell returned lies in the
    column where settling the open atoms hides the fewest respondents; when no column
    can, the smallest shown cell (in the end the group shows no segment cell)."""
    if ga.risk is not None and not ga.risk.any():
        return None
    weights = np.stack(_families(ga))
    classes = {c: _is_small(ga, c, minimum) for c in hidden}
    open_ = privacy_int.code_safe(ga.values, weights, classes, minimum, ga.risk)
    shown = [c for c in cells if c not in hidden]
    if open_ is None or not shown:
        return None
    best: tuple[int, int, list[Cell]] | None = None
    for j in range(ga.values.shape[1]):
        need = _column_need(ga, cells, hidden, open_, j)
        if need:
            cost = sum(int(ga.head[_cell_mask(ga, c)].sum()) for c in need)
            if best is None or (cost, j) < best[:2]:
                best = (cost, j, need)
    cell = _smallest(ga, best[2] if best is not None else shown)
    mine = [a for a in open_ if ga.values[a, cell[0]] == cell[1]] or list(open_)
    return cell, tuple(int(v) for v in ga.values[mine[0]])


def _column_need(
    ga: GroupAtoms, cells: list[Cell], hidden: set[Cell], open_: np.ndarray, j: int
) -> list[Cell]:
    """Shown cells of column j to hide so that every open atom's column-j cell is hidden
    along with another of that column ([] when nothing of column j is left to hide)."""
    if (ga.values[open_, j] < 0).any():
        return []
    mine = {c for c in cells if c[0] == j}
    need = {(j, int(v)) for v in ga.values[open_, j]} - hidden
    if len((mine & hidden) | need) < 2 or not need:
        rest = sorted(mine - hidden - need)
        if rest:
            need.add(_smallest(ga, rest))
    return sorted(need)


def _published(
    ga: GroupAtoms, weights: np.ndarray, shown: list[Cell], minimum: int
) -> tuple[list[Cell | None], list[np.ndarray]]:
    """The sets a family publishes (0/1 over all atoms): the group's own cell (None),
    then each shown segment cell, where its count is at least the minimum."""
    published: list[Cell | None] = []
    rows = []
    if int(weights.sum()) >= minimum:
        published.append(None)
        rows.append(np.ones(len(weights), dtype=np.int64))
    for cell in shown:
        mask = _cell_mask(ga, cell)
        if int(weights[mask].sum()) >= minimum:
            published.append(cell)
            rows.append(mask.astype(np.int64))
    return published, rows


def _integer_violation(
    ga: GroupAtoms, families: list[np.ndarray], shown: list[Cell], minimum: int, plan: Plan
) -> tuple[Cell, tuple[int, ...]] | None:
    """A shown cell to hide because an integer attacker pins a small atom, or None."""
    rows, totals = [], []
    for weights in families:
        _, sets = _published(ga, weights, shown, minimum)
        rows.append(sets)
        totals.append([int(weights[m.astype(bool)].sum()) for m in sets])
    unpublished: list[set[int]] = [set() for _ in range(ga.values.shape[1])]
    for col, v in {c for c in _all_cells(ga)} - set(shown):
        unpublished[col].add(v)
    small = (ga.head > 0) & (ga.head < minimum)
    settled = ~small
    if small.any():
        moves = privacy_int.movable(ga.values, np.stack(families), unpublished, small)
        settled[small] = moves[small]
    pinned = privacy_int.find_pinned(families, rows, totals, minimum, settled, plan.deadline)
    if pinned is None:
        return None
    atom = tuple(int(v) for v in ga.values[pinned.atom])
    mine = [c for c in shown if ga.values[pinned.atom, c[0]] == c[1]] or list(shown)
    return _smallest(ga, mine), atom


def _smallest(ga: GroupAtoms, cells: list[Cell]) -> Cell:
    return min(cells, key=lambda c: (int(ga.head[_cell_mask(ga, c)].sum()), c))


def _audit_family(
    ga: GroupAtoms, weights: np.ndarray, shown: list[Cell], minimum: int, seconds: float = 60.0
) -> tuple[Cell, tuple[int, ...]] | None:
    """The cell to hide next for this family and the small atom it protects, or None
    when nothing small is derivable."""
    live = weights > 0
    if not live.any():
        return None
    w = weights[live]
    published, rows = _published(ga, weights, shown, minimum)
    if not rows:
        return None
    hit = find_small_derivable(np.stack([r[live] for r in rows]), w, minimum, seconds)
    if hit is None:
        return None
    cell = _choose(ga, weights, [published[s] for s in hit.sets], shown)
    atoms = np.flatnonzero(live)[list(hit.atoms)] if hit.atoms else np.flatnonzero(live)[:1]
    smallest = min(atoms, key=lambda a: (int(weights[a]), int(a)))
    return cell, tuple(int(v) for v in ga.values[smallest])


def _choose(
    ga: GroupAtoms, weights: np.ndarray, used: list[Cell | None], shown: list[Cell]
) -> Cell:
    """The smallest shown segment cell used by the derivation (ties: column, value)."""
    candidates = [c for c in used if c is not None] or list(shown)
    return min(candidates, key=lambda c: (int(weights[_cell_mask(ga, c)].sum()), c))


def small_cells_shown(result: dict) -> list[str]:  # type: ignore[type-arg]
    """Where a saved result shows a cell of 1 .. min_group_size-1 respondents (a result
    edited by hand, or written by another tool): a report must not be drawn from it."""
    minimum = result.get("min_group_size", 0)
    found = []

    def visit(where: str, groups: object) -> None:
        if not isinstance(groups, dict):
            return
        for name, cell in groups.items():
            n = cell.get("n") if isinstance(cell, dict) else None
            if isinstance(n, int) and 0 < n < minimum:
                found.append(f"{where}, group {name}: n = {n}")

    visit("groups", result.get("groups"))
    for key in ("items", "dimensions"):
        for unit in result.get(key) or []:
            visit(f"{key} {unit.get('id')}", unit.get("groups"))
    for seg in result.get("segments") or []:
        visit(f"segment {seg.get('column')} = {seg.get('value')}, {seg.get('dimension')}",
              seg.get("groups"))
    return found
