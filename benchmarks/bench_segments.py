"""Benchmark: `alignscan check` on a file with 100,000 distinct segment values (target:
under 5 s; segment values are indexed with a dict, not a list.index per value).

Usage: python benchmarks/bench_segments.py [--values 100000]
Prints wall time of the whole command (process start included), best of 3.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SURVEY = ROOT / "tests" / "data" / "responses" / "survey.yaml"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--values", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "segments.csv"
        lines = ["id,role,department,q1,q2,q3,q4,comment"]
        for i in range(args.values):
            role = "VP" if i % 2 else "Engineer"
            lines.append(f"r{i},{role},dept-{i:06d},{1 + i % 5},{1 + (i + 1) % 5},3,4,")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        times = []
        for _ in range(3):
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "alignscan", "check", str(path), "-s", str(SURVEY)],
                capture_output=True,
            )
            times.append(time.perf_counter() - start)
            if done.returncode != 0:
                sys.exit(f"check failed: {done.stdout.decode()[-500:]}")
    print(
        f"`alignscan check` with {args.values:,} distinct segment values: {min(times):.2f} s "
        "for the whole command (target: under 5 s)."
    )


if __name__ == "__main__":
    main()
