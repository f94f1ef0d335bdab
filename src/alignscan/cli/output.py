"""Rendering helpers shared by the commands: consoles and the problem formats."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table

from alignscan.survey import Problem


class Format(StrEnum):
    rich = "rich"
    json = "json"
    github = "github"


def stdout() -> Console:
    return Console(highlight=False, soft_wrap=False)


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> None:
    """Print a one-line error to stderr and exit with `code` (1 invalid input, 2 usage)."""
    import typer

    stderr().print(f"[bold red]error:[/] {message}", markup=True)
    raise typer.Exit(code)


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def print_problems(problems: list[Problem], fmt: Format, files_checked: int) -> None:
    if fmt is Format.json:
        sys.stdout.write(json.dumps([p.as_dict() for p in problems], indent=2) + "\n")
        return
    if fmt is Format.github:
        for p in problems:
            level = "error" if p.severity == "error" else "warning"
            props = f"file={_gh_escape(p.file, True)}"
            if p.line:
                props += f",line={p.line}"
            if p.column:
                props += f",col={p.column}"
            where = f"{p.path}: " if p.path else ""
            sys.stdout.write(f"::{level} {props}::{_gh_escape(where + p.message)}\n")
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
                f"{p.file}:{p.line}:{p.column}", p.path or "-", f"[{colour}]{_esc(p.message)}[/]"
            )
        console.print(table)
    bad_files = len({p.file for p in errors})
    if errors:
        console.print(f"[red]✗ {len(errors)} error(s) in {bad_files} of {files_checked} file(s)[/]")
    else:
        warn = len(problems)
        extra = f" ({warn} warning(s))" if warn else ""
        console.print(f"[green]✓ {files_checked} survey file(s) valid{extra}[/]")


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
