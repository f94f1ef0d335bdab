"""The library's one error tree: `AlignscanError` (also `alignscan.AlignscanError`) and the
errors of each stage subclass it, each with a stable `code`, a `hint` (what to do; may be
empty) and the command line's `exit_code` (1 invalid input, 2 usage).

A module of its own, importing nothing, so that every layer (and the command line, before
the library loads) can raise and catch it."""

from __future__ import annotations

__all__ = ["AlignscanError", "OptionError"]


class AlignscanError(Exception):
    """Input the library can't use: the message says what and where.

    `code` names the kind of problem for programs (e.g. "survey_invalid"); `hint` says what
    to do about it, when the message does not already; `exit_code` is the command line's."""

    code: str = "invalid_input"
    hint: str = ""
    exit_code: int = 1

    def __init__(self, *args: object, code: str | None = None, hint: str | None = None):
        super().__init__(*args)
        if code is not None:
            self.code = code
        if hint is not None:
            self.hint = hint


class OptionError(AlignscanError, TypeError):
    """An option the call does not take, or a value it can't take (a usage error)."""

    code = "invalid_option"
    exit_code = 2
