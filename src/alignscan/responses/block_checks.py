"""Checking a file block by block: `_Checker` validates each block with the whole-file
functions (`validation`) and keeps what spans blocks (counts, lenient changes, ids
seen); `_ErrorLog` lists the same errors a whole-file read lists, under its cap."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from alignscan.responses import parquet_reader, validation
from alignscan.responses.coding import answer_lookup, code_answer, dictionary_parts, show
from alignscan.responses.id_index import IdIndex, _by_fingerprint, fingerprints
from alignscan.responses.kinds import ErrorKind
from alignscan.responses.model import CellError, RawTable, ResponseSet, RowCounts, SourceInfo
from alignscan.responses.validation import (
    Findings,
    check_header,
    check_ragged,
    check_records,
    empty_set,
    failed_result,
    report_duplicate_ids,
    used_rows,
)
from alignscan.survey import Survey

CODED_CACHE = 1 << 16  # answer texts whose coding is remembered across blocks, per item


class _Checker:
    """Validates blocks one after another and keeps what spans them: counts, the error
    listing, lenient changes and exclusions, ids seen, the used rows' ids."""

    def __init__(self, survey: Survey, lenient: bool, header: RawTable) -> None:
        self.survey = survey
        self.lenient = lenient
        self.found = Findings(header.source.file)  # header findings, then the blocks' counts
        self.position, self.usable = check_header(header, survey, lenient, self.found)
        self.log = _ErrorLog(survey, self.found, strict=not lenient)
        self.ids = IdIndex(keep_rows=not lenient) if survey.respondent_id else None
        self.records = self.blank = self.ragged = self.used = 0
        self.id_chunks: list[Any] = []
        self.id_type: Any = None

    def check(self, raw: RawTable) -> ResponseSet | None:
        """Validate one block; its used rows (None when nothing can be coded)."""
        found = _BlockFindings(self.log, raw.source.file)
        check_ragged(raw, self.lenient, found)
        self.records += len(raw.rows)
        self.blank += int(raw.blank_rows.sum())
        self.ragged += len(raw.ragged)
        if not self.usable or not len(raw.rows):
            self._merge(found)
            return None
        self.log.rank_answers(raw, self.position)
        codes, group_idx, keep = check_records(
            raw, self.survey, self.position, self.lenient, found, self._check_ids
        )
        self._merge(found)
        rs = used_rows(raw, self.survey, self.position, codes, group_idx, keep)
        self.used += len(rs.codes)
        if rs.respondent_ids is not None:
            self.id_chunks.append(rs.respondent_ids)
        return rs

    def _merge(self, found: _BlockFindings) -> None:
        """Add a block's findings to the file's."""
        self.log.merge(found)
        self.found.changes.update(found.changes)
        self.found.excluded.update(found.excluded)
        self.found.unknown_roles.update(found.unknown_roles)

    def _check_ids(
        self,
        raw: RawTable,
        id_column: str,
        position: dict[str, int],
        keep: np.ndarray,
        lenient: bool,
        found: Findings,
    ) -> None:
        """Repeated respondent ids (compared trimmed, blanks ignored) within the block
        and against every block before: the first use stays, later ones repeat it."""
        import pyarrow.compute as pc

        assert self.ids is not None
        column = raw.columns[position[id_column]]
        self.id_type = column.type
        trimmed = pc.utf8_trim_whitespace(column.cast("string"))
        h1, h2, lengths = fingerprints(trimmed)
        candidates = np.nonzero((lengths > 0) & keep)[0]  # pyarrow trims as str.strip does
        if not len(candidates):
            return
        a, b, rows = h1[candidates], h2[candidates], raw.rows[candidates]
        order = _by_fingerprint(a, b)  # stable: a repeated id's first use comes first
        sa, sb = a[order], b[order]
        same = (sa[1:] == sa[:-1]) & (sb[1:] == sb[:-1])
        group = np.concatenate([[0], np.cumsum(~same)])  # per sorted position
        firsts = order[np.concatenate([[True], ~same])]  # each distinct id's first use
        of = np.empty(len(order), dtype=np.int64)
        of[order] = group  # candidate -> its distinct id
        earlier = self.ids.lookup(a[firsts], b[firsts])  # first row in an earlier block, or -1
        new = earlier < 0
        self.ids.add(a[firsts][new], b[firsts][new], rows[firsts][new])
        repeat = np.zeros(len(candidates), dtype=bool)
        repeat[order[1:]] = same
        repeat |= earlier[of] >= 0
        if not repeat.any():
            return
        dups = candidates[repeat]
        first_row = np.where(earlier >= 0, earlier, rows[firsts])[of[repeat]]
        names = trimmed.take(dups).to_pylist() if not lenient else []
        report_duplicate_ids(raw, id_column, dups, names, first_row.tolist(), keep, lenient, found)

    def finish(self, source: SourceInfo) -> ResponseSet:
        """The file's metadata, as `validation.validate` reports it for the whole file."""
        read = self.records - self.blank + self.ragged
        found = self.found
        if not self.usable:
            found.errors, found.unlisted = self.log.listed()[0], Counter()
            return failed_result(source, self.survey, found, read)
        if self.records - self.blank == 0 and not self.ragged:
            found.errors = self.log.listed()[0]
            reason = "the file has a header but no responses"
            found.error(None, None, None, reason, ErrorKind.NO_ROWS)
            return failed_result(source, self.survey, found, read)
        found.errors, unlisted = self.log.listed()
        if found.errors:
            rs = failed_result(source, self.survey, found, read)
        else:
            rs = empty_set(self.survey, source)
            rs.rows = RowCounts(read=read, used=self.used, excluded=dict(found.excluded))
            rs.cells_set_missing = dict(found.changes)
            rs.warnings = found.warnings
            rs.respondent_ids = self._used_ids()
            assert rs.rows.read == rs.rows.used + rs.rows.excluded_total, rs.rows
        rs.unknown_roles = dict(found.unknown_roles.most_common())
        rs.unlisted_errors = dict(unlisted)
        for kind, count in unlisted.items():
            rs.error_counts[kind] = rs.error_counts.get(kind, 0) + count
        return rs

    def _used_ids(self) -> Any:
        """The used rows' ids in file order, one array (None without an id column)."""
        import pyarrow as pa

        if not self.survey.respondent_id:
            return None
        if self.id_type is not None and pa.types.is_dictionary(self.id_type):
            return parquet_reader.concat_dictionaries(self.id_chunks)
        return pa.concat_arrays(self.id_chunks) if self.id_chunks else pa.array([], pa.string())


# ------------------------------------------------------------------------- error listing

RAGGED, ROLES, IDS, ANSWERS = 1, 2, 3, 4  # categories after 0, the header's errors
ROLE_KINDS = (ErrorKind.UNKNOWN_ROLE, ErrorKind.BLANK_ROLE)


class _ErrorLog:
    """The errors a whole-file read would list under its cap (`MAX_LISTED_ERRORS`), kept
    in bounded memory. A whole-file read lists errors in this order until the cap:
    the header's, ragged rows, roles, repeated ids (each in row order), then each item's
    answers (by first appearance of the bad text in the file, then row). Each category
    keeps at most the cap minus what the categories before it already hold."""

    def __init__(self, survey: Survey, header: Findings, strict: bool) -> None:
        self.item_category = {
            item.source_column: ANSWERS + k for k, item in enumerate(survey.items)
        }
        self.items = survey.items
        n = ANSWERS + len(survey.items)
        self.kept: list[list[tuple[tuple[int, int], CellError]]] = [[] for _ in range(n)]
        self.kept[0] = [((0, k), e) for k, e in enumerate(header.errors)]
        self.totals = [0] * n
        self.totals[0] = len(header.errors) + sum(header.unlisted.values())
        self.kinds: Counter[str] = Counter(e.kind for e in header.errors) + header.unlisted
        self.strict = strict
        self.ranks: list[dict[str, int]] = [{} for _ in survey.items]  # bad text -> rank
        self.coded: list[dict[str, bool]] = [{} for _ in survey.items]  # text -> is bad
        self.lookup = answer_lookup(survey)
        self.scale = (survey.scale.points, survey.scale.start)

    def category(self, kind: str, column: str | None) -> int:
        if kind == ErrorKind.RAGGED_ROW:
            return RAGGED
        if kind in ROLE_KINDS:
            return ROLES
        if kind == ErrorKind.DUPLICATE_ID:
            return IDS
        return self.item_category[column or ""]

    def quotas(self) -> list[int]:
        """Per category: how many of its errors can still be listed at most."""
        cap = validation.MAX_LISTED_ERRORS
        before = np.concatenate([[0], np.cumsum(self.totals)[:-1]])
        return [max(0, cap - int(b)) for b in before]

    def merge(self, block: _BlockFindings) -> None:
        """Add a block's listed errors, keeping each category's first ones only."""
        quotas = self.quotas()
        for c, new in enumerate(block.new):
            kept = self.kept[c] + new if new else self.kept[c]
            if new and c >= ANSWERS:
                kept.sort(key=lambda pair: pair[0])
            self.kept[c] = kept[: quotas[c]]

    def listed(self) -> tuple[list[CellError], Counter[str]]:
        """(the errors listed, in category order; per kind, the errors counted only)."""
        errors = [e for c, q in enumerate(self.quotas()) for _, e in self.kept[c][:q]]
        unlisted = self.kinds - Counter(e.kind for e in errors)
        return errors, unlisted

    def rank_answers(self, raw: RawTable, position: dict[str, int]) -> None:
        """Rank every bad answer text by its first appearance in the file (any record of
        the block, used or not), as a whole-file read's dictionary orders them."""
        if not self.strict:
            return  # lenient lists no answer errors
        points, start = self.scale
        for k, item in enumerate(self.items):
            values, idx = dictionary_parts(raw.columns[position[item.source_column]])
            coded, ranks = self.coded[k], self.ranks[k]
            if len(coded) > CODED_CACHE:  # a cache: free text in an item column can't grow it
                coded.clear()
            for v in values:
                if v not in coded:
                    coded[v] = code_answer(v, self.lookup, points, start) is None
            fresh = [j for j, v in enumerate(values) if coded[v] and v not in ranks]
            firsts = []
            for j in fresh:
                hits = np.flatnonzero(idx == j)
                if len(hits):
                    firsts.append((int(hits[0]), values[j]))
            for _, v in sorted(firsts):
                ranks[v] = len(ranks)


class _BlockFindings(Findings):
    """A block's findings, listed per category within the room the categories before
    it leave (see `_ErrorLog`), every error counted."""

    def __init__(self, log: _ErrorLog, file: str) -> None:
        super().__init__(file)
        self.log = log
        self.quota = log.quotas()
        self.new: list[list[tuple[tuple[int, int], CellError]]] = [[] for _ in log.kept]

    def room(self, column: str | None, kind: str) -> int:
        c = self.log.category(kind, column)
        if c >= ANSWERS:  # merged by rank: any row may still be among the first
            return self.quota[c]
        return max(0, self.quota[c] - len(self.log.kept[c]) - len(self.new[c]))

    def error(
        self, row: int | None, column: str | None, value: str | None, reason: str, kind: str
    ) -> None:
        c = self.log.category(kind, column)
        self.log.totals[c] += 1
        self.log.kinds[kind] += 1
        if self.room(column, kind) > 0:
            error = CellError(self.file, row, column, value, reason, kind)
            self.new[c].append(((0, row or 0), error))

    def cell_errors(
        self, rows: np.ndarray, column: str, value: str, reason: str, kind: str
    ) -> None:
        c = self.log.category(kind, column)
        self.log.totals[c] += len(rows)
        self.log.kinds[kind] += len(rows)
        rank = self.log.ranks[c - ANSWERS].get(value, 0)
        shown = show(value)
        for row in rows[: self.quota[c]]:
            error = CellError(self.file, int(row), column, shown, reason, kind)
            self.new[c].append(((rank, int(row)), error))
