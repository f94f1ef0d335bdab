"""Issue 17: a report a board can read without a guide. Raw answers under their own labels,
display names, the top item gaps, low reliability, trend words that follow significance,
`report result.json` == `analyze --baseline`, branding, and the action-split warning."""

from __future__ import annotations

import base64
import html as htmlmod
import json
import re
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from alignscan.analysis.analysis import analyze
from alignscan.extras.trend import trend
from alignscan.render.html import render_html
from alignscan.render.terminal import print_summary, print_trend
from alignscan.survey import load_survey_text
from conftest import make_responses, make_survey, random_codes


def visible_text(page: str) -> str:
    """The text a reader sees: tags, comments and bidi isolates removed, entities decoded."""
    body = re.sub(r"<style.*?</style>|<title>.*?</title>|<desc>.*?</desc>", " ", page, flags=re.S)
    text = htmlmod.unescape(re.sub(r"<[^>]+>", " ", body))
    return re.sub(r"\s+", " ", text.replace("\u2068", "").replace("\u2069", ""))


def terminal_text(draw, doc) -> str:
    console = Console(record=True, width=80, color_system=None, emoji=False)
    draw(doc, console)
    return console.export_text()


def item_figure(page: str, text: str) -> str:
    figures = re.findall(r"<figure>.*?</figure>", page, re.S)
    return next(f for f in figures if f"{text}</bdi>" in f.split("</figcaption>")[0])


def table_rows(fragment: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", fragment, re.S)
    return [
        [visible_text(c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)]
        for r in rows
    ]


# ----------------------------------------------------------------------------- raw answers


def test_a_reverse_keyed_item_shows_the_answers_people_gave_under_their_labels() -> None:
    survey = make_survey([[False, True]], groups=("executive", "practitioner"), segments=())
    rng = np.random.default_rng(3)
    codes = random_codes(rng, 40, 2, missing=0.0)
    groups = ["executive"] * 10 + ["practitioner"] * 30
    # leaders answered the negative statement 4 x L1 (strongly disagree) and 6 x L2
    codes[:10, 1] = [1] * 4 + [2] * 6
    result = analyze(make_responses(survey, codes, groups))
    cell = next(i for i in result["items"] if i["id"] == "q2")["groups"]["executive"]
    assert cell["answer_counts"] == {"1": 4, "2": 6, "3": 0, "4": 0, "5": 0}
    assert cell["counts"] == {"1": 0, "2": 0, "3": 0, "4": 6, "5": 4}  # recoded 6 - x
    assert cell["favorable"] == 1.0  # disagreeing with a negative statement is favorable
    page = render_html(result)
    figure = item_figure(page, "Item 2")
    header, *rows = table_rows(figure)
    assert header[1:6] == ["L1", "L2", "L3", "L4", "L5"]
    execs = next(r for r in rows if r[0] == "Executive")
    assert execs[1:6] == ["4", "6", "0", "0", "0"]
    # practitioners: the table shows their raw answers, counted here from the codes
    raw = np.bincount(codes[10:, 1], minlength=6)[1:]
    prac = next(r for r in rows if r[0] == "Practitioner")
    assert prac[1:6] == [str(v) for v in raw]
    assert "reverse-keyed: disagreeing is favorable" in figure
    # the bar: favorable on the right; its tooltips name the answers people gave
    tips = re.findall(r"<rect x=\"([\d.]+)\"[^>]*><title>\u2068(L\d)\u2069: (\d+) ", figure)
    execs_tips = [(float(x), label, int(n)) for x, label, n in tips][:2]
    assert sorted(execs_tips)[-1][1:] == ("L1", 4)  # strongly disagree is the favorable end
    assert {(label, n) for _, label, n in execs_tips} == {("L1", 4), ("L2", 6)}


# ----------------------------------------------------------------------------- labels

LABELLED = """\
id: labelled
title: Labelled
version: "1"
scale:
  points: 5
  labels: [Strongly disagree, Disagree, Neutral, Agree, Strongly agree]
  favorable: [4, 5]
roles:
  column: role
  groups:
    c_suite: [CEO]
    middle_mgmt: [Manager]
    frontline_staff: [Engineer]
  compare: [c_suite, frontline_staff]
  labels:
    c_suite: Executives
    frontline_staff: Practitioners
dimensions:
  - id: d0
    title: Dimension zero
    items:
      - {id: q1, text: First item}
      - {id: q2, text: Second item}
"""


def test_display_labels_appear_and_raw_ids_do_not() -> None:
    loaded = load_survey_text(LABELLED, "s.yaml")
    assert loaded.ok, loaded.problems
    survey = loaded.survey
    rng = np.random.default_rng(5)
    groups = ["c_suite"] * 30 + ["middle_mgmt"] * 20 + ["frontline_staff"] * 60
    codes = random_codes(rng, len(groups), 2, missing=0.0)
    result = analyze(make_responses(survey, codes, groups))
    assert result["group_labels"] == {
        "c_suite": "Executives",
        "middle_mgmt": "Middle mgmt",  # the default: never a guessed plural
        "frontline_staff": "Practitioners",
    }
    assert list(result["items"][0]["groups"]) == ["c_suite", "middle_mgmt", "frontline_staff"]
    shown = visible_text(render_html(result))
    for label in ("Executives", "Practitioners", "Middle mgmt"):
        assert label in shown
    for raw in ("c_suite", "frontline_staff", "middle_mgmt", "C_suite"):
        assert raw not in shown
    term = terminal_text(print_summary, result)
    assert "Executives vs Practitioners" in term and "c_suite" not in term
    from alignscan.render.tabular import result_to_csv

    csv = result_to_csv(result)
    assert "group,,,,c_suite,label,Executives" in csv


def test_a_label_for_an_unknown_group_is_an_error_on_its_line() -> None:
    text = LABELLED.replace("    frontline_staff: Practitioners\n", "    staff: Practitioners\n")
    loaded = load_survey_text(text, "s.yaml")
    assert not loaded.ok
    line = text.splitlines().index("    staff: Practitioners") + 1
    [problem] = loaded.errors
    assert problem.line == line and "unknown group 'staff'" in problem.message


def test_validate_warns_when_an_action_starts_with_a_lowercase_connective() -> None:
    text = LABELLED.replace(
        "    title: Dimension zero\n",
        "    title: Dimension zero\n    actions: [Agree KPIs with the teams, and review them]\n",
    )
    loaded = load_survey_text(text, "s.yaml")
    assert loaded.ok
    [warning] = [p for p in loaded.problems if p.severity == "warning"]
    assert "starts with 'and'" in warning.message and warning.path.endswith("actions[1]")
    block = text.replace(
        "[Agree KPIs with the teams, and review them]",
        '\n      - "Agree KPIs with the teams, and review them"',
    )
    assert not load_survey_text(block, "s.yaml").problems


# ----------------------------------------------------------------------------- top gaps


def test_top_gaps_rank_the_ten_largest_significant_item_gaps_like_the_terminal() -> None:
    survey = make_survey([[False] * 6, [False, True] * 3, [True] * 4], segments=())
    rng = np.random.default_rng(11)
    n = 600
    groups = rng.choice(["executive", "management", "practitioner"], size=n, p=[0.3, 0.2, 0.5])
    codes = random_codes(rng, n, len(survey.items), missing=0.05)
    ex = groups == "executive"
    lift = rng.integers(0, 3, size=len(survey.items))  # 0, 1 or 2 scale points per item
    codes[ex] = np.where(codes[ex] > 0, np.clip(codes[ex] + lift, 1, 5), 0)
    result = analyze(make_responses(survey, codes, groups))
    # independent: each item's gap from the codes (recoded), then the ranking rule
    gaps = {}
    for j, item in enumerate(survey.items):
        x = codes[:, j].astype(float)
        x = np.where(x > 0, 6 - x, 0) if item.reverse else x
        ma = x[ex & (x > 0)].mean()
        mb = x[(groups == "practitioner") & (x > 0)].mean()
        gaps[item.id] = ma - mb
    q = {i["id"]: i["gap"]["q_value"] for i in result["items"]}
    expected = sorted((k for k in gaps if q[k] < 0.05), key=lambda k: (-abs(gaps[k]), q[k], k))
    expected = expected[:10]
    assert len(expected) == 10
    page = render_html(result)
    section = re.search(r'<section id="top-gaps">.*?</section>', page, re.S).group(0)
    assert re.findall(r'<tr data-item="(\w+)">', section) == expected
    term = terminal_text(print_summary, result)
    order = [m for m in re.findall(r"^ (q\d+) ", term, re.M)]
    assert order == expected


# ----------------------------------------------------------------------------- reliability


def cronbach(x: np.ndarray) -> float:
    k = x.shape[1]
    return k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))


def test_low_reliability_is_flagged_and_never_headlines() -> None:
    survey = make_survey(
        [[False] * 3, [False] * 3], groups=("executive", "practitioner"), segments=()
    )
    rng = np.random.default_rng(2)
    n = 800
    groups = np.array(["executive"] * 300 + ["practitioner"] * 500)
    ex = groups == "executive"
    noise = rng.integers(1, 6, size=(n, 3))  # d0: unrelated items ...
    noise[ex] = np.clip(noise[ex] + 1, 1, 5)  # ... with the largest gap
    base = rng.integers(2, 5, size=n) + ex * 0.4  # d1: one trait, three items, a smaller gap
    coherent = np.clip(np.rint(base[:, None] + rng.normal(0, 0.45, size=(n, 3))), 1, 5)
    codes = np.hstack([noise, coherent]).astype(np.int8)
    assert cronbach(codes[:, :3].astype(float)) < 0.5 < 0.6 < cronbach(codes[:, 3:].astype(float))
    result = analyze(make_responses(survey, codes, list(groups)))
    d0, d1 = result["dimensions"]
    assert abs(d0["alpha"] - cronbach(codes[:, :3].astype(float))) < 1e-9
    assert abs(d0["gap"]["mean"]) > abs(d1["gap"]["mean"]) and d1["gap"]["q_value"] < 0.05
    page = render_html(result)
    overview = re.search(r'<table id="dimension-table">.*?</table>', page, re.S).group(0)
    rows = dict(re.findall(r'<tr data-dimension="(d\d)">(.*?)</tr>', overview, re.S))
    assert "low reliability" in rows["d0"] and "low reliability" not in rows["d1"]
    recs = re.search(r'<section id="recommendations">.*?</section>', page, re.S).group(0)
    assert "Dimension 0" in recs and "low reliability" in recs
    lead = visible_text(re.search(r'<p class="lead">.*?</p>', page, re.S).group(0))
    assert "Dimension 1" in lead and "Dimension 0" not in lead  # alpha < 0.5: no headline
    term = terminal_text(print_summary, result)
    assert re.search(r"low reliability.*Dimension 0", term) and "Dimension 1;" not in term


# ----------------------------------------------------------------------------- trend


def wave(seed: int, shift: int, n: int = 500):
    survey = make_survey(
        [[False, False], [False, True]], groups=("executive", "practitioner"), segments=()
    )
    rng = np.random.default_rng(seed)
    groups = rng.choice(["executive", "practitioner"], size=n, p=[0.4, 0.6])
    codes = random_codes(rng, n, 4, missing=0.0)
    ex = groups == "executive"
    codes[ex, :2] = np.clip(codes[ex, :2] + shift, 1, 5)  # d0 moves, d1 does not
    return analyze(make_responses(survey, codes, groups))


def test_trend_words_follow_significance_everywhere() -> None:
    from alignscan.result.findings import change_words, trend_sentence
    from alignscan.result.models import as_trend

    doc = trend([wave(1, 2), wave(2, 0)], ["Q1", "Q2"])
    d0, d1 = (d["changes"][-1]["gap"] for d in doc["dimensions"])
    assert d0["q_value"] < 0.05 and d0["direction"] == "closing"
    assert d1["q_value"] >= 0.05 and d1["direction"] is None
    # a narrowing is stated with an interval of the same sign as its size
    typed = as_trend(doc)
    g0, g1 = (d.changes[-1].gap for d in typed.dimensions)
    words = change_words(g0)
    size, lo, hi = (
        float(v)
        for v in re.search(
            r"narrowed by ([\d.]+) points, 95% CI ([\d.]+) to ([\d.]+)", words
        ).groups()
    )
    assert size == round(-d0["change"], 2) and 0 < lo <= size <= hi
    assert (lo, hi) == (round(-d0["ci"][1], 2), round(-d0["ci"][0], 2))
    assert change_words(g1) == "no clear change"
    assert "has narrowed by" in trend_sentence(typed) and "Dimension 0" in trend_sentence(typed)
    page = render_html(wave(2, 0), trend=doc)
    rows = dict(re.findall(r'<tr data-trend="(d\d)">(.*?)</tr>', page, re.S))
    assert "closing" in rows["d0"] and "no clear change" in rows["d1"]
    assert "closing" not in rows["d1"] and "widening" not in rows["d1"]
    captions = re.findall(r'<figcaption style="color: var\(--ink\)"><b>.*?</figcaption>', page)
    assert "narrowed by" in captions[0] and "no clear change" in captions[1]
    term = terminal_text(print_trend, doc)
    lines = {line.split()[0]: line for line in term.splitlines() if line.lstrip().startswith("d")}
    assert "closing" in lines["d0"] and "no clear" in lines["d1"]
    # and when nothing changed significantly, nothing is called closing or widening
    flat = trend([wave(3, 0), wave(4, 0)], ["Q1", "Q2"])
    assert all(d["changes"][-1]["gap"]["direction"] is None for d in flat["dimensions"])
    assert "no clear change" in trend_sentence(as_trend(flat))
    assert "closing" not in terminal_text(print_trend, flat)


def test_qvalues_near_the_threshold_cannot_be_misread() -> None:
    from alignscan.render.formats import qfmt

    assert [qfmt(q) for q in (0.05004, 0.04996, 0.0504, 0.2, 0.0004, 0.012, None)] == [
        "0.050",  # not below 0.05, as printed: not significant
        "<\u00a00.05",  # 0.050 beside a bold gap would be misread
        "0.050",
        "0.200",
        "<\u00a00.001",
        "0.012",
        "–",
    ]


# ----------------------------------------------------------------------------- round trip


@pytest.fixture(scope="module")
def demo_waves(tmp_path_factory):
    from alignscan.demo import write_demo_data

    folder = tmp_path_factory.mktemp("demo")
    before, after = write_demo_data(folder)
    return folder, Path(before), Path(after)


def cli(*args: str) -> int:
    from typer.testing import CliRunner

    from alignscan.cli import app

    done = CliRunner().invoke(app, list(args))
    assert done.exit_code == 0, done.output
    return done.exit_code


def test_report_from_result_json_is_the_report_analyze_wrote(demo_waves, tmp_path) -> None:
    _, before, after = demo_waves
    out = tmp_path / "out"
    cli("analyze", str(after), "--baseline", str(before), "--out", str(out), "--date", "2026-04-15")
    saved = json.loads((out / "result.json").read_text("utf-8"))
    assert saved["trend"]["labels"] == ["baseline", "this wave"]
    assert saved["report_date"] == "2026-04-15"
    cli("report", str(out / "result.json"), "--html", str(tmp_path / "again.html"))
    first = (out / "report.html").read_text("utf-8")
    assert (tmp_path / "again.html").read_text("utf-8") == first
    assert 'id="trend"' in first and "2026-04-15" in first


# ----------------------------------------------------------------------------- branding

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def test_branding_is_embedded_and_bad_logos_are_refused_on_their_line(tmp_path) -> None:
    (tmp_path / "logo.png").write_bytes(PNG)
    (tmp_path / "logo.svg").write_text("<svg/>")
    (tmp_path / "big.png").write_bytes(PNG + b"\0" * 210_000)
    branded = LABELLED + "report:\n  client: Acme Corp\n  prepared_by: Jo Analyst\n  logo: LOGO\n"
    good = load_survey_text(branded.replace("LOGO", "logo.png"), "s.yaml", tmp_path)
    assert good.ok, good.problems
    uri = good.survey.report.logo
    assert uri == "data:image/png;base64," + base64.b64encode(PNG).decode()
    line = branded.splitlines().index("  logo: LOGO") + 1
    for logo, reason in [
        ("logo.svg", "SVG"),
        ("https://x.example/l.png", "URL"),
        ("big.png", "200 KB"),
        ("missing.png", "can't read"),
    ]:
        bad = load_survey_text(branded.replace("LOGO", logo), "s.yaml", tmp_path)
        [problem] = bad.errors
        assert problem.line == line and reason in problem.message, problem
    rng = np.random.default_rng(1)
    groups = ["c_suite"] * 30 + ["middle_mgmt"] * 20 + ["frontline_staff"] * 60
    result = analyze(make_responses(good.survey, random_codes(rng, 110, 2), groups))
    assert result["report"] == {"client": "Acme Corp", "prepared_by": "Jo Analyst", "logo": uri}
    page = render_html(result)
    header = re.search(r"<header>.*?</header>", page, re.S).group(0)
    assert f'src="{uri}"' in header and "Acme Corp" in header and "Jo Analyst" in header
    footer = re.search(r"<footer>.*?</footer>", page, re.S).group(0)
    assert "Acme Corp" in footer and "prepared by" in footer
    from alignscan.render.tabular import result_to_json
    from alignscan.result.models import ResultDocument

    text = result_to_json(result)
    assert ResultDocument.model_validate_json(text).to_json() == text


def test_the_terminal_summary_reads_well_at_80_columns(demo_waves) -> None:
    from alignscan.api import analyze as analyze_file
    from alignscan.render.terminal import print_written

    _, _, after = demo_waves
    result = analyze_file(after).document
    text = terminal_text(print_summary, result)
    assert max(len(line) for line in text.splitlines()) <= 80
    tokens = set(re.findall(r"[A-Za-z]+", text))
    for d in result["dimensions"]:
        assert re.search(rf"^ {d['id']} ", text, re.M), d["id"]  # ids whole, never folded
    shown = [i for i in result["items"] if i["gap"] and i["gap"]["q_value"] < 0.05]
    shown.sort(key=lambda i: (-abs(i["gap"]["mean"]), i["gap"]["q_value"], i["id"]))
    for item in shown[:10]:
        words = re.findall(r"[A-Za-z]+", item["text"])
        assert set(words) <= tokens, item["id"]  # every word of the text printed whole
    long = "/a/very/long/folder/name/that/does/not/fit/on/one/line/of/eighty/columns/report.html"
    console = Console(record=True, width=80, color_system=None)
    print_written([long], console)
    assert long in console.export_text().splitlines()[1]
