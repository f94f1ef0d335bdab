"""The library's error for input it can't use (also `alignscan.AlignscanError`).

A module of its own so that the command line can catch it without loading the library."""

from __future__ import annotations

__all__ = ["AlignscanError"]


class AlignscanError(Exception):
    """Input the library can't use: the message says what and where."""
