"""The count schema is declared once (`counts.measures`): every engine counts exactly the
declared measures, at the declared levels, with keys in range, and gives byte-identical
count tables (the four Parquet files) on the same inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignscan.counting.counts import CountTable, count_responses, measures
from alignscan.counting.engines import count_file
from alignscan.responses import read_responses
from alignscan.survey import load_survey
from alignscan.synthetic import generate_responses, write_csv

SURVEY = load_survey()


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("schema")
    return write_csv(generate_responses(SURVEY, 400, seed=11, wave=1), folder / "r.csv")


def _engines() -> list[str]:
    engines = ["reference", "default", "default in blocks of 37 rows"]
    try:
        import duckdb  # noqa: F401

        engines.append("duckdb")
    except ImportError:
        pass
    return engines


def _table(engine: str, path: Path) -> CountTable:
    if engine == "reference":  # every row in memory, counted at once
        rs = read_responses(path, SURVEY)
        return count_responses(rs).with_responses(rs)
    if engine.startswith("default in blocks"):
        return count_file(path, SURVEY, block_rows=37)
    return count_file(path, SURVEY, engine=engine)


def _parquet(table: CountTable, folder: Path) -> dict[str, bytes]:
    table.to_parquet(folder)
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.parquet"))}


@pytest.mark.parametrize("engine", _engines())
def test_every_engine_counts_the_declared_schema(engine: str, export: Path) -> None:
    table = _table(engine, export).normalized()
    counts = table.counts
    spec = {m.name: m for m in measures(SURVEY)}
    assert set(counts["measure"]) == set(spec)  # every declared measure, and no other
    for name, rows in counts.groupby("measure"):
        m = spec[name]
        assert rows["key"].between(0, m.width - 1).all(), name
        at_segments = set(rows["column"]) - {""}
        assert "" in set(rows["column"]), name  # every measure at group level
        if m.per_segment:
            assert at_segments == set(SURVEY.segments), name
        else:
            assert not at_segments, name


@pytest.mark.parametrize("engine", [e for e in _engines() if e != "reference"])
def test_every_engine_gives_byte_identical_count_tables(
    engine: str, export: Path, tmp_path: Path
) -> None:
    expected = _parquet(_table("reference", export), tmp_path / "reference")
    got = _parquet(_table(engine, export), tmp_path / "engine")
    assert list(got) == ["atoms.parquet", "comments.parquet", "counts.parquet", "sums.parquet"]
    assert got == expected


def test_the_sql_engines_build_the_declared_measures_in_order() -> None:
    pytest.importorskip("duckdb")
    from alignscan.counting.engines.duckdb_sql import Query, _dimension_columns

    q = Query(SURVEY)
    _dimension_columns(q, SURVEY)
    assert [(name, seg) for name, _, seg in q.measures] == [
        (m.name, m.per_segment) for m in measures(SURVEY)
    ]
