"""Empirical likelihood for the difference of two means on a bounded scale (Owen 2001),
with the support fixed to every value the scale allows, batched over many gaps.

Each group is a distribution of counts over the same support points v_1 < ... < v_K
(every answer the scale allows, given or not). Under "mean_A - mean_B = d" the fit is the
pair of distributions on that support closest to the observed shares (multinomial
likelihood); the fit may put mass on an answer nobody gave, so a group whose answers all
agree can still have any mean on the scale, and zero spread is never certainty.
The statistic -2 log R is referred to F(1, 2n), n the smaller group's size (`calibrated_p`):
chi-square(1), its limit, lets polarised answers of 5-8 people through about twice as
often as it should; F(1, n - 1) gives away a third of the power at 20 (see
benchmarks/sim_small_groups.py).

The optimum is traced by one Lagrange multiplier lam: group A is tilted by t = lam / n_A,
group B by -lam / n_B, and each tilted distribution is p_j = w_j / (x + t (v_j - v_e)),
v_e the end of the scale the tilt moves mass towards, x solved by Newton's method from a
lower bound (monotone convergence: the equation is convex and decreasing in x). Mean
difference and statistic are both monotone in lam, so a test of d = 0 and the ends of an
interval are each one bisection over lam, vectorised over the gaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import chdtrc, chdtri, fdtrc, fdtri

NEWTON_STEPS = 60
BISECT_STEPS = 24  # then one secant step


@dataclass(frozen=True)
class Pair:
    """Gaps to test, one row each: counts of A and B over the support (G, K), the
    support values (G, K), ascending per row (pad with the last value and zero counts)."""

    a: np.ndarray
    b: np.ndarray
    v: np.ndarray

    @classmethod
    def of(cls, a, b, v) -> Pair:
        a, b = np.atleast_2d(np.asarray(a, float)), np.atleast_2d(np.asarray(b, float))
        v = np.broadcast_to(np.asarray(v, float), a.shape).copy()
        return cls(a, b, v)

    @classmethod
    def stack(cls, rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Pair:
        """Rows of different support sizes, padded with the top value and zero counts."""
        width = max(len(v) for _, _, v in rows)
        a, b, v = (np.zeros((len(rows), width)) for _ in range(3))
        for i, (ca, cb, cv) in enumerate(rows):
            k = len(cv)
            a[i, :k], b[i, :k], v[i, :k], v[i, k:] = ca, cb, cv, cv[-1]
        return cls(a, b, v)

    @property
    def n_a(self) -> np.ndarray:
        return self.a.sum(axis=1)

    @property
    def n_b(self) -> np.ndarray:
        return self.b.sum(axis=1)

    def estimate(self) -> np.ndarray:
        """The observed mean difference of each row."""
        return (self.a * self.v).sum(1) / self.n_a - (self.b * self.v).sum(1) / self.n_b


def tilt(w: np.ndarray, v: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, KL(w || p)) of the distribution on support v closest to shares w among those
    tilted by t: p_j = w_j / (x + t (v_j - v_e)), with any mass left over at v_e."""
    up = t < 0  # a negative tilt moves mass up, towards the top of the scale
    ve = np.where(up, v[:, -1], v[:, 0])
    we = np.where(v == ve[:, None], w, 0.0).sum(1)  # padded rows repeat the top value
    seen = w > 0
    c = np.where(seen, t[:, None] * (v - ve[:, None]), 1.0)  # >= 0 where seen
    span = v[:, -1] - v[:, 0]
    x = np.maximum(np.maximum(we, 1.0 - np.abs(t) * span), 0.0)
    for _ in range(NEWTON_STEPS):
        inv = w / (x[:, None] + c)
        s1 = inv.sum(1)
        s2 = (inv * inv / np.where(seen, w, 1.0)).sum(1)
        step = (s1 - 1.0) / np.where(s2 > 0, s2, 1.0)
        new = np.maximum(x + step, 0.0)
        done = np.all(np.abs(new - x) <= 1e-13)
        x = new
        if done:
            break
    p = w / (x[:, None] + c)
    left = np.maximum(1.0 - p.sum(1), 0.0)  # mass on an answer nobody gave
    mean = (p * v).sum(1) + left * ve
    kl = np.where(seen, w * np.log(np.where(seen, x[:, None] + c, 1.0)), 0.0).sum(1)
    return mean, kl


def _path(pair: Pair, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean difference, -2 log R) of the constrained optimum at multiplier angle theta
    (both groups tilted in one call)."""
    na, nb = pair.n_a, pair.n_b
    span = pair.v[:, -1] - pair.v[:, 0]
    lam = np.tan(theta) * na * nb / ((na + nb) * span)
    w = np.vstack([pair.a / na[:, None], pair.b / nb[:, None]])
    mean, kl = tilt(w, np.vstack([pair.v, pair.v]), np.r_[lam / na, -lam / nb])
    g = len(na)
    return mean[:g] - mean[g:], 2.0 * (na * kl[:g] + nb * kl[g:])


def _solve(
    pair: Pair, crit: np.ndarray, test: bool, interval: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """One bisection over the multiplier angle for every row's questions at once: where
    the mean difference is 0 (the test, when `test`), and on either side of the estimate
    where -2 log R reaches `crit` (the interval, when `interval`). Returns the mean
    differences and statistics there, stacked [test rows,] [lower rows, upper rows]."""
    g = len(crit)
    half = np.full(g, np.pi / 2 * (1 - 1e-12))
    one, zero = np.ones(g), np.zeros(g)
    # per question: (is a test, sign of the angle, target, lower end of the bracket)
    asked = [(True, one, zero, -half)] if test else []
    if interval:
        asked += [(False, one, crit, zero), (False, -one, crit, zero)]
    is_test = np.concatenate([np.full(g, q[0]) for q in asked])
    sign, target, lo = (np.concatenate([q[i] for q in asked]) for i in (1, 2, 3))
    hi = np.tile(half, len(asked))
    big = Pair(*(np.tile(x, (len(asked), 1)) for x in (pair.a, pair.b, pair.v)))

    def f(theta: np.ndarray) -> np.ndarray:  # > 0 below the root, < 0 above it
        diff, stat = _path(big, sign * theta)
        return np.where(is_test, diff - target, target - stat)

    f_lo, f_hi = f(lo), f(hi)
    for _ in range(BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        f_mid = f(mid)
        go = f_mid > 0
        lo, f_lo = np.where(go, mid, lo), np.where(go, f_mid, f_lo)
        hi, f_hi = np.where(go, hi, mid), np.where(go, f_hi, f_mid)
    # one secant step inside the (now tiny) bracket: the root to rounding error
    with np.errstate(invalid="ignore", divide="ignore"):
        secant = lo + f_lo * (hi - lo) / (f_lo - f_hi)
    inside = np.isfinite(secant) & (f_lo > 0) & (f_hi < 0)
    theta = np.where(inside, np.clip(secant, lo, hi), np.where(f_hi >= 0, hi, lo))
    return _path(big, sign * theta)


def statistic(pair: Pair) -> np.ndarray:
    """-2 log R of "mean_A = mean_B" for every row."""
    _, stat = _solve(pair, np.zeros(len(pair.a)), test=True, interval=False)
    return _zero_at_estimate(pair, stat)


def _zero_at_estimate(pair: Pair, stat: np.ndarray) -> np.ndarray:
    return np.where(pair.estimate() == 0.0, 0.0, np.maximum(stat, 0.0))


def test_and_interval(
    pair: Pair, crit: np.ndarray, test: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """(-2 log R of mean_A = mean_B or None, low, high): the interval is every mean
    difference whose -2 log R stays within `crit` (test inversion: it excludes 0 exactly
    when the statistic of 0 exceeds `crit`)."""
    g = len(pair.a)
    crit = np.broadcast_to(np.asarray(crit, float), (g,)).copy()
    diff, stat = _solve(pair, crit, test)
    stat0 = _zero_at_estimate(pair, stat[:g]) if test else None
    return stat0, diff[-2 * g : -g], diff[-g:]


def calibrated_p(stat: np.ndarray, n_small: np.ndarray, calibrate: bool = True) -> np.ndarray:
    """Two-sided p of -2 log R: F(1, 2 n_small), or chi-square(1) without `calibrate`."""
    stat = np.asarray(stat, float)
    finite = np.where(np.isinf(stat), 0.0, stat)
    if not calibrate:
        return np.where(np.isinf(stat), 0.0, chdtrc(1, finite))
    df2 = 2.0 * np.asarray(n_small, float)
    return np.where(np.isinf(stat), 0.0, fdtrc(1, df2, finite))


def critical(level: float | np.ndarray, n_small: np.ndarray, calibrate: bool = True) -> np.ndarray:
    """The value of -2 log R at which the two-sided p equals 1 - level."""
    if not calibrate:
        return np.full(np.shape(n_small), chdtri(1, 1.0 - level))
    return fdtri(1, 2.0 * np.asarray(n_small, float), level)


def interval(pair: Pair, crit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The interval of every row at critical value `crit` (see `test_and_interval`)."""
    _, low, high = test_and_interval(pair, crit, test=False)
    return low, high
