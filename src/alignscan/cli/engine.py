"""The `--engine` option of `analyze` and `check`: who counts the file."""

from __future__ import annotations

from enum import StrEnum

import typer


class Engine(StrEnum):
    default = "default"
    duckdb = "duckdb"
    spark = "spark"


ENGINE_OPTION = typer.Option(
    Engine.default,
    "--engine",
    help="Who counts the file: default (read in blocks, bounded memory), duckdb (SQL "
    "GROUP BY, out of core; needs alignscan[duckdb]) or spark (a local Spark session; "
    "needs alignscan[spark] and Java). The results are the same.",
)
