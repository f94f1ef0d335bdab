"""The CLI's rendering of the library's progress callback: a rich bar on stderr, for
large files only, and only when stderr is a terminal (never in CI)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LARGE_FILE_BYTES = 50 * 1024 * 1024


@contextmanager
def progress_bar(path: Path) -> Iterator[Any]:
    """Yield a `progress(stage, done)` callback for `read_responses`, or None when no bar
    is wanted (small file, not a terminal, CI)."""
    try:
        large = path.stat().st_size >= LARGE_FILE_BYTES
    except OSError:
        large = False
    if not (large and sys.stderr.isatty() and not os.environ.get("CI")):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task("reading", total=1.0)

        def update(stage: str, done: float) -> None:
            bar.update(task, description=stage, completed=done)

        yield update
