"""Commands about response files: check, template."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from alignscan.cli.engine import ENGINE_OPTION, Engine
from alignscan.cli.root import app

if TYPE_CHECKING:
    from alignscan.counting.counts import CountTable
    from alignscan.responses import ResponseSet
from alignscan.cli.options import (
    DELIMITER_OPTION,
    ENCODING_OPTION,
    ERRORS_OPTION,
    FORMAT_OPTION,
    HEADER_ROW_OPTION,
    HEADER_ROWS_OPTION,
    LENIENT_OPTION,
    SHEET_OPTION,
    SURVEY_OPTION,
    reader_options,
)
from alignscan.cli.output import (
    Format,
    count_responses_or_exit,
    fail,
    load_survey_or_exit,
    print_cell_errors,
    refuse_clashes,
    stderr,
    stdout,
    write_outputs,
)
from alignscan.cli.output import _esc as esc


def errors_output(rs: ResponseSet, errors_path: Path | None) -> dict[Path, str | bytes]:
    """The --errors CSV as an output to write (none without --errors)."""
    from alignscan.responses import errors_csv_text

    return {} if errors_path is None else {errors_path: errors_csv_text(rs.errors)}


def write_errors_file(
    rs: ResponseSet, errors_path: Path | None, inputs: tuple[Path | None, ...] = ()
) -> None:
    """Write the --errors CSV and say where (on stderr: stdout may be JSON)."""
    write_outputs(errors_output(rs, errors_path), inputs)
    if errors_path is not None:
        listed = f"{len(rs.errors):,} error(s)" if rs.errors else "an empty error list"
        stderr().print(f"wrote {listed} to {esc(str(errors_path))}")


def refusal(table: CountTable) -> str | None:
    """Why `analyze` would refuse valid responses (the library's rule), or None."""
    from alignscan.analysis.analysis import comparison_refusal

    rs = table.responses
    if rs is None or not rs.ok:
        return None
    reason = comparison_refusal(rs.survey, table.group_sizes())
    return None if reason is None else f"{reason}, so analyze can't compare it"


def exit_if_invalid(table: CountTable, fmt: Format = Format.rich, lenient: bool = False) -> None:
    """For commands that go on to analyse: show what `check` shows, what to do, and exit 1."""
    rs = table.responses
    if rs is None or rs.ok:
        return
    if fmt is Format.json:
        typer.echo(json.dumps(check_summary(table), indent=2, ensure_ascii=False))
    else:
        print_check_summary(check_summary(table), rs)
        print_cell_errors(rs, fmt)
    hint = fix_hint(rs, lenient)
    if hint:
        (stderr() if fmt is Format.json else stdout()).print(hint)
    raise typer.Exit(1)


LENIENT_HINT = "fix these, or re-run with --lenient to exclude and count them"
NOT_LENIENT_HINT = "fix these first: --lenient skips bad cells and rows, not these"


def fix_hint(rs: ResponseSet, lenient: bool) -> str | None:
    """The line after the errors: --lenient only where it would help and was not given;
    none for a file made for another survey (its error says what to do)."""
    from alignscan.responses.kinds import LENIENT_FIXES, ErrorKind
    from alignscan.responses.validation import survey_columns

    kinds = set(rs.error_counts) | {e.kind for e in rs.errors}
    if kinds & {ErrorKind.NO_ITEM_COLUMNS, ErrorKind.WRONG_SURVEY}:
        return None
    read = survey_columns(rs.survey)
    helps = kinds & LENIENT_FIXES or any(
        e.kind == ErrorKind.DUPLICATE_COLUMN and e.column not in read
        for e in rs.errors
    )
    return LENIENT_HINT if helps and not lenient else NOT_LENIENT_HINT


def check_summary(table: CountTable) -> dict[str, Any]:
    """What `check` reports, as plain data (group sizes below the minimum hidden)."""
    from alignscan.analysis.analysis import check_figures

    rs = table.responses
    assert rs is not None  # a table read from a file carries its metadata
    figures = check_figures(table) if rs.ok else None
    rows = (
        figures["rows"]
        if figures
        else {
            "read": rs.rows.read,
            "used": rs.rows.used,
            "excluded": rs.rows.excluded_total,
            "excluded_by_reason": rs.rows.excluded,
            "cells_set_missing": rs.cells_set_missing,
        }
    )
    rows.pop("cells_set_missing")
    return {
        "file": rs.source.file,
        "format": {
            "type": rs.source.format,
            "encoding": rs.source.encoding,
            "delimiter": rs.source.delimiter,
            "header_rows": rs.source.header_rows,
            "export_tool": rs.source.export_tool,
            "sheet": rs.source.sheet,
        },
        "valid": rs.ok,
        "rows": rows,
        "cells_set_missing": rs.cells_set_missing,
        "groups": figures["groups"] if figures else {},
        "segments": figures["segments"] if figures else [],
        "answered_share": figures["answered_share"] if figures else {},
        "warnings": rs.warnings,
        "unknown_roles": rs.unknown_roles,
        "error_count": len(rs.errors) + sum(rs.unlisted_errors.values()),
        "error_counts": rs.error_counts,
        "errors_not_listed": sum(rs.unlisted_errors.values()),
        "errors": [e.as_dict() for e in rs.errors],
    }


@app.command(
    epilog="Example:  alignscan check reports/demo/responses.csv --errors reports/errors.csv",
)
def check(
    responses: Path = typer.Argument(..., help="Responses export: .csv, .xlsx or .parquet."),
    survey: Path | None = SURVEY_OPTION,
    lenient: bool = LENIENT_OPTION,
    format: Format = FORMAT_OPTION,
    errors: Path | None = ERRORS_OPTION,
    delimiter: str | None = DELIMITER_OPTION,
    sheet: str | None = SHEET_OPTION,
    header_rows: int | None = HEADER_ROWS_OPTION,
    header_row: int | None = HEADER_ROW_OPTION,
    encoding: str | None = ENCODING_OPTION,
    engine: Engine = ENGINE_OPTION,
) -> None:
    """Validate a responses file against the survey and summarise it.

    Every invalid cell is reported with its spreadsheet row, column, value and reason.
    Exit code 0 when valid (and `analyze` would run), 1 when invalid or a compared group
    is too small to analyse, 2 for a usage error.
    """
    refuse_clashes([errors], [responses, survey])
    definition = load_survey_or_exit(survey)
    options = reader_options(
        lenient, delimiter, sheet, header_rows, encoding, header_row, survey is None, responses
    )
    options["json_errors"] = format is Format.json
    options["engine"] = engine.value
    table = count_responses_or_exit(responses, definition, **options)
    rs = table.responses
    assert rs is not None  # a table read from a file carries its metadata
    write_errors_file(rs, errors, (responses, survey))
    summary = check_summary(table)
    reason = refusal(table)
    if reason:
        summary["analyze_refuses"] = reason
    if format is Format.json:
        sys.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    else:
        if format is Format.rich:
            print_check_summary(summary, rs)
        print_cell_errors(rs, format)
    if not rs.ok or reason:
        raise typer.Exit(1)


def print_check_summary(summary: dict[str, Any], rs: ResponseSet) -> None:
    console = stdout()
    console.print(f"[bold]{esc(summary['file'])}[/]: {esc(rs.source.describe())}")
    rows = summary["rows"]
    if rows["used"] is None:
        console.print("row totals withheld: they would give a hidden group's size")
    else:
        console.print(
            f"rows read {rows['read']:,} = used {rows['used']:,} + excluded {rows['excluded']:,}"
        )
    for reason, count in rows["excluded_by_reason"].items():
        console.print(f"  excluded: {esc(reason)}: {count:,}")
    for reason, count in summary["cells_set_missing"].items():
        console.print(f"  cells treated as not answered: {esc(reason)}: {count:,}")
    for warning in summary["warnings"]:
        console.print(f"[yellow]warning:[/] {esc(warning)}")
    if summary["valid"]:
        table = Table(title="Respondents per group", header_style="bold")
        table.add_column("group")
        table.add_column("n", justify="right")
        names = display_names(rs, list(summary["groups"]))
        for group, cell in summary["groups"].items():
            n = f"< {cell['below']}" if cell.get("suppressed") else f"{cell['n']:,}"
            table.add_row(esc(names[group]), n)
        console.print(table)
        print_segment_table(summary["segments"], list(summary["groups"]), names)
        answered = summary["answered_share"]
        items = Table(title="Answered share per item", header_style="bold")
        items.add_column("dimension")
        items.add_column("items")
        for dim in rs.survey.dimensions:
            shares = "  ".join(
                f"{i.id} {'-' if answered[i.id] is None else format(answered[i.id], '.0%')}"
                for i in dim.items
            )
            items.add_row(esc(dim.id), esc(shares))
        console.print(items)
        if summary.get("analyze_refuses"):
            refused = esc(summary["analyze_refuses"])
            console.print(f"[red]✗ valid, but analyze would refuse: {refused}[/]")
        else:
            console.print("[green]✓ valid[/]")
    else:
        if summary["unknown_roles"]:
            values = ", ".join(f"{v!r} ({n})" for v, n in summary["unknown_roles"].items())
            console.print(
                f"[yellow]Role values that match no group:[/] {esc(values)}. Add them to "
                "roles.groups in the survey, or set roles.unmatched: ignore."
            )
        console.print(f"[red]✗ {summary['error_count']:,} error(s); nothing analysed[/]")


def display_names(rs: ResponseSet, groups: list[str]) -> dict[str, str]:
    """Group id -> its display name (the survey's roles.labels, else the default)."""
    from alignscan.result.findings import default_label

    labels = dict(rs.survey.roles.labels or {})
    return {g: labels.get(g) or default_label(g) for g in groups}


def print_segment_table(
    segments: list[dict[str, Any]], groups: list[str], names: dict[str, str] | None = None
) -> None:
    """Respondents per segment value and group, hidden cells as "< min" (as in the report);
    columns named by the groups' display `names`."""
    if not segments:
        return
    table = Table(
        title="Respondents per segment value (hidden cells as in the report)", header_style="bold"
    )
    table.add_column("segment")
    table.add_column("value")
    for group in groups:
        table.add_column(esc((names or {}).get(group, group)), justify="right")
    for seg in segments:
        cells = [
            f"< {c['below']}" if c.get("suppressed") else f"{c['n']:,}"
            for c in seg["groups"].values()
        ]
        table.add_row(escape(seg["column"]), escape(seg["value"]), *cells)
    stdout().print(table)


def _template_is_xlsx(output: Path | None, xlsx: bool) -> bool:
    """Whether to write a workbook: --xlsx, or an output named .xlsx. An output named for
    another format is refused (exit 2) rather than given a CSV under a wrong name."""
    suffix = output.suffix.lower() if output is not None else ""
    if xlsx and output is None:
        fail("--xlsx needs --output FILE.xlsx", code=2)
    if xlsx and suffix != ".xlsx":
        fail(f"--xlsx writes an Excel workbook: name the output .xlsx, not {output}", code=2)
    if suffix in (".xls", ".xlsm", ".xlsb", ".ods", ".parquet", ".json", ".yaml", ".yml"):
        fail(f"the template is written as .csv or .xlsx, not {suffix}: rename {output}", code=2)
    return xlsx or suffix == ".xlsx"


@app.command(epilog="Example:  alignscan template -o reports/responses-template.csv")
def template(
    survey: Path | None = SURVEY_OPTION,
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Where to write the template (default: standard output)."
    ),
    xlsx: bool = typer.Option(
        False,
        "--xlsx",
        help="Write an Excel workbook with a drop-down of the answers per item (the default "
        "for an --output named .xlsx).",
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing output file."),
) -> None:
    """Write a response template: the header row plus a row with each question's text.

    The template holds no example answers, so an unfilled template is never analysed.
    """
    from alignscan.responses import template_rows
    from alignscan.textsafe import csv_text

    refuse_clashes([output], [survey])
    xlsx = _template_is_xlsx(output, xlsx)
    if output is not None and output.exists() and not force:
        fail(f"{output} already exists; use --force to replace it", code=1)
    definition = load_survey_or_exit(survey)
    rows = template_rows(definition)
    if xlsx:
        from alignscan.cli.template_xlsx import template_workbook

        content: str | bytes = template_workbook(definition, rows)
    else:
        content = csv_text(rows)
    if output is None:
        sys.stdout.write(str(content))
        return
    write_outputs({output: content}, [survey], force=force)
    stdout().print(f"Wrote {esc(output)} ({len(rows[0])} columns).")
