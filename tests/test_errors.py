"""One error tree: every error the library raises for input it can't use is an
AlignscanError with a stable code, and still the kind of error callers caught before."""

from __future__ import annotations

import pytest

from alignscan.analysis.analysis import AnalysisError
from alignscan.atomic import OutputClash, WriteFailed
from alignscan.counting.counts import CountTableError
from alignscan.errors import AlignscanError, OptionError
from alignscan.extras.norms import NormsError
from alignscan.extras.trend import TrendError
from alignscan.render.html import PdfUnavailable
from alignscan.responses import ResponsesError
from alignscan.survey import SurveyError

PUBLIC = [
    AnalysisError,
    CountTableError,
    NormsError,
    OptionError,
    OutputClash,
    PdfUnavailable,
    ResponsesError,
    SurveyError,
    TrendError,
    WriteFailed,
]


@pytest.mark.parametrize("cls", PUBLIC, ids=lambda c: c.__name__)
def test_every_public_error_is_an_alignscan_error_with_a_code(cls):
    assert issubclass(cls, AlignscanError)
    assert cls.code and cls.code != AlignscanError.code
    assert cls.exit_code in (1, 2)


def test_codes_are_distinct():
    codes = [c.code for c in PUBLIC]
    assert len(set(codes)) == len(codes)


def test_the_former_bases_still_catch_them():
    """Callers that caught ValueError or OSError keep working."""
    assert issubclass(TrendError, ValueError)
    assert issubclass(CountTableError, ValueError)
    assert issubclass(OutputClash, ValueError)
    failed = WriteFailed("out/report.html", PermissionError(13, "Permission denied"))
    assert isinstance(failed, OSError) and failed.errno == 13
    assert "can't write out/report.html: Permission denied" in str(failed)


def test_code_and_hint_can_be_given_per_raise():
    exc = AlignscanError("no such thing", code="missing", hint="give another")
    assert (str(exc), exc.code, exc.hint) == ("no such thing", "missing", "give another")
    assert AlignscanError("plain").hint == ""


def test_the_command_line_prints_the_hint_and_uses_the_exit_code(monkeypatch, capsys):
    """An AlignscanError that reaches the command line's edge: its message, its hint,
    its exit code (2 for a usage error), no traceback."""
    import alignscan.cli as cli

    def boom() -> None:
        raise OptionError("unknown option 'lenint'", hint="valid options: lenient")

    monkeypatch.setattr(cli, "app", boom)
    with pytest.raises(SystemExit) as exit_info:
        cli._run()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err == "error: unknown option 'lenint'\nhint: valid options: lenient\n"
