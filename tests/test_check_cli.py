"""`alignscan check`, `template` and `analyze` as a user runs them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from conftest import run_cli

CORPUS = Path(__file__).parent / "data" / "responses"
SURVEY = str(CORPUS / "survey.yaml")


run = run_cli


def test_check_valid_file() -> None:
    done = run("check", str(CORPUS / "valid_utf8.csv"), "--survey", SURVEY)
    # valid cells, but analyze would refuse the groups of 2 and 4: check says so, exit 1
    assert done.returncode == 1, done.stdout + done.stderr
    assert "analyze would refuse: group 'executive' has fewer than 5" in done.stdout
    assert "rows read 6 = used 6 + excluded 0" in done.stdout
    # both groups are below the minimum of 5: shown as "< 5", never as their n
    assert "< 5" in done.stdout
    assert "executive" in done.stdout and "│ 2 " not in done.stdout


def test_check_invalid_file_lists_every_error_and_writes_them(tmp_path: Path) -> None:
    errors = tmp_path / "errors.csv"
    done = run(
        "check", str(CORPUS / "error_out_of_range.csv"), "--survey", SURVEY, "--errors", str(errors)
    )
    assert done.returncode == 1
    assert "answer 6 is outside the scale 1..5" in done.stdout
    rows = list(csv.DictReader(errors.open(encoding="utf-8")))
    assert [(r["row"], r["column"], r["value"]) for r in rows] == [
        ("3", "q2", "6"),
        ("6", "q4", "0"),
    ]


def test_check_json_format() -> None:
    done = run(
        "check", str(CORPUS / "error_unknown_role.csv"), "--survey", SURVEY, "--format", "json"
    )
    assert done.returncode == 1
    summary = json.loads(done.stdout)
    assert summary["valid"] is False
    assert summary["unknown_roles"] == {"Intern": 2}
    assert summary["rows"]["read"] == summary["rows"]["used"] + summary["rows"]["excluded"]
    assert {(e["row"], e["column"]) for e in summary["errors"]} == {
        (3, "role"),
        (5, "role"),
        (6, "role"),
    }


def test_check_usage_errors() -> None:
    assert run("check", str(CORPUS / "nope.csv"), "--survey", SURVEY).returncode == 2
    assert run("check", str(CORPUS / "valid_utf8.csv"), "--survey", "nope.yaml").returncode == 2
    assert run("check").returncode == 2
    assert run("check", str(CORPUS / "valid_utf8.csv"), "--delimiter", ";;").returncode == 2


def test_check_unreadable_file_is_exit_1() -> None:
    done = run("check", str(CORPUS / "error_not_text.csv"), "--survey", SURVEY)
    assert done.returncode == 1
    assert "not a text" in done.stderr


def test_template_then_check(tmp_path: Path) -> None:
    target = tmp_path / "template.csv"
    assert run("template", "-o", str(target)).returncode == 0
    header, texts = list(csv.reader(target.open(encoding="utf-8")))
    assert header[:2] == ["respondent_id", "role"]
    # no example respondent: the unfilled template has no responses to analyse
    empty = run("check", str(target))
    assert empty.returncode == 1 and "no responses" in empty.stdout
    # filled in below the question row, it is read and analysed as it is
    items = [c for c in header if c[-1].isdigit() and c != "respondent_id"]
    role_of = {"executive": "C-suite", "practitioner": "Individual contributor"}
    rows = []
    for i in range(12):
        group = "executive" if i % 2 else "practitioner"
        answers = {c: str(1 + (i + k) % 5) for k, c in enumerate(items)}
        base = {"respondent_id": f"r{i}", "role": role_of[group]}
        rows.append([answers.get(c, base.get(c, "")) for c in header])
    with target.open("a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    done = run("check", str(target), "-f", "json")
    assert done.returncode == 0, done.stdout
    summary = json.loads(done.stdout)
    assert summary["format"]["header_rows"] == 2
    assert summary["rows"]["used"] == 12
    assert run("analyze", str(target), "--no-save").returncode == 0


def test_analyze_refuses_small_compared_groups() -> None:
    done = run("analyze", str(CORPUS / "valid_utf8.csv"), "--survey", SURVEY, "--no-save")
    assert done.returncode == 1
    assert "fewer than 5 respondents" in done.stderr


def test_analyze_writes_outputs(tmp_path: Path) -> None:
    from alignscan.demo import write_demo_data

    wave1, _ = write_demo_data(tmp_path / "demo", n=400)
    out = tmp_path / "out"
    done = run("analyze", str(wave1), "--out", str(out), "--date", "2026-01-01")
    assert done.returncode == 0, done.stderr
    assert "Gap by dimension" in done.stdout
    for name in ("result.json", "result.csv", "report.html"):
        assert (out / name).stat().st_size > 0
    # the same analysis as JSON on stdout (the report date is stored in the result)
    again = run("analyze", str(wave1), "--format", "json", "--no-save", "--date", "2026-01-01")
    assert again.stdout == (out / "result.json").read_text(encoding="utf-8")
    rerender = tmp_path / "again.html"
    assert (
        run(
            "report", str(out / "result.json"), "--html", str(rerender), "--date", "2026-01-01"
        ).returncode
        == 0
    )
    assert rerender.read_bytes() == (out / "report.html").read_bytes()


def test_analyze_default_output_folder(tmp_path: Path) -> None:
    from alignscan.demo import write_demo_data

    wave1, wave2 = write_demo_data(tmp_path / "demo", n=300)
    done = run("analyze", str(wave1), cwd=tmp_path)
    assert done.returncode == 0
    folder = tmp_path / "reports" / "responses-q1"  # named after the responses file
    assert (folder / "report.html").exists()
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    # another client's file into the same folder: refused, nothing replaced
    done = run("analyze", str(wave2), "--out", str(folder), cwd=tmp_path)
    assert done.returncode == 2
    assert "results of responses-q1.csv, not of responses.csv" in done.stderr
    assert "--force" in done.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    # the same file again is fine, and --force replaces another file's results
    assert run("analyze", str(wave1), cwd=tmp_path).returncode == 0
    done = run("analyze", str(wave2), "--out", str(folder), "--force", cwd=tmp_path)
    assert done.returncode == 0
    saved = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    assert saved["source"]["file"] == "responses.csv"


# ----------------------------------------------------------------------------- more check cases

HEADER_LINE = "id,role,department,q1,q2,q3,q4,comment\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_check_json_structure_for_a_valid_file() -> None:
    done = run("check", str(CORPUS / "valid_utf8.csv"), "--survey", SURVEY, "--format", "json")
    assert done.returncode == 1, done.stderr  # valid, but both groups are too small
    summary = json.loads(done.stdout)
    assert "fewer than 5 respondents" in summary["analyze_refuses"]
    assert set(summary) >= {
        "file",
        "format",
        "valid",
        "rows",
        "cells_set_missing",
        "groups",
        "answered_share",
        "warnings",
        "unknown_roles",
        "error_count",
        "error_counts",
        "errors",
    }
    assert summary["valid"] is True and summary["errors"] == [] and summary["error_count"] == 0
    assert summary["format"] == {
        "type": "csv",
        "encoding": "utf-8",
        "delimiter": ",",
        "header_rows": 1,
        "export_tool": None,
        "sheet": None,
    }
    assert summary["rows"] == {"read": 6, "used": 6, "excluded": 0, "excluded_by_reason": {}}
    # 2 executives and 4 practitioners: both below 5, neither n is in the output
    assert summary["groups"] == {
        "executive": {"suppressed": True, "below": 5},
        "practitioner": {"suppressed": True, "below": 5},
    }
    assert set(summary["answered_share"]) == {"q1", "q2", "q3", "q4"}


def test_small_group_shown_as_below_minimum_next_to_a_large_one(tmp_path: Path) -> None:
    rows = [f"e{i},VP,D,1,2,3,4,\n" for i in range(7)] + [
        f"p{i},Engineer,D,1,2,3,4,\n" for i in range(3)
    ]
    path = write(tmp_path, "g.csv", HEADER_LINE + "".join(rows))
    done = run("check", str(path), "--survey", SURVEY)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "analyze would refuse: group 'practitioner' has fewer than 5" in done.stdout
    line = next(ln for ln in done.stdout.splitlines() if "│ Practitioner" in ln)  # display name
    assert "< 5" in line and "3" not in line
    assert "7" in next(ln for ln in done.stdout.splitlines() if "│ Executive" in ln)
    summary = json.loads(run("check", str(path), "--survey", SURVEY, "-f", "json").stdout)
    assert summary["groups"] == {
        "executive": {"n": 7},
        "practitioner": {"suppressed": True, "below": 5},
    }


def test_errors_csv_has_every_error_beyond_the_listed_twenty(tmp_path: Path) -> None:
    rows = [f"r{i},VP,D,9,2,3,4,\n" for i in range(30)]
    path = write(tmp_path, "many.csv", HEADER_LINE + "".join(rows))
    errors = tmp_path / "errors.csv"
    done = run("check", str(path), "--survey", SURVEY, "--errors", str(errors))
    assert done.returncode == 1
    assert "... and 10 more" in done.stdout
    assert "30 error(s); nothing analysed" in done.stdout
    written = list(csv.DictReader(errors.open(encoding="utf-8")))
    assert [(r["row"], r["column"], r["value"], r["kind"]) for r in written] == [
        (str(i + 2), "q1", "9", "out_of_range") for i in range(30)
    ]
    assert list(written[0]) == ["file", "row", "column", "value", "reason", "kind"]


def test_errors_csv_neutralises_formulas(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", HEADER_LINE + "r1,VP,D,=1+1,2,3,4,\n")
    errors = tmp_path / "errors.csv"
    assert run("check", str(path), "-s", SURVEY, "--errors", str(errors)).returncode == 1
    (row,) = list(csv.DictReader(errors.open(encoding="utf-8")))
    assert (row["row"], row["column"], row["kind"]) == ("2", "q1", "unknown_answer")
    assert row["value"] == "'=1+1"


def test_errors_csv_is_written_empty_for_a_valid_file(tmp_path: Path) -> None:
    errors = tmp_path / "errors.csv"
    done = run("check", str(CORPUS / "valid_utf8.csv"), "-s", SURVEY, "--errors", str(errors))
    assert done.returncode == 1 and "analyze would refuse" in done.stdout  # groups of 2 and 4
    assert errors.read_text(encoding="utf-8").splitlines() == ["file,row,column,value,reason,kind"]


def test_lenient_check_is_valid_and_shows_exclusions() -> None:
    done = run("check", str(CORPUS / "error_unknown_role.csv"), "-s", SURVEY, "--lenient")
    assert done.returncode == 1 and "analyze would refuse" in done.stdout  # 3 rows left
    # every group is below the minimum, so the 3 used rows are one small set: the row
    # totals are withheld (they would give its size); the reasons are still listed
    assert "row totals withheld" in done.stdout
    assert "excluded: role matches no group: 2" in done.stdout
    assert "excluded: role is blank: 1" in done.stdout


def test_check_strict_unknown_roles_hint() -> None:
    done = run("check", str(CORPUS / "error_unknown_role.csv"), "-s", SURVEY)
    assert done.returncode == 1
    assert "'Intern' (2)" in done.stdout and "roles.unmatched: ignore" in done.stdout


def test_check_xlsx_sheet_and_tab_delimiter(tmp_path: Path) -> None:
    done = run("check", str(CORPUS / "valid.xlsx"), "-s", SURVEY, "--sheet", "Responses")
    assert "✓ valid" not in done.stdout and "analyze would refuse" in done.stdout  # tiny groups
    assert done.returncode == 1 and "Excel workbook, sheet 'Responses'" in done.stdout
    missing = run("check", str(CORPUS / "valid.xlsx"), "-s", SURVEY, "--sheet", "Nope")
    assert missing.returncode == 1 and "no sheet named 'Nope'" in missing.stderr
    tab = run("check", str(CORPUS / "valid_utf16_tab.csv"), "-s", SURVEY, "--delimiter", "tab")
    assert tab.returncode == 1 and "tab-separated" in tab.stdout
    assert "rows read 6 = used 6" in tab.stdout and "analyze would refuse" in tab.stdout


def test_check_missing_file_in_json_mode_is_exit_2(tmp_path: Path) -> None:
    done = run("check", str(tmp_path / "nope.csv"), "-s", SURVEY, "-f", "json")
    assert done.returncode == 2 and "no such file" in done.stderr


def test_check_header_only_and_empty_files(tmp_path: Path) -> None:
    header = run("check", str(CORPUS / "error_header_only.csv"), "-s", SURVEY)
    assert header.returncode == 1 and "no responses" in header.stdout
    empty = run("check", str(CORPUS / "error_empty.csv"), "-s", SURVEY)
    assert empty.returncode == 1 and "empty" in empty.stderr


@pytest.mark.parametrize("encoding", ["bogus", "utf-16"])
def test_check_bad_encoding_option_is_a_clear_error(encoding: str) -> None:
    done = run("check", str(CORPUS / "valid_utf8.csv"), "-s", SURVEY, "--encoding", encoding)
    assert done.returncode in (1, 2)
    assert "internal error" not in done.stdout + done.stderr


def test_check_json_for_an_unreadable_file() -> None:
    done = run("check", str(CORPUS / "error_not_text.csv"), "-s", SURVEY, "-f", "json")
    assert done.returncode == 1
    summary = json.loads(done.stdout)
    assert summary["valid"] is False


def test_template_to_stdout_and_for_a_custom_survey(tmp_path: Path) -> None:
    done = run("template", "--survey", SURVEY)
    assert done.returncode == 0
    rows = list(csv.reader(done.stdout.splitlines()))
    assert rows[0] == ["id", "role", "department", "q1", "q2", "q3", "q4", "comment"]
    assert len(rows) == 2 and rows[1][3:7] == ["First", "Second", "Third", "Fourth"]
    target = tmp_path / "t.csv"
    assert run("template", "-s", SURVEY, "-o", str(target)).returncode == 0
    done = run("check", str(target), "-s", SURVEY, "-f", "json")
    assert done.returncode == 1  # the question-text row is a header, not a respondent
    summary = json.loads(done.stdout)
    assert summary["rows"]["read"] == 0 and summary["format"]["header_rows"] == 2
    assert [e["kind"] for e in summary["errors"]] == ["no_rows"]


def test_template_to_an_unwritable_place(tmp_path: Path) -> None:
    done = run("template", "-o", str(tmp_path), "--force")
    assert done.returncode == 1 and "can't write" in done.stderr
