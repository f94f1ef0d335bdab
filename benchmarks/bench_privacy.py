"""Benchmark: what the anonymity audit costs (target: at most 0.5 s on 1,000,000 rows
with two segment columns of 8 and 5 values; bounded with 200 values in a column).

Usage: python benchmarks/bench_privacy.py [--rows 1000000] [--repeat 3]

Times `privacy.audit_atoms` + `privacy.plan_suppression` (what the audit adds to
`analyze` once the count table's atoms are counted, which is one more pass over the rows
inside `counts.count_responses`) on generated rows: 3 groups (10% / 20% / 70%), 7 dimensions with 2% of
respondents unscored on each, and segment values drawn with skewed frequencies so that
some group x value cells are small and must be protected.
"""

from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd

from alignscan.privacy import audit_atoms, plan_suppression


def case(rows: int, values: list[int], seed: int = 7):
    rng = np.random.default_rng(seed)
    group = rng.choice(3, size=rows, p=[0.1, 0.2, 0.7])
    cols = []
    for n in values:
        weights = 1.0 / np.arange(1, n + 1) ** 1.3  # Zipf-like: a long tail of small values
        cols.append(rng.choice(n, size=rows, p=weights / weights.sum()))
    scored = rng.random((rows, 7)) > 0.02
    return group, cols, scored


def atom_table(group, cols, scored):  # type: ignore[no-untyped-def]
    """The count table's atoms of the case (what counting the responses gives), and the
    arguments `audit_atoms` takes besides them."""
    groups = ["executive", "management", "practitioner"]
    names = [f"s{j}" for j in range(len(cols))]
    frame = pd.DataFrame({"group": np.asarray(groups)[group]})
    for name, col in zip(names, cols, strict=True):
        frame[name] = col.astype(str)
    dims = [f"d{d}" for d in range(scored.shape[1])]
    for d, dim in enumerate(dims):
        frame[f"scored:{dim}"] = scored[:, d].astype(np.int8)
    atoms = frame.value_counts(sort=False).rename("n").reset_index()
    survey = SimpleNamespace(dimensions=[SimpleNamespace(id=d) for d in dims])
    segments = []
    for name in names:
        values = sorted(atoms[name].unique())
        segments.append((name, values, {v: i for i, v in enumerate(values)}))
    return atoms, survey, groups, segments


def run(rows: int, values: list[int], repeat: int) -> None:
    group, cols, scored = case(rows, values)
    table = atom_table(group, cols, scored)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        atoms = audit_atoms(*table)
        plan = plan_suppression(atoms, 5, {0, 2})
        best = min(best, time.perf_counter() - start)
    hidden = sum(len(h) for h in plan.hidden_cells.values())
    print(
        f"| {rows:,} | {' x '.join(map(str, values))} | {sum(len(a.head) for a in atoms):,} "
        f"| {plan.small_cells} + {plan.protective_cells} of {plan.total_cells} "
        f"| {plan.families_audited} | {best:.3f} s |"
    )
    assert hidden == plan.small_cells + plan.protective_cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| rows | values per column | atoms | cells hidden (small + protective) "
          "| audits | audit time |")
    print("|---|---|---|---|---|---|")
    run(args.rows, [8, 5], args.repeat)
    run(args.rows, [200, 5], args.repeat)
    run(args.rows // 10, [200], args.repeat)


if __name__ == "__main__":
    main()
