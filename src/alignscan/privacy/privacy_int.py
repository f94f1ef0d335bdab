"""Anonymity under integer reasoning: protection intervals by integer programming.

The span audit (`privacy`) stops every derivation by adding and subtracting published
figures. An attacker who also knows that counts are whole and never negative can go
further: the published head counts and scored counts of a group's segment cells are
linear equations over non-negative integer unknowns, one per atom (distinct combination
of segment values) and kind of count, with "scored <= people" in each atom. For every
atom holding 1 .. minimum - 1 people, the attacker's lower and upper bound on its
people, and on each of its non-zero scored counts, must stay apart (τ-Argus calls
these protection intervals); the bounds are the optimum of an integer program (HiGHS
through scipy), never of its LP relaxation, which can only be wider.

The attacker here reads the published figures only: it does not know which
combinations of segment values are empty. Most atoms are settled without a solver: a
move of whole counts between combinations that keeps every cell's sum (`movable`) shows
a second solution in which the atom's counts all differ. The few atoms no move settles
go to HiGHS over the atoms the data has (a subset of the attacker's solutions, so a
second solution found there is one for the attacker too): one solution pushing every
unsettled count up, one pushing them down, then each remaining count on its own. A
model too large to solve in time counts as pinned (the cell is hidden: safe).

What segment cells publish is decided with this in mind: n, mean, sd and favorable
share, never answer counts per code (with the group's counts and whole numbers they pin
small crossings), and a dimension's favorable share is withheld with its pooled counts.

`ENABLED` is a private switch for the tests: off, the analysis publishes as it did
before issue 26 (answer counts in segment cells, shares beside withheld counts) and
skips this audit, and the attacker in the tests must then find leaks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

ENABLED = True  # private switch: tests turn it off to show what it stops
PER_CODE = True  # private switch: the per-answer-code worst case (`code_safe`)
_TIME_LIMIT = 5.0  # seconds per integer program; unsettled then counts as pinned
_MAX_UNKNOWNS = 4_000  # a larger model is not solved: an unsettled atom counts as pinned


@dataclass(frozen=True)
class Pinned:
    """An atom whose people (family 0) or scored count (family f > 0) is pinned."""

    atom: int
    family: int


def _model(
    weights: list[np.ndarray], rows: list[list[np.ndarray]], totals: list[list[int]]
) -> tuple[Any, np.ndarray, np.ndarray]:
    """Constraints of one group (sparse): per family, each published set's sum; per atom
    and scored family, scored <= people. Unknowns: family-major, atom-minor."""
    from scipy import sparse
    from scipy.optimize import LinearConstraint

    n, k = len(weights[0]), len(weights)
    blocks = [
        sparse.hstack(
            [
                sparse.csr_matrix(np.stack(rows[f])) if h == f else sparse.csr_matrix(
                    (len(rows[f]), n)
                )
                for h in range(k)
            ]
        )
        for f in range(k)
        if rows[f]
    ]
    cons = []
    if blocks:
        rhs = np.asarray([t for f in range(k) for t in totals[f]], dtype=float)
        cons.append(LinearConstraint(sparse.vstack(blocks).tocsr(), rhs, rhs))
    if k > 1:
        eye = sparse.identity(n, format="csr")
        link = sparse.hstack([sparse.vstack([-eye] * (k - 1)), sparse.block_diag([eye] * (k - 1))])
        cons.append(LinearConstraint(link.tocsr(), -np.inf, 0.0))
    upper = np.full(k * n, float(weights[0].sum()))
    return cons, upper, np.concatenate(weights).astype(float)


def _solve(cons: Any, upper: np.ndarray, objective: np.ndarray, truth: np.ndarray):
    """An integer solution optimising `objective`, as the change from the truth: zero
    change is a solution (the truth), so HiGHS starts from a feasible point; None when
    none is found within the time limit."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    moved = []
    for c in cons:  # A x in [lo, hi]  ->  A d in [lo - A t, hi - A t]
        at = c.A @ truth
        moved.append(LinearConstraint(c.A, c.lb - at, c.ub - at))
    res = milp(
        objective,
        constraints=moved,
        integrality=np.ones(len(objective)),
        bounds=Bounds(-truth, upper - truth),
        options={"time_limit": _TIME_LIMIT},
    )
    if res.x is None:  # no solution within the time limit
        return None
    return truth + np.round(res.x)  # optimal or not, a feasible integer solution


def movable(
    values: np.ndarray, weights: np.ndarray, unpublished: list[set[int]], which: np.ndarray
) -> np.ndarray:
    """Per atom in `which`, whether a move that keeps every published figure changes all
    its counts (so none is pinned). Three kinds, each exact where it says yes:

    1. its counts t go to another combination through a column where its cell and
       another are both unpublished;
    2. its counts t leave it and an atom b that differs in two columns or more and holds
       t (b - t are possible counts: none negative, scored <= people): t goes from a to
       a' (a with b's value in one column j) and from b to b' (b with a's), which leaves
       every cell's sum as it is;
    3. the reverse: atoms that can each give up one person scored everywhere and that
       together have a's value in every column send one such person to a (`_covered`).

    a', b' and the receiving combinations may be combinations the data does not have
    (the attacker does not know which are empty). `weights`: (families, atoms), people
    first."""
    n_atoms, n_cols = values.shape
    holds = np.asarray((weights[1:] >= 1).all(axis=0), dtype=bool)
    out = _covered(values, holds) & which  # move 3
    for j in range(n_cols):  # move 1
        if len(unpublished[j]) > 1:
            out |= which & np.isin(values[:, j], list(unpublished[j]))
    for a in np.flatnonzero(which & ~out):  # move 2
        rest = weights - weights[:, a : a + 1]
        ok = (rest >= 0).all(axis=0) & (rest[1:] <= rest[0]).all(axis=0)
        out[a] = bool((ok & ((values != values[a]).sum(axis=1) >= 2)).any())
    return out


def _covered(values: np.ndarray, holds: np.ndarray) -> np.ndarray:
    """Move 3 of `movable`, for every atom at once: atoms x_1 .. x_k (k >= 2, not a) that
    can each give up one person scored everywhere, u, and in every column one of them has
    a's value. u goes from each x_i to a and to k - 1 combinations made of the values
    left over per column: every cell's sum unchanged, a one person more."""
    mine = holds.astype(np.int64)
    ok = (int(holds.sum()) - mine) >= 2
    for j in range(values.shape[1]):
        _, where, counts = np.unique(values[:, j], return_inverse=True, return_counts=True)
        where = where.reshape(-1)
        held = np.bincount(where, weights=mine, minlength=len(counts))
        ok &= held[where] - mine >= 1
    return ok


def find_pinned(
    weights: list[np.ndarray],
    rows: list[list[np.ndarray]],
    totals: list[list[int]],
    minimum: int,
    settled: np.ndarray | None = None,
    deadline: float = float("inf"),
) -> Pinned | None:
    """The first atom of 1 .. minimum - 1 people whose people or non-zero scored count an
    integer attacker pins, or None. `weights[0]` are people per atom, `weights[f]` scored
    per atom; `rows[f]` the published sets (0/1 over atoms) of family f, `totals[f]` their
    sums; `settled` marks atoms already shown to move (`movable`); past `deadline`
    (time.monotonic()) an open atom counts as pinned."""
    head = weights[0]
    n = len(head)
    open_small = (head > 0) & (head < minimum)
    if settled is not None:
        open_small &= ~settled
    small = np.flatnonzero(open_small)
    if not len(small) or not any(rows):
        return None
    watch = [(0, int(a)) for a in small]
    watch += [(f, int(a)) for f in range(1, len(weights)) for a in small if weights[f][a] > 0]
    if n * len(weights) > _MAX_UNKNOWNS:  # too large to settle in time: be safe
        return Pinned(int(small[0]), 0)
    cons, upper, truth = _model(weights, rows, totals)
    index = np.asarray([f * n + a for f, a in watch])
    open_ = np.ones(len(watch), dtype=bool)
    for sign in (-1.0, 1.0):  # push all up (maximise), then all down
        if not open_.any():
            break
        objective = np.zeros(len(truth))
        objective[index[open_]] = sign
        x = _solve(cons, upper, objective, truth)
        if x is not None:
            open_ &= x[index] == truth[index]
    for w in np.flatnonzero(open_):
        if time.monotonic() > deadline or not _moves(cons, upper, truth, int(index[w])):
            return Pinned(watch[w][1], watch[w][0])  # pinned, or out of time: hide (safe)
    return None


def _moves(cons: Any, upper: np.ndarray, truth: np.ndarray, var: int) -> bool:
    """Whether some integer solution gives unknown `var` another value than the truth."""
    for sign in (-1.0, 1.0):
        objective = np.zeros(len(truth))
        objective[var] = sign
        x = _solve(cons, upper, objective, truth)
        if x is not None and x[var] != truth[var]:
            return True
    return False


def code_safe(
    values: np.ndarray,
    weights: np.ndarray,
    hidden: dict[tuple[int, int], bool],
    minimum: int,
    which: np.ndarray | None = None,
) -> np.ndarray | None:
    """The atoms of 1 .. minimum - 1 people (of those in `which`, when given) whose
    answer counts a reader who knows every
    shown cell's full distribution of answers might pin, or None when there are none.

    Such a reader has, per item, unknowns x[atom, code] >= 0 whole with each shown cell's
    and the group's sums fixed. Moving atom a's people, answers and all, to a' (a with
    another value in column j) keeps every such sum when a's cell and a''s cell in column
    j are both hidden: the two combinations lie in the same shown cells. That solution
    has a empty, so no count of a has a positive lower bound and its size is not
    disclosed; it holds for any statistic (means, sds, shares, gaps), so no solver is
    needed. What the reader knows of hidden cells is kept too: a cell hidden for being
    small (`hidden[cell]` True) still looks small after the move (it may be empty: a
    cell of nobody is suppressed too), a protective one still not. `weights`: (families,
    atoms), people first."""
    head = weights[0]
    small = (head > 0) & (head < minimum)
    if which is not None:
        small &= which
    if not small.any():
        return None
    settled = np.zeros(len(head), dtype=bool)
    sums = {c: weights[:, values[:, c[0]] == c[1]].sum(axis=1, keepdims=True) for c in hidden}
    for (j, u), u_small in hidden.items():
        mine = np.flatnonzero(small & ~settled & (values[:, j] == u))
        if not len(mine):
            continue
        out = _looks(sums[(j, u)] - weights[:, mine], u_small, minimum)
        for (k, v), v_small in hidden.items():
            if k == j and v != u and out.any():
                into = _looks(sums[(k, v)] + weights[:, mine], v_small, minimum)
                settled[mine] |= out & into
    open_ = np.flatnonzero(small & ~settled)
    return open_ if len(open_) else None


def _looks(sums: np.ndarray, small: bool, minimum: int) -> np.ndarray:
    """Per column of `sums` (families x atoms), whether a hidden cell with those counts
    looks as it is published: small (under `minimum` people, none counted, or some
    scored count of 1 .. minimum - 1: a cell of nobody is shown as suppressed too) or
    protective (neither)."""
    some = (sums > 0) & (sums < minimum)
    is_small = (sums[0] < minimum) | some[1:].any(axis=0)
    return is_small if small else ~is_small
