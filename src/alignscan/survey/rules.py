"""Rules that span several fields of a survey (scale labels and favorable codes, ids,
columns, roles, privacy, labels and actions, drivers), as (path, message, severity)
findings the loader places in the file."""

from __future__ import annotations

from typing import Literal

from alignscan.survey.model import Privacy, Roles, Scale, Survey, normalise, numeral
from alignscan.survey.problems import Loc, _path_text

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
