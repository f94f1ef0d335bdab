"""Weighted ratio estimates sum(w y) / sum(w x) with standard errors by Taylor
linearisation, the weighting cells as strata and respondents as units, computed from
per-cell sums (weights are constant within a cell); and the weighted difference of two
groups' estimates."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A weighted ratio sum(w y) / sum(w x) with its linearised standard error."""

    value: float | None
    se: float | None
    df: float | None  # design degrees of freedom: respondents - classes
    n_eff: float | None  # Kish: (sum w x)^2 / sum w^2 x^2 over the units counted
    sd: float | None = None  # means only: the weighted standard deviation


@dataclass(frozen=True)
class Sums:
    """Per class sums over respondents of y, x, y^2, x^2 and x y (arrays, one per class)."""

    y: np.ndarray
    x: np.ndarray
    yy: np.ndarray
    xx: np.ndarray
    xy: np.ndarray
    units: np.ndarray  # respondents counted (key > 0)

    @classmethod
    def of(cls, counts: np.ndarray, y: np.ndarray, x: np.ndarray) -> Sums:
        """From counts (classes, keys) and each key's y and x per respondent; key 0
        counts nobody. A mean has x = 1 for every key > 0."""
        c = counts.astype(float)
        units = c[:, 1:].sum(axis=1)
        return cls(c @ y, c @ x, c @ (y * y), c @ (x * x), c @ (x * y), units)


def estimate(w: np.ndarray, n: np.ndarray, s: Sums, with_sd: bool = False) -> Estimate:
    """The ratio estimate and its Taylor-linearised variance with the classes as strata:
    z_i = w_h (y_i - R x_i) / X, V = sum_h n_h/(n_h-1) sum_i (z_i - mean_h z)^2."""
    x_hat = float(w @ s.x)
    if x_hat <= 0:
        return Estimate(None, None, None, None)
    r = float(w @ s.y) / x_hat
    t = w * (s.y - r * s.x) / x_hat
    q = w * w * (s.yy - 2 * r * s.xy + r * r * s.xx) / (x_hat * x_hat)
    big = n >= 2
    var = float(np.sum(n[big] / (n[big] - 1) * (q[big] - t[big] ** 2 / n[big])))
    df = float(s.units.sum() - np.count_nonzero(s.units))
    n_eff = x_hat**2 / float(w * w @ s.xx)
    sd = None
    if with_sd:
        units = float(s.units.sum())
        spread = float(w @ (s.yy - 2 * r * s.xy + r * r * s.xx)) / x_hat
        sd = math.sqrt(max(spread, 0.0) * units / (units - 1)) if units > 1 else None
    return Estimate(r, math.sqrt(max(var, 0.0)), df if df > 0 else None, n_eff, sd)


def weighted_delta(wa: np.ndarray, ca: np.ndarray, wb: np.ndarray, cb: np.ndarray,
                   values: np.ndarray) -> float | None:
    """Cliff's delta P(A > B) - P(A < B) of the weighted distributions (keys > 0)."""
    pa, pb = wa @ ca[:, 1:].astype(float), wb @ cb[:, 1:].astype(float)
    if pa.sum() <= 0 or pb.sum() <= 0:
        return None
    v = np.asarray(values[1:], dtype=float)
    sign = np.sign(v[:, None] - v[None, :])
    return float(pa @ sign @ pb / (pa.sum() * pb.sum()))
