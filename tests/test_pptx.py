"""`--pptx`: the deck reopened with python-pptx. Every chart is a native chart whose
series are result.json's figures, tables show hidden cells as "hidden" and never a
number, a template's master and layouts are used, and LibreOffice (when installed)
converts the deck to PDF."""

from __future__ import annotations

import copy
import io
import math
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.util import Inches

from alignscan.render.office.pptx import render_pptx
from alignscan.result.findings import group_labels
from alignscan.result.models import as_result
from conftest import run_cli
from office_results import full_result, small_result


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> tuple[dict, Path]:
    return full_result(tmp_path_factory.mktemp("full"))


def deck(result: dict, template: bytes | None = None):
    return Presentation(io.BytesIO(render_pptx(result, template)))


def slides_titled(prs, start: str) -> list:
    return [s for s in prs.slides if s.shapes.title and s.shapes.title.text.startswith(start)]


def the_chart(slide):
    charts = [sh.chart for sh in slide.shapes if sh.has_chart]
    assert len(charts) == 1
    return charts[0]


def series_of(chart) -> dict[str, list]:
    return {s.name: list(s.values) for s in chart.plots[0].series}


def same(found: list, expected: list) -> bool:
    return len(found) == len(expected) and all(
        (e is None and f is None) or (f is not None and e is not None and math.isclose(f, e))
        for f, e in zip(found, expected, strict=True)
    )


def test_charts_are_native_and_their_series_are_the_json_figures(full) -> None:
    result, _ = full
    prs = deck(result)
    shapes = [sh for s in prs.slides for sh in s.shapes]
    assert not [sh for sh in shapes if sh.shape_type == MSO_SHAPE_TYPE.PICTURE]
    assert sum(sh.has_chart for sh in shapes) == 3  # dimensions, drivers, trend
    labels = group_labels(as_result(result))
    a, b = result["compare"]
    dims = result["dimensions"]
    chart = the_chart(slides_titled(prs, "Gap by dimension")[0])
    assert list(chart.plots[0].categories) == [d["title"] for d in dims]
    got = series_of(chart)
    assert same(got[labels[a]], [d["groups"][a]["favorable"] for d in dims])
    assert same(got[labels[b]], [d["groups"][b]["favorable"] for d in dims])
    block = result["drivers"]
    got = series_of(the_chart(slides_titled(prs, "What drives")[0]))
    shown = {g: c for g, c in block["groups"].items() if not c.get("suppressed")}
    assert set(got) == {labels[g] for g in shown} and len(shown) < len(block["groups"])
    for g, cell in shown.items():
        shares = {d["id"]: d["share"] for d in cell["dimensions"]}
        assert same(got[labels[g]], [shares[p] for p in block["predictors"]])
    trend = result["trend"]
    got = series_of(the_chart(slides_titled(prs, "Trend")[0]))
    for k, wave in enumerate(trend["labels"]):
        assert same(got[wave], [d["waves"][k]["gap"] for d in trend["dimensions"]])


def test_notes_carry_the_exact_figures_and_intervals(full) -> None:
    result, _ = full
    prs = deck(result)
    text = slides_titled(prs, "Gap by dimension")[0].notes_slide.notes_text_frame.text
    for d in result["dimensions"]:
        lo, hi = d["gap"]["mean_ci"]
        assert f"{d['title']}: " in text
        assert f"mean gap {d['gap']['mean']:+.2f} (95% CI {lo:+.2f} to {hi:+.2f})" in text
    top = slides_titled(prs, "Largest item gaps")[0].notes_slide.notes_text_frame.text
    sig = [i for i in result["items"] if i["gap"] and i["gap"]["q_value"] < 0.05]
    sig.sort(key=lambda i: -abs(i["gap"]["mean"]))
    if not sig:  # ~20 executives: small-group tests may call no item gap significant
        assert "No item gap is significant" in top
    for i in sig[:10]:
        lo, hi = i["gap"]["mean_ci"]
        assert f"{i['id']} {i['text']}: " in top
        assert f"mean gap {i['gap']['mean']:+.2f} (95% CI {lo:+.2f} to {hi:+.2f})" in top


def table_cells(slide) -> list[list[str]]:
    tables = [sh.table for sh in slide.shapes if sh.has_table]
    assert len(tables) == 1
    return [[c.text for c in row.cells] for row in tables[0].rows]


def test_heatmap_hidden_cells_say_hidden_and_shown_ones_are_the_gaps() -> None:
    result = small_result()
    assert result["groups"]["management"] == {"suppressed": True}
    prs = deck(result)
    [slide] = slides_titled(prs, "Gap by department")
    rows = table_cells(slide)
    titles = rows[0][1:]
    assert titles == [d["title"] for d in result["dimensions"]]
    segs = {(s["value"], s["dimension"]): s for s in result["segments"]}
    ids = [d["id"] for d in result["dimensions"]]
    hidden = 0
    for row in rows[1:]:
        for dim, cell in zip(ids, row[1:], strict=True):
            gap = segs[(row[0], dim)]["gap"]
            if gap is None:
                hidden += 1
                assert cell == "hidden"
            else:
                assert cell == f"{gap['mean']:+.2f}"
    assert hidden == sum(s["gap"] is None for s in result["segments"]) >= 2
    notes = slide.notes_slide.notes_text_frame.text
    assert notes.count("gap hidden") == hidden
    # the hidden group appears as "hidden" on the title slide, never with a count
    title_text = " ".join(sh.text_frame.text for sh in prs.slides[0].placeholders)
    name = group_labels(as_result(result))["management"]
    assert f"{name} hidden" in title_text


def test_a_hundred_segment_values_continue_over_slides() -> None:
    result = small_result()
    base = [s for s in result["segments"] if s["value"] == "IT"]
    many = []
    for k in range(100):
        many += [{**s, "value": f"Team {k:03d}"} for s in base]
    result["segments"] = many
    prs = deck(result)
    pages = slides_titled(prs, "Gap by department")
    assert len(pages) == 9 and pages[0].shapes.title.text.endswith("(1 of 9)")
    values = [row[0] for slide in pages for row in table_cells(slide)[1:]]
    assert values == [f"Team {k:03d}" for k in range(100)]


def make_template(tmp_path: Path) -> Path:
    """A 4:3 'corporate' template: a marked master, a renamed layout, one sample slide."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(10), Inches(7.5)
    sample = prs.slides.add_slide(prs.slide_layouts[6])  # python-pptx can't add to a master:
    box = sample.shapes.add_textbox(Inches(0.2), Inches(7.0), Inches(3), Inches(0.4))
    box.text_frame.text = "ACME CORP MASTER"  # make the box on a slide and move a copy
    mark = copy.deepcopy(box._element)
    mark.xpath("./p:nvSpPr/p:cNvPr")[0].set("id", "999")
    prs.slide_master.shapes._spTree.append(mark)
    layout = prs.slide_layouts[5]
    layout._element.cSld.set("name", "ACME Title Only")
    sample = prs.slides.add_slide(prs.slide_layouts[1])
    sample.shapes.title.text = "TEMPLATE SAMPLE SLIDE"
    path = tmp_path / "corp.pptx"
    prs.save(path)
    return path


def test_a_templates_master_and_layouts_are_used(full, tmp_path) -> None:
    result, _ = full
    template = make_template(tmp_path)
    prs = deck(result, template.read_bytes())
    assert (prs.slide_width, prs.slide_height) == (Inches(10), Inches(7.5))
    assert len(prs.slide_masters) == 1
    master = prs.slide_masters[0]
    assert any(
        sh.has_text_frame and sh.text_frame.text == "ACME CORP MASTER" for sh in master.shapes
    )
    layouts = [s.slide_layout.name for s in prs.slides]
    assert layouts[0] == "Title Slide" and set(layouts[1:]) == {"ACME Title Only"}
    assert all(s.slide_layout.slide_master == master for s in prs.slides)
    texts = [sh.text_frame.text for s in prs.slides for sh in s.shapes if sh.has_text_frame]
    assert "TEMPLATE SAMPLE SLIDE" not in texts
    plain = deck(result)
    assert plain.slide_width == Inches(13.333)


def test_text_is_never_a_formula_in_the_charts_workbook() -> None:
    result = small_result(dim_title="=1+1")
    prs = deck(result)
    chart = the_chart(slides_titled(prs, "Gap by dimension")[0])
    blob = chart.part.chart_workbook.xlsx_part.blob
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet
    ws = openpyxl.load_workbook(io.BytesIO(blob)).active
    cell = next(c for row in ws.iter_rows() for c in row if c.value == "=1+1")
    assert cell.data_type == "s"


def test_cli_writes_the_deck_with_a_template_and_refuses_bad_ones(full, tmp_path) -> None:
    result, path = full
    template = make_template(tmp_path)
    out = tmp_path / "deck.pptx"
    done = run_cli("report", path, "--pptx", out, "--pptx-template", template)
    assert done.returncode == 0, done.stderr
    assert Presentation(out).slides[0].shapes.title.text == result["survey"]["title"]
    (tmp_path / "bad.pptx").write_text("not a deck", encoding="utf-8")
    done = run_cli(
        "report", path, "--pptx", tmp_path / "x.pptx", "--pptx-template", tmp_path / "bad.pptx"
    )
    assert done.returncode == 1 and "--pptx-template is not a PowerPoint" in done.stderr
    done = run_cli("report", path, "--pptx-template", template)
    assert done.returncode == 2 and "--pptx-template needs --pptx" in done.stderr
    before = template.read_bytes()
    done = run_cli("report", path, "--pptx", template, "--pptx-template", template)
    assert done.returncode == 2 and "is the input file" in done.stderr  # never overwritten
    assert template.read_bytes() == before
    folder = path.parent.parent
    done = run_cli("analyze", "q2.csv", "--no-save", "--pptx", tmp_path / "a.pptx", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert len(Presentation(tmp_path / "a.pptx").slides) >= 8
    assert not (tmp_path / "x.pptx").exists()


def test_without_the_office_extra_the_error_names_it(full, tmp_path, monkeypatch) -> None:
    _, path = full
    from typer.testing import CliRunner

    from alignscan.cli import app

    monkeypatch.setitem(sys.modules, "pptx", None)  # import fails as if not installed
    done = CliRunner().invoke(app, ["report", str(path), "--pptx", str(tmp_path / "d.pptx")])
    assert done.exit_code == 2
    assert "pip install 'alignscan[office]'" in done.output
    assert not (tmp_path / "d.pptx").exists()


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_converts_the_deck_to_pdf(full, tmp_path) -> None:
    result, _ = full
    data = render_pptx(result)
    (tmp_path / "deck.pptx").write_bytes(data)
    env = {**os.environ, "HOME": str(tmp_path)}  # a profile of its own
    done = subprocess.run(
        [
            soffice(),
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(tmp_path / "deck.pptx"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    pdf = (tmp_path / "deck.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = len(Presentation(io.BytesIO(data)).slides)
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == pages


def test_summary_slide_and_sheet_show_the_reports_focus_areas_and_strengths(tmp_path) -> None:
    """The same focus areas and strengths as the HTML report's page 1 (findings decides)."""
    from alignscan.analysis.analysis import analyze
    from alignscan.render.office.xlsx import render_xlsx
    from alignscan.responses import read_responses
    from alignscan.result import findings
    from alignscan.survey import load_survey
    from alignscan.synthetic import generate_responses, write_csv

    survey = load_survey()  # 1,500 respondents: large enough for gaps worth acting on
    path = write_csv(generate_responses(survey, 1500, seed=3), tmp_path / "r.csv")
    result = analyze(read_responses(path, survey))
    test_notes_carry_the_exact_figures_and_intervals((result, path))  # with item gaps
    assert (
        "No item gap"
        not in slides_titled(deck(result), "Largest item gaps")[0].notes_slide.notes_text_frame.text
    )
    [slide] = slides_titled(deck(result), "Executive summary")
    shown = "\n".join(sh.text_frame.text for sh in slide.shapes if sh.has_text_frame)
    model = as_result(result)
    focus, best = findings.focus_areas(model), findings.strengths(model, limit=2)
    assert focus and best
    for e in focus + best:
        assert e["title"] in shown and e["reason"] in shown
    wb = openpyxl.load_workbook(io.BytesIO(render_xlsx(result)))
    rows = {r[0]: r[1:] for r in wb["summary"].iter_rows(min_row=2, values_only=True)}
    for k, e in enumerate(focus, start=1):
        assert rows[f"focus area {k}"] == (e["title"], e["reason"])


def test_a_zip_bomb_template_is_refused_before_it_is_read(full, tmp_path) -> None:
    """A template part that unfolds 1000 to 1 is refused from the zip directory alone."""
    _, path = full
    bomb = tmp_path / "bomb.pptx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("ppt/slides/slide1.xml", b"<a/>" + b" " * (8 << 20))
    done = run_cli("report", path, "--pptx", tmp_path / "d.pptx", "--pptx-template", bomb)
    assert done.returncode == 1
    assert "a zip bomb?" in done.stderr and "ALIGNSCAN_MAX_XLSX_RATIO" in done.stderr
    assert not (tmp_path / "d.pptx").exists()


def test_characters_xml_cannot_hold_are_dropped_not_a_crash() -> None:
    """A survey text with a noncharacter, a lone surrogate or a control character (valid
    in JSON, not in XML): both files are written, without those characters."""
    from alignscan.render.office.xlsx import render_xlsx

    result = small_result(dim_title="Lead\uffffer\ud800ship\x07", dept="\ufffeIT2")
    prs = deck(result)
    chart = the_chart(slides_titled(prs, "Gap by dimension")[0])
    assert chart.plots[0].categories[0] == "Leadership"
    wb = openpyxl.load_workbook(io.BytesIO(render_xlsx(result)))
    assert [r[1].value for r in wb["dimensions"].iter_rows(min_row=2)][0] == "Leadership"
    assert "IT2" in [r[1].value for r in wb["segments"].iter_rows(min_row=2)]
