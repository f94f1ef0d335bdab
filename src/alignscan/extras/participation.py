"""Participation: how many of each group's people answered.

A headcount CSV gives the population of each role group (and, optionally, of a group
within one segment value); participation divides the used respondents by it. Bad cells
are errors as values (`responses.CellError`), all of them at once. Participation follows
the analysis's anonymity decisions: a group or segment cell hidden in the result is
hidden here too, with its rate, and a further cell is hidden when a single hidden one
could otherwise be recovered by subtraction from the group total.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignscan.counting.counts import CountTable
from alignscan.responses import CellError, ResponseSet
from alignscan.survey import Survey

Source = ResponseSet | CountTable  # what respondents() reads

GROUP_COLUMN = "group"
HEADCOUNT_COLUMN = "headcount"
LOW_RATE = 0.30  # below this, a compared group's view may not be representative
RATE_SPREAD = 0.20  # compared groups' rates differing by more than this
_INTEGER = re.compile(r"[0-9]+(\.0*)?")

Key = tuple[str, str | None, str | None]  # (group, segment column, segment value)


@dataclass(frozen=True)
class HeadcountRow:
    row: int  # spreadsheet row (header = 1)
    group: str
    column: str | None
    value: str | None
    headcount: int


@dataclass
class Headcount:
    """A parsed headcount file: its good rows and every error found."""

    file: str
    rows: list[HeadcountRow] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def table(self) -> dict[Key, int]:
        return {(r.group, r.column, r.value): r.headcount for r in self.rows}


@dataclass(frozen=True)
class Respondents:
    """Who responded, as participation needs it: used respondents per group and per
    group x segment value (keys as in Headcount), and each segment column's values."""

    survey: Survey
    counts: dict[Key, int]
    values: dict[str, list[str]]


def respondents(source: ResponseSet | CountTable | Respondents) -> Respondents:
    """The respondents of validated responses or of a count table (with its metadata)."""
    from alignscan.counting.counts import count_responses

    if isinstance(source, Respondents):
        return source
    table = source if isinstance(source, CountTable) else count_responses(source)
    meta = source if isinstance(source, ResponseSet) else table.responses
    if meta is None:
        raise ValueError("participation needs the count table's responses metadata")
    survey = meta.survey
    atoms = table.atoms
    groups = list(survey.roles.groups)
    by_group = table.group_sizes()
    out: dict[Key, int] = {(g, None, None): by_group.get(g, 0) for g in groups}
    values = {}
    for column in survey.segments:
        by_value = atoms.groupby([column, "group"])["n"].sum()
        values[column] = sorted({str(v) for v, _ in by_value.index})
        for v in values[column]:
            for g in groups:
                out[(g, column, v)] = int(by_value.get((v, g), 0))
    return Respondents(survey, out, values)


def _decode(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _records(text: str) -> list[list[str]]:
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def read_headcount(path: str | Path, rs: Source | Respondents) -> Headcount:
    """Read and check a headcount CSV against the survey and the responses (the I/O edge)."""
    path = Path(path)
    try:
        text = _decode(path.read_bytes())
    except OSError as exc:
        error = CellError(str(path), None, None, None, f"can't read: {exc.strerror}", "unreadable")
        return Headcount(str(path), errors=[error])
    return parse_headcount(text, str(path), rs)


def _header(names: list[str], file: str, rs: Respondents) -> tuple[dict[str, int], list[CellError]]:
    """Column name -> position; errors for missing, unknown and duplicate columns."""
    segments = {s.casefold(): s for s in rs.survey.segments}
    known = {GROUP_COLUMN: GROUP_COLUMN, HEADCOUNT_COLUMN: HEADCOUNT_COLUMN, **segments}
    positions: dict[str, int] = {}
    errors = []
    for i, raw in enumerate(names):
        name = known.get(raw.strip().casefold())
        if name is None:
            reason = "unknown column: expected group, headcount" + "".join(
                f", {s}" for s in rs.survey.segments
            )
            errors.append(CellError(file, 1, raw, raw, reason, "unknown_column"))
        elif name in positions:
            errors.append(CellError(file, 1, raw, raw, "duplicate column", "duplicate_column"))
        else:
            positions[name] = i
    for required in (GROUP_COLUMN, HEADCOUNT_COLUMN):
        if required not in positions:
            reason = f"missing column {required!r}"
            errors.append(CellError(file, 1, required, None, reason, "missing_column"))
    return positions, errors


def _headcount_value(text: str) -> tuple[int | None, str | None]:
    """The integer in a headcount cell, or the reason it isn't one."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    if not cleaned:
        return None, "missing headcount"
    if cleaned.startswith("-") and _INTEGER.fullmatch(cleaned[1:]) and float(cleaned) != 0:
        return None, "negative headcount"
    if not _INTEGER.fullmatch(cleaned):
        return None, "headcount is not a whole number"
    return int(float(cleaned)), None


def parse_headcount(text: str, file: str, rs: Source | Respondents) -> Headcount:
    """Parse headcount CSV text; every bad cell becomes a CellError, none stops the others."""
    rs = respondents(rs)
    records = _records(text)
    out = Headcount(file)
    if not records or not any(cell.strip() for cell in records[0]):
        out.errors.append(CellError(file, 1, None, None, "the file has no header row", "empty"))
        return out
    positions, out.errors = _header(records[0], file, rs)
    if out.errors:
        return out
    responded = rs.counts
    seen: dict[Key, int] = {}
    for row_no, cells in enumerate(records[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        row = _parse_row(cells, row_no, positions, file, rs)
        if isinstance(row, list):
            out.errors.extend(row)
            continue
        key = (row.group, row.column, row.value)
        where = row.column or GROUP_COLUMN
        if key in seen:
            reason = f"duplicate row: the same group and segment as row {seen[key]}"
            out.errors.append(
                CellError(file, row_no, where, row.value or row.group, reason, "duplicate_row")
            )
            continue
        seen[key] = row_no
        n = responded.get(key, 0)
        if n > row.headcount:
            reason = f"more respondents ({n:,}) than headcount ({row.headcount:,})"
            out.errors.append(
                CellError(
                    file, row_no, HEADCOUNT_COLUMN, str(row.headcount), reason, "over_headcount"
                )
            )
            continue
        out.rows.append(row)
    return out


def _parse_row(
    cells: list[str], row_no: int, positions: dict[str, int], file: str, rs: Respondents
) -> HeadcountRow | list[CellError]:
    """One data row, or every error in it."""

    def cell(name: str) -> str:
        i = positions[name]
        return cells[i].strip() if i < len(cells) else ""

    errors = []
    groups = list(rs.survey.roles.groups)
    group = {g.casefold(): g for g in groups}.get(cell(GROUP_COLUMN).casefold(), cell(GROUP_COLUMN))
    if group not in groups:
        reason = "unknown group: expected one of " + ", ".join(groups)
        errors.append(CellError(file, row_no, GROUP_COLUMN, group, reason, "unknown_group"))
    filled = [s for s in rs.survey.segments if s in positions and cell(s)]
    for extra in filled[1:]:
        reason = f"give at most one segment value per row (this row also has {filled[0]})"
        errors.append(CellError(file, row_no, extra, cell(extra), reason, "two_segments"))
    column = filled[0] if filled else None
    value = cell(column) if column else None
    if column is not None and value is not None:
        values = {str(v).casefold(): str(v) for v in rs.values[column]}
        value = values.get(value.casefold(), value)
    if column is not None and value not in {str(v) for v in rs.values[column]}:
        known = sorted(str(v) for v in rs.values[column])
        shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
        reason = f"unknown {column} value: not in the responses (values: {shown})"
        errors.append(CellError(file, row_no, column, value, reason, "unknown_segment_value"))
    number, problem = _headcount_value(cell(HEADCOUNT_COLUMN))
    if problem is not None:
        kind = "negative_headcount" if problem.startswith("negative") else "bad_headcount"
        errors.append(
            CellError(file, row_no, HEADCOUNT_COLUMN, cell(HEADCOUNT_COLUMN), problem, kind)
        )
    if errors or number is None:
        return errors
    return HeadcountRow(row_no, group, column, value, number)


# ----------------------------------------------------------------------------- figures


def hidden_cells(result: dict[str, Any]) -> tuple[set[str], set[tuple[str, str, str]]]:
    """What the analysis hides: groups, and (column, value, group) segment cells."""
    groups = {g for g, c in result["groups"].items() if c.get("suppressed")}
    cells = {
        (s["column"], s["value"], g)
        for s in result.get("segments", [])
        for g, c in s["groups"].items()
        if c.get("suppressed")
    }
    return groups, cells


def _cell(headcount: int, responded: int) -> dict[str, Any]:
    return {"headcount": headcount, "responded": responded, "rate": round(responded / headcount, 4)}


def participation(
    rs: Source | Respondents,
    headcount: dict[Key, int],
    hidden_groups: set[str],
    hidden: set[tuple[str, str, str]],
) -> dict[str, Any]:
    """Participation per group and group x segment value, hiding what the analysis hides,
    anything under the minimum group size, and one more cell where a single hidden one
    could be worked out from the group total."""
    rs = respondents(rs)
    minimum = rs.survey.privacy.min_group_size
    responded = rs.counts
    names = list(rs.survey.roles.groups)
    groups: dict[str, Any] = {}
    for g in names:
        total = group_total(g, headcount, responded, rs.survey.segments)
        if total is not None:
            n = responded[(g, None, None)]
            shown = g not in hidden_groups and n >= minimum
            groups[g] = _cell(total, n) if shown else {"suppressed": True}
    segments = []
    for column in rs.survey.segments:
        values = [str(v) for v in rs.values[column]]
        hide = _segment_hidden(column, values, responded, headcount, hidden, hidden_groups, minimum)
        for value in values:
            cells = {
                g: {"suppressed": True}
                if (g, value) in hide
                else _cell(headcount[(g, column, value)], responded[(g, column, value)])
                for g in names
                if (g, column, value) in headcount
            }
            if cells:
                segments.append({"column": column, "value": value, "groups": cells})
    out = {"groups": groups, "segments": segments}
    out["warnings"] = participation_warnings(
        out, list(rs.survey.roles.compare), dict(rs.survey.roles.labels)
    )
    return out


def group_total(
    group: str, headcount: dict[Key, int], responded: dict[Key, int], columns: list[str]
) -> int | None:
    """A group's headcount: its own row, else the sum over the values of the first segment
    column whose rows cover every value the group has respondents in (headcount given per
    department only); None when neither exists."""
    if (group, None, None) in headcount:
        return headcount[(group, None, None)]
    for column in columns:
        given = {v: n for (g, c, v), n in headcount.items() if g == group and c == column}
        answered = {v for (g, c, v), n in responded.items() if g == group and c == column and n}
        if given and answered <= set(given):
            return sum(given.values())
    return None


def _segment_hidden(
    column: str,
    values: list[str],
    responded: dict[Key, int],
    headcount: dict[Key, int],
    hidden: set[tuple[str, str, str]],
    hidden_groups: set[str],
    minimum: int,
) -> set[tuple[str, str]]:
    """(group, value) cells of one segment column to hide."""
    out: set[tuple[str, str]] = set()
    for g in {g for g, c, _ in responded if c is None}:
        sizes = {v: responded[(g, column, v)] for v in values}
        if g in hidden_groups or responded[(g, None, None)] < minimum:
            out |= {(g, v) for v in values}
            continue
        sensitive = {v for v, n in sizes.items() if (column, v, g) in hidden or n < minimum}
        out |= {(g, v) for v in sensitive}
        # The group total is public, so one hidden (or unlisted) cell with respondents
        # could be recovered by subtraction: hide the smallest shown cell too.
        unpublished = {
            v
            for v, n in sizes.items()
            if n > 0 and (v in sensitive or (g, column, v) not in headcount)
        }
        shown = sorted(
            (n, v) for v, n in sizes.items() if v not in sensitive and (g, column, v) in headcount
        )
        if len(unpublished & sensitive) == 1 and shown:
            out.add((g, shown[0][1]))
    return out


def participation_warnings(
    part: dict[str, Any], compare: list[str], labels: dict[str, str] | None = None
) -> list[str]:
    """Warnings that state the problem: the spread when the compared groups' rates differ
    by more than 20 points, a compared group answering at under 30% (its view may not be
    representative), and the spread of a segment column's rates when it exceeds 20 points
    ("response rates range from 38% to 91% across departments"). Groups are named by
    their display `labels` (default: the id, capitalised)."""
    from alignscan.result.findings import default_label

    def name(g: str) -> str:
        return (labels or {}).get(g) or default_label(g)

    out = []
    cells = [part["groups"].get(g, {}) for g in compare]
    if all("rate" in c for c in cells):
        rates = [c["responded"] / c["headcount"] for c in cells]
        if abs(rates[0] - rates[1]) > RATE_SPREAD:
            (lo, g_lo), (hi, g_hi) = sorted(zip(rates, compare, strict=True))
            out.append(
                f"response rates range from {lo:.0%} ({name(g_lo)}) to {hi:.0%} "
                f"({name(g_hi)}) across the compared groups: compare their answers with care"
            )
        out += [
            f"{name(g)} answered at {r:.0%}: their view may not be representative"
            for g, r in zip(compare, rates, strict=True)
            if r < LOW_RATE
        ]
    return out + segment_spread_warnings(part)


def segment_spread_warnings(part: dict[str, Any]) -> list[str]:
    """Per segment column: the range of its shown rates (each group x value cell), when
    it is wider than 20 points."""
    from alignscan.result.findings import plural

    out = []
    for column in dict.fromkeys(s["column"] for s in part["segments"]):
        rates = [
            c["responded"] / c["headcount"]
            for s in part["segments"]
            if s["column"] == column
            for c in s["groups"].values()
            if "rate" in c and c["headcount"]
        ]
        if len(rates) >= 2 and max(rates) - min(rates) > RATE_SPREAD:
            out.append(
                f"response rates range from {min(rates):.0%} to {max(rates):.0%} "
                f"across {plural(column)}"
            )
    return out


def add_participation(
    result: dict[str, Any], rs: Source | Respondents, headcount: Headcount
) -> dict[str, Any]:
    """Attach `participation` to an analysis result, following its suppression."""
    hidden_groups, hidden = hidden_cells(result)
    result["participation"] = participation(rs, headcount.table(), hidden_groups, hidden)
    return result


def participation_json_schema() -> dict[str, Any]:
    """JSON Schema of the result's `participation` member."""
    suppressed = {
        "type": "object",
        "properties": {"suppressed": {"const": True}},
        "required": ["suppressed"],
        "additionalProperties": False,
    }
    figures = {
        "type": "object",
        "properties": {
            "headcount": {"type": "integer", "minimum": 0},
            "responded": {"type": "integer", "minimum": 0},
            "rate": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["headcount", "responded", "rate"],
        "additionalProperties": False,
    }
    cells = {"type": "object", "additionalProperties": {"oneOf": [suppressed, figures]}}
    return {
        "type": "object",
        "description": "Used respondents over headcount per group and group x segment value.",
        "properties": {
            "groups": cells,
            "segments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "column": {"type": "string"},
                        "value": {"type": "string"},
                        "groups": cells,
                    },
                    "required": ["column", "value", "groups"],
                    "additionalProperties": False,
                },
            },
            "warnings": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["groups", "segments"],
        "additionalProperties": False,
    }
