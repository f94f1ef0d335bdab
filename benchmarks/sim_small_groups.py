"""Error rates and power of the gap flags with small executive groups (issue #25).

Seeded simulation at the level the analysis works on: per-code counts of each group.
A survey of 30 items in 6 dimensions of 5 items (36 gaps, one Benjamini-Hochberg family)
on a 5-point scale; executives (3, 5, 8, 20, 60, ...) against 2,000 practitioners.

Scenarios (every item has equal means in both groups unless said otherwise):
- equal:      both groups answer from the same realistic distribution, with a
              respondent-level lean so the items of a dimension are correlated;
- narrow:     executives answer on two neighbouring codes only (tiny spread), with the
              practitioners' mean on every item;
- polarised:  executives answer 1 or 5, practitioners 2 or 4 (same mean, same
              favorable share, different shapes);
- skew:       mostly favorable answers with a rare low tail, in both groups;
- shift:      executives half a point above practitioners on every item (power).

Methods: `welch` (Welch's t-test, the analysis before issue #25) and `new` (the
analysis's rule now: `alignscan.analysis.stats.gap_p_values`), plus the empirical-likelihood
variants the choice was made from (`el_chi2`, `el_f`).

Usage: python benchmarks/sim_small_groups.py [--reps 2000] [--seed 25]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.special import stdtr

from alignscan.analysis import el
from alignscan.analysis.analysis import ValueTable, fill_small, gap
from alignscan.analysis.stats import (
    ClusterSums,
    benjamini_hochberg_rows,
    clustered_ci,
    gap_p_values,
)

POINTS = 5
ITEMS, PER_DIM = 30, 5
N_B = 2000
ALPHA = 0.05


@dataclass(frozen=True)
class Draw:
    """Answers of both groups in one replication: (n, ITEMS) codes 1..POINTS."""

    a: np.ndarray
    b: np.ndarray


def _base_probs(rng: np.random.Generator, skew: bool) -> np.ndarray:
    """Per-item answer distributions (ITEMS, POINTS), fixed once per scenario."""
    if skew:
        base = np.array([0.03, 0.03, 0.06, 0.38, 0.50])
    else:
        base = np.array([0.07, 0.16, 0.27, 0.32, 0.18])
    noise = rng.dirichlet(base * 200, size=ITEMS)
    return noise


def _lean_answers(rng, probs: np.ndarray, n: int) -> np.ndarray:
    """Answers with the item marginals `probs`, correlated within a respondent: a Gaussian
    copula (a respondent factor shared by all items, loading 0.6)."""
    z = 0.6 * rng.standard_normal((n, 1)) + 0.8 * rng.standard_normal((n, ITEMS))
    from scipy.special import ndtr

    u = ndtr(z)
    cum = np.cumsum(probs, axis=1)
    return (1 + (u[:, :, None] > cum[None, :, :-1]).sum(axis=2)).astype(np.int8)


def _narrow_probs(probs: np.ndarray) -> np.ndarray:
    """Distributions on two neighbouring codes with the means of `probs`."""
    means = probs @ np.arange(1, POINTS + 1)
    low = np.floor(means).astype(int)
    frac = means - low
    out = np.zeros_like(probs)
    out[np.arange(ITEMS), low - 1] = 1 - frac
    out[np.arange(ITEMS), np.minimum(low, POINTS - 1)] += frac
    return out


def _shift_probs(probs: np.ndarray, by: float) -> np.ndarray:
    """Exponential tilts of `probs` whose means are `by` higher."""
    codes = np.arange(1, POINTS + 1)
    target = probs @ codes + by
    out = np.empty_like(probs)
    for i, p in enumerate(probs):
        lo, hi = -20.0, 20.0
        for _ in range(80):
            mid = (lo + hi) / 2
            q = p * np.exp(mid * codes)
            q /= q.sum()
            lo, hi = (mid, hi) if q @ codes < target[i] else (lo, mid)
        out[i] = q
    return out


def practitioners(rng, scenario: str, probs: np.ndarray) -> np.ndarray:
    """The N_B practitioners' answers of one replication (shared by every executive size)."""
    if scenario == "polarised":
        return np.where(_polar_up(rng, N_B), 4, 2).astype(np.int8)
    return _lean_answers(rng, probs, N_B)


def executives(rng, scenario: str, n_a: int, probs: np.ndarray) -> np.ndarray:
    """The executives' answers of one replication."""
    if scenario == "polarised":
        return np.where(_polar_up(rng, n_a), 5, 1).astype(np.int8)
    if scenario == "narrow":
        return _lean_answers(rng, _narrow_probs(probs), n_a)
    if scenario == "shift":
        return _lean_answers(rng, _shift_probs(probs, 0.5), n_a)
    return _lean_answers(rng, probs, n_a)


def _polar_up(rng, n: int) -> np.ndarray:
    """Half lean up, half down; a quarter of the answers ignore the lean."""
    lean = rng.random((n, 1)) < 0.5
    redraw = rng.random((n, ITEMS)) < 0.25
    return np.where(redraw, rng.random((n, ITEMS)) < 0.5, lean)


def draws(scenario: str, sizes: list[int], reps: int, seed: int) -> dict[int, list[Draw]]:
    """`reps` replications per executive size, seeded by scenario; each replication's
    practitioners are shared by the sizes (each size is its own experiment)."""
    rng = np.random.default_rng([seed, sum(map(ord, scenario))])
    probs = _base_probs(rng, skew=scenario == "skew")
    if scenario == "shift":
        probs = _base_probs(np.random.default_rng([seed, sum(map(ord, "equal"))]), False)
    out: dict[int, list[Draw]] = {n: [] for n in sizes}
    for _ in range(reps):
        b = practitioners(rng, scenario, probs)
        for n in sizes:
            out[n].append(Draw(executives(rng, scenario, n, probs), b))
    return out


def counts(draws: list[Draw]) -> tuple[el.Pair, el.Pair]:
    """(item pairs, dimension pairs) of per-value counts, one row per replication x unit."""
    item_a = np.stack([_code_counts(d.a) for d in draws]).reshape(-1, POINTS)
    item_b = np.stack([_code_counts(d.b) for d in draws]).reshape(-1, POINTS)
    k = PER_DIM
    support = 1 + np.arange(k * (POINTS - 1) + 1) / k
    dim_a = np.stack([_score_counts(d.a) for d in draws]).reshape(-1, len(support))
    dim_b = np.stack([_score_counts(d.b) for d in draws]).reshape(-1, len(support))
    items = el.Pair.of(item_a, item_b, np.arange(1, POINTS + 1))
    return items, el.Pair.of(dim_a, dim_b, support)


def _code_counts(x: np.ndarray) -> np.ndarray:
    """(ITEMS, POINTS) counts of each code per item."""
    return (x[:, :, None] == np.arange(1, POINTS + 1)).sum(axis=0)


def _score_counts(x: np.ndarray) -> np.ndarray:
    """(dims, 21) counts of each dimension total (PER_DIM .. PER_DIM*POINTS)."""
    totals = x.reshape(len(x), -1, PER_DIM).sum(axis=2) - PER_DIM
    width = PER_DIM * (POINTS - 1) + 1
    return (totals[:, :, None] == np.arange(width)).sum(axis=0)


def welch_p(pair: el.Pair) -> np.ndarray:
    """Welch's two-sided p from counts (the old rule); 0 or 1 when both spreads are 0."""
    stats = []
    for c in (pair.a, pair.b):
        n = c.sum(1)
        m = (c * pair.v).sum(1) / n
        var = (c * (pair.v - m[:, None]) ** 2).sum(1) / (n - 1)
        stats.append((n, m, var / n))
    (na, ma, va), (nb, mb, vb) = stats
    se = np.sqrt(va + vb)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
        p = 2 * stdtr(df, -np.abs(ma - mb) / se)
    return np.where(se > 0, np.minimum(p, 1.0), np.where(ma == mb, 1.0, 0.0))


def method_p(pair: el.Pair, methods: tuple[str, ...]) -> dict[str, np.ndarray]:
    """p-values of the asked methods for every row."""
    out = {}
    if "welch" in methods:
        out["welch"] = welch_p(pair)
    if "el_chi2" in methods or "el_f" in methods:
        stat = el.statistic(pair)
        small = np.minimum(pair.n_a, pair.n_b)
        out["el_chi2"] = el.calibrated_p(stat, small, calibrate=False)
        out["el_f"] = el.calibrated_p(stat, small, calibrate=True)
    if "new" in methods:
        out["new"] = gap_p_values(pair)
    return {m: out[m] for m in methods}


def family(items: np.ndarray, dims: np.ndarray, reps: int) -> np.ndarray:
    """(reps, 36) p-values: a replication's items then its dimensions."""
    return np.hstack([items.reshape(reps, -1), dims.reshape(reps, -1)])


def flag_rates(
    sims: dict[int, list[Draw]], methods: tuple[str, ...] = ("welch", "new")
) -> dict[int, dict[str, tuple[float, float]]]:
    """size -> method -> (share of replications with any flag, share of item gaps
    flagged), BH over each replication's 36 gaps; every size's gaps tested in one batch."""
    sizes = list(sims)
    reps = len(sims[sizes[0]])
    items, dims = zip(*(counts(sims[n]) for n in sizes), strict=True)
    pi, pd = method_p(_concat(items), methods), method_p(_concat(dims), methods)
    out: dict[int, dict[str, tuple[float, float]]] = {n: {} for n in sizes}
    for name in methods:
        per_i = pi[name].reshape(len(sizes), -1)
        per_d = pd[name].reshape(len(sizes), -1)
        for s, n in enumerate(sizes):
            q = benjamini_hochberg_rows(family(per_i[s], per_d[s], reps))
            flagged = q < ALPHA
            out[n][name] = (float(flagged.any(axis=1).mean()), float(flagged[:, :ITEMS].mean()))
    return out


def _concat(pairs) -> el.Pair:
    return el.Pair(*(np.vstack([getattr(p, k) for p in pairs]) for k in ("a", "b", "v")))


def favorable_rates(sims: dict[int, list[Draw]]) -> dict[int, tuple[float, float]]:
    """size -> (old, new) share of dimension favorable-gap intervals excluding 0: the
    respondent-clustered z interval, and the analysis's own `gap` + `fill_small`."""
    values = ValueTable.of([0, *(Fraction(t, PER_DIM) + 1 for t in range(4 * PER_DIM + 1))])
    per_size = {n: [g for d in ds for g in _favorable_gaps(d, values)] for n, ds in sims.items()}
    fill_small([g for gaps in per_size.values() for g in gaps])
    return {
        n: (
            float(np.mean([_excludes_zero(g["_old"]) for g in gaps])),
            float(np.mean([_excludes_zero(g["favorable_ci"]) for g in gaps])),
        )
        for n, gaps in per_size.items()
    }


def _excludes_zero(ci) -> bool:
    return ci[0] > 0 or ci[1] < 0


def _favorable_gaps(d: Draw, values: ValueTable) -> list[dict]:
    """The dimension gaps of one replication, small-group figures deferred."""
    score_a, score_b = _score_counts(d.a), _score_counts(d.b)
    fav_a = (d.a >= 4).reshape(len(d.a), -1, PER_DIM).sum(axis=2)
    fav_b = (d.b >= 4).reshape(len(d.b), -1, PER_DIM).sum(axis=2)
    out = []
    for j in range(ITEMS // PER_DIM):
        cluster = (_cluster(fav_a[:, j]), _cluster(fav_b[:, j]))
        fa, fb = ((int(f[:, j].sum()), PER_DIM * len(f)) for f in (fav_a, fav_b))
        g = gap(
            np.r_[0, score_a[j]],
            np.r_[0, score_b[j]],
            values,
            fa,
            fb,
            cluster,
            (1.0, float(POINTS)),
            defer=True,
        )
        g.pop("_small", None)  # only the favorable interval is asked
        g["_old"] = clustered_ci(*cluster)
        out.append(g)
    return out


def _cluster(favorable: np.ndarray) -> ClusterSums:
    """Clustered sums of respondents with `favorable` of PER_DIM answers favorable."""
    keys = favorable * (PER_DIM + 1) + PER_DIM
    return ClusterSums.from_pair_counts(np.bincount(keys, minlength=(PER_DIM + 1) ** 2), PER_DIM)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--sizes", default="3,5,8,20,60")
    parser.add_argument("--scenarios", default="equal,narrow,polarised,skew")
    parser.add_argument("--methods", default="welch,new")
    parser.add_argument(
        "--fav-reps",
        type=int,
        default=500,
        help="replications of the favorable-interval check (each runs the analysis's own gap())",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    names = tuple(args.methods.split(","))
    print(
        f"{args.reps} replications, seed {args.seed}, 36 gaps (30 items, 6 dimensions), "
        f"executives vs {N_B} practitioners, BH at {ALPHA}\n"
    )
    table = [
        f"| scenario | executives | {' | '.join(names)} | favorable old | favorable new |",
        "|---|---|" + "---|" * (len(names) + 2),
    ]
    for scenario in args.scenarios.split(","):
        start = time.perf_counter()
        sims = draws(scenario, sizes, args.reps, args.seed)
        rates = flag_rates(sims, names)
        fewer = {n: sims[n][: args.fav_reps] for n in sizes}
        fav = favorable_rates(fewer) if scenario != "narrow" else {}
        for n in sizes:
            cells = " | ".join(f"{rates[n][m][0]:.1%}" for m in names)
            old, new = (f"{x:.1%}" for x in fav[n]) if n in fav else ("-", "-")
            table.append(f"| {scenario} | {n} | {cells} | {old} | {new} |")
        print(f"{scenario}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    print("Any flag (share of replications with at least one q < 0.05), and the share of")
    print("dimension favorable-gap intervals that exclude 0 (equal favorable shares; the")
    print(f"first {args.fav_reps} replications):\n")
    print("\n".join(table))
    rates = flag_rates(draws("shift", sizes, args.reps, args.seed), names)
    print("\nPower: share of item gaps flagged, executives +0.5 points on every item:\n")
    print(f"| executives | {' | '.join(names)} |")
    print("|---|" + "---|" * len(names))
    for n in sizes:
        print(f"| {n} | " + " | ".join(f"{rates[n][m][1]:.1%}" for m in names) + " |")


if __name__ == "__main__":
    main()
