"""The weighting's inputs: the headcount targets of `--weight-to` (a CSV of cells, or of
margins for raking; every bad row at once, as `WeightingError`) and the respondents
counted per weighting cell (`count_cells`, by blocks of a file with `cells_of_file`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alignscan.errors import AlignscanError
from alignscan.responses import CellError, ResponseSet
from alignscan.survey import Survey

SEP = "\x1f"  # joins a cell's values into one key


class WeightingError(AlignscanError, ValueError):
    """The headcount can't weight these responses; `errors` has every reason."""

    code = "weighting_invalid"

    def __init__(self, errors: list[CellError]):
        self.errors = errors
        first = errors[0]
        where = f"{first.file} row {first.row}" if first.row else first.file
        super().__init__(f"{where}: {first.reason}" + (
            f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""))


@dataclass
class Margin:
    """The headcounts of one set of columns for one group: values tuple -> (N, row)."""

    columns: tuple[str, ...]
    totals: dict[tuple[str, ...], tuple[int, int]] = field(default_factory=dict)

    def total(self) -> int:
        return sum(n for n, _ in self.totals.values())


@dataclass
class Targets:
    """A parsed weighting file: per group, its margins (columns () = the group total)."""

    file: str
    margins: dict[str, list[Margin]]

    def columns(self) -> list[str]:
        """Every segment column a margin names, in the order first seen."""
        seen: dict[str, None] = {}
        for margins in self.margins.values():
            for m in margins:
                seen.update(dict.fromkeys(m.columns))
        return list(seen)


def read_targets(path: str | Path, survey: Survey, values: dict[str, list[str]]) -> Targets:
    """Read a weighting headcount CSV (the I/O edge); `values` are the respondents' values
    per segment column. Raises WeightingError with every bad cell."""
    from alignscan.extras.participation import _decode

    path = Path(path)
    try:
        text = _decode(path.read_bytes())
    except OSError as exc:
        raise WeightingError(
            [CellError(str(path), None, None, None, f"can't read: {exc.strerror}", "unreadable")]
        ) from None
    return parse_targets(text, str(path), survey, values)


def parse_targets(text: str, file: str, survey: Survey, values: dict[str, list[str]]) -> Targets:
    """Parse the CSV: columns group, headcount and any segment columns; a row's filled
    segment cells say which cell (or margin) its headcount is for."""
    from alignscan.extras.participation import GROUP_COLUMN, _records

    records = _records(text)
    if not records or not any(c.strip() for c in records[0]):
        raise WeightingError(
            [CellError(file, 1, None, None, "the file has no header row", "empty")]
        )
    positions, errors = _header(records[0], file, survey)
    if errors:
        raise WeightingError(errors)
    margins: dict[str, dict[tuple[str, ...], Margin]] = {}
    for row_no, cells in enumerate(records[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        parsed = _target_row(cells, row_no, positions, file, survey, values)
        if isinstance(parsed, list):
            errors.extend(parsed)
            continue
        group, columns, key, number = parsed
        margin = margins.setdefault(group, {}).setdefault(columns, Margin(columns))
        if key in margin.totals:
            reason = f"duplicate row: the same group and cell as row {margin.totals[key][1]}"
            errors.append(CellError(file, row_no, GROUP_COLUMN, group, reason, "duplicate_row"))
            continue
        margin.totals[key] = (number, row_no)
    if errors:
        raise WeightingError(errors)
    return Targets(file, {g: list(m.values()) for g, m in margins.items()})


def _header(names: list[str], file: str, survey: Survey) -> tuple[dict[str, int], list[CellError]]:
    from alignscan.extras.participation import Respondents
    from alignscan.extras.participation import _header as header

    return header(names, file, Respondents(survey, {}, {}))


def _target_row(
    cells: list[str], row_no: int, positions: dict[str, int], file: str, survey: Survey,
    values: dict[str, list[str]],
) -> tuple[str, tuple[str, ...], tuple[str, ...], int] | list[CellError]:
    """(group, columns, values, headcount) of one row, or every error in it."""
    from alignscan.extras.participation import GROUP_COLUMN, HEADCOUNT_COLUMN, _headcount_value

    def cell(name: str) -> str:
        i = positions[name]
        return cells[i].strip() if i < len(cells) else ""

    errors = []
    groups = list(survey.roles.groups)
    raw = cell(GROUP_COLUMN)
    group = {g.casefold(): g for g in groups}.get(raw.casefold(), raw)
    if group not in groups:
        reason = "unknown group: expected one of " + ", ".join(groups)
        errors.append(CellError(file, row_no, GROUP_COLUMN, raw, reason, "unknown_group"))
    columns = tuple(s for s in survey.segments if s in positions and cell(s))
    key = []
    for column in columns:
        known = {v.casefold(): v for v in values.get(column, [])}
        key.append(known.get(cell(column).casefold(), cell(column)))
    number, problem = _headcount_value(cell(HEADCOUNT_COLUMN))
    if problem is not None:
        kind = "negative_headcount" if problem.startswith("negative") else "bad_headcount"
        errors.append(CellError(file, row_no, HEADCOUNT_COLUMN, cell(HEADCOUNT_COLUMN), problem,
                                kind))
    if errors or number is None:
        return errors
    return group, columns, tuple(key), number


# ----------------------------------------------------------------------------- cell counts


def count_cells(rs: ResponseSet, columns: list[str]) -> pd.DataFrame:
    """Respondents' counts per (measure, group, cell, key) where a cell joins the values
    of `columns`: `head` (key 0), `item:<id>` (recoded position, 0 = not answered),
    `score:<dim>` (T*(k+1)+M, 0 = no score) and `cluster:<dim>` (F*(k+1)+M)."""
    from alignscan.counting.counts import _dimension, _plan, _recoded

    survey = rs.survey
    plan = _plan(survey)
    gidx = np.asarray(rs.group.codes, dtype=np.int64)
    ok = gidx >= 0
    gidx = gidx[ok]
    scored = _recoded(rs.codes[ok], plan)
    labels = [np.asarray([*map(str, rs.segments[c].categories), ""], dtype=object)[
        np.asarray(rs.segments[c].codes, dtype=np.int64)[ok]] for c in columns]
    cell_names = np.asarray([SEP.join(t) for t in zip(*labels, strict=True)] if labels
                            else [""] * len(gidx), dtype=object)
    cell_codes, uniques = pd.factorize(cell_names)
    base = gidx * len(uniques) + cell_codes
    frames = [_frame("head", _tally(base, np.zeros(len(gidx), dtype=np.int64)))]
    for i, item in enumerate(survey.items):
        frames.append(_frame(f"item:{item.id}", _tally(base, scored[:, i])))
    for dim, (start, k), lut in zip(survey.dimensions, plan.spans, plan.luts, strict=True):
        dd = _dimension(scored[:, start: start + k], lut, survey.scale.points)
        frames.append(_frame(f"score:{dim.id}", _tally(base, dd.score_key)))
        frames.append(_frame(f"cluster:{dim.id}", _tally(base, dd.cluster_key)))
    out = pd.concat(frames, ignore_index=True)
    width = max(len(uniques), 1)
    combo = out.pop("combo").to_numpy()
    out.insert(1, "group", np.asarray(list(survey.roles.groups), dtype=object)[combo // width])
    out.insert(2, "cell", np.asarray(uniques, dtype=object)[combo % width] if len(uniques)
               else np.asarray([], dtype=object))
    return out


def _tally(base: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (cell code, key) pairs and how many respondents have each."""
    keys = np.asarray(keys, dtype=np.int64)
    width = int(keys.max(initial=0)) + 1
    flat = np.bincount(base * width + keys, minlength=0)
    nz = np.flatnonzero(flat)
    return np.stack([nz // width, nz % width]), flat[nz]


def _frame(measure: str, tally: tuple[np.ndarray, np.ndarray]) -> pd.DataFrame:
    pairs, n = tally
    return pd.DataFrame({"measure": measure, "combo": pairs[0], "key": pairs[1], "n": n})


def sum_cells(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Cell counts of blocks added up."""
    joined = pd.concat(frames, ignore_index=True)
    return joined.groupby(["measure", "group", "cell", "key"], sort=True)["n"].sum().reset_index()


def cells_of_file(path: str | Path, survey: Survey, columns: list[str],
                  options: dict[str, Any]) -> pd.DataFrame:
    """The cell counts of a responses file, read again in blocks (memory stays bounded);
    only called once the first reading found the file valid."""
    from alignscan.responses.streaming import stream_responses

    skip = ("engine", "progress", "builtin")
    reader = {k: v for k, v in options.items() if k not in skip}
    stream = stream_responses(path, survey, **reader)
    frames, pending = [], []
    for block in stream.blocks():
        pending.append(count_cells(block, columns))
        if len(pending) >= 32:
            frames.append(sum_cells(pending))
            pending = []
    stream.finish()
    return sum_cells(frames + pending)
