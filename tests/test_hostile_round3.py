"""Hostile files and careless hands, round three (issue #30): CSVs Excel can't misread,
files shared safely, help texts that keep their brackets, the Action's quoting."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import unicodedata
import zipfile
from pathlib import Path

import pytest

import bombs
from test_safety_cli import HEADER, SURVEY, rows_for, run, write_csv

ROOT = Path(__file__).resolve().parents[1]

HOSTILE = [
    "\r=cmd|' /C calc'!A0",
    "a\rb",
    "a\nb",
    "\n=1+1",
    "x\ty",
    'say "hi"',
    "a,b",
    "=1+1",
    "﹦HYPERLINK(1)",  # small equals sign: NFKC makes it "="
    "⁼SUM(A1)",  # superscript equals sign
    "﹢1+2",
    "＠x",
    "\t=1",
    "plain",
    "-3",
    "",
]


def runs_as_formula(cell: str) -> bool:
    """What a spreadsheet (and openpyxl, which calls any text starting with "=" a formula)
    would treat as a formula, after the compatibility normalisation Excel applies."""
    text = unicodedata.normalize("NFKC", cell)
    if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text, flags=re.ASCII):
        return False
    return text.startswith(("=", "+", "-", "@", "\t", "\r"))


def naive_lines(text: str) -> list[str]:
    """Records as a reader that ends a record at any CR or LF outside quotes sees them."""
    records, current, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch in "\r\n" and not quoted:
            if current:
                records.append(current)
            current = ""
        else:
            current += ch
    return [*records, current] if current else records


@pytest.mark.parametrize("crlf", [False, True])
def test_csv_writer_quotes_breaks_and_guards_formulas_after_nfkc(crlf: bool) -> None:
    from alignscan.textsafe import csv_cell, csv_text

    rows = [["n", "value"], *[[str(i), v] for i, v in enumerate(HOSTILE)]]
    text = csv_text(rows, crlf=crlf)
    back = list(csv.reader(io.StringIO(text, newline="")))
    assert len(back) == len(rows)
    assert [r[1] for r in back[1:]] == [csv_cell(v) for v in HOSTILE]
    assert not any(runs_as_formula(r[1]) for r in back[1:])
    assert back[-2][1] == "-3" and back[3][1] == "a\nb"
    assert len(naive_lines(text)) == len(rows)  # a CR never starts a record
    for line in naive_lines(text):  # the first cell of every record is ours, never a value
        assert line.split(",")[0].strip('"').isdigit() or line.startswith("n,")


def test_csv_cell_guards_compatibility_forms() -> None:
    from alignscan.textsafe import csv_cell

    for text in ["﹦1", "⁼1", "﹢1", "﹣x", "﹫x", "＝1"]:
        assert csv_cell(text) == "'" + text
    assert csv_cell("-١") == "'-١"  # a non-ASCII digit is not a number to a spreadsheet
    assert csv_cell("1e5") == "1e5" and csv_cell("Sales") == "Sales"


def test_errors_csv_keeps_a_cr_value_in_its_cell(tmp_path: Path) -> None:
    rows = rows_for()
    rows[0][2] = "\r=cmd|' /C calc'!A0"
    rows[1][3] = "9\r=2+2"
    path = write_csv(tmp_path / "r.csv", rows)
    errors = tmp_path / "errors.csv"
    run("check", path, "-s", SURVEY, "--errors", errors)
    text = errors.read_text(encoding="utf-8")
    back = list(csv.reader(io.StringIO(text, newline="")))
    assert back[0] == ["file", "row", "column", "value", "reason", "kind"]
    assert all(len(r) == 6 for r in back)
    assert not any(runs_as_formula(c) for r in back for c in r)
    assert len(naive_lines(text)) == len(back)


# ----------------------------------------------------------------------------- umask


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_atomic_writer_honours_the_umask(tmp_path: Path, mask: int) -> None:
    from alignscan.atomic import write_all

    old = os.umask(mask)
    try:
        write_all({tmp_path / "a.txt": "x", tmp_path / "sub" / "b.bin": b"y"})
    finally:
        os.umask(old)
    for p in (tmp_path / "a.txt", tmp_path / "sub" / "b.bin"):
        assert p.stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    from alignscan.atomic import write_one

    target = tmp_path / "kept.txt"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o600)
    old = os.umask(0o022)
    try:
        write_one(target, "new")
    finally:
        os.umask(old)
    assert target.read_text(encoding="utf-8") == "new"
    assert target.stat().st_mode & 0o777 == 0o600


def test_cli_outputs_honour_the_umask(tmp_path: Path) -> None:
    import sys

    out = tmp_path / "t.csv"
    code = (
        "import os, sys; os.umask(0o022); from alignscan.cli import main; "
        "sys.argv = ['alignscan', 'template', '-s', sys.argv[1], '-o', sys.argv[2]]; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(SURVEY), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert out.stat().st_mode & 0o777 == 0o644


# ----------------------------------------------------------------------------- --help brackets


def _commands():  # type: ignore[no-untyped-def]
    import typer

    from alignscan.cli import app

    root = typer.main.get_command(app)
    todo = [([], root)]
    while todo:
        path, cmd = todo.pop()
        yield path, cmd
        if getattr(cmd, "commands", None):
            todo += [([*path, n], c) for n, c in cmd.commands.items()]


def _bracketed(text: str | None) -> list[str]:
    return re.findall(r"\[[^\[\]]+\]", text or "")


def test_every_help_text_keeps_its_bracketed_words() -> None:
    from typer.testing import CliRunner

    from alignscan.cli import app

    checked = 0
    for path, cmd in _commands():
        texts = [cmd.help, cmd.epilog, *(getattr(p, "help", None) for p in cmd.params)]
        wanted = [w for t in texts for w in _bracketed(t)]
        if not wanted:
            continue
        done = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
        assert done.exit_code == 0, done.output
        shown = " ".join(done.output.replace("│", " ").split())
        for word in wanted:
            checked += 1
            assert " ".join(word.split()) in shown, (path, word)
    assert checked >= 3  # alignscan[duckdb], alignscan[spark], alignscan[pdf] at least


def test_engine_help_shows_duckdb_extra() -> None:
    from typer.testing import CliRunner

    from alignscan.cli import app

    done = CliRunner().invoke(app, ["analyze", "--help"], env={"COLUMNS": "100"})
    assert "alignscan[duckdb]" in done.output.replace("│", " ")


# ----------------------------------------------------------------------------- template -o


def test_template_to_an_xlsx_name_writes_a_workbook(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "x.xlsx"
    done = run("template", "-s", SURVEY, "-o", path)
    assert done.returncode == 0, done.stderr
    assert zipfile.is_zipfile(path)
    assert [c.value for c in load_workbook(path)["responses"][1]] == HEADER


@pytest.mark.parametrize("name", ["x.xls", "x.xlsm", "x.parquet"])
def test_template_refuses_a_format_it_can_not_write(tmp_path: Path, name: str) -> None:
    done = run("template", "-s", SURVEY, "-o", tmp_path / name)
    assert done.returncode == 2 and ".csv or .xlsx" in done.stderr
    assert not (tmp_path / name).exists()


def test_template_xlsx_flag_with_a_csv_name_is_refused(tmp_path: Path) -> None:
    done = run("template", "-s", SURVEY, "--xlsx", "-o", tmp_path / "t.csv")
    assert done.returncode == 2 and ".xlsx" in done.stderr


# ----------------------------------------------------------------------------- GitHub Action


def _action_check_step() -> str:
    from ruamel.yaml import YAML

    doc = YAML(typ="safe").load((ROOT / "action.yml").read_text(encoding="utf-8"))
    (check,) = [s for s in doc["runs"]["steps"] if "run" in s and "validate" in s["run"]]
    return str(check["run"])


def _run_action_step(tmp_path: Path, paths: str) -> subprocess.CompletedProcess[str]:
    import sys

    bin_dir = Path(sys.executable).parent
    return subprocess.run(
        ["bash", "-c", _action_check_step()],
        cwd=tmp_path,
        env={
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "ALIGNSCAN_PATHS": paths,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_action_path_that_looks_like_an_option_is_a_path(tmp_path: Path) -> None:
    done = _run_action_step(tmp_path, "-h")
    assert done.returncode != 0
    assert "Usage" not in done.stdout + done.stderr
    assert "-h" in done.stdout + done.stderr  # named as a missing path


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_action_paths_are_not_globbed_and_several_still_work(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    shutil.copy(SURVEY, tmp_path / "s" / "a.yaml")
    shutil.copy(SURVEY, tmp_path / "s" / "b.yaml")
    (tmp_path / "s" / "bad.yaml").write_text("not: [yaml", encoding="utf-8")
    assert _run_action_step(tmp_path, "s/a.yaml s/b.yaml").returncode == 0
    done = _run_action_step(tmp_path, "s/*.yaml")  # a literal name, not a glob
    assert done.returncode != 0 and "bad.yaml" not in done.stdout


def test_validate_takes_a_path_after_double_dash(tmp_path: Path) -> None:
    shutil.copy(SURVEY, tmp_path / "-h")
    done = run("validate", "--", "-h", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


# ----------------------------------------------------------------------------- bounded readers


@pytest.fixture
def no_parsing(monkeypatch):  # type: ignore[no-untyped-def]
    """openpyxl must never be asked to parse: the archive check refuses first."""
    import openpyxl

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the workbook was parsed")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)


def _refusal(path: Path) -> dict:
    from alignscan.responses import ResponsesError, read_responses
    from alignscan.survey import read_survey_file

    survey = read_survey_file(SURVEY).survey
    with pytest.raises(ResponsesError) as caught:
        read_responses(path, survey)
    return caught.value.error.as_dict()


def test_one_long_shared_string_bomb_is_refused_unparsed(tmp_path: Path, no_parsing) -> None:
    path = bombs.one_long_string_bomb(tmp_path / "one.xlsx")
    assert path.stat().st_size < 60_000
    error = _refusal(path)
    assert error["kind"] == "too_large"
    assert (
        "xl/sharedStrings.xml" in error["reason"] and "ALIGNSCAN_MAX_XLSX_RATIO" in error["reason"]
    )


@pytest.mark.parametrize("strings", [4_000_000, 7_300_000])
def test_many_shared_strings_bomb_is_refused_unparsed(
    tmp_path: Path, no_parsing, strings: int
) -> None:
    path = bombs.many_strings_bomb(tmp_path / "many.xlsx", strings)
    assert path.stat().st_size < 320_000
    error = _refusal(path)
    assert error["kind"] == "too_large" and "ALIGNSCAN_MAX_XLSX_RATIO" in error["reason"]


def test_shared_strings_past_their_size_limit_with_the_ratio_raised(
    tmp_path: Path, no_parsing, monkeypatch
) -> None:
    monkeypatch.setenv("ALIGNSCAN_MAX_XLSX_RATIO", "100000")
    error = _refusal(bombs.many_strings_bomb(tmp_path / "many.xlsx", 4_000_000))
    assert error["kind"] == "too_large" and "ALIGNSCAN_MAX_SHARED_STRINGS_MB" in error["reason"]


def test_a_shared_string_longer_than_excel_allows_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ALIGNSCAN_MAX_XLSX_RATIO", "100000")
    error = _refusal(bombs.one_long_string_bomb(tmp_path / "one.xlsx", chars=2_000_000))
    assert error["kind"] == "too_large" and "32,767" in error["reason"]


def test_cells_repeating_a_long_shared_string_are_refused(tmp_path: Path) -> None:
    """Within every per-part limit, 20,000 cells x 32,000 characters would still unfold to
    640 M characters once copied into columns."""
    path = bombs.one_long_string_bomb(tmp_path / "rep.xlsx", chars=32_000, rows=2_500)
    assert path.stat().st_size < 200_000
    error = _refusal(path)
    assert error["kind"] == "too_large" and "ALIGNSCAN_MAX_XLSX_TEXT_MB" in error["reason"]


@pytest.mark.parametrize("dimension", [None, "A1:A1100001"])
def test_more_rows_than_excel_allows_are_refused_unparsed(
    tmp_path: Path, no_parsing, monkeypatch, dimension: str | None
) -> None:
    monkeypatch.setenv("ALIGNSCAN_MAX_XLSX_RATIO", "100000")  # the rows, not the ratio
    path = bombs.too_many_rows(tmp_path / "rows.xlsx", dimension=dimension)
    error = _refusal(path)
    assert error["kind"] == "too_many_rows" and "more than 1,048,576 rows" in error["reason"]


def test_a_stated_dimension_past_excel_is_refused_before_the_ratio(
    tmp_path: Path, no_parsing
) -> None:
    path = bombs.too_many_rows(tmp_path / "rows.xlsx", rows=10, dimension="A1:H1100001")
    assert _refusal(path)["kind"] == "too_many_rows"


def test_numbered_rows_past_excel_are_counted_not_parsed(tmp_path: Path, no_parsing) -> None:
    path = bombs.too_many_rows(tmp_path / "rows.xlsx", numbered=True)
    assert _refusal(path)["kind"] == "too_many_rows"


def test_a_workbook_within_the_limits_still_reads(tmp_path: Path) -> None:
    from test_safety_cli import _workbook

    path = _workbook(tmp_path / "ok.xlsx", [HEADER, *rows_for(6, comment="x" * 30_000)])
    done = run("check", path, "-s", SURVEY, "-f", "json")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_cli_refuses_a_bomb_naming_the_setting(tmp_path: Path) -> None:
    path = bombs.one_long_string_bomb(tmp_path / "one.xlsx")
    done = run("check", path, "-s", SURVEY)
    assert done.returncode == 1 and "ALIGNSCAN_MAX_XLSX_RATIO" in done.stderr
    done = run("check", path, "-s", SURVEY, env={"ALIGNSCAN_MAX_XLSX_RATIO": "lots"})
    assert done.returncode == 2 and "ALIGNSCAN_MAX_XLSX_RATIO=lots" in done.stderr


def test_csv_wider_than_the_column_limit_is_refused(tmp_path: Path, monkeypatch) -> None:
    wide = [*HEADER, *(f"extra{i}" for i in range(20))]
    path = write_csv(tmp_path / "w.csv", [r + [""] * 20 for r in rows_for()], header=wide)
    monkeypatch.setenv("ALIGNSCAN_MAX_COLUMNS", "20")
    error = _refusal(path)
    assert error["kind"] == "too_large" and "28 columns" in error["reason"]
    assert "ALIGNSCAN_MAX_COLUMNS" in error["reason"]


def test_csv_line_past_the_limit_is_refused_by_name(tmp_path: Path) -> None:
    rows = rows_for()
    rows[3][7] = "x" * (33 << 20)  # past two of pyarrow's 16 MiB blocks
    path = write_csv(tmp_path / "long.csv", rows)
    done = run("check", path, "-s", SURVEY)
    assert done.returncode == 1 and "ALIGNSCAN_MAX_LINE_MB" in done.stderr
    done = run("check", path, "-s", SURVEY, env={"ALIGNSCAN_MAX_LINE_MB": "32"})
    assert "ALIGNSCAN_MAX_LINE_MB" not in done.stderr


def test_parquet_row_group_and_width_limits(tmp_path: Path, monkeypatch) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = rows_for(600)
    for i, r in enumerate(rows):
        r[7] = f"{i}" + "y" * 1000  # 1.2 MB of comments, compressed to a few kB
    table = pa.table({name: [r[j] for r in rows] for j, name in enumerate(HEADER)})
    path = tmp_path / "r.parquet"
    pq.write_table(table, path, compression="zstd")
    assert path.stat().st_size < 100_000
    monkeypatch.setenv("ALIGNSCAN_MAX_ROW_GROUP_MB", "1")
    error = _refusal(path)
    assert error["kind"] == "too_large" and "ALIGNSCAN_MAX_ROW_GROUP_MB" in error["reason"]
    monkeypatch.setenv("ALIGNSCAN_MAX_ROW_GROUP_MB", "100")
    monkeypatch.setenv("ALIGNSCAN_MAX_COLUMNS", "7")
    error = _refusal(path)
    assert "8 columns" in error["reason"] and "ALIGNSCAN_MAX_COLUMNS" in error["reason"]


def test_a_cell_past_the_column_limit_is_refused_unparsed(tmp_path: Path, no_parsing) -> None:
    from test_safety_cli import _rewrite_part, _workbook

    path = _workbook(tmp_path / "w.xlsx", [HEADER, *rows_for()])
    far = b'<c r="XFE2" t="inlineStr"><is><t>x</t></is></c></row>'
    _rewrite_part(path, "sheet1.xml", lambda x: x.replace(b"</row>", far, 2))
    error = _refusal(path)
    assert error["kind"] == "too_large" and "16,385 columns" in error["reason"]
