"""Issue 28: a report a board reads in five minutes. Page 1's focus areas (impact x gap,
checked against an independent computation on the demo), strengths, participation totals
and spread, the heatmap against the whole company, units in every output, and driver
chart labels that never overlap."""

from __future__ import annotations

import csv
import html as htmlmod
import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from alignscan.render.drivers_html import _label_box, _overlaps, place_labels
from alignscan.render.html import heatmaps, render_html
from alignscan.render.tabular import result_to_csv
from alignscan.render.terminal import print_summary
from alignscan.result import findings
from alignscan.result.models import GapChange, TrendDocument, _Open, as_result

SCALE_UNIT = "points on the 1–5 scale"
SHARE_UNIT = "percentage points (favorable share)"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[dict, Path]:
    """The demo's latest wave analysed with its headcount file, as `make demo` does."""
    from typer.testing import CliRunner

    from alignscan.cli import app
    from alignscan.demo import write_demo_data, write_demo_headcount

    folder = tmp_path_factory.mktemp("demo")
    _, after = write_demo_data(folder)
    headcount = write_demo_headcount(after, folder)
    args = ["analyze", str(after), "--headcount", str(headcount), "--out", str(folder)]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    return json.loads((folder / "result.json").read_text("utf-8")), folder


def visible(page: str) -> str:
    body = re.sub(r"<style.*?</style>|<title>.*?</title>|<desc>.*?</desc>", " ", page, flags=re.S)
    text = htmlmod.unescape(re.sub(r"<[^>]+>", " ", body))
    return re.sub(r"\s+", " ", text.replace("\u2068", "").replace("\u2069", ""))


def independent_focus(result: dict) -> list[str]:
    """Impact x gap from the result's own figures: significant (q < 0.05) gaps that are not
    negligible; impact = the second group's LMG importance; those without one after."""
    b = result["compare"][1]
    importance = {d["id"]: d["importance"] for d in result["drivers"]["groups"][b]["dimensions"]}
    scored, rest = [], []
    for d in result["dimensions"]:
        gap = d["gap"]
        if gap is None or gap["q_value"] >= 0.05 or gap["magnitude"] == "negligible":
            continue
        if d["id"] in importance:
            scored.append((abs(gap["mean"]) * importance[d["id"]], d["id"]))
        else:
            rest.append((abs(gap["mean"]), d["id"]))
    ranked = [i for _, i in sorted(scored, reverse=True)] + [
        i for _, i in sorted(rest, reverse=True)
    ]
    return ranked[:3]


def test_focus_areas_are_ranked_by_impact_times_gap(demo) -> None:
    result, _ = demo
    focus = findings.focus_areas(as_result(result))
    assert [f["id"] for f in focus] == independent_focus(result)
    assert len(focus) == 3 and all(f["basis"] == "impact × gap" for f in focus)
    # the ranking differs from ranking by gap alone on the demo (so the test can tell)
    by_gap = [d.id for d in findings.meaningful_gaps(as_result(result))][:3]
    assert by_gap != [f["id"] for f in focus]
    for f in focus:
        assert SCALE_UNIT in f["reason"]
        if f["favorable_gap"] is None:  # withheld by the anonymity rules, and said so
            assert "favorable share is withheld" in f["reason"] and SHARE_UNIT not in f["reason"]
        else:
            assert SHARE_UNIT in f["reason"]
    # the focus areas are the first three actions, in the same order
    assert [d.id for d in findings.recommendations(as_result(result))] == [f["id"] for f in focus]


def test_without_driver_figures_focus_areas_rank_by_gap_and_say_so(demo) -> None:
    result, _ = demo
    plain = as_result({k: v for k, v in result.items() if k != "drivers"})
    focus = findings.focus_areas(plain)
    gaps = sorted((d for d in findings.meaningful_gaps(plain)), key=lambda d: -abs(d.gap.mean))
    assert [f["id"] for f in focus] == [d.id for d in gaps[:3]]
    assert all(f["basis"] == "gap" for f in focus)
    sentence = findings.focus_basis(plain)["sentence"]
    assert sentence.startswith("Ranked by the size of the gap alone") and "no driver" in sentence
    assert "by the size of the gap alone" in visible(render_html(plain))


def test_strengths_are_the_smallest_gaps_outside_the_focus_areas(demo) -> None:
    result, _ = demo
    focus = {f["id"]: abs(f["gap"]) for f in findings.focus_areas(as_result(result))}
    expected = sorted(
        (abs(d["gap"]["mean"]), d["id"])
        for d in result["dimensions"]
        if d["gap"] is not None and d["id"] not in focus
        and abs(d["gap"]["mean"]) <= min(focus.values())  # never a larger gap than a focus area
    )
    got = findings.strengths(as_result(result))
    assert [s["id"] for s in got] == [i for _, i in expected[:3]]
    assert all(abs(s["gap"]) <= min(focus.values()) for s in got)


def test_participation_totals_and_spread_from_department_headcounts(demo) -> None:
    result, folder = demo
    part = result["participation"]
    rows = list(csv.DictReader((folder / "headcount.csv").open(encoding="utf-8")))
    assert {r["group"] for r in rows} and all(r["department"] for r in rows)  # no totals given
    for g, cell in part["groups"].items():
        assert cell["headcount"] == sum(int(r["headcount"]) for r in rows if r["group"] == g)
        assert cell["responded"] == result["groups"][g]["n"]
    rates = [
        c["responded"] / c["headcount"]
        for s in part["segments"]
        if s["column"] == "department"
        for c in s["groups"].values()
        if "rate" in c
    ]
    sentence = f"response rates range from {min(rates):.0%} to {max(rates):.0%} across departments"
    assert sentence in part["warnings"]
    page = visible(render_html(result))
    summary = page[page.index("Executive summary") : page.index("Gap by dimension")]
    assert sentence[1:] in summary  # capitalised on page 1
    overall = sum(c["responded"] for c in part["groups"].values()) / sum(
        c["headcount"] for c in part["groups"].values()
    )
    assert f"{overall:.0%} of" in summary


def test_heatmap_cells_are_the_difference_from_the_whole_company(demo) -> None:
    result, _ = demo
    company = {d["id"]: d["gap"]["mean"] for d in result["dimensions"]}
    maps = {m["column"]: m for m in heatmaps(as_result(result))}
    checked = hidden = 0
    for seg in result["segments"]:
        row = next(r for r in maps[seg["column"]]["rows"] if r["value"] == seg["value"])
        index = [i for i, _ in maps[seg["column"]]["dims"]].index(seg["dimension"])
        cell = row["cells"][index]
        if seg["gap"] is None:
            assert cell["suppressed"] and cell["diff"] is None
            hidden += 1
        else:
            assert cell["diff"] == pytest.approx(seg["gap"]["mean"] - company[seg["dimension"]])
            checked += 1
    assert checked and hidden
    section = re.search(r'<section id="segments">.*?</section>', render_html(result), re.S)
    text = visible(section.group(0))
    assert "Compared with the whole company" in text and "hidden" in text


def test_units_read_the_same_in_every_output(demo) -> None:
    result, _ = demo
    page = visible(render_html(result))
    assert page.count(SCALE_UNIT) >= 3 and page.count(SHARE_UNIT) >= 3
    console = Console(record=True, width=100, color_system=None)
    print_summary(result, console)
    term = re.sub(r"\s+", " ", console.export_text())
    assert SCALE_UNIT in term and SHARE_UNIT in term
    rows = list(csv.reader(io.StringIO(result_to_csv(result).lstrip("\ufeff"))))
    units = {r[7] for r in rows[1:]}
    assert SCALE_UNIT in units and any(SHARE_UNIT in u for u in units)
    # a trend's change is in the same unit as the gap it changes
    doc = TrendDocument.model_construct(
        compared_on="means and favorable shares", waves=[_Open(scale=result["scale"])]
    )
    assert findings.trend_unit(doc) == SCALE_UNIT
    shares = doc.model_copy(update={"compared_on": "favorable shares"})
    assert findings.trend_unit(shares) == "points"
    change = GapChange(
        change=-0.33, ci=[-0.48, -0.18], p_value=0.0001, q_value=0.001, direction="closing",
        from_gap=0.47, to_gap=0.14,
    )
    words = findings.change_words(change, findings.trend_unit(doc))
    assert words == f"narrowed by 0.33 {SCALE_UNIT}, 95% CI 0.18 to 0.48"
    # the focus areas read the same on page 1 and in the terminal
    for f in findings.focus_areas(as_result(result)):
        assert f["reason"] in page and re.sub(r"\s+", " ", f["reason"]) in term


def test_priority_chart_labels_never_overlap() -> None:
    # five dots in a cluster (the demo's three at zero importance, and two more)
    points = [
        {"title": t, "x": x, "y": y}
        for t, x, y in [
            ("Confidence in ROI", 140.0, 290.0),
            ("Shared goals and KPIs", 300.0, 290.0),
            ("Experimentation culture", 350.0, 290.0),
            ("Cross-team collaboration", 150.0, 285.0),
            ("Talent and upskilling", 555.0, 100.0),
        ]
    ]
    place_labels(points)
    boxes = [
        _label_box(p["x"], p["ly"], 7.0 * min(len(p["title"]), 30), p["anchor"]) for p in points
    ]
    for i, a in enumerate(boxes):
        assert a[3] <= 294  # above the axis tick labels
        for b in boxes[i + 1 :]:
            assert not _overlaps(a, b), (a, b)
    assert any(p["moved"] for p in points)


# ----------------------------------------------------------------------------- labels


def test_display_labels_in_trend_titles_benchmark_check_repr_and_template(tmp_path) -> None:
    import numpy as np

    from alignscan.analysis.analysis import analyze
    from alignscan.extras.trend import trend
    from alignscan.render.sections import benchmark_sentence
    from alignscan.render.terminal import print_trend
    from alignscan.render.trend_html import render_trend_html
    from alignscan.responses import template_rows
    from alignscan.result.frames import summary_html
    from conftest import make_responses, make_survey, random_codes

    survey = make_survey([[False, False], [False, True]], groups=("c_suite", "staff"))
    survey = survey.model_copy(
        update={
            "roles": survey.roles.model_copy(
                update={"labels": {"c_suite": "Leadership team", "staff": "Front line"}}
            )
        }
    )
    waves = []
    for seed in (1, 2):
        rng = np.random.default_rng(seed)
        groups = rng.choice(["c_suite", "staff"], size=200)
        codes = random_codes(rng, 200, len(survey.items), missing=0.0)
        waves.append(analyze(make_responses(survey, codes, groups)))
    doc = trend(waves, ["Q1", "Q2"])
    assert doc["group_labels"] == {"c_suite": "Leadership team", "staff": "Front line"}
    console = Console(record=True, width=100, color_system=None)
    print_trend(doc, console)
    assert "Leadership team - Front line" in console.export_text()
    assert "Leadership team" in visible(render_trend_html(doc)).split("Is the gap closing?")[1]
    repr_html = summary_html(waves[1])
    assert "Leadership team favorable" in repr_html and "c_suite" not in repr_html
    hint = template_rows(survey)[1][template_rows(survey)[0].index(survey.roles.column)]
    assert "Leadership team" in hint and "Front line" in hint
    latest = as_result(waves[1])
    dim = latest.dimensions[0]
    unit = dim.updated(
        title="Dimension",
        gap=dim.gap.model_copy(update={"favorable": 0.17}),
        benchmark={
            "orgs": 12, "groups": {}, "gap": {"favorable_p50": 0.09, "favorable_percentile": 88}
        },
    )
    sentence = benchmark_sentence(latest, unit)
    assert sentence and "Leadership team–Front line gap" in sentence and "c_suite" not in sentence


def test_a_survey_change_is_shown_next_to_the_affected_trend() -> None:
    import numpy as np

    from alignscan.analysis.analysis import analyze
    from alignscan.extras.trend import trend
    from conftest import make_responses, make_survey, random_codes

    v1 = make_survey([[False, False], [False, True]], groups=("executive", "practitioner"))
    dims = list(v1.dimensions)
    items = list(dims[1].items)
    items[0] = items[0].model_copy(update={"text": "A completely different question"})
    dims[1] = dims[1].model_copy(update={"items": items})
    v2 = v1.model_copy(update={"dimensions": dims, "version": "2"})
    waves = []
    for seed, survey in ((1, v1), (2, v2)):
        rng = np.random.default_rng(seed)
        groups = rng.choice(["executive", "practitioner"], size=200)
        codes = random_codes(rng, 200, len(survey.items), missing=0.0)
        waves.append(analyze(make_responses(survey, codes, groups)))
    doc = trend(waves, ["Q1", "Q2"])
    (change,) = doc["comparability"]
    assert change["items"] == [items[0].id] and change["dimensions"] == [dims[1].id]
    page = render_html(waves[1], trend=doc)
    section = re.search(r'<section id="trend">.*?</section>', page, re.S).group(0)
    assert "Survey changed:" in visible(section)
    captions = re.findall(r"<figcaption.*?</figcaption>", section, re.S)
    flagged = [c for c in captions if "survey changed between" in c]
    assert len(flagged) == 1 and dims[1].title in flagged[0]
    # the same definition in both waves: nothing to flag, and no key in the document
    assert "comparability" not in trend([waves[0], waves[0]], ["Q1", "Q2"])


def test_the_story_has_one_interval_and_the_appendix_every_statistic(demo) -> None:
    result, _ = demo
    page = render_html(result)
    story = re.search(r'<table id="gap-table">.*?</table>', page, re.S).group(0)
    head = visible(re.search(r"<thead>.*?</thead>", story, re.S).group(0))
    assert "95% CI" in head and "Significant?" in head and "Effect" in head
    for stat in ("q", "Adjusted", "Cliff", "Alpha"):
        assert not re.search(rf"\b{stat}\b", head), stat
    for d in as_result(result).dimensions:
        row = visible(re.search(rf'<tr data-dimension="{d.id}">.*?</tr>', story, re.S).group(0))
        assert findings.effect_words(d.gap) in row and findings.significance_word(d.gap) in row
    appendix = re.search(r'<section id="statistics".*?</section>', page, re.S).group(0)
    text = visible(appendix)
    for stat in ("Adjusted", " q ", "Cliff's delta", "Effect", "Alpha", "Smallest detectable gap"):
        assert stat in text, stat
    dg = result["detectable_gap"]
    assert f"items {dg['items']:.2f}, dimensions {dg['dimensions']:.2f} {SCALE_UNIT}" in text
    assert page.index('id="summary"') < page.index('id="overview"') < page.index('id="statistics"')
    assert page.index('id="recommendations"') < page.index('id="statistics"')


@pytest.mark.parametrize("width", [60, 200])
def test_the_terminal_legend_explains_a_withheld_figure(demo, width: int) -> None:
    result, _ = demo
    withheld = [d for d in result["dimensions"] if d["gap"] and d["gap"]["favorable"] is None]
    assert withheld, "the demo withholds a favorable gap (a group with an unscored few)"
    console = Console(width=width, record=True, color_system=None)
    print_summary(result, console)
    text = " ".join(console.export_text().split())
    assert "– = withheld (anonymity) or not computable" in text
