"""The library API: what a notebook user gets, checked against the CLI and by hand."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alignscan
from alignscan.demo import write_demo_data
from conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    write_demo_data(folder / "reports" / "demo", n=600)
    return folder


def test_to_json_is_the_cli_json_byte_for_byte(demo, tmp_path) -> None:
    responses = demo / "reports" / "demo" / "responses.csv"
    result = alignscan.analyze(responses)
    out = tmp_path / "cli.json"
    assert run_cli("analyze", responses, "--no-save", "--json", out).returncode == 0
    assert result.to_json() == out.read_text(encoding="utf-8")


def test_dataframe_and_file_object_give_the_same_answers(demo) -> None:
    responses = demo / "reports" / "demo" / "responses.csv"
    from_file = alignscan.analyze(responses).document
    from_frame = alignscan.analyze(pd.read_csv(responses)).document
    with responses.open("rb") as fh:
        from_object = alignscan.analyze(io.BytesIO(fh.read())).document
    for other in (from_frame, from_object):
        assert other["items"] == from_file["items"]
        assert other["dimensions"] == from_file["dimensions"]
        assert other["segments"] == from_file["segments"]


def test_to_frame_is_numeric_and_equals_the_document(demo) -> None:
    result = alignscan.analyze(demo / "reports" / "demo" / "responses.csv")
    doc = result.document
    for level in ("items", "dimensions", "segments"):
        frame = result.to_frame(level)
        assert len(frame) == len(doc[level])
        assert frame["gap_mean"].dtype == np.float64
        assert str(frame["n_executive"].dtype) == "Int64"
        for row, unit in zip(frame.itertuples(), doc[level], strict=True):
            cell = unit["groups"]["executive"]
            if "n" in cell:
                assert row.n_executive == cell["n"]
                assert row.mean_executive == pytest.approx(cell["mean"], rel=1e-15)
            else:
                assert pd.isna(row.n_executive) and np.isnan(row.mean_executive)
            gap = unit["gap"]
            if gap is None:
                assert np.isnan(row.gap_mean) and not row.significant
            else:
                assert row.gap_mean_low == gap["mean_ci"][0]
                assert row.significant == (gap["q_value"] is not None and gap["q_value"] < 0.05)
    with pytest.raises(alignscan.AlignscanError, match="level must be one of"):
        result.to_frame("people")


def test_errors_are_library_errors_without_cli_flags(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("respondent_id,role,roi1\n1,VP,Sometimes\n", encoding="utf-8")
    with pytest.raises(alignscan.AlignscanError) as info:
        alignscan.analyze(bad)
    assert "--" not in str(info.value)
    with pytest.raises(alignscan.AlignscanError, match="can't read responses"):
        alignscan.analyze(12345)


def test_load_result_refuses_incomplete_documents(demo, tmp_path) -> None:
    result = alignscan.analyze(demo / "reports" / "demo" / "responses.csv")
    doc = result.document
    for key in ("source", "scale", "items", "rows"):
        broken = {k: v for k, v in doc.items() if k != key}
        path = tmp_path / f"no-{key}.json"
        path.write_text(json.dumps(broken), encoding="utf-8")
        with pytest.raises(alignscan.AlignscanError, match=key):
            alignscan.load_result(path)
    small = json.loads(result.to_json())
    small["items"][0]["groups"]["executive"]["n"] = 2
    path = tmp_path / "small.json"
    path.write_text(json.dumps(small), encoding="utf-8")
    with pytest.raises(alignscan.AlignscanError, match="below its minimum group size"):
        alignscan.load_result(path)


def test_save_and_repr(demo, tmp_path) -> None:
    result = alignscan.analyze(demo / "reports" / "demo" / "responses.csv")
    written = result.save(tmp_path / "out", date="2026-01-01")
    assert sorted(p.name for p in written) == ["report.html", "result.csv", "result.json"]
    assert alignscan.load_result(tmp_path / "out" / "result.json").to_json() == result.to_json()
    summary = result._repr_html_()
    for dim in result.document["dimensions"]:
        assert dim["title"] in summary


def test_public_names() -> None:
    for name in ("analyze", "load_result", "load_survey", "read_responses", "trend", "Result"):
        assert name in alignscan.__all__ and hasattr(alignscan, name)


def test_api_walkthrough_runs(demo, monkeypatch) -> None:
    """Every Python block of docs/api.md, in order, in a folder with the demo data."""
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(demo)
    namespace: dict[str, object] = {}
    for block in blocks:
        if "matplotlib" in block:
            try:
                import matplotlib  # noqa: F401
            except ImportError:
                continue
        exec(compile(block, "docs/api.md", "exec"), namespace)
    assert (demo / "reports" / "notebook" / "report.html").exists()


def test_check_json_is_a_typed_check_report() -> None:
    """Every `check --format json` of the test corpus is a CheckReport, keys in order."""
    from alignscan.result.models import CheckReport, UnreadableReport

    corpus = ROOT / "tests" / "data" / "responses"
    files = sorted(p for p in corpus.iterdir() if p.suffix in (".csv", ".xlsx"))
    assert len(files) > 10
    for path in files:
        done = run_cli("check", path, "-s", corpus / "survey.yaml", "-f", "json")
        data = json.loads(done.stdout)
        model = (CheckReport if "format" in data else UnreadableReport).model_validate(data)
        assert model.document() == data and list(model.document()) == list(data), path.name


def test_the_package_loads_its_parts_on_first_use() -> None:
    """`import alignscan` is light (the command line starts reading before pandas loads),
    yet every name and submodule it offered is there when asked for."""

    code = (
        "import sys, alignscan; "
        "assert 'pandas' not in sys.modules and 'alignscan.result.models' not in sys.modules; "
        "from alignscan import *; "
        "assert alignscan.api.analyze is alignscan.analyze; "
        "assert alignscan.models.ResultDocument is alignscan.ResultDocument; "
        "assert alignscan.survey.Survey is alignscan.Survey; "
        "assert alignscan.errors.AlignscanError is alignscan.api.AlignscanError; "
        "assert alignscan.__version__ and 'analyze' in dir(alignscan); "
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        import alignscan

        alignscan.nonesuch  # noqa: B018
