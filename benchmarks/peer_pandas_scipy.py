"""The peer: a straightforward pandas + scipy script computing the same numbers as
`alignscan analyze --json` for the built-in instrument (items, dimensions, segments).

It is what an analyst would write by hand: read with pandas, map labels to codes,
group by role, call scipy per item / dimension / segment cell. It is the yardstick for
the benchmark, not part of the product.

Usage: python benchmarks/peer_pandas_scipy.py responses.csv > peer.json
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pandas as pd
from scipy import stats

from alignscan.survey import load_survey


def wilson(x: int, n: int, z: float) -> tuple[float, float]:
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def gap(a: pd.Series, b: pd.Series, fav_a: tuple[int, int], fav_b: tuple[int, int]) -> dict:
    a, b = a.dropna().to_numpy(), b.dropna().to_numpy()
    welch = stats.ttest_ind(a, b, equal_var=False)
    ci = welch.confidence_interval()
    mw = stats.mannwhitneyu(a, b, method="asymptotic")  # for Cliff's delta only
    z = stats.norm.ppf(0.975)
    pa, pb = fav_a[0] / fav_a[1], fav_b[0] / fav_b[1]
    la, ua = wilson(*fav_a, z)
    lb, ub = wilson(*fav_b, z)
    return {
        "mean": a.mean() - b.mean(),
        "mean_ci": [ci.low, ci.high],
        "favorable": pa - pb,
        "favorable_ci": [
            pa - pb - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2),
            pa - pb + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2),
        ],
        "p_value": welch.pvalue,
        "cliffs_delta": 2 * mw.statistic / (len(a) * len(b)) - 1,
    }


def clustered(block_a: pd.DataFrame, block_b: pd.DataFrame, favorable: list[int]) -> dict:
    """Dimension favorable gap: answers of scored respondents, respondent-clustered CI."""
    z = stats.norm.ppf(0.975)
    shares, var = [], 0.0
    for block in (block_a, block_b):
        f, m = block.isin(favorable).sum(axis=1), block.notna().sum(axis=1)
        p, n = f.sum() / m.sum(), len(f)
        shares.append(p)
        var += n / (n - 1) * ((f - p * m) ** 2).sum() / m.sum() ** 2
    d = shares[0] - shares[1]
    return {"favorable": d, "favorable_ci": [d - z * math.sqrt(var), d + z * math.sqrt(var)]}


def bh(p: list[float]) -> list[float]:
    p = np.asarray(p)
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(len(p))
    out[order] = np.minimum(q, 1)
    return out.tolist()


def main(path: str) -> None:
    survey = load_survey()
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    lookup = {label.lower(): i + 1 for i, label in enumerate(survey.scale.labels)}
    role_group = {v.lower(): g for g, vs in survey.roles.groups.items() for v in vs}
    df["group"] = df[survey.roles.column].str.strip().str.lower().map(role_group)
    a_name, b_name = survey.roles.compare
    points = survey.scale.points
    favorable = survey.scale.favorable
    scores = pd.DataFrame(index=df.index)
    for item in survey.items:
        x = df[item.source_column].str.strip().str.lower().map(lookup).astype(float)
        scores[item.id] = points + 1 - x if item.reverse else x
    a, b = df["group"] == a_name, df["group"] == b_name
    out: dict = {"items": [], "dimensions": [], "segments": []}
    for item in survey.items:
        x = scores[item.id]
        fa = (int(x[a].isin(favorable).sum()), int(x[a].notna().sum()))
        fb = (int(x[b].isin(favorable).sum()), int(x[b].notna().sum()))
        out["items"].append({"id": item.id, "gap": gap(x[a], x[b], fa, fb)})
    dim_scores = {}
    for dim in survey.dimensions:
        cols = [i.id for i in dim.items]
        block = scores[cols]
        answered = block.notna().sum(axis=1)
        dim_scores[dim.id] = block.mean(axis=1).where(answered >= math.ceil(len(cols) / 2))
        fa = (int(block[a].isin(favorable).sum().sum()), int(block[a].notna().sum().sum()))
        fb = (int(block[b].isin(favorable).sum().sum()), int(block[b].notna().sum().sum()))
        complete = block.dropna()
        k = len(cols)
        alpha = k / (k - 1) * (1 - complete.var().sum() / complete.sum(axis=1).var())
        s = dim_scores[dim.id]
        g = gap(s[a], s[b], fa, fb)
        g.update(clustered(block[a & s.notna()], block[b & s.notna()], favorable))
        out["dimensions"].append({"id": dim.id, "alpha": alpha, "gap": g})
    q = bh([u["gap"]["p_value"] for u in out["items"] + out["dimensions"]])
    for u, qv in zip(out["items"] + out["dimensions"], q, strict=True):
        u["gap"]["q_value"] = qv
    for column in survey.segments:
        for value, part in df.groupby(column):
            pa, pb = a & (df[column] == value), b & (df[column] == value)
            for dim in survey.dimensions:
                s = dim_scores[dim.id]
                if s[pa].notna().sum() < 5 or s[pb].notna().sum() < 5:
                    out["segments"].append({"column": column, "value": value, "gap": None})
                    continue
                block = scores[[i.id for i in dim.items]]
                fa = (
                    int(block[pa].isin(favorable).sum().sum()),
                    int(block[pa].notna().sum().sum()),
                )
                fb = (
                    int(block[pb].isin(favorable).sum().sum()),
                    int(block[pb].notna().sum().sum()),
                )
                out["segments"].append(
                    {
                        "column": column,
                        "value": value,
                        "dimension": dim.id,
                        "gap": gap(s[pa], s[pb], fa, fb)
                        | clustered(block[pa & s.notna()], block[pb & s.notna()], favorable),
                    }
                )
            del part
    json.dump(out, sys.stdout, default=float)


if __name__ == "__main__":
    main(sys.argv[1])
