"""Issue 18: the papercuts a new user hits in the first hour, one test each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alignscan.result.models import ResultDocument
from conftest import run_cli

CORPUS = Path(__file__).parent / "data" / "responses"
SURVEY = str(CORPUS / "survey.yaml")


def run(*args: object, cwd: Path | None = None, columns: int = 200, env: dict | None = None):
    return run_cli(*args, cwd=cwd, columns=columns, env=env)


@pytest.fixture(scope="module")
def waves(tmp_path_factory) -> tuple[Path, Path]:
    from alignscan.demo import write_demo_data

    return write_demo_data(tmp_path_factory.mktemp("waves"), n=300)


def test_report_without_html_writes_next_to_the_json(waves, tmp_path: Path) -> None:
    out = tmp_path / "acme"
    assert run("analyze", waves[1], "--no-save", "--json", out / "result.json").returncode == 0
    done = run("report", out / "result.json")
    assert done.returncode == 0, done.stderr
    assert (out / "report.html").exists() and str(out / "report.html") in done.stdout


def test_no_comments_keeps_counts_and_drops_texts(waves, tmp_path: Path) -> None:
    full, bare = tmp_path / "full.json", tmp_path / "bare.json"
    assert run("analyze", waves[1], "--no-save", "--json", full).returncode == 0
    assert run("analyze", waves[1], "--no-save", "--json", bare, "--no-comments").returncode == 0
    a = json.loads(full.read_text("utf-8"))
    b = json.loads(bare.read_text("utf-8"))
    texts = [t["text"] for c in a["comments"] for g in c["groups"].values()
             for t in g.get("texts", [])]
    assert texts, "the demo data has comments to leave out"
    assert not any(t in bare.read_text("utf-8") for t in texts)
    for ca, cb in zip(a["comments"], b["comments"], strict=True):
        for g, cell in ca["groups"].items():
            other = cb["groups"][g]
            assert other.get("count") == cell.get("count")  # counts stay (or stay hidden)
            assert other.get("texts", []) == []
    assert b["items"] == a["items"] and b["dimensions"] == a["dimensions"]
    ResultDocument.model_validate(b)  # still a valid result
    assert run("report", bare, "--html", tmp_path / "r.html").returncode == 0


def test_strict_analyze_ends_with_the_lenient_hint(tmp_path: Path) -> None:
    done = run("analyze", CORPUS / "error_out_of_range.csv", "-s", SURVEY, "--no-save")
    assert done.returncode == 1
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines[-1] == "fix these, or re-run with --lenient to exclude and count them"


def test_check_footer_only_when_errors_are_left_unlisted() -> None:
    done = run("check", CORPUS / "error_out_of_range.csv", "-s", SURVEY)
    assert done.returncode == 1
    assert "the rest are counted above" not in done.stdout
    assert "answer 6 is outside the scale 1..5" in done.stdout


def test_a_fractional_answer_is_not_a_whole_number_code(tmp_path: Path) -> None:
    bad = tmp_path / "half.csv"
    source = (CORPUS / "error_out_of_range.csv").read_text(encoding="utf-8")
    bad.write_text(source.replace("C-suite,Ingénierie,Agree,5,", "C-suite,Ingénierie,Agree,3.5,"),
                   encoding="utf-8")
    done = run("check", bad, "-s", SURVEY)
    assert done.returncode == 1
    assert "answer 3.5 is not a whole-number code of the scale 1..5" in done.stdout


def test_trend_warns_about_the_same_wave_twice(waves, tmp_path: Path) -> None:
    done = run("trend", waves[1], waves[1])
    assert "is the same file as" in done.stderr
    copy = tmp_path / "copy.csv"
    copy.write_bytes(waves[1].read_bytes())
    done = run("trend", waves[1], copy)
    assert "has the same content as" in done.stderr
    assert "same" not in run("trend", waves[0], waves[1]).stderr


@pytest.mark.parametrize(
    "args,reason",
    [
        (["check", CORPUS / "valid_utf8.csv", "-s", SURVEY, "--sheet", "Data"], "--sheet is for Excel"),
        (["check", CORPUS / "valid_utf8.csv", "-s", SURVEY, "--header-rows", "50"], "--header-rows 50"),
        (["analyze", CORPUS / "valid_utf8.csv", "-s", SURVEY, "--format", "github"], "not supported by analyze"),
        (["trend", CORPUS / "valid_utf8.csv", CORPUS / "valid_utf8.csv", "--format", "github"], "not supported by trend"),
        (["schema", "--result", "--trend"], "not both"),
    ],
)
def test_options_that_cannot_apply_are_usage_errors(args, reason: str) -> None:
    done = run(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert reason in done.stderr


def _commands() -> list[list[str]]:
    import typer.main

    from alignscan.cli import app

    root = typer.main.get_command(app)
    out = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        out += [[name, sub] for sub in subs] if subs else [[name]]
    return out


def test_help_at_80_columns_has_plain_flags_and_whole_sentences() -> None:
    import typer.main

    from alignscan.cli import app

    root = typer.main.get_command(app)
    for path in [[], *_commands()]:
        done = run(*path, "--help", columns=80)
        assert done.returncode == 0
        assert "<bool>" not in done.stdout, path
        assert max(len(line) for line in done.stdout.splitlines()) <= 80
        cmd = root
        for part in path:
            cmd = cmd.commands[part]  # type: ignore[attr-defined]
        # each paragraph of the description is one line, wrapped by the terminal only
        for paragraph in (cmd.help or "").split("\n\n"):
            assert "\n" not in paragraph, (path, paragraph)


def test_demo_next_hint_works_without_activating(tmp_path: Path) -> None:
    bindir = Path(sys.executable).parent
    if not (bindir / "alignscan").exists():
        pytest.skip("alignscan is not installed as a script next to this Python")
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if Path(p).resolve() != bindir.resolve())
    done = run("demo", "--out", tmp_path / "demo", env={"PATH": path})
    assert done.returncode == 0, done.stderr
    hint = next(line for line in done.stdout.splitlines() if line.startswith("Next: "))
    command = hint.split()[1]
    assert command != "alignscan" and Path(command).resolve() == (bindir / "alignscan").resolve()
    # and the hinted command runs from the same shell
    first = hint.split("|")[0].split()[1:]
    assert subprocess.run(first, capture_output=True, env={**os.environ, "PATH": path}).returncode == 0


def test_validate_suggests_the_closest_key_and_wants_real_booleans(tmp_path: Path) -> None:
    from alignscan.survey import builtin_survey_text

    text = builtin_survey_text()
    lines = text.splitlines()
    path = tmp_path / "s.yaml"
    path.write_text(text.replace("dimensions:", "dimenions:", 1), encoding="utf-8")
    done = run("validate", path, "--format", "json")
    assert done.returncode == 1
    unknown = next(p for p in json.loads(done.stdout) if "dimenions" in p["message"])
    assert "did you mean 'dimensions'?" in unknown["message"]
    assert lines[unknown["line"] - 1].startswith("dimensions:")
    path.write_text(text.replace("reverse: true", "reverse: yes", 1), encoding="utf-8")
    done = run("validate", path, "--format", "json")
    assert done.returncode == 1
    (boolean,) = json.loads(done.stdout)
    assert boolean["path"].endswith(".reverse") and "true or false" in boolean["message"]
    assert "reverse: true" in lines[boolean["line"] - 1]  # the first reverse-keyed item's line
    # a real boolean is fine, and quoting yes does not make it one
    path.write_text(text.replace("reverse: true", "reverse: 'true'", 1), encoding="utf-8")
    assert run("validate", path).returncode == 1
    path.write_text(text, encoding="utf-8")
    assert run("validate", path).returncode == 0


def test_init_writes_the_schema_its_first_line_names(tmp_path: Path) -> None:
    target = tmp_path / "client" / "my-survey.yaml"
    done = run("init", target)
    assert done.returncode == 0, done.stderr
    first = target.read_text(encoding="utf-8").splitlines()[0]
    named = first.split("$schema=", 1)[1].strip()
    schema = target.parent / named
    assert schema.exists()
    assert json.loads(schema.read_text("utf-8")) == json.loads(run("schema").stdout)
    # an existing schema file is left as it is
    schema.write_text("{}", encoding="utf-8")
    assert run("init", tmp_path / "client" / "other.yaml").returncode == 0
    assert schema.read_text("utf-8") == "{}"
