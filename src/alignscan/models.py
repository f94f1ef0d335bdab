"""Typed documents: the analysis result, as frozen pydantic models.

The models are the single description of the result's shape: `docs/result.schema.json`
is generated from them (`alignscan schema --result`), `load_result` validates a saved
file with them, and the renderers read them. Fields are declared in the order the
analysis writes them, and a document keeps exactly the keys it was given, so
`Result.to_json()` is byte-identical to the JSON the analysis produced.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Number = int | float
Interval = list[float]


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def document(self) -> dict[str, Any]:
        """The plain JSON-ready dict, with exactly the keys the document was given."""
        return self.model_dump(mode="json", exclude_unset=True)


class _Open(_Doc):
    """A section whose inner shape is owned by its own module (its schema lives there)."""

    model_config = ConfigDict(frozen=True, extra="allow")


class Suppressed(_Doc):
    """A cell hidden for anonymity: no figure at all."""

    suppressed: Literal[True]


class GroupStats(_Doc):
    """One group's figures in one cell. `counts` are answer counts on the scored scale
    (reverse-keyed items recoded); null when withheld to protect a hidden cell. Item cells
    also have `answer_counts`: the counts per code as people answered (for a reverse-keyed
    item the mirror of `counts`; for the others the same)."""

    n: int = Field(ge=0)
    mean: float | None
    sd: float | None
    favorable: Number | None = None
    favorable_se: float | None = None
    counts: dict[str, int] | None = None
    answer_counts: dict[str, int] | None = None


Cell = Suppressed | GroupStats


class Gap(_Doc):
    """The first compared group minus the second."""

    mean: Number
    mean_ci: Interval | None
    mean_ci_adjusted: Interval | None = None
    se: Number | None = None
    df: Number | None = None
    favorable: Number | None
    favorable_ci: Interval | None
    p_value: Number | None
    q_value: Number | None
    cliffs_delta: Number | None
    magnitude: Literal["negligible", "small", "medium", "large"] | None


class SurveyRef(_Doc):
    id: str
    version: str
    title: str | None = None


class Source(_Doc):
    file: str
    format: str
    export_tool: str | None = None


class ScaleInfo(_Doc):
    points: int
    start: int = 1
    labels: list[str]
    favorable: list[int]


class Rows(_Doc):
    """Row counts; the totals are null when they would give a hidden group's size."""

    read: int | None
    used: int | None
    excluded: int | None
    excluded_by_reason: dict[str, int] = {}
    cells_set_missing: dict[str, int] = {}
    comment_redactions: dict[str, int] = {}


class GroupSize(_Doc):
    n: int


class Item(_Doc):
    id: str
    dimension: str
    text: str
    reverse: bool
    answered_share: Number | None
    groups: dict[str, Cell]
    gap: Gap | None
    benchmark: _Open | None = None


class Dimension(_Doc):
    id: str
    title: str
    description: str | None = None
    actions: list[str] = []
    items: list[str]
    alpha: Number | None
    alpha_n: int | None
    groups: dict[str, Cell]
    gap: Gap | None
    benchmark: _Open | None = None


class Segment(_Doc):
    column: str
    value: str
    dimension: str
    groups: dict[str, Cell]
    gap: Gap | None


class CommentTexts(_Doc):
    count: int
    texts: list[str]


class Comment(_Doc):
    id: str
    text: str
    groups: dict[str, Suppressed | CommentTexts]


class Privacy(_Doc):
    """What the anonymity audit hid."""

    min_group_size: int
    segment_cells: int
    cells_hidden_small: int
    cells_hidden_protective: int
    groups_hidden: int
    row_totals_withheld: bool
    pooled_counts_withheld: int


class Branding(_Doc):
    """The survey's `report:` section: who the report is for and by, and the logo
    embedded as a data URI (PNG or JPEG)."""

    client: str | None = None
    prepared_by: str | None = None
    logo: str | None = Field(
        default=None, pattern=r"^data:image/(png|jpeg);base64,[A-Za-z0-9+/=]*$"
    )


class ResultDocument(_Doc):
    """The analysis result (`analyze --json`)."""

    result_version: Literal[1, 2]
    alignscan_version: str
    survey: SurveyRef
    source: Source
    scale: ScaleInfo
    compare: list[str] = Field(min_length=2, max_length=2)
    group_labels: dict[str, str] | None = None  # group id -> display name (roles.labels)
    min_group_size: int = Field(ge=1)
    min_comment_group_size: int
    rows: Rows
    groups: dict[str, Suppressed | GroupSize]
    items: list[Item]
    dimensions: list[Dimension]
    segments: list[Segment]
    comments: list[Comment] = []
    privacy: Privacy
    warnings: list[str] = []
    report: Branding | None = None
    drivers: _Open | None = None
    participation: _Open | None = None
    norms: _Open | None = None
    trend: _Open | None = None  # with analyze --baseline: the trend document
    report_date: str | None = None  # the date printed on the report, when one was given

    def to_json(self) -> str:
        """Stable JSON text: the same result gives the same bytes."""
        return json.dumps(self.document(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def result_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of the result document, generated from the models."""
    schema = ResultDocument.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "alignscan analysis result",
        **{k: v for k, v in schema.items() if k != "title"},
    }
