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
def test_weasyprint_pdf_has_no_overlapping_text_and_reads_the_same(demo_report, tmp_path):
    """`--pdf` (WeasyPrint): page 1 is the summary in the report's units, no two text
    lines overlap, and every item's answers are printed for both groups."""
    pytest.importorskip("weasyprint", reason="the optional `pdf` extra is not installed")
    pytest.importorskip("pdfplumber", reason="pdfplumber (the dev extra) is not installed")
    from alignscan.render.html import render_pdf
    from alignscan.result import findings
    from alignscan.result.models import as_result

    result, page = demo_report
    model = as_result(result)  # findings read the typed result
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render_pdf(page.read_text("utf-8")))
    assert text_overlaps(pdf) == []
    first = pdf_text(pdf, "-f", "1", "-l", "1")
    assert squash(findings.headline(model)["sentence"]) in first
    for f in findings.focus_areas(model):
        assert squash(f["title"]) in first
    assert squash("points on the 1–5 scale") in first
    assert squash("percentage points (favorable share)") in first
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True)
    a, b = (result["group_labels"][g] for g in result["compare"])
    labels = result["scale"]["labels"]
    row = rf"(?:{re.escape(a)}|{re.escape(b)}) +(?:[\d,]+ +){{{len(labels)}}}[\d,]+ +\d\.\d\d +\d+%"
    assert len(re.findall(row, text.stdout)) == 2 * len(result["items"])


@pytest.fixture(scope="module")
def printed(demo_report, tmp_path_factory) -> dict[str, Path]:
    """The demo report printed by Chromium on A4 and on Letter."""
    if CHROMIUM is None or NODE is None or not MODULES:
        pytest.skip("needs chromium, node and `npm install` in tests/browser (`make browser`)")
    folder = tmp_path_factory.mktemp("print")
    out = {}
    for paper in ("A4", "Letter"):
        out[paper] = folder / f"report-{paper}.pdf"
        node("print.mjs", str(demo_report[1]), str(out[paper]), paper)
    return out


def squash(text: str) -> str:
    """Text without bidi isolates and whitespace: pdftotext drops the space after an
    isolate and breaks lines anywhere, so the checks compare the letters only."""
    return re.sub(r"[\s\u2068\u2069]+", "", text)


def pdf_text(pdf: Path, *pages: str) -> str:
    done = subprocess.run(["pdftotext", *pages, str(pdf), "-"], capture_output=True, text=True)
    return squash(done.stdout)


@needs_browser
@needs_pdftotext
@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_page_one_is_the_executive_summary_and_the_print_is_short(demo_report, printed, paper):
    from alignscan.result import findings
    from alignscan.result.models import as_result

    result = as_result(demo_report[0])  # findings read the typed result
    pdf = printed[paper]
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    count = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert count <= 10, count
    first = pdf_text(pdf, "-f", "1", "-l", "1")
    assert squash(findings.headline(result)["sentence"]) in first
    summary = findings.participation_summary(result)
    assert "Participation" in first and squash(f"{summary['overall']['rate']:.0%} of") in first
    spread = summary["spreads"][0]["sentence"]
    assert squash(spread[1:]) in first and "across departments" in spread
    focus = [f["title"] for f in findings.focus_areas(result)]
    assert len(focus) == 3 and "Threefocusareas" in first
    at = [first.index(squash(f"{i}. {title}")) for i, title in enumerate(focus, start=1)]
    assert at == sorted(at)  # in their ranked order
    strengths = findings.strengths(result)
    heading = ["Strengths", "One strength", "Two strengths", "Three strengths"][len(strengths)]
    assert squash(heading) in first and all(squash(s["title"]) in first for s in strengths)
    assert squash("percentage points (favorable share)") in first
    assert squash("points on the 1–5 scale, 95% CI") in first  # the trend line's unit


def text_overlaps(pdf: Path) -> list[tuple[int, str, str]]:
    """Pairs of printed characters whose boxes overlap by more than a third of the smaller
    one (two lines printed over each other), per page."""
    import pdfplumber

    found = []
    with pdfplumber.open(pdf) as doc:
        for number, page in enumerate(doc.pages, start=1):
            chars = [c for c in page.chars if c["text"].strip() and c["text"] not in "\u2068\u2069"]
            grid: dict[tuple[int, int], list[dict]] = {}
            for c in chars:
                grid.setdefault((int(c["x0"] // 20), int(c["top"] // 20)), []).append(c)
            for index, c in enumerate(chars):
                c["index"] = index
            for c in chars:
                gx, gy = int(c["x0"] // 20), int(c["top"] // 20)
                near = [
                    o
                    for dx in (-1, 0, 1)
                    for dy in (-1, 0, 1)
                    for o in grid.get((gx + dx, gy + dy), [])
                ]
                for o in near:
                    if o["index"] <= c["index"]:
                        continue
                    if o["index"] == c["index"] + 1 and abs(o["top"] - c["top"]) < 0.5:
                        continue  # neighbours in one run of text: kerning ("Tr", "y.")
                    w = min(c["x1"], o["x1"]) - max(c["x0"], o["x0"])
                    h = min(c["bottom"], o["bottom"]) - max(c["top"], o["top"])
                    if w <= 0 or h <= 0:
                        continue
                    small = min(
                        (c["x1"] - c["x0"]) * (c["bottom"] - c["top"]),
                        (o["x1"] - o["x0"]) * (o["bottom"] - o["top"]),
                    )
                    if w * h > small / 3:
                        found.append((number, c["text"], o["text"]))
    return found


@needs_browser
@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_no_two_text_lines_overlap_on_any_printed_page(printed, paper, tmp_path):
    pytest.importorskip("pdfplumber", reason="pdfplumber (the dev extra) is not installed")
    assert text_overlaps(printed[paper]) == []
    # control: the same page with two labels drawn on top of each other is caught
    page = printed[paper].parent.parent / "control.html"
    page.write_text(
        '<p style="font: 14px sans-serif">Overprinted line</p>'
        '<p style="font: 14px sans-serif; margin-top: -30px">Another line here</p>',
        "utf-8",
    )
    node("print.mjs", str(page), str(tmp_path / "control.pdf"), paper)
    assert text_overlaps(tmp_path / "control.pdf")


@needs_browser
def test_tables_are_never_clipped_on_a_phone_and_notes_print_smaller(demo_report):
    _, page = demo_report
    found = node("layout.mjs", str(page), "360")
    assert found["tables"] > 20 and found["clipped"] == [] and found["page_overflow"] == 0
    assert found["notes_checked"] > 50 and found["notes_not_smaller"] == []
