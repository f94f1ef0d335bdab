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
    """The template's second row (question texts) is a header row, never a respondent;
    rows filled in below it are read as they are."""
    import csv

    survey = load_survey()
    header, texts = template_rows(survey)
    assert texts[header.index(survey.items[0].source_column)] == survey.items[0].text
    path = tmp_path / "template.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, texts])
    empty = read_responses(path, survey)
    assert [e.kind for e in empty.errors] == ["no_rows"] and empty.rows.read == 0
    role = next(iter(survey.roles.groups.values()))[0]
    answers = {i.source_column: str(1 + k % 5) for k, i in enumerate(survey.items)}
    filled = [answers.get(c, role if c == survey.roles.column else "x") for c in header]
    with path.open("a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerow(filled)
    rs = read_responses(path, survey)
    assert rs.ok, rs.errors
    assert rs.source.header_rows == 2 and rs.rows.used == 1
    assert rs.codes.tolist() == [[1 + k % 5 for k in range(len(survey.items))]]


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

    import alignscan.responses.csv_reader as responses

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
    import alignscan.responses.validation as responses

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


# ----------------------------------------------------------------------------- more formats
# Small files written in tmp_path; each test pins the exact rows, columns and kinds.

HEADER = ["id", "role", "department", "q1", "q2", "q3", "q4", "comment"]
HEADER_LINE = ",".join(HEADER) + "\n"


def write_text(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def found_errors(rs) -> list[tuple]:
    assert rs.rows.read == rs.rows.used + rs.rows.excluded_total, rs.rows
    return [(e.row, e.column, e.value, e.kind) for e in rs.errors]


def write_xlsx(path: Path, rows: list[list], extra_sheets: dict | None = None) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "First"
    for row in rows:
        ws.append(row)
    for name, sheet_rows in (extra_sheets or {}).items():
        other = wb.create_sheet(name)
        for row in sheet_rows:
            other.append(row)
    wb.save(path)
    return path


def test_xlsx_generated_numbers_blank_rows_and_row_numbers(survey, tmp_path: Path) -> None:
    """Numeric cells (4.0) are codes; an empty row keeps the rows below at their
    spreadsheet number and is not a response."""
    rows = [
        HEADER,
        ["r1", "VP", "D", 4.0, "Agree", 5, None, None],
        [None] * 8,
        ["r2", "Engineer", None, 1, 2, 3, "N/A", "c"],
    ]
    rs = read_responses(write_xlsx(tmp_path / "a.xlsx", rows), survey)
    assert found_errors(rs) == []
    assert rs.source.format == "xlsx" and rs.source.sheet == "First"
    assert (rs.rows.read, rs.rows.used) == (2, 2)
    assert rs.codes.tolist() == [[4, 4, 5, 0], [1, 2, 3, 0]]
    assert list(rs.segments["department"]) == ["D", "(blank)"]
    rows[3][3] = 7
    rs = read_responses(write_xlsx(tmp_path / "b.xlsx", rows), survey)
    assert found_errors(rs) == [(4, "q1", "7", "out_of_range")]


def test_xlsx_sheet_option_and_file_level_cases(survey, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "two.xlsx",
        [["notes"], ["nothing here"]],
        {"Data": [HEADER, ["r1", "VP", "D", 1, 2, 3, 4, None]]},
    )
    rs = read_responses(path, survey, sheet="Data")
    assert rs.ok and rs.source.sheet == "Data" and rs.codes.tolist() == [[1, 2, 3, 4]]
    with pytest.raises(ResponsesError) as info:
        read_responses(write_xlsx(tmp_path / "empty.xlsx", []), survey)
    assert info.value.error.kind == "empty_file" and info.value.error.row is None
    rs = read_responses(write_xlsx(tmp_path / "header.xlsx", [HEADER]), survey)
    assert found_errors(rs) == [(None, None, None, "no_rows")]
    rs = read_responses(
        write_xlsx(tmp_path / "wide.xlsx", [HEADER, ["r1", "VP", "D", 1, 2, 3, 4, "", "extra"]]),
        survey,
    )
    assert found_errors(rs) == [(2, None, None, "ragged_row")]
    corrupt = tmp_path / "corrupt.xlsx"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ResponsesError) as info:
        read_responses(corrupt, survey)
    assert info.value.error.kind == "not_xlsx"


def test_xlsx_surveymonkey_header_is_detected(survey, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "monkey.xlsx",
        [HEADER, ["Response"] * 8, ["r1", "VP", "D", 1, 2, 3, 4, None], ["r2", "VP", "D", 9]],
    )
    rs = read_responses(path, survey)
    assert (rs.source.export_tool, rs.source.header_rows) == ("SurveyMonkey", 2)
    assert found_errors(rs) == [(4, "q1", "9", "out_of_range")]


def test_header_rows_override_counts_extra_rows(survey, tmp_path: Path) -> None:
    path = write_text(
        tmp_path, "two.csv", HEADER_LINE + "sub,sub,sub,sub,sub,sub,sub,sub\nr1,VP,D,1,2,3,9,x\n"
    )
    rs = read_responses(path, survey, header_rows=2)
    assert rs.source.header_rows == 2 and rs.source.export_tool is None
    assert found_errors(rs) == [(3, "q4", "9", "out_of_range")]


def test_qualtrics_question_text_with_newlines_keeps_row_numbers(survey, tmp_path: Path) -> None:
    text = (
        HEADER_LINE
        + 'a,"Your\nrole",c,d,e,f,g,h\n'
        + ",".join(['"{""ImportId"":""QID1""}"'] * 8)
        + '\nr1,VP,D,1,2,3,9,"x\ny"\nr2,VP,D,9,2,3,4,x\n'
    )
    rs = read_responses(write_text(tmp_path, "q.csv", text), survey)
    assert (rs.source.export_tool, rs.source.header_rows) == ("Qualtrics", 3)
    assert found_errors(rs) == [(4, "q4", "9", "out_of_range"), (5, "q1", "9", "out_of_range")]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_blank_lines_keep_row_numbers_and_are_not_responses(survey, tmp_path, newline) -> None:
    text = HEADER_LINE + "r1,VP,D,1,2,3,4,x\n\n,,,,,,,\nr4,VP,D,9,2,3,4,x\n"
    rs = read_responses(write_text(tmp_path, "b.csv", text.replace("\n", newline)), survey)
    assert found_errors(rs) == [(5, "q1", "9", "out_of_range")]
    assert rs.rows.read == 2


def test_no_trailing_newline(survey, tmp_path: Path) -> None:
    rs = read_responses(
        write_text(tmp_path, "n.csv", HEADER_LINE + "r1,VP,D,1,2,3,4,x\nr2,VP,D,1,2,3,9,x"), survey
    )
    assert found_errors(rs) == [(3, "q4", "9", "out_of_range")]


def test_ragged_row_after_a_multiline_cell(survey, tmp_path: Path) -> None:
    text = HEADER_LINE + 'r1,VP,D,1,2,3,4,"a\nb\nc"\nr2,VP,D,1,2\nr3,VP,D,9,2,3,4,x\n'
    path = write_text(tmp_path, "r.csv", text)
    rs = read_responses(path, survey)
    assert found_errors(rs) == [(3, None, None, "ragged_row"), (4, "q1", "9", "out_of_range")]
    lenient = read_responses(path, survey, lenient=True)
    assert lenient.ok and lenient.codes.tolist() == [[1, 2, 3, 4], [0, 2, 3, 4]]
    assert lenient.rows.excluded == {"row has the wrong number of cells": 1}
    assert lenient.cells_set_missing == {"answer out of range": 1}
    assert (lenient.rows.read, lenient.rows.used) == (3, 2)


def test_too_many_cells_is_ragged_too(survey, tmp_path: Path) -> None:
    path = write_text(
        tmp_path, "w.csv", HEADER_LINE + "r1,VP,D,1,2,3,4,x,extra\nr2,VP,D,1,2,3,4,x\n"
    )
    rs = read_responses(path, survey)
    assert found_errors(rs) == [(2, None, None, "ragged_row")]
    assert "9 cells but the header has 8" in rs.errors[0].reason
    assert read_responses(path, survey, lenient=True).rows.used == 1


def test_delimiter_override_beats_sniffing(survey, tmp_path: Path) -> None:
    text = HEADER_LINE + "r1,VP,D,1,2,3,4,x\n"
    semi = write_text(tmp_path, "s.csv", text.replace(",", ";"))
    assert read_responses(semi, survey).source.delimiter == ";"
    forced = read_responses(semi, survey, delimiter=",")  # wrong on purpose: one column
    assert forced.source.delimiter == ","
    assert {e.kind for e in forced.errors} == {"no_item_columns"}
    tab = write_text(tmp_path, "t.csv", text.replace(",", "\t"))
    assert read_responses(tab, survey, delimiter="\t").codes.tolist() == [[1, 2, 3, 4]]


def test_cp1252_header_with_accent(tmp_path: Path) -> None:
    from alignscan.survey import load_survey_text

    text = (
        (CORPUS / "survey.yaml")
        .read_text("utf-8")
        .replace("segments: [department]", "segments: [Département]")
    )
    survey = load_survey_text(text).survey
    assert survey is not None
    data = "id,role,Département,q1,q2,q3,q4,comment\nr1,VP,Sí,1,2,3,4,Sí\nr2,VP,Sí,1,2,3,4,\n"
    rs = read_responses(write_text(tmp_path, "c.csv", data, "cp1252"), survey)
    assert rs.ok and rs.source.encoding == "cp1252"
    assert list(rs.segments["Département"]) == ["Sí", "Sí"]


@pytest.mark.parametrize("department", ["España", "Zürich", "Köln", "Ñ €"])
def test_short_cp1252_files_are_read_as_cp1252(survey, tmp_path: Path, department) -> None:
    data = HEADER_LINE + f"r1,VP,{department},1,2,3,4,\n"
    rs = read_responses(write_text(tmp_path, "c.csv", data, "cp1252"), survey)
    assert rs.source.encoding == "cp1252"
    assert list(rs.segments["department"]) == [department]


def test_labels_aliases_and_missing_values_any_case_and_spacing(survey, tmp_path: Path) -> None:
    text = HEADER_LINE + "r1,VP,D,Agree\u00a0, AGREE  SOMEWHAT ,n/a,prefer not to say,\n"
    rs = read_responses(write_text(tmp_path, "l.csv", text), survey)
    assert found_errors(rs) == [] and rs.codes.tolist() == [[4, 4, 0, 0]]
    assert rs.cells_set_missing == {}


def test_missing_column_hints(survey, tmp_path: Path) -> None:
    rs = read_responses(
        write_text(tmp_path, "h.csv", HEADER_LINE.replace("q2", "Q2") + "r1,VP,D,1,2,3,4,x\n"),
        survey,
    )
    assert found_errors(rs) == [(1, "q2", None, "missing_column")]
    assert rs.errors[0].reason.endswith("did you mean 'Q2'?")
    rs = read_responses(
        write_text(tmp_path, "z.csv", HEADER_LINE.replace("q2", "zzzzz") + "r1,VP,D,1,2,3,4,x\n"),
        survey,
    )
    assert found_errors(rs) == [(1, "q2", None, "missing_column")]
    assert "did you mean" not in rs.errors[0].reason
    lenient = read_responses(tmp_path / "z.csv", survey, lenient=True)
    assert [e.kind for e in lenient.errors] == ["missing_column"]  # lenient can't fix it


def test_every_header_problem_at_once(survey, tmp_path: Path) -> None:
    text = "id,role,,q1,q1,q3,q4,comment,\nr1,VP,D,1,2,3,4,x,\n"
    rs = read_responses(write_text(tmp_path, "h.csv", text), survey)
    assert sorted(found_errors(rs), key=str) == sorted(
        [
            (1, "column C", "", "blank_column_name"),
            (1, "column I", "", "blank_column_name"),
            (1, "q1", "q1", "duplicate_column"),
            (1, "department", None, "missing_column"),
            (1, "q2", None, "missing_column"),
        ],
        key=str,
    )
    assert rs.rows.used == 0


def test_duplicate_column_outside_the_survey(survey, tmp_path: Path) -> None:
    path = write_text(
        tmp_path, "d.csv", HEADER_LINE.replace("comment", "x,x") + "r1,VP,D,1,2,3,4,a,b\n"
    )
    assert found_errors(read_responses(path, survey)) == [(1, "x", "x", "duplicate_column")]
    lenient = read_responses(path, survey, lenient=True)
    assert lenient.ok and lenient.rows.used == 1
    assert any("appears twice" in w for w in lenient.warnings)


def test_header_names_are_trimmed(survey, tmp_path: Path) -> None:
    text = " id , role ,department,q1,q2,q3,q4,comment\nr1,VP,D,1,2,3,4,x\n"
    assert read_responses(write_text(tmp_path, "t.csv", text), survey).ok


def test_error_values_and_kinds_for_numbers(survey, tmp_path: Path) -> None:
    text = HEADER_LINE + "r1,VP,D,4.0,1.5,-1,6,x\nr2,VP,D,3,0,Agreed,7.0,x\n"
    rs = read_responses(write_text(tmp_path, "n.csv", text), survey)
    assert found_errors(rs) == [
        (2, "q2", "1.5", "out_of_range"),
        (2, "q3", "-1", "out_of_range"),
        (2, "q4", "6", "out_of_range"),
        (3, "q2", "0", "out_of_range"),
        (3, "q3", "Agreed", "unknown_answer"),
        (3, "q4", "7.0", "out_of_range"),
    ]
    lenient = read_responses(tmp_path / "n.csv", survey, lenient=True)
    assert lenient.codes.tolist() == [[4, 0, 0, 0], [3, 0, 0, 0]]
    assert lenient.cells_set_missing == {"answer out of range": 5, "answer not on the scale": 1}


def test_strict_reports_role_and_id_and_answer_errors_together(survey, tmp_path: Path) -> None:
    text = HEADER_LINE + "r1,VP,D,1,2,3,4,x\nr1,VP,D,7,2,3,4,x\nr3,Intern,D,1,2,3,4,x\n"
    rs = read_responses(write_text(tmp_path, "a.csv", text), survey)
    assert found_errors(rs) == [
        (3, "id", "r1", "duplicate_id"),
        (3, "q1", "7", "out_of_range"),
        (4, "role", "Intern", "unknown_role"),
    ]
    lenient = read_responses(tmp_path / "a.csv", survey, lenient=True)
    assert lenient.rows.excluded == {"duplicate respondent id": 1, "role matches no group": 1}
    assert (lenient.rows.read, lenient.rows.used) == (3, 1)


def test_strict_reports_bad_answers_in_rows_with_bad_roles(survey, tmp_path: Path) -> None:
    text = HEADER_LINE + "r1,Intern,D,9,2,3,4,x\nr2,,D,Agreed,2,3,4,x\nr3,VP,D,1,2,3,4,x\n"
    rs = read_responses(write_text(tmp_path, "a.csv", text), survey)
    assert found_errors(rs) == [
        (2, "q1", "9", "out_of_range"),
        (2, "role", "Intern", "unknown_role"),
        (3, "q1", "Agreed", "unknown_answer"),
        (3, "role", "", "blank_role"),
    ]


def test_unknown_roles_are_counted_by_trimmed_value(survey, tmp_path: Path) -> None:
    text = HEADER_LINE + "r1,Intern,D,1,2,3,4,x\nr2, Intern ,D,1,2,3,4,x\nr3,VP,D,1,2,3,4,x\n"
    rs = read_responses(write_text(tmp_path, "u.csv", text), survey)
    assert rs.unknown_roles == {"Intern": 2}


def test_duplicate_ids_are_compared_trimmed(survey, tmp_path: Path) -> None:
    text = HEADER_LINE + "r1,VP,D,1,2,3,4,x\n r1 ,VP,D,1,2,3,4,x\n"
    rs = read_responses(write_text(tmp_path, "i.csv", text), survey)
    assert [(e.row, e.kind) for e in rs.errors] == [(3, "duplicate_id")]


def test_lenient_unknown_roles_only(survey, tmp_path: Path) -> None:
    text = HEADER_LINE + "r1,Intern,D,9,2,3,4,x\n"
    rs = read_responses(write_text(tmp_path, "l.csv", text), survey, lenient=True)
    assert rs.ok and rs.rows.used == 0 and rs.rows.excluded == {"role matches no group": 1}
    assert rs.cells_set_missing == {}  # the excluded row's cells are not counted


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_header_only_variants_return_no_rows(survey, tmp_path: Path, newline) -> None:
    for name, text in [
        ("bom.csv", "\ufeff" + HEADER_LINE),
        ("blank.csv", HEADER_LINE + "\n\n,,,,,,,\n"),
    ]:
        rs = read_responses(write_text(tmp_path, name, text.replace("\n", newline)), survey)
        assert found_errors(rs) == [(None, None, None, "no_rows")], name
        assert rs.rows.read == 0


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_header_only_without_final_newline(survey, tmp_path: Path, delimiter) -> None:
    path = write_text(tmp_path, "h.csv", HEADER_LINE.strip().replace(",", delimiter))
    rs = read_responses(path, survey)
    assert found_errors(rs) == [(None, None, None, "no_rows")]


@pytest.mark.parametrize(
    "name,data,kind",
    [
        ("only_bom.csv", b"\xef\xbb\xbf", "empty_file"),
        ("blank_lines.csv", b"\n\r\n  \n", "empty_file"),
        ("utf16_newline.csv", "\r\n".encode("utf-16"), "empty_file"),
        ("image.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "not_text"),
        ("archive.csv", b"\x1f\x8b\x08\x00" + bytes(200), "not_text"),
        ("old_excel.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "not_text"),
        ("workbook_named.csv", b"PK\x03\x04" + bytes(100), "not_text"),
    ],
)
def test_unreadable_files_pinned(survey, tmp_path: Path, name, data, kind) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ResponsesError) as info:
        read_responses(path, survey)
    assert (info.value.error.kind, info.value.error.row) == (kind, None)


def test_missing_file_and_directory(survey, tmp_path: Path) -> None:
    for path in (tmp_path / "nope.csv", tmp_path):
        with pytest.raises(ResponsesError) as info:
            read_responses(path, survey)
        assert info.value.error.kind == "not_found"


@pytest.mark.parametrize("encoding", ["bogus", "utf-16"])
def test_bad_encoding_option_is_a_responses_error(survey, encoding) -> None:
    with pytest.raises(ResponsesError):
        read_responses(CORPUS / "valid_utf8.csv", survey, encoding=encoding)


def test_explicit_encoding_is_used(survey) -> None:
    rs = read_responses(CORPUS / "valid_cp1252.csv", survey, encoding="cp1252")
    assert rs.ok and rs.source.encoding == "cp1252"


def test_generated_error_file_never_leaks_other_rows(survey, tmp_path: Path) -> None:
    """Every kind of cell error, each next to rows full of private text."""
    private = [f"secret{i}" for i in range(8)]
    text = HEADER_LINE + "".join(
        [
            f"{private[0]},VP,{private[1]},1,2,3,4,{private[2]}\n",
            f"{private[0]},VP,D,9,Agreed,3,4,x\n",  # duplicate id, bad answers
            "rX,Intern,D,1,2,3,4,x\n",  # unknown role
            f"{private[3]},,{private[4]},1,2,3,4,{private[5]}\n",  # blank role
            f"{private[6]},VP,D,1\n",  # ragged
            f"{private[7]},Engineer,D,0,2,3,4,\n",
        ]
    )
    rs = read_responses(write_text(tmp_path, "p.csv", text), survey)
    assert {e.kind for e in rs.errors} >= {"duplicate_id", "unknown_role", "blank_role"}
    assert {"ragged_row", "out_of_range"} <= {e.kind for e in rs.errors}
    for e in rs.errors:
        shown = " ".join(str(x) for x in (e.reason, e.column))
        assert not [p for p in private if p in shown and p != (e.value or "").strip()], e
        assert e.value is None or e.value in text


def test_many_distinct_segment_values_map_to_their_rows(survey, tmp_path: Path) -> None:
    """Segment values are indexed with a dict (linear); every row keeps its own value.
    Speed is measured in benchmarks/bench_segments.py, not here."""
    import random

    values = [f"dept {i:05d}" for i in range(3000)]
    random.Random(7).shuffle(values)
    text = HEADER_LINE + "".join(f"r{i},VP,{v},1,2,3,4,\n" for i, v in enumerate(values))
    rs = read_responses(write_text(tmp_path, "seg.csv", text), survey)
    labels = rs.segments["department"]
    assert labels.categories == sorted(values)
    assert list(labels) == values
