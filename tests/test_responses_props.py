"""Invariants of reading and coding, for any file hypothesis can write."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignscan.responses import read_responses
from alignscan.survey import read_survey_file

CORPUS = Path(__file__).parent / "data" / "responses"
SURVEY = read_survey_file(CORPUS / "survey.yaml").survey
LABELS = SURVEY.scale.labels
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEADER = ["id", "role", "department", "q1", "q2", "q3", "q4", "comment"]


@st.composite
def answer(draw):
    """(cell text, expected code) for any valid way of writing an answer."""
    code = draw(st.integers(0, 5))
    if code == 0:
        return draw(st.sampled_from(["", "  ", "N/A", "n/a", "Prefer not to say"])), 0
    form = draw(st.sampled_from(["code", "float", "label"]))
    if form == "code":
        text = str(code)
    elif form == "float":
        text = f"{code}.0"
    else:
        label = LABELS[code - 1]
        text = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in label)
    pad = draw(st.sampled_from(["", " ", "  "]))
    return pad + text + draw(st.sampled_from(["", " "])), code


def write(rows, delimiter=",") -> Path:
    tmp = Path(tempfile.mkdtemp()) / "r.csv"
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=delimiter).writerows([HEADER, *rows])
    return tmp


@SETTINGS
@given(
    st.lists(st.lists(answer(), min_size=4, max_size=4), min_size=1, max_size=30),
    st.sampled_from([",", ";", "\t"]),
)
def test_codes_labels_and_blanks_round_trip(answers, delimiter) -> None:
    rows = [
        [f"r{i}", "VP" if i % 2 else "Engineer", "X", *(t for t, _ in row), ""]
        for i, row in enumerate(answers)
    ]
    rs = read_responses(write(rows, delimiter), SURVEY)
    assert rs.errors == []
    assert rs.codes.tolist() == [[c for _, c in row] for row in answers]


cell = st.one_of(
    st.sampled_from(["1", "5", "Agree", "", "N/A", "7", "nope", "0", "-1", "2.5"]),
    st.text(alphabet="abc12 ", max_size=4),
)
role = st.sampled_from(["VP", "C-suite", "Engineer", "Analyst", "Intern", "", "  vp "])


@SETTINGS
@given(
    st.lists(
        st.tuples(role, st.lists(cell, min_size=4, max_size=4), st.booleans()),
        min_size=1,
        max_size=40,
    ),
    st.booleans(),
)
def test_rows_read_always_equal_used_plus_excluded(rows, lenient) -> None:
    lines = []
    for i, (r, cells, dup) in enumerate(rows):
        lines.append(
            [f"r{i // 2 if dup else i}x{i}" if not dup else f"dup{i % 3}", r, "D", *cells, ""]
        )
    rs = read_responses(write(lines), SURVEY, lenient=lenient)
    assert rs.rows.read == len(rows)
    assert rs.rows.read == rs.rows.used + rs.rows.excluded_total
    if lenient:
        assert rs.errors == []
        assert rs.rows.used == len(rs.codes) == len(rs.group)
        assert ((rs.codes >= 0) & (rs.codes <= 5)).all()
    else:
        assert (rs.rows.used == 0) == bool(rs.errors) or rs.rows.read == 0
        if rs.errors:
            assert all(e.row is None or 2 <= e.row <= len(rows) + 1 for e in rs.errors)
    assert np.asarray(rs.codes).dtype == np.int8


def random_case(draw, text: str) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c.lower() for c in text)


@st.composite
def any_answer(draw):
    """(cell text, expected code): codes, '4.0', labels, aliases and missing values, in any
    case and with spaces around."""
    code = draw(st.integers(0, 5))
    if code == 0:
        text = draw(st.sampled_from(["", "N/A", "Prefer not to say"]))
    else:
        forms = ["code", "float", "label"] + (["alias"] if code == 4 else [])
        form = draw(st.sampled_from(forms))
        text = {
            "code": str(code),
            "float": f"{code}.0",
            "label": LABELS[code - 1],
            "alias": "Agree somewhat",
        }[form]
    text = random_case(draw, text)
    return draw(st.sampled_from(["", " ", "\t"])) + text + draw(st.sampled_from(["", "  "])), code


@SETTINGS
@given(
    st.lists(st.lists(any_answer(), min_size=4, max_size=4), min_size=1, max_size=20),
    st.sampled_from(["VP", " vp ", "C-SUITE", "engineer", " Analyst"]),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
def test_any_answer_form_round_trips_also_in_xlsx_and_crlf(answers, role, newline, xlsx) -> None:
    rows = [[f"r{i}", role, "X", *(t for t, _ in row), ""] for i, row in enumerate(answers)]
    if xlsx:
        from openpyxl import Workbook

        wb = Workbook()
        for row in [HEADER, *rows]:
            wb.active.append(row)
        path = Path(tempfile.mkdtemp()) / "r.xlsx"
        wb.save(path)
    else:
        path = Path(tempfile.mkdtemp()) / "r.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator=newline).writerows([HEADER, *rows])
    rs = read_responses(path, SURVEY)
    assert rs.errors == []
    assert rs.codes.tolist() == [[c for _, c in row] for row in answers]
    assert rs.rows.read == rs.rows.used == len(answers)


line = st.one_of(
    st.tuples(role, st.lists(cell, min_size=4, max_size=4)).map(
        lambda t: ["ID", t[0], "D", *t[1], ""]
    ),
    st.just([]),  # a blank line
    st.lists(cell, min_size=1, max_size=10).map(lambda c: ["ID", "VP", *c]),  # maybe ragged
)


@SETTINGS
@given(st.lists(line, min_size=1, max_size=30), st.booleans(), st.sampled_from([",", ";"]))
def test_read_is_used_plus_excluded_with_ragged_and_blank_lines(lines, lenient, delim) -> None:
    rows = [[f"r{i % 7}" if c == "ID" else c for c in r] for i, r in enumerate(lines)]
    tmp = Path(tempfile.mkdtemp()) / "r.csv"
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=delim).writerows([HEADER, *rows])
    rs = read_responses(tmp, SURVEY, lenient=lenient)
    assert rs.rows.read == rs.rows.used + rs.rows.excluded_total
    nonblank = [r for r in rows if any(c.strip() for c in r)]
    assert rs.rows.read == len(nonblank)
    if lenient:
        assert rs.errors == [] or rs.rows.read == 0
        assert rs.rows.used == len(rs.codes) == len(rs.group)
    else:
        assert (rs.rows.used == 0) == bool(rs.errors) or rs.rows.read == 0
        assert all(e.row is None or 2 <= e.row <= len(rows) + 1 for e in rs.errors)
