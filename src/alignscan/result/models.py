"""Typed documents: the analysis result, as frozen pydantic models.

The models are the single description of the result's shape: `docs/result.schema.json`
is generated from them (`alignscan schema --result`), `load_result` validates a saved
file with them, and the renderers read them. Fields are declared in the order the
analysis writes them, and a document keeps exactly the keys it was given, so
`Result.to_json()` is byte-identical to the JSON the analysis produced.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from alignscan.limits import RESULT_NUMBER_LIMIT, strict_json  # noqa: F401 (re-exported)
from alignscan.result.jsonvalues import clean_json  # NaN as null, numpy numbers as Python's

Number = int | float
Interval = list[float]
D = TypeVar("D", bound="_Doc")


def json_text(document: Any) -> str:
    """The one JSON dumper of alignscan's documents: a model (its `document()`) or plain
    data as stable text (same document, same bytes); NaN is never written (null instead)."""
    if isinstance(document, _Doc):
        document = document.document()
    else:
        document = clean_json(document)
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def document(self) -> dict[str, Any]:
        """The plain JSON-ready dict, with exactly the keys the document was given."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)

    def to_json(self) -> str:
        """Stable JSON text: the same document gives the same bytes."""
        return json_text(self)

    def updated(self: D, **changes: Any) -> D:
        """A copy with some fields replaced (`model_copy`), each new value validated as its
        field's type first (so a section given as plain data becomes its model)."""
        checked = {k: _adapter(type(self), k).validate_python(v) for k, v in changes.items()}
        return self.model_copy(update=checked)


@cache
def _adapter(model: type[BaseModel], field: str) -> TypeAdapter[Any]:
    annotation = model.model_fields[field].annotation
    assert annotation is not None  # every field of the documents is annotated
    return TypeAdapter(annotation)


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
    favorable: Number | None
    favorable_se: float | None = None
    counts: dict[str, int] | None
    answer_counts: dict[str, int] | None = None
    mean_se: float | None = None  # weighted analyses: the linearised se of the mean
    n_effective: float | None = None  # weighted analyses: Kish's effective sample size


class ItemStats(_Doc):
    """One group's figures in one item cell: those of GroupStats, in the order the
    analysis writes them for an item (the weighted analysis's `favorable_se` comes after
    the answer counts)."""

    n: int = Field(ge=0)
    mean: float | None
    sd: float | None
    favorable: Number | None
    counts: dict[str, int] | None
    answer_counts: dict[str, int] | None = None
    favorable_se: float | None = None
    mean_se: float | None = None
    n_effective: float | None = None


Cell = Suppressed | GroupStats


class Gap(_Doc):
    """The first compared group minus the second."""

    mean: Number
    mean_ci: Interval | None
    mean_ci_adjusted: Interval | None
    se: Number | None
    df: Number | None
    favorable: Number | None
    favorable_ci: Interval | None
    p_value: Number | None
    q_value: Number | None
    cliffs_delta: Number | None
    magnitude: Literal["negligible", "small", "medium", "large"] | None


class SurveyRef(_Doc):
    id: str
    version: str
    title: str


class Source(_Doc):
    file: str
    format: str
    export_tool: str | None


class ScaleInfo(_Doc):
    points: int = Field(ge=2)
    start: int
    labels: list[str]
    favorable: list[int]


class Rows(_Doc):
    """Row counts; the totals are null when they would give a hidden group's size."""

    read: int | None
    used: int | None
    excluded: int | None
    excluded_by_reason: dict[str, int]
    cells_set_missing: dict[str, int]
    comment_redactions: dict[str, int]


class GroupSize(_Doc):
    n: int


class BenchmarkMark(_Doc):
    """Where a figure sits in the norms: their quartiles and its percentile rank."""

    favorable_p25: Number | None = None
    favorable_p50: Number
    favorable_p75: Number | None = None
    favorable_percentile: Number | None


class Reference(_Doc):
    """A published reference figure (a study's favorable shares and their gap)."""

    source: str
    dimension: str | None = None
    item: str | None = None
    label: str
    groups: dict[str, Number]
    gap: Number | None


class Benchmark(_Doc):
    """A dimension's or item's place in the norms (`extras.norms`; its JSON Schema is
    `benchmark_json_schema`)."""

    orgs: int
    groups: dict[str, BenchmarkMark]
    gap: BenchmarkMark
    references: list[Reference] | None = None


class Item(_Doc):
    id: str
    dimension: str
    text: str
    reverse: bool
    answered_share: Number | None
    groups: dict[str, Suppressed | ItemStats]
    gap: Gap | None
    benchmark: Benchmark | None = None


class Dimension(_Doc):
    id: str
    title: str
    description: str | None
    actions: list[str]
    items: list[str]
    alpha: Number | None
    alpha_n: int | None
    groups: dict[str, Cell]
    gap: Gap | None
    benchmark: Benchmark | None = None


class Segment(_Doc):
    column: str
    value: str
    dimension: str
    groups: dict[str, Cell]
    gap: Gap | None


class CommentText(_Doc):
    """One distinct comment text and how many of the group's comments are exactly it."""

    text: str
    count: int = Field(ge=1)


class CommentTexts(_Doc):
    """A group's comments: how many, and each distinct text once with its count (sorted
    by text; at most the first 500 comments in that order)."""

    count: int
    texts: list[CommentText]


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
    # each protectively hidden segment cell and the small group it protects
    protective_hides: list[dict[str, Any]] | None = None


class Branding(_Doc):
    """The survey's `report:` section: who the report is for and by, and the logo
    embedded as a data URI (PNG or JPEG)."""

    client: str | None = None
    prepared_by: str | None = None
    logo: str | None = Field(
        default=None, pattern=r"^data:image/(png|jpeg);base64,[A-Za-z0-9+/=]*$"
    )


class DetectableGap(_Doc):
    """The smallest gap the data can tell from noise (issue #25): the median half-width,
    in scale points, of the adjusted intervals of the item and of the dimension gaps (a
    gap is flagged exactly when its adjusted interval excludes zero), with the smaller
    compared group and its size."""

    group: str
    n: int
    items: Number | None
    dimensions: Number | None


class DriverDimension(_Doc):
    """One predictor of a group's driver analysis: its correlation with the outcome
    (Fisher 95% CI), its LMG importance and its share of R²."""

    id: str
    r: Number | None
    r_ci: list[Number] | None
    importance: Number | None
    share: Number | None


class DriverCell(_Doc):
    """A group's driver analysis: complete answers, R² and the predictors."""

    n: int = Field(ge=0)
    r2: Number | None
    dimensions: list[DriverDimension]


class Drivers(_Doc):
    """The driver analysis (`extras.drivers`; its JSON Schema is `drivers.json_schema`)."""

    outcome: str
    predictors: list[str]
    min_group_size: int
    groups: dict[str, Suppressed | DriverCell]


class Rate(_Doc):
    """Used respondents out of the headcount."""

    headcount: int = Field(ge=0)
    responded: int = Field(ge=0)
    rate: Number


RateCell = Suppressed | Rate


class ParticipationSegment(_Doc):
    column: str
    value: str
    groups: dict[str, RateCell]


class Participation(_Doc):
    """Participation per group and group x segment value (`extras.participation`; its
    JSON Schema is `participation_json_schema`)."""

    groups: dict[str, RateCell]
    segments: list[ParticipationSegment]
    warnings: list[str] = []


class WeightedGroup(_Doc):
    """How one compared group was weighted (extra keys a later version adds are kept)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    method: str
    columns: list[str]
    cells: int
    n: int
    population: int
    weight_min: Number
    weight_max: Number
    relative_max: Number
    design_effect: Number
    n_effective: Number
    iterations: int | None = None
    trimmed: bool


class Weighting(_Doc):
    """The weighting to headcount (`--weight-to`; its JSON Schema is
    `weighting_json_schema`, which allows further keys: they are kept)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    file: str
    target: str
    cap: Number | None = None
    trim: bool | None = None
    groups: dict[str, WeightedGroup]
    segments_weighted: bool | None = None
    warnings: list[str]


class ResultDocument(_Doc):
    """The analysis result (`analyze --json`)."""

    result_version: Literal[2]
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
    comments: list[Comment]
    privacy: Privacy
    warnings: list[str]
    detectable_gap: DetectableGap | None = None
    report: Branding | None = None
    drivers: Drivers | None = None
    participation: Participation | None = None
    weighting: Weighting | None = None  # with --weight-to: weights per compared group
    norms: _Open | None = None
    trend: TrendDocument | None = None  # with analyze --baseline: the trend document
    report_date: str | None = None  # the date printed on the report, when one was given


def as_result(result: ResultDocument | dict[str, Any]) -> ResultDocument:
    """The typed result of a result document given either way: a model as it is, a
    plain dict (an old caller's, or the analysis's) validated once."""
    if isinstance(result, ResultDocument):
        return result
    return ResultDocument.model_validate(clean_json(result))


def as_trend(trend: TrendDocument | dict[str, Any]) -> TrendDocument:
    """The typed trend of a trend document given either way (see `as_result`)."""
    if isinstance(trend, TrendDocument):
        return trend
    return TrendDocument.model_validate(clean_json(trend))


def upgrade_comments(document: Any) -> Any:
    """A result saved before comments were stored once per distinct text (`texts` as a
    list of strings, repeats included) in today's shape, so that it still loads; any
    other value is returned as it is."""
    if not isinstance(document, dict) or not isinstance(document.get("comments"), list):
        return document
    comments = []
    for comment in document["comments"]:
        groups = comment.get("groups") if isinstance(comment, dict) else None
        if not isinstance(groups, dict):
            comments.append(comment)
            continue
        upgraded = {}
        for g, cell in groups.items():
            texts = cell.get("texts") if isinstance(cell, dict) else None
            if isinstance(texts, list) and all(isinstance(t, str) for t in texts):
                counted: dict[str, int] = {}
                for text in sorted(texts):
                    counted[text] = counted.get(text, 0) + 1
                cell = {**cell, "texts": [{"text": t, "count": n} for t, n in counted.items()]}
            upgraded[g] = cell
        comments.append({**comment, "groups": upgraded})
    return {**document, "comments": comments}


# ----------------------------------------------------------------------------- trend


class GapChange(_Doc):
    """The change of a gap between two waves (t with Welch-Satterthwaite df)."""

    change: Number
    ci: Interval
    se: Number | None = None
    df: Number | None = None
    p_value: Number | None
    q_value: Number | None
    direction: Literal["closing", "widening", "reversed"] | None
    from_gap: Number | None = None
    to_gap: Number | None = None
    size_change: Number | None = None  # |to_gap| - |from_gap|: how the gap's size moved
    sign_changed: bool | None = None


class FavorableChange(_Doc):
    change: Number
    ci: Interval


class WaveCell(_Doc):
    """One unit in one wave: its gap, or `present: false`."""

    present: bool
    gap: Number | None = None
    se: Number | None = None
    df: Number | None = None
    mean_ci: Interval | None = None
    favorable: dict[str, Number | None] | None = None


class Change(_Doc):
    gap: GapChange | None
    favorable: dict[str, FavorableChange | None]
    from_: str = Field(alias="from")
    to: str

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class TrendRow(_Doc):
    id: str
    title: str
    waves_present: list[str]
    waves: list[WaveCell]
    changes: list[Change]
    dimension: str | None = None


class TrendDocument(_Doc):
    """The trend between waves (`alignscan trend --json`)."""

    trend_version: Literal[2]
    alignscan_version: str
    labels: list[str] = Field(min_length=2)
    compare: list[str] = Field(min_length=2, max_length=2)
    group_labels: dict[str, str] | None = None  # display names of the latest wave (roles.labels)
    comparability: list[_Open] | None = None  # survey-version changes that break the trend
    compared_on: Literal["means and favorable shares", "favorable shares"]
    waves: list[_Open]
    dimensions: list[TrendRow]
    items: list[TrendRow]
    partial: list[_Open]
    warnings: list[str]
    notes: list[str]


ResultDocument.model_rebuild()  # its `trend` is the TrendDocument declared above


def trend_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of the trend document, generated from the models."""
    schema = TrendDocument.model_json_schema(mode="validation", by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "alignscan trend",
        **{k: v for k, v in schema.items() if k != "title"},
    }


# ----------------------------------------------------------------------------- check


class CheckFormat(_Doc):
    type: str
    encoding: str | None
    delimiter: str | None
    header_rows: int | None
    export_tool: str | None
    sheet: str | None


class CheckRows(_Doc):
    read: int | None
    used: int | None
    excluded: int | None
    excluded_by_reason: dict[str, int]


class HiddenCount(_Doc):
    """A count below the minimum: only that it is below."""

    suppressed: Literal[True]
    below: int


class CheckSegment(_Doc):
    column: str
    value: str
    groups: dict[str, HiddenCount | GroupSize]


class CellProblem(_Doc):
    """One rejected value: where a spreadsheet shows it, and why."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    reason: str
    kind: str


class UnreadableReport(_Doc):
    """What `check --format json` prints for a file it can't read at all."""

    file: str
    valid: Literal[False]
    error_count: int
    errors: list[CellProblem]


class CheckReport(_Doc):
    """What `alignscan check --format json` prints for a file it could read."""

    file: str
    format: CheckFormat
    valid: bool
    rows: CheckRows
    cells_set_missing: dict[str, int]
    groups: dict[str, HiddenCount | GroupSize]
    segments: list[CheckSegment]
    answered_share: dict[str, Number | None]
    warnings: list[str]
    unknown_roles: dict[str, int]
    error_count: int
    error_counts: dict[str, int]
    errors_not_listed: int
    errors: list[CellProblem]
    analyze_refuses: str | None = None
