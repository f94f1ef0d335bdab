"""alignscan in CI and installed anywhere: the validate walk, the pre-commit hook, the
GitHub Action, `alignscan demo`, `python -m alignscan`, and a wheel that works outside
the checkout. The `slow` tests install alignscan into fresh virtualenvs (about a minute
each; deselect with -m 'not slow')."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from alignscan.cli import app
from alignscan.survey import discover_survey_files

ROOT = Path(__file__).resolve().parents[1]
GOOD = (ROOT / "surveys" / "example-ai-pulse.yaml").read_text(encoding="utf-8")
BAD = GOOD.replace("favorable: [4, 5]", "favorable: [4, 9]")
BAD_LINE = next(i for i, line in enumerate(BAD.splitlines(), 1) if "favorable: [4, 9]" in line)
BAD_COL = BAD.splitlines()[BAD_LINE - 1].index("9]") + 1
runner = CliRunner()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.pop("ALIGNSCAN_DEBUG", None)
    return {**env, "COLUMNS": "200", "NO_COLOR": "1", **extra}


def venv_bin(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


# ----------------------------------------------------------------------------- validate walk


def test_validate_walk_skips_hidden_folders_virtualenvs_and_node_modules(tmp_path: Path) -> None:
    (tmp_path / "surveys").mkdir()
    (tmp_path / "surveys" / "pulse.yaml").write_text(GOOD, encoding="utf-8")
    junk = [
        ".venv/lib/site-packages/pkg/conf.yaml",
        "venv/x.yml",
        "env-py311/lib/thing.yaml",  # a virtualenv under any name: it has a pyvenv.cfg
        "condaenv/lib/thing.yaml",  # a conda environment: it has conda-meta/
        "node_modules/pkg/config.yaml",
        "surveys/__pycache__/cached.yaml",
        ".git/hooks/x.yaml",
        ".github/workflows/ci.yml",
        ".pre-commit-config.yaml",  # hidden files too
    ]
    for rel in junk:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("not: [a survey", encoding="utf-8")
    (tmp_path / "env-py311" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    (tmp_path / "condaenv" / "conda-meta").mkdir()
    files, missing = discover_survey_files([tmp_path])
    assert (files, missing) == ([tmp_path / "surveys" / "pulse.yaml"], [])
    done = runner.invoke(app, ["validate", str(tmp_path)])
    assert done.exit_code == 0, done.stdout
    assert "1 survey file(s) valid" in done.stdout
    # named explicitly, a file or folder is checked even where a walk would not go
    named = runner.invoke(
        app, ["validate", str(tmp_path / ".github"), str(tmp_path / "venv/x.yml")]
    )
    assert named.exit_code == 1 and "2 of 2 file(s)" in named.stdout


# ----------------------------------------------------------------------------- pre-commit


def hook() -> dict:
    hooks = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (only,) = hooks
    return only


def test_pre_commit_hook_manifest() -> None:
    h = hook()
    assert h["id"] == "alignscan-validate"
    assert h["entry"] == "alignscan validate" and h["language"] == "python"
    files = re.compile(h["files"])
    for path in (
        "surveys/pulse.yaml",
        "hr/surveys/pulse-2026.yml",
        "survey/a.yaml",
        "x/pulse.survey.yaml",
    ):
        assert files.search(path), path
    for path in (
        "action.yml",
        ".github/workflows/ci.yml",
        "config/app.yaml",
        "surveys/survey.schema.json",
    ):
        assert not files.search(path), path


@pytest.mark.slow
def test_pre_commit_try_repo_fails_on_the_bad_survey_only(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        pytest.skip("pre-commit is not installed (pip install -e '.[dev]' brings it)")
    repo = tmp_path / "repo"
    for rel, text in {
        "surveys/good.yaml": GOOD,
        "surveys/bad.yaml": BAD,
        "config/app.yaml": "not: [a survey",  # outside the hook's `files`: never checked
    }.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text, encoding="utf-8")
    # PIP_COMPILE=0: no .pyc for the hook's dependencies (halves the install time)
    env = clean_env(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), PIP_COMPILE="0")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(ROOT),
            "alignscan-validate",
            "--all-files",
            "--verbose",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "alignscan validate (survey definitions)" in out and "Failed" in out
    assert f"surveys/bad.yaml:{BAD_LINE}:" in out and "outside 1..5" in out
    assert "1 error(s) in 1 of 2 file(s)" in out  # good.yaml checked and valid; app.yaml not
    assert "config/app.yaml" not in out and "Traceback" not in out


# ----------------------------------------------------------------------------- GitHub Action


def action() -> dict:
    return YAML(typ="safe").load((ROOT / "action.yml").read_text(encoding="utf-8"))


def test_action_structure() -> None:
    doc = action()
    assert doc["name"] and doc["description"]
    assert doc["inputs"]["path"]["default"] == "surveys/"
    assert doc["runs"]["using"] == "composite"
    runs = [s for s in doc["runs"]["steps"] if "run" in s]
    assert runs and all(s.get("shell") == "bash" for s in runs)
    # inputs reach scripts through env only: an input can't inject shell code
    assert not any("${{" in s["run"] for s in runs)
    install, check = runs
    assert '"$GITHUB_ACTION_PATH"' in install["run"]
    assert check["env"]["ALIGNSCAN_PATHS"] == "${{ inputs.path }}"
    assert 'alignscan validate --format github -- "${paths[@]}"' in check["run"]


@pytest.mark.slow
def test_action_steps_run_as_on_a_runner(tmp_path: Path) -> None:
    """The action's two shell steps, run by bash as a runner would, in a workspace with a
    good and a bad survey (and a virtualenv the walk must skip)."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    install, check = [s for s in action()["runs"]["steps"] if "run" in s]
    work = tmp_path / "workspace"
    (work / "surveys").mkdir(parents=True)
    (work / "surveys" / "good.yaml").write_text(GOOD, encoding="utf-8")
    (work / "surveys" / "bad.yaml").write_text(BAD, encoding="utf-8")
    (work / "surveys" / "good2.yml").write_text(GOOD, encoding="utf-8")
    (work / "surveys" / ".venv").mkdir()
    (work / "surveys" / ".venv" / "x.yaml").write_text("not: [yaml", encoding="utf-8")
    github_path = tmp_path / "github_path"
    github_path.touch()
    runner_env = clean_env(
        GITHUB_ACTION_PATH=str(ROOT),
        RUNNER_TEMP=str(tmp_path / "runner"),
        GITHUB_PATH=str(github_path),
    )
    (tmp_path / "runner").mkdir()
    done = subprocess.run(
        ["bash", "-c", install["run"]],
        cwd=work,
        env=runner_env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    added = github_path.read_text().split()
    assert added and (Path(added[0]) / "alignscan").exists()
    path = os.pathsep.join([*added, runner_env["PATH"]])
    step_env = {
        **runner_env,
        "PATH": path,
        "ALIGNSCAN_PATHS": action()["inputs"]["path"]["default"],
    }
    done = subprocess.run(
        ["bash", "-c", check["run"]],
        cwd=work,
        env=step_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        f"::error file=surveys/bad.yaml,line={BAD_LINE},col={BAD_COL}::scale.favorable[1]: favorable code 9 is outside 1..5"
    ]
    step_env["ALIGNSCAN_PATHS"] = "surveys/good.yaml surveys/good2.yml"  # several paths
    done = subprocess.run(
        ["bash", "-c", check["run"]],
        cwd=work,
        env=step_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (done.returncode, done.stdout) == (0, ""), done.stderr


# ----------------------------------------------------------------------------- demo, -m, wheel


def test_demo_command_writes_the_demo_into_a_folder(tmp_path: Path) -> None:
    from alignscan.demo import write_demo_data

    out = tmp_path / "my demo"
    done = runner.invoke(app, ["demo", "--out", str(out)])
    assert done.exit_code == 0, done.stdout
    assert {p.name for p in out.iterdir()} >= {
        "responses.csv",
        "responses-q1.csv",
        "result.json",
        "result.csv",
        "report.html",
    }
    expected = write_demo_data(tmp_path / "again")  # the same seeded data, written on its own
    for written in expected:
        assert (out / written.name).read_bytes() == written.read_bytes()
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert result["rows"]["read"] == 2000 and result["source"]["file"] == "responses.csv"
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    refused = runner.invoke(app, ["demo", "--out", str(a_file)])
    assert refused.exit_code == 2 and a_file.read_text(encoding="utf-8") == "x"


def test_python_dash_m_alignscan_is_the_cli(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "alignscan", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        cwd=tmp_path,
    )
    assert done.returncode == 0
    assert "Usage: python -m alignscan" in done.stdout
    for command in ("validate", "diff", "demo", "analyze", "trend"):
        assert re.search(rf"^\W*{command}\b", done.stdout, re.M), command


@pytest.mark.slow
def test_wheel_works_in_a_fresh_virtualenv_outside_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        env=clean_env(),
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = dist.glob("alignscan-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "alignscan/data/ai-alignment.yaml",
        "alignscan/templates/report.html.j2",
        "alignscan/templates/trend.html.j2",
        "alignscan/__main__.py",
    ):
        assert needed in names, needed
    assert not any(n.startswith(("tests/", "surveys/", "benchmarks/")) for n in names)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv_bin(venv) / "python"
    installed = subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--no-compile", str(wheel)],
        capture_output=True,
        text=True,
        timeout=900,
        env=clean_env(),
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    exe = str(venv_bin(venv) / "alignscan")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*args], cwd=elsewhere, capture_output=True, text=True, timeout=600, env=clean_env()
        )

    where = run(str(py), "-c", "import alignscan; print(alignscan.__file__)")
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # not the checkout
    demo = run(exe, "demo", "--out", "demo")
    assert demo.returncode == 0, demo.stderr
    done = run(exe, "analyze", "demo/responses.csv", "--out", "acme", "--date", "2026-04-15")
    assert done.returncode == 0, done.stderr
    assert "Gap by dimension" in done.stdout
    report = (elsewhere / "acme" / "report.html").read_text(encoding="utf-8")
    assert report.startswith("<!DOCTYPE html>") and "Confidence in ROI" in report
    result = json.loads((elsewhere / "acme" / "result.json").read_text(encoding="utf-8"))
    assert result["survey"]["id"] == "ai-alignment" and result["rows"]["read"] == 2000
    schema = run(str(py), "-m", "alignscan", "schema")
    assert json.loads(schema.stdout) == json.loads(
        (ROOT / "surveys" / "survey.schema.json").read_text(encoding="utf-8")
    )
    init = run(exe, "init", "mine.yaml")
    assert init.returncode == 0 and run(exe, "validate", "mine.yaml").returncode == 0
