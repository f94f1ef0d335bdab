"""`--engine spark` on a local Spark (`local[2]`): `count_table(spark_df, survey)` and
`count_file_spark` equal the reference engine (`count_responses(read_responses(...))`),
errors included. Needs pyspark and Java (`make spark`); skipped otherwise."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alignscan.counting.counts import count_responses, read_count_table
from alignscan.responses import read_responses
from alignscan.survey import load_survey, load_survey_text
from alignscan.synthetic import generate_responses, write_csv

pytest.importorskip("pyspark", reason="pyspark is not installed (make spark)")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java, and `java` is not on PATH (make spark)", allow_module_level=True)

from alignscan.counting.engines import spark_sql as sp  # noqa: E402
from sql_helpers import ZERO_TEN, metadata, text_frame  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture(scope="module")
def spark():
    session = sp.local_session("2")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("spark")
    frame = generate_responses(load_survey(), 1500, seed=4, missing_rate=0.08)
    csv = write_csv(frame, folder / "r.csv")
    text = text_frame(frame, folder / "t.csv")
    text.to_parquet(folder / "r.parquet", index=False)
    return {"csv": csv, "parquet": folder / "r.parquet"}


def same_meta(got, rs, *, ids: bool) -> None:
    want = metadata(rs)
    mine = metadata(got)
    for key in ("source", "errors"):
        want.pop(key), mine.pop(key)
    if not ids:
        want.pop("ids")
        assert mine.pop("ids") is None
    assert mine == {**want, "codes": 0}


def test_count_table_of_a_dataframe(spark, data) -> None:
    survey = load_survey()
    frame = pd.read_parquet(data["parquet"])
    table = sp.count_table(spark.createDataFrame(frame), survey)  # two partitions
    rs = read_responses(data["parquet"], survey)
    assert table.equals(count_responses(rs))
    same_meta(table.responses, rs, ids=False)


@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_count_file_spark(spark, data, form) -> None:
    survey = load_survey()
    table = sp.count_file_spark(data[form], survey, spark=spark)
    rs = read_responses(data[form], survey)
    assert table.equals(count_responses(rs))
    assert table.responses is not None and table.responses.source == rs.source
    same_meta(table.responses, rs, ids=True)


@pytest.mark.parametrize("lenient", [False, True])
def test_bad_cells_have_the_default_engines_errors_by_row_index(spark, tmp_path, lenient) -> None:
    """An answer off the scale (with a quote and a backslash), an unknown role, a blank
    row and a repeated id (equal once trimmed), on a 0-10 scale: the errors (strict) or
    exclusions and changes (lenient) of the default engine on the same Parquet file."""
    survey = load_survey_text(ZERO_TEN).survey
    assert survey is not None
    frame = text_frame(generate_responses(survey, 600, seed=8), tmp_path / "g.csv")
    frame.loc[frame["role"] == "VP", "role"] = "  vp "
    frame.loc[17, "a2"] = "it's a \\ bad one"
    frame.loc[40, "role"] = "Intern"
    frame.loc[55, :] = ""
    frame.loc[431, "rid"] = " " + frame.loc[59, "rid"]
    frame.to_parquet(tmp_path / "bad.parquet", index=False)
    rs = read_responses(tmp_path / "bad.parquet", survey, lenient=lenient)
    table = sp.count_table(spark.createDataFrame(frame), survey, lenient=lenient)
    assert table.equals(count_responses(rs))
    assert table.responses is not None
    strip = {"file"}
    got = [{k: v for k, v in e.as_dict().items() if k not in strip} for e in table.responses.errors]
    want = [{k: v for k, v in e.as_dict().items() if k not in strip} for e in rs.errors]
    assert got == want and (bool(want) != lenient)
    assert {e["row"] for e in want} == (set() if lenient else {18, 41, 432})
    assert rs.rows.read == 599  # the blank row is no response
    same_meta(table.responses, rs, ids=False)


def test_typed_columns_read_as_the_parquet_reader_does(spark, tmp_path) -> None:
    survey = load_survey_text(ZERO_TEN).survey
    assert survey is not None
    frame = generate_responses(survey, 500, seed=9, answers="codes")
    typed = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(typed, tmp_path / "typed.parquet")
    items = [i.source_column for i in survey.items]
    assert all(pa.types.is_integer(typed.schema.field(c).type) for c in items)
    rs = read_responses(tmp_path / "typed.parquet", survey)
    table = sp.count_table(spark.read.parquet(str(tmp_path / "typed.parquet")), survey)
    assert table.equals(count_responses(rs))


def test_an_error_file_is_counted_by_the_default_engine(spark, tmp_path) -> None:
    survey = load_survey()
    frame = text_frame(generate_responses(survey, 200, seed=1), tmp_path / "g.csv")
    frame.loc[9, survey.items[0].source_column] = "11"
    write_csv(frame, tmp_path / "bad.csv")
    table = sp.count_file_spark(tmp_path / "bad.csv", survey, spark=spark)
    rs = read_responses(tmp_path / "bad.csv", survey)
    assert table.responses is not None
    assert [e.as_dict() for e in table.responses.errors] == [e.as_dict() for e in rs.errors]
    assert [e.row for e in rs.errors] == [11]  # the spreadsheet row (header = row 1)


def test_readme_example(spark, tmp_path, data) -> None:
    """The README's warehouse example: count on the cluster, save, finish locally."""
    import alignscan

    survey = alignscan.load_survey()
    df = spark.read.parquet(str(data["parquet"]))
    counts = alignscan.count_table(df, survey)
    counts.to_parquet(tmp_path / "counts")
    again = read_count_table(tmp_path / "counts")
    assert again.equals(count_responses(read_responses(data["parquet"], survey)))
    saved = alignscan.analyze_counts(again, survey).document
    direct = alignscan.analyze_counts(counts, survey).document
    assert saved.pop("source")["format"] == "counts"  # a saved table keeps no metadata
    assert direct.pop("source")["format"] == "spark"
    assert saved == direct


def test_row_index_follows_partitions(spark, tmp_path) -> None:
    """The index the errors name counts rows across partitions, in order."""
    survey = load_survey_text(ZERO_TEN).survey
    assert survey is not None
    frame = text_frame(generate_responses(survey, 90, seed=2), tmp_path / "g.csv")
    rows = np.asarray([3, 47, 88])
    frame.loc[rows, "role"] = "Nobody"
    df = spark.createDataFrame(frame)
    assert df.rdd.getNumPartitions() >= 2
    table = sp.count_table(df, survey)
    assert table.responses is not None
    assert [e.row for e in table.responses.errors] == (rows + 1).tolist()
