"""`make bench`: alignscan against pyarrow's bare CSV read and a plain pandas+scipy
script, side by side in one run, on the same generated file.

Usage: python benchmarks/run.py [--rows 1000000] [--repeat 1] [--skip-peer]

Each command runs as its own process; wall time includes interpreter start-up, and
peak memory is that process's maximum resident set size (os.wait4). Prints Markdown
tables for the README.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
PY = sys.executable


def measure(cmd: list[str], repeat: int) -> tuple[float, float]:
    """(best wall seconds, peak RSS MiB of that run) for a command run in its own process."""
    best: tuple[float, float] | None = None
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err[-2000:]}")
        rss = usage.ru_maxrss / 1024  # KiB on Linux
        if best is None or wall < best[0]:
            best = (wall, rss)
    assert best is not None
    return best


def generate(rows: int, form: str) -> Path:
    """The benchmark file, made once. Generated in a child process: a forked child's peak
    memory figure starts from its parent's, so the harness itself must stay small."""
    path = DATA / f"responses-{rows}-{form}.csv"
    if not path.exists():
        print(f"generating {path.name} ...", file=sys.stderr)
        code = (
            "import sys; from alignscan.survey import load_survey; "
            "from alignscan.synthetic import generate_responses, write_csv; "
            "write_csv(generate_responses(load_survey(), int(sys.argv[1]), seed=42, "
            "answers=sys.argv[2]), sys.argv[3])"
        )
        subprocess.run([PY, "-c", code, str(rows), form, str(path)], check=True)
    return path


def to_parquet(csv_path: Path) -> Path:
    """The same file as Parquet (string columns), made once in a child process."""
    path = csv_path.with_suffix(".parquet")
    if not path.exists():
        code = (
            "import sys, pyarrow.csv as c, pyarrow.parquet as q, pyarrow as pa; "
            "names = c.open_csv(sys.argv[1]).schema.names; "
            "opts = c.ConvertOptions(column_types={n: pa.string() for n in names}, "
            "strings_can_be_null=False); "
            "q.write_table(c.read_csv(sys.argv[1], convert_options=opts), sys.argv[2])"
        )
        subprocess.run([PY, "-c", code, str(csv_path), str(path)], check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-peer", action="store_true", help="skip the slow peer script")
    args = parser.parse_args()
    labels = generate(args.rows, "labels")
    codes = generate(args.rows, "codes")
    size = labels.stat().st_size / 1e6
    bare = [PY, "-c", "import sys, pyarrow.csv as c; c.read_csv(sys.argv[1])"]
    alignscan = [PY, "-m", "alignscan"]
    rows: list[tuple[str, list[str]]] = [
        ("pyarrow `read_csv` alone (labels file)", [*bare, str(labels)]),
        ("`alignscan check` (labels: read, code, validate)", [*alignscan, "check", str(labels)]),
        ("pyarrow `read_csv` alone (codes file)", [*bare, str(codes)]),
        ("`alignscan check` (codes: read, code, validate)", [*alignscan, "check", str(codes)]),
        (
            "`alignscan analyze --json` (labels)",
            [*alignscan, "analyze", str(labels), "--no-save", "--json", os.devnull],
        ),
        (
            "`alignscan analyze --json` (codes)",
            [*alignscan, "analyze", str(codes), "--no-save", "--json", os.devnull],
        ),
        (
            "`alignscan analyze --json --engine duckdb` (labels)",
            [*alignscan, "analyze", str(labels), "--no-save", "--json", os.devnull,
             "--engine", "duckdb"],
        ),
        (
            "`alignscan analyze --json` (labels, Parquet)",
            [*alignscan, "analyze", str(to_parquet(labels)), "--no-save", "--json", os.devnull],
        ),
    ]
    if not args.skip_peer:
        rows.append(
            (
                "peer: pandas + scipy script",
                [PY, str(ROOT / "benchmarks" / "peer_pandas_scipy.py"), str(labels)],
            )
        )
    # Round-robin repeats: this machine's speed drifts, so each command's best run is
    # taken from the same stretches of time as the others'.
    results: dict[str, tuple[float, float]] = {}
    for round_ in range(args.repeat):
        for name, cmd in rows:
            wall, rss = measure(cmd, 1)
            if name not in results or wall < results[name][0]:
                results[name] = (wall, rss)
            print(f"[{round_ + 1}] {name}: {wall:.2f} s, {rss:.0f} MiB", file=sys.stderr)
    base = results["pyarrow `read_csv` alone (labels file)"][0]
    print(
        f"\n{args.rows:,} respondents x 33 items x 2 segment columns, labels form "
        f"({size:.0f} MB CSV); {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; best of {args.repeat}.\n"
    )
    print("| command | wall time | vs pyarrow read | peak memory |")
    print("|---|---:|---:|---:|")
    for name, (wall, rss) in results.items():
        print(f"| {name} | {wall:.2f} s | {wall / base:.2f}x | {rss:,.0f} MiB |")
    if not args.skip_peer:
        ours = results["`alignscan analyze --json` (labels)"][0]
        peer = results["peer: pandas + scipy script"][0]
        print(f"\n`alignscan analyze` is {peer / ours:.1f}x faster than the pandas + scipy peer.")
        ours = results["`alignscan analyze --json` (codes)"][0]
        print(f"On the codes file it is {peer / ours:.1f}x faster than the peer (on labels).")
    print()
    subprocess.run([PY, str(ROOT / "benchmarks" / "bench_stages.py"), str(labels)], check=True)
    print()
    subprocess.run([PY, str(ROOT / "benchmarks" / "bench_validate.py")], check=True)


if __name__ == "__main__":
    main()
