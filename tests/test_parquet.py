"""Parquet input: the same validation and the same results as a CSV with the same
content. The oracle is the CSV path itself, read from an independently written copy."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alignscan.demo import write_demo_data
from alignscan.responses import ResponsesError, read_responses
from alignscan.survey import load_survey, read_survey_file
from conftest import run_cli

CORPUS = Path(__file__).parent / "data" / "responses"
# corpus files a plain CSV parser reads as one header row + records of equal width
CONVERTIBLE = [
    "valid_utf8.csv",
    "error_duplicate_id.csv",
    "error_out_of_range.csv",
    "error_unknown_label.csv",
    "error_unknown_role.csv",
    "error_missing_column.csv",
]


@pytest.fixture(scope="module")
def survey():
    return read_survey_file(CORPUS / "survey.yaml").survey


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    write_demo_data(folder, n=500)
    return folder


def as_text_parquet(source: Path, target: Path) -> Path:
    """`source` (a UTF-8 CSV) as a Parquet file of string columns, via the csv module."""
    with source.open(encoding="utf-8", newline="") as fh:
        header, *records = list(csv.reader(fh))
    columns = {name: [r[j] for r in records] for j, name in enumerate(header)}
    pq.write_table(pa.table(columns), target)
    return target


def analyze_json(path: Path, *extra: str) -> dict:
    done = run_cli("analyze", path, "--no-save", "-f", "json", *extra)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    doc.pop("source")
    return doc


@pytest.mark.parametrize("name", CONVERTIBLE)
def test_parquet_errors_are_the_csv_errors_at_the_record_position(survey, name, tmp_path) -> None:
    from_csv = read_responses(CORPUS / name, survey)
    from_parquet = read_responses(as_text_parquet(CORPUS / name, tmp_path / "x.parquet"), survey)
    assert from_parquet.source.format == "parquet"
    assert from_parquet.rows == from_csv.rows
    assert from_parquet.codes.tolist() == from_csv.codes.tolist()
    assert len(from_parquet.errors) == len(from_csv.errors)
    for p, c in zip(from_parquet.errors, from_csv.errors, strict=True):
        # a reason naming another row (a repeated id's first row) names its position too
        reason = re.sub(r"on row (\d+)", lambda m: f"on row {int(m[1]) - 1}", c.reason)
        assert (p.column, p.value, p.reason, p.kind) == (c.column, c.value, reason, c.kind)
        # CSV: the header is row 1, so record k (from 1) is row k + 1; Parquet: row k;
        # header problems have no row in a file without a header row
        assert p.row == (None if c.row in (None, 1) else c.row - 1)


def test_parquet_with_typed_columns_gives_the_csv_result(demo, tmp_path) -> None:
    """pandas writes answer codes as float64 with NaN for blanks: read as 4 and blank."""
    s = load_survey(None)
    frame = pd.read_csv(demo / "responses.csv", dtype=str, keep_default_na=False)
    label_code = {label: str(k) for k, label in enumerate(s.scale.labels, start=s.scale.start)}
    for item in s.items:
        frame[item.source_column] = frame[item.source_column].map(label_code)  # blank -> NaN
    frame.to_csv(tmp_path / "codes.csv", index=False)
    typed = frame.astype({i.source_column: "float64" for i in s.items})
    typed.to_parquet(tmp_path / "codes.parquet", index=False)
    assert pq.read_schema(tmp_path / "codes.parquet").field(s.items[0].source_column).type == pa.float64()
    from_csv = analyze_json(tmp_path / "codes.csv")
    assert analyze_json(tmp_path / "codes.parquet") == from_csv
    assert analyze_json(demo / "responses.csv") == from_csv  # labels and codes agree


def test_check_and_trend_take_parquet(demo, tmp_path) -> None:
    for name in ("responses-q1", "responses"):
        frame = pd.read_csv(demo / f"{name}.csv", dtype=str, keep_default_na=False)
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    check = run_cli("check", tmp_path / "responses.parquet", "-f", "json")
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout)["valid"] is True
    waves = [str(tmp_path / "responses-q1.parquet"), str(tmp_path / "responses.parquet")]
    csvs = [str(demo / "responses-q1.csv"), str(demo / "responses.csv")]
    trend = [run_cli("trend", *w, "--labels", "Q1,Q2", "-f", "json") for w in (waves, csvs)]
    assert trend[0].returncode == 0, trend[0].stderr
    assert json.loads(trend[0].stdout)["items"] == json.loads(trend[1].stdout)["items"]


def test_strict_check_refuses_a_parquet_with_bad_cells(survey, tmp_path) -> None:
    path = as_text_parquet(CORPUS / "error_out_of_range.csv", tmp_path / "bad.parquet")
    done = run_cli("analyze", path, "--no-save", "--survey", CORPUS / "survey.yaml")
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_unreadable_parquet_and_nested_columns_are_clear_errors(survey, tmp_path) -> None:
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(ResponsesError, match="not a readable Parquet file"):
        read_responses(broken, survey)
    nested = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"role": ["VP"], "q1": [[1, 2]]}), nested)
    with pytest.raises(ResponsesError, match="column 'q1' holds list<.*> values, which can't be read as answers"):
        read_responses(nested, survey)
