"""Hostile input: whatever bytes arrive, the reader and the survey loader answer with
a clear error or a result whose counts add up, never an exception of their own."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignscan.responses import ResponsesError, read_responses
from alignscan.survey import load_survey_text, read_survey_file

CORPUS = Path(__file__).parent / "data" / "responses"
SURVEY = read_survey_file(CORPUS / "survey.yaml").survey
HEADER = b"id,role,department,q1,q2,q3,q4,comment\n"
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

csvish = st.lists(
    st.sampled_from(
        [
            b",",
            b";",
            b"\t",
            b'"',
            b"\n",
            b"\r\n",
            b"VP",
            b"Agree",
            b"4",
            b"\xff",
            b"\x00",
            b"\xef\xbb\xbf",
            b"=1+1",
            b" ",
            b"Engineer",
            b"r1",
            b"\\",
        ]
    ),
    max_size=60,
).map(b"".join)


def _read(data: bytes, **options):
    path = Path(tempfile.mkdtemp()) / "hostile.csv"
    path.write_bytes(data)
    try:
        rs = read_responses(path, SURVEY, **options)
    except ResponsesError as exc:
        assert exc.error.reason
        return None
    assert rs.rows.read == rs.rows.used + rs.rows.excluded_total
    for e in rs.errors:
        assert e.reason and (e.row is None or e.row >= 1)
    return rs


@SETTINGS
@given(st.binary(max_size=300))
def test_any_bytes(data: bytes) -> None:
    _read(data)


@SETTINGS
@given(csvish, st.booleans())
def test_csv_like_garbage_after_a_valid_header(body: bytes, lenient: bool) -> None:
    _read(HEADER + body, lenient=lenient)


@SETTINGS
@given(st.text(max_size=400))
def test_any_yaml_text_gives_problems_not_exceptions(text: str) -> None:
    result = load_survey_text(text, "fuzz.yaml")
    assert result.ok or result.problems
    for p in result.problems:
        assert p.message and p.line >= 0


yamlish = st.lists(
    st.sampled_from(
        [
            "id: x",
            "title:",
            " ",
            "\n",
            "  ",
            "- ",
            "[",
            "]",
            "{",
            "}",
            "&a ",
            "*a",
            "!!str ",
            "!!python/object:os.system ",
            "\t",
            ": ",
            "'",
            '"',
            "? ",
            "| ",
            "> ",
            "%YAML 1.1\n",
            "---\n",
            "...\n",
            "<<: ",
            "dimensions:",
            "scale:",
            "points: 5",
            "no",
            "1e3",
            "~",
            "#",
            ",",
            "\x00",
            "\ufeff",
        ]
    ),
    max_size=50,
).map("".join)


@SETTINGS
@given(yamlish)
def test_yaml_like_garbage_gives_problems_not_exceptions(text: str) -> None:
    result = load_survey_text(text, "fuzz.yaml")
    assert result.ok or result.problems


def test_yaml_tags_on_keys_and_bad_tagged_values_are_problems_with_a_position() -> None:
    for text, line, column in (
        ("id: x\n!!python/object:os.system key: 1\n", 2, 1),
        ("!!python/object:os.system : 1\n", 1, 1),
        ("!!int abc: 1\n", 1, 1),
        ("id: x\nscale: !!int abc\n", 2, 8),
        ("!!float x: 2\n", 1, 1),
    ):
        result = load_survey_text(text, "tagged.yaml")
        assert not result.ok
        problem = result.problems[0]
        assert (problem.line, problem.column) == (line, column), (text, problem)
        assert "internal error" not in problem.message and problem.message
