"""Validation: the parsed file (`RawTable`) -> a `ResponseSet`, every problem collected
at once (strict), or counted as exclusions and changes (lenient).

Each check is one function over the whole column: header names, ragged rows, roles,
respondent ids, answers."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alignscan.responses.coding import (
    answer_lookup,
    code_answer,
    column_letter,
    dictionary_parts,
    is_number,
    show,
)
from alignscan.responses.kinds import CHANGE_OF_KIND, Change, ErrorKind, Exclusion, answer_error
from alignscan.responses.model import (
    BLANK_SEGMENT,
    CellError,
    Labels,
    RawTable,
    ResponseSet,
    RowCounts,
    SourceInfo,
)
from alignscan.responses.xlsx_reader import UNSAVED_FORMULA
from alignscan.survey import Survey, normalise

MAX_LISTED_ERRORS = 1_000_000  # beyond this, errors are counted by kind, not listed


@dataclass
class Findings:
    """Everything validation collects: listed errors, counts past the listing cap,
    warnings, lenient exclusions and changes."""

    file: str
    errors: list[CellError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changes: Counter[str] = field(default_factory=Counter)
    excluded: Counter[str] = field(default_factory=Counter)
    unknown_roles: Counter[str] = field(default_factory=Counter)
    unlisted: Counter[str] = field(default_factory=Counter)  # kind -> errors not listed

    def room(self, column: str | None, kind: str) -> int:
        """How many more errors may be listed; the rest are counted by kind."""
        return max(0, MAX_LISTED_ERRORS - len(self.errors))

    def error(
        self, row: int | None, column: str | None, value: str | None, reason: str, kind: str
    ) -> None:
        if self.room(column, kind) > 0:
            self.errors.append(CellError(self.file, row, column, value, reason, kind))
        else:
            self.unlisted[kind] += 1

    def cell_errors(
        self, rows: np.ndarray, column: str, value: str, reason: str, kind: str
    ) -> None:
        """One error per spreadsheet row in `rows` for the same answer `value` (as read)."""
        room = self.room(column, kind)
        for row in rows[:room]:
            self.error(int(row), column, show(value), reason, kind)
        if len(rows) > room:  # no zero counts: unlisted_errors names only kinds cut
            self.unlisted[kind] += len(rows) - room


def validate(raw: RawTable, survey: Survey, lenient: bool) -> ResponseSet:
    """Check and code every cell of `raw` against `survey`."""
    found = Findings(raw.source.file)
    position, usable = check_header(raw, survey, lenient, found)
    check_ragged(raw, lenient, found)
    if not usable:
        return failed_result(raw.source, survey, found, read_count(raw))  # can't code anything
    if len(raw.rows) - int(raw.blank_rows.sum()) == 0 and not raw.ragged:
        found.error(None, None, None, "the file has a header but no responses", ErrorKind.NO_ROWS)
        return failed_result(raw.source, survey, found, read_count(raw))
    codes, group_idx, keep = check_records(raw, survey, position, lenient, found)
    result = _result(raw, survey, found, (codes, group_idx, keep, position))
    result.unknown_roles = dict(found.unknown_roles.most_common())
    result.unlisted_errors = dict(found.unlisted)
    for kind, count in found.unlisted.items():
        result.error_counts[kind] = result.error_counts.get(kind, 0) + count
    return result


def check_header(
    raw: RawTable, survey: Survey, lenient: bool, found: Findings
) -> tuple[dict[str, int], bool]:
    """Header names and required columns: (column name -> position, usable). Not usable
    when a survey column is ambiguous or missing: then nothing can be coded reliably."""
    position, ambiguous = _header_positions(raw, survey, lenient, found)
    _check_columns(raw, survey, position, found)
    header_kinds = (ErrorKind.MISSING_COLUMN, ErrorKind.NO_ITEM_COLUMNS, ErrorKind.WRONG_SURVEY)
    return position, not (ambiguous or any(e.kind in header_kinds for e in found.errors))


def check_ragged(raw: RawTable, lenient: bool, found: Findings) -> None:
    """Rows with the wrong number of cells: errors (strict) or excluded (lenient)."""
    for row, expected, actual in raw.ragged:
        if lenient:
            found.excluded[Exclusion.RAGGED_ROW] += 1
        else:
            reason = f"row has {actual} cells but the header has {expected}"
            found.error(row or None, None, None, reason, ErrorKind.RAGGED_ROW)


IdCheck = Callable[[RawTable, str, dict[str, int], np.ndarray, bool, "Findings"], None]


def check_records(
    raw: RawTable,
    survey: Survey,
    position: dict[str, int],
    lenient: bool,
    found: Findings,
    check_ids: IdCheck | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Roles, respondent ids and answers of every record: (codes, group index, keep),
    `keep` marking the records used. `check_ids` replaces the in-table id check (the
    streaming reader compares ids across blocks)."""
    keep = ~raw.blank_rows  # fully blank lines are not responses
    present = keep.copy()
    group_idx = _place_roles(raw, survey, position, keep, lenient, found)
    if survey.respondent_id:
        (check_ids or _check_ids)(raw, survey.respondent_id, position, keep, lenient, found)
    # strict: a row whose role is an error gets its answers checked too (all errors at once)
    strict = not lenient and survey.roles.unmatched != "ignore"
    codes = _code_answers(raw, survey, position, present if strict else keep, lenient, found)
    return codes, group_idx, keep


def read_count(raw: RawTable) -> int:
    """Rows read: records that are not blank, ragged rows included."""
    return len(raw.rows) - int(raw.blank_rows.sum()) + len(raw.ragged)


def _header_positions(
    raw: RawTable, survey: Survey, lenient: bool, found: Findings
) -> tuple[dict[str, int], bool]:
    """Column name -> position; blank and duplicate names reported. `ambiguous` when a
    survey column appears twice (nothing can be coded then)."""
    position: dict[str, int] = {}
    survey_columns = {i.source_column for i in survey.items}
    survey_columns |= {survey.roles.column, *survey.segments, *filter(None, [survey.respondent_id])}
    ambiguous = False
    for j, name in enumerate(raw.names):
        letter = column_letter(j)
        if not name:
            if lenient:
                found.warnings.append(f"column {letter} has no name; it is ignored")
            else:
                reason = "column has no name"
                found.error(
                    raw.first_row, f"column {letter}", "", reason, ErrorKind.BLANK_COLUMN_NAME
                )
            continue
        if name in position:
            first = column_letter(position[name])
            msg = f"column name {name!r} appears twice (columns {first} and {letter})"
            if name in survey_columns:
                ambiguous = True
                found.error(raw.first_row, name, name, msg, ErrorKind.DUPLICATE_COLUMN)
            elif lenient:
                found.warnings.append(msg + "; the second is ignored")
            else:
                found.error(raw.first_row, name, name, msg, ErrorKind.DUPLICATE_COLUMN)
            continue
        position[name] = j
    return position, ambiguous


def _check_columns(
    raw: RawTable, survey: Survey, position: dict[str, int], found: Findings
) -> None:
    """Missing required columns, the reader's notes, unsaved formulas, comment columns."""
    required: list[tuple[str, str]] = [(i.source_column, f"item {i.id}") for i in survey.items]
    required.append((survey.roles.column, "the role column"))
    required += [(seg, "a segment column") for seg in survey.segments]
    if survey.respondent_id:
        required.append((survey.respondent_id, "the respondent id column"))
    for column, reason, kind in _missing_columns(raw, survey, required, position):
        found.error(raw.first_row, column, None, reason, kind)
    found.warnings.extend(raw.notes)
    for row, column in raw.unsaved:
        found.error(row, column, None, UNSAVED_FORMULA, ErrorKind.UNSAVED_FORMULA)
    for comment in survey.comments:
        if comment.source_column not in position:
            found.warnings.append(f"comment column {comment.source_column!r} is not in the file")


def _place_roles(
    raw: RawTable,
    survey: Survey,
    position: dict[str, int],
    keep: np.ndarray,
    lenient: bool,
    found: Findings,
) -> np.ndarray:
    """Role group index per record (-1 = none); unplaced rows leave `keep`."""
    lookup_role = survey.role_lookup()
    groups = list(survey.roles.groups)
    role_values, role_idx = dictionary_parts(raw.columns[position[survey.roles.column]])
    value_group = np.asarray(
        [
            groups.index(lookup_role[normalise(v)]) if normalise(v) in lookup_role else -1
            for v in role_values
        ]
        or [-1],
        dtype=np.int16,
    )
    group_idx = value_group[role_idx] if len(role_idx) else np.zeros(0, dtype=np.int16)
    unplaced = (group_idx < 0) & keep
    if not unplaced.any():
        return group_idx
    blank_mask = np.asarray([not v.strip() for v in role_values] or [False])[role_idx]
    unknown_counts = Counter(role_values[i].strip() for i in role_idx[unplaced & ~blank_mask])
    n_blank = int((unplaced & blank_mask).sum())
    if survey.roles.unmatched == "ignore" or lenient:
        if unknown_counts:
            found.excluded[Exclusion.UNKNOWN_ROLE] += sum(unknown_counts.values())
        if n_blank:
            found.excluded[Exclusion.BLANK_ROLE] += n_blank
    else:
        found.unknown_roles.update(unknown_counts)
        role_column = survey.roles.column
        for i in np.nonzero(unplaced)[0]:
            value = role_values[role_idx[i]]
            row = int(raw.rows[i])
            if value.strip():
                reason = f"role {value.strip()!r} matches no group in roles.groups"
                found.error(row, role_column, show(value), reason, ErrorKind.UNKNOWN_ROLE)
            else:
                found.error(row, role_column, "", "role is blank", ErrorKind.BLANK_ROLE)
    keep &= ~unplaced
    return group_idx


def _check_ids(
    raw: RawTable,
    id_column: str,
    position: dict[str, int],
    keep: np.ndarray,
    lenient: bool,
    found: Findings,
) -> None:
    """Repeated respondent ids: errors (strict) or excluded after their first row."""
    import pyarrow.compute as pc

    ids = pc.utf8_trim_whitespace(raw.columns[position[id_column]].cast("string"))
    id_values, id_idx = dictionary_parts(ids) if _has_duplicates(ids) else ([""], None)
    if id_idx is None:  # ids are compared trimmed, as roles and answers are
        return
    nonblank = np.asarray([bool(v.strip()) for v in id_values] or [False])[id_idx] & keep
    candidates = np.nonzero(nonblank)[0]
    seen = _repeats(id_idx[candidates])
    dups = candidates[seen]
    if not len(dups):
        return
    first_row: dict[int, int] = {}
    for i in candidates[~seen]:
        first_row.setdefault(int(id_idx[i]), int(raw.rows[i]))
    values = [id_values[id_idx[i]] for i in dups] if not lenient else []
    firsts = [first_row[int(id_idx[i])] for i in dups] if not lenient else []
    report_duplicate_ids(raw, id_column, dups, values, firsts, keep, lenient, found)


def report_duplicate_ids(
    raw: RawTable,
    id_column: str,
    dups: np.ndarray,
    values: list[str],
    first_rows: list[int],
    keep: np.ndarray,
    lenient: bool,
    found: Findings,
) -> None:
    """Records `dups` repeat an id (`values`, trimmed) first used on `first_rows`:
    excluded (lenient) or an error each (strict)."""
    if lenient:
        found.excluded[Exclusion.DUPLICATE_ID] += len(dups)
        keep[dups] = False
        return
    for i, value, first in zip(dups, values, first_rows, strict=True):
        reason = f"respondent id {value!r} already used on row {first}"
        found.error(int(raw.rows[i]), id_column, show(value), reason, ErrorKind.DUPLICATE_ID)


def _code_answers(
    raw: RawTable,
    survey: Survey,
    position: dict[str, int],
    keep: np.ndarray,
    lenient: bool,
    found: Findings,
) -> np.ndarray:
    """The int8 code matrix (records x items); answers off the scale are errors (strict)
    or set to 0, "not answered" (lenient)."""
    scale_lookup = answer_lookup(survey)
    points, start = survey.scale.points, survey.scale.start
    span = f"{start}..{start + points - 1}"
    labels = ", ".join(survey.scale.labels)
    codes = np.zeros((len(raw.rows), len(survey.items)), dtype=np.int8, order="F")
    for k, item in enumerate(survey.items):
        column = item.source_column
        values, idx = dictionary_parts(raw.columns[position[column]])
        coded = [code_answer(v, scale_lookup, points, start) for v in values]
        lut = np.asarray([-1 if c is None else c for c in coded] or [0], dtype=np.int8)
        col_codes = lut[idx] if len(idx) else np.zeros(0, dtype=np.int8)
        bad = (col_codes < 0) & keep
        if bad.any():
            bad_rows = np.nonzero(bad)[0]
            bad_values = idx[bad_rows]
            for v in np.unique(bad_values):  # one reason per distinct bad answer
                value = values[v]
                where = bad_rows[bad_values == v]
                reason, kind = answer_error(value, span, labels, is_number(value))
                if lenient:
                    found.changes[CHANGE_OF_KIND.get(kind, Change.NOT_ON_SCALE)] += len(where)
                    continue
                found.cell_errors(raw.rows[where], column, value, reason, kind)
            col_codes = np.where(col_codes < 0, 0, col_codes).astype(np.int8)
        codes[:, k] = col_codes
    return codes


def _missing_columns(
    raw: RawTable, survey: Survey, required: list[tuple[str, str]], position: dict[str, int]
) -> list[tuple[str | None, str, str]]:
    """(column, reason, kind) per required column not in the header. When fewer than half
    the item columns are there, one error says the file doesn't match the survey instead."""
    title_hint = ""
    if raw.header_hint is not None:
        title_hint = (
            f"; row {raw.first_row} looks like a title, and row {raw.header_hint} like the "
            f"header: set the header row to {raw.header_hint}"
        )
    wrong = _wrong_survey(raw, survey, position)
    if wrong is not None:
        reason = f"{wrong[0]}. Give the survey definition it was made for{title_hint}"
        return [(None, reason, wrong[1])]
    known = [n for n in raw.names if n]
    found: list[tuple[str | None, str, str]] = []
    for column, purpose in required:
        if column in position:
            continue
        hint = difflib.get_close_matches(column, known, n=1, cutoff=0.6)
        if not hint:
            lowered = {k.casefold(): k for k in known}
            hint = [lowered[column.casefold()]] if column.casefold() in lowered else []
        reason = f"required column {column!r} ({purpose}) is missing"
        if hint:
            reason += f"; did you mean {hint[0]!r}?"
        found.append((column, reason + title_hint, "missing_column"))
    return found


def survey_columns(survey: Survey) -> set[str]:
    """Every column the survey reads: items, role, segments, respondent id, comments."""
    columns = {i.source_column for i in survey.items} | {c.source_column for c in survey.comments}
    return columns | {survey.roles.column, *survey.segments, *filter(None, [survey.respondent_id])}


def _wrong_survey(
    raw: RawTable, survey: Survey, position: dict[str, int]
) -> tuple[str, str] | None:
    """(reason, kind) when most of the survey's item columns are not in the file: it was
    made for another survey. Columns are named in survey order and in file order."""
    items = list(dict.fromkeys(i.source_column for i in survey.items))
    found = [c for c in items if c in position]
    if 2 * len(found) >= len(items):
        return None

    def some(names: list[str]) -> str:
        return ", ".join(repr(n) for n in names[:3]) + (", ..." if len(names) > 3 else "")

    reason = (
        f"this file does not look like survey {survey.id!r}: "
        f"{len(found)} of {len(items)} item columns found"
    )
    missing = [c for c in items if c not in position]
    reason += f" (missing: {some(missing)}"
    known = survey_columns(survey)
    unknown = [n for n in raw.names if n and n not in known]
    if unknown:
        reason += f"; columns the survey doesn't know, in file order: {some(unknown)}"
    kind = ErrorKind.WRONG_SURVEY if found else ErrorKind.NO_ITEM_COLUMNS
    return reason + ")", kind


def _repeats(values: np.ndarray) -> np.ndarray:
    """True where a value already occurred earlier in the array."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    repeat = np.zeros(len(values), dtype=bool)
    repeat[order[1:]] = ordered[1:] == ordered[:-1]
    return repeat


def _has_duplicates(arr: object) -> bool:
    import pyarrow.compute as pc

    return len(pc.unique(arr)) < len(arr)  # type: ignore[arg-type]


def _result(
    raw: RawTable,
    survey: Survey,
    found: Findings,
    coded: tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]] | None,
) -> ResponseSet:
    """The ResponseSet: the used rows' codes, groups, segments and comments, or an empty
    set carrying the errors when there are any."""
    read = read_count(raw)
    if found.errors or coded is None:
        return failed_result(raw.source, survey, found, read)
    codes, group_idx, keep, position = coded
    rs = used_rows(raw, survey, position, codes, group_idx, keep)
    rs.rows = RowCounts(read=read, used=rs.rows.used, excluded=dict(found.excluded))
    rs.cells_set_missing = dict(found.changes)
    rs.warnings = found.warnings
    assert rs.rows.read == rs.rows.used + rs.rows.excluded_total, rs.rows
    return rs


def failed_result(source: SourceInfo, survey: Survey, found: Findings, read: int) -> ResponseSet:
    """The set of a file with errors (sorted by row and column), or that can't be coded:
    no used rows, every row read counted as not analysed."""
    errors = found.errors
    errors.sort(key=lambda e: (e.row or 0, e.column or ""))
    if errors:
        excluded_counts: dict[str, int] = {Exclusion.FILE_HAS_ERRORS: read}
    else:
        excluded_counts = dict(found.excluded)
        excluded_counts.setdefault(Exclusion.NOT_ANALYSED, read - sum(excluded_counts.values()))
    rs = empty_set(survey, source)
    rs.rows = RowCounts(read=read, used=0, excluded={k: v for k, v in excluded_counts.items() if v})
    rs.cells_set_missing = dict(found.changes)
    rs.errors = errors
    rs.warnings = found.warnings
    rs.error_counts = dict(Counter(e.kind for e in errors))
    return rs


def empty_set(survey: Survey, source: SourceInfo) -> ResponseSet:
    """A ResponseSet without rows (codes of shape (0, items)): metadata only."""
    items = survey.items
    return ResponseSet(
        survey=survey,
        source=source,
        codes=np.zeros((0, len(items)), dtype=np.int8),
        item_ids=[i.id for i in items],
        group=Labels.from_codes(np.zeros(0, dtype=np.int32), list(survey.roles.groups)),
        segments={s: Labels.from_codes(np.zeros(0), []) for s in survey.segments},
        comments={c.id: np.asarray([], dtype=object) for c in survey.comments},
        rows=RowCounts(read=0, used=0),
    )


def used_rows(
    raw: RawTable,
    survey: Survey,
    position: dict[str, int],
    codes: np.ndarray,
    group_idx: np.ndarray,
    keep: np.ndarray,
) -> ResponseSet:
    """The records `keep` marks: codes, groups, segments, comments and ids (rows: used
    only; the caller fills in the file's counts)."""
    used = np.nonzero(keep)[0]
    return ResponseSet(
        survey=survey,
        source=raw.source,
        codes=codes if len(used) == len(codes) else np.asfortranarray(codes[used]),
        item_ids=[i.id for i in survey.items],
        group=Labels.from_codes(group_idx[used], list(survey.roles.groups)),
        segments=_segments(raw, survey, position, used),
        comments=_comments(raw, survey, position, used),
        rows=RowCounts(read=len(used), used=len(used)),
        respondent_ids=_used_ids(raw, survey, position, used),
    )


def _used_ids(raw: RawTable, survey: Survey, position: dict[str, int], used: np.ndarray) -> Any:
    """The respondent ids of the used rows (a pyarrow array, taken in C), or None."""
    if not survey.respondent_id or survey.respondent_id not in position:
        return None
    return raw.columns[position[survey.respondent_id]].take(used)  # type: ignore[attr-defined]


def _segments(
    raw: RawTable, survey: Survey, position: dict[str, int], used: np.ndarray
) -> dict[str, Labels]:
    """Segment column -> the used rows' values; blanks as "(blank)", categories sorted."""
    segments = {}
    for column in survey.segments:
        values, idx = dictionary_parts(raw.columns[position[column]])
        shown = [v.strip() or BLANK_SEGMENT for v in values]
        cats = sorted(set(shown))
        where = {v: k for k, v in enumerate(cats)}  # linear, unlike list.index per value
        remap = np.asarray([where[v] for v in shown] or [0], dtype=np.int32)
        segments[column] = Labels.from_codes(remap[idx[used]], cats)
    return segments


def _comments(
    raw: RawTable, survey: Survey, position: dict[str, int], used: np.ndarray
) -> dict[str, np.ndarray]:
    """Comment id -> the used rows' trimmed texts ("" when blank or the column is absent)."""
    comments = {}
    for comment in survey.comments:
        if comment.source_column in position:
            arr = raw.columns[position[comment.source_column]]
            values, idx = dictionary_parts(arr)
            texts = np.asarray([v.strip() for v in values] or [""], dtype=object)
            comments[comment.id] = texts[idx[used]] if len(idx) else np.asarray([], dtype=object)
        else:
            comments[comment.id] = np.full(len(used), "", dtype=object)
    return comments
