"""The trend command: is the gap closing between survey waves?"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from alignscan.cli.options import LENIENT_OPTION, SURVEY_OPTION, no_github_format
from alignscan.cli.output import (
    Format,
    count_responses_or_exit,
    fail,
    load_survey_or_exit,
    refuse_clashes,
    report_date_or_exit,
    stdout,
    write_outputs,
)
from alignscan.cli.output import _esc as esc
from alignscan.cli.responses_cmds import exit_if_invalid
from alignscan.cli.root import app

if TYPE_CHECKING:
    from alignscan.result.models import TrendDocument


def read_wave(path: Path, survey_path: Path | None, lenient: bool) -> tuple[dict[str, Any], Any]:
    """(result document, respondent ids or None), through `alignscan.api.load_wave`; the
    CLI only reads responses itself so that their errors are shown as `check` shows them."""
    from alignscan.api import AlignscanError, is_result_file, load_wave

    if is_result_file(path):
        if not path.exists():
            fail(f"no such file: {path}", code=2)
        source: Any = path
    else:
        definition = load_survey_or_exit(survey_path)
        source = count_responses_or_exit(path, definition, lenient=lenient)
        exit_if_invalid(source, lenient=lenient)
    try:
        wave = load_wave(source)
    except AlignscanError as exc:
        fail(str(exc), code=1)
    return wave.result, wave.respondent_ids


def warn_same_waves(waves: list[Path]) -> None:
    """Warn (stderr) when two waves are the same file, or files with the same content."""
    from alignscan.api import repeated_waves
    from alignscan.cli.output import stderr

    for wave, first, same_file in repeated_waves(waves):
        same = "is the same file as" if same_file else "has the same content as"
        stderr().print(
            f"[yellow]warning:[/] {esc(str(wave))} {same} {esc(str(first))}: "
            "the trend compares a wave with itself",
            highlight=False,
        )


def warn_on_stderr(warnings: list[str]) -> None:
    """A trend's warnings (e.g. survey versions with breaking changes between the waves)
    on stderr, for a terminal whose stdout carries JSON; the rich output shows them."""
    from alignscan.cli.output import _esc, stderr

    for message in warnings:
        stderr().print(f"[yellow]warning:[/] {_esc(message)}", markup=True, highlight=False)


def shared_ids(ids: list[Any]) -> dict[tuple[int, int], int]:
    """Respondents shared by pairs of waves (see `alignscan.api.shared_ids`)."""
    from alignscan.api import shared_ids as count_shared

    return count_shared(ids)


def trend_or_exit(results: list[dict[str, Any]], labels: list[str] | None, **options: Any):
    """The trend document; waves that can't be compared (e.g. different scales) exit 1."""
    from alignscan.cli.output import with_flag
    from alignscan.extras.trend import trend

    try:
        return trend(results, labels, **options)
    except ValueError as exc:
        fail(with_flag(str(exc)), code=1)
        raise AssertionError from None
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        fail(f"a wave is not a complete alignscan result ({type(exc).__name__}: {exc})", code=1)
        raise AssertionError from None


def compute_trend(
    waves: list[Path],
    survey: Path | None,
    labels: str | None,
    lenient: bool,
    favorable_only: bool = False,
) -> TrendDocument:

    if len(waves) < 2:
        fail("give at least two waves", code=2)
    names = [s.strip() for s in labels.split(",")] if labels else None
    if names is not None and len(names) != len(waves):
        fail(f"--labels has {len(names)} labels for {len(waves)} waves", code=2)
    warn_same_waves(waves)
    read = [read_wave(w, survey, lenient) for w in waves]
    results = [r for r, _ in read]
    shared = shared_ids([ids for _, ids in read])
    from alignscan.result.models import as_trend

    doc = trend_or_exit(results, names, favorable_only=favorable_only, shared=shared)
    return as_trend(doc)


def print_trend(doc: TrendDocument) -> None:
    """The trend table (drawn by `render.terminal`)."""
    from alignscan.render.terminal import print_trend as draw

    draw(doc, stdout())


@app.command(
    epilog=(
        "Example:  alignscan trend reports/demo/responses-q1.csv reports/demo/responses.csv "
        "--labels Q1,Q2 --html reports/trend.html"
    ),
)
def trend(
    waves: list[Path] = typer.Argument(
        ..., help="Two or more waves, oldest first: responses files or saved result.json."
    ),
    survey: Path | None = SURVEY_OPTION,
    labels: str | None = typer.Option(None, "--labels", help="Wave names, comma-separated."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the trend JSON here."),
    html_path: Path | None = typer.Option(None, "--html", help="Write a trend report here."),
    date: str | None = typer.Option(None, "--date", help="Report date to print."),
    lenient: bool = LENIENT_OPTION,
    favorable_only: bool = typer.Option(
        False,
        "--favorable-only",
        help="Compare waves on different answer scales by their favorable shares only.",
    ),
    format: Format = typer.Option(Format.rich, "--format", "-f", help="rich or json."),
) -> None:
    """Is the gap closing? The gap in each wave and its change, with 95% CIs.

    Items are matched by id, so waves may come from different survey versions (pass a
    saved result.json for a wave analysed with another definition).
    """
    date = report_date_or_exit(date)  # first: numpy reads SOURCE_DATE_EPOCH on import
    no_github_format(format, "trend")
    from alignscan.render.tabular import result_to_json
    from alignscan.render.trend_html import render_trend_html

    refuse_clashes([json_path, html_path], [*waves, survey])
    doc = compute_trend(waves, survey, labels, lenient, favorable_only)
    text = result_to_json(doc)
    outputs: dict[Path, str | bytes] = {}
    if json_path is not None:
        outputs[json_path] = text
    if html_path is not None:
        outputs[html_path] = render_trend_html(doc, date=date)
    write_outputs(outputs, [*waves, survey])
    if format is Format.json:
        typer.echo(text, nl=False)
        warn_on_stderr(doc.warnings)
        return
    print_trend(doc)
    for path in outputs:
        stdout().print(f"wrote {esc(path)}")
