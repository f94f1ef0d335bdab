"""The count table by DuckDB SQL (`counts_sql.count_file_duckdb`) against the reference
engine (`count_responses(read_responses(...))`), on the generated 1,000,000-row files
of `run.py` (labels CSV, codes CSV, labels Parquet).

Usage: python benchmarks/bench_counts_sql.py [--rows 1000000] [--repeat 1]

Each measurement is its own process: wall time and peak RSS (os.wait4), so one engine's
memory never counts against the other. Prints a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import PY, generate, measure, to_parquet  # noqa: E402

CODE = {
    "reference": (
        "import sys; from alignscan.survey import load_survey; "
        "from alignscan.responses import read_responses; "
        "from alignscan.counting.counts import count_responses; "
        "count_responses(read_responses(sys.argv[1], load_survey()))"
    ),
    "duckdb": (
        "import sys; from alignscan.survey import load_survey; "
        "from alignscan.counting.engines.duckdb_sql import count_file_duckdb, Fallback, _count_duckdb; "
        "from pathlib import Path; "
        "_count_duckdb(Path(sys.argv[1]), load_survey(), False, None, None, None, None)"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    labels = generate(args.rows, "labels")
    files = {"labels CSV": labels, "codes CSV": generate(args.rows, "codes"),
             "labels Parquet": to_parquet(labels)}
    print("| file | engine | wall time | peak memory |")
    print("|---|---|---:|---:|")
    for name, path in files.items():
        for engine, code in CODE.items():
            # the duckdb line runs the SQL route itself: a fallback would raise, not hide
            wall, rss = measure([PY, "-c", code, str(path)], args.repeat)
            label = "`count_responses(read_responses())`" if engine == "reference" \
                else "`count_file_duckdb`"
            print(f"| {name} | {label} | {wall:.2f} s | {rss:,.0f} MiB |", flush=True)


if __name__ == "__main__":
    main()
