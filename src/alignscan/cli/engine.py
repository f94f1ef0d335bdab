"""The `--engine` option of `analyze` and `check`: who reads the file."""

from __future__ import annotations

from enum import StrEnum

import typer


class Engine(StrEnum):
    default = "default"
    duckdb = "duckdb"


ENGINE_OPTION = typer.Option(
    Engine.default,
    "--engine",
    help="Who reads the file: default (pyarrow) or duckdb (needs alignscan[duckdb]); "
    "the results are the same.",
)
