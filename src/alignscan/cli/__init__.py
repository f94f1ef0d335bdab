"""The `alignscan` command line: a thin Typer layer over the library.

Each command module registers itself on `app`; none of them computes anything.
Exit codes: 0 success, 1 invalid input, 2 usage error.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from alignscan import __version__

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
        typer.echo(f"alignscan {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Measure how far a company's executives and practitioners disagree."""


def _register() -> None:
    # Imported for their side effect of adding commands to `app`.
    from alignscan.cli import survey_cmds  # noqa: F401

    for name in ("responses_cmds", "analysis_cmds", "trend_cmds", "diff_cmds"):
        try:
            __import__(f"alignscan.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"alignscan.cli.{name}":
                raise


_register()


class _PipeSafe:
    """stdout that goes quiet when the reader has gone (`alignscan analyze ... | head`):
    output to a closed pipe is dropped, so the command still writes its files."""

    def __init__(self, stream: Any):
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return int(self._stream.write(text))
            except BrokenPipeError:
                self.silence()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self.silence()

    def silence(self) -> None:
        self.broken = True
        try:  # later writes (and the interpreter's final flush) go nowhere
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
        except (OSError, ValueError):
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main() -> None:
    """Entry point: run the app; never let a traceback reach the user."""
    out = _PipeSafe(sys.stdout)
    sys.stdout = out  # type: ignore[assignment]
    try:
        _run()
    finally:
        out.flush()


def _run() -> None:
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
    except Exception as exc:  # pragma: no cover - last line of defence
        if os.environ.get("ALIGNSCAN_DEBUG"):
            raise
        sys.stderr.write(
            f"alignscan: internal error ({type(exc).__name__}). This is a bug; please report it "
            "with the command you ran (set ALIGNSCAN_DEBUG=1 for details).\n"
        )
        sys.exit(1)
