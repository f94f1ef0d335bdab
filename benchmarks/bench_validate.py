"""Benchmark: `alignscan validate` on 200 small survey files (target: under 2 s).

Usage: python benchmarks/bench_validate.py [--files 200]
Prints wall time of the whole command (process start included), best of 3.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    source = ROOT / "surveys" / "example-ai-pulse.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.files):
            shutil.copy(source, Path(tmp) / f"survey-{i:03d}.yaml")
        times = []
        for _ in range(3):
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "alignscan", "validate", tmp], capture_output=True
            )
            times.append(time.perf_counter() - start)
            if done.returncode != 0:
                sys.exit(f"validate failed: {done.stdout.decode()[-500:]}")
    print(
        f"`alignscan validate` on {args.files} survey files: {min(times):.2f} s for the whole "
        "command (target: under 2 s)."
    )


if __name__ == "__main__":
    main()
