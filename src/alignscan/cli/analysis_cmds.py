"""Commands about the analysis: analyze, report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.table import Table

from alignscan.cli import app
from alignscan.cli.output import (
    Format,
    fail,
    load_result_or_exit,
    load_survey_or_exit,
    read_responses_or_exit,
    stdout,
)
from alignscan.cli.responses_cmds import (
    DELIMITER_OPTION,
    ENCODING_OPTION,
    ERRORS_OPTION,
    HEADER_ROWS_OPTION,
    LENIENT_OPTION,
    SHEET_OPTION,
    SURVEY_OPTION,
    exit_if_invalid,
    reader_options,
    write_errors_file,
)


def _write_pdf(path: Path, html: str) -> None:
    from alignscan.report.html import PdfUnavailable, render_pdf

    try:
        data = render_pdf(html)
    except PdfUnavailable as exc:
        fail(f"--pdf needs WeasyPrint: pip install 'alignscan[pdf]' ({exc})", code=2)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        fail(f"can't write {path}: {exc.strerror}", code=1)


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        fail(f"can't write {path}: {exc.strerror}", code=1)


def _num(value: float | None, fmt: str = "+.2f") -> str:
    return "-" if value is None else format(value, fmt)


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:+.0f} pts" if signed else f"{value:.0%}"


def _q(q: float | None) -> str:
    if q is None:
        return "-"
    return "<0.001" if q < 0.001 else f"{q:.3f}"


def print_summary(result: dict[str, Any]) -> None:
    """The terminal summary: groups, one row per dimension, the largest item gaps."""
    console = stdout()
    a, b = result["compare"]
    rows = result["rows"]
    console.print(
        f"[bold]{result['survey']['id']}[/] v{result['survey']['version']}: "
        f"[bold]{a}[/] vs [bold]{b}[/] (gap = {a} - {b})"
    )
    minimum = result["min_group_size"]
    groups = "  ".join(
        f"{g}: {f'< {minimum}' if c.get('suppressed') else format(c['n'], ',')}"
        for g, c in result["groups"].items()
    )
    console.print(f"respondents per group: {groups}")
    table = Table(
        title="Gap by dimension",
        caption=f"A = {a}, B = {b}; bold = significant (q < 0.05 after Benjamini-Hochberg)",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("dimension", overflow="fold", min_width=8)
    for col in ("A", "B", "gap", "95% CI", "fav.pts", "q", "effect", "alpha"):
        table.add_column(col, justify="right" if col != "effect" else "left", no_wrap=True)
    for dim in result["dimensions"]:
        ga, gb, gap = dim["groups"][a], dim["groups"][b], dim["gap"]
        if gap is None:
            cells = ["suppressed", "-", "-", "-", "-"]
        else:
            lo, hi = gap["mean_ci"]
            q = gap["q_value"]
            mark = "bold" if q is not None and q < 0.05 else "none"
            cells = [
                f"[{mark}]{gap['mean']:+.2f}[/]",
                f"{lo:+.2f}, {hi:+.2f}",
                _pct(gap["favorable"], signed=True).replace(" pts", ""),
                _q(q),
                gap["magnitude"] or "-",
            ]
        table.add_row(
            dim["title"] if console.width >= 120 else dim["id"],
            _num(ga.get("mean"), ".2f"),
            _num(gb.get("mean"), ".2f"),
            *cells,
            _num(dim["alpha"], ".2f"),
        )
    console.print(table)
    ranked = sorted(
        (i for i in result["items"] if i["gap"] is not None),
        key=lambda i: -abs(i["gap"]["mean"]),
    )[:5]
    top = Table(title="Largest item gaps", header_style="bold")
    top.add_column("item")
    top.add_column("text", overflow="fold")
    top.add_column("gap", justify="right", no_wrap=True)
    top.add_column("q", justify="right", no_wrap=True)
    for item in ranked:
        mark = " (reverse-keyed)" if item["reverse"] else ""
        top.add_row(
            item["id"],
            item["text"] + mark,
            f"{item['gap']['mean']:+.2f}",
            _q(item["gap"]["q_value"]),
        )
    console.print(top)
    quality = (
        f"data quality: rows read {rows['read']:,} = used {rows['used']:,} "
        f"+ excluded {rows['excluded']:,}"
    )
    console.print(quality)
    for reason, count in rows.get("excluded_by_reason", {}).items():
        console.print(f"  excluded: {reason}: {count:,}")
    for reason, count in rows.get("cells_set_missing", {}).items():
        console.print(f"  cells treated as not answered: {reason}: {count:,}")
    for warning in result.get("warnings", []):
        console.print(f"[yellow]warning:[/] {warning}")


def render_report_html(
    result: dict[str, Any], date: str | None, trend: dict[str, Any] | None = None
) -> str:
    from alignscan.report.html import render_html

    return render_html(result, date=date, trend=trend)


@app.command(
    epilog=(
        "Example:  alignscan analyze reports/demo/responses.csv --out reports/acme "
        "(writes result.json, result.csv and report.html)"
    ),
)
def analyze(
    responses: Path = typer.Argument(..., help="Responses export: .csv or .xlsx."),
    survey: Path | None = SURVEY_OPTION,
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Folder for result.json, result.csv and report.html (default: reports/<survey-id>/).",
    ),
    json_path: Path | None = typer.Option(None, "--json", help="Also write the result JSON here."),
    csv_path: Path | None = typer.Option(None, "--csv", help="Also write the tidy CSV here."),
    html_path: Path | None = typer.Option(None, "--html", help="Also write the HTML report here."),
    pdf_path: Path | None = typer.Option(
        None, "--pdf", help="Also write the report as PDF (needs the `pdf` extra: WeasyPrint)."
    ),
    no_save: bool = typer.Option(
        False, "--no-save", help="Only print the summary; write no files unless asked."
    ),
    date: str | None = typer.Option(
        None, "--date", help="Report date to print (default: SOURCE_DATE_EPOCH, else none)."
    ),
    baseline: Path | None = typer.Option(
        None,
        "--baseline",
        help="An earlier wave (responses or result.json): adds the trend to the report.",
    ),
    lenient: bool = LENIENT_OPTION,
    format: Format = typer.Option(
        Format.rich, "--format", "-f", help="Terminal output: rich summary or the JSON result."
    ),
    errors: Path | None = ERRORS_OPTION,
    delimiter: str | None = DELIMITER_OPTION,
    sheet: str | None = SHEET_OPTION,
    header_rows: int | None = HEADER_ROWS_OPTION,
    encoding: str | None = ENCODING_OPTION,
) -> None:
    """Analyse the gap between the compared groups: items, dimensions, segments.

    Exit code 0 on success, 1 for invalid input (including a compared group smaller than
    the survey's minimum group size), 2 for a usage error.
    """
    from alignscan.analysis import AnalysisError
    from alignscan.analysis import analyze as run_analysis
    from alignscan.report.tabular import result_to_csv, result_to_json

    definition = load_survey_or_exit(survey)
    options = reader_options(lenient, delimiter, sheet, header_rows, encoding)
    rs = read_responses_or_exit(responses, definition, **options)
    write_errors_file(rs, errors)
    exit_if_invalid(rs, format)
    try:
        result = run_analysis(rs)
    except AnalysisError as exc:
        fail(str(exc), code=1)
        return
    json_text = result_to_json(result)
    trend_doc = None
    if baseline is not None:
        from alignscan.cli.trend_cmds import print_trend, read_wave, shared_ids, trend_or_exit

        before, before_ids = read_wave(baseline, survey, lenient)
        trend_doc = trend_or_exit(
            [before, result],
            ["baseline", "this wave"],
            shared=shared_ids([before_ids, rs.respondent_ids]),
        )
    if format is Format.json:
        typer.echo(json_text, nl=False)
    else:
        print_summary(result)
        if trend_doc is not None:
            print_trend(trend_doc)

    targets: dict[str, Path] = {}
    if not no_save or out is not None:
        folder = out if out is not None else Path("reports") / definition.id
        targets = {
            "result.json": folder / "result.json",
            "result.csv": folder / "result.csv",
            "report.html": folder / "report.html",
        }
    if json_path:
        targets["json"] = json_path
    if csv_path:
        targets["csv"] = csv_path
    if html_path:
        targets["html"] = html_path
    if pdf_path:
        targets["pdf"] = pdf_path
    html_text = None
    written = []
    for kind, path in targets.items():
        if kind.endswith("json"):
            _write(path, json_text)
        elif kind.endswith("csv"):
            _write(path, result_to_csv(result))
        elif kind == "pdf":
            _write_pdf(path, render_report_html(result, date, trend_doc))
        else:
            if html_text is None:
                html_text = render_report_html(result, date, trend_doc)
            _write(path, html_text)
        written.append(path)
    if written and format is not Format.json:
        stdout().print("wrote " + ", ".join(str(p) for p in dict.fromkeys(written)))


@app.command(epilog="Example:  alignscan report reports/demo/result.json --html report.html")
def report(
    result_file: Path = typer.Argument(..., help="A result.json written by `alignscan analyze`."),
    html: Path | None = typer.Option(None, "--html", help="Where to write the HTML report."),
    pdf: Path | None = typer.Option(
        None, "--pdf", help="Where to write the report as PDF (needs the `pdf` extra)."
    ),
    date: str | None = typer.Option(
        None, "--date", help="Report date to print (default: SOURCE_DATE_EPOCH, else none)."
    ),
) -> None:
    """Re-render the HTML report from a saved result, without the raw responses."""
    if html is None and pdf is None:
        fail("give --html FILE and/or --pdf FILE", code=2)
    from alignscan.report.html import render_html

    result = load_result_or_exit(result_file)
    try:
        text = render_html(result, date=date)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        fail(f"{result_file} is not a complete alignscan result ({type(exc).__name__})", code=1)
        return
    for path in filter(None, (html, pdf)):
        if path is pdf:
            _write_pdf(path, text)
        else:
            _write(path, text)
        stdout().print(f"wrote {path}")
