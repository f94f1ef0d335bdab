"""The options several commands share, defined once: survey, reading, output format.

A command declares `survey: Path | None = SURVEY_OPTION` and so on; `reader_options`
turns the reading options into the keyword arguments of `read_responses`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from alignscan.cli.output import Format, fail

SURVEY_OPTION = typer.Option(None, "--survey", "-s", help="Survey YAML (default: built-in).")
LENIENT_OPTION = typer.Option(
    False, "--lenient", help="Treat invalid cells as not answered and exclude unplaceable rows."
)
DELIMITER_OPTION = typer.Option(None, "--delimiter", help="CSV delimiter (default: sniffed).")
SHEET_OPTION = typer.Option(None, "--sheet", help="Excel sheet name (default: the first).")
HEADER_ROW_OPTION = typer.Option(
    None,
    "--header-row",
    min=1,
    help="Spreadsheet row of the column names, for exports with title rows above them "
    "(default: 1). Extra header rows below it (Qualtrics, SurveyMonkey) are detected.",
)
# The one documented name is --header-row; --header-rows (how many header rows, counting
# from the first: the override of the detection) is kept, hidden, for existing scripts.
HEADER_ROWS_OPTION = typer.Option(
    None, "--header-rows", min=1, hidden=True, help="Header rows before the data."
)
ENCODING_OPTION = typer.Option(
    None, "--encoding", help="Text encoding, e.g. utf-8, cp1252, utf-16 (default: detected)."
)
ERRORS_OPTION = typer.Option(None, "--errors", help="Write every error to this CSV file.")
FORMAT_OPTION = typer.Option(Format.rich, "--format", "-f", help="Output format.")


def reader_options(
    lenient: bool,
    delimiter: str | None,
    sheet: str | None,
    header_rows: int | None,
    encoding: str | None,
    header_row: int | None = None,
    builtin: bool = False,
    path: Path | None = None,
) -> dict[str, Any]:
    """Keyword arguments for `read_responses`; options that can't apply exit 2."""
    if delimiter is not None:
        delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            fail("--delimiter must be one character (use 'tab' for a tab)", code=2)
    if sheet is not None and path is not None and path.suffix.lower() != ".xlsx":
        fail(f"--sheet is for Excel workbooks (.xlsx); {path} is not one", code=2)
    return {
        "lenient": lenient,
        "delimiter": delimiter,
        "sheet": sheet,
        "header_rows": header_rows,
        "encoding": encoding,
        "header_row": header_row,
        "builtin": builtin,
    }


def no_github_format(fmt: Format, command: str) -> None:
    """`--format github` (CI annotations) only means something for per-line problems."""
    if fmt is Format.github:
        fail(
            f"--format github is not supported by {command} (it prints CI annotations for "
            "validate and check); use rich or json",
            code=2,
        )
