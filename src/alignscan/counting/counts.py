"""The count table: everything the analysis needs from responses, as mergeable counts.

Each engine (the in-memory reader, the streaming CSV reader block by block, DuckDB or
Spark SQL) only has to produce a `CountTable`; `analysis.analyze_counts` reads nothing
else. Tables add up (`a + b`), so blocks of a file, or partitions of a warehouse table,
are counted separately and summed. The layout is plain pandas so that a table computed
on a cluster can be saved and finished anywhere (`to_parquet` / `read_count_table`).

`counts` has one row per (measure, group, column, value, key) with `n` respondents:

| measure | level | key |
|---|---|---|
| `item:<item>` | group | recoded scale position, 0 = not answered |
| `score:<dim>` | group, each segment column | T*(k+1)+M when scored, else 0 |
| `cluster:<dim>` | group, each segment column | F*(k+1)+M when scored, else 0 |
| `scored:<dim>:<item>` | group, each segment column | position when scored, else 0 |
| `unscored:<dim>` | group | 1 when some items answered but no score |

M = items of the dimension answered, T = the sum of their positions, F = how many are
favorable; a respondent has a score when M >= ceil(k/2). At group level `column` and
`value` are "". `atoms` counts respondents per (group, every segment value, has-score per
dimension) for the anonymity audit; `sums` holds exact integer sums per group for
Cronbach's alpha and the driver analysis; `comments` the redacted comment texts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alignscan.errors import AlignscanError
from alignscan.privacy.redaction import REDACTION_KINDS, redact
from alignscan.responses import ResponseSet
from alignscan.survey import Survey

__all__ = [
    "COUNT_COLUMNS",
    "CommentTally",
    "CountTable",
    "Measure",
    "measures",
    "read_count_table",
    "tally_comments",
]
COUNT_COLUMNS = ["measure", "group", "column", "value", "key", "n"]
MAX_COMMENTS_PER_GROUP = 500


class CountTableError(AlignscanError, ValueError):
    """A count table that no engine could have made (wrong columns, unknown names...)."""

    code = "count_table_invalid"


@dataclass(frozen=True)
class CommentTally:
    """One group's comments on one question: how many, the first texts in sorted order
    (redacted), and how many e-mails, phones and links were redacted in all of them."""

    count: int = 0
    texts: tuple[str, ...] = ()
    redactions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REDACTION_KINDS, 0))

    def __add__(self, other: CommentTally) -> CommentTally:
        texts = tuple(sorted(self.texts + other.texts)[:MAX_COMMENTS_PER_GROUP])
        red = {k: self.redactions.get(k, 0) + other.redactions.get(k, 0) for k in REDACTION_KINDS}
        return CommentTally(self.count + other.count, texts, red)


def tally_comments(texts: Iterable[Any], groups: Iterable[Any]) -> dict[str, CommentTally]:
    """Comment tallies per group from parallel sequences of texts and group names
    (blank texts are not comments). Each distinct text is redacted once."""
    text_codes, uniques = pd.factorize(np.asarray(list(texts), dtype=object))
    group_codes, names = pd.factorize(np.asarray(list(groups), dtype=object))
    return _tally_codes(text_codes, uniques, group_codes, len(names),
                        [(g, str(name)) for g, name in enumerate(names)])


def _tally_codes(
    text_codes: np.ndarray, uniques: Any, group_codes: np.ndarray, n_groups: int,
    order: list[tuple[int, str]],
) -> dict[str, CommentTally]:
    """The tallies of factorized texts and groups (-1 = none), for the groups of
    `order` (code, name) in that order."""
    ok = (text_codes >= 0) & (group_codes >= 0)
    n_texts = len(uniques)
    table = np.bincount(
        group_codes[ok] * n_texts + text_codes[ok], minlength=n_groups * n_texts
    ).reshape(n_groups, n_texts)
    out = {}
    for g, group in order:
        clean: dict[str, int] = {}
        red = dict.fromkeys(REDACTION_KINDS, 0)
        for t in np.flatnonzero(table[g]):
            if not uniques[t]:
                continue
            n = int(table[g, t])
            text, hits = redact(str(uniques[t]))
            clean[text] = clean.get(text, 0) + n
            for kind, h in hits:
                red[kind] += h * n
        if clean:
            out[group] = CommentTally(sum(clean.values()), _first_texts(clean), red)
    return out


def _first_texts(counted: dict[str, int]) -> tuple[str, ...]:
    """The first MAX_COMMENTS_PER_GROUP texts in sorted order, repeats included."""
    kept: list[str] = []
    for text in sorted(counted):
        kept.extend([text] * min(counted[text], MAX_COMMENTS_PER_GROUP - len(kept)))
        if len(kept) >= MAX_COMMENTS_PER_GROUP:
            break
    return tuple(kept)


@dataclass(frozen=True)
class CountTable:
    """The sufficient statistics of one set of responses (see the module docstring).

    `responses` carries the reading's metadata (source, row counts, errors, warnings,
    respondent ids) as a `ResponseSet` without rows; engines that read no file leave it
    None and `analyze_counts` makes a neutral one."""

    counts: pd.DataFrame
    atoms: pd.DataFrame
    sums: pd.DataFrame
    comments: dict[str, dict[str, CommentTally]]
    responses: ResponseSet | None = None

    def __add__(self, other: CountTable) -> CountTable:
        return sum_tables([self, other])

    def normalized(self) -> CountTable:
        """Duplicate keys summed, zero rows dropped, rows sorted: equal data, equal frames."""
        return CountTable(
            _sum_frame(self.counts, COUNT_COLUMNS[:-1], "n"),
            _sum_frame(self.atoms, list(self.atoms.columns[:-1]), "n"),
            _sum_frame(self.sums, ["group", "name"], "value"),
            self.comments,
            self.responses,
        )

    def with_responses(self, responses: ResponseSet | None) -> CountTable:
        return replace(self, responses=responses)

    def group_sizes(self) -> dict[str, int]:
        """Used respondents per role group (groups without any are left out)."""
        by_group = self.atoms.groupby("group")["n"].sum()
        return {str(g): int(n) for g, n in by_group.items()}

    @property
    def ok(self) -> bool:
        """No invalid cells were found while reading (lenient reading has none)."""
        return self.responses is None or self.responses.ok

    def equals(self, other: CountTable) -> bool:
        """Same counts, atoms, sums and comments (metadata aside)."""
        a, b = self.normalized(), other.normalized()
        return (
            a.counts.equals(b.counts)
            and a.atoms.equals(b.atoms)
            and a.sums.astype({"value": object}).equals(b.sums.astype({"value": object}))
            and _plain(a.comments) == _plain(b.comments)
        )

    def to_parquet(self, folder: str | Path) -> None:
        """Save the table (counts, atoms, sums, comments) as four Parquet files in
        `folder`, all or none (through the one atomic writer)."""
        from alignscan.atomic import write_all

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        t = self.normalized()
        rows = [
            {"comment": cid, "group": g, "count": c.count, "texts": list(c.texts),
             **{f"redacted {k}": c.redactions.get(k, 0) for k in REDACTION_KINDS}}
            for cid, per in t.comments.items() for g, c in per.items()
        ]
        frames = {
            "counts": t.counts,
            "atoms": t.atoms,
            "sums": t.sums.astype({"value": str}),  # exact, whatever the size
            "comments": pd.DataFrame(rows),
        }
        write_all({folder / f"{name}.parquet": _parquet_bytes(f) for name, f in frames.items()})


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    import io

    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def read_count_table(folder: str | Path) -> CountTable:
    """A table saved by `CountTable.to_parquet`; CountTableError when the folder doesn't
    hold one."""
    import pyarrow as pa

    folder = Path(folder)
    try:
        return _read_saved(folder)
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CountTableError(f"{folder}: not a saved count table ({reason})") from None


def _read_saved(folder: Path) -> CountTable:
    sums = pd.read_parquet(folder / "sums.parquet")
    sums["value"] = pd.Series([int(v) for v in sums["value"]], dtype=object)
    comments: dict[str, dict[str, CommentTally]] = {}
    for row in pd.read_parquet(folder / "comments.parquet").to_dict("records"):
        red = {k: int(row.get(f"redacted {k}", 0)) for k in REDACTION_KINDS}  # older: fewer
        tally = CommentTally(int(row["count"]), tuple(row["texts"]), red)
        comments.setdefault(str(row["comment"]), {})[str(row["group"])] = tally
    return CountTable(
        pd.read_parquet(folder / "counts.parquet"),
        pd.read_parquet(folder / "atoms.parquet"),
        sums,
        comments,
    )


def _plain(comments: dict[str, dict[str, CommentTally]]) -> dict[str, Any]:
    out = {}
    for cid, per in comments.items():
        shown = {g: (c.count, c.texts, dict(c.redactions)) for g, c in per.items() if c.count}
        if shown:
            out[cid] = shown
    return out


def _sum_frame(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Rows with equal keys summed, zero rows dropped, sorted by the keys; key columns
    that hold text as objects, counts as int64 (sums stay Python ints)."""
    if not frame.empty:
        frame = frame.groupby(keys, sort=True, dropna=False, observed=True)[value].sum()
        frame = frame.reset_index()
        frame = frame[frame[value] != 0]
    types = {c: np.int64 if c in ("key", "n") or c.startswith("scored:") else object
             for c in frame.columns}
    return frame.reset_index(drop=True).astype(types)


def neutral_responses(survey: Survey, respondents: int) -> ResponseSet:
    """Metadata for a table that came with none (counted on a cluster): no file, no
    exclusions, every counted respondent used."""
    from alignscan.responses.model import Labels, RowCounts, SourceInfo

    return ResponseSet(
        survey=survey,
        source=SourceInfo(file="count table", format="counts"),
        codes=np.zeros((0, len(survey.items)), dtype=np.int8),
        item_ids=[i.id for i in survey.items],
        group=Labels.from_codes(np.zeros(0, dtype=np.int32), list(survey.roles.groups)),
        segments={},
        comments={},
        rows=RowCounts(read=respondents, used=respondents),
    )


def check_table(table: CountTable, survey: Survey) -> None:
    """Refuse a table that doesn't fit the survey (a clear message, not a wrong result)."""
    want = {
        "counts": COUNT_COLUMNS,
        "atoms": ["group", *survey.segments, *(f"scored:{d.id}" for d in survey.dimensions), "n"],
        "sums": ["group", "name", "value"],
    }
    for name, columns in want.items():
        got = list(getattr(table, name).columns)
        if got != columns:
            raise CountTableError(f"count table {name!r} has columns {got}, expected {columns}")
    groups = set(survey.roles.groups)
    for name in ("counts", "atoms", "sums"):
        unknown = set(getattr(table, name)["group"]) - groups
        if unknown:
            raise CountTableError(
                f"count table {name!r} has groups the survey doesn't define: {sorted(unknown)}"
            )
    measures = set(_measure_widths(survey))
    unknown = set(table.counts["measure"]) - measures
    if unknown:
        raise CountTableError(f"count table has unknown measures: {sorted(unknown)[:5]}")
    widths = _measure_widths(survey)
    keys, n = table.counts["key"].to_numpy(), table.counts["n"].to_numpy()
    limit = table.counts["measure"].map(widths).to_numpy()
    if len(keys) and ((keys < 0) | (keys >= limit) | (n < 0)).any():
        raise CountTableError("count table has keys outside their range or negative counts")
    extra = set(table.counts["column"]) - {"", *survey.segments}
    if extra:
        raise CountTableError(f"count table has unknown segment columns: {sorted(extra)}")


@dataclass(frozen=True)
class Measure:
    """One measure of the `counts` table (see the module docstring): its name, how many
    keys it has (0 .. width-1), and whether it is counted per segment value too."""

    name: str
    width: int
    per_segment: bool


def measures(survey: Survey) -> list[Measure]:
    """The count schema of `survey`, declared once: every measure a table may hold. Each
    engine (numpy, DuckDB and Spark SQL) counts exactly these (tests/test_count_schema.py)."""
    p = survey.scale.points + 1
    out = [Measure(f"item:{i.id}", p, False) for i in survey.items]
    for dim in survey.dimensions:
        k = len(dim.items)
        out += [Measure(f"scored:{dim.id}:{i.id}", p, True) for i in dim.items]
        out += [
            Measure(f"score:{dim.id}", (k * survey.scale.points + 1) * (k + 1), True),
            Measure(f"cluster:{dim.id}", (k + 1) ** 2, True),
            Measure(f"unscored:{dim.id}", 2, False),
        ]
    return out


def _measure_widths(survey: Survey) -> dict[str, int]:
    """Every measure a table for `survey` may hold, with the number of keys it has."""
    return {m.name: m.width for m in measures(survey)}


def build_cubes(
    counts: pd.DataFrame, groups: list[str], segments: list[tuple[str, list[str], dict[str, int]]]
) -> dict[tuple[str, str], np.ndarray]:
    """The long counts as dense arrays per (measure, column): cells x keys, where the
    cells are the groups ("" column) or pooled segment value x group."""
    n_groups = len(groups)
    position = {g: i for i, g in enumerate(groups)}
    cell = counts["group"].map(position).to_numpy(dtype=np.int64).copy()
    column = counts["column"].to_numpy()
    n_cells = {"": n_groups}
    for name, values, lut in segments:
        rows = np.flatnonzero(column == name)
        pooled = counts["value"].iloc[rows].map(lut).to_numpy(dtype=np.int64)
        cell[rows] = pooled * n_groups + cell[rows]
        n_cells[name] = len(values) * n_groups
    keys, n = counts["key"].to_numpy(np.int64), counts["n"].to_numpy(np.int64)
    out = {}
    for (measure, col), idx in counts.groupby(["measure", "column"], sort=False).indices.items():
        if col not in n_cells:
            continue
        arr = np.zeros((n_cells[col], int(keys[idx].max()) + 1), dtype=np.int64)
        np.add.at(arr, (cell[idx], keys[idx]), n[idx])
        out[(measure, col)] = arr
    return out


def score_ranks(
    cubes: dict[tuple[str, str], np.ndarray], dim_id: str, k: int
) -> tuple[np.ndarray, list[Fraction]]:
    """Score keys T*(k+1)+M -> dense ranks ordered like the scores (0 = no score), and
    the exact score of each rank: equal scores (2/1 and 4/2) share a rank."""
    found = cubes.get((f"score:{dim_id}", ""))
    present = np.flatnonzero(found.sum(axis=0)) if found is not None else np.zeros(0, int)
    scores = {int(p): Fraction(int(p) // (k + 1), int(p) % (k + 1)) for p in present if p}
    distinct = sorted(set(scores.values()))
    rank = {score: i + 1 for i, score in enumerate(distinct)}
    lut = np.zeros(int(present.max(initial=0)) + 1, dtype=np.int64)
    for p, score in scores.items():
        lut[p] = rank[score]
    return lut, [Fraction(0), *distinct]


def empty_table(survey: Survey) -> CountTable:
    """The count table of no respondents."""
    atoms = ["group", *survey.segments, *(f"scored:{d.id}" for d in survey.dimensions), "n"]
    return CountTable(
        pd.DataFrame({c: pd.Series([], dtype=object if c in ("measure", "group", "column",
                                                               "value") else np.int64)
                      for c in COUNT_COLUMNS}),
        pd.DataFrame({c: [] for c in atoms}),
        pd.DataFrame({"group": [], "name": [], "value": []}).astype({"value": object}),
        {},
    )


def sum_tables(tables: Sequence[CountTable], survey: Survey | None = None) -> CountTable:
    """The sum of many tables in one pass (`a + b + ...` regroups once, not per pair);
    an empty sequence needs the survey and gives the table of no respondents."""
    if not tables:
        if survey is None:
            raise ValueError("the sum of no count tables needs the survey")
        return empty_table(survey)
    if len(tables) == 1:
        return tables[0]
    comments: dict[str, dict[str, CommentTally]] = {}
    for table in tables:
        for cid, per in table.comments.items():
            mine = comments.setdefault(cid, {})
            for g, tally in per.items():
                mine[g] = mine[g] + tally if g in mine else tally
    first = tables[0]
    return CountTable(
        pd.concat([t.counts for t in tables], ignore_index=True),
        pd.concat([t.atoms for t in tables], ignore_index=True),
        pd.concat([t.sums for t in tables], ignore_index=True),
        comments,
        first.responses,
    ).normalized()


def __getattr__(name: str) -> Any:
    """`counts.count_file` and `counts.ENGINES`, their former home (deprecated): they live
    in `alignscan.counting.engines`, which imports this module, so this one may not import it."""
    if name in ("count_file", "ENGINES"):
        import importlib
        import warnings

        warnings.warn(
            f"alignscan.counting.counts.{name} moved to alignscan.counting.engines.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module("alignscan.counting.engines"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
