"""Where the time of `alignscan analyze` goes, stage by stage, in one process.

The default engine reads a file in blocks and runs three stages in threads that overlap
(`engines.count_file`): pyarrow parses a block as plain text; the next stage
dictionary-encodes the survey columns and validates it; the caller counts it. Here the same
stages run one after another on the same blocks, so each can be timed alone: parse, encode,
validate, count, then statistics (`analyze_counts`: pooling, the anonymity audit, tests,
segments, drivers) and render (JSON and HTML). The last line is `count_file` itself, with
the stages overlapping, for comparison with the sum of the first four.

With `--engine duckdb` the whole file is read by DuckDB and validated at once instead.

Usage: python benchmarks/bench_stages.py FILE [--engine default|duckdb]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from alignscan.analysis.analysis import analyze_counts  # noqa: E402
from alignscan.counting.counts import count_responses, sum_tables  # noqa: E402
from alignscan.counting.engines import count_file  # noqa: E402
from alignscan.render.html import render_html  # noqa: E402
from alignscan.render.tabular import result_to_json  # noqa: E402
from alignscan.responses import reader  # noqa: E402
from alignscan.responses.streaming import stream_responses  # noqa: E402
from alignscan.responses.validation import validate  # noqa: E402
from alignscan.survey import load_survey  # noqa: E402


def timed(times: dict[str, float], name: str, work: Any) -> Any:
    """Run `work()`, adding its seconds to `times[name]`."""
    start = time.perf_counter()
    out = work()
    times[name] = times.get(name, 0.0) + time.perf_counter() - start
    return out


def stages_in_blocks(path: Path, times: dict[str, float]) -> Any:
    """The default engine's stages one after another; the count table."""
    survey = load_survey(None)
    stream = stream_responses(path, survey, guess_utf8=True)
    raw_blocks = iter(stream._raw_blocks or [])
    tables = []
    while (finish := timed(times, "parse (pyarrow, plain text)", lambda: next(raw_blocks, None))):
        raw = timed(times, "encode (survey columns as dictionaries)", finish)
        assert stream._checker is not None
        rs = timed(times, "validate (code, check, ids)", lambda r=raw: stream._checker.check(r))
        if rs is not None and len(rs.codes):
            tables.append(timed(times, "count (the count table)", lambda b=rs: count_responses(b)))
    return sum_tables(tables, survey).with_responses(stream._checker.finish(stream.source))


def stages_duckdb(path: Path, times: dict[str, float]) -> Any:
    survey = load_survey(None)
    opts = (path, survey, None, None, None, None, None)
    raw = timed(times, "read (DuckDB)", lambda: reader._read_duckdb(*opts) or reader._read_raw(*opts))
    rs = timed(times, "validate (code, check, ids)", lambda: validate(raw, survey, lenient=False))
    return timed(times, "count (the count table)", lambda: count_responses(rs).with_responses(rs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--engine", default="default")
    args = parser.parse_args()
    times: dict[str, float] = {}
    stages = stages_duckdb if args.engine == "duckdb" else stages_in_blocks
    table = stages(args.file, times)
    result = timed(times, "statistics (audit, tests, segments, drivers)",
                   lambda: analyze_counts(table))
    timed(times, "render (JSON + HTML)", lambda: (result_to_json(result), render_html(result)))
    if args.engine != "duckdb":
        survey = load_survey(None)
        timed(times, "parse + encode + validate + count, overlapping (`count_file`)",
              lambda: count_file(args.file, survey))
    print(f"| stage ({args.file.name}, engine {args.engine}) | seconds |")
    print("|---|---:|")
    for name, seconds in times.items():
        print(f"| {name} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
