"""The count table computed by DuckDB SQL (`counts_sql.count_file_duckdb`) equals the
reference engine's (`count_responses(read_responses(...))`), metadata included; files
with errors are counted by the default engine and carry its error report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alignscan.counting.counts import CountTable, count_responses, read_count_table
from alignscan.responses import read_responses
from alignscan.survey import load_survey, load_survey_text, read_survey_file
from alignscan.synthetic import generate_responses, write_csv
from sql_helpers import ZERO_TEN, metadata, reference, text_frame

pytest.importorskip("duckdb", reason="duckdb is not installed (pip install 'alignscan[duckdb]')")

from alignscan.counting.engines import duckdb_sql as counts_sql  # noqa: E402

CORPUS = Path(__file__).parent / "data" / "responses"
CORPUS_SURVEY = read_survey_file(CORPUS / "survey.yaml").survey
# corpus files DuckDB reads as our sniffing does and with no bad cell: the SQL route
CLEAN = ["surveymonkey_export.csv", "valid_bom_semicolon_crlf.csv",
         "valid_trailing_blank_lines.csv", "valid_utf8.csv"]

def check_same(path: Path, survey, *, sql: bool | None, **options) -> CountTable:
    """count_file_duckdb == the reference, metadata too; `sql`: the SQL route ran (True),
    the default engine counted (False), either (None)."""
    lenient = options.pop("lenient", False)
    if sql:  # the SQL route itself, not its fallback, accepts this file
        counts_sql._count_duckdb(path, survey, lenient, None, None, None, None)
    elif sql is not None:
        with pytest.raises(counts_sql.Fallback):
            counts_sql._count_duckdb(path, survey, lenient, None, None, None, None)
    table = counts_sql.count_file_duckdb(path, survey, lenient=lenient, **options)
    expected, rs = reference(path, survey, lenient=lenient, **options)
    assert table.equals(expected)
    assert table.responses is not None
    assert metadata(table.responses) == {**metadata(rs), "codes": 0}
    return table


@pytest.mark.parametrize("lenient", [False, True])
@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.csv")))
def test_every_corpus_file(name: str, lenient: bool) -> None:
    from alignscan.responses import ResponsesError

    path = CORPUS / name
    try:
        read_responses(path, CORPUS_SURVEY)
    except ResponsesError as exc:  # unreadable files raise the default engine's error
        with pytest.raises(ResponsesError) as got:
            counts_sql.count_file_duckdb(path, CORPUS_SURVEY, lenient=lenient)
        assert got.value.error == exc.error
        return
    # lenient: a nameless column is only a warning, which the SQL route carries too
    clean = name in CLEAN or (lenient and name == "error_blank_column_name.csv")
    check_same(path, CORPUS_SURVEY, sql=clean, lenient=lenient)


def test_an_error_file_gives_the_default_engines_errors() -> None:
    table = check_same(CORPUS / "error_out_of_range.csv", CORPUS_SURVEY, sql=False)
    assert table.responses is not None and table.responses.errors
    assert {e.kind for e in table.responses.errors} == {"out_of_range"}
    assert all(e.row and e.row > 1 for e in table.responses.errors)  # spreadsheet rows


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, Path]:
    """The built-in survey (drivers, reverse items, two segments, comments, ids) in
    labels and codes, 3,000 rows each, as CSV and as Parquet."""
    folder = tmp_path_factory.mktemp("gen")
    survey = load_survey()
    out = {}
    for answers in ("labels", "codes"):
        frame = generate_responses(survey, 3000, seed=7, answers=answers, missing_rate=0.08)
        out[f"{answers}.csv"] = write_csv(frame, folder / f"{answers}.csv")
        out[f"{answers}.parquet"] = folder / f"{answers}.parquet"
        text_frame(frame, folder / "tmp.csv").to_parquet(out[f"{answers}.parquet"], index=False)
    return out


@pytest.mark.parametrize("name", ["labels.csv", "codes.csv", "labels.parquet", "codes.parquet"])
@pytest.mark.parametrize("lenient", [False, True])
def test_generated_files(generated, name: str, lenient: bool) -> None:
    table = check_same(generated[name], load_survey(), sql=True, lenient=lenient)
    assert table.comments and any(table.comments.values())
    assert table.sums["name"].str.startswith("drivers:").any()


def test_item_counts_against_pandas(generated) -> None:
    """One measure counted independently: answers of each item per role group."""
    survey = load_survey()
    table = counts_sql.count_file_duckdb(generated["codes.csv"], survey)
    raw = pd.read_csv(generated["codes.csv"], dtype=str, keep_default_na=False)
    role_group = {v: g for g, vs in survey.roles.groups.items() for v in vs}
    raw["group"] = raw[survey.roles.column].map(role_group)
    for item in survey.items[:6]:
        pos = pd.to_numeric(raw[item.source_column], errors="coerce").fillna(0).astype(int)
        if item.reverse:
            pos = pos.where(pos == 0, survey.scale.points + 1 - pos)
        want = pos.groupby(raw["group"]).value_counts()
        got = table.counts[table.counts["measure"] == f"item:{item.id}"]
        got = got.set_index(["group", "key"])["n"]
        assert {k: int(v) for k, v in got.items()} == {k: int(v) for k, v in want.items()}


def test_zero_to_ten_scale_with_tricky_texts(tmp_path) -> None:
    """scale.start 0, reverse items, drivers; roles in other case and padded, codes with
    their label, quotes and backslashes in segment values, blank segments: all valid,
    so the SQL route counts them, with the default engine's coding."""
    survey = load_survey_text(ZERO_TEN).survey
    assert survey is not None
    frame = generate_responses(survey, 1500, seed=3, answers="codes", missing_rate=0.1)
    frame = text_frame(frame, tmp_path / "gen.csv")
    rng = np.random.default_rng(1)
    pick = rng.random(len(frame))
    frame.loc[pick < 0.1, "role"] = "  vp "
    frame.loc[(pick > 0.1) & (pick < 0.2), "role"] = "ENGINEER"
    frame.loc[frame["a1"] == "10", "a1"] = "10 - Completely"
    frame.loc[frame["b1"] == "0", "b1"] = "Not at all (0)"
    frame["team"] = np.asarray(["O'Brien's", "back\\slash", "  ", " North ", "North"])[
        rng.integers(0, 5, len(frame))]
    path = write_csv(frame, tmp_path / "nps.csv")
    table = check_same(path, survey, sql=True)
    assert set(table.atoms["team"]) == {"O'Brien's", "back\\slash", "(blank)", "North"}
    frame.to_parquet(tmp_path / "nps.parquet", index=False)
    check_same(tmp_path / "nps.parquet", survey, sql=True)


def test_typed_parquet_columns_read_as_the_default_reader_does(tmp_path) -> None:
    """Codes stored as integers and as floats (4.0, NaN = not answered)."""
    survey = CORPUS_SURVEY
    n = 400
    rng = np.random.default_rng(5)
    codes = rng.integers(1, 6, (n, 4)).astype(float)
    codes[rng.random((n, 4)) < 0.1] = np.nan
    table = pa.table({
        "id": pa.array(np.arange(n)),
        "role": pa.array(rng.choice(["VP", "Engineer", "Analyst"], n)),
        "department": pa.array(rng.choice(["A", "B"], n)).dictionary_encode(),
        "q1": pa.array(np.nan_to_num(codes[:, 0]).astype(np.int64), mask=np.isnan(codes[:, 0])),
        "q2": pa.array(codes[:, 1]),
        "q3": pa.array(codes[:, 2]),
        "q4": pa.array(codes[:, 3], type=pa.float32()),
    })
    pq.write_table(table, tmp_path / "typed.parquet")
    check_same(tmp_path / "typed.parquet", survey, sql=True)


@pytest.mark.parametrize("problem", ["answer", "role", "blank_row", "duplicate_id"])
@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_problems_fall_back_with_the_default_report(tmp_path, problem: str, form: str) -> None:
    survey = load_survey()
    frame = text_frame(generate_responses(survey, 300, seed=11), tmp_path / "gen.csv")
    if problem == "answer":
        frame.loc[17, survey.items[3].source_column] = "Sort of"
    elif problem == "role":
        frame.loc[40, survey.roles.column] = "Intern"
    elif problem == "blank_row":
        frame.loc[55, :] = ""
    else:  # ids are compared trimmed
        frame.loc[60, survey.respondent_id] = " " + frame.loc[59, survey.respondent_id]
    path = tmp_path / f"bad.{form}"
    if form == "csv":
        write_csv(frame, path)
    else:
        frame.to_parquet(path, index=False)
    for lenient in (False, True):
        table = check_same(path, survey, sql=False, lenient=lenient)
        assert table.responses is not None
        assert bool(table.responses.errors) != lenient or problem == "blank_row"


def test_ragged_and_cp1252_files_fall_back(tmp_path) -> None:
    text = (CORPUS / "valid_utf8.csv").read_text(encoding="utf-8")
    (tmp_path / "latin.csv").write_bytes(text.replace("Ingénierie", "Ingé").encode("cp1252"))
    check_same(tmp_path / "latin.csv", CORPUS_SURVEY, sql=False)
    lines = text.splitlines()
    lines.insert(2, "r9,VP,Finance,Agree")
    (tmp_path / "ragged.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    check_same(tmp_path / "ragged.csv", CORPUS_SURVEY, sql=False, lenient=True)


def test_readme_example_with_the_numpy_engine(tmp_path) -> None:
    """The README's warehouse example, counted here by the numpy engine: the saved table
    reads back equal, and finishes with `alignscan.analyze_counts`."""
    import alignscan

    survey = alignscan.load_survey()
    frame = generate_responses(survey, 2000, seed=2)
    counts = count_responses(alignscan.read_responses(frame, survey))
    counts.to_parquet(tmp_path / "counts")
    again = read_count_table(tmp_path / "counts")
    assert again.equals(counts)
    result = alignscan.analyze_counts(again, survey)
    assert result.document == alignscan.analyze_counts(counts, survey).document


NASTY = {  # CSV texts DuckDB and pyarrow might read apart
    "quote_mid": 'r1,VP,Fin"ance,Agree,5,4,3,he said "hi"\nr2,Engineer,IT,1,2,3,4,\n',
    "doubled": 'r1,VP,"Fin""ance",Agree,5,4,3,"a ""b"""\nr2,Engineer,IT,1,2,3,4,x\n',
    "space_after_quote": 'r1,VP,"Finance" ,Agree,5,4,3,c\nr2,Engineer,IT,1,2,3,4,\n',
    "cr_in_quotes": 'r1,VP,"Fin\rance",Agree,5,4,3,"line1\r\nline2"\nr2,Engineer,IT,1,2,3,4,\n',
    "spaces": 'r1, VP ,  Finance  , Agree ,5,4,3,  c  \nr2,Engineer,IT,1,2,3,4,\n',
    "quoted_empty": 'r1,VP,"",Agree,"",4,3,""\nr2,Engineer,IT,1,2,3,4,\n',
    "no_final_newline": "r1,VP,Fin,Agree,5,4,3,c\nr2,Engineer,IT,1,2,3,4,",
    "mixed_newlines": "r1,VP,Fin,Agree,5,4,3,c\r\nr2,Engineer,IT,1,2,3,4,\r\n",
    "tab_and_backslash": "r1,VP,Fin\t\\,Agree,5,4,3,c\\\nr2,Engineer,IT,1,2,3,4,\n",
    "nbsp_and_null": "r1,VP\u00a0,NULL,Agree,5,4,3,NULL\nr2,Engineer,IT,1,2,3,4,\n",
    "empty_line": "r1,VP,Fin,Agree,5,4,3,c\n\nr2,Engineer,IT,1,2,3,4,\n",
}


@pytest.mark.parametrize("name", sorted(NASTY))
def test_csv_corner_cases(tmp_path, name: str) -> None:
    """Whichever route takes them, the table and the metadata are the default's."""
    path = tmp_path / f"{name}.csv"
    path.write_text("id,role,department,q1,q2,q3,q4,comment\n" + NASTY[name], encoding="utf-8")
    check_same(path, CORPUS_SURVEY, sql=None if name == "mixed_newlines" else True)


def test_title_row_and_given_delimiter(tmp_path) -> None:
    """`header_row` (a title above the header) and an explicit delimiter reach DuckDB."""
    text = (CORPUS / "valid_utf8.csv").read_text(encoding="utf-8")
    path = tmp_path / "titled.csv"
    path.write_text("Pulse survey export;;;\n" + text.replace(",", ";"), encoding="utf-8")
    options = {"header_row": 2, "delimiter": ";"}
    counts_sql._count_duckdb(path, CORPUS_SURVEY, False, ";", None, None, 2)  # the SQL route
    table = counts_sql.count_file_duckdb(path, CORPUS_SURVEY, **options)
    expected, rs = reference(path, CORPUS_SURVEY, **options)
    assert table.equals(expected) and not rs.errors
    assert table.responses is not None and metadata(table.responses) == {**metadata(rs), "codes": 0}
