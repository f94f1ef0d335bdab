"""Streaming reads (issue #15): `stream_responses` gives, block by block, exactly the
used rows `read_responses` gives for the whole file, and `finish()` its metadata field
by field. The oracle is the whole-file reader itself (an independent code path: one
pyarrow read, one validation), on the corpus and on generated files, with tiny blocks
so that block boundaries fall everywhere."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import assume, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import alignscan.responses.validation as validation
from alignscan.responses import ResponsesError, ResponseSet, blocks, read_responses
from alignscan.responses.id_index import IdIndex, fingerprints
from alignscan.responses.streaming import stream_responses
from alignscan.survey import load_survey, read_survey_file

CORPUS = Path(__file__).parent / "data" / "responses"
CORPUS_FILES = sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".csv", ".xlsx"))
META = (
    "source",
    "rows",
    "errors",
    "warnings",
    "error_counts",
    "unknown_roles",
    "cells_set_missing",
    "unlisted_errors",
)


@pytest.fixture(scope="module")
def survey():
    return read_survey_file(CORPUS / "survey.yaml").survey


def used_rows(sets: list[ResponseSet], survey) -> dict[str, object]:
    """The used rows of one or more sets, concatenated, as plain Python values."""
    n_items = len(survey.items)
    codes = [rs.codes for rs in sets if len(rs.codes)]
    ids = [v for rs in sets if rs.respondent_ids is not None for v in rs.respondent_ids.to_pylist()]
    return {
        "codes": (np.concatenate(codes) if codes else np.zeros((0, n_items))).tolist(),
        "group": [g for rs in sets for g in rs.group],
        "segments": {s: [v for rs in sets for v in rs.segments[s]] for s in survey.segments},
        "comments": {c.id: [v for rs in sets for v in rs.comments[c.id]] for c in survey.comments},
        "ids": ids,
    }


def assert_same(path: Path, survey, *, block_rows: int, **options) -> ResponseSet:
    """Stream `path` and compare with `read_responses`; the whole-file result."""
    whole = read_responses(path, survey, **options)
    stream = stream_responses(path, survey, block_rows=block_rows, **options)
    assert stream.source == whole.source
    blocks = list(stream.blocks())
    assert all(0 < len(b.codes) <= block_rows for b in blocks)
    meta = stream.finish()
    for name in META:
        assert getattr(meta, name) == getattr(whole, name), name
    assert meta.codes.shape == (0, len(survey.items))
    if whole.respondent_ids is None:
        assert meta.respondent_ids is None
    else:
        assert meta.respondent_ids.to_pylist() == whole.respondent_ids.to_pylist()
    if not whole.errors:  # strict: a file with errors has no used rows at all
        assert used_rows(blocks, survey) == used_rows([whole], survey)
        assert sum(len(b.codes) for b in blocks) == whole.rows.used
    return whole


@pytest.mark.parametrize("name", CORPUS_FILES)
@pytest.mark.parametrize("lenient", [False, True])
@pytest.mark.parametrize("block_rows", [1, 3, 7, 100_000])
def test_corpus_streams_as_the_whole_file_reads(survey, name, lenient, block_rows) -> None:
    path = CORPUS / name
    try:
        read_responses(path, survey, lenient=lenient)
    except ResponsesError as exc:  # a file that can't be read: the same error, up front
        with pytest.raises(ResponsesError) as streamed:
            stream_responses(path, survey, lenient=lenient, block_rows=block_rows).finish()
        assert streamed.value.error == exc.error
        return
    assert_same(path, survey, block_rows=block_rows, lenient=lenient)


def test_the_corpus_covers_errors_and_used_rows(survey) -> None:
    """The corpus comparisons above are not vacuous: some files have errors, some used
    rows across several blocks."""
    results = []
    for name in CORPUS_FILES:
        try:
            results.append(read_responses(CORPUS / name, survey))
        except ResponsesError:
            continue
    assert sum(bool(r.errors) for r in results) >= 5
    assert sum(r.rows.used >= 3 for r in results) >= 5


# ------------------------------------------------------------------------- generated files

HEADER = ["id", "role", "department", "q1", "q2", "q3", "q4", "comment"]
ANSWERS = ["Agree", "5", "Strongly agree", "Disagree", "1", "", "N/A", " agree ", "4.0"]
BAD = ["7", "Agreed", "0", "3.5", "maybe"]
ROLES = ["C-suite", "VP", "Engineer", "Analyst", " vp "]


def awkward_rows(rng: random.Random, n: int, *, bad: float, dup: float) -> list[list[str]]:
    """Rows with quoted newlines, commas, blank cells, bad answers, unknown and blank
    roles, repeated ids (near and far), blank lines and ragged rows."""
    rows: list[list[str]] = []
    for i in range(n):
        rid = f"r{rng.randrange(i + 1)}" if rng.random() < dup else f"r{i}"
        role = rng.choice(ROLES + ["Intern", ""]) if rng.random() < bad else rng.choice(ROLES)
        answers = [rng.choice(BAD if rng.random() < bad else ANSWERS) for _ in range(4)]
        comment = rng.choice(["", "Fine", "two\nlines, with comma", ' "quoted" ', "é ü"])
        row = [rid, role, rng.choice(["Sales", "R&D", " ", "IT"]), *answers, comment]
        if rng.random() < bad / 4:
            row = row[: rng.randrange(1, len(row))]  # ragged
        if rng.random() < 0.03:
            row = []  # a blank line
        rows.append(row)
    return rows


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8", **fmt) -> Path:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=fmt.pop("lineterminator", "\n"), **fmt)
    writer.writerow(HEADER)
    for row in rows:
        if row:
            writer.writerow(row)
        else:
            out.write("\n")
    path.write_bytes(out.getvalue().encode(encoding))
    return path


@pytest.mark.parametrize("block_rows", [1, 3, 7, 64])
@pytest.mark.parametrize("lenient", [False, True])
def test_generated_file_with_every_problem(survey, tmp_path, block_rows, lenient) -> None:
    rows = awkward_rows(random.Random(block_rows), 400, bad=0.05, dup=0.05)
    path = write_csv(tmp_path / "awkward.csv", rows)
    whole = assert_same(path, survey, block_rows=block_rows, lenient=lenient)
    kinds = set(whole.error_counts) if not lenient else set(whole.rows.excluded)
    assert len(kinds) >= 4, kinds  # ragged, roles, ids, answers all occur


def test_generated_valid_file_uses_the_same_rows(survey, tmp_path) -> None:
    rows = awkward_rows(random.Random(1), 1000, bad=0.0, dup=0.0)
    path = write_csv(tmp_path / "valid.csv", rows, lineterminator="\r\n", delimiter=";")
    whole = assert_same(path, survey, block_rows=7)
    assert whole.rows.used > 900 and not whole.errors


def test_repeated_ids_across_blocks(survey, tmp_path) -> None:
    """An id repeated far apart (and with other spacing) is caught whichever blocks
    the two rows fall in; strict names the first row, lenient keeps the first use."""
    rows = awkward_rows(random.Random(5), 300, bad=0.0, dup=0.0)
    rows = [r for r in rows if len(r) == len(HEADER)]
    rows[250][0] = rows[3][0]
    rows[120][0] = " " + rows[3][0] + " "  # compared trimmed
    rows[200][0] = rows[199][0]
    path = write_csv(tmp_path / "dups.csv", rows)
    for block_rows in (1, 7, 50, 1000):
        whole = assert_same(path, survey, block_rows=block_rows)
        assert [e.row for e in whole.errors] == [122, 202, 252]
        assert all(e.kind == "duplicate_id" for e in whole.errors)
        assert "already used on row 5" in whole.errors[0].reason
        lenient = assert_same(path, survey, block_rows=block_rows, lenient=True)
        assert lenient.rows.excluded == {"duplicate respondent id": 3}


@pytest.mark.parametrize("cap", [1, 5, 23, 150])
@pytest.mark.parametrize("unmatched", ["error", "ignore"])
def test_error_cap_lists_the_same_errors(survey, tmp_path, monkeypatch, cap, unmatched) -> None:
    """Past the cap a whole-file read lists errors by check (ragged, roles, ids, then
    each item's answers by the first appearance of the bad text) and counts the rest:
    the stream lists exactly those, whatever the block size."""
    monkeypatch.setattr(validation, "MAX_LISTED_ERRORS", cap)
    survey = survey.model_copy(
        update={"roles": survey.roles.model_copy(update={"unmatched": unmatched})}
    )
    rows = awkward_rows(random.Random(cap), 300, bad=0.3, dup=0.1)
    path = write_csv(tmp_path / "many.csv", rows)
    for block_rows in (1, 7, 40):
        whole = assert_same(path, survey, block_rows=block_rows)
        assert len(whole.errors) == min(cap, sum(whole.error_counts.values()))
        assert sum(whole.error_counts.values()) > 150


def test_pyarrow_blocks_smaller_than_a_record(survey, tmp_path, monkeypatch) -> None:
    """pyarrow's own blocks cut records too (quoted newlines, ragged rows); a record
    longer than one makes the stream read again after the rows already given."""
    monkeypatch.setattr(blocks, "READ_BYTES", 256)
    restarts = []
    rewind = blocks._RowNumbers.rewind
    monkeypatch.setattr(
        blocks._RowNumbers, "rewind", lambda self: restarts.append(self.next) or rewind(self)
    )
    rows = awkward_rows(random.Random(9), 200, bad=0.05, dup=0.02)
    rows[150][-1] = "long\n" * 200  # 1,000 bytes: longer than a 256-byte block
    path = write_csv(tmp_path / "long.csv", rows)
    for block_rows in (1, 13):
        for lenient in (False, True):
            assert_same(path, survey, block_rows=block_rows, lenient=lenient)
    assert len(restarts) == 4 and min(restarts) > 100  # read again once per stream, late


def test_error_cap_across_pyarrow_blocks(survey, tmp_path, monkeypatch) -> None:
    """Bad answers first seen in different pyarrow blocks are listed in the order of
    their first appearance in the file, as a whole-file read lists them."""
    monkeypatch.setattr(blocks, "READ_BYTES", 512)
    monkeypatch.setattr(validation, "MAX_LISTED_ERRORS", 40)
    rows = awkward_rows(random.Random(11), 400, bad=0.15, dup=0.02)
    path = write_csv(tmp_path / "cap.csv", rows)
    for block_rows in (5, 64):
        whole = assert_same(path, survey, block_rows=block_rows)
        assert len(whole.errors) == 40 and sum(whole.unlisted_errors.values()) > 40


@pytest.mark.parametrize(
    ("encoding", "fmt"),
    [("utf-8-sig", {}), ("utf-16", {"delimiter": "\t"}), ("cp1252", {"lineterminator": "\r\n"})],
)
def test_encodings(survey, tmp_path, encoding, fmt) -> None:
    rows = awkward_rows(random.Random(2), 300, bad=0.02, dup=0.0)
    path = write_csv(tmp_path / "enc.csv", rows, encoding=encoding, **fmt)
    for lenient in (False, True):
        assert_same(path, survey, block_rows=7, lenient=lenient)


def big_file_with_late_cp1252(tmp_path: Path) -> Path:
    """More than the sniffed sample of UTF-8-looking text, then a Windows-1252 byte."""
    rows = awkward_rows(random.Random(3), 6000, bad=0.0, dup=0.0)
    rows = [[c.replace("é ü", "plain") for c in r] for r in rows]
    rows[-2][-1] = "café"
    path = write_csv(tmp_path / "late.csv", rows, encoding="cp1252")
    assert path.stat().st_size > blocks.SAMPLE_BYTES
    assert path.read_bytes()[: blocks.SAMPLE_BYTES].isascii()
    return path


def test_encoding_is_settled_before_the_first_block(survey, tmp_path) -> None:
    """A file that is UTF-8 in its sample but Windows-1252 further on: the whole-file
    reader falls back to cp1252; the stream knows it before any block."""
    path = big_file_with_late_cp1252(tmp_path)
    stream = stream_responses(path, survey, block_rows=100)
    assert stream.source.encoding == "cp1252"
    whole = assert_same(path, survey, block_rows=100)
    assert "café" in used_rows([whole], survey)["comments"]["comment"]


def test_a_byte_order_mark_then_windows_1252(survey, tmp_path) -> None:
    """A UTF-8 byte order mark is not proof: a cp1252 byte makes both readers fall back."""
    rows = awkward_rows(random.Random(8), 40, bad=0.0, dup=0.0)
    path = write_csv(tmp_path / "bom.csv", rows, encoding="cp1252")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    whole = assert_same(path, survey, block_rows=3)
    assert whole.source.encoding == "cp1252"


def test_a_given_encoding_that_fails_later_is_refused_up_front(survey, tmp_path) -> None:
    path = big_file_with_late_cp1252(tmp_path)
    with pytest.raises(ResponsesError) as whole:
        read_responses(path, survey, encoding="utf-8")
    with pytest.raises(ResponsesError) as streamed:
        stream_responses(path, survey, encoding="utf-8")  # before any block
    assert streamed.value.error == whole.value.error


def test_header_rows_header_row_and_export_tools(survey, tmp_path) -> None:
    rows = awkward_rows(random.Random(4), 60, bad=0.05, dup=0.0)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([["Quarterly survey"], [], HEADER, ["Question text"] * len(HEADER)])
    for row in rows:
        writer.writerow(row)
    path = tmp_path / "titled.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    for block_rows in (1, 7):
        assert_same(path, survey, block_rows=block_rows, header_row=3, header_rows=2)
        assert_same(path, survey, block_rows=block_rows)  # no header found: errors
    for name in ("qualtrics_export.csv", "surveymonkey_export.csv"):
        whole = assert_same(CORPUS / name, survey, block_rows=2)
        assert whole.source.export_tool is not None


# ------------------------------------------------------------------------------- Parquet


@pytest.mark.parametrize("lenient", [False, True])
def test_parquet_streams_by_record_batches(survey, tmp_path, lenient) -> None:
    rng = random.Random(6)
    rows = [r for r in awkward_rows(rng, 500, bad=0.05, dup=0.05) if len(r) == len(HEADER)]
    columns = {name: [r[j] for r in rows] for j, name in enumerate(HEADER)}
    table = pa.table(columns)
    nulls = pa.array([None if i % 17 == 0 else v for i, v in enumerate(columns["q2"])])
    table = table.set_column(HEADER.index("q2"), "q2", nulls)
    numbers = [float("nan"), None, 4.0, 2.0, 7.0, 3.5, 1.0]  # NaN and null: not answered
    floats = pa.array([numbers[i % len(numbers)] for i in range(len(rows))], pa.float64())
    table = table.set_column(HEADER.index("q3"), "q3", floats)
    blank = pa.table({n: pa.array([None], table.schema.field(n).type) for n in HEADER})
    table = pa.concat_tables([table.slice(0, 100), blank, table.slice(100)])  # a blank record
    path = tmp_path / "responses.parquet"
    pq.write_table(table, path, row_group_size=37)
    for block_rows in (1, 7, 100):
        whole = assert_same(path, survey, block_rows=block_rows, lenient=lenient)
        assert whole.source.format == "parquet"


# ---------------------------------------------------------------------------- properties

CELLS = st.sampled_from(
    ANSWERS + BAD + ['a "quote"', "x\ny", " , ", "\r\n", "\t", "VP", "C-suite", "é"]
)


@st.composite
def small_csvs(draw) -> tuple[str, int, bool, int]:
    n = draw(st.integers(0, 25))
    lines = []
    for _ in range(n):
        if draw(st.booleans()) and draw(st.integers(0, 9)) == 0:
            lines.append([])
            continue
        width = draw(st.sampled_from([len(HEADER)] * 6 + [len(HEADER) - 1, len(HEADER) + 1]))
        rid = draw(st.sampled_from(["r1", "r2", " r1", "", "r3", f"u{len(lines)}"]))
        role = draw(st.sampled_from(ROLES + ["Intern", ""]))
        cells = [rid, role] + [draw(CELLS) for _ in range(width - 2)]
        lines.append(cells[:width])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(HEADER)
    for line in lines:
        writer.writerow(line) if line else out.write("\n")
    text = out.getvalue()
    if draw(st.booleans()):
        text = text.rstrip("\r\n")  # no final newline
    return text, draw(st.integers(1, 9)), draw(st.booleans()), draw(st.integers(1, 12))


@hsettings(max_examples=120, deadline=None)
@given(small_csvs())
def test_property_any_small_csv_streams_as_it_reads(tmp_path_factory, case) -> None:
    text, block_rows, lenient, cap = case
    survey = read_survey_file(CORPUS / "survey.yaml").survey
    path = tmp_path_factory.mktemp("prop") / "r.csv"
    path.write_text(text, encoding="utf-8")
    try:
        read_responses(path, survey)
    except ResponsesError:
        assume(False)  # unreadable files are compared on the corpus
    old = validation.MAX_LISTED_ERRORS
    validation.MAX_LISTED_ERRORS = cap
    try:
        assert_same(path, survey, block_rows=block_rows, lenient=lenient)
    finally:
        validation.MAX_LISTED_ERRORS = old


# -------------------------------------------------------------------------- ids, streams


def test_pyarrow_trims_exactly_what_python_strips() -> None:
    """The id check counts an id as blank when pyarrow's trim leaves nothing, where the
    whole-file check asks `str.strip`: the two agree on every code point."""
    chars = [chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000]
    trimmed = pc.utf8_trim_whitespace(pa.array(chars)).to_pylist()
    assert [c for c, t in zip(chars, trimmed, strict=True) if (t == "") != (c.strip() == "")] == []


def test_fingerprints_tell_strings_apart_and_ignore_slicing() -> None:
    rng = random.Random(0)
    words = {"", "a", "a\x00", "\x00", "ab", "abcdefgh", "abcdefgh\x00", "é", "e\u0301"}
    words |= {"".join(rng.choices("abc01 -", k=rng.randrange(0, 30))) for _ in range(20_000)}
    words |= {f"R{i:07d}" for i in range(50_000)}
    arr = pa.array(sorted(words))
    h1, h2, lengths = fingerprints(arr)
    assert len(set(zip(h1.tolist(), h2.tolist(), strict=True))) == len(words)
    assert len(set(h1.tolist())) == len(words)  # not even a 64-bit collision here
    assert lengths.tolist() == [len(w.encode()) for w in sorted(words)]
    part = fingerprints(arr.slice(100, 50))
    assert part[0].tolist() == h1[100:150].tolist() and part[1].tolist() == h2[100:150].tolist()
    large = fingerprints(arr.cast(pa.large_string()))
    assert large[0].tolist() == h1.tolist()


def test_id_index_against_a_dict() -> None:
    rng = np.random.default_rng(1)
    index, seen = IdIndex(), {}
    for block in range(40):
        keys = rng.integers(0, 3000, size=rng.integers(1, 200))
        h1 = (keys // 3).astype(np.uint64)  # h1 collides across keys; h2 tells them apart
        h2 = keys.astype(np.uint64)
        expected = [seen.get(int(k), -1) for k in keys]
        assert index.lookup(h1, h2).tolist() == expected
        new = np.asarray([int(k) not in seen for k in keys])
        _, first = np.unique(keys, return_index=True)
        fresh = np.zeros(len(keys), dtype=bool)
        fresh[first] = True
        fresh &= new
        rows = np.arange(len(keys)) + 1000 * block
        for k, r in zip(keys[fresh], rows[fresh], strict=True):
            seen[int(k)] = int(r)
        index.add(h1[fresh], h2[fresh], rows[fresh])
    assert len(index.runs) < 12  # runs are merged as they grow


def test_finish_reads_what_blocks_did_not(survey) -> None:
    path = CORPUS / "valid_utf8.csv"
    meta = stream_responses(path, survey, block_rows=1).finish()
    assert meta.rows == read_responses(path, survey).rows
    stream = stream_responses(path, survey, block_rows=1)
    blocks = stream.blocks()
    next(blocks)
    with pytest.raises(RuntimeError):
        stream.finish()
    list(blocks)
    with pytest.raises(RuntimeError):
        list(stream.blocks())
    assert stream.finish().rows == meta.rows


def test_progress_goes_from_reading_to_done(survey) -> None:
    seen: list[tuple[str, float]] = []
    stream = stream_responses(
        CORPUS / "valid_utf8.csv", survey, block_rows=1, progress=lambda s, d: seen.append((s, d))
    )
    list(stream.blocks())
    stream.finish()
    assert seen[0] == ("reading", 0.0) and seen[-1] == ("done", 1.0)
    shares = [d for s, d in seen if s == "reading"]
    assert shares == sorted(shares) and all(0.0 <= d <= 1.0 for d in shares)
    assert len(shares) > 3


def test_builtin_survey_synthetic_file(tmp_path) -> None:
    """The built-in survey (ids, two segments, comments) on a synthetic export."""
    from alignscan.synthetic import generate_responses, write_csv

    survey = load_survey()
    path = write_csv(generate_responses(survey, 3000, seed=3), tmp_path / "synthetic.csv")
    for block_rows in (7, 1000):
        whole = assert_same(path, survey, block_rows=block_rows)
        assert whole.rows.used == 3000 and whole.respondent_ids is not None


def test_bad_block_size(survey) -> None:
    with pytest.raises(ValueError):
        stream_responses(CORPUS / "valid_utf8.csv", survey, block_rows=0)


def _reference_fingerprint(text: str) -> tuple[int, int]:
    """The id fingerprint written out one string at a time with Python integers:
    MurmurHash3-style rounds over 8-byte little-endian words, zero-padded, two seeds."""
    mask = (1 << 64) - 1

    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (64 - r))) & mask

    def fmix(h: int) -> int:
        h ^= h >> 33
        h = (h * 0xFF51AFD7ED558CCD) & mask
        h ^= h >> 33
        h = (h * 0xC4CEB9FE1A85EC53) & mask
        return h ^ (h >> 33)

    data = text.encode()
    out = []
    for seed in (0x9E3779B97F4A7C15, 0xD1B54A32D192ED03):
        h = seed ^ len(data)
        for at in range(0, len(data), 8):
            k = int.from_bytes(data[at : at + 8].ljust(8, b"\0"), "little")
            k = (rotl((k * 0x87C37B91114253D5) & mask, 31) * 0x4CF5AD432745937F) & mask
            h = (rotl(h ^ k, 27) * 5 + 0x52DCE729) & mask
        out.append(fmix(h))
    return out[0], out[1]


@pytest.mark.parametrize(
    "texts",
    [
        [f"W1-R{i:07d}" for i in range(300)],  # one length: the reshaped matrix
        ["", "a", "é" * 7, "x" * 8, "y" * 9, "z" * 64, "\x00" * 3, " padded "],  # mixed lengths
        ["long-" * 30, "short", "q" * 65, ""],  # longer than the padded matrix: word by word
        [""] * 5,
    ],
)
def test_fingerprints_equal_a_string_by_string_reference(texts: list[str]) -> None:
    for arr in (pa.array(texts), pa.array(["pad"] * 3 + texts).slice(3)):
        h1, h2, lengths = fingerprints(arr)
        expected = [_reference_fingerprint(t) for t in texts]
        assert list(zip(h1.tolist(), h2.tolist(), strict=True)) == expected
        assert lengths.tolist() == [len(t.encode()) for t in texts]


def test_fingerprint_order_is_lexsort_even_when_64_bits_collide() -> None:
    from alignscan.responses.id_index import _by_fingerprint

    rng = np.random.default_rng(5)
    a = rng.integers(0, 50, size=400).astype(np.uint64)
    for b in (a * np.uint64(3), rng.integers(0, 4, size=400).astype(np.uint64)):
        assert _by_fingerprint(a, b).tolist() == np.lexsort((b, a)).tolist()
