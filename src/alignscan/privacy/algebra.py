"""What sums and differences of published sets can derive: exact row reduction modulo two
large primes, the search for a derivable union of small atoms (pruned by weight), the
disjoint-bases certificate that settles it without search, and an integer program where
the search would be too wide (`find_small_derivable`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_PRIMES = (2_147_483_629, 2_147_483_587)
_MAX_BASIS = 40  # more small-atom basis rows than this: straight to the integer program
_MAX_SUBSETS = 5_000  # beyond this, an integer program decides (`_derivable_by_milp`)


def _rref(mat: np.ndarray, prime: int) -> tuple[np.ndarray, list[int]]:
    """Reduced row echelon form modulo `prime` (entries < 2**31, so products fit int64)."""
    a = np.mod(mat.astype(np.int64), prime)
    rows, cols = a.shape
    pivots: list[int] = []
    r = 0
    for c in range(cols):
        if r == rows:
            break
        nz = np.flatnonzero(a[r:, c])
        if not len(nz):
            continue
        p = r + int(nz[0])
        if p != r:
            a[[r, p]] = a[[p, r]]
        a[r] = a[r] * pow(int(a[r, c]), prime - 2, prime) % prime
        factors = a[:, c].copy()
        factors[r] = 0
        nzr = np.flatnonzero(factors)
        if len(nzr):
            a[nzr] = (a[nzr] - np.outer(factors[nzr], a[r]) % prime) % prime
        pivots.append(c)
        r += 1
    return a[:r], pivots


@dataclass(frozen=True)
class Derivation:
    """A small derivable set: the atoms in it, and the published sets used to derive it."""

    atoms: tuple[int, ...]
    sets: tuple[int, ...]
    weight: int


def find_small_derivable(
    sets: np.ndarray, weights: np.ndarray, minimum: int, seconds: float = 60.0
) -> Derivation | None:
    """A union of atoms with 1 .. minimum-1 counted respondents whose indicator lies in
    the span of the published `sets` (rows: 0/1 over atoms), or None.

    Atoms of weight 0 count nobody for this family and are left out by the caller."""
    n_sets, n_atoms = sets.shape
    small = np.flatnonzero(weights < minimum)
    if n_sets == 0 or not len(small):
        return None
    if disjoint_bases(sets, minimum, weights):
        return None
    large = np.flatnonzero(weights >= minimum)
    order = np.concatenate([large, small])
    aug = np.concatenate([sets[:, order], np.eye(n_sets, dtype=np.int64)], axis=1)
    for prime in _PRIMES:
        red, pivots = _rref(aug, prime)
        basis = [i for i, p in enumerate(pivots) if len(large) <= p < n_atoms]
        hit = _search(red, pivots, basis, order, weights, minimum, n_atoms, prime)
        if hit is _UNDECIDED:
            return _derivable_by_milp(sets, weights, minimum, seconds)
        if hit is not None:
            return hit
    return None


def disjoint_bases(sets: np.ndarray, count: int, weights: np.ndarray | None = None) -> bool:
    """Whether the atoms (columns of `sets`) hold `count` bases of the column space with
    each atom in at most its weight of them (pairwise disjoint bases when no `weights`):
    then every derivable set weighs at least `count`, so none holds 1 .. count - 1
    respondents, and nothing need be searched.

    Why: a derivable set's indicator x = sets' y lies in the row space, and its values on
    any basis B of the columns fix it (sets[:, B]' y = 0 means y is orthogonal to every
    column), so x != 0 meets every basis; an atom of weight w meets at most w of them.
    On wide data (nearly every atom one person) this settles in milliseconds what the
    search and the integer program could not. Ranks are taken modulo two large primes
    (exact for the ranks of 0/1 matrices unless both divide a minor); each basis is
    sought on a slab that first covers every published set, in a fixed order, so the
    plan stays deterministic."""
    n_atoms = sets.shape[1]
    uses = np.ones(n_atoms, np.int64) if weights is None else weights.astype(np.int64)
    if int(np.minimum(uses, count).sum()) < count * 2:
        return False
    order = np.random.default_rng(0).permutation(n_atoms)  # slabs of unlike atoms
    member, dense = sets != 0, sets.astype(np.float64)
    for prime in _PRIMES:
        left, rank = np.minimum(uses, count), 0
        for i in range(count):
            columns = order[left[order] > 0]
            columns = columns[np.argsort(-left[columns], kind="stable")]  # reusable first
            # a basis holds an atom of every set: a set that can afford no more than one
            # per basis still to find is "tight", and its atoms are used once per basis
            tight = dense @ left.astype(np.float64) <= count - i
            found = _slab_basis(sets, dense, columns, member[:, columns], prime, rank, tight)
            if found is None:
                return False
            rank = len(found)
            left[found] -= 1
    return True


def _slab_basis(
    sets: np.ndarray,
    dense: np.ndarray,
    columns: np.ndarray,
    inside: np.ndarray,
    prime: int,
    rank: int,
    tight: np.ndarray,
) -> np.ndarray | None:
    """Pivot columns of a basis among `columns`: of `rank` when given, else (rank 0) of
    one that spans every column of `sets`; sought on a slab holding, first, one column
    in each published set (`_cover`), then the next columns in order outside the
    `tight` sets (doubling), at last all of them; None when `columns` hold none.
    `inside`: which sets each of `columns` lies in."""
    if not len(columns):
        return None
    kept = inside[tight].any(axis=0)
    cover = _cover(inside, tight, kept)
    free = np.ones(len(columns), dtype=bool)
    free[cover] = False
    rest = np.concatenate([np.flatnonzero(free & ~kept), np.flatnonzero(free & kept)])
    extra = sets.shape[0] + 16
    while True:
        take = columns[np.concatenate([cover, rest[:extra]])]
        _, pivots = _rref(sets[:, take], prime)
        basis = take[np.asarray(pivots, dtype=np.int64)]
        if (len(basis) == rank) if rank else _spans(sets, dense, basis, prime):
            return basis
        if extra >= len(rest):
            return None
        extra *= 2


def _cover(inside: np.ndarray, tight: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """One column per set (rows of `inside`), tight sets first, each tight set touched
    once where the columns allow: a set's column is taken, in order, among those in no
    tight set already covered (and, for a loose set, in no tight set at all)."""
    covered = np.zeros(inside.shape[0], dtype=bool)
    chosen: list[int] = []
    for r in [*np.flatnonzero(tight), *np.flatnonzero(~tight)]:
        if covered[r] or not inside[r].any():
            continue
        cand = np.flatnonzero(inside[r])
        clash = inside[covered & tight][:, cand].any(axis=0)
        if not tight[r]:
            clash |= kept[cand]
        pick = cand[~clash][0] if (~clash).any() else cand[0]
        chosen.append(int(pick))
        covered |= inside[:, pick]
    return np.asarray(sorted(set(chosen)), dtype=np.int64)


def _spans(sets: np.ndarray, dense: np.ndarray, basis: np.ndarray, prime: int) -> bool:
    """Whether the columns `basis` span every column of `sets` (modulo `prime`): every
    vector of the left null space of sets[:, basis] is orthogonal to all columns."""
    sub = np.mod(sets[:, basis].astype(np.int64), prime)
    red, pivots = _rref(sub.T, prime)  # row space of sub.T = column space of sub
    n_rows = sets.shape[0]
    free = [c for c in range(n_rows) if c not in set(pivots)]
    if not free:
        return True
    null = np.zeros((len(free), n_rows), dtype=np.int64)  # left null space of sub
    for i, f in enumerate(free):
        null[i, f] = 1
        for r, p in enumerate(pivots):
            null[i, p] = (-red[r, f]) % prime
    return not np.any(_mod_product(null, dense, prime))


def _mod_product(left: np.ndarray, dense: np.ndarray, prime: int) -> np.ndarray:
    """left @ dense modulo `prime`, exactly, for 0/1 `dense` (floats): `left`'s entries
    (< 2**31) split in 16-bit halves, each product a float sum below 2**53 (BLAS-fast)."""
    low = (left & 0xFFFF).astype(np.float64) @ dense
    high = (left >> 16).astype(np.float64) @ dense
    return (np.mod(high.astype(np.int64), prime) * 65536 + low.astype(np.int64)) % prime


def _search(
    red: np.ndarray,
    pivots: list[int],
    basis: list[int],
    order: np.ndarray,
    weights: np.ndarray,
    minimum: int,
    n_atoms: int,
    prime: int,
) -> Derivation | None:
    """Enumerate sums of basis rows (chosen by pivot) that are 0/1 vectors of small weight."""
    if not basis:
        return None
    if len(basis) > _MAX_BASIS:  # the subsets would be too many: an integer program decides
        return _UNDECIDED
    w_sorted = weights[order]
    pivot_w = {i: int(w_sorted[pivots[i]]) for i in basis}
    basis = sorted(basis, key=lambda i: (pivot_w[i], i))
    for tried, combo in enumerate(_combos(basis, pivot_w, minimum)):
        row = red[list(combo)].sum(axis=0) % prime
        x = row[:n_atoms]
        if np.all((x == 0) | (x == 1)):
            weight = int((w_sorted * x).sum())
            if 1 <= weight < minimum:
                return _derivation(x, row[n_atoms:], order, weight)
        if tried > _MAX_SUBSETS:  # too many to enumerate: an integer program decides
            return _UNDECIDED
    return None


_UNDECIDED = Derivation((), (), -1)


def _derivable_by_milp(
    sets: np.ndarray, weights: np.ndarray, minimum: int, seconds: float = 60.0
) -> Derivation | None:
    """The same question as the enumeration, as a mixed-integer program (HiGHS): a 0/1
    vector x over the small atoms, x = sets' y for real y, 1 <= weights . x <= minimum - 1.
    Used when the subsets are too many to enumerate (every atom small, many sets)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    n_sets, n_atoms = sets.shape
    small = weights < minimum
    a_eq = np.concatenate([sets.T.astype(float), -np.eye(n_atoms)], axis=1)
    w_row = np.concatenate([np.zeros(n_sets), weights.astype(float)])[None, :]
    lower = np.concatenate([np.full(n_sets, -np.inf), np.zeros(n_atoms)])
    upper = np.concatenate([np.full(n_sets, np.inf), small.astype(float)])
    res = milp(
        np.zeros(n_sets + n_atoms),
        constraints=[LinearConstraint(a_eq, 0.0, 0.0), LinearConstraint(w_row, 1, minimum - 1)],
        integrality=np.concatenate([np.zeros(n_sets), np.ones(n_atoms)]),
        bounds=Bounds(lower, upper),
        options={"time_limit": max(min(seconds, 60.0), 0.01)},
    )
    if res.status == 2:  # infeasible: nothing small is derivable
        return None
    if res.x is None:  # undecided within the time limit: be safe, report the first set
        return Derivation((), (0,), 0)
    x = np.round(res.x[n_sets:]).astype(bool)
    used = np.flatnonzero(np.abs(res.x[:n_sets]) > 1e-7)
    atoms = tuple(int(a) for a in np.flatnonzero(x))
    return Derivation(atoms, tuple(int(s) for s in used), int(weights[x].sum()))


def _combos(items: list[int], weight: dict[int, int], budget: int):  # type: ignore[no-untyped-def]
    """Every subset of `items` (sorted by weight) whose weights add up to less than budget."""
    stack: list[tuple[tuple[int, ...], int, int]] = [((), 0, 0)]
    while stack:
        combo, total, start = stack.pop()
        for j in range(start, len(items)):
            new_total = total + weight[items[j]]
            if new_total >= budget:
                break
            new = (*combo, items[j])
            yield new
            stack.append((new, new_total, j + 1))


def _derivation(x: np.ndarray, y: np.ndarray, order: np.ndarray, weight: int) -> Derivation:
    atoms = tuple(sorted(int(order[j]) for j in np.flatnonzero(x)))
    return Derivation(atoms, tuple(int(s) for s in np.flatnonzero(y)), weight)
