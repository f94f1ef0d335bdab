"""Benchmark: what the anonymity audit costs (target: at most 0.5 s on 1,000,000 rows
with two segment columns of 8 and 5 values; bounded with 200 values in a column).

Usage: python benchmarks/bench_privacy.py [--rows 1000000] [--repeat 3]
       python benchmarks/bench_privacy.py --uniform 1500,100000 [--columns 2,4,6]

`--uniform` (issue 26): the built-in survey's responses with segment columns of 10
equally likely values each, so that no cell is small but nearly every atom is (6
columns x 10 values x 1,500 rows: a million combinations for 1,500 people); it prints
the CPU time of `analyze` with 0, 2, 4, 6 segment columns of the same file (the first is
the yardstick of the 15x budget) and what the audit hid (a protective hide there is
over-hiding).

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

from alignscan.privacy.privacy import AnswerMargins, audit_atoms, plan_suppression


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


def answers(group, cols, scored, segments, seed: int = 8):  # type: ignore[no-untyped-def]
    """Per group and dimension, the `AnswerMargins` of five uniformly answered items per
    dimension (what `analysis.answer_margins` takes from the count table's cubes)."""
    rng = np.random.default_rng(seed)
    index = [np.asarray([lut[str(v)] for v in range(int(c.max()) + 1)])[c]
             for c, (_, _, lut) in zip(cols, segments, strict=True)]
    out: list[list[AnswerMargins]] = [[] for _ in range(3)]
    for d in range(scored.shape[1]):
        codes = rng.integers(1, 6, size=(len(group), 5))
        fav = (codes >= 4).sum(axis=1)
        fam = np.stack([fav, 5 - fav, (codes - 1).sum(axis=1), (5 - codes).sum(axis=1)])
        fam = fam * scored[:, d]
        for g in range(3):
            mine = group == g
            columns = []
            for idx, (_, names, _) in zip(index, segments, strict=True):
                per = np.stack([np.bincount(idx[mine], weights=f[mine], minlength=len(names) + 1)
                                for f in fam]).astype(np.int64)
                columns.append(per)
            out[g].append(AnswerMargins(d, fam[:, mine].sum(axis=1), columns))
    return out


def run(rows: int, values: list[int], repeat: int) -> None:
    group, cols, scored = case(rows, values)
    table = atom_table(group, cols, scored)
    margins = answers(group, cols, scored, table[3])
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        atoms = audit_atoms(*table, margins, 5)
        plan = plan_suppression(atoms, 5, {0, 2})
        best = min(best, time.perf_counter() - start)
    hidden = sum(len(h) for h in plan.hidden_cells.values())
    print(
        f"| {rows:,} | {' x '.join(map(str, values))} | {sum(len(a.head) for a in atoms):,} "
        f"| {plan.small_cells} + {plan.protective_cells} of {plan.total_cells} "
        f"| {plan.families_audited} | {best:.3f} s |"
    )
    assert hidden == plan.small_cells + plan.protective_cells


def uniform(rows: int, columns: int, seed: int = 7):  # type: ignore[no-untyped-def]
    """Issue 26's case: columns of 10 equally likely values, 7 dimensions, 2% unscored."""
    rng = np.random.default_rng(seed)
    group = rng.choice(3, size=rows, p=[0.2, 0.3, 0.5])
    cols = [rng.integers(0, 10, size=rows) for _ in range(columns)]
    return group, cols, rng.random((rows, 7)) > 0.02


def uniform_file(rows: int, columns: int, folder):  # type: ignore[no-untyped-def]
    """Issue 26's case end to end: the built-in survey's responses (6 dimensions of 5
    items) with `columns` segment columns of 10 equally likely values, as a CSV, and the
    survey naming them (`columns` = 0: the same file, no segment column used)."""
    from alignscan.survey import load_survey
    from alignscan.synthetic import generate_responses

    base = load_survey()
    frame = generate_responses(base, rows, seed=1)
    rng = np.random.default_rng(7)
    names = [f"s{j}" for j in range(6)]
    for name in names:
        frame[name] = np.char.add("v", rng.integers(0, 10, size=rows).astype(str))
    path = folder / f"uniform-{rows}.csv"
    if not path.exists():
        frame.to_csv(path, index=False)
    return path, base.model_copy(update={"segments": names[:columns]})


def run_uniform(rows: int, columns: list[int]) -> None:
    """CPU seconds to read and analyse (count, audit, statistics) the same file with 0
    and `columns` segment columns, and what the audit hid."""
    import tempfile
    from pathlib import Path

    import scipy.optimize  # noqa: F401  (imported outside the timing)

    from alignscan.analysis.analysis import analyze
    from alignscan.responses import read_responses

    with tempfile.TemporaryDirectory() as folder:
        base = None
        for c in [0, *columns]:
            path, survey = uniform_file(rows, c, Path(folder))
            start = time.process_time()
            doc = analyze(read_responses(path, survey))
            spent = time.process_time() - start
            base = base or spent
            p = doc["privacy"]
            hidden = f"{p['cells_hidden_small']} + {p['cells_hidden_protective']} of {p['segment_cells']}"
            print(f"| {rows:,} | {c} x 10 | {hidden if c else '-'} | {spent:.2f} s | {spent / base:.1f}x |")


def main_uniform(sizes: list[int], columns: list[int]) -> None:
    print("| rows | segment columns | cells hidden (small + protective) | read + analyze CPU "
          "| vs no segments |")
    print("|---|---|---|---|---|")
    for rows in sizes:
        run_uniform(rows, columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--uniform", help="rows, comma-separated: issue 26's uniform case")
    parser.add_argument("--columns", default="2,4,6")
    args = parser.parse_args()
    if args.uniform:
        main_uniform([int(r) for r in args.uniform.split(",")],
                     [int(c) for c in args.columns.split(",")])
        return
    print("| rows | values per column | atoms | cells hidden (small + protective) "
          "| audits | audit time |")
    print("|---|---|---|---|---|---|")
    run(args.rows, [8, 5], args.repeat)
    run(args.rows, [200, 5], args.repeat)
    run(args.rows // 10, [200], args.repeat)


if __name__ == "__main__":
    main()
