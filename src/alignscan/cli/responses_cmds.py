"""Commands about response files: check, template."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from alignscan.cli import app

if TYPE_CHECKING:
    from alignscan.responses import ResponseSet
from alignscan.cli.output import (
    Format,
    fail,
    load_survey_or_exit,
    print_cell_errors,
    read_responses_or_exit,
    stdout,
)

SURVEY_OPTION = typer.Option(None, "--survey", "-s", help="Survey YAML (default: built-in).")
LENIENT_OPTION = typer.Option(
    False, "--lenient", help="Treat invalid cells as not answered and exclude unplaceable rows."
)
DELIMITER_OPTION = typer.Option(None, "--delimiter", help="CSV delimiter (default: sniffed).")
SHEET_OPTION = typer.Option(None, "--sheet", help="Excel sheet name (default: the first).")
HEADER_ROWS_OPTION = typer.Option(
    None, "--header-rows", min=1, help="Header rows before the data (default: detected)."
)
ENCODING_OPTION = typer.Option(None, "--encoding", help="Text encoding (default: detected).")
ERRORS_OPTION = typer.Option(None, "--errors", help="Write every error to this CSV file.")


def reader_options(
    lenient: bool,
    delimiter: str | None,
    sheet: str | None,
    header_rows: int | None,
    encoding: str | None,
) -> dict[str, Any]:
    if delimiter is not None:
        delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            fail("--delimiter must be one character (use 'tab' for a tab)", code=2)
    return {
        "lenient": lenient,
        "delimiter": delimiter,
        "sheet": sheet,
        "header_rows": header_rows,
        "encoding": encoding,
    }


def write_errors_file(rs: ResponseSet, errors_path: Path | None) -> None:
    from alignscan.responses import write_errors_csv

    if errors_path is None:
        return
    try:
        write_errors_csv(rs.errors, errors_path)
    except OSError as exc:
        fail(f"can't write {errors_path}: {exc.strerror}", code=1)


def exit_if_invalid(rs: ResponseSet, fmt: Format = Format.rich) -> None:
    """For commands that go on to analyse: show what `check` shows and exit 1."""
    if rs.ok:
        return
    if fmt is Format.json:
        typer.echo(json.dumps(check_summary(rs), indent=2, ensure_ascii=False))
    else:
        print_check_summary(check_summary(rs), rs)
        print_cell_errors(rs, fmt)
    raise typer.Exit(1)


def check_summary(rs: ResponseSet) -> dict[str, Any]:
    """What `check` reports, as plain data (group sizes below the minimum hidden)."""
    from alignscan.analysis import check_figures

    figures = check_figures(rs) if rs.ok else None
    rows = figures["rows"] if figures else {
        "read": rs.rows.read,
        "used": rs.rows.used,
        "excluded": rs.rows.excluded_total,
        "excluded_by_reason": rs.rows.excluded,
        "cells_set_missing": rs.cells_set_missing,
    }
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
    epilog="Example:  alignscan check reports/demo/responses.csv --errors errors.csv",
)
def check(
    responses: Path = typer.Argument(..., help="Responses export: .csv or .xlsx."),
    survey: Path | None = SURVEY_OPTION,
    lenient: bool = LENIENT_OPTION,
    format: Format = typer.Option(Format.rich, "--format", "-f", help="Output format."),
    errors: Path | None = ERRORS_OPTION,
    delimiter: str | None = DELIMITER_OPTION,
    sheet: str | None = SHEET_OPTION,
    header_rows: int | None = HEADER_ROWS_OPTION,
    encoding: str | None = ENCODING_OPTION,
) -> None:
    """Validate a responses file against the survey and summarise it.

    Every invalid cell is reported with its spreadsheet row, column, value and reason.
    Exit code 0 when valid, 1 when invalid, 2 for a usage error.
    """
    definition = load_survey_or_exit(survey)
    options = reader_options(lenient, delimiter, sheet, header_rows, encoding)
    rs = read_responses_or_exit(responses, definition, **options)
    write_errors_file(rs, errors)
    summary = check_summary(rs)
    if format is Format.json:
        sys.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    else:
        if format is Format.rich:
            print_check_summary(summary, rs)
        print_cell_errors(rs, format)
    if not rs.ok:
        raise typer.Exit(1)


def print_check_summary(summary: dict[str, Any], rs: ResponseSet) -> None:
    console = stdout()
    console.print(f"[bold]{summary['file']}[/]: {rs.source.describe()}")
    rows = summary["rows"]
    if rows["used"] is None:
        console.print("row totals withheld: they would give a hidden group's size")
    else:
        console.print(
            f"rows read {rows['read']:,} = used {rows['used']:,} + excluded {rows['excluded']:,}"
        )
    for reason, count in rows["excluded_by_reason"].items():
        console.print(f"  excluded: {reason}: {count:,}")
    for reason, count in summary["cells_set_missing"].items():
        console.print(f"  cells treated as not answered: {reason}: {count:,}")
    for warning in summary["warnings"]:
        console.print(f"[yellow]warning:[/] {warning}")
    if summary["valid"]:
        table = Table(title="Respondents per group", header_style="bold")
        table.add_column("group")
        table.add_column("n", justify="right")
        for group, cell in summary["groups"].items():
            n = f"< {cell['below']}" if cell.get("suppressed") else f"{cell['n']:,}"
            table.add_row(group, n)
        console.print(table)
        print_segment_table(summary["segments"], list(summary["groups"]))
        answered = summary["answered_share"]
        items = Table(title="Answered share per item", header_style="bold")
        items.add_column("dimension")
        items.add_column("items")
        for dim in rs.survey.dimensions:
            shares = "  ".join(
                f"{i.id} {'-' if answered[i.id] is None else format(answered[i.id], '.0%')}"
                for i in dim.items
            )
            items.add_row(dim.id, shares)
        console.print(items)
        console.print("[green]✓ valid[/]")
    else:
        if summary["unknown_roles"]:
            values = ", ".join(f"{v!r} ({n})" for v, n in summary["unknown_roles"].items())
            console.print(
                f"[yellow]Role values that match no group:[/] {values}. Add them to "
                "roles.groups in the survey, or set roles.unmatched: ignore."
            )
        console.print(f"[red]✗ {summary['error_count']:,} error(s); nothing analysed[/]")


def print_segment_table(segments: list[dict[str, Any]], groups: list[str]) -> None:
    """Respondents per segment value and group, hidden cells as "< min" (as in the report)."""
    if not segments:
        return
    table = Table(title="Respondents per segment value (hidden cells as in the report)",
                  header_style="bold")
    table.add_column("segment")
    table.add_column("value")
    for group in groups:
        table.add_column(group, justify="right")
    for seg in segments:
        cells = [
            f"< {c['below']}" if c.get("suppressed") else f"{c['n']:,}"
            for c in seg["groups"].values()
        ]
        table.add_row(escape(seg["column"]), escape(seg["value"]), *cells)
    stdout().print(table)


@app.command(epilog="Example:  alignscan template -o responses-template.csv")
def template(
    survey: Path | None = SURVEY_OPTION,
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Where to write the CSV (default: standard output)."
    ),
) -> None:
    """Write a response template: the header row plus one example row."""
    from alignscan.responses import template_rows

    definition = load_survey_or_exit(survey)
    rows = template_rows(definition)
    if output is None:
        csv.writer(sys.stdout).writerows(rows)
        return
    try:
        with output.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
    except OSError as exc:
        fail(f"can't write {output}: {exc.strerror}", code=1)
    stdout().print(f"Wrote {output} ({len(rows[0])} columns).")
