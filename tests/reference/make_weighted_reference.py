"""Write tests/data/weighted_reference.json: weighted means, shares and their Taylor
standard errors computed by the svy library (the successor of samplics), for
tests/test_weighting.py to compare alignscan's count-based formulas with, to 1e-9.

Run it with svy installed (not a dependency of alignscan; the test only reads the file):

    python -m venv /tmp/svyenv && /tmp/svyenv/bin/pip install svy==0.35.0
    /tmp/svyenv/bin/python tests/reference/make_weighted_reference.py

The data: two groups, three departments and two regions with different response rates,
a 5-point answer with about 10% not answered. Two weightings per group: post-
stratification to department headcounts (svy `poststratify`), and raking to department
and region margins (svy `rake`). Estimates use strata = group x weighting cell, as
alignscan does; an unanswered value is a domain (svy's drop_nulls keeps the design).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import svy

OUT = Path(__file__).resolve().parents[1] / "data" / "weighted_reference.json"
DEPTS, REGIONS = ["eng", "ops", "sales"], ["north", "south"]
HEADCOUNT = {  # group -> (department, region) -> people
    "executive": {("eng", "north"): 40, ("eng", "south"): 25, ("ops", "north"): 30,
                  ("ops", "south"): 20, ("sales", "north"): 45, ("sales", "south"): 40},
    "practitioner": {("eng", "north"): 300, ("eng", "south"): 260, ("ops", "north"): 180,
                     ("ops", "south"): 150, ("sales", "north"): 400, ("sales", "south"): 310},
}
RATE = {"eng": 0.8, "ops": 0.5, "sales": 0.3}


def rows() -> pl.DataFrame:
    rng = np.random.default_rng(31)
    out = []
    for group, cells in HEADCOUNT.items():
        for (dept, region), people in cells.items():
            n = rng.binomial(people, RATE[dept])
            shift = {"eng": 0.6, "ops": 0.0, "sales": -0.5}[dept] + (0.3 if group == "executive"
                                                                     else 0.0)
            y = np.clip(np.rint(rng.normal(3 + shift, 1.1, n)), 1, 5)
            y[rng.random(n) < 0.1] = np.nan
            out += [(group, dept, region, None if np.isnan(v) else int(v)) for v in y]
    frame = pl.DataFrame(out, schema=["group", "department", "region", "y"], orient="row")
    return frame.with_columns(
        fav=pl.when(pl.col("y").is_null()).then(None).otherwise((pl.col("y") >= 4).cast(float)),
        w0=pl.lit(1.0),
    )


def estimates(data: pl.DataFrame, weight: str, strata: list[str], group: str) -> dict:
    sample = svy.Sample(data, svy.Design(stratum=strata, wgt=weight))
    where = pl.col("group") == group
    mean = sample.estimation.mean("y", where=where, drop_nulls=True).to_dicts()[0]
    fav = sample.estimation.mean("fav", where=where, drop_nulls=True).to_dicts()[0]
    return {"mean": mean["est"], "mean_se": mean["se"], "df": mean["df"],
            "favorable": fav["est"], "favorable_se": fav["se"]}


def weighted(data: pl.DataFrame, group: str, how: str) -> pl.DataFrame:
    mine = data.filter(pl.col("group") == group)
    sample = svy.Sample(mine, svy.Design(wgt="w0"))
    cells = HEADCOUNT[group]
    if how == "poststratify":
        controls = {d: sum(n for (dd, _), n in cells.items() if dd == d) for d in DEPTS}
        out = sample.weighting.poststratify(controls=controls, cells="department", wgt_name="w")
    else:
        controls = {
            "department": {d: sum(n for (dd, _), n in cells.items() if dd == d) for d in DEPTS},
            "region": {r: sum(n for (_, rr), n in cells.items() if rr == r) for r in REGIONS},
        }
        out = sample.weighting.rake(controls=controls, wgt_name="w", tol=1e-14, max_iter=10000)
    return out.data.select(["group", "department", "region", "y", "fav", "w"])


def main() -> None:
    data = rows()
    result: dict = {"svy_version": svy.__version__, "headcount": {
        g: [[d, r, n] for (d, r), n in cells.items()] for g, cells in HEADCOUNT.items()},
        "rows": data.select(["group", "department", "region", "y"]).rows()}
    for how, strata in (("poststratify", ["group", "department"]),
                        ("rake", ["group", "department", "region"])):
        both = pl.concat([weighted(data, g, how) for g in HEADCOUNT])
        result[how] = {
            g: {**estimates(both, "w", strata, g),
                "weights": sorted({(d, r, w) for d, r, w in both.filter(pl.col("group") == g)
                                   .select(["department", "region", "w"]).rows()})}
            for g in HEADCOUNT
        }
    OUT.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
