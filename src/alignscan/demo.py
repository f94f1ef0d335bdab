"""`make demo` and `alignscan demo`: generate a realistic two-wave demo survey and
run the main job on it.

Writes reports/demo/responses-q1.csv (last quarter, 2,000 respondents, seeded) and
responses.csv (this quarter: the ROI gap has narrowed), then does, through the library,
what `alignscan analyze reports/demo/responses.csv --baseline reports/demo/responses-q1.csv
--out reports/demo` does: result.json, result.csv and report.html (with the trend).
Then five small sample organisations' results (reports/demo/clients/sample-N/result.json,
synthetic like the rest), so that `alignscan norms build` can be tried on them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from alignscan.survey import load_survey
from alignscan.synthetic import generate_responses, write_csv

DEMO_DIR = Path("reports") / "demo"
RESPONDENTS = 2000
SEED = 2026
DATE = "2026-04-15"
SAMPLE_ORGS = (300, 450, 380, 520, 340)  # respondents of each sample organisation

if TYPE_CHECKING:
    from alignscan.result.models import ResultDocument, TrendDocument


def write_demo_data(folder: Path = DEMO_DIR, n: int = RESPONDENTS) -> tuple[Path, Path]:
    """The two demo waves as CSV files; the same files every time."""
    survey = load_survey()
    wave1 = write_csv(generate_responses(survey, n, seed=SEED, wave=1), folder / "responses-q1.csv")
    wave2 = write_csv(generate_responses(survey, n, seed=SEED, wave=2), folder / "responses.csv")
    return wave1, wave2


# Demo response rates per department (synthetic): the departments, sorted, get these
# rates in turn, so the participation section shows a realistic spread.
DEPARTMENT_RATES = (0.91, 0.74, 0.62, 0.55, 0.47, 0.38)


def write_demo_headcount(responses: Path, folder: Path = DEMO_DIR) -> Path:
    """headcount.csv for the demo: the population of each group in each department (no
    group totals: alignscan adds them up), from the respondents of `responses` at the
    synthetic DEPARTMENT_RATES; the same file every time."""
    import csv
    import math

    from alignscan.atomic import write_one

    survey = load_survey()
    role_of = {raw: g for g, raws in survey.roles.groups.items() for raw in raws}
    counts: dict[tuple[str, str], int] = {}
    with responses.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            key = (role_of[row[survey.roles.column]], row["department"])
            counts[key] = counts.get(key, 0) + 1
    departments = sorted({d for _, d in counts})
    rate = {d: DEPARTMENT_RATES[i % len(DEPARTMENT_RATES)] for i, d in enumerate(departments)}
    lines = ["group,department,headcount"]
    for g in survey.roles.groups:
        for d in departments:
            n = counts.get((g, d), 0)
            lines.append(f"{g},{d},{max(1, math.ceil(n / rate[d]))}")
    path = folder / "headcount.csv"
    write_one(path, "\n".join(lines) + "\n", [responses])
    return path


def analyse_demo(
    wave1: Path, wave2: Path, folder: Path, headcount: Path | None = None
) -> tuple[ResultDocument, TrendDocument]:
    """Analyse the latest wave against the earlier one (with participation when a
    `headcount` file is given) and write the three outputs into `folder` (all or none),
    through the pipeline `alignscan analyze --baseline` runs: the result.json keeps the
    trend and the report date, so `alignscan report` redraws the same report.
    Returns (result, trend); raises AlignscanError."""
    from alignscan.api import LibraryEdge
    from alignscan.atomic import write_all
    from alignscan.pipeline import AnalysisRequest, run
    from alignscan.render.html import render_html
    from alignscan.render.tabular import result_to_csv, result_to_json

    request = AnalysisRequest(
        source=wave2, baseline=wave1, headcount=headcount, report_date=DATE
    )
    outcome = run(request, LibraryEdge())
    assert outcome.trend is not None  # a baseline was given
    write_all(
        {
            folder / "result.json": result_to_json(outcome.result),
            folder / "result.csv": result_to_csv(outcome.result),
            folder / "report.html": render_html(outcome.result),
        },
        [wave1, wave2],
    )
    return outcome.result, outcome.trend


def write_sample_orgs(folder: Path) -> list[Path]:
    """Five small organisations' results (`folder`/sample-N/result.json), all or none:
    the demo's norms. Seeded, so the same files every time; they differ in size, seed
    and wave (later waves have a narrower ROI gap), so their gaps differ as clients' do."""
    from alignscan.api import analyze
    from alignscan.atomic import write_all

    survey = load_survey()
    outputs: dict[Path, str] = {}
    for k, n in enumerate(SAMPLE_ORGS, start=1):
        frame = generate_responses(survey, n, seed=SEED + k, wave=1 + k % 2)
        outputs[folder / f"sample-{k}" / "result.json"] = analyze(frame, survey).to_json()
    write_all(outputs, [])
    return list(outputs)


def _print_terminal(result: ResultDocument, doc: TrendDocument) -> None:
    from alignscan.cli.analysis_cmds import print_summary  # the terminal renderers
    from alignscan.cli.trend_cmds import print_trend

    print_summary(result)
    print_trend(doc)


def command_prefix() -> str:
    """How to call alignscan from the shell that ran the demo: `.venv/bin/alignscan` when
    it ran from the project's virtualenv without it being activated, else `alignscan`."""
    import os
    import shutil

    exe = Path(sys.executable)
    scripts = exe.parent / ("alignscan.exe" if os.name == "nt" else "alignscan")
    on_path = shutil.which("alignscan")
    if scripts.exists() and (on_path is None or Path(on_path).resolve() != scripts.resolve()):
        try:
            return str(scripts.relative_to(Path.cwd()))
        except ValueError:
            return str(scripts)
    return "alignscan"


def foreign_demo_files(folder: Path) -> list[Path]:
    """The files of `folder` the demo would replace but did not write: outputs alignscan
    can't recognise as its own, and data files (responses, headcount) whose bytes differ
    from the demo's (a user's export may have the demo's header, so only the content
    tells)."""
    import filecmp
    import tempfile

    from alignscan.atomic import foreign_files

    outputs = [folder / name for name in ("result.json", "result.csv", "report.html")]
    outputs += [folder / "clients" / f"sample-{k}" / "result.json"
                for k in range(1, len(SAMPLE_ORGS) + 1)]
    found = foreign_files(outputs)
    data = [folder / n for n in ("responses-q1.csv", "responses.csv", "headcount.csv")]
    if any(p.exists() for p in data):
        with tempfile.TemporaryDirectory() as tmp:
            wave1, wave2 = write_demo_data(Path(tmp))
            write_demo_headcount(wave2, Path(tmp))
            found += [p for p in data if p.exists() and (
                not p.is_file() or not filecmp.cmp(p, Path(tmp) / p.name, shallow=False))
                and not _older_demo_wave(p, Path(tmp) / p.name)]
    return found


_DEMO_ID = re.compile(r"W[12]-R\d{7}")


def _older_demo_wave(path: Path, today: Path) -> bool:
    """A responses file an older version of the demo wrote: today's header and at least one
    row, every row's respondent id in the demo's own form (W1-R0000001), and no larger than a
    demo wave can be. A user's export (or `template`'s header-only file) is none of these."""
    import csv

    if path.name == "headcount.csv" or path.stat().st_size > 64 * today.stat().st_size:
        return False
    rows = 0
    try:
        with path.open(encoding="utf-8", newline="") as mine, today.open(encoding="utf-8") as ours:
            if mine.readline().rstrip("\r\n") != ours.readline().rstrip("\r\n"):
                return False
            for row in csv.reader(mine):
                if not row or not _DEMO_ID.fullmatch(row[0]):
                    return False
                rows += 1
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return rows > 0


def run_demo(folder: Path = DEMO_DIR) -> int:
    """Write the demo waves into `folder` and analyse them there, as a user would.
    Returns the exit code `alignscan analyze` would give."""
    from alignscan.api import AlignscanError

    foreign = foreign_demo_files(folder)
    if foreign:
        print(
            f"error: {foreign[0]} exists and is not the demo's (your own file, or an older "
            "demo's): delete it, or choose another folder with --out (nothing was written)",
            file=sys.stderr,
        )
        return 2
    wave1, wave2 = write_demo_data(folder)
    print(
        f"Demo data (synthetic, {RESPONDENTS:,} respondents per wave): "
        f"{wave2} (this quarter) and {wave1} (last quarter)\n"
    )
    try:
        result, doc = analyse_demo(wave1, wave2, folder, write_demo_headcount(wave2, folder))
    except (AlignscanError, OSError) as exc:
        print(f"error: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 1
    _print_terminal(result, doc)
    print(f"wrote {folder / 'result.json'}, {folder / 'result.csv'}, {folder / 'report.html'}")
    try:
        write_sample_orgs(folder / "clients")
    except (AlignscanError, OSError) as exc:
        print(f"error: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 1
    clients = folder / "clients"
    print(f"and {len(SAMPLE_ORGS)} sample organisations' results: {clients}/*/result.json")
    print()
    print(f"The report is at: {(folder / 'report.html').resolve()}")
    print(f"Result JSON and CSV: {(folder / 'result.json').resolve()}, result.csv")
    cmd = command_prefix()
    print(f"Next: {cmd} check {wave2}   |   {cmd} trend {wave1} {wave2}")
    print(f"      {cmd} norms build {clients}/*/result.json -o {folder / 'norms.json'}")
    return 0


def main() -> None:
    sys.exit(run_demo(DEMO_DIR))


if __name__ == "__main__":
    main()
