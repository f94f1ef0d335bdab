"""Responses: read survey exports (CSV / Excel), code answers into scale codes and
validate every cell, collecting all problems at once.

(Contract only so far; the reader lands with the responses issue.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from alignscan.survey import Survey


@dataclass(frozen=True)
class CellError:
    """One rejected value. `row` is the spreadsheet row (header = row 1); None for file-level."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    reason: str
    kind: str  # machine-readable reason code, e.g. "out_of_range", "unknown_role"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
            "kind": self.kind,
        }


@dataclass
class SourceInfo:
    file: str
    format: str  # "csv" | "xlsx"
    encoding: str | None = None
    delimiter: str | None = None
    header_rows: int = 1
    export_tool: str | None = None  # "qualtrics" | "surveymonkey" | None
    sheet: str | None = None


@dataclass
class RowCounts:
    read: int
    used: int
    excluded: dict[str, int] = field(default_factory=dict)  # reason -> rows

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())


@dataclass
class ResponseSet:
    """Validated, coded responses: one row per used respondent.

    codes: int8 array (rows x items, survey item order), 1..points, 0 = not answered.
           Raw codes: reverse-keyed items are NOT recoded here (analysis does that).
    group: role group name per row (categories = survey.roles.groups order).
    segments: segment column -> value per row; blank values are "(blank)".
    comments: comment id -> text per row ("" when blank).
    """

    survey: Survey
    source: SourceInfo
    codes: np.ndarray
    item_ids: list[str]
    group: pd.Categorical
    segments: dict[str, pd.Categorical]
    comments: dict[str, np.ndarray]
    rows: RowCounts
    cells_set_missing: dict[str, int] = field(default_factory=dict)  # lenient: reason -> cells
    errors: list[CellError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors
