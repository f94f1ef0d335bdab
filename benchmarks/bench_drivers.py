"""Benchmark: what the driver analysis adds to `analyze` (target: at most 10%).

Usage: python benchmarks/bench_drivers.py [--rows 1000000] [--repeat 3]

Generates the built-in instrument's responses (codes form) once, reads them once, then
times `analysis.analyze` with the survey's `drivers` block and without it (the same
ResponseSet, the survey copied with drivers=None), alternating, best of --repeat each.
Reading the file is left out, so the percentage is of the analysis alone (the stricter
figure); the wall time of `alignscan analyze`, which includes the read, is printed too.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import PY, generate, measure  # noqa: E402

from alignscan.analysis.analysis import analyze  # noqa: E402
from alignscan.responses import read_responses  # noqa: E402
from alignscan.survey import load_survey  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = generate(args.rows, "codes")
    survey = load_survey()
    with_drivers = read_responses(path, survey)
    plain = dataclasses.replace(with_drivers, survey=survey.model_copy(update={"drivers": None}))
    best = {"with drivers": float("inf"), "without drivers": float("inf")}
    for _ in range(args.repeat):
        for name, rs in (("without drivers", plain), ("with drivers", with_drivers)):
            start = time.perf_counter()
            result = analyze(rs)
            best[name] = min(best[name], time.perf_counter() - start)
            assert ("drivers" in result) == (name == "with drivers")
    extra = best["with drivers"] - best["without drivers"]
    share = extra / best["without drivers"]
    print(
        f"{args.rows:,} rows, built-in instrument (7 dimensions, 6 predictors), best of "
        f"{args.repeat}"
    )
    for name, seconds in best.items():
        print(f"  analyze() {name}: {seconds:.2f} s")
    print(f"  drivers add {extra:.2f} s = {share:.1%} of analyze() (target <= 10%)")
    wall, rss = measure([PY, "-m", "alignscan", "analyze", str(path), "--no-save"], 1)
    print(f"  `alignscan analyze` end to end (read included): {wall:.2f} s, {rss:,.0f} MiB")


if __name__ == "__main__":
    main()
