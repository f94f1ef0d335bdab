"""One pipeline (`alignscan.pipeline`) behind `alignscan analyze`, `alignscan.analyze` and
the demo: the same bytes from each, options validated by name, the survey-version
warning carried in the result, the trend kept in the demo's result.json, and tidy
frames for every section (checked against the JSON document read independently)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

import alignscan
from alignscan.cli import app
from alignscan.demo import analyse_demo, write_demo_data
from alignscan.errors import AlignscanError, OptionError
from alignscan.pipeline import OPTION_NAMES, request_from_options
from conftest import make_responses, make_survey, random_codes

DATE = "2026-04-15"


@pytest.fixture(scope="module")
def waves(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo's two waves, smaller (400 respondents each), as CSV files."""
    return write_demo_data(tmp_path_factory.mktemp("demo"), n=400)


def _headcount(path: Path, responses: Path) -> Path:
    """A headcount CSV with twice each group's respondents (counted here from the CSV)."""
    import csv

    with responses.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    role = next(k for k in rows[0] if k.strip().lower() == "role")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[role]] = counts.get(row[role], 0) + 1
    survey = alignscan.load_survey()
    groups = {v.lower(): g for g, values in survey.roles.groups.items() for v in values}
    totals: dict[str, int] = {}
    for value, n in counts.items():
        group = groups.get(value.strip().lower())
        if group is not None:
            totals[group] = totals.get(group, 0) + 2 * n
    lines = ["group,headcount", *(f"{g},{n}" for g, n in totals.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_command_line_and_the_library_give_the_same_bytes(waves, tmp_path) -> None:
    """`analyze --baseline --headcount --no-comments --date` and `alignscan.analyze` with
    the same options: one pipeline, so one result.json, CSV and report."""
    q1, q2 = waves
    hc = _headcount(tmp_path / "hc.csv", q2)
    out = tmp_path / "out"
    done = CliRunner().invoke(
        app,
        [
            "analyze", str(q2), "--baseline", str(q1), "--headcount", str(hc),
            "--no-comments", "--date", DATE, "--out", str(out), "--format", "json",
        ],
    )
    assert done.exit_code == 0, done.output
    result = alignscan.analyze(
        q2, baseline=q1, headcount=hc, comments=False, report_date=DATE
    )
    assert result.to_json() == (out / "result.json").read_text(encoding="utf-8")
    assert result.to_csv().encode("utf-8") == (out / "result.csv").read_bytes()
    assert result.to_html() == (out / "report.html").read_text(encoding="utf-8")
    document = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert document["report_date"] == DATE and document["trend"]["labels"] == [
        "baseline", "this wave"
    ]
    assert document["participation"]["groups"]
    assert all(not cell.get("texts") for c in document["comments"] for cell in c["groups"].values())


def test_the_demo_keeps_the_trend_and_date_so_report_redraws_it(waves, tmp_path) -> None:
    """The README tour: `alignscan report reports/demo/result.json` draws the demo's report
    again, trend included (the demo's result.json had no trend before)."""
    q1, q2 = waves
    result, trend = analyse_demo(q1, q2, tmp_path)
    saved = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert saved["trend"] == trend.document() and saved["report_date"] == "2026-04-15"
    redrawn = tmp_path / "again.html"
    done = CliRunner().invoke(
        app, ["report", str(tmp_path / "result.json"), "--html", str(redrawn)],
        env={"SOURCE_DATE_EPOCH": ""},
    )
    assert done.exit_code == 0, done.output
    assert redrawn.read_bytes() == (tmp_path / "report.html").read_bytes()
    assert trend.labels[0] in redrawn.read_text(encoding="utf-8")  # the trend section


def test_an_unknown_option_names_the_valid_ones(waves) -> None:
    with pytest.raises(OptionError) as caught:
        alignscan.analyze(waves[1], lenint=True)
    exc = caught.value
    assert isinstance(exc, AlignscanError) and exc.exit_code == 2
    assert "unknown option 'lenint'" in str(exc)
    for name in ("lenient", "engine", "headcount", "baseline", "norms", "comments"):
        assert name in str(exc)
    assert exc.hint == "did you mean 'lenient'?"


def test_reading_options_reach_the_reader(waves) -> None:
    """block_rows (the default engine's block size) changes how the file is read, not
    the result; a bad delimiter given explicitly is used (and the file can't be read)."""
    whole = alignscan.analyze(waves[1])
    assert alignscan.analyze(waves[1], block_rows=37).to_json() == whole.to_json()
    with pytest.raises(AlignscanError):
        alignscan.analyze(waves[1], delimiter=";")


def test_a_bad_option_value_is_an_option_error_not_a_type_error() -> None:
    with pytest.raises(OptionError, match="engine"):
        request_from_options("x.csv", engine="sparks")
    with pytest.raises(OptionError, match="delimiter"):
        request_from_options("x.csv", delimiter=";;")
    with pytest.raises(OptionError, match="header_rows"):
        request_from_options("x.csv", header_rows=0)
    request = request_from_options("x.csv", lenient=True, engine="duckdb", headcount="hc.csv")
    assert request.reader.lenient and request.engine == "duckdb"
    assert request.headcount == Path("hc.csv")
    with pytest.raises(ValidationError):  # frozen: a change is a new request (model_copy)
        request.engine = "default"  # type: ignore[misc]
    assert set(OPTION_NAMES) >= {"lenient", "encoding", "engine", "report_date", "labels"}


def _wave_with(survey, seed: int):
    rng = np.random.default_rng(seed)
    groups = rng.choice(["executive", "practitioner"], size=200)
    codes = random_codes(rng, 200, len(survey.items), missing=0.0)
    return make_responses(survey, codes, groups)


def test_the_survey_version_warning_is_part_of_the_result(tmp_path) -> None:
    """A reverse flag flipped between waves: the warning is in the trend document (so in
    trend.json and result.json), in the report and in the result's warnings."""
    v1 = make_survey([[False, False], [False, True]], groups=("executive", "practitioner"))
    dims = list(v1.dimensions)
    items = list(dims[1].items)
    items[1] = items[1].model_copy(update={"reverse": False})
    dims[1] = dims[1].model_copy(update={"items": items})
    v2 = v1.model_copy(update={"dimensions": dims, "version": "2"})
    before = alignscan.analyze(_wave_with(v1, 1))
    before.save(tmp_path / "q1")
    now = alignscan.analyze(_wave_with(v2, 2), baseline=tmp_path / "q1" / "result.json")
    flipped = v1.items[3].id
    found = [w for w in now.warnings if "can't be compared like-for-like" in w]
    assert len(found) == 1 and f"item {flipped} changed" in found[0]
    assert now.trend is not None and found[0] in now.trend.warnings
    assert found[0] in json.loads(now.to_json())["trend"]["warnings"]
    assert now.to_html().count("compared like-for-like") == 1  # once in the report
    from rich.console import Console

    from alignscan.render.terminal import print_trend

    console = Console(record=True, width=100, color_system=None)
    print_trend(now.trend.document, console)
    assert "like-for-like" in " ".join(console.export_text().split())  # and the terminal
    same = alignscan.analyze(_wave_with(v1, 3), baseline=before)
    assert not [w for w in same.warnings if "like-for-like" in w]
    trend = alignscan.trend([tmp_path / "q1" / "result.json", now])
    assert any("like-for-like" in w for w in trend.warnings)
    assert "like-for-like" in trend.to_json()


def test_frames_for_every_section(waves, tmp_path) -> None:
    """Result.to_frame covers drivers, participation and trend; each row checked against
    the JSON document read independently."""
    q1, q2 = waves
    hc = _headcount(tmp_path / "hc.csv", q2)
    result = alignscan.analyze(q2, baseline=q1, headcount=hc)
    doc = json.loads(result.to_json())

    trend = result.to_frame("trend")
    assert len(trend) == sum(len(d["changes"]) for d in doc["trend"]["dimensions"])
    for row in trend.itertuples():
        unit = next(d for d in doc["trend"]["dimensions"] if d["id"] == row.id)
        gap = unit["changes"][0]["gap"]
        assert row.change == pytest.approx(gap["change"])
        assert (row.change_low, row.change_high) == pytest.approx(tuple(gap["ci"]))
    assert result.trend is not None
    items = result.trend.to_frame("items")
    assert set(items["id"]) == {i["id"] for i in doc["trend"]["items"]}

    part = result.to_frame("participation")
    overall = part[part["column"] == ""]
    for row in overall.itertuples():
        cell = doc["participation"]["groups"][row.group]
        assert row.headcount == cell["headcount"] and row.responded == cell["responded"]
        assert row.rate == pytest.approx(cell["responded"] / cell["headcount"], abs=1e-4)

    drivers = result.to_frame("drivers")
    expected = [
        (g, d["id"], d["r"])
        for g, cell in doc["drivers"]["groups"].items()
        for d in cell["dimensions"]
    ]
    assert [(r.group, r.id) for r in drivers.itertuples()] == [(g, i) for g, i, _ in expected]
    assert list(drivers["r"]) == pytest.approx([r for _, _, r in expected])
    with pytest.raises(AlignscanError, match="level must be one of"):
        result.to_frame("everything")


def test_a_result_without_extras_gives_empty_frames(waves) -> None:
    result = alignscan.analyze(waves[1])
    assert result.to_frame("trend").empty and result.to_frame("participation").empty
    assert result.trend is None


def test_the_pipeline_returns_the_typed_result_with_its_extras(waves, tmp_path) -> None:
    """`pipeline.run` gives the typed documents, the extras attached to the model: the
    trend (the same TrendDocument as the outcome's), participation, the report date and
    the removed comment texts (with their warning); result.json keeps them after the
    analysis's own keys, in the contract's order."""
    from alignscan.api import LibraryEdge
    from alignscan.pipeline import AnalysisRequest, run
    from alignscan.result.models import CommentTexts, ResultDocument, TrendDocument, json_text

    q1, q2 = waves
    hc = _headcount(tmp_path / "hc.csv", q2)
    request = AnalysisRequest(
        source=q2, baseline=q1, headcount=hc, comments=False, report_date=DATE
    )
    outcome = run(request, LibraryEdge())
    result = outcome.result
    assert isinstance(result, ResultDocument) and isinstance(outcome.trend, TrendDocument)
    assert result.trend == outcome.trend and result.report_date == DATE
    assert result.participation is not None and result.participation.document()["groups"]
    texts = [c for comment in result.comments for c in comment.groups.values()]
    assert any(isinstance(c, CommentTexts) for c in texts)
    assert all(c.texts == [] for c in texts if isinstance(c, CommentTexts))
    assert any("comment texts were left out" in w for w in result.warnings)
    keys = list(json.loads(json_text(result)))
    assert keys.index("warnings") < keys.index("participation") < keys.index("trend")
    assert keys[-1] == "report_date"
