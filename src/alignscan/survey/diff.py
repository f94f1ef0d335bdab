"""What changed between two versions of a survey, and can the waves still be compared?

A change is *breaking* when a gap measured with the old version can no longer be set
beside one measured with the new: an item removed, reworded (beyond whitespace, case
and punctuation), moved to another dimension or with its reverse-keying flipped; a
dimension removed; the answer scale (points, labels, favorable codes), the compared
groups (`roles.compare`) or the role values of a compared group changed. Added items,
titles, descriptions, actions, the version and the like are listed but not breaking.

Pure functions over surveys (`diff_surveys`) and over saved result documents
(`wave_warnings`, for `alignscan trend`), sharing the item and scale comparisons.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from alignscan.survey.model import Survey
from alignscan.survey.problems import Loc, _path_text

ITEM_KINDS_BREAKING_IN_TRENDS = ("reworded", "moved", "reverse_flipped")


@dataclass(frozen=True)
class Change:
    """One difference. `path` is in NEW (in OLD for what was removed); `loc` is where
    in NEW it shows, for a line number."""

    item: str | None
    path: str
    kind: str
    breaking: bool
    message: str
    loc: Loc = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "path": self.path,
            "kind": self.kind,
            "breaking": self.breaking,
            "message": self.message,
        }


@dataclass(frozen=True)
class ItemView:
    """What comparability depends on for one item, from a survey or a result document."""

    id: str
    text: str
    dimension: str
    reverse: bool
    loc: Loc


def wording_key(text: str) -> str:
    """Text with case, whitespace and punctuation ignored: equal keys mean the same wording."""
    kept = "".join(
        " " if unicodedata.category(ch).startswith(("P", "Z")) else ch
        for ch in unicodedata.normalize("NFKC", str(text))
    )
    return " ".join(kept.split()).casefold()


def _quote(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


# ----------------------------------------------------------------------------- items


def survey_items(survey: Survey) -> list[ItemView]:
    return [
        ItemView(item.id, item.text, dim.id, item.reverse, ("dimensions", d, "items", i))
        for d, dim in enumerate(survey.dimensions)
        for i, item in enumerate(dim.items)
    ]


def result_items(result: dict[str, Any]) -> list[ItemView]:
    return [
        ItemView(
            str(it["id"]),
            str(it.get("text", "")),
            str(it.get("dimension", "")),
            bool(it.get("reverse", False)),
            ("items", i),
        )
        for i, it in enumerate(result.get("items", []))
    ]


def item_changes(
    old: list[ItemView], new: list[ItemView], new_dims: dict[str, Loc] | None = None
) -> list[Change]:
    """Items added, removed, reworded, moved and reverse-flipped, matched by id.
    `new_dims` (dimension id -> location in NEW) places a removed item's annotation."""
    before = {it.id: it for it in old}
    after = {it.id: it for it in new}
    out: list[Change] = []
    for it in new:
        was = before.get(it.id)
        if was is None:
            out.append(
                Change(
                    it.id,
                    _path_text(it.loc),
                    "item_added",
                    False,
                    f"item {it.id} added to {it.dimension}: {_quote(it.text)}",
                    it.loc,
                )
            )
            continue
        out += _one_item_changes(was, it)
    for it in old:
        if it.id not in after:
            dims = new_dims or {}
            where: Loc = (*dims[it.dimension], "items") if it.dimension in dims else ()
            out.append(
                Change(
                    it.id,
                    _path_text(it.loc),
                    "item_removed",
                    True,
                    f"item {it.id} removed from {it.dimension} (was {_quote(it.text)})",
                    where,
                )
            )
    return out


def _one_item_changes(was: ItemView, it: ItemView) -> list[Change]:
    out: list[Change] = []
    text_loc: Loc = (*it.loc, "text")
    if was.text != it.text:
        breaking = wording_key(was.text) != wording_key(it.text)
        kind, how = (
            ("reworded", "reworded")
            if breaking
            else ("text_edited", "edited (case, spacing or punctuation only)")
        )
        out.append(
            Change(
                it.id,
                _path_text(text_loc),
                kind,
                breaking,
                f"item {it.id} {how}: {_quote(was.text)} -> {_quote(it.text)}",
                text_loc,
            )
        )
    if was.dimension != it.dimension:
        out.append(
            Change(
                it.id,
                _path_text(it.loc),
                "moved",
                True,
                f"item {it.id} moved from dimension {was.dimension} to {it.dimension}",
                it.loc,
            )
        )
    if was.reverse != it.reverse:
        loc: Loc = (*it.loc, "reverse")
        now = "now reverse-keyed" if it.reverse else "no longer reverse-keyed"
        out.append(
            Change(
                it.id,
                _path_text(loc),
                "reverse_flipped",
                True,
                f"item {it.id} is {now}: its scores flip direction",
                loc,
            )
        )
    return out


# ----------------------------------------------------------------------------- scale


_SCALE_FIELDS = {"points", "labels", "favorable", "missing", "aliases"}
_SURVEY_FIELDS = {"id", "title", "version", "description", "respondent_id", "segments", "privacy"}
_SURVEY_FIELDS |= {"scale", "roles", "dimensions", "comments"}


def scale_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Points, labels and favorable codes (breaking), missing values and aliases (not)."""
    out: list[Change] = []
    base: Loc = ("scale",)
    if old.get("points") != new.get("points"):
        out.append(
            _change(
                None,
                (*base, "points"),
                "scale_points",
                True,
                f"the scale has {new.get('points')} points, was {old.get('points')}",
            )
        )
    old_labels, new_labels = list(old.get("labels", [])), list(new.get("labels", []))
    for i in range(max(len(old_labels), len(new_labels))):
        a = old_labels[i] if i < len(old_labels) else None
        b = new_labels[i] if i < len(new_labels) else None
        if a == b:
            continue
        breaking = a is None or b is None or wording_key(a) != wording_key(b)
        out.append(
            _change(
                None,
                (*base, "labels", i),
                "scale_labels",
                breaking,
                f"label of code {i + 1}: {_quote(a or '-')} -> {_quote(b or '-')}",
            )
        )
    if sorted(old.get("favorable", [])) != sorted(new.get("favorable", [])):
        out.append(
            _change(
                None,
                (*base, "favorable"),
                "scale_favorable",
                True,
                f"favorable codes are {sorted(new.get('favorable', []))}, "
                f"were {sorted(old.get('favorable', []))}",
            )
        )
    for key in ("missing", "aliases"):
        if key in old and key in new and old[key] != new[key]:
            message = f"scale.{key} changed (how answers are read, not what they mean)"
            out.append(_change(None, (*base, key), "scale_answers", False, message))
    # any other scale field (e.g. where the codes start) changes what a code means
    for key in sorted((set(old) | set(new)) - _SCALE_FIELDS):
        if old.get(key) != new.get(key):
            message = f"scale.{key}: {old.get(key)!r} -> {new.get(key)!r}"
            out.append(_change(None, (*base, key), f"scale_{key}", True, message))
    return out


def _change(item: str | None, loc: Loc, kind: str, breaking: bool, message: str) -> Change:
    return Change(item, _path_text(loc), kind, breaking, message, loc)


# ----------------------------------------------------------------------------- surveys


def diff_surveys(old: Survey, new: Survey) -> list[Change]:
    """Every change from OLD to NEW, survey fields first, then scale, roles, dimensions,
    items and comments."""
    out = _top_changes(old, new)
    out += scale_changes(old.scale.model_dump(), new.scale.model_dump())
    out += _role_changes(old, new)
    out += _dimension_changes(old, new)
    new_dims: dict[str, Loc] = {d.id: ("dimensions", i) for i, d in enumerate(new.dimensions)}
    out += item_changes(survey_items(old), survey_items(new), new_dims)
    out += _column_changes(old, new)
    out += _comment_changes(old, new)
    out += [
        _change(None, (key,), key, False, f"{key} changed")
        for key in type(new).model_fields
        if key not in _SURVEY_FIELDS and getattr(old, key) != getattr(new, key)
    ]
    return out


def _top_changes(old: Survey, new: Survey) -> list[Change]:
    out: list[Change] = []
    for key, kind in (
        ("id", "survey_id"),
        ("title", "title"),
        ("version", "version"),
        ("description", "description"),
        ("respondent_id", "respondent_id"),
    ):
        a, b = getattr(old, key), getattr(new, key)
        if a != b:
            out.append(
                _change(
                    None,
                    (key,),
                    kind,
                    False,
                    f"survey {key}: {_quote(a or '-')} -> {_quote(b or '-')}",
                )
            )
    if old.segments != new.segments:
        out.append(
            _change(
                None,
                ("segments",),
                "segments",
                False,
                f"segment columns: {old.segments} -> {new.segments}",
            )
        )
    if old.privacy != new.privacy:
        out.append(
            _change(
                None,
                ("privacy",),
                "privacy",
                False,
                f"privacy thresholds: {old.privacy.model_dump()} -> {new.privacy.model_dump()}",
            )
        )
    return out


def _role_changes(old: Survey, new: Survey) -> list[Change]:
    """`compare` (breaking), role values of the compared groups (breaking) or of others."""
    out: list[Change] = []
    a, b = old.roles, new.roles
    if a.compare != b.compare:
        out.append(
            _change(
                None,
                ("roles", "compare"),
                "compare",
                True,
                f"the gap compares {' - '.join(b.compare)}, was {' - '.join(a.compare)}",
            )
        )
    if a.column != b.column or a.unmatched != b.unmatched:
        out.append(
            _change(
                None,
                ("roles",),
                "roles",
                False,
                f"roles.column / unmatched: {a.column}/{a.unmatched} -> {b.column}/{b.unmatched}",
            )
        )
    compared = set(a.compare) | set(b.compare)
    for group in list(a.groups) + [g for g in b.groups if g not in a.groups]:
        was = {wording_key(v) for v in a.groups.get(group, [])}
        now = {wording_key(v) for v in b.groups.get(group, [])}
        if was == now:
            continue
        gained = sorted(v for v in b.groups.get(group, []) if wording_key(v) not in was)
        lost = sorted(v for v in a.groups.get(group, []) if wording_key(v) not in now)
        what = "; ".join(
            part
            for part in (f"gained {gained}" if gained else "", f"lost {lost}" if lost else "")
            if part
        )
        loc: Loc = ("roles", "groups", group) if group in b.groups else ("roles", "groups")
        note = " (a compared group: different people are compared)" if group in compared else ""
        out.append(
            _change(None, loc, "role_groups", group in compared, f"role group {group} {what}{note}")
        )
    return out


def _dimension_changes(old: Survey, new: Survey) -> list[Change]:
    out: list[Change] = []
    before = {d.id: d for d in old.dimensions}
    after = {d.id for d in new.dimensions}
    for i, dim in enumerate(new.dimensions):
        was = before.get(dim.id)
        if was is None:
            out.append(
                _change(
                    None,
                    ("dimensions", i),
                    "dimension_added",
                    False,
                    f"dimension {dim.id} added: {_quote(dim.title)}",
                )
            )
            continue
        for key in ("title", "description", "actions"):
            a, b = getattr(was, key), getattr(dim, key)
            if a != b:
                out.append(
                    _change(
                        None,
                        ("dimensions", i, key),
                        key,
                        False,
                        f"dimension {dim.id} {key}: {_shown(a)} -> {_shown(b)}",
                    )
                )
    for j, dim in enumerate(old.dimensions):
        if dim.id not in after:
            out.append(
                Change(
                    None,
                    _path_text(("dimensions", j)),
                    "dimension_removed",
                    True,
                    f"dimension {dim.id} ({_quote(dim.title)}) removed",
                    ("dimensions",),
                )
            )
    return out


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} action(s)"
    return _quote(value or "-")


def _column_changes(old: Survey, new: Survey) -> list[Change]:
    before = {it.id: it.source_column for it in old.items}
    out: list[Change] = []
    for d, dim in enumerate(new.dimensions):
        for i, it in enumerate(dim.items):
            if it.id in before and before[it.id] != it.source_column:
                out.append(
                    _change(
                        it.id,
                        ("dimensions", d, "items", i, "column"),
                        "column_changed",
                        False,
                        f"item {it.id} is read from column {it.source_column!r}, "
                        f"was {before[it.id]!r}",
                    )
                )
    return out


def _comment_changes(old: Survey, new: Survey) -> list[Change]:
    before = {c.id: c for c in old.comments}
    after = {c.id for c in new.comments}
    out: list[Change] = []
    for i, c in enumerate(new.comments):
        was = before.get(c.id)
        if was is None or was.text != c.text or was.source_column != c.source_column:
            what = "added" if was is None else "changed"
            out.append(
                _change(
                    None,
                    ("comments", i),
                    "comments",
                    False,
                    f"comment question {c.id} {what}: {_quote(c.text)}",
                )
            )
    out += [
        Change(
            None,
            _path_text(("comments", j)),
            "comments",
            False,
            f"comment question {c.id} removed",
            ("comments",),
        )
        for j, c in enumerate(old.comments)
        if c.id not in after
    ]
    return out


# ----------------------------------------------------------------------------- waves


def result_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Breaking changes between the survey versions behind two saved results that touch
    items present in both (items only in some waves are reported by the trend itself)."""
    changes = scale_changes(old.get("scale", {}), new.get("scale", {}))
    changes += [
        c
        for c in item_changes(result_items(old), result_items(new))
        if c.kind in ITEM_KINDS_BREAKING_IN_TRENDS
    ]
    return [c for c in changes if c.breaking]


def wave_warnings(results: list[dict[str, Any]], labels: Iterable[str]) -> list[str]:
    """One warning per pair of waves the trend compares (consecutive, and first to last)
    whose survey versions differ in a way that breaks the comparison, naming the items."""
    return [c["warning"] for c in wave_comparability(results, labels)]


def wave_comparability(
    results: list[dict[str, Any]], labels: Iterable[str]
) -> list[dict[str, Any]]:
    """Per pair of waves whose survey versions can't be compared like-for-like: the
    labels, the changed items, the dimensions they belong to (every dimension when the
    answer scale changed), and the warning in words."""
    names = list(labels)
    pairs = [(i, i + 1) for i in range(len(results) - 1)]
    if len(results) > 2:
        pairs.append((0, len(results) - 1))
    dimension_of = {i["id"]: i.get("dimension") for r in results for i in r.get("items", [])}
    every = [d["id"] for d in results[-1].get("dimensions", [])]
    out: list[dict[str, Any]] = []
    for i, j in pairs:
        changes = result_changes(results[i], results[j])
        if not changes:
            continue
        items = sorted({c.item for c in changes if c.item})
        scale = [c.message for c in changes if c.item is None]
        va, vb = (_version(results[k]) for k in (i, j))
        details = []
        if items:
            item_notes = "; ".join(c.message for c in changes if c.item)
            noun = "items" if len(items) > 1 else "item"
            details.append(f"{noun} {', '.join(items)} changed ({item_notes})")
        if scale:
            details.append(f"the answer scale changed ({'; '.join(scale)}): every gap is affected")
        dims = every if scale else sorted({dimension_of[i] for i in items if dimension_of.get(i)})
        out.append(
            {
                "from": names[i],
                "to": names[j],
                "items": items,
                "dimensions": dims,
                "warning": (
                    f"{names[i]} ({va}) and {names[j]} ({vb}) were analysed with survey versions "
                    f"that can't be compared like-for-like: {'; '.join(details)}. Their change "
                    "in gap may reflect the survey, not the people (see `alignscan diff "
                    "OLD.yaml NEW.yaml`)."
                ),
            }
        )
    return out


def _version(result: dict[str, Any]) -> str:
    s = result.get("survey", {})
    return f"{s.get('id', '?')} v{s.get('version', '?')}"
