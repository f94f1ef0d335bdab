"""`--engine duckdb`: DuckDB reads the file; every result and every error report is the
default engine's, byte for byte (the oracle is the default engine on the same file)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest

from alignscan.demo import write_demo_data
from alignscan.responses import read_responses
from alignscan.survey import read_survey_file
from conftest import run_cli

pytest.importorskip("duckdb", reason="duckdb is not installed (pip install 'alignscan[duckdb]')")

CORPUS = Path(__file__).parent / "data" / "responses"
FILES = sorted(p.name for p in CORPUS.glob("*.csv"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    write_demo_data(folder, n=800)
    frame = pd.read_csv(folder / "responses.csv", dtype=str, keep_default_na=False)
    frame.to_parquet(folder / "responses.parquet", index=False)
    return folder


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args)


@pytest.mark.parametrize("name", ["responses.csv", "responses.parquet"])
@pytest.mark.parametrize("lenient", [[], ["--lenient"]])
def test_analyze_json_is_identical_to_the_default_engine(demo, name, lenient) -> None:
    args = ["analyze", str(demo / name), "--no-save", "-f", "json", *lenient]
    default, duck = run(*args), run(*args, "--engine", "duckdb")
    assert default.returncode == 0, default.stderr
    assert duck.returncode == 0, duck.stderr
    assert duck.stdout == default.stdout


@pytest.mark.parametrize("lenient", [False, True])
def test_every_corpus_file_gives_the_same_errors_at_the_same_rows(lenient) -> None:
    """Every corpus file, broken ones included: the same errors, counts and arrays."""
    from alignscan.responses import ResponsesError

    survey = read_survey_file(CORPUS / "survey.yaml").survey

    def read(name: str, **engine: str) -> object:
        try:
            rs = read_responses(CORPUS / name, survey, lenient=lenient, **engine)
        except ResponsesError as exc:
            return exc.error
        return ([e.as_dict() for e in rs.errors], rs.rows, rs.error_counts, rs.warnings,
                rs.cells_set_missing, rs.codes.tolist(), list(rs.group), rs.source)

    for name in FILES:
        assert read(name, engine="duckdb") == read(name), name


def test_strict_mode_refuses_to_analyse_bad_cells() -> None:
    done = run("analyze", str(CORPUS / "error_out_of_range.csv"), "--no-save",
               "--survey", str(CORPUS / "survey.yaml"), "--engine", "duckdb")
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_library_engine_gives_the_same_arrays(demo) -> None:
    survey = read_survey_file(CORPUS / "survey.yaml").survey
    a = read_responses(CORPUS / "valid_utf8.csv", survey)
    b = read_responses(CORPUS / "valid_utf8.csv", survey, engine="duckdb")
    assert b.codes.tolist() == a.codes.tolist()
    assert list(b.group) == list(a.group) and b.rows == a.rows
    with pytest.raises(ValueError, match="unknown engine 'spark'"):
        read_responses(CORPUS / "valid_utf8.csv", survey, engine="spark")
