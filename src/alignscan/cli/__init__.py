"""The `alignscan` command line: a thin Typer layer over the library.

Each command module registers itself on `app`; none of them computes anything.
Exit codes: 0 success, 1 invalid input, 2 usage error.
"""

from __future__ import annotations

import inspect
import os
import sys
from typing import Any

import typer
from typer.core import TyperOption

from alignscan.cli import root
from alignscan.errors import AlignscanError

app = root.app  # the Typer app (`alignscan.cli.app`, as before)


def _register() -> None:
    # Imported for their side effect of adding commands to `app`.
    from alignscan.cli import survey_cmds  # noqa: F401

    for name in ("responses_cmds", "analysis_cmds", "trend_cmds", "diff_cmds"):
        try:
            __import__(f"alignscan.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"alignscan.cli.{name}":
                raise


def _reflow(text: str) -> str:
    """A docstring as help: each paragraph on one line, so the terminal wraps it."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def _tidy_help(typer_app: typer.Typer, done: set[int] | None = None) -> None:
    """Docstrings as help reflowed, not broken where the source lines end; every help text
    shown literally (`alignscan[duckdb]` is not rich markup to drop)."""
    done = set() if done is None else done
    infos: list[Any] = list(typer_app.registered_commands)
    if typer_app.registered_callback is not None:
        infos.append(typer_app.registered_callback)
    for info in infos:
        if info.help is None and info.callback is not None and info.callback.__doc__:
            info.help = _reflow(info.callback.__doc__)
        _literal(info, ("help", "epilog", "short_help"), done)
        if info.callback is not None:
            for param in inspect.signature(info.callback).parameters.values():
                _literal(param.default, ("help",), done)
    for group in typer_app.registered_groups:
        _literal(group, ("help", "epilog", "short_help"), done)
        if group.typer_instance is not None:
            _literal(group.typer_instance.info, ("help", "epilog", "short_help"), done)
            _tidy_help(group.typer_instance, done)


def _literal(obj: Any, attrs: tuple[str, ...], done: set[int]) -> None:
    """Escape rich markup in `obj`'s text attributes, once per object (options are shared
    between commands)."""
    from rich.markup import escape

    if id(obj) in done:
        return
    done.add(id(obj))
    for attr in attrs:
        text = getattr(obj, attr, None)
        if isinstance(text, str):
            setattr(obj, attr, escape(text))


def _flag_type(self: TyperOption, ctx: Any) -> str | None:
    """No `<bool>` after a plain flag (--force, --help): it takes no value."""
    if getattr(self, "is_flag", False):
        return None
    return _option_type(self, ctx)


_option_type = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]


_register()
_tidy_help(app)
_literal(app.info, ("help", "epilog"), set())


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


def _terminated(signum: int, frame: Any) -> None:
    """SIGTERM ends the command like Ctrl-C does: through every cleanup (no temporary or
    partial file stays behind), with the usual exit code 128 + 15."""
    raise SystemExit(128 + signum)


def main() -> None:
    """Entry point: run the app; never let a traceback reach the user."""
    import signal

    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _terminated)
    out = _PipeSafe(sys.stdout)
    sys.stdout = out  # type: ignore[assignment]
    try:
        _run()
    finally:
        out.flush()


def _run(args: list[str] | None = None, prog_name: str | None = None) -> None:
    """The app with the command line's error handling; `args` None: `sys.argv` (the tests
    pass theirs to run a command in-process as the installed `alignscan` runs it)."""
    try:
        if args is None:
            app()
        else:
            app(args=args, prog_name=prog_name)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
    except AlignscanError as exc:  # input the library can't use: exit 1 (2: a usage error)
        sys.stderr.write(f"error: {exc}\n")
        if exc.hint:
            sys.stderr.write(f"hint: {exc.hint}\n")
        sys.exit(exc.exit_code)
    except Exception as exc:  # pragma: no cover - last line of defence
        if os.environ.get("ALIGNSCAN_DEBUG"):
            raise
        sys.stderr.write(
            f"alignscan: internal error ({type(exc).__name__}). This is a bug; please report it "
            "with the command you ran (set ALIGNSCAN_DEBUG=1 for details).\n"
        )
        sys.exit(1)
