"""`--xlsx`: the workbook reopened with openpyxl. Every number cell is the result.json
figure at its place (found by an independent mapping of sheet and header to JSON keys),
no hidden cell carries a number, no text becomes a formula, and the sheets are formatted."""

from __future__ import annotations

import io
import json
import math
import re
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from alignscan.render.office.xlsx import render_xlsx
from alignscan.result.findings import group_labels
from alignscan.result.models import as_result
from conftest import run_cli
from office_results import full_result, small_result

# XlsxWriter writes 16 significant digits (Excel keeps 15): equal to that precision.
REL = 1e-15
METRICS = {"n", "mean", "sd", "favorable"}
GAP_KEYS = {
    "gap": ("mean", None),
    "gap CI low": ("mean_ci", 0),
    "gap CI high": ("mean_ci", 1),
    "gap adj. CI low": ("mean_ci_adjusted", 0),
    "gap adj. CI high": ("mean_ci_adjusted", 1),
    "favorable gap": ("favorable", None),
    "favorable gap CI low": ("favorable_ci", 0),
    "favorable gap CI high": ("favorable_ci", 1),
    "p": ("p_value", None),
    "q": ("q_value", None),
    "Cliff's delta": ("cliffs_delta", None),
    "magnitude": ("magnitude", None),
}


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> tuple[dict, Path]:
    return full_result(tmp_path_factory.mktemp("full"))


def book(result: dict) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(render_xlsx(result)))


def records(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def unit_figure(labels: dict[str, str], unit: dict, header: str):
    """What result.json says for `header` of a dimension, item or segment row (`labels`:
    the result's group labels, made once per sheet: validating the result is costly)."""
    for g, label in labels.items():
        if header.startswith(label + " ") and header[len(label) + 1 :] in METRICS:
            cell = unit["groups"].get(g)
            if cell is None:
                return None
            return "hidden" if cell.get("suppressed") else cell.get(header[len(label) + 1 :])
    if header in GAP_KEYS:
        if unit.get("gap") is None:
            return "hidden"
        key, i = GAP_KEYS[header]
        value = unit["gap"].get(key)
        return value if i is None or value is None else value[i]
    return {"alpha": unit.get("alpha"), "answered": unit.get("answered_share")}.get(header, ...)


def same(found, expected) -> bool:
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        return isinstance(found, int | float) and math.isclose(found, expected, rel_tol=REL)
    return found == expected


def check_units(result: dict, rows: list[dict], units: list[dict], skip: set[str]) -> int:
    """Every cell of every row equals the unit's figure; returns the numbers checked."""
    assert len(rows) == len(units)
    checked = 0
    labels = group_labels(as_result(result))
    for row, unit in zip(rows, units, strict=True):
        for header, value in row.items():
            expected = unit_figure(labels, unit, header)
            if expected is ... or header in skip:
                continue
            assert same(value, expected), (header, value, expected)
            checked += isinstance(value, int | float)
    return checked


def test_every_number_cell_is_the_json_figure(full) -> None:
    result, _ = full
    wb = book(result)
    n = check_units(result, records(wb["dimensions"]), result["dimensions"], set())
    n += check_units(result, records(wb["items"]), result["items"], set())
    n += check_units(result, records(wb["segments"]), result["segments"], set())
    assert n > 1000
    for row, d in zip(records(wb["dimensions"]), result["dimensions"], strict=True):
        assert row["dimension id"] == d["id"] and row["dimension"] == d["title"]
        assert row["significant"] == ("yes" if d["gap"]["q_value"] < 0.05 else "no")


def test_drivers_participation_and_trend_sheets_equal_the_json(full) -> None:
    result, _ = full
    wb = book(result)
    labels = group_labels(as_result(result))
    block = result["drivers"]
    rows = records(wb["drivers"])
    assert len(rows) == len(block["groups"]) * len(block["predictors"])
    hidden_groups = 0
    for row in rows:
        g = next(g for g, label in labels.items() if label == row["group"])
        cell = block["groups"][g]
        if cell.get("suppressed"):
            hidden_groups += 1
            assert all(row[k] == "hidden" for k in ("n", "R²", "r", "importance"))
            continue
        title = row["driver"]
        pid = next(d["id"] for d in result["dimensions"] if d["title"] == title)
        d = next(x for x in cell["dimensions"] if x["id"] == pid)
        assert same(row["n"], cell["n"]) and same(row["R²"], cell["r2"])
        assert same(row["r"], d["r"]) and same(row["r CI low"], d["r_ci"][0])
        assert same(row["importance"], d["importance"]) and same(row["share of R²"], d["share"])
    suppressed = [g for g, c in block["groups"].items() if c.get("suppressed")]
    assert "executive" in suppressed and len(suppressed) < len(block["groups"])  # < 30 execs
    assert hidden_groups == len(block["predictors"]) * len(suppressed)
    part = records(wb["participation"])
    for row in part:
        g = next(g for g, label in labels.items() if label == row["group"])
        cell = result["participation"]["groups"][g]
        assert (row["headcount"], row["responded"]) == (cell["headcount"], cell["responded"])
        assert same(row["rate"], cell["rate"])
    trend = records(wb["trend"])
    dims = {d["id"]: d for d in result["trend"]["dimensions"]}
    for row in (r for r in trend if r["level"] == "dimension"):
        change = dims[row["id"]]["changes"][0]["gap"]
        assert same(row["change"], change["change"]) and same(row["q"], change["q_value"])
        assert same(row["change CI low"], change["ci"][0])
        assert same(row["gap to"], dims[row["id"]]["waves"][1]["gap"])
    assert len(trend) == len(dims) + len(result["trend"]["items"])


def numbers_in(document) -> list[float]:
    if isinstance(document, dict):
        return [x for v in document.values() for x in numbers_in(v)]
    if isinstance(document, list):
        return [x for v in document for x in numbers_in(v)]
    if isinstance(document, int | float) and not isinstance(document, bool):
        return [document]
    return []


def test_no_hidden_cell_carries_a_number_and_no_figure_is_new() -> None:
    """The small result hides a 3-person group, 2-person segment cells and their
    complements, comments and participation cells: each is the text "hidden", and the
    workbook holds no number that result.json does not publish (nothing derived)."""
    result = small_result()
    assert result["groups"]["management"] == {"suppressed": True}
    wb = book(result)
    published = numbers_in(result)
    for ws in wb.worksheets:
        for row in ws.iter_rows(min_row=2, values_only=True):
            for v in row:
                if isinstance(v, int | float) and not isinstance(v, bool):
                    assert any(math.isclose(v, p, rel_tol=REL) for p in published), (ws.title, v)
    names = group_labels(as_result(result))
    dims = records(wb["dimensions"])
    assert all(r[f"{names['management']} {m}"] == "hidden" for r in dims for m in METRICS)
    segs = records(wb["segments"])
    hidden = [r for r in segs if r["gap"] == "hidden"]
    assert len(hidden) == sum(s["gap"] is None for s in result["segments"]) >= 2
    assert all(all(r[k] == "hidden" for k in GAP_KEYS) for r in hidden)
    heat = records(wb["heatmap"])
    legal = next(r for r in heat if r["value"] == "Legal")
    assert all(legal[d["title"]] == "hidden" for d in result["dimensions"])
    comments = {r["group"]: r["comments"] for r in records(wb["comments"])}
    assert comments[names["management"]] == "hidden" and comments[names["executive"]] == 30
    part = records(wb["participation"])
    assert any(r["rate"] == "hidden" for r in part if r["segment"] == "department")
    for r in part:
        if r["rate"] == "hidden":
            assert r["headcount"] == r["responded"] == "hidden"
    summary = {r["field"]: r["value"] for r in records(wb["summary"])}
    assert summary[f"respondents: {names['management']}"] == "hidden"


def test_text_is_never_a_formula() -> None:
    """Survey text that a spreadsheet would run (also full-width ＝ and leading - or @)
    stays a string, quote-prefixed, and the file holds no formula at all."""
    nasty = '=HYPERLINK("http://x","y")'
    result = small_result(dim_title=nasty, dept="\uff1d1+1")
    data = render_xlsx(result)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/")]
    assert not any("<f>" in s or "<f " in s for s in sheets)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    cells = [
        c
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value in (nasty, "\uff1d1+1")
    ]
    assert len(cells) > 5
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)


def test_sheets_are_formatted(full) -> None:
    result, _ = full
    wb = book(result)
    names = wb.sheetnames
    assert names[0] == "README"
    for name in (
        "summary",
        "dimensions",
        "items",
        "segments",
        "drivers",
        "participation",
        "trend",
        "comments",
    ):
        assert name in names
        ws = wb[name]
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    dims = wb["dimensions"]
    header = [c.value for c in dims[1]]
    fav = dims.cell(row=2, column=header.index("Executives favorable") + 1)
    gap = dims.cell(row=2, column=header.index("gap") + 1)
    n = dims.cell(row=2, column=header.index("Executives n") + 1)
    assert fav.number_format == "0.0%" and "0.00" in gap.number_format
    assert n.number_format == "#,##0" and isinstance(n.value, int)
    assert dims.column_dimensions["B"].width >= 15
    ranges = [str(r.sqref) for r in wb["segments"].conditional_formatting]
    col = re.sub(r"\d", "", wb["segments"].cell(row=1, column=header_index(wb, "gap")).coordinate)
    assert any(r.startswith(col + "2:") for r in ranges)
    readme = records(wb["README"])
    documented = {(r["sheet"], r["column"]) for r in readme}
    for ws in wb.worksheets[1:]:
        for c in ws[1]:
            assert (ws.title, c.value) in documented


def header_index(wb, name: str) -> int:
    return [c.value for c in wb["segments"][1]].index(name) + 1


def test_report_and_analyze_write_the_workbook(full, tmp_path) -> None:
    result, path = full
    done = run_cli("report", path, "--xlsx", tmp_path / "b.xlsx")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "report.html").exists()
    wb = openpyxl.load_workbook(tmp_path / "b.xlsx")
    assert [r["gap"] for r in records(wb["dimensions"])] == pytest.approx(
        [d["gap"]["mean"] for d in result["dimensions"]], rel=REL
    )
    folder = path.parent.parent
    done = run_cli("analyze", "q2.csv", "--no-save", "--xlsx", tmp_path / "a.xlsx", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert openpyxl.load_workbook(tmp_path / "a.xlsx")["items"].max_row == len(result["items"]) + 1


def test_without_the_office_extra_the_error_names_it(full, tmp_path, monkeypatch) -> None:
    _, path = full
    from typer.testing import CliRunner

    from alignscan.cli import app

    monkeypatch.setitem(sys.modules, "xlsxwriter", None)  # import fails as if not installed
    done = CliRunner().invoke(app, ["report", str(path), "--xlsx", str(tmp_path / "b.xlsx")])
    assert done.exit_code == 2
    assert "pip install 'alignscan[office]'" in done.output
    assert not (tmp_path / "b.xlsx").exists()


def test_a_dated_result_gives_the_same_bytes(full) -> None:
    result, path = full
    assert result["report_date"] == "2026-04-15"
    assert render_xlsx(json.loads(path.read_text(encoding="utf-8"))) == render_xlsx(result)


def test_a_weighted_result_shows_effective_n_and_design_effects(tmp_path) -> None:
    """With --weight-to: effective n per group cell, and the design effects on the
    summary sheet and in the deck's appendix, each equal to the JSON figure."""
    from pptx import Presentation

    from alignscan.render.office.pptx import render_pptx
    from test_weighting import _export

    data, hc, _ = _export(tmp_path)
    out = tmp_path / "w.json"
    done = run_cli("analyze", data, "--weight-to", hc, "--json", out, "--no-save")
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    wb = book(result)
    names = group_labels(as_result(result))
    a = result["compare"][0]
    for row, d in zip(records(wb["dimensions"]), result["dimensions"], strict=True):
        cell = d["groups"][a]
        expected = "hidden" if cell.get("suppressed") else cell["n_effective"]
        assert same(row[f"{names[a]} n effective"], expected)
    summary = {r["field"]: r["value"] for r in records(wb["summary"])}
    for g, s in result["weighting"]["groups"].items():
        assert same(summary[f"design effect: {names[g]}"], s["design_effect"])
        assert same(summary[f"effective n: {names[g]}"], s["n_effective"])
    prs = Presentation(io.BytesIO(render_pptx(result)))
    appendix = prs.slides[len(prs.slides) - 1].notes_slide.notes_text_frame.text
    assert "Weighted to headcount" in appendix
    g, s = next(iter(result["weighting"]["groups"].items()))
    assert f"{names[g]} {s['design_effect']:.2f}" in appendix


def test_the_segment_colours_are_the_html_heatmaps() -> None:
    from alignscan.render import html
    from alignscan.render.office import xlsx

    assert (xlsx.HEAT_MORE, xlsx.HEAT_LESS) == (html.HEAT_MORE, html.HEAT_LESS)
