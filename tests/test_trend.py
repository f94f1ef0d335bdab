"""Waves: the change in gap and its CI against an independent computation."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

from alignscan.analysis.analysis import analyze
from alignscan.extras.trend import trend
from alignscan.render.trend_html import render_trend_html
from conftest import make_responses, make_survey, random_codes, run_cli

Z = stats.norm.ppf(0.975)


def wave(seed: int, shift: int, n: int = 300, survey=None, missing_item: int | None = None):
    survey = survey or make_survey(
        [[False, False], [False, True]], groups=("executive", "practitioner")
    )
    rng = np.random.default_rng(seed)
    groups = rng.choice(["executive", "practitioner"], size=n, p=[0.3, 0.7])
    codes = random_codes(rng, n, len(survey.items), missing=0.05)
    ex = groups == "executive"
    codes[ex] = np.where(codes[ex] > 0, np.clip(codes[ex] + shift, 1, 5), 0)
    if missing_item is not None:
        codes[:, missing_item] = 0
    return codes, groups, analyze(make_responses(survey, codes, groups))


def reference_item(codes, groups, k, reverse=False):
    x = codes[:, k].astype(float)
    if reverse:
        x = np.where(x > 0, 6 - x, 0)
    a = x[(groups == "executive") & (x > 0)]
    b = x[(groups == "practitioner") & (x > 0)]
    gap = a.mean() - b.mean()
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return gap, se, a, b


def welch_df(a, b):
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    return (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))


def reference_change(a1, b1, a2, b2):
    """Change of two independent Welch gaps: t interval and p with the
    Welch-Satterthwaite df of the combined se."""
    g1, g2 = a1.mean() - b1.mean(), a2.mean() - b2.mean()
    s1 = math.sqrt(a1.var(ddof=1) / len(a1) + b1.var(ddof=1) / len(b1))
    s2 = math.sqrt(a2.var(ddof=1) / len(a2) + b2.var(ddof=1) / len(b2))
    se = math.hypot(s1, s2)
    df = (s1**2 + s2**2) ** 2 / (s1**4 / welch_df(a1, b1) + s2**4 / welch_df(a2, b2))
    t = stats.t.ppf(0.975, df)
    change = g2 - g1
    return change, [change - t * se, change + t * se], 2 * stats.t.sf(abs(change) / se, df)


def test_change_and_ci_match_an_independent_computation() -> None:
    c1, g1, r1 = wave(1, 1)
    c2, g2, r2 = wave(2, 0)
    doc = trend([r1, r2], ["Q1", "Q2"])
    p_values = []
    for k, row in enumerate(doc["items"]):
        gap1, se1, a1, b1 = reference_item(c1, g1, k, reverse=(k == 3))
        gap2, se2, a2, b2 = reference_item(c2, g2, k, reverse=(k == 3))
        change = row["changes"][0]["gap"]
        ref_change, ref_ci, ref_p = reference_change(a1, b1, a2, b2)
        assert change["change"] == pytest.approx(ref_change, abs=1e-9)
        assert change["ci"] == pytest.approx(ref_ci, abs=1e-9)
        assert change["p_value"] == pytest.approx(ref_p, abs=1e-12)
        if change["q_value"] < 0.05:
            expected = "closing" if abs(gap2) < abs(gap1) else "widening"
            flipped = gap1 * gap2 < 0  # a change of sign reads "reversed" (issue #25)
            assert change["direction"] == ("reversed" if flipped else expected)
            assert change["size_change"] == pytest.approx(abs(gap2) - abs(gap1), abs=1e-12)
        else:
            assert change["direction"] is None
        fav = row["changes"][0]["favorable"]["executive"]
        x1, x2 = int((a1 >= 4).sum()), int((a2 >= 4).sum())
        assert fav["change"] == pytest.approx(x2 / len(a2) - x1 / len(a1), abs=1e-12)
        ref = confint_proportions_2indep(x2, len(a2), x1, len(a1), method="newcomb", compare="diff")
        assert fav["ci"] == pytest.approx(list(ref), abs=1e-9)
        p_values.append(change["p_value"])
    dim_p = [d["changes"][0]["gap"]["p_value"] for d in doc["dimensions"]]
    q = multipletests(dim_p + p_values, method="fdr_bh")[1]
    reported = [d["changes"][0]["gap"]["q_value"] for d in doc["dimensions"]] + [
        i["changes"][0]["gap"]["q_value"] for i in doc["items"]
    ]
    assert reported == pytest.approx(list(q), abs=1e-12)


def test_an_unchanged_gap_has_a_ci_covering_zero() -> None:
    _, _, r = wave(5, 1)
    doc = trend([r, json.loads(json.dumps(r))])
    for row in doc["items"] + doc["dimensions"]:
        change = row["changes"][0]["gap"]
        assert change["change"] == 0
        assert change["ci"][0] < 0 < change["ci"][1]
        assert change["p_value"] == 1.0
        assert change["direction"] is None  # no direction word without a significant change


def test_three_waves_give_consecutive_and_first_to_last_changes() -> None:
    results = [wave(s, shift)[2] for s, shift in ((1, 2), (2, 1), (3, 0))]
    doc = trend(results, ["Q1", "Q2", "Q3"])
    pairs = [(c["from"], c["to"]) for c in doc["dimensions"][0]["changes"]]
    assert pairs == [("Q1", "Q2"), ("Q2", "Q3"), ("Q1", "Q3")]
    d = doc["dimensions"][0]
    total = d["changes"][2]["gap"]["change"]
    assert total == pytest.approx(
        d["changes"][0]["gap"]["change"] + d["changes"][1]["gap"]["change"]
    )


def test_items_are_matched_by_id_across_survey_versions() -> None:
    v1 = make_survey([[False, False], [False, True]], groups=("executive", "practitioner"))
    dims = list(v1.dimensions)
    renamed = dims[1].items[1].model_copy(update={"id": "q9", "text": "A new item"})
    dims[1] = dims[1].model_copy(update={"items": [dims[1].items[0], renamed]})
    v2 = v1.model_copy(update={"dimensions": dims, "version": "2"})
    _, _, r1 = wave(1, 1, survey=v1)
    _, _, r2 = wave(2, 0, survey=v2)
    doc = trend([r1, r2], ["v1", "v2"])
    ids = [i["id"] for i in doc["items"]]
    assert ids == ["q1", "q2", "q3", "q4", "q9"]
    by_id = {i["id"]: i for i in doc["items"]}
    assert by_id["q4"]["waves_present"] == ["v1"] and by_id["q4"]["changes"] == []
    assert by_id["q9"]["waves_present"] == ["v2"]
    assert by_id["q1"]["changes"][0]["gap"] is not None
    assert {p["id"] for p in doc["partial"]} == {"q4", "q9"}


def test_a_cell_hidden_in_one_wave_stays_hidden() -> None:
    _, _, r1 = wave(1, 1)
    _, _, r2 = wave(2, 0, missing_item=0)
    doc = trend([r1, r2])
    q1 = doc["items"][0]
    assert q1["waves"][1]["gap"] is None and q1["waves"][1]["favorable"]["executive"] is None
    assert q1["changes"][0]["gap"] is None
    assert q1["changes"][0]["favorable"]["executive"] is None
    text = json.dumps(doc)
    assert "NaN" not in text
    html = render_trend_html(doc)
    assert not re.search(r"https?://", html) and "<script" not in html
    assert "hidden" in html


def test_trend_needs_two_waves_with_the_same_comparison() -> None:
    _, _, r = wave(1, 1)
    with pytest.raises(ValueError):
        trend([r])
    other = json.loads(json.dumps(r))
    other["compare"] = ["practitioner", "executive"]
    with pytest.raises(ValueError):
        trend([r, other])


def test_trend_command(tmp_path) -> None:
    from alignscan.demo import write_demo_data

    q1, q2 = write_demo_data(tmp_path / "demo", n=500)
    out_json, out_html = tmp_path / "t.json", tmp_path / "t.html"
    cmd = ["trend", str(q1), str(q2), "--labels", "Q1,Q2"]
    done = run_cli(*cmd, "--json", out_json, "--html", out_html, columns=120, env={"PATH": ""})
    assert done.returncode == 0, done.stderr
    assert "closing" in done.stdout or "widening" in done.stdout
    doc = json.loads(out_json.read_text())
    assert doc["labels"] == ["Q1", "Q2"]
    roi = next(d for d in doc["dimensions"] if d["id"] == "roi")
    assert roi["changes"][0]["gap"]["direction"] == "closing"  # the demo's built-in trend
    assert out_html.read_text().startswith("<!DOCTYPE html>")
    bad = run_cli(*cmd[:-2], "--labels", "Q1")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_trend_document_matches_its_schema() -> None:
    import jsonschema

    from alignscan.extras.trend import trend_json_schema

    results = [wave(s, shift)[2] for s, shift in ((1, 2), (2, 1), (3, 0))]
    jsonschema.validate(json.loads(json.dumps(trend(results))), trend_json_schema())


def test_report_with_a_baseline_names_the_significant_change() -> None:
    from alignscan.render.html import render_html

    _, _, before = wave(1, 2, n=600)
    _, _, after = wave(2, 0, n=600)
    doc = trend([before, after], ["Q1", "Q2"])
    html = render_html(after, trend=doc)
    significant = [d for d in doc["dimensions"] if d["changes"][0]["gap"]["q_value"] < 0.05]
    assert significant  # the executives' lift of two scale points disappears
    top = max(significant, key=lambda d: abs(d["changes"][0]["gap"]["change"]))
    # wave labels and titles are bidi-isolated (FSI ... PDI) inside the sentence
    verb = "reversed, from" if top["changes"][0]["gap"]["to_gap"] < 0 else "narrowed by"
    assert f"Since \u2068Q1\u2069, the gap on \u2068{top['title']}\u2069 has {verb}" in html
    assert 'id="trend"' in html and not re.search(r"https?://", html)
    # one small-multiple chart per dimension, each with a point per wave
    charts = re.findall(
        r'<svg role="img" aria-label="Gap on (.*?) across waves".*?</svg>', html, re.S
    )
    assert charts == [f"\u2068{d['title']}\u2069" for d in doc["dimensions"]]
    standalone = render_trend_html(doc)
    assert standalone.count('aria-label="Gap on ') == len(doc["dimensions"])
    assert standalone.count("<circle") == 2 * len(doc["dimensions"])


def _scaled(result, points=None, start=None, favorable=None):
    """A copy of a wave's result as if analysed on another scale definition."""
    other = json.loads(json.dumps(result))
    if points is not None:
        other["scale"]["points"] = points
    if start is not None:
        other["scale"]["start"] = start
    if favorable is not None:
        other["scale"]["favorable"] = favorable
    return other


def test_waves_on_different_scales_are_refused_unless_favorable_only() -> None:
    from alignscan.extras.trend import TrendError

    c1, g1, r1 = wave(1, 1)
    c2, g2, r2 = wave(2, 0)
    seven = _scaled(r2, points=7, favorable=[4, 5])
    with pytest.raises(TrendError, match="different answer scales"):
        trend([r1, seven], ["Q1", "Q2"])
    doc = trend([r1, seven], ["Q1", "Q2"], favorable_only=True)
    assert doc["compared_on"] == "favorable shares"
    assert any("different answer scales" in w for w in doc["warnings"])
    for row in doc["items"] + doc["dimensions"]:
        assert row["changes"][0]["gap"] is None
    for k, row in enumerate(doc["items"]):
        _, _, a1, _ = reference_item(c1, g1, k, reverse=(k == 3))
        _, _, a2, _ = reference_item(c2, g2, k, reverse=(k == 3))
        fav = row["changes"][0]["favorable"]["executive"]
        expected = np.isin(a2, (4, 5)).mean() - np.isin(a1, (4, 5)).mean()
        assert fav["change"] == pytest.approx(expected, abs=1e-12)


def test_each_wave_uses_its_own_favorable_definition_and_a_change_is_a_warning() -> None:
    c1, g1, r1 = wave(1, 1)
    c2, g2, r2 = wave(2, 0)
    # wave 2 counted only 5 as favorable: its published shares follow that definition
    strict = _scaled(r2, favorable=[5])
    doc = trend([r1, strict], ["Q1", "Q2"])
    assert any(
        "favorable answers changed from [4, 5] in Q1 to [5] in Q2" in w for w in doc["warnings"]
    )
    for k, row in enumerate(doc["items"]):
        _, _, a1, _ = reference_item(c1, g1, k, reverse=(k == 3))
        _, _, a2, _ = reference_item(c2, g2, k, reverse=(k == 3))
        fav = row["changes"][0]["favorable"]["executive"]
        expected = (a2 == 5).mean() - np.isin(a1, (4, 5)).mean()
        assert fav["change"] == pytest.approx(expected, abs=1e-12)


def test_dimension_favorable_change_uses_the_clustered_standard_errors() -> None:
    c1, g1, r1 = wave(1, 1)
    c2, g2, r2 = wave(2, 0)
    doc = trend([r1, r2], ["Q1", "Q2"])
    shares, variances = [], []
    for codes, groups in ((c1, g1), (c2, g2)):
        x = codes[:, 0:2].astype(float)  # dimension d0: q1, q2 (not reverse-keyed)
        x[x == 0] = np.nan
        rows = (groups == "executive") & ((~np.isnan(x)).sum(axis=1) >= 1)
        f = np.isin(x[rows], (4, 5)).sum(axis=1)
        m = (~np.isnan(x[rows])).sum(axis=1)
        p = f.sum() / m.sum()
        n = rows.sum()
        shares.append(p)
        variances.append(n / (n - 1) * ((f - p * m) ** 2).sum() / m.sum() ** 2)
    fav = doc["dimensions"][0]["changes"][0]["favorable"]["executive"]
    change = shares[1] - shares[0]
    half = Z * math.sqrt(sum(variances))
    assert fav["change"] == pytest.approx(change, abs=1e-12)
    assert fav["ci"] == pytest.approx([change - half, change + half], abs=1e-9)


def test_small_groups_use_t_with_welch_satterthwaite_df() -> None:
    survey = make_survey([[False, False]], groups=("executive", "practitioner"), segments=())
    groups = np.asarray(["executive"] * 5 + ["practitioner"] * 7)
    waves, results = [], []
    for seed in (3, 4):
        codes = random_codes(np.random.default_rng(seed), 12, 2, missing=0.0)
        waves.append(codes)
        results.append(analyze(make_responses(survey, codes, groups)))
    change = trend(results)["items"][0]["changes"][0]["gap"]
    _, _, a1, b1 = reference_item(waves[0], groups, 0)
    _, _, a2, b2 = reference_item(waves[1], groups, 0)
    _, ref_ci, ref_p = reference_change(a1, b1, a2, b2)
    assert change["ci"] == pytest.approx(ref_ci, abs=1e-9)
    assert change["p_value"] == pytest.approx(ref_p, abs=1e-12)
    assert change["ci"][1] - change["ci"][0] > 2 * Z * change["se"]  # wider than z's


def test_zero_spread_in_both_waves_is_degenerate_not_a_crash() -> None:
    survey = make_survey([[False, False]], groups=("executive", "practitioner"), segments=())
    groups = np.asarray(["executive"] * 6 + ["practitioner"] * 6)
    results = []
    for exec_code in (4, 2):
        codes = np.full((12, 2), 3, dtype=np.int8)
        codes[:6] = exec_code
        codes[:, 1] = 3
        results.append(analyze(make_responses(survey, codes, groups)))
    doc = trend(results)
    moved, still = (row["changes"][0]["gap"] for row in doc["items"])
    assert moved["change"] == -2.0 and moved["ci"] == [-2.0, -2.0] and moved["p_value"] == 0.0
    assert moved["direction"] == "reversed"  # +1 to -1, both exactly away from zero
    assert still["change"] == 0.0 and still["p_value"] == 1.0 and still["direction"] is None


def test_a_change_of_sign_is_reversed_in_the_document_and_the_sentence() -> None:
    from alignscan.result.findings import trend_sentence
    from alignscan.result.models import as_trend

    _, _, before = wave(1, 2, n=600)
    _, _, after = wave(2, -2, n=600)
    doc = trend([before, after], ["Q1", "Q2"])
    d0 = doc["dimensions"][0]["changes"][0]["gap"]
    assert d0["from_gap"] > 0 > d0["to_gap"] and d0["direction"] == "reversed"
    assert "has reversed, from +" in trend_sentence(as_trend(doc))


def test_shared_respondents_make_a_note_that_the_interval_is_conservative() -> None:
    _, _, r1 = wave(1, 1)
    _, _, r2 = wave(2, 0)
    doc = trend([r1, r2], ["Q1", "Q2"], shared={(0, 1): 120})
    assert any("share 120 respondent ids" in n and "conservative" in n for n in doc["notes"])
    assert trend([r1, r2])["notes"] == []


def test_a_shared_count_below_the_minimum_is_never_stated() -> None:
    """Issue 26: "Q1 and Q2 share 2 respondent ids" is a count of 2 people."""
    _, _, r1 = wave(1, 1)
    _, _, r2 = wave(2, 0)
    minimum = max(r1["min_group_size"], r2["min_group_size"])
    for count in range(1, minimum):
        notes = trend([r1, r2], ["Q1", "Q2"], shared={(0, 1): count})["notes"]
        assert len(notes) == 1 and "some respondent ids appear in both Q1 and Q2" in notes[0]
        assert not any(ch.isdigit() for ch in notes[0].replace("Q1", "").replace("Q2", ""))
    at_min = trend([r1, r2], ["Q1", "Q2"], shared={(0, 1): minimum})["notes"]
    assert f"share {minimum} respondent ids" in at_min[0]


def test_trend_command_refuses_different_scales_and_notes_shared_ids(tmp_path) -> None:
    from alignscan.render.tabular import result_to_json

    _, _, r1 = wave(1, 1)
    _, _, r2 = wave(2, 0)
    first, seven = tmp_path / "q1.json", tmp_path / "q2.json"
    first.write_text(result_to_json(r1))
    seven.write_text(result_to_json(_scaled(r2, points=7, favorable=[6, 7])))
    cmd = ["trend", str(first), str(seven)]
    env = {"PATH": ""}
    refused = run_cli(*cmd, env=env)
    assert refused.returncode == 1 and "different answer scales" in refused.stderr
    assert "Traceback" not in refused.stderr
    done = run_cli(*cmd, "--favorable-only", "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["compared_on"] == "favorable shares" and doc["warnings"]
    # the same responses twice: every respondent id is in both waves
    csv = tmp_path / "wave.csv"
    lines = ["respondent_id,role,q1"] + [
        f"R{i},{'Exec' if i < 8 else 'Eng'},{1 + i % 5}" for i in range(30)
    ]
    csv.write_text("\n".join(lines) + "\n")
    survey = tmp_path / "s.yaml"
    survey.write_text(
        "id: s\ntitle: S\nversion: '1'\nrespondent_id: respondent_id\n"
        "scale: {points: 5, labels: [a, b, c, d, e], favorable: [4, 5]}\n"
        "roles: {column: role, groups: {executive: [Exec], practitioner: [Eng]}, "
        "compare: [executive, practitioner]}\n"
        "dimensions: [{id: d, title: D, items: [{id: q1, text: One}]}]\n"
    )
    paired = run_cli("trend", csv, csv, "--survey", survey, env=env)
    assert paired.returncode == 0, paired.stderr
    assert "share 30 respondent ids" in paired.stdout and "conservative" in paired.stdout


@pytest.fixture(autouse=True)
def _every_trend_document_is_typed(monkeypatch):
    """Every trend document these tests make must validate against the typed model and
    be written back byte for byte (the schema is generated from that model)."""
    import json

    import alignscan.extras.trend as trend_module
    from alignscan.result.models import TrendDocument

    real = trend_module.trend

    def checked(*args, **kwargs):
        doc = real(*args, **kwargs)
        text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        assert TrendDocument.model_validate_json(text).to_json() == text
        checked.calls += 1
        return doc

    checked.calls = 0

    monkeypatch.setattr(trend_module, "trend", checked)
    monkeypatch.setitem(globals(), "trend", checked)  # the name these tests call
