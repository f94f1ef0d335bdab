"""The count table (issue #15): every engine's output is checked against a brute-force
count written here, respondent by respondent in plain Python, and tables add up:
counting blocks of rows and summing gives the table of all rows, and the same analysis."""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import alignscan
from alignscan.analysis.analysis import analyze, analyze_counts
from alignscan.counting.counts import (
    CountTable,
    CountTableError,
    count_responses,
    read_count_table,
)
from alignscan.responses import ResponseSet, read_responses
from alignscan.responses.model import Labels
from alignscan.survey import load_survey, load_survey_text
from alignscan.synthetic import generate_responses

ZERO_TO_TEN = """\
id: nps
title: A 0-10 scale
version: "1"
scale:
  points: 11
  start: 0
  labels: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]
  favorable: [9, 10]
roles:
  column: role
  groups: {executive: [Exec], management: [Mgr], practitioner: [Eng]}
  compare: [executive, practitioner]
segments: [site]
dimensions:
  - id: d
    title: D
    items:
      - {id: q1, text: One}
      - {id: q2, text: Two, reverse: true}
      - {id: q3, text: Three}
  - id: e
    title: E
    items:
      - {id: q4, text: Four}
"""


def _read(tmp_path: Path, survey, n: int, seed: int) -> ResponseSet:
    frame = generate_responses(survey, n, seed=seed, missing_rate=0.15)
    path = tmp_path / f"r{seed}.csv"
    frame.to_csv(path, index=False)
    rs = read_responses(path, survey, lenient=True)
    assert rs.ok and rs.rows.used > 0
    return rs


def _nps_responses(tmp_path: Path, n: int, seed: int) -> ResponseSet:
    survey = load_survey_text(ZERO_TO_TEN, "nps.yaml").survey
    rng = np.random.default_rng(seed)
    codes = rng.integers(-1, 11, size=(n, 4))  # -1: not answered
    lines = ["role,site,q1,q2,q3,q4"]
    for row in codes:
        role = rng.choice(["Exec", "Mgr", "Eng", "Eng"])
        site = rng.choice(["North", "South", "", "West"])
        lines.append(",".join([role, site, *("" if c < 0 else str(c) for c in row)]))
    path = tmp_path / f"nps{seed}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rs = read_responses(path, survey)
    assert rs.ok, rs.errors[:3]
    return rs


def brute_force(rs: ResponseSet) -> tuple[Counter, Counter, Counter]:
    """(counts, atoms, sums) by walking the respondents one at a time."""
    survey = rs.survey
    points, start = survey.scale.points, survey.scale.start
    favorable = {c - start + 1 for c in survey.scale.favorable}
    counts: Counter = Counter()
    atoms: Counter = Counter()
    sums: Counter = Counter()
    groups = list(rs.group)
    seg_values = {c: list(rs.segments[c]) for c in survey.segments}
    columns = {item.id: j for j, item in enumerate(survey.items)}
    for r, group in enumerate(groups):
        pos = {}
        for item in survey.items:
            x = int(rs.codes[r, columns[item.id]])
            pos[item.id] = points + 1 - x if (item.reverse and x) else x
            counts[(f"item:{item.id}", group, "", "", pos[item.id])] += 1
        levels = [("", "")] + [(c, seg_values[c][r]) for c in survey.segments]
        scored_bits = []
        scores = {}
        for dim in survey.dimensions:
            k = len(dim.items)
            answered = [pos[i.id] for i in dim.items if pos[i.id]]
            m, t = len(answered), sum(answered)
            f = sum(1 for x in answered if x in favorable)
            has = m >= math.ceil(k / 2)
            scored_bits.append(int(has))
            if has:
                scores[dim.id] = Fraction(t, m)
            for column, value in levels:
                counts[(f"score:{dim.id}", group, column, value, t * (k + 1) + m if has else 0)] += 1
                counts[(f"cluster:{dim.id}", group, column, value, f * (k + 1) + m if has else 0)] += 1
                for i in dim.items:
                    key = pos[i.id] if has else 0
                    counts[(f"scored:{dim.id}:{i.id}", group, column, value, key)] += 1
            counts[(f"unscored:{dim.id}", group, "", "", int(m >= 1 and not has))] += 1
            if m == k:
                sums[(group, f"alpha:{dim.id}:n")] += 1
                for i in dim.items:
                    sums[(group, f"alpha:{dim.id}:x:{i.id}")] += pos[i.id]
                    sums[(group, f"alpha:{dim.id}:xx:{i.id}")] += pos[i.id] ** 2
                sums[(group, f"alpha:{dim.id}:t")] += t
                sums[(group, f"alpha:{dim.id}:tt")] += t * t
        atoms[(group, *(seg_values[c][r] for c in survey.segments), *scored_bits)] += 1
        _driver_sums(survey, group, scores, sums)
    return counts, atoms, sums


def _driver_sums(survey, group: str, scores: dict, sums: Counter) -> None:
    if survey.drivers is None:
        return
    ids = [survey.drivers.outcome, *(survey.drivers.predictors or [
        d.id for d in survey.dimensions if d.id != survey.drivers.outcome])]
    if not all(d in scores for d in ids):
        return
    scale = math.lcm(*range(1, max(len(d.items) for d in survey.dimensions) + 1))
    value = {d: int(scores[d] * scale) for d in ids}
    sums[(group, "drivers:n")] += 1
    for a in ids:
        sums[(group, f"drivers:sum:{a}")] += value[a]
        for b in ids:
            sums[(group, f"drivers:cross:{a}:{b}")] += value[a] * value[b]


def _as_counters(table: CountTable) -> tuple[Counter, Counter, Counter]:
    t = table.normalized()
    counts = Counter({tuple(r[:-1]): r[-1] for r in t.counts.itertuples(index=False)})
    atoms = Counter({tuple(r[:-1]): r[-1] for r in t.atoms.itertuples(index=False)})
    sums = Counter({(g, n): v for g, n, v in t.sums.itertuples(index=False)})
    return counts, atoms, sums


def _nonzero(c: Counter) -> dict:
    return {k: v for k, v in c.items() if v}


def _rows(rs: ResponseSet, idx: np.ndarray) -> ResponseSet:
    """The respondents `idx` of `rs` as a ResponseSet of their own (a block)."""
    return ResponseSet(
        survey=rs.survey,
        source=rs.source,
        codes=rs.codes[idx],
        item_ids=rs.item_ids,
        group=Labels.from_codes(np.asarray(rs.group.codes)[idx], rs.group.categories),
        segments={c: Labels.from_codes(np.asarray(s.codes)[idx], s.categories)
                  for c, s in rs.segments.items()},
        comments={c: np.asarray(t, dtype=object)[idx] for c, t in rs.comments.items()},
        rows=rs.rows,
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_numpy_engine_equals_a_brute_force_count(tmp_path: Path, seed: int) -> None:
    rs = _read(tmp_path, load_survey(None), 400, seed)
    expected = [_nonzero(c) for c in brute_force(rs)]
    got = [_nonzero(c) for c in _as_counters(count_responses(rs))]
    for name, e, g in zip(("counts", "atoms", "sums"), expected, got, strict=True):
        assert g == e, name


def test_zero_to_ten_scale_with_reverse_items_and_blank_segments(tmp_path: Path) -> None:
    rs = _nps_responses(tmp_path, 300, 7)
    expected = [_nonzero(c) for c in brute_force(rs)]
    got = [_nonzero(c) for c in _as_counters(count_responses(rs))]
    assert got == expected
    assert any(key[3] == "(blank)" for key in got[0])  # blank segment values are counted


@settings(deadline=None, max_examples=20)
@given(cuts=st.lists(st.integers(min_value=0, max_value=250), max_size=6))
def test_blocks_add_up_to_the_whole(cuts: list[int]) -> None:
    """However the rows are cut into blocks, the summed tables are the whole table,
    and the analysis of the sum is the analysis of the rows."""
    rs = _SHARED["rs"]
    bounds = sorted({0, *(c for c in cuts if c < len(rs.codes)), len(rs.codes)})
    blocks = [_rows(rs, np.arange(a, b)) for a, b in zip(bounds, bounds[1:], strict=False)]
    total = count_responses(blocks[0])
    for block in blocks[1:]:
        total = total + count_responses(block)
    assert total.equals(_SHARED["whole"])
    assert analyze_counts(total.with_responses(rs)) == _SHARED["result"]


_SHARED: dict = {}


@pytest.fixture(autouse=True, scope="module")
def _shared(tmp_path_factory) -> None:
    rs = _read(tmp_path_factory.mktemp("shared"), load_survey(None), 250, 11)
    _SHARED.update(rs=rs, whole=count_responses(rs), result=analyze(rs))


def test_saved_table_gives_the_same_result(tmp_path: Path) -> None:
    rs = _SHARED["rs"]
    table = count_responses(rs)
    table.to_parquet(tmp_path / "table")
    again = read_count_table(tmp_path / "table")
    assert again.equals(table)
    via_library = alignscan.analyze_counts(again, load_survey(None)).document
    expected = _SHARED["result"]
    # without the reading's metadata the source and the row split are unknown
    for key in ("items", "dimensions", "segments", "comments", "drivers", "groups"):
        assert via_library[key] == expected[key], key
    assert via_library["rows"]["used"] == rs.rows.used


def test_a_table_that_does_not_fit_the_survey_is_refused(tmp_path: Path) -> None:
    table = count_responses(_SHARED["rs"])
    survey = load_survey(None)
    wrong_group = table.counts.assign(group="board")
    with pytest.raises(CountTableError, match="groups the survey doesn't define"):
        analyze_counts(CountTable(wrong_group, table.atoms, table.sums, {}), survey)
    far_key = table.counts.assign(key=table.counts["key"] + 1000)
    with pytest.raises(CountTableError, match="outside their range"):
        analyze_counts(CountTable(far_key, table.atoms, table.sums, {}), survey)
    with pytest.raises(CountTableError, match="columns"):
        analyze_counts(CountTable(table.counts, table.atoms.drop(columns="n"), table.sums, {}),
                       survey)
    with pytest.raises(alignscan.AlignscanError, match="measures"):
        odd = table.counts.assign(measure="item:nope")
        alignscan.analyze_counts(CountTable(odd, table.atoms, table.sums, {}), survey)


CORPUS = Path(__file__).parent / "data" / "responses"


@pytest.mark.parametrize("block_rows", [1, 7, 64])
@pytest.mark.parametrize("lenient", [False, True])
def test_counting_a_file_in_blocks_gives_the_whole_file_analysis(
    tmp_path: Path, block_rows: int, lenient: bool
) -> None:
    """count_file (blocks) = count_responses(read_responses) (the whole file), and the
    analysis JSON is the same bytes."""
    from alignscan.counting.engines import count_file
    from alignscan.render.tabular import result_to_json

    survey = load_survey(None)
    frame = generate_responses(survey, 300, seed=5, missing_rate=0.1)
    last = frame.columns[-1]  # the comment column
    frame[last] = frame[last].astype(object)
    frame.loc[3, last] = "line one\nline two, quoted"  # a record over two lines
    path = tmp_path / "r.csv"
    frame.to_csv(path, index=False)
    whole = read_responses(path, survey, lenient=lenient)
    streamed = count_file(path, survey, lenient=lenient, block_rows=block_rows)
    assert streamed.equals(count_responses(whole))
    assert streamed.responses is not None and streamed.responses.rows == whole.rows
    if whole.ok:
        assert result_to_json(analyze_counts(streamed)) == result_to_json(analyze(whole))


def test_every_corpus_file_counts_the_same_in_blocks() -> None:
    from alignscan.counting.engines import count_file
    from alignscan.responses import ResponsesError

    survey = load_survey(CORPUS / "survey.yaml")
    checked = 0
    for path in sorted(CORPUS.iterdir()):
        if path.suffix not in (".csv", ".xlsx"):
            continue
        try:
            whole = read_responses(path, survey, lenient=True)
        except ResponsesError:  # unreadable files are the reader tests' business
            continue
        streamed = count_file(path, survey, lenient=True, block_rows=3)
        assert streamed.equals(count_responses(whole)), path.name
        assert streamed.responses.errors == whole.errors, path.name
        checked += 1
    assert checked >= 10


def test_a_folder_without_a_saved_table_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CountTableError, match="not a saved count table"):
        read_count_table(tmp_path / "nothing-here")
    (tmp_path / "broken").mkdir()
    for name in ("counts", "atoms", "sums", "comments"):
        (tmp_path / "broken" / f"{name}.parquet").write_bytes(b"not parquet")
    with pytest.raises(CountTableError, match="not a saved count table"):
        read_count_table(tmp_path / "broken")


def _readers_end(timeout: float = 5.0) -> bool:
    """True once no read-ahead thread is left (a dropped ReadAhead stops without waiting)."""
    import threading
    import time

    deadline = time.monotonic() + timeout
    while any(t.name == "alignscan-read-ahead" for t in threading.enumerate()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_read_ahead_keeps_order_raises_reading_errors_and_leaves_no_thread() -> None:
    import threading

    from alignscan.responses import ResponsesError
    from alignscan.responses.model import CellError
    from alignscan.responses.readahead import read_ahead

    assert list(read_ahead(iter(range(50)), depth=2)) == list(range(50))

    def failing():
        yield 1
        raise ResponsesError(CellError("f.csv", 7, None, None, "can't decode", "not_text"))

    got = []
    with pytest.raises(ResponsesError, match="can't decode"):
        for item in read_ahead(failing()):
            got.append(item)
    assert got == [1]
    assert _readers_end(timeout=0)  # an error ends the thread before it is raised

    for item in read_ahead(iter(range(1000)), depth=1):
        if item == 3:
            break  # the caller stops early: the reader thread must still end
    assert _readers_end()

    closed = []

    def source():
        try:
            yield from range(1000)
        finally:
            closed.append(threading.current_thread().name)

    outer = read_ahead(read_ahead(source(), depth=1), depth=1)  # two stages, as count_file
    for item in outer:
        if item == 3:
            break
    outer.close()  # waits for both threads
    assert closed == ["alignscan-read-ahead"]  # the source was closed, in its reading thread
    assert _readers_end(timeout=0)

    ahead = read_ahead(iter(range(1000)), depth=1)  # started, never read, then dropped
    assert not _readers_end(timeout=0.2)  # it is waiting to hand over its second block
    del ahead
    assert _readers_end()


def test_a_reader_dropped_by_the_thread_it_waits_for_does_not_deadlock() -> None:
    """Garbage collection can drop a ReadAhead in any thread, even in the one feeding it:
    dropping must not wait for that thread."""
    import gc
    import threading

    from alignscan.responses.readahead import read_ahead

    holder: list = []
    held = threading.Event()

    def source():
        for i in range(1000):
            if i == 1:
                assert held.wait(5)
                holder.clear()  # the last reference to the outer stage, in the inner thread
                gc.collect()
            yield i

    holder.append(read_ahead(read_ahead(source(), depth=1), depth=1))
    held.set()
    assert _readers_end()


@pytest.mark.parametrize("lenient", [False, True])
def test_a_file_that_turns_out_not_to_be_utf8_is_counted_again_as_windows_1252(
    tmp_path: Path, lenient: bool
) -> None:
    """count_file takes UTF-8 on trust (no read to the end first); a Windows-1252 byte
    near the end makes it start again, and the result is the whole-file reader's."""
    from alignscan.counting.engines import count_file
    from alignscan.responses.blocks import NotUtf8
    from alignscan.responses.streaming import stream_responses

    survey = load_survey(None)
    frame = generate_responses(survey, 3000, seed=8, missing_rate=0.05)
    last = frame.columns[-1]
    frame[last] = frame[last].astype(object)
    frame.loc[2990, last] = "café, naïve"
    path = tmp_path / "late.csv"
    frame.to_csv(path, index=False, encoding="cp1252")
    assert path.read_bytes()[:200_000].isascii()  # the sniffed start looks like UTF-8

    stream = stream_responses(path, survey, block_rows=500, guess_utf8=True)
    assert stream.source.encoding == "utf-8"
    with pytest.raises(NotUtf8):
        for _ in stream.blocks():
            pass

    whole = read_responses(path, survey, lenient=lenient)
    assert whole.source.encoding == "cp1252"
    streamed = count_file(path, survey, lenient=lenient, block_rows=500)
    assert streamed.responses is not None and streamed.responses.source == whole.source
    assert streamed.equals(count_responses(whole))
    assert "café, naïve" in list(whole.comments[last])  # decoded as Windows-1252



def _sparse_responses(tmp_path: Path, n: int, seed: int) -> ResponseSet:
    """The built-in survey with a department of its own for most respondents: the cross
    of the segment columns has far more cells than there are rows."""
    survey = load_survey(None)
    frame = generate_responses(survey, n, seed=seed, missing_rate=0.15)
    frame["department"] = [f"Team {i // 2}" for i in range(n)]
    path = tmp_path / f"sparse{seed}.csv"
    frame.to_csv(path, index=False)
    rs = read_responses(path, survey, lenient=True)
    assert rs.ok and rs.rows.used > 0
    return rs


@pytest.mark.parametrize("path", ["cross", "levels"])
@pytest.mark.parametrize("data", ["built-in", "zero-to-ten", "sparse"])
def test_both_counting_paths_equal_a_brute_force_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str, data: str
) -> None:
    """count_responses counts over the dense cross of groups and segment values when it
    is small, else level by level; each path is forced here on every kind of data."""
    import alignscan.counting.counts as counts

    def whole_cross(plan, n_groups, seg_values, rows):
        return [n_groups, *(max(len(v), 1) for _, v in seg_values.values())] if rows else None

    forced = whole_cross if path == "cross" else (lambda *args: None)
    monkeypatch.setattr(counts, "_cross_shape", forced)
    rs = {
        "built-in": lambda: _read(tmp_path, load_survey(None), 300, 3),
        "zero-to-ten": lambda: _nps_responses(tmp_path, 300, 4),
        "sparse": lambda: _sparse_responses(tmp_path, 300, 5),
    }[data]()
    expected = [_nonzero(c) for c in brute_force(rs)]
    got = [_nonzero(c) for c in _as_counters(count_responses(rs))]
    for name, e, g in zip(("counts", "atoms", "sums"), expected, got, strict=True):
        assert g == e, name


@pytest.mark.parametrize("lenient", [False, True])
def test_a_windows_1252_byte_only_in_a_ragged_row_far_in(
    tmp_path: Path, lenient: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    """pyarrow decodes a ragged row's text before reporting it; when that text is not
    UTF-8 the read fails as a bare parse error. Both readers then read the file as
    Windows-1252, like any other file that isn't UTF-8, and nothing is printed."""
    from alignscan.counting.engines import count_file

    survey = load_survey(None)
    frame = generate_responses(survey, 3000, seed=9, missing_rate=0.05)
    path = tmp_path / "ragged.csv"
    frame.to_csv(path, index=False)
    with path.open("ab") as fh:
        fh.write("R-extra,VP,caf\u00e9\n".encode("cp1252"))  # 3 cells, not 38; \xe9
    assert path.read_bytes()[:300_000].isascii()

    whole = read_responses(path, survey, lenient=lenient)
    assert whole.source.encoding == "cp1252"
    assert [e.row for e in whole.errors] == ([] if lenient else [3002])
    streamed = count_file(path, survey, lenient=lenient, block_rows=700)
    assert streamed.responses is not None and streamed.responses.source == whole.source
    assert streamed.responses.errors == whole.errors and streamed.responses.rows == whole.rows
    assert streamed.equals(count_responses(whole))
    out, err = capfd.readouterr()
    assert "Exception ignored" not in out + err and "Traceback" not in out + err
