"""One cell and one gap from value tables: a group's n, mean, sd and favorable share
(`group_cell`) and the gap between two groups with its tests and intervals (`gap`: Welch,
Cliff's delta, the respondent-clustered favorable interval; the small-group test filled
in by `fill_small`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np

from alignscan.analysis.stats import (  # re-exported: the statistics used to live here
    SMALL,
    SMALL_FAV,
    ClusterSums,
    cliffs_delta,
    clustered_ci,
    el_rows,
    newcombe_ci,
    small_gap,
    welch,
)


def recode_reverse(codes: np.ndarray, reverse: np.ndarray, points: int) -> np.ndarray:
    """Reverse-keyed columns become points + 1 - x; 0 (not answered) stays 0.

    `codes` are scale positions (1..points), so this is (start + end) - x in codes."""
    out = codes.copy()
    cols = np.flatnonzero(reverse)
    if len(cols):
        block = out[:, cols]
        out[:, cols] = np.where(block > 0, points + 1 - block, 0).astype(out.dtype)
    return out


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
