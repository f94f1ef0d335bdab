"""The data model of read responses: `ResponseSet` (what analysis consumes), `CellError`
(one rejected value), `SourceInfo`, `RowCounts`, `Labels`, and `RawTable`, the parsed
file every reader produces before validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alignscan.errors import AlignscanError
from alignscan.survey import Survey

BLANK_SEGMENT = "(blank)"


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

    def describe(self) -> str:
        if self.format == "xlsx":
            text = f"Excel workbook, sheet {self.sheet!r}"
        else:
            names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
            delim = names.get(self.delimiter or ",", repr(self.delimiter))
            text = f"CSV, {self.encoding}, {delim}-separated"
        if self.export_tool:
            text += f", {self.export_tool} export"
        if self.header_rows != 1:
            text += f", {self.header_rows} header rows"
        return text


@dataclass
class RowCounts:
    read: int
    used: int
    excluded: dict[str, int] = field(default_factory=dict)  # reason -> rows

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())


@dataclass(frozen=True)
class Labels:
    """A categorical column: integer codes into `categories` (-1 = no category).

    The same `.codes` / `.categories` interface as a pandas Categorical, without pandas."""

    codes: np.ndarray
    categories: list[str]

    @classmethod
    def from_codes(cls, codes: np.ndarray, categories: list[str]) -> Labels:
        return cls(np.asarray(codes, dtype=np.int32), list(categories))

    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self):  # type: ignore[no-untyped-def]
        names = np.asarray([*self.categories, None], dtype=object)
        return iter(names[self.codes].tolist())


@dataclass
class ResponseSet:
    """Validated, coded responses: one row per used respondent.

    codes: int8 array (rows x items, survey item order) of scale positions 1..points
           (position = code - scale.start + 1; equal to the code when start is 1),
           0 = not answered. Reverse-keyed items are NOT recoded here (analysis does that).
    group: role group name per row (categories = survey.roles.groups order).
    segments: segment column -> value per row; blank values are "(blank)".
    comments: comment id -> text per row ("" when blank).
    """

    survey: Survey
    source: SourceInfo
    codes: np.ndarray
    item_ids: list[str]
    group: Labels
    segments: dict[str, Labels]
    comments: dict[str, np.ndarray]
    rows: RowCounts
    cells_set_missing: dict[str, int] = field(default_factory=dict)  # lenient: reason -> cells
    errors: list[CellError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error_counts: dict[str, int] = field(default_factory=dict)  # kind -> count (all errors)
    unknown_roles: dict[str, int] = field(default_factory=dict)  # distinct unknown role -> rows
    unlisted_errors: dict[str, int] = field(default_factory=dict)  # kind -> errors not listed
    respondent_ids: Any = None  # pyarrow array: the used rows' ids (survey.respondent_id)

    @property
    def ok(self) -> bool:
        return not self.errors

    def answered_share(self) -> dict[str, float]:
        """Share of used rows that answered each item."""
        if self.codes.shape[0] == 0:
            return {item: 0.0 for item in self.item_ids}
        share = (self.codes > 0).mean(axis=0)
        return {item: float(s) for item, s in zip(self.item_ids, share, strict=True)}

    def group_sizes(self) -> dict[str, int]:
        counts = np.bincount(
            np.asarray(self.group.codes)[np.asarray(self.group.codes) >= 0],
            minlength=len(self.group.categories),
        )
        return {str(g): int(n) for g, n in zip(self.group.categories, counts, strict=True)}


class ResponsesError(AlignscanError):
    """A file that can't be read at all (not found, not text, empty...)."""

    code = "responses_unreadable"

    def __init__(self, error: CellError):
        self.error = error
        super().__init__(error.reason)


@dataclass
class RawTable:
    """The parsed file: string columns plus the spreadsheet row of every record."""

    names: list[str]
    columns: dict[int, Any]  # position -> pyarrow array (dictionary or string)
    rows: np.ndarray  # spreadsheet row number per record
    source: SourceInfo
    ragged: list[tuple[int, int, int]]  # (row, expected, actual)
    blank_rows: np.ndarray  # mask over records: every cell empty
    header_hint: int | None = None  # the row that looks like the real header, if not row 1
    first_row: int | None = 1  # the header's spreadsheet row; None: no header (Parquet)
    notes: list[str] = field(default_factory=list)  # warnings from reading (sheet chosen...)
    unsaved: list[tuple[int, str]] = field(default_factory=list)  # formula cells: (row, column)


def blank_rows(columns: dict[int, Any], n: int) -> np.ndarray:
    """Mask over records: True where every cell is empty or whitespace."""
    import pyarrow as pa
    import pyarrow.compute as pc

    blank = np.ones(n, dtype=bool)
    for arr in columns.values():
        if pa.types.is_dictionary(arr.type):
            empty = np.asarray(
                [not str(v).strip() for v in arr.dictionary.to_pylist()] or [True], dtype=bool
            )
            idx = arr.indices.to_numpy(zero_copy_only=False)
            blank &= empty[idx] if len(idx) else blank
        else:
            blank &= np.asarray(pc.equal(pc.utf8_trim_whitespace(arr), "").to_numpy(False))
        if not blank.any():
            break
    return blank
