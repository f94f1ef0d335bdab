"""Participation and norms at the command line: `alignscan norms build|schema`, and the
`--headcount` / `--norms` options of `analyze` and their terminal output (the pipeline
attaches them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from alignscan.cli.output import (
    Format,
    _esc,
    dump_json,
    fail,
    load_result_or_exit,
    stderr,
    stdout,
    write_outputs,
)
from alignscan.cli.root import app
from alignscan.responses import CellError

norms_app = typer.Typer(
    help="Benchmarks across organisations: pool saved results into norms.",
    no_args_is_help=True,
)
app.add_typer(norms_app, name="norms")

HEADCOUNT_OPTION = typer.Option(
    None,
    "--headcount",
    help="CSV of the population per group (columns group, headcount, optional segment columns).",
)
NORMS_OPTION = typer.Option(
    None, "--norms", help="A norms.json from `alignscan norms build`: adds benchmarks."
)

if TYPE_CHECKING:
    from alignscan.result.models import Participation, ResultDocument, Weighting


@norms_app.command(
    "build",
    epilog=(
        "Example:  alignscan norms build reports/demo/clients/*/result.json "
        "-o reports/norms.json"
    ),
)
def build(
    results: list[Path] = typer.Argument(
        ..., help="Saved result.json files, one per organisation."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the norms JSON."),
    reference: Path | None = typer.Option(
        None, "--reference", help="YAML with published reference figures (a `references:` list)."
    ),
) -> None:
    """Pool several organisations' results into norms (percentiles per dimension and item).

    At least 5 organisations are needed, with the same survey id, scale and compared
    groups; an entry is published only when 5 of them have it. Exit 1 otherwise.
    """
    from alignscan.extras.norms import NormsError, Source, build_norms, parse_references

    inputs = {p.resolve() for p in [*results, *([reference] if reference else [])] if p.exists()}
    if output.resolve() in inputs:
        fail(f"{output} is an input file; write the norms somewhere else", code=2)
    if reference is not None and not reference.exists():
        fail(f"no such file: {reference}", code=2)
    sources = [Source(str(p), load_result_or_exit(p)) for p in results]
    refs: list[dict[str, Any]] = []
    if reference is not None:
        from alignscan.cli.output import print_problems

        refs, problems = parse_references(reference.read_text("utf-8"), str(reference), sources)
        if problems:
            print_problems(problems, Format.rich, 1)
            raise typer.Exit(1)
    try:
        norms = build_norms(sources, refs)
    except NormsError as exc:
        for problem in exc.problems:
            stderr().print(f"[bold red]error:[/] {_esc(problem)}")
        raise typer.Exit(1) from None
    write_outputs({output: dump_json(norms)}, [*results, reference])
    stdout().print(
        f"wrote {output}: {norms['orgs']} organisations; {len(norms['dimensions'])} dimensions "
        f"and {len(norms['items'])} items have at least {norms['min_orgs']} of them"
    )


@norms_app.command(
    "schema", epilog="Example:  alignscan norms schema > reports/norms.schema.json"
)
def schema() -> None:
    """Print the JSON Schema of the norms document (committed as docs/norms.schema.json)."""
    from alignscan.extras.norms import norms_json_schema

    typer.echo(dump_json(norms_json_schema()), nl=False)


def print_headcount_errors(errors: list[CellError], fmt: Format) -> None:
    if fmt is Format.json:
        typer.echo(dump_json({"errors": [e.as_dict() for e in errors]}), nl=False)
        return
    table = Table(title=f"{len(errors)} problem(s) in {errors[0].file}", header_style="bold")
    for name in ("row", "column", "value", "reason"):
        table.add_column(name, justify="right" if name == "row" else "left", overflow="fold")
    for e in errors:
        value = repr(e.value) if e.value is not None else "-"
        table.add_row(str(e.row or "-"), _esc(e.column or "-"), _esc(value), _esc(e.reason))
    stdout().print(table)


def print_extras(result: ResultDocument | dict[str, Any]) -> None:
    """Terminal lines for participation and benchmarks, when the result has them."""
    from alignscan.result.models import as_result

    result = as_result(result)
    console = stdout()
    if result.participation is not None:
        from alignscan.result.findings import group_labels

        part = result.participation
        console.print(participation_table(part, group_labels(result)))
        for warning in part.warnings:
            console.print(f"[yellow]warning:[/] {_esc(warning)}")
    if result.weighting is not None:
        weighting = result.weighting
        console.print(weighting_table(weighting))
        for warning in weighting.warnings:
            console.print(f"[yellow]warning:[/] {_esc(warning)}")
    if result.norms is not None:
        from alignscan.render.sections import benchmark_sentences

        for sentence in benchmark_sentences(result):
            console.print(_esc(sentence[:1].upper() + sentence[1:]))


def weighting_table(weighting: Weighting) -> Table:
    """Weighted to headcount: per compared group, the weights' range and design effect."""
    table = Table(title=f"Weighted to headcount ({_esc(weighting.file)})", header_style="bold")
    for name in ("group", "method", "cells", "n", "effective n", "weights", "design effect"):
        table.add_column(name, justify="left" if name in ("group", "method", "cells") else "right")
    for group, s in weighting.groups.items():
        table.add_row(
            _esc(group), s.method + (" (trimmed)" if s.trimmed else ""),
            _esc(" x ".join(s.columns) or "group") + f": {s.cells}", f"{s.n:,}",
            f"{s.n_effective:,.0f}", f"{s.weight_min:.2f}-{s.weight_max:.2f}",
            f"{s.design_effect:.2f}",
        )
    return table


def _rate(cell: Any) -> str:
    if not hasattr(cell, "rate"):  # hidden (Suppressed)
        return "hidden"
    return f"{cell.rate:.0%} ({cell.responded:,}/{cell.headcount:,})"


def participation_table(part: Participation, names: dict[str, str] | None = None) -> Table:
    """Rates per group, then per segment value; columns named by display `names`."""
    groups = list(dict.fromkeys([*part.groups, *(g for s in part.segments for g in s.groups)]))
    table = Table(title="Participation (respondents / headcount)", header_style="bold")
    table.add_column("segment", overflow="fold")
    for g in groups:
        table.add_column(_esc((names or {}).get(g, g)), justify="right", no_wrap=True)
    table.add_row("all", *(_rate(part.groups[g]) if g in part.groups else "-" for g in groups))
    for seg in part.segments:
        cells = (_rate(seg.groups[g]) if g in seg.groups else "-" for g in groups)
        table.add_row(_esc(f"{seg.column}: {seg.value}"), *cells)
    return table
