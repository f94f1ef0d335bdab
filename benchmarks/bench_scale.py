"""`make bench` at scale (issue #15): `alignscan analyze --json` on N respondents x 30 items
(codes) with the default engine and with `--engine duckdb`, wall time and peak memory of
each, next to pyarrow's bare `read_csv` of the same file.

Usage: python benchmarks/bench_scale.py [--rows 10000000] [--repeat 1] [--timeout 3600]
       (`make bench BENCH_ROWS=200000` for a quick try)

The data: the built-in survey without its outcome dimension, respondent id and comment
(so 6 dimensions x 5 items = 30 items, role, department, region), written by the
seeded generator of `alignscan.synthetic` in blocks, so generation needs bounded memory
(10,000,000 rows: about 0.9 GB of CSV, under a minute). Made once and cached under
benchmarks/data/ (git-ignored).

Each command runs in a fresh process; its wall time includes interpreter start-up and
its peak memory is that process's maximum resident set size (os.wait4, children
included). The harness itself imports only the standard library and does the generation
and the comparison in child processes or after the runs: on Linux a child's peak RSS
figure starts from the size of the process that forked it.

A run that fails (exit code, signal, timeout) is shown as failed with its first line of
error output; the others still run. At the end, the two engines' JSON results are
compared for `items`, `dimensions` and `segments` (exact equality, as the issue asks).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
PY = sys.executable
TARGET_BYTES = 1.5e9  # issue #15: peak RSS under 1.5 GB for both engines
TARGET_MIB = TARGET_BYTES / 2**20
COMPARED_KEYS = ("items", "dimensions", "segments")
GENERATOR_VERSION = "v1"  # bump when the generated file changes, so caches are remade
BLOCK_ROWS = 250_000

# Runs in a child process (`python -c`), so the harness stays small.
_GENERATE = r"""
import io, sys
from importlib.resources import files
import pyarrow as pa, pyarrow.csv as pacsv
from ruamel.yaml import YAML
from alignscan.survey import load_survey
from alignscan.synthetic import generate_responses

rows, block, survey_path, csv_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
yaml = YAML()
doc = yaml.load(files("alignscan.data").joinpath("ai-alignment.yaml").read_text("utf-8"))
for key in ("respondent_id", "drivers", "comments"):
    doc.pop(key, None)
doc["privacy"].pop("min_driver_group_size", None)
doc["id"] = "ai-alignment-30"
doc["dimensions"] = [d for d in doc["dimensions"] if d["id"] != "confidence"]
text = io.StringIO()
yaml.dump(doc, text)
with open(survey_path, "w", encoding="utf-8") as fh:
    fh.write(text.getvalue())
survey = load_survey(survey_path)
assert len(survey.items) == 30, len(survey.items)

def block_table(start, n):
    frame = generate_responses(survey, n, seed=start // block, answers="codes")
    cols = {}
    for name, col in frame.items():
        arr = pa.array(col, from_pandas=True)
        cols[str(name)] = arr if pa.types.is_integer(arr.type) else arr.cast(pa.string())
    return pa.table(cols)

try:
    opts = pacsv.WriteOptions(quoting_style="none")  # no value holds a comma or quote
except TypeError:  # older pyarrow: strings quoted
    opts = pacsv.WriteOptions()
writer = None
for start in range(0, rows, block):
    table = block_table(start, min(block, rows - start))
    if writer is None:
        writer = pacsv.CSVWriter(csv_path, table.schema, write_options=opts)
    writer.write_table(table)
writer.close()
"""


@dataclass
class Run:
    """One measured command: its outcome, or why it failed."""

    name: str
    wall: float = 0.0
    rss_mib: float = 0.0
    error: str | None = None
    json_out: Path | None = None


def ensure_data(rows: int) -> tuple[Path, Path]:
    """(survey YAML, codes CSV) for `rows` respondents, generated once in a child process."""
    DATA.mkdir(parents=True, exist_ok=True)
    survey = DATA / f"scale-survey-30-{GENERATOR_VERSION}.yaml"
    csv = DATA / f"scale-{rows}-codes30-{GENERATOR_VERSION}.csv"
    if csv.exists() and survey.exists():
        return survey, csv
    print(f"generating {csv.name} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    partial = csv.with_suffix(".csv.partial")  # never cache a half-written file
    cmd = [PY, "-c", _GENERATE, str(rows), str(BLOCK_ROWS), str(survey), str(partial)]
    subprocess.run(cmd, check=True)
    partial.replace(csv)
    size = csv.stat().st_size / 1e6
    print(f"  {size:,.0f} MB in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return survey, csv


def first_error_line(text: str) -> str:
    """The line of a child's error output that says what went wrong, made table-safe."""
    lines = [line.strip(" │╭╮╰╯─\t") for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return "(no error output)"
    line = lines[-1] if lines[0].startswith("Traceback") else lines[0]
    return line.replace("|", "\\|")[:160]


def measure(cmd: list[str], timeout: float) -> tuple[float, float, str | None]:
    """(wall seconds, peak RSS MiB, error or None) of `cmd` run in its own process."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        timed_out = not timer.is_alive()
        timer.cancel()
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        rss = usage.ru_maxrss / 1024  # KiB on Linux
        if code == 0:
            return wall, rss, None
        err.seek(0)
        text = err.read().decode("utf-8", errors="replace")
    if timed_out:
        return wall, rss, f"timed out after {timeout:.0f} s"
    if code < 0:
        return wall, rss, f"killed by signal {-code} (out of memory?)"
    return wall, rss, f"exit {code}: {first_error_line(text)}"


def commands(
    survey: Path, csv: Path, out: Path, round_: int
) -> list[tuple[str, list[str], Path | None]]:
    """(name, command, JSON output) of one round's runs, pyarrow's bare read first."""
    bare = [PY, "-c", "import sys, pyarrow.csv as c; c.read_csv(sys.argv[1])", str(csv)]
    runs: list[tuple[str, list[str], Path | None]] = [("pyarrow read_csv", bare, None)]
    for engine in ("default", "duckdb"):
        json_out = out / f"result-{engine}-{round_ + 1}.json"
        cmd = [
            PY,
            "-m",
            "alignscan",
            "analyze",
            str(csv),
            "--survey",
            str(survey),
            "--no-save",
            "--json",
            str(json_out),
            "--engine",
            engine,
        ]
        runs.append((f"analyze --engine {engine}", cmd, json_out))
    return runs


def run_all(survey: Path, csv: Path, out: Path, repeat: int, timeout: float) -> list[Run]:
    """Every command `repeat` times, round-robin (the machine's speed drifts); best wall."""
    best: dict[str, Run] = {}
    for round_ in range(repeat):
        for name, cmd, json_out in commands(survey, csv, out, round_):
            if json_out is not None and json_out.exists():
                json_out.unlink()  # a stale result must not pass for this run's
            wall, rss, error = measure(cmd, timeout)
            shown = error or f"{wall:.2f} s, {rss:,.0f} MiB"
            print(f"[{round_ + 1}] {name}: {shown}", file=sys.stderr, flush=True)
            run = Run(name, wall, rss, error, json_out)
            old = best.get(name)
            if old is None or (old.error and not error) or (not error and wall < old.wall):
                best[name] = run
    return list(best.values())


def first_difference(a: Any, b: Any, path: str, tolerance: float = 0.0) -> str | None:
    """Where two JSON values first differ (a readable path), or None if equal (floats:
    within `tolerance`, relative)."""
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                return f"{path}.{key}: only in {'default' if key in a else 'duckdb'}"
            found = first_difference(a[key], b[key], f"{path}.{key}", tolerance)
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} entries"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}[{i}]", tolerance)
            if found:
                return found
        return None
    if a == b:
        return None
    if tolerance and isinstance(a, float) and abs(a - b) <= tolerance * max(abs(a), abs(b)):
        return None
    return f"{path}: {a!r} vs {b!r}"


def compare_engines(runs: list[Run], rows: int) -> list[str]:
    """Lines saying whether each engine read every row, and whether the engines' results
    are equal for the compared keys."""
    by_name = {run.name: run for run in runs}
    pair = [by_name.get("analyze --engine default"), by_name.get("analyze --engine duckdb")]
    if any(run is None or run.error or not run.json_out for run in pair):
        return ["Engines' results not compared: a run failed."]
    docs = [json.loads(run.json_out.read_text("utf-8")) for run in pair if run and run.json_out]
    read = [doc.get("rows", {}).get("read") for doc in docs]
    lines = [
        f"Rows read: default {read[0]:,}, duckdb {read[1]:,} (file: {rows:,}): "
        f"{'OK' if read == [rows, rows] else 'MISMATCH'}."
        if all(isinstance(n, int) for n in read)
        else f"Rows read: not found in the results ({read})."
    ]
    diffs = [first_difference(docs[0].get(k), docs[1].get(k), k) for k in COMPARED_KEYS]
    keys = ", ".join(f"`{k}`" for k in COMPARED_KEYS)
    if not any(diffs):
        others = [k for k in docs[0] if k not in COMPARED_KEYS and docs[0][k] != docs[1].get(k)]
        also = f" (other keys that differ: {', '.join(others)})" if others else ""
        return [*lines, f"Default and duckdb engines' JSON: EQUAL for {keys}{also}."]
    found = "; ".join(d for d in diffs if d)
    close = not any(
        first_difference(docs[0].get(k), docs[1].get(k), k, 1e-9) for k in COMPARED_KEYS
    )
    return [
        *lines,
        f"Default and duckdb engines' JSON: NOT EQUAL for {keys}: first difference {found}"
        f" (equal to 1e-9 relative: {'yes' if close else 'no'}).",
    ]


def table(rows: int, runs: list[Run]) -> list[str]:
    """The Markdown table for the README, and the verdict on the memory target."""
    base = next((r for r in runs if r.name == "pyarrow read_csv" and not r.error), None)
    lines = [
        f"| rows | run | wall s | peak RSS MiB | x pyarrow read | under 1.5 GB ({TARGET_MIB:,.0f} MiB) |",
        "|---:|---|---:|---:|---:|---|",
    ]
    met = True
    for run in runs:
        engine = run.name.startswith("analyze")
        if run.error:
            met = met and not engine
            lines.append(
                f"| {rows:,} | `{run.name}` | failed: {run.error} | | | "
                f"{'no (failed)' if engine else 'reference'} |"
            )
            continue
        ratio = f"{run.wall / base.wall:.2f}x" if base else "n/a"
        verdict = ("yes" if run.rss_mib < TARGET_MIB else "**no**") if engine else "reference"
        met = met and (not engine or run.rss_mib < TARGET_MIB)
        lines.append(
            f"| {rows:,} | `{run.name}` | {run.wall:.2f} | {run.rss_mib:,.0f} | "
            f"{ratio} | {verdict} |"
        )
    lines.append("")
    lines.append(f"Target (both engines under 1.5 GB peak RSS): {'MET' if met else 'NOT MET'}.")
    return lines


def git_commit() -> str:
    """The last commit that changed src/ (short), marked if src/ has uncommitted changes."""

    def git(*args: str) -> str:
        cmd = ["git", "-C", str(ROOT), *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()

    try:
        head = git("log", "-1", "--format=%h", "--", "src")
        dirty = git("status", "--porcelain", "src")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per command (best kept)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per run")
    parser.add_argument("--keep-json", type=Path, help="keep the engines' result JSON here")
    args = parser.parse_args()
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be at least 1")
    survey, csv = ensure_data(args.rows)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        out = args.keep_json or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        runs = run_all(survey, csv, out, args.repeat, args.timeout)
        verdict = compare_engines(runs, args.rows)
    print(
        f"\n{args.rows:,} respondents x 30 items (codes) x 2 segment columns "
        f"({csv.stat().st_size / 1e6:,.0f} MB CSV); {platform.machine()}, "
        f"{os.cpu_count()} cores (load {load:.1f} at start), Python "
        f"{platform.python_version()}; src/ at {git_commit()}; best of {args.repeat}.\n"
    )
    print("\n".join(table(args.rows, runs)))
    print("\n".join(verdict))


if __name__ == "__main__":
    main()
