"""Every command's `--help` example and the README tour, run as a user would in a fresh
folder: each works, and the repository is exactly as it was afterwards."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def repo_state() -> dict[str, str]:
    """Hash of every file git sees (tracked or not ignored), plus `git status`."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    state = {
        name: hashlib.sha256((ROOT / name).read_bytes()).hexdigest()
        for name in listed if name and (ROOT / name).is_file()
    }
    status = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True)
    state["(git status)"] = status.stdout.decode()
    return state


def alignscan(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    env.pop("ALIGNSCAN_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "alignscan", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=600,
    )
    assert "Traceback" not in done.stdout + done.stderr, args
    return done


def help_examples() -> list[str]:
    """The `Example:` line of every command's help."""
    import typer.main

    from alignscan.cli import app

    root = typer.main.get_command(app)
    found = []
    stack = list(root.commands.values())  # type: ignore[attr-defined]
    while stack:
        cmd = stack.pop()
        stack += list(getattr(cmd, "commands", {}).values())
        match = re.search(r"Example:\s+(alignscan [^()]*)", cmd.epilog or "")
        if match:
            found.append(match.group(1).strip())
    return found


def tour_commands() -> list[str]:
    """The `alignscan ...` lines of the README's five-minute tour (continuations joined)."""
    text = (ROOT / "README.md").read_text("utf-8")
    tour = text.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", tour, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            if line.startswith("alignscan "):
                commands.append(line)
    return commands


def run_line(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command, _, redirect = line.partition(">")
    args = []
    for arg in shlex.split(command)[1:]:  # the shell's glob, as a user's shell does it
        args += sorted(str(p.relative_to(cwd)) for p in cwd.glob(arg)) if "*" in arg else [arg]
    done = alignscan(args, cwd)
    if redirect:
        target = cwd / redirect.strip()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(done.stdout, encoding="utf-8")
    return done


def readme_csv(name: str) -> str:
    """The README's CSV block for `reports/tour/<name>`: the first ```text block after
    the ```sh block that uses it (the tour says to save it under that name)."""
    text = (ROOT / "README.md").read_text("utf-8")
    after = text.split(f"reports/tour/{name}\n```", 1)[1]
    return re.search(r"```text\n(.*?)```", after, flags=re.S).group(1)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A user's folder: the demo data, and the files the examples name from a clone."""
    here = tmp_path_factory.mktemp("user")
    for part in ("surveys", "tests/data/responses"):
        shutil.copytree(ROOT / part, here / part)
    # the demo also writes the sample organisations' results the tour's norms step pools
    assert alignscan(["demo", "--out", "reports/demo"], here).returncode == 0
    (here / "reports" / "tour").mkdir()
    for name in ("headcount.csv", "weights.csv"):  # the README's own blocks, as told
        (here / "reports" / "tour" / name).write_text(readme_csv(name), encoding="utf-8")
    return here


def test_help_examples_and_the_readme_tour_leave_the_repository_unchanged(folder) -> None:
    before = repo_state()
    examples, tour = help_examples(), tour_commands()
    assert len(examples) >= 12 and len(tour) >= 15
    for line in examples + tour:
        done = run_line(line, folder)
        # the tour checks a broken (and tiny) export on purpose: exit 1 is the point
        expected = 1 if "error_unknown_role.csv" in line else 0
        assert done.returncode == expected, (line, done.stdout[-2000:], done.stderr[-2000:])
    assert repo_state() == before
    # every example writes under reports/ (git-ignored), never beside the checkout's files
    outputs = {p.relative_to(folder).parts[0] for p in folder.rglob("*") if p.is_file()}
    assert outputs <= {"surveys", "tests", "reports"}, outputs
