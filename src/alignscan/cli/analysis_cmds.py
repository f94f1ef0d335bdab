"""Commands about the analysis: analyze, report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from alignscan.cli.engine import ENGINE_OPTION, Engine
from alignscan.cli.norms_cmds import HEADCOUNT_OPTION, NORMS_OPTION, print_extras
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
from alignscan.cli.root import app

if TYPE_CHECKING:
    from alignscan.result.models import ResultDocument, TrendDocument


def _pdf_bytes(html: str) -> bytes:
    from alignscan.render.html import PdfUnavailable, render_pdf

    try:
        return render_pdf(html)
    except PdfUnavailable as exc:
        fail(f"--pdf needs WeasyPrint: pip install 'alignscan[pdf]' ({exc})", code=2)


def print_summary(result: ResultDocument) -> None:
    """The terminal summary (drawn by `render.terminal`), then norms and participation."""
    from alignscan.render.terminal import print_summary as draw

    draw(result, stdout())
    print_extras(result)


def render_report_html(
    result: ResultDocument, date: str | None, trend: TrendDocument | None = None
) -> str:
    from alignscan.render.html import render_html

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
    responses: Path = typer.Argument(..., help="Responses export: .csv, .xlsx or .parquet."),
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
    if trim_weights and weight_to is None and definition.weights is None:
        fail("--trim-weights needs --weight-to (or weights: in the survey)", code=2)
    request = _request(responses, definition, engine, options, headcount, norms, baseline)
    request = request.model_copy(
        update={
            "comments": not no_comments,
            "report_date": date,
            "weight_to": weight_to,
            "trim_weights": trim_weights,
        }
    )
    edge = CliEdge(survey, bool(options["builtin"]), errors, inputs, format)
    outcome = run_or_exit(request, edge, format)
    result, trend_doc = outcome.result, outcome.trend
    outputs = render_outputs(targets, result, date, trend_doc, template)
    outputs.update(errors_output(edge.responses, errors))
    write_outputs(outputs, inputs, force=force)
    _print_outcome(result, trend_doc, targets, format)


def _request(
    responses: Path,
    definition: Any,
    engine: Engine,
    options: dict[str, Any],
    headcount: Path | None,
    norms: Path | None,
    baseline: Path | None,
) -> Any:
    """The pipeline's request from the command's options (already checked)."""
    from alignscan.pipeline import AnalysisRequest, ReaderOptions

    reading = {k: v for k, v in options.items() if k in ReaderOptions.model_fields}
    return AnalysisRequest(
        source=responses,
        survey=definition,
        engine=engine.value,
        reader=ReaderOptions(**reading),
        headcount=headcount,
        norms=norms,
        baseline=baseline,
    )


class CliEdge:
    """The pipeline's edge at the command line: a progress bar while reading, and the
    problems shown (as `check` shows them) with exit 1 (2 for a usage error)."""

    def __init__(
        self,
        survey_path: Path | None,
        builtin: bool,
        errors: Path | None,
        inputs: tuple[Path | None, ...],
        fmt: Format,
    ):
        self.survey_path, self.builtin, self.errors = survey_path, builtin, errors
        self.inputs, self.fmt = inputs, fmt
        self.responses: Any = None
        self.lenient = False  # whether the reading was lenient (no --lenient hint then)

    def count(self, request: Any) -> Any:
        options = {**request.reader.kwargs(), "builtin": self.builtin, "engine": request.engine}
        table = count_responses_or_exit(request.source, request.survey, **options)
        self.responses, self.lenient = table.responses, bool(request.reader.lenient)
        assert self.responses is not None  # a table read from a file carries its metadata
        return table

    def refuse_invalid(self, table: Any) -> None:
        if not table.responses.ok:
            write_errors_file(table.responses, self.errors, self.inputs)
            exit_if_invalid(table, self.fmt, self.lenient)

    def baseline(self, request: Any) -> tuple[dict[str, Any], Any]:
        from alignscan.cli.trend_cmds import read_wave

        return read_wave(request.baseline, self.survey_path, request.reader.lenient)

    def cells(self, request: Any, survey: Any, columns: list[str]) -> Any:
        from alignscan.extras.weighting_targets import cells_of_file

        return cells_of_file(request.source, survey, columns, request.reader.kwargs())


def run_or_exit(request: Any, edge: CliEdge, fmt: Format) -> Any:
    """`pipeline.run`; input it can't use is shown and exits 1 (2 for a usage error)."""
    from alignscan.analysis.analysis import AnalysisError
    from alignscan.cli.norms_cmds import print_headcount_errors
    from alignscan.cli.output import with_flag
    from alignscan.errors import AlignscanError
    from alignscan.extras.trend import TrendError
    from alignscan.extras.weighting_targets import WeightingError
    from alignscan.pipeline import HeadcountError, run

    try:
        return run(request, edge)
    except HeadcountError as exc:
        print_headcount_errors(exc.errors, fmt)
        fail(str(exc), code=1)
    except AnalysisError as exc:
        write_errors_file(edge.responses, edge.errors, edge.inputs)
        fail(str(exc), code=1)
    except TrendError as exc:
        fail(with_flag(str(exc)), code=1)
    except WeightingError as exc:  # the targets file, or a privacy refusal of the weights
        print_headcount_errors(exc.errors, fmt)
        fail(
            f"{exc.errors[0].file}: {len(exc.errors)} problem(s) with weighting; nothing was "
            "written",
            code=1,
        )
    except AlignscanError as exc:
        fail(str(exc), code=exc.exit_code)


def _print_outcome(
    result: ResultDocument,
    trend_doc: TrendDocument | None,
    targets: dict[str, Path],
    format: Format,
) -> None:
    """The JSON result, or the terminal summary (with the trend) and the files written."""
    if format is Format.json:
        typer.echo(_json_text(result), nl=False)
        if trend_doc is not None:
            from alignscan.cli.trend_cmds import warn_on_stderr

            warn_on_stderr(trend_doc.warnings)
        return
    print_summary(result)
    if trend_doc is not None:
        from alignscan.cli.trend_cmds import print_trend

        print_trend(trend_doc)
    from alignscan.render.terminal import print_written

    print_written(targets.values(), stdout())


def _json_text(result: ResultDocument) -> str:
    from alignscan.render.tabular import result_to_json

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
    result: ResultDocument,
    date: str | None,
    trend_doc: TrendDocument | None,
    template: bytes | None = None,
) -> dict[Path, str | bytes]:
    """Every output rendered in memory, before any is written."""
    from alignscan.render.tabular import result_to_csv

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


@app.command(
    epilog="Example:  alignscan report reports/demo/result.json --html reports/shared-report.html"
)
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

    from alignscan.render.html import render_html, with_report_extras

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
