"""Problems found by walking through the README as a new user (one test per fix)."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console


@pytest.fixture(scope="module")
def demo_result(tmp_path_factory) -> dict:
    import alignscan
    from alignscan.demo import write_demo_data

    _, after = write_demo_data(tmp_path_factory.mktemp("walk"), n=400)
    return alignscan.analyze(after).document


def summary_text(result: dict, width: int) -> str:
    from alignscan.report.terminal import print_summary

    console = Console(file=io.StringIO(), width=width, color_system=None)
    print_summary(result, console)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_a_narrow_terminal_gets_every_dimension_figure_uncropped(demo_result) -> None:
    """At COLUMNS=60 the dimension table cropped every number to '3…' / '+0…'."""
    text = summary_text(demo_result, 60)
    head = text.split("Focus areas")[0]
    assert "…" not in head
    flat = " ".join(head.split())
    for dim in demo_result["dimensions"]:
        gap = dim["gap"]
        a, b = (dim["groups"][g]["mean"] for g in demo_result["compare"])
        expected = (f"{dim['id']}: A {a:.2f}, B {b:.2f}, gap {gap['mean']:+.2f} "
                    f"(95% CI ±{(gap['mean_ci'][1] - gap['mean_ci'][0]) / 2:.2f})")
        assert expected in flat, (expected, flat)
    assert "fav = gap in percentage points" in flat


def test_a_wide_terminal_keeps_the_dimension_table(demo_result) -> None:
    text = summary_text(demo_result, 80)
    assert re.search(r"dimension\s+A\s+B\s+gap\s+95% CI\s+fav\s+q\s+effect\s+alpha", text)
    assert max(len(line) for line in text.splitlines()) <= 80


@pytest.mark.parametrize("command", ["analyze", "check"])
def test_the_help_names_every_format_the_command_reads(command: str) -> None:
    """The README reads Parquet like CSV; the argument's help said only .csv or .xlsx."""
    import typer.main

    from alignscan.cli import app

    cmd = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    (arg,) = [p for p in cmd.params if p.name == "responses"]
    assert all(ext in arg.help for ext in (".csv", ".xlsx", ".parquet")), arg.help
