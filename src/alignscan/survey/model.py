"""Survey definitions: the pydantic model of the YAML format and a safe loader that
reports every problem with its file, line and column.

The loader never constructs arbitrary YAML objects: it composes the node tree,
refuses explicit tags, bounds alias expansion (billion laughs) and duplicate keys,
and builds plain dicts/lists while remembering where each value came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    field_validator,
)

from alignscan.errors import AlignscanError

BUILTIN_SURVEY = "ai-alignment.yaml"
MAX_SURVEY_BYTES = 2_000_000
MAX_NODES = 200_000  # after alias expansion; a survey has a few hundred

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


# ----------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a survey file. `line`/`column` are 1-based; 0 when unknown."""

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass(frozen=True)
class LoadResult:
    file: str
    survey: Survey | None
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return self.survey is not None and not self.errors


class SurveyError(AlignscanError):
    """Raised by `load_survey` when a definition is invalid; carries every problem."""

    code = "survey_invalid"

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        first = problems[0] if problems else None
        super().__init__(
            f"{first.file}:{first.line}:{first.column}: {first.message}" if first else "invalid"
        )


# ----------------------------------------------------------------------------- YAML


Loc = tuple[str | int, ...]
_ALLOWED_TAGS = {
    "tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "map", "seq")
}


class _YamlProblem(Exception):
    def __init__(self, line: int, column: int, message: str):
        self.line, self.column, self.message = line, column, message
        super().__init__(message)


def _mark(node: Any) -> tuple[int, int]:
    m = node.start_mark
    return m.line + 1, m.column + 1


def _build(root: Any, constructor: Any) -> tuple[Any, dict[Loc, tuple[int, int]]]:
    """Turn a composed YAML node tree into plain Python values plus a location map."""
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    locations: dict[Loc, tuple[int, int]] = {}
    budget = [MAX_NODES]

    def build(node: Any, loc: Loc, stack: frozenset[int]) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise _YamlProblem(
                *_mark(node), "document expands to too many values (aliases nested too deeply?)"
            )
        if id(node) in stack:
            raise _YamlProblem(*_mark(node), "an alias refers to itself (recursive anchor)")
        tag = node.tag.value if hasattr(node.tag, "value") else node.tag
        if tag not in _ALLOWED_TAGS:
            raise _YamlProblem(*_mark(node), f"YAML tag {tag!r} is not allowed in a survey file")
        locations.setdefault(loc, _mark(node))
        inner = stack | {id(node)}
        if isinstance(node, ScalarNode):
            return _scalar(constructor, node)
        if isinstance(node, SequenceNode):
            return [build(child, (*loc, i), inner) for i, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    raise _YamlProblem(*_mark(key_node), "mapping keys must be plain text")
                if key_node.tag == "tag:yaml.org,2002:merge" or key_node.value == "<<":
                    raise _YamlProblem(*_mark(key_node), "merge keys (<<) are not supported")
                key = _scalar(constructor, key_node)
                if not isinstance(key, str | int | float | bool) and key is not None:
                    raise _YamlProblem(*_mark(key_node), "mapping keys must be plain text")
                key = "" if key is None else key if isinstance(key, str) else str(key)
                if key in out:
                    first = locations.get((*loc, key), (0, 0))[0]
                    raise _YamlProblem(
                        *_mark(key_node), f"duplicate key {key!r} (first defined on line {first})"
                    )
                locations[(*loc, key)] = _mark(key_node)
                out[key] = build(value_node, (*loc, key), inner)
            return out
        raise _YamlProblem(*_mark(node), "unsupported YAML node")

    return build(root, (), frozenset()), locations


def _scalar(constructor: Any, node: Any) -> Any:
    """One scalar; a number too long to convert (Python's 4,300-digit limit) or a tag
    that is not allowed (also on a mapping key) is a problem."""
    tag = node.tag.value if hasattr(node.tag, "value") else node.tag
    if tag not in _ALLOWED_TAGS:
        raise _YamlProblem(*_mark(node), f"YAML tag {tag!r} is not allowed in a survey file")
    try:
        return constructor.construct_object(node, deep=True)
    except ValueError as exc:
        if "digits" in str(exc):
            message = "this number is too long; quote it if it is text"
            raise _YamlProblem(*_mark(node), message) from None
        raise _YamlProblem(*_mark(node), f"invalid value: {_first_line(exc)}") from None
    except Exception as exc:  # ruamel raises ConstructorError and friends (`!!int abc`)
        raise _YamlProblem(*_mark(node), f"invalid value: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _shallow(text: str, limit: int = 64) -> bool:
    """Cheap over-estimate of nesting: flow brackets and indentation both under `limit`."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    indent = max((len(line) - len(line.lstrip(" -")) for line in text.splitlines()), default=0)
    return deepest <= limit and indent <= 4 * limit


def parse_yaml(text: str) -> tuple[Any, dict[Loc, tuple[int, int]]]:
    """Parse YAML 1.2 text safely. Raises _YamlProblem with a position on any problem."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    # The C parser (ruamel.yaml.clib) is about 7x faster but follows libyaml, which rejects
    # some valid YAML 1.2 plain scalars; the pure-Python parser is the authority on errors.
    # Deeply nested input can overflow the C stack, so it only sees shallow documents.
    if _shallow(text):
        yaml = YAML(typ="safe")
        try:
            nodes = list(yaml.compose_all(text))
        except (YAMLError, RecursionError):
            nodes = None
    else:
        nodes = None
    try:
        if nodes is None:
            yaml = YAML(typ="safe", pure=True)
            nodes = list(yaml.compose_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "invalid YAML"
        if "\\t" in message or "'\\t'" in message:
            message = "tab characters can't be used for indentation in YAML; use spaces"
        raise _YamlProblem(line, col, f"YAML syntax error: {message}") from None
    except YAMLError as exc:
        raise _YamlProblem(0, 0, f"YAML error: {exc}") from None
    except RecursionError:
        raise _YamlProblem(0, 0, "YAML is nested too deeply") from None
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        raise _YamlProblem(1, 1, "the file is empty; a survey definition is a YAML mapping")
    if len(nodes) > 1:
        raise _YamlProblem(*_mark(nodes[1]), "only one YAML document per survey file")
    try:
        return _build(nodes[0], yaml.constructor)
    except RecursionError:
        raise _YamlProblem(0, 0, "YAML is nested too deeply") from None


# ----------------------------------------------------------------------------- loading


def _path_text(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _locate(locations: dict[Loc, tuple[int, int]], loc: Loc) -> tuple[int, int]:
    """Closest known position for a path: the value itself, else its nearest parent."""
    loc = tuple(loc)
    while loc:
        if loc in locations:
            return locations[loc]
        loc = loc[:-1]
    return locations.get((), (1, 1))


def _did_you_mean(loc: Loc) -> str:
    """ "; did you mean 'dimensions'?" for a misspelt key, from the keys allowed there."""
    import difflib
    import typing

    model: Any = Survey
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        if field is None:
            return ""
        found = [field.annotation, *typing.get_args(field.annotation)]
        found += [a for f in found for a in typing.get_args(f)]
        model = next((a for a in found if isinstance(a, type) and issubclass(a, BaseModel)), None)
    if model is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


def _pydantic_problems(
    file: str, exc: ValidationError, locations: dict[Loc, tuple[int, int]]
) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown field {loc[-1]!r}" + _did_you_mean(loc)
        elif err["type"] == "bool_type":
            msg = "must be true or false (in YAML 1.2, yes/no/on/off are text, not booleans)"
        elif err["type"] == "missing":
            msg = f"required field {loc[-1]!r} is missing"
        elif err["type"] == "string_pattern_mismatch":
            msg = (
                "must be a slug: letters, digits, '-', '_' or '.', starting with a letter or digit"
            )
        line, col = _locate(locations, loc)
        problems.append(Problem(file, line, col, _path_text(loc), msg))
    return problems


Finding = tuple[Loc, str, Literal["error", "warning"]]


def check_rules(survey: Survey) -> list[Finding]:
    """Rules that span several fields. Returns (path, message, severity) triples."""
    return [
        *scale_rules(survey.scale),
        *label_and_action_rules(survey),
        *id_rules(survey),
        *column_rules(survey),
        *role_rules(survey.roles),
        *privacy_rules(survey.privacy),
        *driver_rules(survey),
    ]


def scale_rules(scale: Scale) -> list[Finding]:
    """Labels, favorable codes, aliases and missing values of the answer scale."""
    found: list[Finding] = []

    def err(loc: Loc, msg: str) -> None:
        found.append((loc, msg, "error"))

    if len(scale.labels) != scale.points:
        err(
            ("scale", "labels"),
            f"scale has {scale.points} points but {len(scale.labels)} labels; give one per point",
        )
    first, last = scale.start, scale.start + scale.points - 1
    for i, code in enumerate(scale.favorable):
        if not first <= code <= last:
            err(("scale", "favorable", i), f"favorable code {code} is outside {first}..{last}")
    if len(set(scale.favorable)) != len(scale.favorable):
        err(("scale", "favorable"), "favorable codes are listed twice")
    if len(set(scale.favorable)) == scale.points:
        err(("scale", "favorable"), "every code is favorable; the favorable share would be 100%")
    found += _numeral_label_rules(scale)
    found += _answer_text_rules(scale)
    return found


def _numeral_label_rules(scale: Scale) -> list[Finding]:
    """A label that is a number must equal its own code (else `start` is probably wrong)."""
    found: list[Finding] = []
    first = scale.start
    for i, label in enumerate(scale.labels):
        number = numeral(label)
        if number is not None and number != first + i:
            hint = (
                f" (set scale.start: {number - i} for codes {number - i}.."
                f"{number - i + scale.points - 1})"
                if isinstance(number, int)
                else ""
            )
            found.append(
                (
                    ("scale", "labels", i),
                    f"label {label!r} is a number but its code is {first + i}: an answer "
                    f"{label!r} would be ambiguous; a label that is a number must equal its code"
                    + hint,
                    "error",
                )
            )
    return found


def _answer_text_rules(scale: Scale) -> list[Finding]:
    """Labels, aliases and missing values never mean two things."""
    found: list[Finding] = []

    def err(loc: Loc, msg: str) -> None:
        found.append((loc, msg, "error"))

    first, last = scale.start, scale.start + scale.points - 1
    answer_texts: dict[str, Loc] = {}
    for i, label in enumerate(scale.labels):
        key = normalise(label)
        if key in answer_texts:
            err(("scale", "labels", i), f"label {label!r} is used twice")
        answer_texts[key] = ("scale", "labels", i)
    for alias, code in scale.aliases.items():
        if not first <= code <= last:
            err(("scale", "aliases", alias), f"alias code {code} is outside {first}..{last}")
        if normalise(alias) in answer_texts:
            err(("scale", "aliases", alias), f"alias {alias!r} repeats a label or another alias")
        answer_texts[normalise(alias)] = ("scale", "aliases", alias)
    for i, text in enumerate(scale.missing):
        if normalise(text) in answer_texts:
            err(("scale", "missing", i), f"{text!r} is both an answer and a 'missing' value")
    return found


def id_rules(survey: Survey) -> list[Finding]:
    """Dimension, item and comment ids are unique; one-item dimensions get a warning."""
    found: list[Finding] = []

    def err(loc: Loc, msg: str) -> None:
        found.append((loc, msg, "error"))

    seen_items: dict[str, Loc] = {}
    seen_dims: dict[str, Loc] = {}
    for d, dim in enumerate(survey.dimensions):
        if dim.id in seen_dims:
            err(("dimensions", d, "id"), f"dimension id {dim.id!r} is used twice")
        seen_dims.setdefault(dim.id, ("dimensions", d, "id"))
        if len(dim.items) == 1:
            found.append(
                (
                    ("dimensions", d, "items"),
                    f"dimension {dim.id!r} has one item; reliability (alpha) needs at least 2",
                    "warning",
                )
            )
        for i, item in enumerate(dim.items):
            id_loc: Loc = ("dimensions", d, "items", i, "id")
            if item.id in seen_items:
                err(id_loc, f"item id {item.id!r} is used twice (ids are unique across dimensions)")
            seen_items.setdefault(item.id, id_loc)
    seen_comments: set[str] = set()
    for c, comment in enumerate(survey.comments):
        if comment.id in seen_comments or comment.id in seen_items:
            err(("comments", c, "id"), f"comment id {comment.id!r} is already used")
        seen_comments.add(comment.id)
    return found


def column_rules(survey: Survey) -> list[Finding]:
    """Each column of the export is used for one purpose only."""
    found: list[Finding] = []
    columns: dict[str, tuple[Loc, str]] = {}

    def use(column: str, loc: Loc, purpose: str) -> None:
        key = column.strip()
        if key in columns:
            other_loc, other = columns[key]
            found.append(
                (
                    loc,
                    f"column {column!r} is already used as {other} ({_path_text(other_loc)})",
                    "error",
                )
            )
        else:
            columns[key] = (loc, purpose)

    if survey.respondent_id:
        use(survey.respondent_id, ("respondent_id",), "the respondent id")
    use(survey.roles.column, ("roles", "column"), "the role column")
    for s, seg in enumerate(survey.segments):
        use(seg, ("segments", s), f"segment {seg!r}")
    for d, dim in enumerate(survey.dimensions):
        for i, item in enumerate(dim.items):
            use(
                item.source_column,
                ("dimensions", d, "items", i, "column" if item.column else "id"),
                f"item {item.id!r}",
            )
    for c, comment in enumerate(survey.comments):
        use(
            comment.source_column,
            ("comments", c, "column" if comment.column else "id"),
            f"comment {comment.id!r}",
        )
    return found


def role_rules(roles: Roles) -> list[Finding]:
    """Compared groups exist and differ; every role value belongs to one group."""
    found: list[Finding] = []

    def err(loc: Loc, msg: str) -> None:
        found.append((loc, msg, "error"))

    for i, name in enumerate(roles.compare):
        if name not in roles.groups:
            err(
                ("roles", "compare", i),
                f"compare names group {name!r}, which is not in roles.groups "
                f"({', '.join(roles.groups)})",
            )
    if len(roles.compare) == 2 and roles.compare[0] == roles.compare[1]:
        err(("roles", "compare"), "compare needs two different groups")
    owner: dict[str, str] = {}
    for group, values in roles.groups.items():
        if not values:
            err(("roles", "groups", group), f"group {group!r} has no role values")
        for v, value in enumerate(values):
            key = normalise(value)
            if key in owner and owner[key] != group:
                err(
                    ("roles", "groups", group, v),
                    f"role value {value!r} is in two groups: {owner[key]!r} and {group!r}",
                )
            elif key in owner:
                err(("roles", "groups", group, v), f"role value {value!r} is listed twice")
            owner.setdefault(key, group)
    return found


def privacy_rules(privacy: Privacy) -> list[Finding]:
    if privacy.min_comment_group_size < privacy.min_group_size:
        return [
            (
                ("privacy", "min_comment_group_size"),
                "min_comment_group_size can't be smaller than min_group_size",
                "error",
            )
        ]
    return []


CONNECTIVES = ("and", "or", "but", "then", "also", "plus", "so", "nor")


def label_and_action_rules(survey: Survey) -> list[tuple[Loc, str, Literal["error", "warning"]]]:
    """A display label must name a known group; an action starting with a lowercase
    connective ("and ...") is most likely half of an action split at its comma."""
    found: list[tuple[Loc, str, Literal["error", "warning"]]] = []
    for group in survey.roles.labels:
        if group not in survey.roles.groups:
            known = ", ".join(survey.roles.groups)
            found.append(
                (
                    ("roles", "labels", group),
                    f"label for unknown group {group!r} (groups: {known})",
                    "error",
                )
            )
    for d, dim in enumerate(survey.dimensions):
        for i, action in enumerate(dim.actions):
            first = action.strip().split(" ", 1)[0]
            if first in CONNECTIVES:
                found.append(
                    (
                        ("dimensions", d, "actions", i),
                        f"action starts with {first!r}: was one action split at a comma? "
                        "Write actions as a block list (one '- ' line each) and quote "
                        "an action that contains a comma",
                        "warning",
                    )
                )
    return found


LOGO_MAX_BYTES = 200 * 1024
_LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def embed_logo(logo: str, base: Path) -> tuple[str | None, str | None]:
    """(data URI, None) for a PNG or JPEG file of at most 200 KB, relative to `base`;
    (None, reason) otherwise. URLs and SVG are refused: the report fetches nothing."""
    lowered = logo.strip().lower()
    if "://" in lowered or lowered.startswith(("data:", "//", "www.")):
        return None, "logo must be a PNG or JPEG file next to the survey, not a URL"
    if lowered.endswith((".svg", ".svgz")):
        return None, "logo can't be SVG (it can carry scripts and links): use PNG or JPEG"
    path = base / logo
    try:
        size = path.stat().st_size
        if size > LOGO_MAX_BYTES:
            return None, f"logo {logo} is {size // 1024} KB; at most 200 KB"
        raw = path.read_bytes()
    except OSError as exc:
        return None, f"can't read logo {logo}: {exc.strerror or exc}"
    mime = next((m for magic, m in _LOGO_TYPES.items() if raw.startswith(magic)), None)
    if mime is None:
        return None, f"logo {logo} is not a PNG or JPEG image"
    import base64

    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}", None


def _with_logo(result: LoadResult, base: Path, locations: dict[Loc, tuple[int, int]]) -> LoadResult:
    """The survey with its logo embedded as a data URI, or a problem at the logo's line."""
    survey = result.survey
    if survey is not None and survey.weights is not None:  # the file is next to the survey
        weights = survey.weights.model_copy(
            update={"headcount": str(base / survey.weights.headcount)}
        )
        survey = survey.model_copy(update={"weights": weights})
        result = LoadResult(result.file, survey, result.problems)
    if survey is None or survey.report is None or survey.report.logo is None:
        return result
    uri, reason = embed_logo(survey.report.logo, base)
    if reason is not None:
        loc: Loc = ("report", "logo")
        problem = Problem(result.file, *_locate(locations, loc), _path_text(loc), reason)
        return LoadResult(
            result.file, None, sorted([*result.problems, problem], key=lambda p: (p.line, p.column))
        )
    report = survey.report.model_copy(update={"logo": uri})
    return LoadResult(result.file, survey.model_copy(update={"report": report}), result.problems)


def driver_rules(survey: Survey) -> list[tuple[Loc, str, Literal["error", "warning"]]]:
    """Rules of the `drivers` block and `privacy.min_driver_group_size`."""
    found: list[tuple[Loc, str, Literal["error", "warning"]]] = []
    privacy = survey.privacy
    drivers = survey.drivers
    if privacy.min_driver_group_size < privacy.min_group_size and (
        drivers is not None or "min_driver_group_size" in privacy.model_fields_set
    ):
        found.append(
            (
                ("privacy", "min_driver_group_size"),
                f"min_driver_group_size ({privacy.min_driver_group_size}) can't be smaller "
                f"than min_group_size ({privacy.min_group_size})",
                "error",
            )
        )
    if drivers is None:
        return found
    dims = [d.id for d in survey.dimensions]
    if drivers.outcome not in dims:
        found.append(
            (
                ("drivers", "outcome"),
                f"outcome {drivers.outcome!r} is not a dimension id ({', '.join(dims)})",
                "error",
            )
        )
    if drivers.predictors is None:
        predictors = [d for d in dims if d != drivers.outcome]
        where: Loc = ("drivers",)
    else:
        predictors = list(drivers.predictors)
        where = ("drivers", "predictors")
    seen: set[str] = set()
    for i, dim_id in enumerate(drivers.predictors or []):
        loc: Loc = ("drivers", "predictors", i)
        if dim_id not in dims:
            found.append((loc, f"predictor {dim_id!r} is not a dimension id", "error"))
        elif dim_id == drivers.outcome:
            found.append((loc, f"{dim_id!r} is the outcome; it can't also be a predictor", "error"))
        elif dim_id in seen:
            found.append((loc, f"predictor {dim_id!r} is listed twice", "error"))
        seen.add(dim_id)
    if not 2 <= len(predictors) <= 15:
        found.append(
            (where, f"driver analysis needs 2 to 15 predictors, not {len(predictors)}", "error")
        )
    return found


def _rule_problems(
    file: str, survey: Survey, locations: dict[Loc, tuple[int, int]]
) -> list[Problem]:
    return [
        Problem(file, *_locate(locations, loc), _path_text(loc), msg, severity)
        for loc, msg, severity in check_rules(survey)
    ]


def load_survey_text(text: str, file: str = "<survey>", base: Path | None = None) -> LoadResult:
    """Validate a survey definition given as YAML text; never raises for bad input.
    A `report.logo` is read relative to `base` (default: the current folder) and
    embedded as a data URI."""
    try:
        data, locations = parse_yaml(text)
    except _YamlProblem as exc:
        return LoadResult(file, None, [Problem(file, exc.line, exc.column, "", exc.message)])
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"
        return LoadResult(
            file,
            None,
            [Problem(file, 1, 1, "", f"the top level must be a mapping of fields, not {kind}")],
        )
    data.pop("$schema", None)
    try:
        survey = Survey.model_validate(data)
    except ValidationError as exc:
        problems = _pydantic_problems(file, exc, locations)
        # Unknown fields don't stop the cross-field rules: check the rest without them.
        errors = exc.errors(include_url=False)
        if all(e["type"] == "extra_forbidden" for e in errors):
            for e in errors:
                parent = data
                for part in e["loc"][:-1]:
                    parent = parent[part]
                parent.pop(e["loc"][-1], None)
            try:
                problems += _rule_problems(file, Survey.model_validate(data), locations)
            except ValidationError:
                pass
        return LoadResult(file, None, sorted(problems, key=lambda p: (p.line, p.column)))
    problems = _rule_problems(file, survey, locations)
    problems.sort(key=lambda p: (p.line, p.column))
    return _with_logo(LoadResult(file, survey, problems), base or Path.cwd(), locations)


def read_survey_file(path: str | Path) -> LoadResult:
    """Read and validate one survey file; I/O problems become Problems too."""
    path = Path(path)
    file = str(path)
    try:
        if path.stat().st_size > MAX_SURVEY_BYTES:
            return LoadResult(
                file, None, [Problem(file, 0, 0, "", "file is too large for a survey definition")]
            )
        raw = path.read_bytes()
    except OSError as exc:
        return LoadResult(file, None, [Problem(file, 0, 0, "", f"can't read file: {exc.strerror}")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return LoadResult(
            file, None, [Problem(file, line, 0, "", "file is not UTF-8 text (is it binary?)")]
        )
    if "\x00" in text:
        return LoadResult(file, None, [Problem(file, 1, 0, "", "file is binary, not YAML text")])
    return load_survey_text(text, file, path.parent)


def load_survey(path: str | Path | None = None) -> Survey:
    """The survey at `path`, or the built-in instrument. Raises SurveyError if invalid."""
    result = read_survey_file(path) if path is not None else builtin_survey_result()
    if not result.ok:
        raise SurveyError(result.errors or result.problems)
    assert result.survey is not None
    return result.survey


def builtin_survey_text() -> str:
    return resources.files("alignscan.data").joinpath(BUILTIN_SURVEY).read_text("utf-8")


def builtin_survey_result() -> LoadResult:
    return load_survey_text(builtin_survey_text(), f"<built-in {BUILTIN_SURVEY}>")


def survey_json_schema() -> dict[str, Any]:
    schema = Survey.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


SKIPPED_FOLDERS = frozenset({"node_modules", "__pycache__", "venv", "site-packages"})


def _skipped_folder(folder: Path) -> bool:
    """Folders a directory walk never enters: hidden ones (.git, .venv, .tox), virtualenvs
    (a pyvenv.cfg or conda-meta inside), node_modules and __pycache__."""
    return (
        folder.name.startswith(".")
        or folder.name in SKIPPED_FOLDERS
        or (folder / "pyvenv.cfg").is_file()
        or (folder / "conda-meta").is_dir()
    )


def _walk_yaml(root: Path) -> list[Path]:
    """*.yaml / *.yml files under `root` (not hidden ones), outside skipped folders."""
    import os

    found: list[Path] = []
    for here, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not _skipped_folder(Path(here, d))]
        found += [
            Path(here, n)
            for n in names
            if n.endswith((".yaml", ".yml")) and not n.startswith(".") and Path(here, n).is_file()
        ]
    return sorted(found)


def discover_survey_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """Expand files and directories (recursively, *.yaml / *.yml, skipping hidden folders,
    virtualenvs and node_modules). Files named explicitly are always kept.
    Returns (files, missing)."""
    files: list[Path] = []
    missing: list[str] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files.extend(_walk_yaml(p))
        elif p.exists():
            files.append(p)
        else:
            missing.append(str(raw))
    return files, missing
