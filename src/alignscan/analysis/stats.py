"""The statistics of the gap (contract v2), as pure functions of sufficient statistics.

- p-value: Welch's t-test, the same estimate and standard error as the Welch interval, so
  the test and the interval shown beside it never disagree, and it holds its level when a
  few dozen respondents with a wide spread face thousands with a narrow one.
- q-value: Benjamini-Hochberg; `fcr_level` gives the Benjamini-Yekutieli (2005) level at
  which the adjusted interval excludes zero exactly when q < 0.05.
- Cliff's delta with its magnitude decided in exact integer arithmetic (symmetric in A/B).
- Favorable shares: Newcombe's interval for items (one answer per respondent); the
  respondent-clustered ratio estimator for dimensions, whose answers come k per person.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from scipy.special import ndtri, stdtr, stdtrit

from alignscan.analysis import el

Z95 = float(ndtri(0.975))
ALPHA = 0.05
# Romano et al.'s thresholds for |delta|, as exact decimals
MAGNITUDES = (
    (Fraction("0.147"), "negligible"),
    (Fraction("0.33"), "small"),
    (Fraction("0.474"), "medium"),
)


@dataclass(frozen=True)
class Welch:
    """A difference of two means with its Welch standard error and degrees of freedom
    (df is None when the standard error is 0: both groups are constant)."""

    diff: float
    se: float
    df: float | None

    def p_value(self) -> float:
        """Two-sided p of Welch's t-test; with se = 0, 1 when the means are equal else 0."""
        if self.se == 0.0 or self.df is None:
            return 1.0 if self.diff == 0.0 else 0.0
        t = abs(self.diff) / self.se
        return min(1.0, 2.0 * float(stdtr(self.df, -t)))

    def ci(self, level: float = 0.95) -> list[float]:
        """The two-sided Welch interval at `level` (degenerate when se = 0)."""
        if self.se == 0.0 or self.df is None:
            return [self.diff, self.diff]
        half = float(stdtrit(self.df, 1.0 - (1.0 - level) / 2.0)) * self.se
        return [self.diff - half, self.diff + half]


def welch(mean_a: float, sd_a: float, n_a: int, mean_b: float, sd_b: float, n_b: int) -> Welch:
    """Welch's difference mean_a - mean_b (each group needs n >= 2)."""
    va, vb = sd_a**2 / n_a, sd_b**2 / n_b
    se = math.sqrt(va + vb)
    if se == 0.0:
        return Welch(mean_a - mean_b, 0.0, None)
    df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
    return Welch(mean_a - mean_b, se, df)


def welch_ci(
    mean_a: float, sd_a: float, n_a: int, mean_b: float, sd_b: float, n_b: int
) -> list[float]:
    """95% Welch confidence interval for mean_a - mean_b (degenerate when both sd are 0)."""
    return welch(mean_a, sd_a, n_a, mean_b, sd_b, n_b).ci()


def combined_df(parts: list[tuple[float, float | None]]) -> float | None:
    """Welch-Satterthwaite df of sqrt(sum s_i^2) from (s_i, df_i) pairs; parts with s = 0
    add nothing. None when every s is 0."""
    num = sum(s * s for s, _ in parts) ** 2
    den = sum(s**4 / df for s, df in parts if s > 0 and df is not None)
    return num / den if den > 0 else None


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order."""
    m = len(p_values)
    if m == 0:
        return []
    order = np.argsort(p_values, kind="mergesort")
    ranked = np.asarray(p_values, dtype=float)[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(q_sorted, 1.0)
    return [float(v) for v in q]


def fcr_level(q_values: list[float], alpha: float = ALPHA) -> float:
    """Confidence level of the false-coverage-rate adjusted intervals (Benjamini and
    Yekutieli 2005): 1 - alpha * max(R, 1) / m, R = number of q < alpha, m = family size."""
    m = len(q_values)
    if m == 0:
        return 1.0 - alpha
    flagged = sum(1 for q in q_values if q < alpha)
    return 1.0 - alpha * max(flagged, 1) / m


def cliffs_counts(ca: np.ndarray, cb: np.ndarray) -> tuple[int, int, int]:
    """(wins - losses, n_A, n_B) from counts per ordered key (key 0 = not answered), in
    exact integers: wins - losses = 2U - n_A n_B for Mann-Whitney's U of A."""
    size = max(len(ca), len(cb))
    a = np.zeros(size, dtype=np.int64)
    b = np.zeros(size, dtype=np.int64)
    a[: len(ca)] = ca
    b[: len(cb)] = cb
    a[0] = b[0] = 0
    below_b = np.cumsum(b) - b  # B answers strictly below each key
    above_b = int(b.sum()) - np.cumsum(b)  # strictly above
    wins = sum(int(x) for x in a * below_b)  # Python ints: no overflow
    losses = sum(int(x) for x in a * above_b)
    return wins - losses, int(a.sum()), int(b.sum())


def cliffs_delta(ca: np.ndarray, cb: np.ndarray) -> tuple[float | None, str | None]:
    """Cliff's delta of A vs B and its magnitude (negligible < 0.147 <= small < 0.33 <=
    medium < 0.474 <= large), decided exactly: |2U - n_A n_B| against threshold * n_A n_B."""
    diff, na, nb = cliffs_counts(ca, cb)
    if na == 0 or nb == 0:
        return None, None
    return diff / (na * nb), exact_magnitude(diff, na * nb)


def exact_magnitude(diff: int, pairs: int) -> str:
    """The magnitude word of delta = diff / pairs, compared as fractions."""
    size = abs(diff)
    for limit, word in MAGNITUDES:
        if size < limit * pairs:
            return word
    return "large"


def magnitude(delta: float | None) -> str | None:
    """The magnitude word of a delta given as a number (its decimal value is taken
    exactly, so +x and -x always get the same word)."""
    if delta is None:
        return None
    exact = Fraction(abs(delta)).limit_denominator(10**12)
    return exact_magnitude(exact.numerator, exact.denominator)


def cronbach_alpha_sums(
    n: int, items: list[tuple[int, int]], total: tuple[int, int]
) -> float | None:
    """Cronbach's alpha from exact integer sums over n complete respondents: (sum, sum of
    squares) of each item and of the row total. None below 2 items or 2 respondents, or
    when the total doesn't vary."""
    k = len(items)
    if k < 2 or n < 2:
        return None
    item_var = sum(s2 * n - s1 * s1 for s1, s2 in items)  # variances x n(n-1): cancels
    total_var = total[1] * n - total[0] ** 2
    if total_var == 0:
        return None
    return float(k / (k - 1) * (1 - item_var / total_var))


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson score 95% interval for a proportion."""
    p = successes / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return centre - half, centre + half


def newcombe_ci(x_a: int, n_a: int, x_b: int, n_b: int) -> list[float]:
    """Newcombe's hybrid score 95% interval for p_a - p_b (his method 10)."""
    pa, pb = x_a / n_a, x_b / n_b
    la, ua = wilson(x_a, n_a)
    lb, ub = wilson(x_b, n_b)
    d = pa - pb
    return [
        d - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2),
        d + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2),
    ]


@dataclass(frozen=True)
class ClusterSums:
    """Mergeable sums over scored respondents i of one cell: f_i favorable answers of
    m_i answered items. Everything the clustered ratio estimator needs."""

    n: int
    f: int
    m: int
    ff: int
    mm: int
    fm: int
    shares: dict[float, int] | None = field(default=None, compare=False)  # f/m -> people

    @classmethod
    def from_pair_counts(cls, counts: np.ndarray, k: int) -> ClusterSums:
        """From counts of respondents per key f * (k + 1) + m (key 0 = not scored)."""
        keys = np.flatnonzero(counts)
        n = f = m = ff = mm = fm = 0
        shares: dict[float, int] = {}
        for key in keys:
            if key == 0:
                continue
            c = int(counts[key])
            fi, mi = divmod(int(key), k + 1)
            n, f, m = n + c, f + c * fi, m + c * mi
            ff, mm, fm = ff + c * fi * fi, mm + c * mi * mi, fm + c * fi * mi
            if mi:
                shares[fi / mi] = shares.get(fi / mi, 0) + c
        return cls(n, f, m, ff, mm, fm, shares)

    def share(self) -> float | None:
        return self.f / self.m if self.m else None

    def variance(self) -> float | None:
        """n/(n-1) * sum (f_i - p m_i)^2 / (sum m)^2 with p = sum f / sum m, exactly."""
        if self.n < 2 or self.m == 0:
            return None
        num = self.m * self.m * self.ff - 2 * self.f * self.m * self.fm + self.f * self.f * self.mm
        return float(Fraction(self.n * num, (self.n - 1) * self.m**4))


def clustered_ci(a: ClusterSums, b: ClusterSums) -> list[float] | None:
    """95% interval of p_A - p_B from the respondent-clustered ratio estimator."""
    pa, pb, va, vb = a.share(), b.share(), a.variance(), b.variance()
    if pa is None or pb is None or va is None or vb is None:
        return None
    half = Z95 * math.sqrt(va + vb)
    return [pa - pb - half, pa - pb + half]


# ----------------------------------------------------------------------------- small groups

# Below this many respondents in either group, Welch's t-test does not hold its error
# rate on a bounded scale (skewed answers: 14% of replications flagged at 60, 12% at 100,
# 4.8% at 200; benchmarks/sim_small_groups.py): such gaps, and any gap whose groups both
# have zero spread, are tested by empirical likelihood with the support fixed to the
# scale (alignscan.analysis.el). Both groups at or above it: Welch's figures, unchanged.
WELCH_MIN = 200
# the private keys of a gap holding its small-group test inputs, popped before publishing
SMALL, SMALL_FAV = "_small", "_small_favorable"


def benjamini_hochberg_rows(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of each row of a (families, tests) array."""
    p = np.asarray(p, dtype=float)
    m = p.shape[1]
    order = np.argsort(p, axis=1, kind="mergesort")
    ranked = np.take_along_axis(p, order, axis=1) * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(ranked[:, ::-1], axis=1)[:, ::-1]
    q = np.empty_like(p)
    np.put_along_axis(q, order, np.minimum(q_sorted, 1.0), axis=1)
    return q


def small_gap(n_a: int, n_b: int, se: float) -> bool:
    """True when a gap is tested by empirical likelihood: a group below WELCH_MIN, or a
    zero Welch standard error (zero spread is not certainty)."""
    return min(n_a, n_b) < WELCH_MIN or se == 0.0


def el_p(pair: el.Pair) -> np.ndarray:
    """Two-sided p of "equal means" for every row of `pair` (calibrated likelihood ratio)."""
    return el.calibrated_p(el.statistic(pair), np.minimum(pair.n_a, pair.n_b))


def el_test_ci(
    pair: el.Pair, level: float | np.ndarray, test: bool = True
) -> tuple[np.ndarray | None, np.ndarray]:
    """(p of "equal means" or None, (rows, 2) intervals at `level`) of every row, in one
    pass; by test inversion each interval excludes 0 exactly when p < 1 - level."""
    small = np.minimum(pair.n_a, pair.n_b)
    stat, low, high = el.test_and_interval(pair, el.critical(level, small), test)
    p = el.calibrated_p(stat, small) if stat is not None else None
    return p, np.column_stack([low, high])


Row = tuple[np.ndarray, np.ndarray, np.ndarray]  # counts of A, counts of B, values


def el_rows(
    rows: list[Row], level: float, test: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """`el_test_ci` of rows of any support size, in input order: (p or None, intervals,
    estimates), solved in one batch per support size (no work on padding)."""
    p, ci, estimate = np.empty(len(rows)), np.empty((len(rows), 2)), np.empty(len(rows))
    by_width: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        by_width.setdefault(len(row[2]), []).append(i)
    for index in by_width.values():
        pair = el.Pair.stack([rows[i] for i in index])
        part, ci[index] = el_test_ci(pair, level, test)
        estimate[index] = pair.estimate()
        if part is not None:
            p[index] = part
    return (p if test else None), ci, estimate


def gap_p_values(pair: el.Pair) -> np.ndarray:
    """The analysis's p of every row (floats, for the simulation): empirical likelihood
    where `small_gap`, Welch's t-test elsewhere."""
    rows = [_welch_of_counts(a, b, v) for a, b, v in zip(pair.a, pair.b, pair.v, strict=True)]
    sizes = zip(pair.n_a, pair.n_b, rows, strict=True)
    small = np.array([small_gap(int(na), int(nb), w.se) for na, nb, w in sizes])
    out = np.array([w.p_value() for w in rows])
    if small.any():
        out[small] = el_p(el.Pair(pair.a[small], pair.b[small], pair.v[small]))
    return out


def _welch_of_counts(a: np.ndarray, b: np.ndarray, v: np.ndarray) -> Welch:
    """Welch's difference from counts over values (floats; the analysis uses exact sums)."""

    def moments(c: np.ndarray) -> tuple[float, float, int]:
        n = c.sum()
        m = (c * v).sum() / n
        return m, math.sqrt((c * (v - m) ** 2).sum() / (n - 1)), int(n)

    return welch(*moments(a), *moments(b))
