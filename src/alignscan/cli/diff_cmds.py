"""`alignscan diff`: can the next wave still be compared with the last? And `alignscan demo`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from alignscan.cli.output import Format, _annotate, _esc, fail, print_problems, stdout
from alignscan.cli.root import app
from alignscan.survey.diff import Change, diff_surveys
from alignscan.survey.loading import read_survey_file
from alignscan.survey.model import Survey
from alignscan.survey.problems import Loc, Problem, _locate
from alignscan.survey.safe_yaml import parse_yaml


def _load(path: Path) -> tuple[Survey | None, list[Problem]]:
    """The survey at `path` and its problems (errors only when it is invalid)."""
    result = read_survey_file(path)
    if result.ok:
        return result.survey, []
    return None, [p for p in result.problems if p.severity == "error"]


def _lines(path: Path) -> dict[Loc, tuple[int, int]]:
    """Where each value of a (valid) survey file is, from the same loader as validate."""
    _, locations = parse_yaml(path.read_bytes().decode("utf-8-sig"))
    return locations


def _print_changes(changes: list[Change], new: Path, fmt: Format) -> None:
    locations = _lines(new)
    changes = sorted(changes, key=lambda c: _locate(locations, c.loc))  # in NEW's line order
    if fmt is Format.json:
        sys.stdout.write(json.dumps({"changes": [c.as_dict() for c in changes]}, indent=2) + "\n")
        return
    if fmt is Format.github:
        for c in changes:
            line, col = _locate(locations, c.loc)
            level = "error" if c.breaking else "notice"
            _annotate(level, str(new), line, col, f"{c.kind}: {c.message}")
        return
    console = stdout()
    breaking = sum(c.breaking for c in changes)
    if changes:
        table = Table(header_style="bold", title=f"Changes in {new}")
        for name in ("line", "item", "change", "breaking", "what"):
            table.add_column(name, overflow="fold", justify="right" if name == "line" else "left")
        for c in changes:
            line, _ = _locate(locations, c.loc)
            mark = "[red]yes[/]" if c.breaking else "no"
            table.add_row(str(line), c.item or "-", c.kind, mark, _esc(c.message))
        console.print(table)
    if breaking:
        console.print(
            f"[red]✗ {breaking} breaking change(s) of {len(changes)}: waves measured with the "
            "two versions can't be compared like-for-like on these[/]"
        )
    else:
        console.print(f"[green]✓ no breaking changes ({len(changes)} change(s))[/]")


@app.command(
    epilog=(
        "Example:  alignscan diff surveys/example-ai-pulse.yaml surveys/example-ai-pulse-v2.yaml"
    ),
)
def diff(
    old: Path = typer.Argument(..., help="The earlier survey definition."),
    new: Path = typer.Argument(..., help="The later survey definition."),
    format: Format = typer.Option(Format.rich, "--format", "-f", help="Output format."),
) -> None:
    """List every change between two versions of a survey, and which break comparisons.

    Breaking: items removed, reworded, moved or reverse-flipped, dimensions removed, the
    scale, `compare` or a compared group's role values changed. Exit code 0 when nothing is
    breaking, 1 when something is (or either file is not a valid survey), 2 for a usage error.
    """
    gone = [str(p) for p in (old, new) if not p.exists()]
    if gone:
        fail(f"no such file: {', '.join(gone)}", code=2)
    folders = [str(p) for p in (old, new) if p.is_dir()]
    if folders:
        fail(f"{', '.join(folders)}: a folder; give two survey files", code=2)
    (a, problems_a), (b, problems_b) = _load(old), _load(new)
    if a is None or b is None:
        problems = problems_a + problems_b
        if format is Format.json:
            sys.stdout.write(json.dumps({"problems": [p.as_dict() for p in problems]}, indent=2))
            sys.stdout.write("\n")
        else:
            print_problems(problems, format, 2)
        raise typer.Exit(1)
    changes = diff_surveys(a, b)
    _print_changes(changes, new, format)
    if any(c.breaking for c in changes):
        raise typer.Exit(1)


@app.command(epilog="Example:  alignscan demo --out reports/demo")
def demo(
    out: Path = typer.Option(
        Path("reports") / "demo", "--out", "-o", help="Folder for the demo data and report."
    ),
) -> None:
    """Generate the synthetic two-wave demo survey and analyse it (what `make demo` does).

    Writes responses-q1.csv and responses.csv (2,000 respondents each), then result.json,
    result.csv and report.html into the folder.
    """
    from alignscan.demo import run_demo

    if out.exists() and not out.is_dir():
        fail(f"{out} is a file; --out needs a folder", code=2)
    try:
        code = run_demo(out)
    except OSError as exc:
        fail(f"can't write the demo into {out}: {exc.strerror}", code=1)
    if code:
        raise typer.Exit(code)
