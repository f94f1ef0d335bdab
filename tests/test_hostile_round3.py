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


# ----------------------------------------------------------------------------- JSON read back

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

settings.register_profile(
    "json-fuzz",
    parent=settings.get_profile("derandomized"),
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FUZZ = settings.get_profile("json-fuzz")

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.sampled_from([0, 1, 2, 3, 4, -1]),  # group sizes below the minimum
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e300, -1e308, 1e-320]),
    st.text(max_size=4),
    st.just([]),
    st.just({}),
    st.just([[1]]),
)


def _paths(doc, prefix=()):  # type: ignore[no-untyped-def]
    """Every (container path, key) in a JSON document."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc)
    for key, value in items:
        yield (*prefix, key)
        if isinstance(value, dict | list):
            yield from _paths(value, (*prefix, key))


@st.composite
def edited(draw, doc):  # type: ignore[no-untyped-def]
    """A hand-edited (1-3 edits: a key deleted or a value replaced) or truncated document."""
    import copy
    import json

    doc = copy.deepcopy(doc)
    paths = list(_paths(doc))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()):
                del parent[path[-1]]
            else:
                parent[path[-1]] = draw(ODD_VALUES)
        except (KeyError, IndexError, TypeError):
            continue
    text = json.dumps(doc, allow_nan=True)
    if draw(st.integers(0, 9)) == 0:
        text = text[: draw(st.integers(0, len(text)))]
    return text


def reveals_a_small_cell(text: str) -> bool:
    """An independent look: any group cell anywhere with 1 .. min-1 respondents."""
    import json

    try:
        doc = json.loads(text)
        minimum = doc["min_group_size"]
    except (ValueError, KeyError, TypeError):
        return False
    if not isinstance(minimum, int):
        return False
    found = []

    def walk(node):  # type: ignore[no-untyped-def]
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "groups" and isinstance(value, dict):
                    for cell in value.values():
                        n = cell.get("n") if isinstance(cell, dict) else None
                        if isinstance(n, int) and not isinstance(n, bool) and 0 < n < minimum:
                            found.append(n)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return bool(found)


@pytest.fixture(scope="module")
def saved_result(tmp_path_factory) -> dict:  # type: ignore[type-arg]
    import json

    folder = tmp_path_factory.mktemp("saved")
    path = write_csv(folder / "r.csv", rows_for(6, comment="fine"))
    out = folder / "result.json"
    assert run("analyze", path, "-s", SURVEY, "--no-save", "--json", out).returncode == 0
    return json.loads(out.read_text(encoding="utf-8"))


def _invoke(args: list[str]):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from alignscan.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def finite_json(text: str) -> bool:
    """Independently: the text is JSON whose numbers are all finite and plausibly sized."""
    import json
    import math

    def number(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value) or abs(value) > 1e15:
            raise ValueError(literal)
        return value

    def constant(name: str) -> float:
        raise ValueError(name)

    try:
        json.loads(text, parse_constant=constant, parse_float=number, parse_int=number)
    except (ValueError, RecursionError):
        return False
    return True


def _clean_exit(done) -> None:  # type: ignore[no-untyped-def]
    assert done.exit_code in (0, 1), done.output
    assert done.exception is None or isinstance(done.exception, SystemExit), repr(done.exception)
    if done.exit_code == 1:
        assert "error" in done.output.lower()


def test_hand_edited_results_give_a_clear_error_or_a_safe_report(
    saved_result: dict, tmp_path: Path
) -> None:
    @FUZZ
    @given(text=edited(saved_result))
    def check(text: str) -> None:
        path, html = tmp_path / "result.json", tmp_path / "report.html"
        html.unlink(missing_ok=True)
        path.write_text(text, encoding="utf-8")
        done = _invoke(["report", path, "--html", html])
        _clean_exit(done)
        if done.exit_code == 0:
            assert not reveals_a_small_cell(text) and finite_json(text)
            assert html.exists()
        else:
            assert not html.exists()

    check()


def test_hand_edited_waves_give_a_clear_error(saved_result: dict, tmp_path: Path) -> None:
    import json

    good = tmp_path / "good.json"
    good.write_text(json.dumps(saved_result), encoding="utf-8")

    @settings(FUZZ, max_examples=30)
    @given(text=edited(saved_result))
    def check(text: str) -> None:
        path = tmp_path / "wave.json"
        path.write_text(text, encoding="utf-8")
        done = _invoke(["trend", good, path, "--json", tmp_path / "t.json"])
        _clean_exit(done)
        assert done.exit_code == 1 or (finite_json(text) and not reveals_a_small_cell(text))

    check()


@pytest.fixture(scope="module")
def norms_and_org(tmp_path_factory):  # type: ignore[no-untyped-def]
    from alignscan.analysis.analysis import analyze
    from alignscan.extras.norms import Source, build_norms
    from alignscan.survey import load_survey
    from alignscan.synthetic import generate_responses
    from alignscan.synthetic import write_csv as write_synthetic

    survey = load_survey()
    folder = tmp_path_factory.mktemp("norms")
    results = []
    for seed in range(5):
        path = write_synthetic(generate_responses(survey, 120 + seed, seed=seed), folder / "o.csv")
        from alignscan.responses import read_responses

        results.append(analyze(read_responses(path, survey)))
    from alignscan.result.models import as_result

    norms = build_norms([Source(f"org{i}", as_result(r)) for i, r in enumerate(results)])
    org = write_synthetic(generate_responses(survey, 130, seed=9), folder / "org.csv")
    return norms, org


def test_hand_edited_norms_give_a_clear_error(norms_and_org, tmp_path: Path) -> None:
    norms, org = norms_and_org

    @settings(FUZZ, max_examples=25)
    @given(text=edited(norms))
    def check(text: str) -> None:
        path = tmp_path / "norms.json"
        path.write_text(text, encoding="utf-8")
        done = _invoke(["analyze", org, "--no-save", "--norms", path])
        _clean_exit(done)
        assert done.exit_code == 1 or finite_json(text)

    check()


def test_a_huge_json_is_refused_by_its_size_unread(tmp_path: Path, monkeypatch) -> None:
    huge = tmp_path / "result.json"
    with huge.open("wb") as fh:
        fh.truncate(1 << 30)  # 1 GiB, sparse: nothing written to disk
    real_read = Path.read_text

    def read_text(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        assert self.stat().st_size < 1 << 20, f"{self} was read"
        return real_read(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    for args in (
        ["report", huge, "--html", tmp_path / "r.html"],
        ["trend", huge, huge, "--json", tmp_path / "t.json"],
        ["norms", "build", *[huge] * 5, "-o", tmp_path / "n.json"],
    ):
        done = _invoke(args)
        assert done.exit_code == 1, (args, done.output)
        assert "ALIGNSCAN_MAX_JSON_MB" in done.output
    norms = tmp_path / "norms.json"
    huge.rename(norms)
    org = write_csv(tmp_path / "org.csv", rows_for())
    done = _invoke(["analyze", org, "-s", SURVEY, "--no-save", "--norms", norms])
    assert done.exit_code == 1 and "ALIGNSCAN_MAX_JSON_MB" in done.output


@pytest.mark.parametrize("token", ["NaN", "Infinity", "1e999", "123456789012345678901"])
def test_norms_with_nan_or_huge_numbers_are_refused(norms_and_org, tmp_path: Path, token) -> None:
    import json

    norms, org = norms_and_org
    doc = json.loads(json.dumps(norms))
    group = next(iter(doc["dimensions"][0]["groups"].values()))
    group["mean"]["p50"] = "MARK"
    path = tmp_path / "norms.json"
    path.write_text(json.dumps(doc).replace('"MARK"', token), encoding="utf-8")
    done = _invoke(["analyze", org, "--no-save", "--norms", path])
    assert done.exit_code == 1 and "norms" in done.output


# ----------------------------------------------------------------------------- whose files


def test_safe_folder_names() -> None:
    from alignscan.atomic import safe_folder_name

    for stem in ["..", ".", "", "...", " . "]:
        assert safe_folder_name(stem) == "responses"
    assert safe_folder_name("/") == safe_folder_name("\\") == "_"
    assert safe_folder_name("a/b\\c") == "a_b_c"
    assert safe_folder_name("..hidden..") == "hidden"
    assert safe_folder_name("wave\n1") == "wave_1"
    assert safe_folder_name("Q1 responses") == "Q1 responses"


def test_an_input_named_dots_csv_never_writes_into_the_current_folder(tmp_path: Path) -> None:
    write_csv(tmp_path / "...csv", rows_for())
    (tmp_path / "report.html").write_text("my own page", encoding="utf-8")
    done = run("analyze", "...csv", "-s", SURVEY, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == "my own page"
    assert (
        not (tmp_path / "result.json").exists()
        and not (tmp_path / "reports" / "result.json").exists()
    )
    assert (tmp_path / "reports" / "responses" / "result.json").exists()


def test_analyze_replaces_only_its_own_files_without_force(tmp_path: Path) -> None:
    responses = write_csv(tmp_path / "r.csv", rows_for())
    out = tmp_path / "out"
    out.mkdir()
    for name, text in [("report.html", "<html>mine</html>"), ("result.csv", "a,b\n1,2\n")]:
        (out / name).write_text(text, encoding="utf-8")
        done = run("analyze", responses, "-s", SURVEY, "--out", out)
        assert done.returncode == 2 and "not written by alignscan" in done.stderr
        assert (out / name).read_text(encoding="utf-8") == text
        assert "--force" in done.stderr
        (out / name).unlink()
    assert run("analyze", responses, "-s", SURVEY, "--out", out).returncode == 0
    assert run("analyze", responses, "-s", SURVEY, "--out", out).returncode == 0  # its own
    (out / "report.html").write_text("<html>edited</html>", encoding="utf-8")
    assert run("analyze", responses, "-s", SURVEY, "--out", out).returncode == 2
    assert run("analyze", responses, "-s", SURVEY, "--out", out, "--force").returncode == 0
    assert "alignscan" in (out / "report.html").read_text(encoding="utf-8")


def test_report_check_and_norms_never_replace_a_foreign_file(tmp_path: Path) -> None:
    responses = write_csv(tmp_path / "r.csv", rows_for())
    result = tmp_path / "res.json"
    assert run("analyze", responses, "-s", SURVEY, "--no-save", "--json", result).returncode == 0
    page = tmp_path / "page.html"
    page.write_text("<p>precious</p>", encoding="utf-8")
    done = run("report", result, "--html", page)
    assert done.returncode == 2 and "not written by alignscan" in done.stderr
    assert page.read_text(encoding="utf-8") == "<p>precious</p>"
    sheet = tmp_path / "errors.csv"
    sheet.write_text("name,salary\nx,1\n", encoding="utf-8")
    rows = rows_for()
    rows[0][3] = "9"
    bad = write_csv(tmp_path / "bad.csv", rows)
    done = run("check", bad, "-s", SURVEY, "--errors", sheet)
    assert done.returncode == 2 and sheet.read_text(encoding="utf-8") == "name,salary\nx,1\n"
    assert run("report", result, "--html", tmp_path / "new.html").returncode == 0
    assert run("report", result, "--html", tmp_path / "new.html").returncode == 0


# ----------------------------------------------------------------------------- interrupted writes


def _start(args: list[object], hook: str | None = None, **env: str) -> subprocess.Popen[str]:
    import sys

    full = {**os.environ, "COLUMNS": "200", **env}
    if hook is not None:
        full["ALIGNSCAN_TEST_PAUSE"] = hook
    return subprocess.Popen(
        [sys.executable, "-m", "alignscan", *map(str, args)],
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,  # a shell's background job ignores SIGINT, and so
    )                                # would its children: Ctrl-C must reach this one


def _default_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for(flag: Path, proc: subprocess.Popen[str]) -> None:
    """Until the writer says it has paused (no timing: it waits for us)."""
    import time

    while not flag.exists():
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".alignscan"))


@pytest.fixture
def first_run(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An output folder holding a complete first set, and a newer responses file."""
    first = write_csv(tmp_path / "r.csv", rows_for(6))
    out = tmp_path / "out"
    assert run("analyze", first, "-s", SURVEY, "--out", out).returncode == 0
    (tmp_path / "new").mkdir()
    newer = write_csv(tmp_path / "new" / "r.csv", rows_for(9))  # same name, a new wave
    hook = tmp_path / "hook"
    hook.mkdir()
    return out, newer, hook


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_while_writing_leaves_the_old_set_and_no_temp(first_run, sig: str) -> None:
    import signal

    out, newer, hook = first_run
    old = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = _start(["analyze", newer, "-s", SURVEY, "--out", out], hook=f"written:{hook}")
    _wait_for(hook / "paused-written", proc)
    assert _leftovers(out)  # the temporary files and the lock are there now
    proc.send_signal(getattr(signal, sig))
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "Traceback" not in stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == old
    assert _leftovers(out) == []


def test_a_signal_during_the_commit_is_held_until_the_set_is_whole(first_run) -> None:
    import json
    import signal

    out, newer, hook = first_run
    proc = _start(["analyze", newer, "-s", SURVEY, "--out", out], hook=f"committing:{hook}")
    _wait_for(hook / "paused-committing", proc)
    proc.send_signal(signal.SIGTERM)
    (hook / "go").touch()
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "Traceback" not in stderr
    assert json.loads((out / "result.json").read_text("utf-8"))["rows"]["used"] == 18
    assert "level,id" in (out / "result.csv").read_text("utf-8-sig")[:10]
    assert _leftovers(out) == []


def test_two_commands_writing_one_folder_never_mix(first_run, tmp_path: Path) -> None:
    import json

    out, newer, hook = first_run
    third = write_csv(tmp_path / "third.csv", rows_for(7))
    first = _start(["analyze", newer, "-s", SURVEY, "--out", out], hook=f"written:{hook}")
    _wait_for(hook / "paused-written", first)
    refused = run(
        "analyze", third, "-s", SURVEY, "--out", out, "--force", env={"ALIGNSCAN_LOCK_WAIT": "0"}
    )
    assert refused.returncode == 1 and "another alignscan command is writing" in refused.stderr
    later = _start(
        ["analyze", third, "-s", SURVEY, "--out", out, "--force"], ALIGNSCAN_LOCK_WAIT="600"
    )
    (hook / "go").touch()
    assert first.wait(timeout=120) == 0
    assert later.wait(timeout=120) == 0, later.communicate()
    result = json.loads((out / "result.json").read_text("utf-8"))
    assert result["rows"]["used"] == 14 and result["source"]["file"] == "third.csv"
    csv_rows = list(csv.reader(io.StringIO((out / "result.csv").read_text("utf-8-sig"))))
    groups = {r[4]: r for r in csv_rows if r[0] == "item" and r[5] == "n"}
    assert {int(float(r[6])) for g, r in groups.items() if not g.startswith("gap")} == {7}
    assert _leftovers(out) == []


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    import sys

    from alignscan.atomic import LOCK_NAME, write_all

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # its process id is free now
    (tmp_path / LOCK_NAME).write_text(f"{proc.pid}\n", encoding="ascii")
    write_all({tmp_path / "a.txt": "x"})
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "x"
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_part_past_its_size_limit_is_refused_unparsed(
    tmp_path: Path, no_parsing, monkeypatch
) -> None:
    path = bombs.too_many_rows(tmp_path / "big.xlsx", rows=50_000, numbered=True)
    # within the defaults the archive check passes and parsing is reached (the stub refuses)
    assert _refusal(path)["kind"] == "not_xlsx"
    monkeypatch.setenv("ALIGNSCAN_MAX_XLSX_PART_MB", "1")
    error = _refusal(path)
    assert error["kind"] == "too_large" and "ALIGNSCAN_MAX_XLSX_PART_MB" in error["reason"]
    assert "xl/worksheets/sheet1.xml" in error["reason"]
