"""Benchmark (issue #30): hostile workbooks are refused fast and small.

Builds the two shared-strings bombs (a ~33 KB workbook whose cells all point at one 32 MB
shared string; ~163 KB and ~300 KB workbooks of 4M / 7.3M tiny shared strings) and a
1,100,000-row workbook (rows numbered, ~5 MB; and unnumbered, ~70 KB, with the ratio limit
raised so the rows are what is refused), then runs `alignscan check` on each in its own
process. Prints size, exit code, wall time and peak memory (the child's max RSS).
Target: each refused (exit 1) in under 10 s and 300 MB. The first row, a small valid
file, shows what starting Python and alignscan costs by itself.

Usage: python benchmarks/bench_bombs.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import bombs  # noqa: E402

SURVEY = ROOT / "tests" / "data" / "responses" / "survey.yaml"
MEASURE = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "done = subprocess.run(sys.argv[1:], capture_output=True); "
    "wall = time.perf_counter() - t; "
    "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
    "print(done.returncode, f'{wall:.2f}', rss // 1024)"
)


def measure(path: Path, env: dict[str, str]) -> tuple[int, float, int]:
    """(exit code, seconds, peak MiB) of `alignscan check path` in a fresh process."""
    command = [sys.executable, "-m", "alignscan", "check", str(path), "-s", str(SURVEY)]
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    ).stdout.split()
    return int(out[0]), float(out[1]), int(out[2])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small = folder / "small.csv"
        small.write_text(
            "id,role,department,q1,q2,q3,q4,comment\n"
            + "".join(f"r{i},{'VP' if i % 2 else 'Engineer'},D,1,2,3,4,\n" for i in range(12)),
            encoding="utf-8",
        )
        cases = [
            ("(start-up: a valid 12-row CSV, for comparison)", small, {}),
            ("one 32 MB shared string", bombs.one_long_string_bomb(folder / "a.xlsx"), {}),
            ("4M shared strings", bombs.many_strings_bomb(folder / "b.xlsx", 4_000_000), {}),
            ("7.3M shared strings", bombs.many_strings_bomb(folder / "c.xlsx", 7_300_000), {}),
            (
                "1,100,000 numbered rows",
                bombs.too_many_rows(folder / "d.xlsx", numbered=True),
                {},
            ),
            (
                "1,100,000 rows, ratio limit raised",
                bombs.too_many_rows(folder / "e.xlsx"),
                {"ALIGNSCAN_MAX_XLSX_RATIO": "100000"},
            ),
            (
                "one 32 MB shared string, ratio limit raised",
                folder / "a.xlsx",
                {"ALIGNSCAN_MAX_XLSX_RATIO": "100000"},
            ),
        ]
        print(f"| {'workbook':45} | size | exit | time (s) | peak (MiB) |")
        print(f"|{'-' * 47}|------|------|----------|------------|")
        for name, path, env in cases:
            code, wall, peak = measure(path, env)
            size = path.stat().st_size
            shown = f"{size / 1024:.0f} KB" if size < 1 << 20 else f"{size / (1 << 20):.1f} MB"
            print(f"| {name:45} | {shown} | {code} | {wall:.2f} | {peak} |")


if __name__ == "__main__":
    main()
