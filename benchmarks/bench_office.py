"""Benchmark: writing the deck (`--pptx`) and the workbook (`--xlsx`) from a result.

Usage: python benchmarks/bench_office.py [--rows 20000] [--segments 100] [--repeat 3]

Two results of the built-in instrument: the demo's (2,000 respondents, 10 segment
values) and one whose department column has --segments values (--rows respondents).
Each is analysed once; then `render_xlsx` and `render_pptx` are timed in this process,
best of --repeat, and `alignscan report RESULT --pptx F --xlsx F` end to end in its own
process (start-up, loading and validating the result included) against `report --html`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import PY, measure  # noqa: E402

from alignscan.analysis.analysis import analyze  # noqa: E402
from alignscan.responses import read_responses  # noqa: E402
from alignscan.survey import load_survey  # noqa: E402
from alignscan.synthetic import generate_responses, write_csv  # noqa: E402


def result_file(folder: Path, rows: int, segments: int | None) -> Path:
    """A result.json of `rows` respondents (the demo's seed); `segments` department values."""
    import numpy as np
    import pandas as pd

    survey = load_survey()
    frame = generate_responses(survey, rows, seed=2026, wave=2)
    if segments:
        rng = np.random.default_rng(1)
        teams = [f"Team {k:03d}" for k in rng.integers(0, segments, rows)]
        frame["department"] = pd.Categorical(teams)
    path = write_csv(frame, folder / f"r{rows}-{segments}.csv")
    result = analyze(read_responses(path, survey))
    out = folder / f"r{rows}-{segments}.json"
    out.write_text(json.dumps(result), encoding="utf-8")
    return out


def best_of(fn, result: dict, repeat: int) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        size = len(fn(result))
        best = min(best, time.perf_counter() - start)
    return best, size


def main() -> None:
    from alignscan.render.office.pptx import render_pptx
    from alignscan.render.office.xlsx import render_xlsx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--segments", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        "| result | segment rows | render_xlsx | render_pptx | `report --pptx --xlsx` "
        "| `report --html` |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = [
            ("demo (2,000)", 2000, None),
            (f"{args.segments} departments ({args.rows:,})", args.rows, args.segments),
        ]
        for name, rows, segments in cases:
            path = result_file(folder, rows, segments)
            result = json.loads(path.read_text(encoding="utf-8"))
            xlsx, xsize = best_of(render_xlsx, result, args.repeat)
            pptx, psize = best_of(render_pptx, result, args.repeat)
            office = [
                PY,
                "-m",
                "alignscan",
                "report",
                str(path),
                "--pptx",
                str(folder / "d.pptx"),
                "--xlsx",
                str(folder / "b.xlsx"),
            ]
            html = [PY, "-m", "alignscan", "report", str(path), "--html", str(folder / "r.html")]
            both, _ = measure(office, args.repeat)
            alone, _ = measure(html, args.repeat)
            print(
                f"| {name} | {len(result['segments'])} | {xlsx:.2f} s ({xsize // 1024} KiB) "
                f"| {pptx:.2f} s ({psize // 1024} KiB) | {both:.2f} s | {alone:.2f} s |"
            )


if __name__ == "__main__":
    main()
