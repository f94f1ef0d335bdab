"""`alignscan check`, `template` and `analyze` as a user runs them."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

CORPUS = Path(__file__).parent / "data" / "responses"
SURVEY = str(CORPUS / "survey.yaml")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("ALIGNSCAN_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "alignscan", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=cwd,
    )
    assert "Traceback" not in done.stdout + done.stderr
    return done


def test_check_valid_file() -> None:
    done = run("check", str(CORPUS / "valid_utf8.csv"), "--survey", SURVEY)
    assert done.returncode == 0, done.stdout + done.stderr
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
    header = next(csv.reader(target.open(encoding="utf-8")))
    assert header[:2] == ["respondent_id", "role"]
    assert run("check", str(target)).returncode == 0


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
    again = run("analyze", str(wave1), "--format", "json", "--no-save")
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

    wave1, _ = write_demo_data(tmp_path / "demo", n=300)
    done = run("analyze", str(wave1), cwd=tmp_path)
    assert done.returncode == 0
    assert (tmp_path / "reports" / "ai-alignment" / "report.html").exists()
