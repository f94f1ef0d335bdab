"""Error messages are never hard-wrapped: a long path stays on one line in a pipe,
in a narrow terminal (COLUMNS=60) and under CliRunner."""

from __future__ import annotations

import pytest
import typer

from alignscan.cli.output import fail


def test_a_long_error_message_stays_on_one_line(monkeypatch, capsys) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    path = "/tmp/" + "a-very-long-folder-name/" * 8 + "report.html"
    with pytest.raises(typer.Exit) as exc:
        fail(f"cannot write {path}: No space left on device")
    assert exc.value.exit_code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert path in err and "No space left on device" in err
