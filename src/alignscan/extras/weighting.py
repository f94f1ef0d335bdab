"""Weighting respondents to the headcount: post-stratification and raking (issue #31).

When engineering answers at 80% and sales at 30%, a group's unweighted mean is mostly
engineering's. Each compared group is weighted to the population of its cells: a cell is
a combination of values of the segment columns a headcount file names (`--weight-to`).

- Post-stratification: the file gives the headcount of every cell of one set of columns
  (one column, or a cross such as department x region); a respondent's weight is
  N_cell / n_cell.
- Raking: the file gives several margins (department totals and region totals in rows of
  their own); weights are fitted by iterative proportional fitting over the cross of the
  margins' columns until every margin is met to 1e-10 (relative), else an error.

Refused, with every reason at once: margins of one group that add up differently, a cell
with headcount but no respondent (no collapse is made: merge it in the file, or weight on
a coarser column), respondents in a value the file has no row for, and any weighting cell
that would let fewer than `privacy.min_group_size` respondents be derived (see `audit`).

Estimates are ratio estimators sum(w y) / sum(w) over the respondents a statistic counts;
standard errors by Taylor linearisation with the weighting cells as strata and
respondents as units, without finite population correction (like the unweighted
analysis, which treats respondents as a sample of a process, not of a finite list), so
its variance is conditional on how many answered in each cell. Design degrees of freedom
are respondents - cells per group; a gap's are Welch-Satterthwaite's over both groups.
The formulas are computed from per-cell sums (weights are constant within a cell), and
checked to 1e-9 against the svy library in tests/reference/make_weighted_reference.py:
svy works on rows, this module on counts, so it is not a runtime dependency.

The targets and the cell counts are read in `weighting_targets`; the ratio estimates and
their standard errors are `weighting_estimates`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alignscan.extras.weighting_estimates import Estimate, Sums, estimate, weighted_delta
from alignscan.extras.weighting_targets import SEP, Margin, Targets, WeightingError
from alignscan.responses import CellError
from alignscan.survey import Survey

CAP = 5.0  # a weight above CAP x the group's mean weight is warned about (and trimmed)
RAKE_TOLERANCE = 1e-10
RAKE_MAX_ITER = 2000


# ----------------------------------------------------------------------------- weights


@dataclass
class GroupWeights:
    """One group's weighting classes (the cross of its columns, those with respondents):
    respondents and weight per class."""

    group: str
    columns: tuple[str, ...]
    classes: list[tuple[str, ...]]
    n: np.ndarray  # respondents per class
    w: np.ndarray  # weight per class
    method: str  # "post-stratification", "raking" or "scaling" (group total only)
    population: int
    iterations: int = 0
    trimmed: bool = False

    def relative(self) -> np.ndarray:
        """Weights over the group's mean weight (population / respondents)."""
        return self.w / (float(self.w @ self.n) / float(self.n.sum()))

    def summary(self) -> dict[str, Any]:
        """What the report shows: range, Kish design effect and effective n."""
        n = float(self.n.sum())
        deff = n * float(self.w**2 @ self.n) / float(self.w @ self.n) ** 2
        rel = self.relative()
        return {
            "method": self.method,
            "columns": list(self.columns),
            "cells": len(self.classes),
            "n": int(self.n.sum()),
            "population": self.population,
            "weight_min": float(self.w.min()),
            "weight_max": float(self.w.max()),
            "relative_max": float(rel.max()),
            "design_effect": deff,
            "n_effective": n / deff,
            "iterations": self.iterations,
            "trimmed": self.trimmed,
        }


def class_counts(cells: pd.DataFrame, group: str, all_columns: list[str],
                 columns: tuple[str, ...]) -> pd.DataFrame:
    """A group's cell counts regrouped by its own columns (class = their values)."""
    mine = cells[cells["group"] == group]
    pick = [all_columns.index(c) for c in columns]
    split = mine["cell"].str.split(SEP, regex=False)
    keys = split.map(lambda parts: SEP.join(parts[i] for i in pick))
    frame = mine.assign(cell=keys.to_numpy(dtype=object) if len(mine) else [])
    return frame.groupby(["measure", "cell", "key"], sort=True)["n"].sum().reset_index()


def group_weights(targets: Targets, group: str, heads: dict[tuple[str, ...], int],
                  trim: bool) -> tuple[GroupWeights | None, list[CellError]]:
    """The weights of one group from its margins and respondents per class, or errors."""
    file, margins = targets.file, targets.margins.get(group, [])
    if not margins:
        return None, [CellError(file, None, "group", group, f"no headcount rows for the compared "
                                f"group {group!r}: each compared group is weighted", "no_rows")]
    columns = tuple(dict.fromkeys(c for m in margins for c in m.columns))
    errors = _margin_errors(file, group, margins, heads, columns)
    if errors:
        return None, errors
    classes = sorted(heads)
    n = np.asarray([heads[c] for c in classes], dtype=float)
    population = margins[0].total()
    real = [m for m in margins if m.columns]
    if not real:
        gw = GroupWeights(group, columns, classes, n, np.full(len(n), population / n.sum()),
                          "scaling", population)
    elif len(real) == 1:
        gw = _poststratify(group, real[0], classes, n, columns, population)
    else:
        raked, errors = _rake(file, group, real, classes, n, columns, population)
        if raked is None:
            return None, errors
        gw = raked
    if trim:
        _trim(gw)
    return gw, []


def _project(classes: list[tuple[str, ...]], columns: tuple[str, ...],
             margin: Margin) -> list[tuple[str, ...]]:
    pick = [columns.index(c) for c in margin.columns]
    return [tuple(c[i] for i in pick) for c in classes]


def _margin_errors(file: str, group: str, margins: list[Margin],
                   heads: dict[tuple[str, ...], int], columns: tuple[str, ...]) -> list[CellError]:
    """Margins adding up differently, headcount cells without respondents, respondents
    without a headcount cell."""
    errors = []
    totals = {m.total() for m in margins}
    if len(totals) > 1:
        said = "; ".join(f"{' x '.join(m.columns) or 'group total'} rows add up to {m.total():,}"
                         for m in margins)
        errors.append(CellError(file, None, "headcount", None,
                                f"the margins of group {group!r} disagree: {said}", "margins"))
    classes = sorted(heads)
    for m in margins:
        if not m.columns:
            continue
        responded: dict[tuple[str, ...], int] = {}
        for key, c in zip(_project(classes, columns, m), classes, strict=True):
            responded[key] = responded.get(key, 0) + heads[c]
        for key, (number, row) in m.totals.items():
            got = responded.get(key, 0)
            where = ", ".join(f"{c}={v}" for c, v in zip(m.columns, key, strict=True))
            if number > 0 and got == 0:
                errors.append(CellError(
                    file, row, m.columns[0], key[0],
                    f"no respondent of group {group!r} in {where}: a cell with headcount needs "
                    "respondents (no cells are merged: merge it with another in this file and "
                    "the data, or weight on a coarser column)", "empty_cell"))
            elif got > number:
                errors.append(CellError(file, row, "headcount", str(number),
                                        f"more respondents than headcount in {where}",
                                        "over_headcount"))
        for key in sorted(set(responded) - set(m.totals)):
            where = ", ".join(f"{c}={v}" for c, v in zip(m.columns, key, strict=True))
            errors.append(CellError(file, None, m.columns[0], key[0],
                                    f"group {group!r} has respondents in {where}, which has no "
                                    "headcount row", "missing_cell"))
    return errors


def _poststratify(group: str, margin: Margin, classes: list[tuple[str, ...]], n: np.ndarray,
                  columns: tuple[str, ...], population: int) -> GroupWeights:
    """w = N_cell / n_cell (classes finer than the margin share its cell's weight)."""
    keys = _project(classes, columns, margin)
    per: dict[tuple[str, ...], float] = {}
    for key, count in zip(keys, n, strict=True):
        per[key] = per.get(key, 0.0) + count
    w = np.asarray([margin.totals[k][0] / per[k] for k in keys])
    return GroupWeights(group, columns, classes, n, w, "post-stratification", population)


def _rake(file: str, group: str, margins: list[Margin], classes: list[tuple[str, ...]],
          n: np.ndarray, columns: tuple[str, ...],
          population: int) -> tuple[GroupWeights | None, list[CellError]]:
    """Iterative proportional fitting of the class weights to every margin."""
    index = []
    for m in margins:
        keys = _project(classes, columns, m)
        order = sorted(m.totals)
        pos = {k: i for i, k in enumerate(order)}
        target = np.asarray([m.totals[k][0] for k in order], dtype=float)
        index.append((np.asarray([pos[k] for k in keys]), target))
    w = np.full(len(n), population / n.sum())
    for sweep in range(1, RAKE_MAX_ITER + 1):
        for idx, target in index:
            got = np.bincount(idx, weights=w * n, minlength=len(target))
            factor = np.divide(target, got, out=np.ones_like(target), where=got > 0)
            w = w * factor[idx]
        worst = max(float(np.max(np.abs(np.bincount(idx, weights=w * n, minlength=len(t)) - t)
                                 / np.maximum(t, 1.0))) for idx, t in index)
        if worst < RAKE_TOLERANCE:
            return GroupWeights(group, columns, classes, n, w, "raking", population, sweep), []
    reason = (f"raking group {group!r} did not converge in {RAKE_MAX_ITER} sweeps (a margin "
              f"is off by {worst:.2%}): its respondents' cells can't meet all margins")
    return None, [CellError(file, None, "headcount", None, reason, "no_convergence")]


def _trim(gw: GroupWeights) -> None:
    """Cap weights at CAP x the mean weight, spreading the excess over the others so the
    group total stays the headcount (repeated until none is above the cap)."""
    total = float(gw.w @ gw.n)
    for _ in range(100):
        cap = CAP * total / float(gw.n.sum())
        over = gw.w > cap * (1 + 1e-12)
        if not over.any():
            return
        gw.trimmed = True
        w = np.where(over, cap, gw.w)
        free = ~over & (gw.w < cap)
        rest = total - float(w[~free] @ gw.n[~free])
        w[free] *= rest / float(w[free] @ gw.n[free])
        gw.w = w


# ----------------------------------------------------------------------------- analysis


@dataclass
class Weighting:
    """What `analyze_counts` needs to weight: the targets, the cell counts of the
    responses (`count_cells` over `targets.columns()`) and whether to trim."""

    targets: Targets
    cells: pd.DataFrame
    trim: bool = False


@dataclass
class _Group:
    """One weighted group: its weights and its counts per class, by measure."""

    weights: GroupWeights
    counts: pd.DataFrame

    def cube(self, measure: str, width: int) -> np.ndarray:
        """Counts (classes, keys) of one measure, zero-padded."""
        out = np.zeros((len(self.weights.classes), width), dtype=np.int64)
        rows = self.counts[self.counts["measure"] == measure]
        if len(rows):
            pos = {SEP.join(c): i for i, c in enumerate(self.weights.classes)}
            idx = rows["cell"].map(pos).to_numpy()
            np.add.at(out, (idx, rows["key"].to_numpy()), rows["n"].to_numpy())
        return out


def weigh_groups(spec: Weighting, survey: Survey) -> dict[str, _Group]:
    """Every compared group's weights, or WeightingError with every problem."""
    columns = spec.targets.columns()
    out, errors = {}, []
    for name in survey.roles.compare:
        own = tuple(dict.fromkeys(c for m in spec.targets.margins.get(name, []) for c in m.columns))
        counts = class_counts(spec.cells, name, columns, own)
        heads = counts[counts["measure"] == "head"]
        by = {(tuple(str(k).split(SEP)) if own else ()): int(n)
              for k, n in zip(heads["cell"], heads["n"], strict=True)}
        gw, problems = group_weights(spec.targets, name, by, spec.trim)
        errors += problems
        if gw is not None:
            out[name] = _Group(gw, counts)
    if errors:
        raise WeightingError(errors)
    return out


def small_class_errors(file: str, groups: dict[str, _Group], minimum: int) -> list[CellError]:
    """Weighting classes of 1 .. minimum-1 respondents: their weight would reveal them."""
    errors = []
    for name, grp in groups.items():
        gw = grp.weights
        for key, n in zip(gw.classes, gw.n, strict=True):
            if n < minimum:
                where = ", ".join(f"{c}={v}" for c, v in zip(gw.columns, key, strict=True))
                errors.append(CellError(
                    file, None, gw.columns[0] if gw.columns else "group", key[0] if key else None,
                    f"the weighting cell {where} of group {name!r} has fewer than {minimum} "
                    "respondents (privacy.min_group_size): its weight would reveal them; weight "
                    "on coarser cells", "small_cell"))
    return errors


def audit(prep: Any, groups: dict[str, _Group], file: str) -> list[CellError]:
    """The project's anonymity audit with every weighting class of a weighted group taken
    as published (weighted and unweighted figures together can give a class's sums): a
    derivable set of 1 .. minimum-1 respondents (or scored respondents) refuses."""
    from alignscan.privacy.privacy import (
        _all_cells,
        _cell_mask,
        _families,
        audit_atoms,
        find_small_derivable,
    )

    minimum = prep.survey.privacy.min_group_size
    errors = small_class_errors(file, groups, minimum)
    if errors:
        return errors
    atoms = audit_atoms(prep.table.atoms, prep.survey, prep.groups, prep.segments)
    names = [c for c, _, _ in prep.segments]
    for name, grp in groups.items():
        g = prep.groups.index(name)
        ga, gw = atoms[g], grp.weights
        shown = [c for c in _all_cells(ga) if c not in prep.plan.hidden_cells.get(g, set())]
        classes = []
        for key in gw.classes:
            mask = np.ones(len(ga.head), dtype=bool)
            for column, value in zip(gw.columns, key, strict=True):
                col = names.index(column)
                mask &= ga.values[:, col] == prep.segments[col][2].get(value, -2)
            classes.append(mask)
        for weights in _families(ga):
            live = weights > 0
            rows = [np.ones(len(weights), dtype=bool)] + classes + [
                m for m in (_cell_mask(ga, c) for c in shown) if weights[m].sum() >= minimum]
            sets = np.stack(rows)[:, live].astype(np.int64)
            if live.any() and find_small_derivable(sets, weights[live], minimum) is not None:
                errors.append(CellError(
                    file, None, ", ".join(gw.columns), None,
                    f"weighting group {name!r} on {' x '.join(gw.columns)} would let fewer than "
                    f"{minimum} respondents be worked out from the published figures; weight "
                    "on fewer or coarser columns", "privacy"))
                break
    return errors


def _keys(survey: Survey) -> dict[str, np.ndarray]:
    """Per key of an item: its value (x = 1) and whether it is favorable."""
    from alignscan.counting.counts import favorable_positions

    p, start = survey.scale.points, survey.scale.start
    value = np.concatenate([[0.0], np.arange(start, start + p, dtype=float)])
    fav = np.zeros(p + 1)
    fav[favorable_positions(survey)] = 1.0
    answered = np.concatenate([[0.0], np.ones(p)])
    return {"value": value, "fav": fav, "answered": answered}


def _dimension_keys(survey: Survey, k: int) -> tuple[np.ndarray, ...]:
    """Score keys T*(k+1)+M -> (value, scored) and cluster keys F*(k+1)+M -> (F, M)."""
    p, start = survey.scale.points, survey.scale.start
    width = (k * p + 1) * (k + 1)
    key = np.arange(width)
    t, m = np.divmod(key, k + 1)
    scored = (m > 0) & (key > 0)
    value = np.where(scored, t / np.maximum(m, 1) + start - 1, 0.0)
    ckey = np.arange((k + 1) ** 2)
    f, cm = np.divmod(ckey, k + 1)
    return value, scored.astype(float), f.astype(float), cm.astype(float)


def _weighted_cell(old: dict[str, Any], mean: Estimate, fav: Estimate) -> dict[str, Any]:
    """A shown cell with its mean, sd and favorable share weighted; n and the answer
    counts stay the respondents' own."""
    if old.get("suppressed") or mean.value is None:
        return old
    out = dict(old)
    out["mean"], out["sd"], out["favorable"] = mean.value, mean.sd, fav.value
    out["favorable_se"] = fav.se
    out["mean_se"] = mean.se
    out["n_effective"] = mean.n_eff
    return out


def _weighted_gap(ma: Estimate, mb: Estimate, fa: Estimate, fb: Estimate,
                  delta: float | None) -> dict[str, Any]:
    """The gap A - B from two weighted estimates, through the Welch machinery (estimate,
    standard error, Satterthwaite degrees of freedom of the two designs)."""
    from alignscan.analysis.stats import Welch, combined_df, magnitude

    assert ma.value is not None and mb.value is not None
    se = math.sqrt((ma.se or 0.0) ** 2 + (mb.se or 0.0) ** 2)
    df = combined_df([(ma.se or 0.0, ma.df), (mb.se or 0.0, mb.df)])
    w = Welch(ma.value - mb.value, se, df if se > 0 else None)
    out: dict[str, Any] = {
        "mean": w.diff, "mean_ci": w.ci(), "mean_ci_adjusted": None, "se": w.se, "df": w.df,
        "favorable": None, "favorable_ci": None, "p_value": w.p_value(), "q_value": None,
        "cliffs_delta": delta, "magnitude": magnitude(delta),
    }
    if fa.value is not None and fb.value is not None:
        fse = math.sqrt((fa.se or 0.0) ** 2 + (fb.se or 0.0) ** 2)
        fdf = combined_df([(fa.se or 0.0, fa.df), (fb.se or 0.0, fb.df)])
        fw = Welch(fa.value - fb.value, fse, fdf if fse > 0 else None)
        out["favorable"], out["favorable_ci"] = fw.diff, fw.ci()
    return out


def _unit(grp: _Group, counts: np.ndarray, y: np.ndarray, x: np.ndarray,
          with_sd: bool = False) -> Estimate:
    return estimate(grp.weights.w, grp.weights.n, Sums.of(counts, y, x), with_sd)


def apply_weights(spec: Weighting, prep: Any, items_out: list[dict[str, Any]],
                  dims_out: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Weight the compared groups' item and dimension cells and gaps in place; returns
    the gaps (for the q-values) and the `weighting` section. WeightingError refuses."""
    survey = prep.survey
    groups = weigh_groups(spec, survey)
    errors = audit(prep, groups, spec.targets.file)
    if errors:
        raise WeightingError(errors)
    a, b = survey.roles.compare
    minimum = survey.privacy.min_group_size
    keys, width = _keys(survey), survey.scale.points + 1
    bounds = (float(survey.scale.start), float(survey.scale.start + survey.scale.points - 1))
    tests = []
    for item in items_out:
        cubes = {g: groups[g].cube(f"item:{item['id']}", width) for g in (a, b)}
        est = {}
        for g in (a, b):
            answered = cubes[g][:, 1:].sum(axis=1)
            if np.any((answered > 0) & (answered < minimum)):  # a class's answers pinned
                item["groups"][g] = {"suppressed": True}
                continue
            mean = _unit(groups[g], cubes[g], keys["value"], keys["answered"], True)
            fav = _unit(groups[g], cubes[g], keys["fav"], keys["answered"])
            item["groups"][g] = _weighted_cell(item["groups"][g], mean, fav)
            est[g] = (mean, fav)
        shares = {g: (cubes[g], keys["fav"]) for g in (a, b)}
        item["gap"] = _gap(item, groups, cubes, est, keys["value"], shares, bounds)
        if item["gap"] is not None:
            tests.append(item["gap"])
    for dim, out in zip(survey.dimensions, dims_out, strict=True):
        value, scored, f, m = _dimension_keys(survey, len(dim.items))
        cubes = {g: groups[g].cube(f"score:{dim.id}", len(value)) for g in (a, b)}
        est, shares = {}, {}
        for g in (a, b):
            clusters = groups[g].cube(f"cluster:{dim.id}", len(f))
            mean = _unit(groups[g], cubes[g], value, scored, True)
            fav = _unit(groups[g], clusters, f, m)
            out["groups"][g] = _weighted_cell(out["groups"][g], mean, fav)
            est[g] = (mean, fav)
            shares[g] = (clusters, np.where(m > 0, f / np.maximum(m, 1), 0.0))
        out["gap"] = _gap(out, groups, cubes, est, value, shares, bounds)
        if out["gap"] is not None:
            tests.append(out["gap"])
    return tests, section(spec, groups)


def _gap(unit: dict[str, Any], groups: dict[str, _Group], cubes: dict[str, np.ndarray],
         est: dict[str, tuple[Estimate, Estimate]], values: np.ndarray,
         shares: dict[str, tuple[np.ndarray, np.ndarray]],
         bounds: tuple[float, float]) -> dict[str, Any] | None:
    """The weighted gap of a unit whose cells are both shown; with a small group, the
    inputs of the project's small-group test (see `_small`)."""
    a, b = list(cubes)
    cells = unit["groups"]
    if a not in est or b not in est or cells[a].get("suppressed") or cells[b].get("suppressed"):
        return None
    if est[a][0].value is None or est[b][0].value is None:
        return None
    order = np.argsort(values[1:], kind="stable")
    ca = np.concatenate([cubes[a][:, :1], cubes[a][:, 1:][:, order]], axis=1)
    cb = np.concatenate([cubes[b][:, :1], cubes[b][:, 1:][:, order]], axis=1)
    sorted_values = np.concatenate([[0.0], values[1:][order]])
    delta = weighted_delta(groups[a].weights.w, ca, groups[b].weights.w, cb, sorted_values)
    out = _weighted_gap(*est[a][:1], *est[b][:1], est[a][1], est[b][1], delta)
    _small(out, groups, cubes, est, values, shares, bounds)
    return out


def _small(out: dict[str, Any], groups: dict[str, _Group], cubes: dict[str, np.ndarray],
           est: dict[str, tuple[Estimate, Estimate]], values: np.ndarray,
           shares: dict[str, tuple[np.ndarray, np.ndarray]], bounds: tuple[float, float]) -> None:
    """Where the project tests a gap by empirical likelihood (a group with an effective n
    below `stats.WELCH_MIN`, or no spread), give it the pseudo-empirical likelihood inputs
    (Wu & Rao 2006): each group's weighted distribution of answers scaled to its
    design-effect sample size n* = S^2 / se^2, so the likelihood's variance is the
    linearised one; `analysis.fill_small` then sets p and the intervals."""
    from alignscan.analysis.stats import SMALL, SMALL_FAV, small_gap

    a, b = list(cubes)
    n_eff = [est[g][0].n_eff or 0.0 for g in (a, b)]
    if not small_gap(int(min(n_eff)), int(max(n_eff)), out["se"] or 0.0):
        return
    out[SMALL] = _pseudo([(groups[g].weights.w, cubes[g], est[g][0]) for g in (a, b)], values,
                         bounds)
    out[SMALL_FAV] = _pseudo([(groups[g].weights.w, shares[g][0], est[g][1]) for g in (a, b)],
                             None, (0.0, 1.0), [shares[g][1] for g in (a, b)])


def _pseudo(parts: list[tuple[np.ndarray, np.ndarray, Estimate]], values: np.ndarray | None,
            bounds: tuple[float, float], per_group: list[np.ndarray] | None = None,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pseudo counts A, pseudo counts B, support): weighted shares over one ascending
    support that holds the scale's ends, times each group's n* (Kish's n without spread)."""
    masses, vals = [], []
    for i, (w, cube, _) in enumerate(parts):
        own = values if per_group is None else per_group[i]
        assert own is not None  # `values` is None only when each group has its own
        v = own[1:]
        masses.append(w @ cube[:, 1:].astype(float))
        vals.append(np.round(v.astype(float), 12))
    support = np.unique(np.concatenate([*vals, np.asarray(bounds)]))
    rows = []
    for (_, _, e), mass, v in zip(parts, masses, vals, strict=True):
        share = np.zeros(len(support))
        np.add.at(share, np.searchsorted(support, v), mass)
        share /= share.sum()
        mean = float(share @ support)
        spread = float(share @ (support - mean) ** 2)
        n_star = spread / e.se**2 if e.se and spread > 0 else (e.n_eff or 0.0)
        rows.append(share * n_star)
    return rows[0], rows[1], support


def section(spec: Weighting, groups: dict[str, _Group]) -> dict[str, Any]:
    """The result's `weighting` section: per group the weights' range and design effect,
    and warnings for weights above the cap."""
    summaries = {name: grp.weights.summary() for name, grp in groups.items()}
    warnings = []
    for name, s in summaries.items():
        if s["trimmed"]:
            warnings.append(f"weights of {name} were trimmed to {CAP:g}x the mean weight: its "
                            "weighted totals no longer match the headcount exactly")
        elif s["relative_max"] > CAP:
            warnings.append(f"weights of {name} reach {s['relative_max']:.1f}x the mean weight "
                            f"(above {CAP:g}x): a few respondents carry much of the result; "
                            "trimming (--trim-weights) caps them")
    return {
        "file": Path(spec.targets.file).name,
        "target": "headcount",
        "cap": CAP,
        "trim": spec.trim,
        "groups": summaries,
        "segments_weighted": False,
        "warnings": warnings,
    }


def weighting_json_schema() -> dict[str, Any]:
    """JSON Schema of the result's `weighting` section."""
    number = {"type": "number"}
    group = {
        "type": "object",
        "properties": {
            "method": {"enum": ["post-stratification", "raking", "scaling"]},
            "columns": {"type": "array", "items": {"type": "string"}},
            "cells": {"type": "integer"}, "n": {"type": "integer"},
            "population": {"type": "integer"}, "weight_min": number, "weight_max": number,
            "relative_max": number, "design_effect": number, "n_effective": number,
            "iterations": {"type": "integer"}, "trimmed": {"type": "boolean"},
        },
        "required": ["method", "columns", "cells", "n", "population", "weight_min",
                     "weight_max", "relative_max", "design_effect", "n_effective", "trimmed"],
    }
    return {
        "type": "object",
        "description": "Weighting of the compared groups to their headcount (--weight-to).",
        "properties": {
            "file": {"type": "string"}, "target": {"const": "headcount"}, "cap": number,
            "trim": {"type": "boolean"},
            "groups": {"type": "object", "additionalProperties": group},
            "segments_weighted": {"type": "boolean"},
            "warnings": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["file", "target", "groups", "warnings"],
    }
