"""The survey commands as a user runs them: validate, schema, init, --help, --version."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alignscan import __version__
from alignscan.cli import app
from alignscan.survey import survey_json_schema
from conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

BAD = """\
id: bad
title: Bad
version: "1"
scale: {points: 5, labels: [a, b, c, d, e], favorable: [4, 9]}
roles: {column: role, groups: {a: [x], b: [y]}, compare: [a, b]}
dimensions:
  - id: d
    title: D
    items: [{id: q1, text: one}, {id: q2, text: two, colour: red}]
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the command line with its real error handling, as a user would (in-process)."""
    return run_cli(*args)


@pytest.fixture
def survey_dir(tmp_path: Path) -> Path:
    good = tmp_path / "surveys" / "nested"
    good.mkdir(parents=True)
    shutil.copy(ROOT / "surveys" / "ai-alignment.yaml", good / "good.yaml")
    (tmp_path / "surveys" / "bad.yml").write_text(BAD, "utf-8")
    (tmp_path / "surveys" / "notes.txt").write_text("not a survey", "utf-8")
    return tmp_path / "surveys"


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"alignscan {__version__}"


def test_every_command_has_help_with_an_example() -> None:
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert {"validate", "schema", "init"} <= set(commands)
    for name in commands:
        result = runner.invoke(app, [name, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, name
        assert "Example" in result.output, f"{name} --help has no example"


def test_validate_valid_files_exit_0(survey_dir: Path) -> None:
    result = run("validate", str(survey_dir / "nested"))
    assert result.returncode == 0, result.stderr
    assert "1 survey file(s) valid" in result.stdout


def test_validate_directory_recursive_reports_bad_file_exit_1(survey_dir: Path) -> None:
    result = run("validate", str(survey_dir))
    assert result.returncode == 1
    assert "bad.yml" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_validate_json_format(survey_dir: Path) -> None:
    result = run("validate", "--format", "json", str(survey_dir / "bad.yml"))
    assert result.returncode == 1
    problems = json.loads(result.stdout)
    assert {tuple(sorted(p)) for p in problems} == {
        ("column", "file", "line", "message", "path", "severity")
    }
    by_path = {p["path"]: p for p in problems}
    assert by_path["dimensions[0].items[1].colour"]["line"] == 9
    assert by_path["dimensions[0].items[1].colour"]["file"].endswith("bad.yml")


def test_validate_collects_errors_from_every_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(BAD, "utf-8")
    (tmp_path / "b.yaml").write_text(BAD.replace("favorable: [4, 9]", "favorable: [0]"), "utf-8")
    (tmp_path / "c.yaml").write_text("", "utf-8")
    result = run("validate", "--format", "json", str(tmp_path))
    files = {Path(p["file"]).name for p in json.loads(result.stdout)}
    assert files == {"a.yaml", "b.yaml", "c.yaml"}
    assert result.returncode == 1


def test_validate_github_format(survey_dir: Path) -> None:
    good = ROOT / "surveys" / "ai-alignment.yaml"
    bad = survey_dir / "bad.yml"
    bad.write_text(BAD.replace("colour: red", "reverse: true"), "utf-8")
    result = run("validate", "--format", "github", str(bad), str(good))
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    col = BAD.splitlines()[3].index("9]") + 1  # the offending value itself
    assert lines == [
        f"::error file={bad},line=4,col={col}::scale.favorable[1]: favorable code 9 is outside 1..5"
    ]


def test_validate_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = run("validate", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    assert run("validate").returncode == 2
    empty_dir = run("validate", str(tmp_path))
    assert empty_dir.returncode == 2
    assert run("validate", "--format", "xml", str(tmp_path)).returncode == 2


def test_schema_matches_committed_file() -> None:
    committed = json.loads((ROOT / "surveys" / "survey.schema.json").read_text("utf-8"))
    assert committed == survey_json_schema(), (
        "surveys/survey.schema.json is stale: run `alignscan schema > surveys/survey.schema.json`"
    )
    result = run("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout) == committed


def test_check_jsonschema_accepts_the_shipped_surveys() -> None:
    exe = Path(sys.executable).parent / "check-jsonschema"
    if not exe.exists():
        pytest.fail("check-jsonschema is a dev dependency and must be installed")
    surveys = sorted(str(p) for p in (ROOT / "surveys").glob("*.yaml"))
    assert surveys
    result = subprocess.run(
        [str(exe), "--schemafile", str(ROOT / "surveys" / "survey.schema.json"), *surveys],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_jsonschema_rejects_a_bad_survey(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "check-jsonschema"
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, "utf-8")
    result = subprocess.run(
        [str(exe), "--schemafile", str(ROOT / "surveys" / "survey.schema.json"), str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1


def test_init_writes_builtin_and_refuses_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "mine.yaml"
    first = run("init", str(target))
    assert first.returncode == 0
    assert target.read_text("utf-8") == (ROOT / "surveys" / "ai-alignment.yaml").read_text()
    target.write_text("changed", "utf-8")
    second = run("init", str(target))
    assert second.returncode == 1
    assert "already exists" in second.stderr
    assert target.read_text("utf-8") == "changed"
    third = run("init", str(target), "--force")
    assert third.returncode == 0
    assert run("validate", str(target)).returncode == 0


@pytest.mark.parametrize(
    "flag,committed",
    [("--result", "docs/result.schema.json"), ("--trend", "docs/trend.schema.json")],
)
def test_output_schemas_match_committed_files(flag: str, committed: str) -> None:
    from alignscan.extras.trend import trend_json_schema
    from alignscan.render.tabular import result_json_schema

    expected = result_json_schema() if flag == "--result" else trend_json_schema()
    on_disk = json.loads((ROOT / committed).read_text("utf-8"))
    assert on_disk == expected, f"{committed} is stale: run `alignscan schema {flag} > {committed}`"
    assert json.loads(run("schema", flag).stdout) == expected


def test_every_help_example_runs(tmp_path: Path) -> None:
    """The example in each command's --help works as written (after `make demo`)."""
    import re
    import shlex

    from alignscan.demo import write_demo_data

    shutil.copytree(ROOT / "surveys", tmp_path / "surveys")
    write_demo_data(tmp_path / "reports" / "demo")  # the demo's own bytes: `demo` may replace them
    done = run_cli("analyze", "reports/demo/responses.csv", "--out", "reports/demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    examples = {}
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        epilog = command.epilog or ""
        match = re.search(r"Example:\s+(alignscan [^(]+)", epilog)
        assert match, name
        examples[name] = match.group(1).strip()
    for name, example in examples.items():
        argv = shlex.split(example)
        target = None
        if ">" in argv:
            target = tmp_path / argv[argv.index(">") + 1]
            argv = argv[: argv.index(">")]
        assert argv[0] == "alignscan", example
        done = run_cli(*argv[1:], cwd=tmp_path, columns=300)
        assert done.returncode == 0, (name, example, done.stdout[-500:], done.stderr[-500:])
        if target is not None:
            target.write_text(done.stdout, encoding="utf-8")
