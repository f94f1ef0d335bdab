"""Where the time of `alignscan analyze` goes, stage by stage, in one process:
read (parse the CSV), code + validate, count (the count table: recode, keys, atoms,
sums, comment tallies), statistics (`analyze_counts`: pooling, the anonymity audit,
tests, segments, drivers), render (JSON and HTML). The file is read whole here so the
stages can be timed apart; `analyze` reads it in blocks, counting each.

Usage: python benchmarks/bench_stages.py FILE [--engine default|duckdb]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from alignscan.analysis import analyze_counts  # noqa: E402
from alignscan.counts import count_responses  # noqa: E402
from alignscan.report.html import render_html  # noqa: E402
from alignscan.report.tabular import result_to_json  # noqa: E402
from alignscan.responses import reader  # noqa: E402
from alignscan.responses.validation import validate  # noqa: E402
from alignscan.survey import load_survey  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--engine", default="default")
    args = parser.parse_args()
    survey = load_survey(None)
    opts = (args.file, survey, None, None, None, None, None)
    times: dict[str, float] = {}
    t = time.perf_counter()
    raw = reader._read_duckdb(*opts) if args.engine == "duckdb" else None
    raw = raw or reader._read_raw(*opts)
    times["read"] = time.perf_counter() - t
    t = time.perf_counter()
    rs = validate(raw, survey, lenient=False)
    times["code + validate"] = time.perf_counter() - t
    t = time.perf_counter()
    table = count_responses(rs).with_responses(rs)
    times["count (count table)"] = time.perf_counter() - t
    t = time.perf_counter()
    result = analyze_counts(table)
    times["statistics (audit, tests, segments, drivers)"] = time.perf_counter() - t
    t = time.perf_counter()
    result_to_json(result)
    render_html(result)
    times["render (JSON + HTML)"] = time.perf_counter() - t
    print(f"| stage ({args.file.name}, engine {args.engine}) | seconds |")
    print("|---|---:|")
    for name, seconds in times.items():
        print(f"| {name} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
