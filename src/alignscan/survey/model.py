"""Survey definitions: the pydantic model of the YAML format (scale, items, dimensions,
roles, privacy, drivers, report, weights, comments) and how answer texts compare.

Loading a file with every problem located is `survey.loading`; the rules that span
several fields are `survey.rules`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator

Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", min_length=1, max_length=64),
]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scale(_Model):
    """The answer scale shared by every item."""

    points: int = Field(ge=2, le=11, description="Number of answer options.")
    start: int = Field(
        default=1,
        ge=-10,
        le=10,
        description="The first code: codes run start..start+points-1 (points: 11, start: 0 "
        "is a 0-10 scale).",
    )
    labels: list[NonEmpty] = Field(description="One label per code, lowest first.")
    favorable: list[int] = Field(min_length=1, description="Codes counted as favorable.")
    missing: list[str] = Field(
        default_factory=list,
        description="Answers treated as not answered (blank cells always are).",
    )
    aliases: dict[str, int] = Field(
        default_factory=dict,
        description="Extra answer texts mapped to a code, e.g. {'Agree somewhat': 4}.",
    )

    @field_validator("missing", mode="before")
    @classmethod
    def _missing_as_text(cls, v: Any) -> Any:
        # `missing: [N/A, 99]` should mean the texts "N/A" and "99".
        if isinstance(v, list):
            return ["" if x is None else str(x) if isinstance(x, int | float) else x for x in v]
        return v


class Item(_Model):
    id: Slug
    text: NonEmpty
    reverse: StrictBool = Field(
        default=False, description="Reverse-keyed: recoded as (first code + last code) - x."
    )
    column: NonEmpty | None = Field(default=None, description="Column name; defaults to the id.")

    @property
    def source_column(self) -> str:
        return self.column or self.id


class Dimension(_Model):
    id: Slug
    title: NonEmpty
    description: str | None = None
    actions: list[NonEmpty] = Field(
        default_factory=list, description="Recommended actions shown when this gap is large."
    )
    items: list[Item] = Field(min_length=1)


class Roles(_Model):
    column: NonEmpty = Field(description="Column holding each respondent's role.")
    groups: dict[Slug, list[NonEmpty]] = Field(
        min_length=2, description="Group name -> role values that belong to it."
    )
    compare: list[Slug] = Field(
        min_length=2, max_length=2, description="[A, B]: the gap is A minus B."
    )
    unmatched: Literal["error", "ignore"] = "error"
    labels: dict[Slug, NonEmpty] = Field(
        default_factory=dict,
        description="Display name per group, e.g. {c_suite: Executives}; default: the id "
        "with _ as spaces, first letter capitalised.",
    )

    @field_validator("groups", mode="before")
    @classmethod
    def _values_as_text(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {
                k: [str(x) if isinstance(x, int | float) else x for x in vals]
                if isinstance(vals, list)
                else vals
                for k, vals in v.items()
            }
        return v


class Privacy(_Model):
    min_group_size: int = Field(default=5, ge=3, description="Smallest group ever shown.")
    min_comment_group_size: int = Field(
        default=10, ge=3, description="Smallest group whose comments are shown."
    )
    min_driver_group_size: int = Field(
        default=30, ge=3, description="Smallest group (complete answers) with driver figures."
    )


class Drivers(_Model):
    """Driver analysis: which dimensions move an outcome dimension, per group."""

    outcome: Slug = Field(description="Dimension id of the outcome, e.g. confidence.")
    predictors: list[Slug] | None = Field(
        default=None, description="Dimension ids of the predictors; default: every other one."
    )


class Report(_Model):
    """Branding of the HTML report: shown in its header and print footer."""

    client: NonEmpty | None = Field(default=None, description="Who the report is for.")
    prepared_by: NonEmpty | None = Field(default=None, description="Who prepared it.")
    logo: NonEmpty | None = Field(
        default=None,
        description="A PNG or JPEG file (at most 200 KB), relative to the survey file; "
        "embedded in the report. No SVG, no URLs.",
    )


class Weights(_Model):
    """Weighting the compared groups to their headcount (`analyze --weight-to`)."""

    headcount: NonEmpty = Field(
        description="CSV of headcounts per group and cell (columns group, headcount and "
        "segment columns), relative to the survey file; see `analyze --weight-to`."
    )
    trim: bool = Field(
        default=False, description="Cap weights at 5x the group's mean weight (--trim-weights)."
    )


class Comment(_Model):
    id: Slug
    text: NonEmpty
    column: NonEmpty | None = None

    @property
    def source_column(self) -> str:
        return self.column or self.id


class Survey(_Model):
    """A survey definition: one questionnaire for every level of the company."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"title": "alignscan survey definition"},
    )

    id: Slug
    title: NonEmpty
    version: NonEmpty = Field(description="Version of this survey; quote it in YAML.")
    description: str | None = None
    scale: Scale
    respondent_id: NonEmpty | None = Field(default=None, description="Respondent id column.")
    roles: Roles
    segments: list[NonEmpty] = Field(
        default_factory=list, description="Columns to break gaps down by (e.g. department)."
    )
    privacy: Privacy = Field(default_factory=Privacy)
    dimensions: list[Dimension] = Field(min_length=1)
    comments: list[Comment] = Field(default_factory=list)
    drivers: Drivers | None = Field(
        default=None, description="Driver analysis of an outcome dimension (optional)."
    )
    report: Report | None = Field(
        default=None, description="Branding of the HTML report (optional)."
    )
    weights: Weights | None = Field(
        default=None,
        description="Weight the compared groups to their headcount (optional; "
        "`analyze --weight-to` overrides the file).",
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, v: Any) -> Any:
        if isinstance(v, int | float) and not isinstance(v, bool):
            return str(v)
        return v

    @property
    def items(self) -> list[Item]:
        return [item for dim in self.dimensions for item in dim.items]

    def item_dimension(self) -> dict[str, str]:
        return {item.id: dim.id for dim in self.dimensions for item in dim.items}

    def role_lookup(self) -> dict[str, str]:
        """Normalised role value (trimmed, case-folded) -> group name."""
        return {
            normalise(value): group
            for group, values in self.roles.groups.items()
            for value in values
        }


def normalise(text: str) -> str:
    """How answer texts and role values are compared: trimmed, case-insensitive."""
    return " ".join(str(text).split()).casefold()


def numeral(text: str) -> float | int | None:
    """The number a label or answer text spells (`4`, `4.0`, `-2`, `3,5`), else None."""
    try:
        number = float(normalise(text).replace(",", "."))
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return int(number) if number.is_integer() else number
