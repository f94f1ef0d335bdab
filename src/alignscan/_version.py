"""The installed alignscan's version, in a leaf module: the result documents record it, and
importing it must not load the package's public API (no import cycle through `alignscan`)."""

from __future__ import annotations

from functools import cache


@cache
def version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("alignscan")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0+unknown"
