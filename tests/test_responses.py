"""Reading real exports: every format gives the same codes; every error case is reported
at the spreadsheet row and column a person would look at."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from alignscan.responses import ResponsesError, read_responses, template_rows
from alignscan.survey import load_survey, read_survey_file

CORPUS = Path(__file__).parent / "data" / "responses"
sys.path.insert(0, str(CORPUS))
from make_corpus import EXPECTED_CODES, EXPECTED_GROUPS, ROWS  # noqa: E402

sys.path.remove(str(CORPUS))


@pytest.fixture(scope="module")
def survey():
    result = read_survey_file(CORPUS / "survey.yaml")
    assert result.ok, result.problems
    return result.survey


VALID = [
    ("valid_utf8.csv", "utf-8", ",", None, 1),
    ("valid_bom_semicolon_crlf.csv", "utf-8", ";", None, 1),
    ("valid_utf16_tab.csv", "utf-16", "\t", None, 1),
    ("valid_cp1252.csv", "cp1252", ",", None, 1),
    ("valid_trailing_blank_lines.csv", "utf-8", ",", None, 1),
    ("qualtrics_export.csv", "utf-8", ",", "Qualtrics", 3),
    ("surveymonkey_export.csv", "utf-8", ",", "SurveyMonkey", 2),
    ("valid.xlsx", None, None, None, 1),
]


@pytest.mark.parametrize("name,encoding,delimiter,tool,header_rows", VALID)
def test_every_format_gives_the_same_codes(
    survey, name, encoding, delimiter, tool, header_rows
) -> None:
    rs = read_responses(CORPUS / name, survey)
    assert rs.errors == [], rs.errors
    assert rs.source.encoding == encoding
    assert rs.source.delimiter == delimiter
    assert rs.source.export_tool == tool
    assert rs.source.header_rows == header_rows
    assert (rs.rows.read, rs.rows.used, rs.rows.excluded_total) == (6, 6, 0)
    assert rs.codes.tolist() == EXPECTED_CODES
    assert list(rs.group) == EXPECTED_GROUPS
    assert list(rs.segments["department"]) == [
        "Ingénierie",
        "Comptabilité",
        "Ingénierie",
        "Comptabilité",
        "(blank)",
        "Ingénierie",
    ]
    assert list(rs.comments["comment"]) == [r[7].strip() for r in ROWS]


def test_xlsx_other_sheet_and_missing_sheet(survey) -> None:
    with pytest.raises(ResponsesError, match="no sheet named 'Nope'"):
        read_responses(CORPUS / "valid.xlsx", survey, sheet="Nope")
    rs = read_responses(CORPUS / "valid.xlsx", survey, sheet="Responses")
    assert rs.ok and rs.source.sheet == "Responses"


def test_delimiter_and_header_rows_overrides(survey) -> None:
    rs = read_responses(CORPUS / "valid_bom_semicolon_crlf.csv", survey, delimiter=";")
    assert rs.ok and rs.codes.tolist() == EXPECTED_CODES
    # forcing one header row on a Qualtrics export makes its extra rows data: bad roles
    forced = read_responses(CORPUS / "qualtrics_export.csv", survey, header_rows=1)
    assert forced.source.export_tool is None
    assert {(e.row, e.column) for e in forced.errors if e.kind == "unknown_role"} == {
        (2, "role"),
        (3, "role"),
    }


def errors(survey, name: str, **options):
    rs = read_responses(CORPUS / name, survey, **options)
    assert rs.rows.read == rs.rows.used + rs.rows.excluded_total
    return rs, sorted((e.row, e.column, e.kind) for e in rs.errors)


def test_missing_column_with_hint(survey) -> None:
    rs, found = errors(survey, "error_missing_column.csv")
    assert found == [(1, "role", "missing_column")]
    assert "did you mean 'Role'" in rs.errors[0].reason
    assert rs.warnings == ["comment column 'comment' is not in the file"]


def test_duplicate_and_blank_column_names(survey) -> None:
    _, found = errors(survey, "error_duplicate_column.csv")
    assert found == [(1, "q2", "duplicate_column")]
    rs, found = errors(survey, "error_blank_column_name.csv")
    assert found == [(1, "column I", "blank_column_name")]
    lenient = read_responses(CORPUS / "error_blank_column_name.csv", survey, lenient=True)
    assert lenient.ok and lenient.warnings == ["column I has no name; it is ignored"]


def test_ragged_row(survey) -> None:
    rs, found = errors(survey, "error_ragged_row.csv")
    assert found == [(5, None, "ragged_row")]
    assert "5 cells but the header has 8" in rs.errors[0].reason
    lenient = read_responses(CORPUS / "error_ragged_row.csv", survey, lenient=True)
    assert (lenient.rows.read, lenient.rows.used) == (6, 5)
    assert lenient.rows.excluded == {"row has the wrong number of cells": 1}


def test_out_of_range_and_unknown_label(survey) -> None:
    rs, found = errors(survey, "error_out_of_range.csv")
    assert found == [(3, "q2", "out_of_range"), (6, "q4", "out_of_range")]
    assert [e.value for e in rs.errors] == ["6", "0"]
    assert rs.rows.used == 0  # strict: nothing analysed
    rs, found = errors(survey, "error_unknown_label.csv")
    assert found == [(7, "q1", "unknown_answer")]
    assert "'Agreed' is not an answer on the scale" in rs.errors[0].reason


def test_lenient_turns_bad_cells_into_not_answered(survey) -> None:
    rs = read_responses(CORPUS / "error_out_of_range.csv", survey, lenient=True)
    assert rs.ok
    assert rs.cells_set_missing == {"answer out of range": 2}
    expected = [list(r) for r in EXPECTED_CODES]
    expected[1][1] = 0
    expected[4][3] = 0
    assert rs.codes.tolist() == expected


def test_unknown_and_blank_roles(survey) -> None:
    rs, found = errors(survey, "error_unknown_role.csv")
    assert found == [
        (3, "role", "unknown_role"),
        (5, "role", "unknown_role"),
        (6, "role", "blank_role"),
    ]
    assert rs.unknown_roles == {"Intern": 2}
    lenient = read_responses(CORPUS / "error_unknown_role.csv", survey, lenient=True)
    assert lenient.rows.excluded == {"role matches no group": 2, "role is blank": 1}
    assert (lenient.rows.read, lenient.rows.used) == (6, 3)


def test_unmatched_ignore_excludes_without_error(survey) -> None:
    ignoring = survey.model_copy(
        update={"roles": survey.roles.model_copy(update={"unmatched": "ignore"})}
    )
    rs = read_responses(CORPUS / "error_unknown_role.csv", ignoring)
    assert rs.ok
    assert rs.rows.excluded == {"role matches no group": 2, "role is blank": 1}


def test_duplicate_respondent_id(survey) -> None:
    rs, found = errors(survey, "error_duplicate_id.csv")
    assert found == [(6, "id", "duplicate_id")]
    assert rs.errors[0].reason == "respondent id 'r2' already used on row 3"


def test_rows_after_a_multiline_cell_keep_spreadsheet_numbers(survey) -> None:
    _, found = errors(survey, "error_after_multiline_cell.csv")
    assert found == [(5, "q2", "unknown_answer")]


@pytest.mark.parametrize(
    "name,kind",
    [("error_empty.csv", "empty_file"), ("error_not_text.csv", "not_text")],
)
def test_unreadable_files_raise_a_clear_error(survey, name, kind) -> None:
    with pytest.raises(ResponsesError) as info:
        read_responses(CORPUS / name, survey)
    assert info.value.error.kind == kind


def test_header_only_file(survey) -> None:
    rs, found = errors(survey, "error_header_only.csv")
    assert found == [(None, None, "no_rows")]
    assert rs.rows.read == 0


def test_errors_never_show_other_respondents_data(survey) -> None:
    """Only the offending cell's own value may appear in an error: no ids, roles,
    departments or comments of other rows."""
    private = {v.strip() for row in ROWS for v in (row[0], row[1], row[2], row[7]) if v.strip()}
    for path in CORPUS.glob("error_*.csv"):
        try:
            rs = read_responses(path, survey)
        except ResponsesError as exc:
            assert not [v for v in private if v in exc.error.reason], path.name
            continue
        for e in rs.errors:
            own = (e.value or "").strip()
            leaked = [
                v for v in private if v != own and v in e.reason and v not in (e.column or "")
            ]
            assert not leaked, (path.name, e)


def test_template_is_accepted_by_the_reader(tmp_path: Path) -> None:
    import csv

    survey = load_survey()
    rows = template_rows(survey)
    path = tmp_path / "template.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    rs = read_responses(path, survey)
    assert rs.ok, rs.errors
    assert rs.rows.used == 1
    assert (rs.codes > 0).all()


def test_big_generated_file_reads_identically_to_its_codes(tmp_path: Path) -> None:
    from alignscan.synthetic import generate_responses, write_csv

    survey = load_survey()
    labels = generate_responses(survey, 3000, seed=5, answers="labels")
    codes = generate_responses(survey, 3000, seed=5, answers="codes")
    a = read_responses(write_csv(labels, tmp_path / "labels.csv"), survey)
    b = read_responses(write_csv(codes, tmp_path / "codes.csv"), survey)
    assert a.ok and b.ok
    assert np.array_equal(a.codes, b.codes)
    expected = codes[[i.source_column for i in survey.items]].fillna(0).to_numpy(dtype=np.int8)
    assert np.array_equal(a.codes, expected)


def test_surveymonkey_matrix_and_open_ended_columns_get_names(tmp_path: Path) -> None:
    """A SurveyMonkey export as it comes: metadata columns, a matrix question whose
    statements are in row 2, and an "Other (please specify)" open-ended column."""
    import csv

    text = (
        "Respondent ID,Collector ID,Start Date,role,department,How much do you agree?,,,,"
        "Which team?,,comment\n"
        ",,,Response,Response,First,Second,Third,Fourth,Response,Other (please specify),"
        "Open-Ended Response\n"
    )
    rows = [
        [f"1{i}", "7", "2026-01-05", *r[1:3], *r[3:7], "Ops", "", r[7]] for i, r in enumerate(ROWS)
    ]
    path = tmp_path / "monkey.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        fh.write(text)
        csv.writer(fh).writerows(rows)
    survey_text = (CORPUS / "survey.yaml").read_text("utf-8")
    for k, q in enumerate(["First", "Second", "Third", "Fourth"], start=1):
        survey_text = survey_text.replace(
            f"{{id: q{k}, text: ", f'{{id: q{k}, column: "How much do you agree? - {q}", text: '
        )
    survey_text = survey_text.replace("respondent_id: id\n", "respondent_id: Respondent ID\n")
    from alignscan.survey import load_survey_text

    monkey_survey = load_survey_text(survey_text).survey
    assert monkey_survey is not None
    rs = read_responses(path, monkey_survey)
    assert rs.source.export_tool == "SurveyMonkey" and rs.source.header_rows == 2
    assert rs.errors == [], rs.errors[:3]
    assert rs.codes.tolist() == EXPECTED_CODES


def test_windows_1252_text_after_the_first_block_is_still_read(survey, tmp_path: Path) -> None:
    lines = ["id,role,department,q1,q2,q3,q4,comment"]
    lines += [f"r{i},VP,Dept,4,4,4,4,plain" for i in range(30_000)]  # > the sniffed block
    lines += ["rX,Engineer,Ingénierie,Agree,4,4,4,café"]
    path = tmp_path / "late.csv"
    path.write_bytes("\n".join(lines).encode("cp1252"))
    rs = read_responses(path, survey)
    assert rs.ok and rs.source.encoding == "cp1252"
    assert rs.rows.read == 30_001
    assert list(rs.segments["department"].categories) == ["Dept", "Ingénierie"]
    assert rs.comments["comment"][-1] == "café"


def test_quoted_newlines_across_parser_blocks(survey, tmp_path: Path, monkeypatch) -> None:
    """The fast parallel pass may cut the file inside a quoted value; the reader must
    notice and fall back, so every row and row number stays right."""
    import csv

    import alignscan.responses as responses

    monkeypatch.setattr(responses, "BLOCK_SIZE", 1024)
    rows = [
        [
            f"r{i}",
            "VP" if i % 3 else "Engineer",
            "D",
            str(1 + i % 5),
            "4",
            "Agree",
            "2",
            f'line one of {i},\nline two, "quoted"\nline three',
        ]
        for i in range(2000)
    ]
    rows[1500][3] = "nine"
    path = tmp_path / "multiline.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(
            [["id", "role", "department", "q1", "q2", "q3", "q4", "comment"], *rows]
        )
    rs = read_responses(path, survey)
    assert rs.rows.read == 2000
    assert [(e.row, e.column, e.value) for e in rs.errors] == [(1502, "q1", "nine")]
    rows[1500][3] = "3"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(
            [["id", "role", "department", "q1", "q2", "q3", "q4", "comment"], *rows]
        )
    rs = read_responses(path, survey)
    assert rs.ok and rs.rows.used == 2000
    assert rs.codes[:, 0].tolist() == [int(r[3]) for r in rows]
    assert rs.comments["comment"][7] == 'line one of 7,\nline two, "quoted"\nline three'


@pytest.mark.parametrize(
    "text,expected",
    [
        ("5 - Strongly agree", 5),
        ("2) disagree", 2),
        ("Agree (4)", 4),
        ("Neutral [3]", 3),
        (" 1 = Strongly disagree ", 1),
        ("5 - Disagree", None),  # code and label disagree: an error, not a guess
        ("Agree (5)", None),
        ("6 - Agree", None),
        ("nan", None),
        ("inf", None),
        ("4,0", 4),
        ("0", None),
    ],
)
def test_code_answer_forms(survey, text, expected) -> None:
    from alignscan.responses import answer_lookup, code_answer

    assert code_answer(text, answer_lookup(survey), survey.scale.points) == expected


def test_a_realistic_qualtrics_export(tmp_path: Path) -> None:
    """Qualtrics as it comes: metadata columns, question text with quotes and commas in
    row 2, ImportId JSON in row 3, a matrix exported as Q2_1..Q2_4, UTF-8 with BOM, CRLF."""
    import csv
    import io

    from alignscan.survey import load_survey_text

    text = (CORPUS / "survey.yaml").read_text("utf-8")
    for k in range(1, 5):
        text = text.replace(f"{{id: q{k}, text: ", f"{{id: q{k}, column: Q2_{k}, text: ")
    text = text.replace("respondent_id: id\n", "respondent_id: ResponseId\n")
    text = (
        text.replace("column: role\n", "column: Q1\n")
        .replace("segments: [department]", "segments: [Q4]")
        .replace(
            "{id: comment, text: Anything else?}", "{id: comment, text: Anything else?, column: Q3}"
        )
    )
    survey = load_survey_text(text).survey
    assert survey is not None
    meta = [
        "StartDate",
        "EndDate",
        "Status",
        "Progress",
        "Duration (in seconds)",
        "Finished",
        "RecordedDate",
        "ResponseId",
    ]
    header = [*meta, "Q1", "Q2_1", "Q2_2", "Q2_3", "Q2_4", "Q3", "Q4"]
    questions = [
        *meta,
        "What is your role?",
        'How much do you agree? - "AI pays off", really',
        "How much do you agree? - Second",
        "How much do you agree? - Third",
        "How much do you agree? - Fourth",
        "Anything else?",
        "Department",
    ]
    import_ids = [f'{{"ImportId":"{h}"}}' for h in header]
    rows = [
        [
            "2026-01-05 09:00:00",
            "2026-01-05 09:05:00",
            "IP Address",
            "100",
            "300",
            "True",
            "2026-01-05 09:05:00",
            f"R_{i:04d}",
            r[1],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[2],
        ]
        for i, r in enumerate(ROWS)
    ]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header, questions, import_ids, *rows])
    path = tmp_path / "qualtrics.csv"
    path.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))
    rs = read_responses(path, survey)
    assert rs.source.export_tool == "Qualtrics" and rs.source.header_rows == 3
    assert rs.errors == [], rs.errors[:3]
    assert rs.codes.tolist() == EXPECTED_CODES
    rows[2][9] = "Agreed"  # the third respondent: spreadsheet row 6
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header, questions, import_ids, *rows])
    path.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))
    rs = read_responses(path, survey)
    assert [(e.row, e.column, e.value) for e in rs.errors] == [(6, "Q2_1", "Agreed")]


def test_a_flood_of_bad_cells_is_listed_up_to_a_cap_and_counted(
    survey, tmp_path: Path, monkeypatch
) -> None:
    """A file on the wrong scale makes an error of every cell: the first ones are listed,
    all are counted, and reading stays fast."""
    import alignscan.responses as responses

    monkeypatch.setattr(responses, "MAX_LISTED_ERRORS", 50)
    lines = ["id,role,department,q1,q2,q3,q4,comment"]
    lines += [f"r{i},VP,D,Somewhat agree,7,7,7," for i in range(1000)]
    path = tmp_path / "wrong-scale.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    rs = read_responses(path, survey)
    assert len(rs.errors) == 50
    assert sum(rs.unlisted_errors.values()) == 4000 - 50
    assert rs.error_counts == {"unknown_answer": 1000, "out_of_range": 3000}
    assert rs.rows.read == rs.rows.used + rs.rows.excluded_total == 1000
