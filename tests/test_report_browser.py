"""The report in a real browser: printed to PDF by headless Chromium on A4 and Letter
(every column of every table kept, the item tables opened, headers kept with their rows),
and checked by axe-core (WCAG 2.1 A/AA and best practices).

Needs chromium, poppler's pdftotext and the npm packages in tests/browser (`make browser`
installs all three, best effort); without them the tests skip and say which is missing."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

BROWSER = Path(__file__).parent / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NODE = shutil.which("node")
MODULES = (BROWSER / "node_modules" / "puppeteer-core").is_dir() and (
    BROWSER / "node_modules" / "axe-core"
).is_dir()

needs_browser = pytest.mark.skipif(
    CHROMIUM is None or NODE is None or not MODULES,
    reason="needs chromium, node and `npm install` in tests/browser (run `make browser`)"
    f"; missing: {', '.join(n for n, ok in [('chromium', CHROMIUM), ('node', NODE), ('npm packages', MODULES)] if not ok)}",
)
needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory) -> tuple[dict, Path]:
    """The demo's report, as `make demo` writes it (two waves, a trend, a date)."""
    from typer.testing import CliRunner

    from alignscan.cli import app
    from alignscan.demo import write_demo_data, write_demo_headcount

    folder = tmp_path_factory.mktemp("demo")
    before, after = write_demo_data(folder)
    headcount = write_demo_headcount(after, folder)
    args = ["analyze", str(after), "--baseline", str(before), "--out", str(folder)]
    args += ["--headcount", str(headcount)]
    done = CliRunner().invoke(app, [*args, "--date", "2026-04-15"])
    assert done.exit_code == 0, done.output
    return json.loads((folder / "result.json").read_text("utf-8")), folder / "report.html"


def node(script: str, *args: str) -> dict:
    done = subprocess.run(
        [NODE, str(BROWSER / script), CHROMIUM, *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=BROWSER,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@needs_browser
@needs_pdftotext
@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_printing_keeps_every_column_and_opens_the_item_tables(demo_report, paper, tmp_path):
    result, page = demo_report
    pdf = tmp_path / f"report-{paper}.pdf"
    assert node("print.mjs", str(page), str(pdf), paper) == {"overflow": 0}
    text = (
        subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        )
        .stdout.replace("\u2068", "")
        .replace("\u2069", "")
    )
    # the dimension table: every column header, and every dimension's row with its alpha
    header = re.search(r"^Dimension .*Effect +Alpha$", text, re.M)
    assert header, "the dimension table's header row is cut"
    for word in ("Mean", "Gap", "Adjusted", "Favorable", " q ", "Effect", "Alpha"):
        assert (
            word in header.group(0) or word.strip() in text[header.start() : header.start() + 600]
        )
    for d in result["dimensions"]:
        assert re.search(rf"\b{d['alpha']:.2f}\b", text), d["id"]
    # the item answers are printed, one table per dimension, both groups of every item
    labels = result["scale"]["labels"]
    item_headers = re.findall(r"^Item +Group .* n +Mean +Favorable +Gap in$", text, re.M)
    assert len(item_headers) >= len(result["dimensions"])
    a, b = (result["group_labels"][g] for g in result["compare"])
    counts = (
        rf"(?:{re.escape(a)}|{re.escape(b)}) +(?:[\d,]+ +){{{len(labels)}}}[\d,]+ +\d\.\d\d +\d+%"
    )
    assert len(re.findall(counts, text)) == 2 * len(result["items"])
    # no page ends with a table header whose rows went to the next page
    for number, sheet in enumerate(text.split("\f")[:-1], start=1):
        lines = [line for line in sheet.splitlines() if line.strip()]
        assert lines and not re.match(r"^(Group|Dimension|#) ", lines[-1].strip()), number


@needs_browser
def test_axe_core_finds_no_violation(demo_report, tmp_path):
    _, page = demo_report
    found = node("axe.mjs", str(page), "1100")
    assert found["violations"] == [] and found["passes"] > 20
    # control: a scroll container without keyboard access is what axe reports, in a
    # window narrow enough for the tables to scroll
    html = page.read_text("utf-8")
    bare = re.sub(r' tabindex="0" role="region" aria-label="[^"]*"', "", html)
    assert bare != html
    (tmp_path / "bare.html").write_text(bare, "utf-8")
    narrow = node("axe.mjs", str(tmp_path / "bare.html"), "420")
    assert "scrollable-region-focusable" in {v["id"] for v in narrow["violations"]}
    assert node("axe.mjs", str(page), "420")["violations"] == []


@needs_pdftotext
def test_weasyprint_pdf_has_no_overlapping_bar_labels(demo_report, tmp_path):
    pytest.importorskip("weasyprint", reason="the optional `pdf` extra is not installed")
    from alignscan.report.html import render_pdf

    _, page = demo_report
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render_pdf(page.read_text("utf-8")))
    subprocess.run(["pdftotext", "-bbox", str(pdf), str(tmp_path / "boxes.html")], check=True)
    lines: dict[tuple[int, str], list[tuple[float, float, str]]] = {}
    boxes = (tmp_path / "boxes.html").read_text("utf-8")
    for number, sheet in enumerate(boxes.split("<page ")):
        for x0, y0, x1, text in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>',
            sheet,
        ):
            lines.setdefault((number, y0), []).append((float(x0), float(x1), text))
    checked = 0
    for row in lines.values():
        row.sort()
        for (_, right, text), (left, _, following) in zip(row, row[1:], strict=False):
            if text == "fav." and following == "n":
                assert right < left, row
                checked += 1
    assert checked >= 2 * len(demo_report[0]["items"])  # both bars of every item
