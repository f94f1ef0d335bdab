"""The command line's root: the Typer `app` every command module registers on, and
its own options (--version). Apart from the package so that the command modules can
import it without importing the package that imports them."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="alignscan",
    help=(
        "Measure how far a company's executives and practitioners disagree.\n\n"
        "Example (after `make demo`):  alignscan analyze reports/demo/responses.csv"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from alignscan import __version__

        typer.echo(f"alignscan {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Measure how far a company's executives and practitioners disagree."""
