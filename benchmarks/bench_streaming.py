"""Streaming against the whole-file read, one process per run, alternated so both see
the same machine load: wall time and peak RSS of reading, coding and validating a file
(`read_responses`) and of iterating `stream_responses` blocks (summing their codes).

Usage: python benchmarks/bench_streaming.py FILE [--repeat 3] [--block-rows N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

CODE = """
import sys
from alignscan.survey import load_survey
from alignscan.responses import read_responses, stream_responses
path, mode, block_rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
survey = load_survey()
if mode == "whole":
    rs = read_responses(path, survey)
    total, errors = int(rs.codes.sum(dtype="int64")), rs.errors
else:
    stream = stream_responses(path, survey, **({"block_rows": block_rows} if block_rows else {}))
    total = sum(int(b.codes.sum(dtype="int64")) for b in stream.blocks())
    errors = stream.finish().errors
assert not errors, errors[:3]
print(total)
"""


def run(path: str, mode: str, block_rows: int) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB, printed sum) of one run in its own process."""
    start = time.perf_counter()
    cmd = [sys.executable, "-c", CODE, path, mode, str(block_rows)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    assert os.waitstatus_to_exitcode(status) == 0, mode
    out = proc.stdout.read().decode().strip() if proc.stdout else ""
    return wall, usage.ru_maxrss / 1024, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--block-rows", type=int, default=0)
    parser.add_argument("--stream-only", action="store_true")
    args = parser.parse_args()
    modes = ["stream"] if args.stream_only else ["whole", "stream"]
    best: dict[str, tuple[float, float]] = {}
    sums = set()
    for _ in range(args.repeat):
        for mode in modes:
            wall, rss, out = run(args.file, mode, args.block_rows)
            sums.add(out)
            print(f"{mode:6} {wall:6.2f} s  peak {rss:6.0f} MiB", flush=True)
            if mode not in best or wall < best[mode][0]:
                best[mode] = (wall, rss)
    assert len(sums) == 1, sums  # both read the same codes
    for mode, (wall, rss) in best.items():
        print(f"best {mode:6} {wall:6.2f} s  peak {rss:6.0f} MiB")


if __name__ == "__main__":
    main()
