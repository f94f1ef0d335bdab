"""What can go wrong with a responses file, as values: error kinds, reasons a row is
excluded, and changes lenient mode makes to cells. All are `str`-valued enums, so they
compare, hash and serialise (JSON, CSV) exactly as the strings they stand for.

The sentences shown to people for the answer errors are built here, in one place."""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """Machine-readable reason code of a `CellError` (its `kind`)."""

    NOT_FOUND = "not_found"
    EMPTY_FILE = "empty_file"
    NOT_TEXT = "not_text"
    NO_HEADER = "no_header"
    UNREADABLE = "unreadable"
    BAD_ENCODING = "bad_encoding"
    NOT_XLSX = "not_xlsx"
    NOT_PARQUET = "not_parquet"
    NO_ENGINE = "no_engine"
    XML_ENTITIES = "xml_entities"
    TOO_MANY_ROWS = "too_many_rows"
    TOO_LARGE = "too_large"
    NO_SHEET = "no_sheet"
    UNSAVED_FORMULA = "unsaved_formula"
    BLANK_COLUMN_NAME = "blank_column_name"
    DUPLICATE_COLUMN = "duplicate_column"
    MISSING_COLUMN = "missing_column"
    NO_ITEM_COLUMNS = "no_item_columns"
    WRONG_SURVEY = "wrong_survey"  # fewer than half the survey's item columns are there
    NO_ROWS = "no_rows"
    RAGGED_ROW = "ragged_row"
    UNKNOWN_ROLE = "unknown_role"
    BLANK_ROLE = "blank_role"
    DUPLICATE_ID = "duplicate_id"
    OUT_OF_RANGE = "out_of_range"
    UNKNOWN_ANSWER = "unknown_answer"


LENIENT_FIXES = frozenset({
    ErrorKind.RAGGED_ROW, ErrorKind.UNKNOWN_ROLE, ErrorKind.BLANK_ROLE, ErrorKind.DUPLICATE_ID,
    ErrorKind.OUT_OF_RANGE, ErrorKind.UNKNOWN_ANSWER, ErrorKind.BLANK_COLUMN_NAME,
})
"""Errors lenient mode turns into exclusions, changes or warnings (so does a repeated
column name, unless the column is one the survey reads); the others stay errors."""


class Exclusion(StrEnum):
    """Why a row was left out of the analysis (the keys of `rows.excluded_by_reason`)."""

    RAGGED_ROW = "row has the wrong number of cells"
    UNKNOWN_ROLE = "role matches no group"
    BLANK_ROLE = "role is blank"
    DUPLICATE_ID = "duplicate respondent id"
    FILE_HAS_ERRORS = "not analysed: the file has errors"
    NOT_ANALYSED = "not analysed"


class Change(StrEnum):
    """A cell lenient mode set to "not answered" (the keys of `rows.cells_set_missing`)."""

    OUT_OF_RANGE = "answer out of range"
    NOT_ON_SCALE = "answer not on the scale"


def answer_error(value: str, span: str, labels: str, is_number: bool) -> tuple[str, ErrorKind]:
    """The reason shown for an answer that is not on the scale, and its kind."""
    if is_number:
        text = value.strip()
        whole = text.lstrip("+-").isdigit()
        reason = (
            f"answer {text} is outside the scale {span}"
            if whole
            else f"answer {text} is not a whole-number code of the scale {span}"
        )
        return reason, ErrorKind.OUT_OF_RANGE
    reason = f"{value.strip()!r} is not an answer on the scale ({span} or {labels})"
    return reason, ErrorKind.UNKNOWN_ANSWER


CHANGE_OF_KIND = {ErrorKind.OUT_OF_RANGE: Change.OUT_OF_RANGE}
"""The lenient change for an answer error kind (anything else: NOT_ON_SCALE)."""
