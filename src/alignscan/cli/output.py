"""Rendering helpers shared by the commands: consoles and the problem formats."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from rich.console import Console
from rich.table import Table

from alignscan.survey import Problem, Survey

if TYPE_CHECKING:  # the responses module pulls in pyarrow: only import it when used
    from alignscan.counting.counts import CountTable
    from alignscan.responses import ResponseSet
    from alignscan.result.models import ResultDocument


class Format(StrEnum):
    rich = "rich"
    json = "json"
    github = "github"


def stdout() -> Console:
    return Console(highlight=False, soft_wrap=False, emoji=False)


def stderr() -> Console:
    """Messages to stderr, never hard-wrapped: a path or value in an error stays on one line
    whatever the terminal's width (a pipe, a CI log, `COLUMNS=60`), so it can be copied and
    searched for."""
    return Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error to stderr and exit with `code` (1 invalid input, 2 usage)."""
    import typer

    stderr().print(f"[bold red]error:[/] {_esc(message)}", markup=True)
    raise typer.Exit(code)


def refuse_clashes(outputs: Iterable[Path | None], inputs: Iterable[Path | None]) -> None:
    """Exit 2, before anything is read or written, when an output is an input file."""
    from alignscan.atomic import OutputClash, check_outputs

    try:
        check_outputs([p for p in outputs if p is not None], inputs)
    except OutputClash as exc:
        fail(str(exc), code=2)


def refuse_foreign(outputs: Iterable[Path | None], force: bool | None = None) -> None:
    """Exit 2 rather than replace a file alignscan did not write (`force` True allows it;
    None: the command has no --force)."""
    from alignscan.atomic import foreign_files

    if force:
        return
    found = foreign_files([p for p in outputs if p is not None])
    if found:
        how = "use --force to replace it, " if force is False else ""
        fail(
            f"{found[0]} exists and was not written by alignscan: {how}delete it, or choose "
            "another output path (nothing was written)",
            code=2,
        )


def write_outputs(
    outputs: dict[Path, str | bytes],
    inputs: Iterable[Path | None] = (),
    force: bool | None = None,
) -> None:
    """Write a set of rendered outputs all-or-nothing (see alignscan.atomic), never over a
    file alignscan did not write unless `force`."""
    from alignscan.atomic import OutputClash, WriteFailed, write_all

    refuse_foreign(outputs, force)
    try:
        write_all(outputs, inputs)
    except OutputClash as exc:
        fail(str(exc), code=2)
    except WriteFailed as exc:
        fail(str(exc.strerror), code=1)


def report_date_or_exit(date: str | None) -> str | None:
    """The report date (--date, else SOURCE_DATE_EPOCH); a bad SOURCE_DATE_EPOCH exits 2."""
    import datetime as dt
    import os

    if date:
        return date
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return None
    try:
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date().isoformat()
    except (ValueError, OverflowError, OSError):
        shown = epoch if len(epoch) <= 40 else epoch[:37] + "..."
        fail(
            f"SOURCE_DATE_EPOCH={shown} is not a date: give whole seconds since 1970 "
            "(for example 1767225600), or unset it",
            code=2,
        )


def _gh_escape(text: str, prop: bool = False) -> str:
    from alignscan.textsafe import strip_controls

    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    text = strip_controls(text)  # no terminal escapes in CI logs either
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _annotate(level: str, file: str, line: int | None, col: int | None, message: str) -> None:
    """One GitHub Actions workflow command: ::error file=F,line=L,col=C::message"""
    props = f"file={_gh_escape(file, True)}"
    if line:
        props += f",line={line}"
    if col:
        props += f",col={col}"
    sys.stdout.write(f"::{level} {props}::{_gh_escape(message)}\n")


def print_problems(problems: list[Problem], fmt: Format, files_checked: int) -> None:
    if fmt is Format.json:
        sys.stdout.write(json.dumps([p.as_dict() for p in problems], indent=2) + "\n")
        return
    if fmt is Format.github:
        for p in problems:
            where = f"{p.path}: " if p.path else ""
            _annotate(p.severity, p.file, p.line, p.column, where + p.message)
        return
    console = stdout()
    errors = [p for p in problems if p.severity == "error"]
    if problems:
        table = Table(show_lines=False, header_style="bold")
        table.add_column("file:line:col", overflow="fold")
        table.add_column("field", overflow="fold")
        table.add_column("problem", overflow="fold")
        for p in problems:
            colour = "red" if p.severity == "error" else "yellow"
            table.add_row(
                _esc(f"{p.file}:{p.line}:{p.column}"),
                _esc(p.path or "-"),
                f"[{colour}]{_esc(p.message)}[/]",
            )
        console.print(table)
    bad_files = len({p.file for p in errors})
    if errors:
        console.print(f"[red]✗ {len(errors)} error(s) in {bad_files} of {files_checked} file(s)[/]")
    else:
        warn = len(problems)
        extra = f" ({warn} warning(s))" if warn else ""
        console.print(f"[green]✓ {files_checked} survey file(s) valid{extra}[/]")


def _esc(text: object) -> str:
    """Untrusted text made inert for rich and the terminal (markup, escapes, bidi)."""
    from alignscan.textsafe import terminal

    return terminal(text)


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def load_survey_or_exit(path: Path | None) -> Survey:
    """The survey at `path` (or the built-in one); print its problems and exit 1 if invalid."""
    import typer

    from alignscan.survey import builtin_survey_result, read_survey_file

    if path is not None and not path.exists():
        fail(f"survey file not found: {path}", code=2)
    result = read_survey_file(path) if path is not None else builtin_survey_result()
    if not result.ok:
        stderr().print("[bold red]The survey definition is invalid:[/]")
        print_problems([p for p in result.problems if p.severity == "error"], Format.rich, 1)
        raise typer.Exit(1)
    assert result.survey is not None
    return result.survey


_FLAG_HINTS = (
    (re.compile(r"give (?:its|the) encoding"), "--encoding"),
    (re.compile(r"set the header row to (\d+)"), "--header-row {0}"),
    (re.compile(r"name a sheet to read another"), "--sheet"),
    (re.compile(r"compare favorable shares only"), "--favorable-only"),
)


SURVEY_HINT = "Give the survey definition it was made for"


def with_flag(reason: str) -> str:
    """A library message with the command-line option that does what it asks for."""
    reason = reason.replace(SURVEY_HINT, f"{SURVEY_HINT} with --survey FILE")
    for pattern, flag in _FLAG_HINTS:
        match = pattern.search(reason)
        if match:
            return f"{reason} [{flag.format(*match.groups())}]"
    return reason


def count_responses_or_exit(path: Path, survey: Survey, **options: Any) -> CountTable:
    """Read and count responses with the chosen engine (`engines.count_file`); the same
    exits as any reading (2 for a missing file, 1 for one it can't read). The table's
    `responses` holds the errors."""
    from alignscan.counting.engines import count_file

    table: CountTable = _read_or_exit(count_file, path, survey, **options)
    return table


def _read_or_exit(reader: Any, path: Path, survey: Survey, **options: Any) -> Any:
    from alignscan.cli.progress import progress_bar
    from alignscan.responses import ResponsesError

    builtin = options.pop("builtin", False)
    if not path.exists():
        fail(f"no such file: {path}", code=2)
    if path.is_dir():  # a usage error, like a missing file (it was exit 1)
        fail(f"{path} is a folder: give a responses file (.csv, .xlsx or .parquet)", code=2)
    if path.suffix.lower() in (".yaml", ".yml"):
        fail(
            f"{path} is a survey definition, not a responses file: give the responses "
            f"(.csv or .xlsx) as the argument and the survey with --survey {path}",
            code=2,
        )
    json_errors = options.pop("json_errors", False)
    try:
        with progress_bar(path) as progress:
            out = reader(path, survey, progress=progress, **options)
    except ResponsesError as exc:
        e = exc.error
        if json_errors:  # a JSON consumer still gets a parseable answer
            doc = {"file": e.file, "valid": False, "error_count": 1, "errors": [e.as_dict()]}
            sys.stdout.write(dump_json(doc))
        where = f" (row {e.row})" if e.row else ""
        fail(f"{e.file}{where}: {with_flag(e.reason)}", code=1)
    rs = getattr(out, "responses", out)  # a CountTable carries the reading's metadata
    rows = options.get("header_rows")
    if rows and rs.rows.read == 0:
        fail(f"--header-rows {rows} leaves no responses in {path}: it has no more rows", code=2)
    if builtin:
        rs.errors = [_builtin_note(e) for e in rs.errors]
    return out


def _builtin_note(error: Any) -> Any:
    """Say that the built-in survey was used when the file doesn't match its items."""
    import dataclasses

    if error.kind not in ("no_item_columns", "wrong_survey"):
        return error
    note = f"No --survey was given, so the built-in survey was used. {SURVEY_HINT}"
    return dataclasses.replace(error, reason=error.reason.replace(SURVEY_HINT, note))


def print_cell_errors(rs: ResponseSet, fmt: Format, limit: int = 20) -> None:
    """The first `limit` errors as a table, then counts by reason (people), or all as JSON."""
    from collections import Counter

    errors = rs.errors
    if fmt is Format.json or not errors:
        return
    if fmt is Format.github:
        for e in errors:
            col = f"{e.column}: " if e.column else ""
            _annotate("error", e.file, e.row, None, col + with_flag(e.reason))
        return
    console = stdout()
    table = Table(title=f"{len(errors)} problem(s) in {_esc(rs.source.file)}", header_style="bold")
    table.add_column("row", justify="right")
    table.add_column("column", overflow="fold")
    table.add_column("value", overflow="fold")
    table.add_column("reason", overflow="fold")
    for e in errors[:limit]:
        table.add_row(
            str(e.row) if e.row else "-",
            _esc(e.column or "-"),
            _esc(repr(e.value) if e.value is not None else "-"),
            _esc(with_flag(e.reason)),
        )
    console.print(table)
    total = len(errors) + sum(rs.unlisted_errors.values())
    if total > limit:
        console.print(f"... and {total - limit:,} more. Counts by reason:")
        counts = Counter(rs.error_counts or Counter(e.kind for e in errors))
        for kind, count in counts.most_common():
            console.print(f"  {_esc(kind.replace('_', ' '))}: {count:,}")
    if any(rs.unlisted_errors.values()):
        console.print(
            f"(the first {len(errors):,} errors are listed, and written by --errors; "
            "the rest are counted above)"
        )


def load_result_or_exit(path: Path) -> ResultDocument:
    """A saved result.json, validated by the library (`alignscan.api.load_result`);
    exit 2 if missing, 1 if it is not a readable, valid alignscan result."""
    from alignscan.api import AlignscanError, load_result

    if not path.exists():
        fail(f"no such file: {path}", code=2)
    try:
        return load_result(path).model
    except AlignscanError as exc:
        fail(str(exc), code=1)
