"""Problems found by walking through the README as a new user (one test per fix)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console


@pytest.fixture(scope="module")
def demo_result(tmp_path_factory) -> dict:
    import alignscan
    from alignscan.demo import write_demo_data

    _, after = write_demo_data(tmp_path_factory.mktemp("walk"), n=400)
    return alignscan.analyze(after).document


def summary_text(result: dict, width: int) -> str:
    from alignscan.render.terminal import print_summary

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
        lo, hi = gap["mean_ci"]
        expected = f"{dim['id']}: A {a:.2f}, B {b:.2f}, gap {gap['mean']:+.2f} (95% CI "
        assert expected in flat, (expected, flat)
        ci = flat.split(expected, 1)[1].split(")", 1)[0]  # symmetric: ±half, else the ends
        assert ci in (f"±{(hi - lo) / 2:.2f}", f"{lo:+.2f}, {hi:+.2f}"), (dim["id"], ci)
    assert "fav = gap in percentage points" in flat


@pytest.mark.parametrize("width", [72, 80, 81, 100])
def test_no_terminal_width_crops_a_dimension_figure(demo_result, width: int) -> None:
    """At 80 columns, lopsided intervals made the table one column too wide ('alp…')."""
    text = summary_text(demo_result, width)
    head = text.split("Focus areas")[0].split("Largest significant")[0]
    assert max(len(line) for line in text.splitlines()) <= width and "…" not in head
    if width >= 100:  # room for the table: it is drawn
        assert re.search(r"dimension\s+A\s+B\s+gap\s+95% CI\s+fav\s+q\s+effect\s+alpha", head)


@pytest.mark.parametrize("command", ["analyze", "check"])
def test_the_help_names_every_format_the_command_reads(command: str) -> None:
    """The README reads Parquet like CSV; the argument's help said only .csv or .xlsx."""
    import typer.main

    from alignscan.cli import app

    cmd = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    (arg,) = [p for p in cmd.params if p.name == "responses"]
    assert all(ext in arg.help for ext in (".csv", ".xlsx", ".parquet")), arg.help


CORPUS = Path(__file__).parent / "data" / "responses"


@pytest.mark.parametrize("command", ["check", "analyze"])
def test_errors_csv_is_confirmed_with_its_path(tmp_path: Path, command: str) -> None:
    """`--errors FILE` wrote the file silently: a user could not tell it happened."""
    from typer.testing import CliRunner

    from alignscan.cli import app

    target = tmp_path / "errors.csv"
    args = [command, str(CORPUS / "error_unknown_role.csv"), "--survey",
            str(CORPUS / "survey.yaml"), "--errors", str(target)]
    done = CliRunner().invoke(app, args + (["--no-save"] if command == "analyze" else []))
    assert done.exit_code == 1
    assert target.read_text("utf-8").count("\n") == 4  # header + 3 errors
    assert f"wrote 3 error(s) to {target}" in " ".join(done.output.split())


@pytest.mark.parametrize("command", ["check", "analyze"])
def test_a_folder_given_as_the_responses_is_a_usage_error(tmp_path: Path, command: str) -> None:
    """A missing file exits 2 (usage) but a folder exited 1 ("invalid input")."""
    from typer.testing import CliRunner

    from alignscan.cli import app

    folder = tmp_path / "wave.csv"
    folder.mkdir()
    done = CliRunner().invoke(app, [command, str(folder)])
    assert done.exit_code == 2, done.output
    assert "is a folder" in done.output and "Traceback" not in done.output


def test_the_demo_never_replaces_a_users_files(tmp_path: Path) -> None:
    """`alignscan demo --out DIR` replaced a user's own report.html and responses.csv."""
    from typer.testing import CliRunner

    from alignscan.cli import app

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.html").write_text("<h1>my own report</h1>", encoding="utf-8")
    done = CliRunner().invoke(app, ["demo", "--out", str(mine)])
    assert done.exit_code == 2 and "report.html exists" in done.output
    assert (mine / "report.html").read_text("utf-8") == "<h1>my own report</h1>"
    assert sorted(p.name for p in mine.iterdir()) == ["report.html"]  # nothing written

    export = tmp_path / "export"
    export.mkdir()  # a client's export with the built-in survey's header (`template`)
    assert CliRunner().invoke(app, ["template", "-o", str(export / "responses.csv")]).exit_code == 0
    before = (export / "responses.csv").read_bytes()
    done = CliRunner().invoke(app, ["demo", "--out", str(export)])
    assert done.exit_code == 2 and "responses.csv exists" in done.output
    assert (export / "responses.csv").read_bytes() == before


def test_the_demos_own_files_may_be_replaced(tmp_path: Path) -> None:
    from alignscan.demo import foreign_demo_files, write_demo_data, write_demo_headcount

    _, wave2 = write_demo_data(tmp_path)
    write_demo_headcount(wave2, tmp_path)
    assert foreign_demo_files(tmp_path) == []
    with (tmp_path / "headcount.csv").open("a", encoding="utf-8") as f:
        f.write("executive,Extra,10\n")  # edited by hand: no longer the demo's
    assert foreign_demo_files(tmp_path) == [tmp_path / "headcount.csv"]


def test_an_older_demos_data_may_be_replaced_but_not_a_look_alike(tmp_path: Path) -> None:
    """`make demo` after an upgrade: the generator's bytes changed, the files are still the
    demo's (its header, its own respondent ids). A header-only file or an edited id is not."""
    from alignscan.demo import foreign_demo_files, write_demo_data

    older, _ = write_demo_data(tmp_path, n=37)  # other bytes than today's demo, same form
    assert foreign_demo_files(tmp_path) == []
    header = older.read_text(encoding="utf-8").splitlines()[0]
    older.write_text(header + "\n", encoding="utf-8")  # a `template`-like header-only file
    assert foreign_demo_files(tmp_path) == [older]
    write_demo_data(tmp_path, n=37)
    text = older.read_text(encoding="utf-8").replace("W1-R0000003", "E-1234", 1)
    older.write_text(text, encoding="utf-8")  # a user's row among the demo's
    assert foreign_demo_files(tmp_path) == [older]
    older.write_bytes(b"\xff\xfe" + "x".encode("utf-16-le"))  # not even UTF-8
    assert foreign_demo_files(tmp_path) == [older]
