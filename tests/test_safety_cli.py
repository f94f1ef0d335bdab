"""Nothing lost, nothing crashes (issue 19), tried as a user runs alignscan: outputs that
are inputs, all-or-nothing writes, Excel read in full, hostile text, clear errors."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import run_cli

CORPUS = Path(__file__).parent / "data" / "responses"
SURVEY = CORPUS / "survey.yaml"
HEADER = ["id", "role", "department", "q1", "q2", "q3", "q4", "comment"]


run = run_cli


def rows_for(n_per_group: int = 6, department: str = "D", comment: str = "") -> list[list[str]]:
    """Valid respondents: n executives (VP) and n practitioners (Engineer)."""
    out = []
    for i in range(2 * n_per_group):
        role = "VP" if i % 2 else "Engineer"
        answers = [str(1 + (i + k) % 5) for k in range(4)]
        out.append([f"r{i}", role, department, *answers, comment])
    return out


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


@pytest.fixture
def responses(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "r.csv", rows_for())


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# ----------------------------------------------------------------------------- never overwrite


def test_check_errors_onto_the_responses_is_refused(responses: Path, tmp_path: Path) -> None:
    before = responses.read_bytes()
    done = run("check", responses, "-s", SURVEY, "--errors", responses)
    assert done.returncode == 2
    assert f"output {responses}" in done.stderr and f"input file {responses}" in done.stderr
    assert responses.read_bytes() == before
    link = tmp_path / "link.csv"
    link.symlink_to(responses)
    done = run("check", responses, "-s", SURVEY, "--errors", link)
    assert done.returncode == 2 and str(link) in done.stderr
    assert responses.read_bytes() == before


@pytest.mark.parametrize("option", ["--json", "--html", "--csv", "--pdf", "--errors"])
@pytest.mark.parametrize("target", ["responses", "survey"])
def test_analyze_outputs_onto_an_input_are_refused(
    responses: Path, tmp_path: Path, option: str, target: str
) -> None:
    survey = tmp_path / "survey.yaml"
    survey.write_bytes(SURVEY.read_bytes())
    victim = responses if target == "responses" else survey
    before = snapshot(tmp_path)
    done = run("analyze", responses, "-s", survey, "--no-save", option, victim)
    assert done.returncode == 2, done.stderr
    assert str(victim) in done.stderr and "nothing was written" in done.stderr
    assert snapshot(tmp_path) == before


def test_analyze_out_folder_holding_the_input_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    inside = write_csv(out / "result.csv", rows_for())
    before = inside.read_bytes()
    done = run("analyze", inside, "-s", SURVEY, "--out", out)
    assert done.returncode == 2 and "result.csv" in done.stderr
    assert inside.read_bytes() == before and sorted(os.listdir(out)) == ["result.csv"]


def test_report_and_trend_refuse_to_overwrite_their_inputs(responses: Path, tmp_path: Path):
    result = tmp_path / "res.json"
    assert run("analyze", responses, "-s", SURVEY, "--no-save", "--json", result).returncode == 0
    before = result.read_bytes()
    done = run("report", result, "--html", result)
    assert done.returncode == 2 and result.read_bytes() == before
    w2 = write_csv(tmp_path / "w2.csv", rows_for(7))
    wave1 = responses.read_bytes()
    done = run("trend", responses, w2, "-s", SURVEY, "--json", responses)
    assert done.returncode == 2 and responses.read_bytes() == wave1
    done = run("trend", responses, w2, "-s", SURVEY, "--html", w2)
    assert done.returncode == 2 and "w2.csv" in done.stderr


def test_two_outputs_onto_one_file_are_refused(responses: Path, tmp_path: Path) -> None:
    same = tmp_path / "both.out"
    done = run("analyze", responses, "-s", SURVEY, "--no-save", "--json", same, "--csv", same)
    assert done.returncode == 2 and "two different outputs" in done.stderr
    assert not same.exists()
    alias = tmp_path / "alias.out"
    alias.symlink_to(same)
    done = run("analyze", responses, "-s", SURVEY, "--no-save", "--json", same, "--csv", alias)
    assert done.returncode == 2 and "another output" in done.stderr and not same.exists()
    out = tmp_path / "o"
    again = run("analyze", responses, "-s", SURVEY, "-o", out, "--json", out / "result.json")
    assert again.returncode == 0  # the same content asked for twice is written once


def test_template_does_not_replace_a_file_without_force(tmp_path: Path) -> None:
    target = tmp_path / "mine.csv"
    target.write_text("precious", encoding="utf-8")
    done = run("template", "-s", SURVEY, "-o", target)
    assert done.returncode == 1 and "--force" in done.stderr
    assert target.read_text(encoding="utf-8") == "precious"
    assert run("template", "-s", SURVEY, "-o", target, "--force").returncode == 0
    assert target.read_text(encoding="utf-8").startswith("id,role,")
    assert run("template", "-s", SURVEY, "-o", SURVEY).returncode in (1, 2)
    assert SURVEY.read_text(encoding="utf-8").startswith("# The survey")


# ----------------------------------------------------------------------------- atomic writes


def _analyze_in_process(args: list[str]):
    from typer.testing import CliRunner

    from alignscan.cli import app

    return CliRunner().invoke(app, args)


def test_a_failing_rename_mid_set_leaves_the_old_files(
    responses: Path, tmp_path: Path, monkeypatch
) -> None:
    out = tmp_path / "out"
    first = _analyze_in_process(["analyze", str(responses), "-s", str(SURVEY), "--out", str(out)])
    assert first.exit_code == 0, first.output
    old = snapshot(out)
    assert set(old) == {"result.json", "result.csv", "report.html"}
    # a new wave: different results, and the second rename fails (a kill, a full disk...)
    newer = write_csv(tmp_path / "r2.csv", rows_for(9))
    real_replace = os.replace
    calls = []

    def flaky_replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    done = _analyze_in_process(
        ["analyze", str(newer), "-s", str(SURVEY), "--out", str(out), "--force"]
    )
    assert done.exit_code == 1 and "No space left" in done.output
    assert snapshot(out) == old  # the one already replaced was rolled back
    assert sorted(os.listdir(out)) == sorted(old)  # no temporary file left behind
    monkeypatch.setattr(os, "replace", real_replace)
    again = _analyze_in_process(["analyze", str(newer), "-s", str(SURVEY), "--out", str(out), "--force"])
    assert again.exit_code == 0
    new = snapshot(out)
    assert all(new[name] != old[name] for name in ("result.json", "result.csv"))
    assert json.loads(new["result.json"])["rows"]["used"] == 18  # the complete new set


def test_a_full_disk_while_writing_leaves_the_old_files_and_no_temp(
    responses: Path, tmp_path: Path, monkeypatch
) -> None:
    import alignscan.atomic as atomic

    out = tmp_path / "out"
    assert _analyze_in_process(["analyze", str(responses), "-s", str(SURVEY), "-o", str(out)])
    old = snapshot(out)
    real = atomic._write_temp
    written = []

    def fill_up(path: Path, data: bytes) -> Path:
        written.append(path)
        if len(written) == 3:  # the third output finds the disk full half-way
            tmp = real(path, data[: len(data) // 2])
            os.unlink(tmp)
            raise OSError(28, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(atomic, "_write_temp", fill_up)
    newer = write_csv(tmp_path / "r2.csv", rows_for(9))
    done = _analyze_in_process(["analyze", str(newer), "-s", str(SURVEY), "-o", str(out), "--force"])
    assert done.exit_code == 1 and "no file was changed" in done.output
    assert snapshot(out) == old and sorted(os.listdir(out)) == sorted(old)


def test_first_write_into_a_new_folder_fails_cleanly(tmp_path: Path, monkeypatch) -> None:
    from alignscan.atomic import WriteFailed, write_all

    real_replace = os.replace
    calls = []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise OSError(5, "Input/output error")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    out = tmp_path / "new"
    with pytest.raises(WriteFailed):
        write_all({out / "a": "1", out / "b": b"2", out / "c": "3"})
    assert os.listdir(out) == []  # the two written before the failure are removed again


# ----------------------------------------------------------------------------- Excel in full


def _workbook(path: Path, rows: list[list[object]], extra_sheets: int = 0, first=None) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    if first is not None:
        ws.title = "Notes"
        ws.append([first])
        ws = wb.create_sheet("Data")
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def _rewrite_part(path: Path, part_suffix: str, edit) -> None:
    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    name = next(n for n in parts if n.endswith(part_suffix))
    parts[name] = edit(parts[name])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, data in parts.items():
            zf.writestr(n, data)


def test_xlsx_with_an_understated_dimension_is_read_in_full(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "w.xlsx", [HEADER, *rows_for(20)])
    _rewrite_part(
        path,
        "sheet1.xml",
        lambda x: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:H9"', x),
    )
    done = run("check", path, "-s", SURVEY, "-f", "json")
    summary = json.loads(done.stdout)
    assert done.returncode == 0, done.stdout
    assert summary["rows"]["read"] == 40 and summary["rows"]["used"] == 40


def test_xlsx_formula_without_saved_value_is_a_cell_error(tmp_path: Path) -> None:
    rows = rows_for()
    rows[1][3] = "=1+3"  # openpyxl saves formulas without a cached value
    path = _workbook(tmp_path / "f.xlsx", [HEADER, *rows])
    done = run("check", path, "-s", SURVEY, "-f", "json")
    assert done.returncode == 1
    (error,) = json.loads(done.stdout)["errors"]
    assert (error["row"], error["column"], error["kind"]) == (3, "q1", "unsaved_formula")
    assert error["reason"] == (
        "formula without a saved value: open and save the file in Excel, or export CSV"
    )


def test_xlsx_over_excel_row_limit_is_refused(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "big.xlsx", [HEADER, *rows_for()])
    far = b'<row r="1048577"><c r="A1048577" t="inlineStr"><is><t>x</t></is></c></row>'
    _rewrite_part(path, "sheet1.xml", lambda x: x.replace(b"</sheetData>", far + b"</sheetData>"))
    done = run("check", path, "-s", SURVEY)
    assert done.returncode == 1 and "more than 1,048,576 rows" in done.stderr


def test_xlsx_with_entity_declarations_is_refused_unparsed(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "e.xlsx", [HEADER, *rows_for()])
    dtd = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    _rewrite_part(path, "xl/workbook.xml", lambda x: dtd + x)
    done = run("check", path, "-s", SURVEY)
    assert done.returncode == 1 and "declares XML entities" in done.stderr


def test_old_xls_gets_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    done = run("check", path, "-s", SURVEY)
    assert done.returncode == 1
    assert "the old .xls format is not supported: save as .xlsx or CSV" in done.stderr


def test_the_sheet_with_the_survey_columns_is_used_and_named(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "s.xlsx", [HEADER, *rows_for()], first="Read me first")
    done = run("check", path, "-s", SURVEY)
    assert done.returncode == 0, done.stdout
    assert "sheet 'Data'" in done.stdout and "first sheet 'Notes'" in done.stdout


def test_title_rows_above_the_header(tmp_path: Path) -> None:
    path = tmp_path / "hris.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["Engagement export"], ["2026-03-01"], HEADER, *rows_for()])
    hint = run("check", path, "-s", SURVEY)
    assert hint.returncode == 1 and "--header-row 3" in hint.stdout
    done = run("check", path, "-s", SURVEY, "--header-row", "3", "-f", "json")
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["rows"]["used"] == 12
    bad = rows_for()
    bad[0][3] = "9"
    bad[1] = bad[1][:4]
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["Engagement export"], [], HEADER, *bad])
    done = run("check", path, "-s", SURVEY, "--header-row", "3", "-f", "json")
    errors = [(e["row"], e["column"], e["kind"]) for e in json.loads(done.stdout)["errors"]]
    # the rows a spreadsheet shows
    assert errors == [(4, "q1", "out_of_range"), (5, None, "ragged_row")]


def test_title_rows_in_a_workbook(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "t.xlsx", [["Quarterly export"], [], HEADER, *rows_for()])
    assert "--header-row 3" in run("check", path, "-s", SURVEY).stdout
    assert run("check", path, "-s", SURVEY, "--header-row", "3").returncode == 0


# ----------------------------------------------------------------------------- hostile text


def _hostile_survey(tmp_path: Path, item: str, title: str) -> Path:
    text = SURVEY.read_text(encoding="utf-8")
    text = text.replace("{id: q1, text: First}", "{id: q1, text: " + json.dumps(item) + "}")
    text = text.replace("title: One", "title: " + json.dumps(title))
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_markup_and_control_characters_in_data_text(tmp_path: Path) -> None:
    survey = _hostile_survey(
        tmp_path, "Rate [/b] this \x1b]0;pwned\x07 \u202eitem", "[company] goals"
    )
    rows = rows_for(6, department="[red]Sales\x1b[2J", comment="fine")
    for i, row in enumerate(rows):  # a significant gap on q1, so the terminal lists it
        row[3] = str((4 if row[1] == "VP" else 1) + i // 2 % 2)
    path = write_csv(tmp_path / "h.csv", rows)
    env = {"COLUMNS": "250"}
    done = run("analyze", path, "-s", survey, "--out", tmp_path / "out", env=env)
    assert done.returncode == 0, done.stderr
    assert "[company] goals" in done.stdout  # shown, not eaten as markup
    assert "Rate [/b] this" in done.stdout
    for bad in ("\x1b", "\x07", "\u202e"):
        assert bad not in done.stdout + done.stderr
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    # the override is confined to its isolate: <bdi> in HTML, FSI..PDI in SVG text
    assert re.search("<bdi>Rate \\[/b\\] this [^<]*\u202eitem</bdi>", html)
    assert re.search("\u2068Rate \\[/b\\] this [^<\u2069]*\u202eitem\u2069", html)
    assert "<bdi>[red]Sales" in html


def test_check_escapes_values_and_names(tmp_path: Path) -> None:
    rows = rows_for()
    rows[0][1] = "[bold]Boss[/bold]\x1b[31m"
    path = write_csv(tmp_path / "r.csv", rows)
    done = run("check", path, "-s", SURVEY)
    assert done.returncode == 1
    assert "[bold]Boss[/bold]" in done.stdout and "\x1b" not in done.stdout


def test_one_formula_guard_for_every_csv(tmp_path: Path) -> None:
    from alignscan.textsafe import csv_cell

    for text in ["=1+1", "+1+2", "-1+2", "@SUM(A1)", "\tx", "\rx", "＝1", "＋1", "－1", "＠x"]:
        assert csv_cell(text) == "'" + text
    assert csv_cell(-0.25) == "-0.25" and csv_cell("-3") == "-3" and csv_cell("Sales") == "Sales"
    rows = rows_for(6, department="＝HYPERLINK(1)")
    rows[0][3] = "@SUM(1)"
    path = write_csv(tmp_path / "r.csv", rows)
    errors = tmp_path / "errors.csv"
    assert run("check", path, "-s", SURVEY, "--errors", errors).returncode == 1
    (row,) = list(csv.DictReader(errors.open(encoding="utf-8")))
    assert row["value"] == "'@SUM(1)"
    rows[0][3] = "1"
    write_csv(path, rows)
    out = tmp_path / "result.csv"
    assert run("analyze", path, "-s", SURVEY, "--no-save", "--csv", out).returncode == 0
    table = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    values = {r["segment_value"] for r in table if r["level"] == "segment"}
    assert values == {"'＝HYPERLINK(1)"}
    gaps = [float(r["value"]) for r in table if r["metric"] == "mean" and "gap" in r["group"]]
    assert any(g < 0 for g in gaps) or any(g > 0 for g in gaps)  # numbers stay numbers
    assert not any(r["value"].startswith("'") for r in table if r["metric"] == "mean")


# ----------------------------------------------------------------------------- clear errors


def test_unknown_encoding_suggests_cp1252_for_ansi() -> None:
    done = run("check", CORPUS / "valid_utf8.csv", "-s", SURVEY, "--encoding", "ansi")
    assert done.returncode == 1 and "unknown encoding 'ansi'" in done.stderr
    assert "cp1252" in done.stderr


def test_utf16_without_bom() -> None:
    done = run("check", CORPUS / "valid_utf8.csv", "-s", SURVEY, "--encoding", "utf-16")
    assert done.returncode == 1 and "byte order mark" in done.stderr and "utf-16-le" in done.stderr


def test_a_5000_digit_integer_in_a_survey(tmp_path: Path) -> None:
    text = SURVEY.read_text(encoding="utf-8").replace("points: 5", "points: " + "9" * 5000)
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    for args in (["validate", path], ["check", CORPUS / "valid_utf8.csv", "-s", path]):
        done = run(*args)
        assert done.returncode == 1 and "number is too long" in done.stdout + done.stderr


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda d: d.pop("items"), "items"),
        (lambda d: d["rows"].update(used="NaN-marker"), "is not a valid result JSON"),
        (lambda d: d["rows"].update(used="Inf-marker"), "is not a valid result JSON"),
        (lambda d: d["rows"].update(used="Huge-marker"), "out of range"),
    ],
)
def test_broken_result_json(responses: Path, tmp_path: Path, mutate, message: str) -> None:
    result = tmp_path / "res.json"
    assert run("analyze", responses, "-s", SURVEY, "--no-save", "--json", result).returncode == 0
    doc = json.loads(result.read_text(encoding="utf-8"))
    mutate(doc)
    text = json.dumps(doc).replace('"NaN-marker"', "NaN").replace('"Inf-marker"', "Infinity")
    result.write_text(text.replace('"Huge-marker"', "1e999"), encoding="utf-8")
    done = run("report", result, "--html", tmp_path / "r.html")
    assert done.returncode == 1 and message in done.stderr
    assert not (tmp_path / "r.html").exists()


def test_deeply_nested_result_json(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    done = run("report", path, "--html", tmp_path / "r.html")
    assert done.returncode == 1 and "nested too deeply" in done.stderr
    done = run("trend", path, path, "--json", tmp_path / "t.json")
    assert done.returncode == 1


@pytest.mark.parametrize("epoch", ["99999999999999999999", "-99999999999999", "soon"])
def test_source_date_epoch_out_of_range(responses: Path, tmp_path: Path, epoch: str) -> None:
    env = {"SOURCE_DATE_EPOCH": epoch}
    done = run("analyze", responses, "-s", SURVEY, "--out", tmp_path / "o", env=env)
    assert done.returncode == 2 and "SOURCE_DATE_EPOCH" in done.stderr
    assert not (tmp_path / "o").exists()


def test_a_csv_field_over_131072_characters_is_read(tmp_path: Path) -> None:
    long_comment = "x" * 140_000
    path = write_csv(tmp_path / "long.csv", rows_for(6, comment=long_comment))
    done = run("check", path, "-s", SURVEY, "-f", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["rows"]["used"] == 12


def test_output_to_a_closed_pipe_still_writes_the_files(responses: Path, tmp_path: Path):
    """`| true` closes the pipe before alignscan (still importing) writes to it."""
    out = tmp_path / "out"
    for args in (
        f'analyze "{responses}" -s "{SURVEY}" --out "{out}"',
        f'check "{responses}" -s "{SURVEY}" -f json --errors "{tmp_path / "e.csv"}"',
    ):
        done = subprocess.run(
            f'set -o pipefail; "{sys.executable}" -m alignscan {args} | true',
            shell=True,
            executable="/bin/bash",
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
            timeout=300,
        )
        # nothing on stderr but the line saying where the errors CSV went (no broken-pipe noise)
        said = [line for line in done.stderr.splitlines() if not line.startswith("wrote ")]
        assert done.returncode == 0 and said == [], done.stderr
    assert {p.name for p in out.iterdir()} == {"result.json", "result.csv", "report.html"}
    assert (tmp_path / "e.csv").read_text(encoding="utf-8").startswith("file,row,column")


# ----------------------------------------------------------------------------- say it first


def test_check_says_what_analyze_would_refuse(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "small.csv", rows_for(6)[:9])  # 4 executives, 5 practitioners
    checked = run("check", path, "-s", SURVEY)
    analysed = run("analyze", path, "-s", SURVEY, "--no-save")
    assert checked.returncode == analysed.returncode == 1
    assert "group 'executive' has fewer than 5 respondents" in checked.stdout
    assert "group 'executive' has fewer than 5 respondents" in analysed.stderr
    fine = write_csv(tmp_path / "fine.csv", rows_for(5))
    assert run("check", fine, "-s", SURVEY).returncode == 0
    assert run("analyze", fine, "-s", SURVEY, "--no-save").returncode == 0


def test_no_item_column_is_one_error_naming_the_survey(tmp_path: Path) -> None:
    done = run("check", CORPUS / "valid_utf8.csv", "-f", "json")  # built-in survey
    assert done.returncode == 1
    (error,) = json.loads(done.stdout)["errors"]
    assert error["kind"] == "no_item_columns"
    assert "'ai-alignment'" in error["reason"] and "--survey" in error["reason"]
    assert "built-in survey" in error["reason"]


def test_swapped_arguments_get_a_hint() -> None:
    done = run("check", SURVEY)
    assert done.returncode == 2 and "is a survey definition" in done.stderr
    assert "--survey" in done.stderr


def test_xlsx_template_has_answer_dropdowns_and_round_trips(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "t.xlsx"
    assert run("template", "-s", SURVEY, "--xlsx", "-o", path).returncode == 0
    wb = load_workbook(path)
    ws = wb["responses"]
    assert [c.value for c in ws[1]] == HEADER
    assert [c.value for c in ws[2]][3:7] == ["First", "Second", "Third", "Fourth"]
    (validation,) = ws.data_validations.dataValidation
    assert validation.type == "list"
    ranges = str(validation.sqref).split()
    assert sorted(r[0] for r in ranges) == ["D", "E", "F", "G"]  # q1..q4 only
    sheet, cells = validation.formula1.split("!")
    labels = [c[0].value for c in wb[sheet][cells.replace("$", "")]]
    assert labels == ["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"]
    for i, row in enumerate(rows_for(), start=3):
        for j, value in enumerate(row, start=1):
            ws.cell(row=i, column=j, value=value)
    wb.save(path)
    done = run("check", path, "-s", SURVEY, "-f", "json")
    assert done.returncode == 0, done.stdout
    summary = json.loads(done.stdout)
    assert summary["rows"]["used"] == 12 and summary["format"]["header_rows"] == 2


def test_a_result_missing_any_key_is_refused_cleanly(responses: Path, tmp_path: Path) -> None:
    """Remove each key the result holds (first element of each list): `report` either
    renders or exits 1 with a message, never fails inside the renderer."""
    import copy

    result = tmp_path / "res.json"
    done = _analyze_in_process(
        ["analyze", str(responses), "-s", str(SURVEY), "--no-save", "--json", str(result)]
    )
    assert done.exit_code == 0, done.output
    doc = json.loads(result.read_text(encoding="utf-8"))

    def paths(node, prefix=()):
        if isinstance(node, dict):
            for key, value in node.items():
                yield (*prefix, key)
                yield from paths(value, (*prefix, key))
        elif isinstance(node, list) and node:
            yield from paths(node[0], (*prefix, 0))

    tried = 0
    for path in paths(doc):
        broken = copy.deepcopy(doc)
        parent = broken
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
        mutated = tmp_path / "m.json"
        mutated.write_text(json.dumps(broken), encoding="utf-8")
        out = _analyze_in_process(["report", str(mutated), "--html", str(tmp_path / "m.html")])
        assert out.exception is None or isinstance(out.exception, SystemExit), (path, out)
        assert out.exit_code in (0, 1), (path, out.output)
        tried += 1
    assert tried > 50


def test_output_to_a_device_writes_into_it_and_leaves_it_a_device(
    responses: Path, tmp_path: Path
) -> None:
    """`--json /dev/null` is a common way to run without keeping the result: the device
    is written to, never replaced by a regular file (which root could do in /dev)."""
    import stat

    devnull = Path(os.devnull)
    assert stat.S_ISCHR(devnull.stat().st_mode)
    done = run("analyze", responses, "-s", SURVEY, "--no-save", "--json", os.devnull)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR(devnull.stat().st_mode)
    assert not list(Path("/dev").glob(".alignscan-*"))  # no temporary file left there
