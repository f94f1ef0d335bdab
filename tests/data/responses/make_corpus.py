"""Writes the response corpus: the same six respondents in every format, and one file per
error case. Run from this folder: python make_corpus.py (the files are committed)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

HEADER = ["id", "role", "department", "q1", "q2", "q3", "q4", "comment"]
ROWS = [
    [
        "r1",
        "C-suite",
        "Ingénierie",
        "Agree",
        "5",
        "Strongly agree",
        "Disagree",
        "Share the results",
    ],
    ["r2", "VP", "Comptabilité", "agree ", "4.0", "N/A", "1", ""],
    [
        "r3",
        "Engineer",
        "Ingénierie",
        "Strongly disagree",
        "",
        "Neutral",
        "Agree somewhat",
        "More time,\nplease",
    ],
    ["r4", "Analyst", "Comptabilité", "2", "Disagree", "3", "Prefer not to say", ""],
    ["r5", "engineer", "", "NEUTRAL", "3", "Agree", "5", "Fewer meetings"],
    ["r6", " Analyst ", "Ingénierie", "Strongly Agree", "1", "2", "Neutral", ""],
]
# The codes every valid file must produce (raw, before reverse coding; 0 = not answered).
EXPECTED_CODES = [
    [4, 5, 5, 2],
    [4, 4, 0, 1],
    [1, 0, 3, 4],
    [2, 2, 3, 0],
    [3, 3, 4, 5],
    [5, 1, 2, 3],
]
EXPECTED_GROUPS = [
    "executive",
    "executive",
    "practitioner",
    "practitioner",
    "practitioner",
    "practitioner",
]


def text(rows: list[list[str]], delimiter: str = ",", newline: str = "\n") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return out.getvalue()


def main() -> None:
    here = Path(__file__).parent
    rows = [HEADER, *ROWS]
    (here / "valid_utf8.csv").write_text(text(rows), encoding="utf-8")
    (here / "valid_bom_semicolon_crlf.csv").write_bytes(
        "\ufeff".encode() + text(rows, ";", "\r\n").encode("utf-8")
    )
    (here / "valid_utf16_tab.csv").write_text(text(rows, "\t"), encoding="utf-16")
    (here / "valid_cp1252.csv").write_text(text(rows), encoding="cp1252")
    (here / "valid_trailing_blank_lines.csv").write_text(text(rows) + "\n\n\n", encoding="utf-8")
    qualtrics = [
        HEADER,
        [
            "Respondent",
            "Your role",
            "Department",
            "First",
            "Second",
            "Third",
            "Fourth",
            "Anything\nelse?",
        ],
        [f'{{"ImportId":"QID{i}"}}' for i in range(len(HEADER))],
        *ROWS,
    ]
    (here / "qualtrics_export.csv").write_text(text(qualtrics), encoding="utf-8")
    monkey = [
        HEADER,
        [
            "",
            "Response",
            "Response",
            "Response",
            "Response",
            "Response",
            "Response",
            "Open-Ended Response",
        ],
        *ROWS,
    ]
    (here / "surveymonkey_export.csv").write_text(text(monkey), encoding="utf-8")

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Notes"
    ws.append(["This sheet is not the data"])
    data = wb.create_sheet("Responses", 0)
    for r in rows:
        data.append([float(v) if v in ("5", "4.0", "1", "2", "3") else v for v in r])
    wb.save(here / "valid.xlsx")

    def bad(name: str, rows: list[list[str]]) -> None:
        (here / name).write_text(text(rows), encoding="utf-8")

    # Each error file: the error is on the spreadsheet row named in test_responses.py.
    bad(
        "error_missing_column.csv",
        [["id", "Role", "department", "q1", "q2", "q3", "q4"], *[r[:7] for r in ROWS]],
    )
    bad("error_duplicate_column.csv", [[*HEADER, "q2"], *[[*r, "3"] for r in ROWS]])
    bad("error_blank_column_name.csv", [[*HEADER, ""], *[[*r, "x"] for r in ROWS]])
    ragged = [HEADER, *ROWS]
    ragged[4] = ragged[4][:5]
    bad("error_ragged_row.csv", ragged)
    out_of_range = [HEADER, *[list(r) for r in ROWS]]
    out_of_range[2][4] = "6"
    out_of_range[5][6] = "0"
    bad("error_out_of_range.csv", out_of_range)
    unknown = [HEADER, *[list(r) for r in ROWS]]
    unknown[6][3] = "Agreed"
    bad("error_unknown_label.csv", unknown)
    roles = [HEADER, *[list(r) for r in ROWS]]
    roles[2][1] = "Intern"
    roles[4][1] = "Intern"
    roles[5][1] = ""
    bad("error_unknown_role.csv", roles)
    dup = [HEADER, *[list(r) for r in ROWS]]
    dup[5][0] = "r2"
    bad("error_duplicate_id.csv", dup)
    multiline = [HEADER, *[list(r) for r in ROWS]]
    multiline[4][4] = "seven"  # row 5 in a spreadsheet, after r3's two-line comment
    bad("error_after_multiline_cell.csv", multiline)
    (here / "error_empty.csv").write_bytes(b"")
    (here / "error_header_only.csv").write_text(text([HEADER]), encoding="utf-8")
    (here / "error_not_text.csv").write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    )


if __name__ == "__main__":
    main()
