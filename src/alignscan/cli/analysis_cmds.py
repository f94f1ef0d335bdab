"""Commands about the analysis: analyze, report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.table import Table

from alignscan.cli import app
from alignscan.cli.engine import ENGINE_OPTION, Engine
from alignscan.cli.norms_cmds import HEADCOUNT_OPTION, NORMS_OPTION, add_extras, print_extras
from alignscan.cli.output import (
    Format,
    fail,
    load_result_or_exit,
    load_survey_or_exit,
    read_responses_or_exit,
    refuse_clashes,
    report_date_or_exit,
    stdout,
    write_outputs,
)
from alignscan.cli.output import _esc as esc
from alignscan.cli.responses_cmds import (
    DELIMITER_OPTION,
    ENCODING_OPTION,
    ERRORS_OPTION,
    HEADER_ROW_OPTION,
    HEADER_ROWS_OPTION,
    LENIENT_OPTION,
    SHEET_OPTION,
    SURVEY_OPTION,
    errors_output,
    exit_if_invalid,
    reader_options,
    write_errors_file,
)


def _pdf_bytes(html: str) -> bytes:
    from alignscan.report.html import PdfUnavailable, render_pdf

    try:
        return render_pdf(html)
    except PdfUnavailable as exc:
        fail(f"--pdf needs WeasyPrint: pip install 'alignscan[pdf]' ({exc})", code=2)


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
    a, b = (esc(g) for g in result["compare"])
    rows = result["rows"]
    console.print(
        f"[bold]{esc(result['survey']['id'])}[/] v{esc(result['survey']['version'])}: "
        f"[bold]{a}[/] vs [bold]{b}[/] (gap = {a} - {b})"
    )
    minimum = result["min_group_size"]
    groups = "  ".join(
        f"{esc(g)}: {f'< {minimum}' if c.get('suppressed') else format(c['n'], ',')}"
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
        ga, gb = (dim["groups"][g] for g in result["compare"])
        gap = dim["gap"]
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
            esc(dim["title"] if console.width >= 120 else dim["id"]),
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
            esc(item["id"]),
            esc(item["text"]) + mark,
            f"{item['gap']['mean']:+.2f}",
            _q(item["gap"]["q_value"]),
        )
    console.print(top)
    from alignscan.drivers import summary_lines  # numpy: only when a summary is printed

    for line in summary_lines(result):  # top two drivers per compared group
        console.print(line, markup=False, highlight=False)
    quality = (
        f"data quality: rows read {rows['read']:,} = used {rows['used']:,} "
        f"+ excluded {rows['excluded']:,}"
        if rows["used"] is not None
        else "data quality: row totals withheld (they would give a hidden group's size)"
    )
    console.print(quality)
    for reason, count in rows.get("excluded_by_reason", {}).items():
        console.print(f"  excluded: {esc(reason)}: {count:,}")
    for reason, count in rows.get("cells_set_missing", {}).items():
        console.print(f"  cells treated as not answered: {esc(reason)}: {count:,}")
    for warning in result.get("warnings", []):
        console.print(f"[yellow]warning:[/] {esc(warning)}")
    print_extras(result)


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
    header_row: int | None = HEADER_ROW_OPTION,
    encoding: str | None = ENCODING_OPTION,
    headcount: Path | None = HEADCOUNT_OPTION,
    norms: Path | None = NORMS_OPTION,
    engine: Engine = ENGINE_OPTION,
) -> None:
    """Analyse the gap between the compared groups: items, dimensions, segments.

    Exit code 0 on success, 1 for invalid input (including a compared group smaller than
    the survey's minimum group size), 2 for a usage error.
    """
    date = report_date_or_exit(date)  # first: numpy reads SOURCE_DATE_EPOCH on import
    from alignscan.analysis import AnalysisError
    from alignscan.analysis import analyze as run_analysis

    definition = load_survey_or_exit(survey)
    targets = _targets(definition.id, out, no_save, json_path, csv_path, html_path, pdf_path)
    inputs = (responses, survey, baseline, headcount, norms)
    refuse_clashes([*targets.values(), errors], inputs)
    options = reader_options(
        lenient, delimiter, sheet, header_rows, encoding, header_row, survey is None
    )
    options["engine"] = engine.value
    rs = read_responses_or_exit(responses, definition, **options)
    if not rs.ok:
        write_errors_file(rs, errors, inputs)
        exit_if_invalid(rs, format)
    try:
        result = run_analysis(rs)
    except AnalysisError as exc:
        write_errors_file(rs, errors, inputs)
        fail(str(exc), code=1)
    result = add_extras(result, rs, headcount, norms, format)
    trend_doc = None
    if baseline is not None:
        from alignscan.cli.trend_cmds import (
            print_trend,
            read_wave,
            shared_ids,
            trend_or_exit,
            warn_incomparable_waves,
        )

        before, before_ids = read_wave(baseline, survey, lenient)
        warn_incomparable_waves([before, result], ["baseline", "this wave"])
        trend_doc = trend_or_exit(
            [before, result],
            ["baseline", "this wave"],
            shared=shared_ids([before_ids, rs.respondent_ids]),
        )
    outputs = render_outputs(targets, result, date, trend_doc)
    outputs.update(errors_output(rs, errors))
    write_outputs(outputs, inputs)
    if format is Format.json:
        typer.echo(_json_text(result), nl=False)
    else:
        print_summary(result)
        if trend_doc is not None:
            print_trend(trend_doc)
        written = list(targets.values())
        if written:
            stdout().print("wrote " + esc(", ".join(str(p) for p in dict.fromkeys(written))))


def _json_text(result: dict[str, Any]) -> str:
    from alignscan.report.tabular import result_to_json

    return result_to_json(result)


def _targets(
    survey_id: str,
    out: Path | None,
    no_save: bool,
    json_path: Path | None,
    csv_path: Path | None,
    html_path: Path | None,
    pdf_path: Path | None,
) -> dict[str, Path]:
    """Every file analyze will write, by kind (known before anything is read)."""
    targets: dict[str, Path] = {}
    if not no_save or out is not None:
        folder = out if out is not None else Path("reports") / survey_id
        targets = {
            "result.json": folder / "result.json",
            "result.csv": folder / "result.csv",
            "report.html": folder / "report.html",
        }
    extra = {"json": json_path, "csv": csv_path, "html": html_path, "pdf": pdf_path}
    targets.update({k: p for k, p in extra.items() if p is not None})
    return targets


def render_outputs(
    targets: dict[str, Path],
    result: dict[str, Any],
    date: str | None,
    trend_doc: dict[str, Any] | None,
) -> dict[Path, str | bytes]:
    """Every output rendered in memory, before any is written."""
    from alignscan.report.tabular import result_to_csv

    rendered: dict[str, str | bytes] = {}

    def html() -> str:
        if "html" not in rendered:
            rendered["html"] = render_report_html(result, date, trend_doc)
        return str(rendered["html"])

    outputs: dict[Path, str | bytes] = {}
    for kind, path in targets.items():
        if kind.endswith("json"):
            content: str | bytes = _json_text(result)
        elif kind.endswith("csv"):
            content = result_to_csv(result)
        elif kind == "pdf":
            content = _pdf_bytes(html())
        else:
            content = html()
        if outputs.get(path, content) != content:
            fail(f"{path} is given for two different outputs; nothing was written", code=2)
        outputs[path] = content
    return outputs


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
    date = report_date_or_exit(date)  # first: numpy reads SOURCE_DATE_EPOCH on import
    if html is None and pdf is None:
        fail("give --html FILE and/or --pdf FILE", code=2)
    from jinja2 import TemplateError

    from alignscan.report.html import render_html

    refuse_clashes([html, pdf], [result_file])
    result = load_result_or_exit(result_file)
    try:
        text = render_html(result, date=date)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as exc:
        fail(f"{result_file} is not a complete alignscan result ({type(exc).__name__})", code=1)
    except TemplateError as exc:  # a value the schema allows but the report can't show
        fail(f"{result_file} is not a complete alignscan result ({exc.message})", code=1)
    outputs: dict[Path, str | bytes] = {}
    if html is not None:
        outputs[html] = text
    if pdf is not None:
        outputs[pdf] = _pdf_bytes(text)
    write_outputs(outputs, [result_file])
    for path in outputs:
        stdout().print(f"wrote {esc(path)}")
