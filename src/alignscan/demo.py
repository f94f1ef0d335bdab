"""`make demo` and `alignscan demo`: generate a realistic two-wave demo survey and
run the main job on it.

Writes reports/demo/responses-q1.csv (last quarter, 2,000 respondents, seeded) and
responses.csv (this quarter: the ROI gap has narrowed), then runs exactly what a user
would: `alignscan analyze reports/demo/responses.csv --baseline reports/demo/responses-q1.csv
--out reports/demo`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alignscan.survey import load_survey
from alignscan.synthetic import generate_responses, write_csv

DEMO_DIR = Path("reports") / "demo"
RESPONDENTS = 2000
SEED = 2026


def write_demo_data(folder: Path = DEMO_DIR, n: int = RESPONDENTS) -> tuple[Path, Path]:
    """The two demo waves as CSV files; the same files every time."""
    survey = load_survey()
    wave1 = write_csv(generate_responses(survey, n, seed=SEED, wave=1), folder / "responses-q1.csv")
    wave2 = write_csv(generate_responses(survey, n, seed=SEED, wave=2), folder / "responses.csv")
    return wave1, wave2


def run_demo(folder: Path = DEMO_DIR) -> int:
    """Write the demo waves into `folder` and analyse them there, as a user would.
    Returns the exit code of `alignscan analyze`."""
    from alignscan.cli import app

    wave1, wave2 = write_demo_data(folder)
    print(
        f"Demo data (synthetic, {RESPONDENTS:,} respondents per wave): "
        f"{wave2} (this quarter) and {wave1} (last quarter)\n"
    )
    args = ["analyze", str(wave2), "--baseline", str(wave1), "--out", str(folder)]
    args += ["--date", "2026-04-15"]
    code = 0
    try:
        app(args, standalone_mode=False)
    except SystemExit as exc:  # typer.Exit inside standalone_mode=False
        code = int(exc.code or 0)
    except Exception as exc:  # click.exceptions.Exit and friends
        code = int(getattr(exc, "exit_code", 1) or 0)
    report = folder / "report.html"
    if code == 0:
        print()
        if report.exists():
            print(f"The report is at: {report.resolve()}")
        print(f"Result JSON and CSV: {(folder / 'result.json').resolve()}, result.csv")
        print(f"Next: alignscan check {wave2}   |   alignscan trend {wave1} {wave2}")
    return code


def main() -> None:
    sys.exit(run_demo(DEMO_DIR))


if __name__ == "__main__":
    main()
