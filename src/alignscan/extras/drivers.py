"""Driver analysis: which dimensions move each group's outcome (e.g. confidence).

Per role group, over respondents with a score on the outcome and on every predictor
(listwise), it publishes n, the R² of the OLS regression of the outcome on the
predictors (with intercept), and per predictor its Pearson r with a Fisher-z 95% CI and
its LMG / Shapley share of R²: the average, over every order of adding the predictors,
of the increase in R² the predictor brings. The LMG is exact (all 2^p subsets, p <= 15).

Everything is computed from mergeable sufficient statistics: per group, n, the sums and
the cross-product matrix of the dimension scores. Scores are multiplied by
lcm(1..k) (k items per dimension) so they are integers and the sums are exact integers,
which can be added up across chunks of a file or partitions of a database.

Degenerate data never crash: a predictor with no variance has r = null and importance 0
(it can explain nothing); an outcome with no variance has r2 = null; collinear
predictors make R_SS singular, so R² of a subset is computed with a pseudo-inverse,
which gives the R² of the least-squares projection (the OLS R²) all the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import reduce
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np

from alignscan.survey import Survey

if TYPE_CHECKING:
    from alignscan.result.models import DriverCell, DriverDimension, ResultDocument

Z_FISHER = 1.96
_EXACT_FLOAT = 2**53  # float64 sums of integers are exact below this
_PINV_RTOL = 1e-12


@dataclass(frozen=True)
class DriverSpec:
    """What to analyse: the outcome, the predictors, the smallest group shown."""

    outcome: str
    predictors: tuple[str, ...]
    min_group_size: int


def driver_spec(survey: Survey) -> DriverSpec | None:
    """The survey's driver analysis, with predictors defaulted; None when it has none."""
    drivers = survey.drivers
    if drivers is None:
        return None
    predictors = drivers.predictors
    if predictors is None:
        predictors = [d.id for d in survey.dimensions if d.id != drivers.outcome]
    return DriverSpec(drivers.outcome, tuple(predictors), survey.privacy.min_driver_group_size)


# ----------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class DriverStats:
    """Mergeable sufficient statistics per group, over complete (listwise) rows.

    Variables are [outcome, *predictors], as integer scores (score x `scale`)."""

    n: np.ndarray  # (groups,) int64
    sums: np.ndarray  # (groups, v) int64
    cross: np.ndarray  # (groups, v, v) int64: sum of x x'
    scale: int

    def __add__(self, other: DriverStats) -> DriverStats:
        if self.scale != other.scale:
            raise ValueError("driver statistics with different score scales can't be merged")
        return DriverStats(
            self.n + other.n, self.sums + other.sums, self.cross + other.cross, self.scale
        )


def score_scale(item_counts: list[int]) -> int:
    """lcm(1..k) over the dimensions: every dimension score times it is an integer."""
    return reduce(math.lcm, (j for k in item_counts for j in range(1, k + 1)), 1)


def driver_stats(
    keys: list[np.ndarray],
    tables: list[np.ndarray],
    group_idx: np.ndarray,
    n_groups: int,
    scale: int,
) -> DriverStats:
    """Sufficient statistics of [outcome, *predictors] from their dimension keys (0 = no
    score) and key -> integer score tables, over rows with every score (listwise)."""
    complete = group_idx >= 0
    for column in keys:
        complete &= column > 0
    v = len(keys)
    n = np.zeros(n_groups, dtype=np.int64)
    sums = np.zeros((n_groups, v), dtype=np.int64)
    cross = np.zeros((n_groups, v, v), dtype=np.int64)
    biggest = max((int(t.max(initial=1)) for t in tables), default=1)
    chunk = max(1, _EXACT_FLOAT // max(1, biggest * biggest) // 2)
    floats = [t.astype(np.float64) for t in tables]
    for g in range(n_groups):
        rows = np.flatnonzero(complete & (group_idx == g))
        n[g] = len(rows)
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            block = np.empty((len(part), v + 1), order="F")  # F: contiguous columns
            block[:, v] = 1.0  # the ones column makes the sums part of one product
            for i, column in enumerate(keys):
                np.take(floats[i], column[part], out=block[:, i])
            # integer-valued float64 with every partial sum < 2**53: BLAS speed, exact result
            product = np.rint(block.T @ block).astype(np.int64)
            sums[g] += product[v, :v]
            cross[g] += product[:v, :v]
    return DriverStats(n, sums, cross, scale)


def correlation_matrix(n: int, sums: np.ndarray, cross: np.ndarray) -> np.ndarray:
    """Pearson correlations from exact sums; NaN where a variable has no variance."""
    s = [int(v) for v in sums]
    size = len(s)
    scatter = np.empty((size, size))
    exact = [[int(cross[i, j]) * n - s[i] * s[j] for j in range(size)] for i in range(size)]
    for i in range(size):
        for j in range(size):
            denom = exact[i][i] * exact[j][j]
            scatter[i, j] = exact[i][j] / math.sqrt(denom) if denom > 0 else math.nan
    return scatter


def subset_r2(corr: np.ndarray) -> np.ndarray:
    """R² of the outcome (variable 0) on every subset of predictors, indexed by bitmask.

    R²(S) = r_Sy' R_SS^+ r_Sy, with a pseudo-inverse so collinear sets are handled."""
    p = corr.shape[0] - 1
    r_y = corr[0, 1:]
    r_xx = corr[1:, 1:]
    out = np.zeros(1 << p)
    for size in range(1, p + 1):
        subsets = np.asarray(list(combinations(range(p), size)), dtype=np.int64)
        blocks = r_xx[subsets[:, :, None], subsets[:, None, :]]
        vectors = r_y[subsets]
        inverse = np.linalg.pinv(blocks, rtol=_PINV_RTOL, hermitian=True)
        r2 = np.einsum("mi,mij,mj->m", vectors, inverse, vectors)
        out[(1 << subsets).sum(axis=1)] = r2
    return out


def shapley(r2: np.ndarray, p: int) -> np.ndarray:
    """Exact Shapley values of R²: weights |S|!(p-|S|-1)!/p! over subsets S without j."""
    masks = np.arange(1 << p)
    sizes = np.zeros(1 << p, dtype=np.int64)
    for j in range(p):
        sizes += (masks >> j) & 1
    weight = np.asarray(
        [math.factorial(s) * math.factorial(p - s - 1) / math.factorial(p) for s in range(p)]
    )
    out = np.zeros(p)
    for j in range(p):
        without = masks[((masks >> j) & 1) == 0]
        out[j] = float((weight[sizes[without]] * (r2[without | (1 << j)] - r2[without])).sum())
    return out


def fisher_ci(r: float, n: int) -> list[float] | None:
    """95% CI of a correlation: tanh(atanh r +- 1.96 / sqrt(n - 3))."""
    if n <= 3 or not math.isfinite(r):
        return None
    if abs(r) >= 1.0:
        return [r, r]
    z, half = math.atanh(r), Z_FISHER / math.sqrt(n - 3)
    return [math.tanh(z - half), math.tanh(z + half)]


def group_drivers(n: int, sums: np.ndarray, cross: np.ndarray, ids: list[str]) -> dict[str, Any]:
    """The published driver figures of one group (not suppressed)."""
    corr = correlation_matrix(n, sums, cross)
    r_y = corr[0, 1:]
    if not math.isfinite(corr[0, 0]) or n < 2:  # the outcome doesn't vary
        empty = [{"id": d, "r": None, "r_ci": None, "importance": None, "share": None} for d in ids]
        return {"n": n, "r2": None, "dimensions": empty}
    usable = np.nan_to_num(corr, nan=0.0)  # a constant predictor explains nothing
    usable[np.diag_indices_from(usable)] = 1.0
    r2_all = subset_r2(usable)
    importance = shapley(r2_all, len(ids))
    r2 = float(r2_all[-1])
    dims: list[dict[str, Any]] = []
    for j, dim_id in enumerate(ids):
        r = float(r_y[j])
        ok = math.isfinite(r)
        dims.append(
            {
                "id": dim_id,
                "r": r if ok else None,
                "r_ci": fisher_ci(r, n) if ok else None,
                "importance": float(importance[j]),
                "share": float(importance[j]) / r2 if r2 > 0 else None,
            }
        )
    return {"n": n, "r2": r2, "dimensions": dims}


def driver_result(stats: DriverStats, groups: list[str], spec: DriverSpec) -> dict[str, Any]:
    """The "drivers" block of the result document from merged statistics."""
    out: dict[str, Any] = {}
    for g, name in enumerate(groups):
        n = int(stats.n[g])
        if n < spec.min_group_size:
            out[name] = {"suppressed": True}
        else:
            out[name] = group_drivers(n, stats.sums[g], stats.cross[g], list(spec.predictors))
    return {
        "outcome": spec.outcome,
        "predictors": list(spec.predictors),
        "min_group_size": spec.min_group_size,
        "groups": out,
    }


# ----------------------------------------------------------------------------- outputs


def ranked(cell: DriverCell) -> list[DriverDimension]:
    """A group's predictors, most important first (ties keep the survey order)."""
    return sorted(cell.dimensions, key=lambda d: -(d.importance or 0.0))


def summary_lines(result: ResultDocument, titles: dict[str, str] | None = None) -> list[str]:
    """Terminal lines: the top two drivers per compared group."""
    block = result.drivers
    if block is None:
        return []
    titles = titles or {d.id: d.title for d in result.dimensions}
    from alignscan.result.findings import group_label, shown

    lines = [f"Drivers of {titles.get(block.outcome, block.outcome)} (share of R²):"]
    for group in result.compare:
        cell: Any = block.groups.get(group)
        name = group_label(result, group)
        if not shown(cell):
            lines.append(f"  {name}: fewer than {block.min_group_size} complete answers")
            continue
        top = [d for d in ranked(cell) if d.share is not None][:2]
        parts = ", ".join(f"{titles.get(d.id, d.id)} {d.share:.0%}" for d in top)
        r2 = "-" if cell.r2 is None else f"{cell.r2:.2f}"
        lines.append(f"  {name}: {parts or 'none'} (R² {r2}, n {cell.n:,})")
    return lines


def csv_rows(result: ResultDocument) -> list[list[Any]]:
    """Tidy CSV rows (level "driver"): n and r2 on the outcome's row, the rest per predictor."""
    block = result.drivers
    if block is None:
        return []
    outcome = block.outcome
    rows: list[list[Any]] = []
    for group, cell in block.groups.items():
        if getattr(cell, "suppressed", False):
            rows.append(["driver", outcome, "", "", group, "suppressed", "true"])
            continue
        rows.append(["driver", outcome, "", "", group, "n", cell.n])  # type: ignore[union-attr]
        rows.append(["driver", outcome, "", "", group, "r2", cell.r2])  # type: ignore[union-attr]
        for d in cell.dimensions:  # type: ignore[union-attr]
            lo, hi = d.r_ci or [None, None]
            for metric, value in (
                ("r", d.r),
                ("r_ci_low", lo),
                ("r_ci_high", hi),
                ("importance", d.importance),
                ("share", d.share),
            ):
                rows.append(["driver", d.id, "", "", group, metric, value])
    return rows


def json_schema() -> dict[str, Any]:
    """JSON Schema of the "drivers" block of the result document."""
    number = {"anyOf": [{"type": "number"}, {"type": "null"}]}
    ci = {
        "anyOf": [
            {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
            {"type": "null"},
        ]
    }
    dimension = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "r": number,
            "r_ci": ci,
            "importance": number,
            "share": number,
        },
        "required": ["id", "r", "r_ci", "importance", "share"],
        "additionalProperties": False,
    }
    shown = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 0},
            "r2": number,
            "dimensions": {"type": "array", "items": dimension},
        },
        "required": ["n", "r2", "dimensions"],
        "additionalProperties": False,
    }
    suppressed = {
        "type": "object",
        "properties": {"suppressed": {"const": True}},
        "required": ["suppressed"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "description": "Driver analysis: what moves each group's outcome (LMG shares of R²).",
        "properties": {
            "outcome": {"type": "string"},
            "predictors": {"type": "array", "items": {"type": "string"}},
            "min_group_size": {"type": "integer", "minimum": 3},
            "groups": {"type": "object", "additionalProperties": {"oneOf": [suppressed, shown]}},
        },
        "required": ["outcome", "predictors", "min_group_size", "groups"],
        "additionalProperties": False,
    }
