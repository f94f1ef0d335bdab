"""Commands about the analysis: analyze, report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from alignscan.cli import app
from alignscan.cli.engine import ENGINE_OPTION, Engine
from alignscan.cli.norms_cmds import HEADCOUNT_OPTION, NORMS_OPTION, add_extras, print_extras
from alignscan.cli.office import (
    PPTX_OPTION,
    PPTX_TEMPLATE_OPTION,
    XLSX_OPTION,
    office_bytes,
    office_targets,
    read_template,
)
from alignscan.cli.options import (
    DELIMITER_OPTION,
    ENCODING_OPTION,
    ERRORS_OPTION,
    HEADER_ROW_OPTION,
    HEADER_ROWS_OPTION,
    LENIENT_OPTION,
    SHEET_OPTION,
    SURVEY_OPTION,
    no_github_format,
    reader_options,
)
from alignscan.cli.output import (
    Format,
    count_responses_or_exit,
    fail,
    load_result_or_exit,
    load_survey_or_exit,
    refuse_clashes,
    refuse_foreign,
    report_date_or_exit,
    stdout,
    write_outputs,
)
from alignscan.cli.output import _esc as esc
from alignscan.cli.responses_cmds import errors_output, exit_if_invalid, write_errors_file


def _pdf_bytes(html: str) -> bytes:
    from alignscan.report.html import PdfUnavailable, render_pdf

    try:
        return render_pdf(html)
    except PdfUnavailable as exc:
        fail(f"--pdf needs WeasyPrint: pip install 'alignscan[pdf]' ({exc})", code=2)


def print_summary(result: dict[str, Any]) -> None:
    """The terminal summary (drawn by `report.terminal`), then norms and participation."""
    from alignscan.report.terminal import print_summary as draw

    draw(result, stdout())
    print_extras(result)


def render_report_html(
    result: dict[str, Any], date: str | None, trend: dict[str, Any] | None = None
) -> str:
    from alignscan.report.html import render_html

    return render_html(result, date=date, trend=trend)


OUT_OPTION = typer.Option(
    None,
    "--out",
    "-o",
    help="Folder for result.json, result.csv and report.html "
    "(default: reports/<responses file name>/).",
)
FORCE_OPTION = typer.Option(
    False,
    "--force",
    help="Replace files alignscan did not write, or results of another responses file.",
)
NO_COMMENTS_OPTION = typer.Option(
    False,
    "--no-comments",
    help="Leave comment texts out of every output (their counts stay), e.g. to pass "
    "result.json on.",
)
JSON_OPTION = typer.Option(None, "--json", help="Also write the result JSON here.")
CSV_OPTION = typer.Option(None, "--csv", help="Also write the tidy CSV here.")
HTML_OPTION = typer.Option(None, "--html", help="Also write the HTML report here.")
PDF_OPTION = typer.Option(
    None, "--pdf", help="Also write the report as PDF (needs the `pdf` extra: WeasyPrint)."
)
NO_SAVE_OPTION = typer.Option(
    False, "--no-save", help="Only print the summary; write no files unless asked."
)
DATE_OPTION = typer.Option(
    None, "--date", help="Report date to print (default: SOURCE_DATE_EPOCH, else none)."
)
WEIGHT_TO_OPTION = typer.Option(
    None,
    "--weight-to",
    help="CSV of headcounts (group, headcount, segment columns): weight each compared group "
    "to them (post-stratification; raking when rows give separate margins).",
)
TRIM_WEIGHTS_OPTION = typer.Option(
    False, "--trim-weights", help="With --weight-to: cap weights at 5x the group's mean weight."
)
BASELINE_OPTION = typer.Option(
    None,
    "--baseline",
    help="An earlier wave (responses or result.json): adds the trend to the report.",
)


@app.command(
    epilog=(
        "Example:  alignscan analyze reports/demo/responses.csv --out reports/acme "
        "(writes result.json, result.csv and report.html)"
    ),
)
def analyze(
    responses: Path = typer.Argument(..., help="Responses export: .csv or .xlsx."),
    survey: Path | None = SURVEY_OPTION,
    out: Path | None = OUT_OPTION,
    force: bool = FORCE_OPTION,
    no_comments: bool = NO_COMMENTS_OPTION,
    json_path: Path | None = JSON_OPTION,
    csv_path: Path | None = CSV_OPTION,
    html_path: Path | None = HTML_OPTION,
    pdf_path: Path | None = PDF_OPTION,
    xlsx_path: Path | None = XLSX_OPTION,
    pptx_path: Path | None = PPTX_OPTION,
    pptx_template: Path | None = PPTX_TEMPLATE_OPTION,
    no_save: bool = NO_SAVE_OPTION,
    date: str | None = DATE_OPTION,
    baseline: Path | None = BASELINE_OPTION,
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
    weight_to: Path | None = WEIGHT_TO_OPTION,
    trim_weights: bool = TRIM_WEIGHTS_OPTION,
) -> None:
    """Analyse the gap between the compared groups: items, dimensions, segments.

    Exit code 0 on success, 1 for invalid input (including a compared group smaller than
    the survey's minimum group size), 2 for a usage error.
    """
    date = report_date_or_exit(date)  # first: numpy reads SOURCE_DATE_EPOCH on import
    no_github_format(format, "analyze")
    definition = load_survey_or_exit(survey)
    targets = _targets(responses, out, no_save, json_path, csv_path, html_path, pdf_path)
    targets.update(office_targets(xlsx_path, pptx_path))
    inputs = (responses, survey, baseline, headcount, norms, weight_to, pptx_template)
    refuse_clashes([*targets.values(), errors], inputs)
    if not force:
        refuse_other_results(targets, responses)
    template = read_template(pptx_template, pptx_path)
    options = reader_options(
        lenient, delimiter, sheet, header_rows, encoding, header_row, survey is None, responses
    )
    options["engine"] = engine.value
    table = count_responses_or_exit(responses, definition, **options)  # loads the analysis
    from alignscan.analysis import AnalysisError, analyze_counts

    rs = table.responses
    assert rs is not None  # a table read from a file carries its metadata
    if not rs.ok:
        write_errors_file(rs, errors, inputs)
        exit_if_invalid(table, format)
    weighting = _weighting_or_exit(
        weight_to, trim_weights, definition, table, responses, options, format
    )
    try:
        result = analyze_counts(table, weighting=weighting)
    except AnalysisError as exc:
        write_errors_file(rs, errors, inputs)
        fail(str(exc), code=1)
    except ValueError as exc:  # WeightingError: a privacy refusal found with the analysis
        _weighting_failed(exc, format)
    result = add_extras(result, table, headcount, norms, format)
    if no_comments:
        from alignscan.api import without_comment_texts

        result = without_comment_texts(result)
    trend_doc = _baseline_trend(baseline, survey, lenient, result, rs)
    from alignscan.report.html import with_report_extras

    result = with_report_extras(result, trend_doc, date)  # `report result.json` redraws it
    outputs = render_outputs(targets, result, date, trend_doc, template)
    outputs.update(errors_output(rs, errors))
    write_outputs(outputs, inputs, force=force)
    _print_outcome(result, trend_doc, targets, format)


def _weighting_or_exit(
    path: Path | None, trim: bool, survey: Any, table: Any, responses: Path,
    options: dict[str, Any], format: Format,
) -> Any:
    """The weighting of `--weight-to` (or the survey's `weights:`), None without one;
    exit 1 with every problem of the file, 2 when it is missing."""
    if path is None and survey.weights is not None:
        path, trim = Path(survey.weights.headcount), trim or survey.weights.trim
    if path is None:
        if trim:
            fail("--trim-weights needs --weight-to (or weights: in the survey)", code=2)
        return None
    if not path.exists():
        fail(f"no such file: {path}", code=2)
    from alignscan.weighting import Weighting, WeightingError, cells_of_file, read_targets

    values = {c: sorted({str(v) for v in table.atoms[c]}) for c in survey.segments}
    try:
        targets = read_targets(path, survey, values)
    except WeightingError as exc:
        _weighting_failed(exc, format)
    cells = cells_of_file(responses, survey, targets.columns(), options)
    return Weighting(targets, cells, trim)


def _weighting_failed(exc: Exception, format: Format) -> None:
    from alignscan.cli.norms_cmds import _print_cell_errors
    from alignscan.weighting import WeightingError

    if not isinstance(exc, WeightingError):
        raise exc
    _print_cell_errors(exc.errors, format)
    fail(f"{exc.errors[0].file}: {len(exc.errors)} problem(s) with weighting; nothing was "
         "written", code=1)


def _baseline_trend(
    baseline: Path | None, survey: Path | None, lenient: bool, result: dict[str, Any], rs: Any
) -> dict[str, Any] | None:
    """The trend from `--baseline` to this wave (None without a baseline)."""
    if baseline is None:
        return None
    from alignscan.cli.trend_cmds import (
        read_wave,
        shared_ids,
        trend_or_exit,
        warn_incomparable_waves,
    )

    before, before_ids = read_wave(baseline, survey, lenient)
    warn_incomparable_waves([before, result], ["baseline", "this wave"])
    return trend_or_exit(
        [before, result],
        ["baseline", "this wave"],
        shared=shared_ids([before_ids, rs.respondent_ids]),
    )


def _print_outcome(
    result: dict[str, Any],
    trend_doc: dict[str, Any] | None,
    targets: dict[str, Path],
    format: Format,
) -> None:
    """The JSON result, or the terminal summary (with the trend) and the files written."""
    if format is Format.json:
        typer.echo(_json_text(result), nl=False)
        return
    print_summary(result)
    if trend_doc is not None:
        from alignscan.cli.trend_cmds import print_trend

        print_trend(trend_doc)
    from alignscan.report.terminal import print_written

    print_written(targets.values(), stdout())


def _json_text(result: dict[str, Any]) -> str:
    from alignscan.report.tabular import result_to_json

    return result_to_json(result)


def refuse_other_results(targets: dict[str, Path], responses: Path) -> None:
    """Exit 2 rather than replace, in the output folder, the results of another file, or
    any file alignscan did not write."""
    refuse_foreign(targets.values(), force=False)
    if "result.json" not in targets:
        return
    from alignscan.api import saved_source

    folder = targets["result.json"].parent
    found = saved_source(folder)
    if found is None or found == responses.name:
        return
    what = f"results of {found}" if found else "a result.json alignscan can't read"
    fail(
        f"{folder} holds {what}, not of {responses.name}: give another folder with --out, "
        "or --force to replace them",
        code=2,
    )


def _targets(
    responses: Path,
    out: Path | None,
    no_save: bool,
    json_path: Path | None,
    csv_path: Path | None,
    html_path: Path | None,
    pdf_path: Path | None,
) -> dict[str, Path]:
    """Every file analyze will write, by kind (known before anything is read)."""
    from alignscan.atomic import safe_folder_name

    targets: dict[str, Path] = {}
    if not no_save or out is not None:
        folder = out if out is not None else Path("reports") / safe_folder_name(responses.stem)
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
    template: bytes | None = None,
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
        elif kind in ("xlsx", "pptx"):
            content = office_bytes(kind, result, template)
        else:
            content = html()
        if outputs.get(path, content) != content:
            fail(f"{path} is given for two different outputs; nothing was written", code=2)
        outputs[path] = content
    return outputs


@app.command(epilog="Example:  alignscan report reports/demo/result.json --html report.html")
def report(
    result_file: Path = typer.Argument(..., help="A result.json written by `alignscan analyze`."),
    html: Path | None = typer.Option(
        None, "--html", help="Where to write the HTML report (default: report.html next to it)."
    ),
    pdf: Path | None = typer.Option(
        None, "--pdf", help="Where to write the report as PDF (needs the `pdf` extra)."
    ),
    date: str | None = typer.Option(
        None, "--date", help="Report date to print (default: SOURCE_DATE_EPOCH, else none)."
    ),
    xlsx: Path | None = XLSX_OPTION,
    pptx: Path | None = PPTX_OPTION,
    pptx_template: Path | None = PPTX_TEMPLATE_OPTION,
) -> None:
    """Re-render the report (HTML, PDF, deck, workbook) from a saved result, without the
    raw responses."""
    date = report_date_or_exit(date)  # first: numpy reads SOURCE_DATE_EPOCH on import
    if html is None and pdf is None and xlsx is None and pptx is None:
        html = result_file.parent / "report.html"  # next to the result; "wrote ..." says so
    from jinja2 import TemplateError

    from alignscan.report.html import render_html, with_report_extras

    refuse_clashes([html, pdf, xlsx, pptx], [result_file, pptx_template])
    template = read_template(pptx_template, pptx)
    result = load_result_or_exit(result_file)
    office: dict[Path, str | bytes] = {}
    try:
        text = render_html(result, date=date) if html or pdf else ""
        dated = with_report_extras(result, None, date)
        for kind, path in office_targets(xlsx, pptx).items():
            office[path] = office_bytes(kind, dated, template)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as exc:
        fail(f"{result_file} is not a complete alignscan result ({type(exc).__name__})", code=1)
    except TemplateError as exc:  # a value the schema allows but the report can't show
        fail(f"{result_file} is not a complete alignscan result ({exc.message})", code=1)
    outputs: dict[Path, str | bytes] = {}
    if html is not None:
        outputs[html] = text
    if pdf is not None:
        outputs[pdf] = _pdf_bytes(text)
    outputs.update(office)
    write_outputs(outputs, [result_file, pptx_template])
    for path in outputs:
        stdout().print(f"wrote {esc(path)}")
