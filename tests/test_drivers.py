"""Driver analysis, each figure against an independent computation written here:
statsmodels OLS on every subset of predictors with Shapley weights (brute force),
numpy correlations, and Fisher's z interval by hand."""

from __future__ import annotations

import json
import math
import re
import warnings
from itertools import combinations
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from statsmodels.regression.linear_model import OLS
from statsmodels.tools.tools import add_constant

from alignscan.analysis.analysis import analyze
from alignscan.extras.drivers import DriverStats, driver_stats
from alignscan.render.html import render_html
from alignscan.render.tabular import result_json_schema, result_to_csv
from alignscan.responses import read_responses
from alignscan.survey import Survey, load_survey, load_survey_text
from alignscan.synthetic import generate_responses, write_csv
from conftest import make_responses, run_cli

GROUPS = ("executive", "management", "practitioner")
# dimension id -> reverse flags of its items; "conf" is the outcome
DIMS = {
    "roi": [False, False, True],
    "goals": [False, True, False],
    "talent": [False, False, True, False],
    "delivery": [False, False],
    "conf": [False, False, True],
}


def survey_text(
    dims: dict[str, list[bool]] = DIMS,
    drivers: str = "drivers: {outcome: conf}",
    privacy: str = "privacy: {min_group_size: 5}",
) -> str:
    lines = [
        "id: t",
        "title: Test",
        'version: "1"',
        "scale: {points: 5, labels: [a, b, c, d, e], favorable: [4, 5]}",
        "roles:",
        "  column: role",
        "  groups:",
        *[f"    {g}: [{g.title()}]" for g in GROUPS],
        "  compare: [executive, practitioner]",
        privacy,
        drivers,
        "dimensions:",
    ]
    n = 0
    for dim_id, flags in dims.items():
        lines += [f"  - id: {dim_id}", f"    title: {dim_id.title()}", "    items:"]
        for rev in flags:
            n += 1
            lines.append(f"      - {{id: q{n}, text: Item {n}, reverse: {str(rev).lower()}}}")
    return "\n".join(lines) + "\n"


def make_survey(**kwargs: str) -> Survey:
    result = load_survey_text(survey_text(**kwargs), "t.yaml")
    assert result.ok, result.problems
    assert result.survey is not None
    return result.survey


def simulate(
    rng: np.random.Generator,
    sizes: dict[str, int],
    weights: dict[str, dict[str, float]],
    *,
    common: float = 0.0,
    missing: float = 0.05,
    dims: dict[str, list[bool]] = DIMS,
) -> tuple[np.ndarray, list[str]]:
    """Codes whose outcome (last dimension) is driven per group by `weights`; `common`
    is the loading of every predictor on one shared factor (correlated predictors)."""
    groups = [g for g, n in sizes.items() for _ in range(n)]
    n = len(groups)
    names = list(dims)
    factor = rng.normal(size=n)
    latent = {d: common * factor + rng.normal(size=n) for d in names[:-1]}
    outcome = rng.normal(size=n)
    for g, w in weights.items():
        mask = np.asarray(groups) == g
        outcome[mask] = 0.6 * outcome[mask] + sum(b * latent[d][mask] for d, b in w.items())
    latent[names[-1]] = outcome
    columns = []
    for d, flags in dims.items():
        for rev in flags:
            x = np.clip(np.rint(3 + 0.9 * latent[d] + rng.normal(0, 0.6, n)), 1, 5)
            code = (6 - x) if rev else x
            code[rng.random(n) < missing] = 0
            columns.append(code)
    return np.column_stack(columns).astype(np.int8), groups


# ----------------------------------------------------------------------------- reference


def reference_scores(codes: np.ndarray, dims: dict[str, list[bool]]) -> dict[str, np.ndarray]:
    """Dimension score: mean of answered recoded items when at least half (rounded up)
    are answered; NaN otherwise."""
    out = {}
    col = 0
    for d, flags in dims.items():
        block = codes[:, col : col + len(flags)].astype(float)
        col += len(flags)
        for j, rev in enumerate(flags):
            if rev:
                block[:, j] = np.where(block[:, j] > 0, 6 - block[:, j], 0)
        answered = (block > 0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            score = block.sum(axis=1) / answered
        out[d] = np.where(answered >= math.ceil(len(flags) / 2), score, np.nan)
    return out


def brute_force(y: np.ndarray, x: np.ndarray) -> tuple[float, list[float]]:
    """(R², LMG importances): statsmodels OLS on every subset, Shapley-weighted."""
    p = x.shape[1]
    r2 = {(): 0.0}
    for size in range(1, p + 1):
        for subset in combinations(range(p), size):
            fit = OLS(y, add_constant(x[:, list(subset)], has_constant="add")).fit()
            r2[subset] = float(fit.rsquared)
    importance = []
    for j in range(p):
        others = [k for k in range(p) if k != j]
        total = 0.0
        for size in range(p):
            weight = math.factorial(size) * math.factorial(p - size - 1) / math.factorial(p)
            for subset in combinations(others, size):
                total += weight * (r2[tuple(sorted((*subset, j)))] - r2[subset])
        importance.append(total)
    return r2[tuple(range(p))], importance


def reference_group(codes, groups, group, outcome="conf", predictors=None, dims=DIMS):
    scores = reference_scores(codes, dims)
    predictors = predictors or [d for d in dims if d != outcome]
    table = np.column_stack([scores[outcome], *[scores[d] for d in predictors]])
    keep = (np.asarray(groups) == group) & ~np.isnan(table).any(axis=1)
    return table[keep, 0], table[keep, 1:]


EXEC_DRIVEN = {
    "executive": {"roi": 0.9, "goals": 0.3},
    "practitioner": {"talent": 0.7, "delivery": 0.6},
}


# ----------------------------------------------------------------------------- tests


@pytest.mark.parametrize("common", [0.0, 0.8], ids=["independent", "correlated"])
def test_matches_brute_force_and_recovers_known_drivers(common: float) -> None:
    rng = np.random.default_rng(7)
    survey = make_survey()
    sizes = {"executive": 300, "management": 200, "practitioner": 900}
    codes, groups = simulate(rng, sizes, EXEC_DRIVEN, common=common)
    doc = analyze(make_responses(survey, codes, groups))
    block = doc["drivers"]
    assert block["outcome"] == "conf"
    assert block["predictors"] == ["roi", "goals", "talent", "delivery"]
    assert block["min_group_size"] == 30
    tops = {}
    for group in GROUPS:
        y, x = reference_group(codes, groups, group)
        r2, importance = brute_force(y, x)
        cell = block["groups"][group]
        assert cell["n"] == len(y)
        assert cell["r2"] == pytest.approx(r2, abs=1e-9)
        for j, dim in enumerate(cell["dimensions"]):
            assert dim["id"] == block["predictors"][j]
            assert dim["importance"] == pytest.approx(importance[j], abs=1e-9)
            assert dim["share"] == pytest.approx(importance[j] / r2, abs=1e-9)
            assert dim["r"] == pytest.approx(np.corrcoef(x[:, j], y)[0, 1], abs=1e-9)
        assert sum(importance) == pytest.approx(r2, abs=1e-12)
        tops[group] = {block["predictors"][j] for j in np.argsort(importance)[-2:]}
    # the reference (and so the engine) recovers the drivers the data were built with
    assert tops["executive"] == {"roi", "goals"}
    assert tops["practitioner"] == {"talent", "delivery"}


def test_correlated_predictors_share_credit_unlike_the_full_model() -> None:
    """With strongly correlated predictors, LMG gives a correlated non-driver some credit;
    the importances still add up to R² exactly."""
    rng = np.random.default_rng(11)
    survey = make_survey()
    codes, groups = simulate(
        rng, {"executive": 400, "management": 40, "practitioner": 400}, EXEC_DRIVEN, common=1.5
    )
    cell = analyze(make_responses(survey, codes, groups))["drivers"]["groups"]["executive"]
    imp = {d["id"]: d["importance"] for d in cell["dimensions"]}
    assert sum(imp.values()) == pytest.approx(cell["r2"], abs=1e-12)
    assert imp["talent"] > 0.01  # correlated with roi, so it carries some shared R²
    assert imp["roi"] == max(imp.values())


def test_fisher_ci_by_hand() -> None:
    rng = np.random.default_rng(3)
    survey = make_survey()
    codes, groups = simulate(
        rng, {"executive": 120, "management": 60, "practitioner": 200}, EXEC_DRIVEN
    )
    cell = analyze(make_responses(survey, codes, groups))["drivers"]["groups"]["practitioner"]
    y, x = reference_group(codes, groups, "practitioner")
    n = len(y)
    for j, dim in enumerate(cell["dimensions"]):
        r = float(np.corrcoef(x[:, j], y)[0, 1])
        z = 0.5 * math.log((1 + r) / (1 - r))
        half = 1.96 / math.sqrt(n - 3)
        lo = (math.exp(2 * (z - half)) - 1) / (math.exp(2 * (z - half)) + 1)
        hi = (math.exp(2 * (z + half)) - 1) / (math.exp(2 * (z + half)) + 1)
        assert dim["r_ci"] == pytest.approx([lo, hi], abs=1e-12)


def test_groups_below_the_driver_minimum_are_suppressed() -> None:
    """30 complete respondents are shown; 29 (listwise, after missing scores) are not."""
    rng = np.random.default_rng(5)
    survey = make_survey()
    codes, groups = simulate(
        rng, {"executive": 30, "management": 35, "practitioner": 100}, EXEC_DRIVEN, missing=0.0
    )
    mgmt = np.flatnonzero(np.asarray(groups) == "management")
    codes[mgmt[:6], -3:] = 0  # six managers lose their outcome score: 29 remain
    block = analyze(make_responses(survey, codes, groups))["drivers"]
    assert block["groups"]["executive"]["n"] == 30
    assert block["groups"]["management"] == {"suppressed": True}
    assert block["groups"]["practitioner"]["n"] == 100


def test_min_driver_group_size_is_configurable() -> None:
    rng = np.random.default_rng(5)
    survey = make_survey(privacy="privacy: {min_group_size: 5, min_driver_group_size: 50}")
    codes, groups = simulate(
        rng, {"executive": 49, "management": 50, "practitioner": 60}, {}, missing=0.0
    )
    block = analyze(make_responses(survey, codes, groups))["drivers"]
    assert block["min_group_size"] == 50
    assert block["groups"]["executive"] == {"suppressed": True}
    assert block["groups"]["management"]["n"] == 50


def test_degenerate_data_do_not_crash() -> None:
    """A constant predictor: r null, importance 0. Two identical predictors (singular
    matrix): R² as statsmodels' full OLS, credit split evenly. A constant outcome: r2 null."""
    dims = {"a": [False, False], "b": [False, False], "c": [False, False], "y": [False, False]}
    survey = make_survey(dims=dims, drivers="drivers: {outcome: y}")
    rng = np.random.default_rng(9)
    n = 200
    a = rng.integers(1, 6, size=n)
    c = rng.integers(1, 6, size=n)
    y = np.clip(a + rng.integers(-1, 2, size=n), 1, 5)
    codes = np.column_stack([a, a, a, a, np.full(n, 3), np.full(n, 3), y, y]).astype(np.int8)
    groups = ["executive"] * 100 + ["practitioner"] * 100
    codes[:100, 6:] = 4  # executives: constant outcome
    codes[100:, 4:6] = np.column_stack([c[100:], c[100:]])  # practitioners: c varies
    block = analyze(make_responses(survey, codes, groups))["drivers"]["groups"]
    ex = block["executive"]
    assert ex["r2"] is None and all(d["r"] is None for d in ex["dimensions"])
    pr = {d["id"]: d for d in block["practitioner"]["dimensions"]}
    yy, xx = codes[100:, 6].astype(float), codes[100:, [0, 2, 4]].astype(float)
    with warnings.catch_warnings():  # singular on purpose
        warnings.simplefilter("ignore")
        full = OLS(yy, add_constant(xx)).fit().rsquared
    assert block["practitioner"]["r2"] == pytest.approx(full, abs=1e-9)
    assert pr["a"]["importance"] == pytest.approx(pr["b"]["importance"], abs=1e-12)
    assert sum(d["importance"] for d in pr.values()) == pytest.approx(full, abs=1e-9)
    # practitioners' c varies; make a group where it doesn't: management absent, so check
    # a constant predictor directly through the executives' c (constant 3) with y varying
    codes2 = codes.copy()
    codes2[:100, 6:] = np.column_stack([y[:100], y[:100]])
    ex2 = analyze(make_responses(survey, codes2, groups))["drivers"]["groups"]["executive"]
    c_cell = next(d for d in ex2["dimensions"] if d["id"] == "c")
    assert c_cell["r"] is None and c_cell["r_ci"] is None and c_cell["importance"] == 0.0
    ya, xa = codes2[:100, 6].astype(float), codes2[:100, [0]].astype(float)
    assert ex2["r2"] == pytest.approx(OLS(ya, add_constant(xa)).fit().rsquared, abs=1e-9)


def test_sufficient_statistics_merge() -> None:
    """Statistics of two chunks added up equal those of the whole file, and equal exact
    integer sums computed here."""
    rng = np.random.default_rng(2)
    keys = [rng.integers(0, 21, size=1000) for _ in range(4)]
    tables = [np.concatenate([[-1], np.sort(rng.choice(301, 20, replace=False))]) for _ in keys]
    group = rng.integers(-1, 3, size=1000)
    whole = driver_stats(keys, tables, group, 3, 60)
    first = driver_stats([k[:400] for k in keys], tables, group[:400], 3, 60)
    second = driver_stats([k[400:] for k in keys], tables, group[400:], 3, 60)
    merged: DriverStats = first + second
    assert np.array_equal(merged.n, whole.n)
    assert np.array_equal(merged.sums, whole.sums)
    assert np.array_equal(merged.cross, whole.cross)
    x = np.column_stack([t[k] for t, k in zip(tables, keys, strict=True)]).astype(object)
    keep = (np.column_stack(keys) > 0).all(axis=1) & (group == 1)
    assert whole.n[1] == keep.sum()
    assert np.array_equal(whole.sums[1], x[keep].sum(axis=0))
    assert np.array_equal(whole.cross[1], x[keep].T @ x[keep])


def test_no_drivers_block_without_drivers_and_schema_and_csv() -> None:
    rng = np.random.default_rng(1)
    plain = make_survey(drivers="")
    codes, groups = simulate(rng, {"executive": 60, "management": 10, "practitioner": 60}, {})
    assert "drivers" not in analyze(make_responses(plain, codes, groups))
    doc = analyze(make_responses(make_survey(), codes, groups))
    jsonschema.validate(doc, result_json_schema())
    rows = [
        line.split(",") for line in result_to_csv(doc).splitlines() if line.startswith("driver,")
    ]
    cell = doc["drivers"]["groups"]["executive"]
    by_key = {(r[1], r[4], r[5]): r[6] for r in rows}
    assert float(by_key[("conf", "executive", "r2")]) == cell["r2"]
    assert by_key[("conf", "management", "suppressed")] == "true"
    for dim in cell["dimensions"]:
        assert float(by_key[(dim["id"], "executive", "share")]) == dim["share"]
        assert float(by_key[(dim["id"], "executive", "r_ci_low")]) == dim["r_ci"][0]


def test_many_predictors_importances_sum_to_r2() -> None:
    """15 predictors (the maximum): 32,768 subsets, exact, summing to the full R²."""
    dims = {f"d{i}": [False, False] for i in range(15)} | {"y": [False, False]}
    survey = make_survey(dims=dims, drivers="drivers: {outcome: y}")
    rng = np.random.default_rng(4)
    n = 400
    latent = rng.normal(size=(n, 15))
    yl = latent[:, :3].sum(axis=1) + rng.normal(size=n)
    cols = [
        np.clip(np.rint(3 + latent[:, i // 2] + rng.normal(0, 0.5, n)), 1, 5) for i in range(30)
    ]
    cols += [np.clip(np.rint(3 + 0.5 * yl + rng.normal(0, 0.5, n)), 1, 5) for _ in range(2)]
    codes = np.column_stack(cols).astype(np.int8)
    groups = ["executive"] * 200 + ["practitioner"] * 200
    cell = analyze(make_responses(survey, codes, groups))["drivers"]["groups"]["executive"]
    y, x = reference_group(codes, groups, "executive", outcome="y", dims=dims)
    full = OLS(y, add_constant(x)).fit().rsquared
    assert cell["r2"] == pytest.approx(full, abs=1e-9)
    assert sum(d["importance"] for d in cell["dimensions"]) == pytest.approx(full, abs=1e-9)
    top = sorted(cell["dimensions"], key=lambda d: -d["importance"])[:3]
    assert {d["id"] for d in top} == {"d0", "d1", "d2"}


def _problems(text: str) -> list[tuple[int, str]]:
    result = load_survey_text(text, "t.yaml")
    return [(p.line, p.message) for p in result.errors]


def _line_of(text: str, marker: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if marker in line)


@pytest.mark.parametrize(
    "drivers,marker,message",
    [
        ("drivers: {outcome: nope}", "drivers:", "outcome 'nope' is not a dimension id"),
        (
            "drivers:\n  outcome: conf\n  predictors:\n    - roi\n    - nope",
            "- nope",
            "predictor 'nope' is not a dimension id",
        ),
        (
            "drivers:\n  outcome: conf\n  predictors:\n    - roi\n    - conf",
            "- conf",
            "'conf' is the outcome",
        ),
        (
            "drivers:\n  outcome: conf\n  predictors:\n    - roi\n    - roi",
            "    - roi",
            "listed twice",
        ),
        (
            "drivers:\n  outcome: conf\n  predictors: [roi]",
            "predictors: [roi]",
            "2 to 15 predictors, not 1",
        ),
    ],
    ids=["unknown outcome", "unknown predictor", "outcome as predictor", "twice", "one"],
)
def test_yaml_rules_report_the_line(drivers: str, marker: str, message: str) -> None:
    text = survey_text(drivers=drivers)
    found = _problems(text)
    lines = [line for line, msg in found if message in msg]
    assert lines, found
    expected = _line_of(text, marker)
    if message == "listed twice":  # the second occurrence
        expected = [i for i, ln in enumerate(text.splitlines(), 1) if ln == "    - roi"][1]
    assert lines[0] == expected


def test_yaml_too_many_predictors_by_default() -> None:
    dims = {f"d{i}": [False, False] for i in range(16)} | {"y": [False, False]}
    text = survey_text(dims=dims, drivers="drivers:\n  outcome: y")
    assert (_line_of(text, "drivers:"), "driver analysis needs 2 to 15 predictors, not 16") in (
        _problems(text)
    )


def test_yaml_min_driver_group_size_below_min_group_size() -> None:
    privacy = "privacy:\n  min_group_size: 10\n  min_driver_group_size: 8"
    text = survey_text(privacy=privacy)
    found = _problems(text)
    assert any(
        line == _line_of(text, "min_driver_group_size") and "can't be smaller" in msg
        for line, msg in found
    ), found
    # without drivers and left at its default, a large min_group_size is not an error
    assert (
        _problems(
            survey_text(
                privacy="privacy: {min_group_size: 40, min_comment_group_size: 40}", drivers=""
            )
        )
        == []
    )
    # with drivers, the default 30 under min_group_size 40 is reported
    assert any(
        "min_driver_group_size (30)" in m
        for _, m in _problems(
            survey_text(privacy="privacy: {min_group_size: 40, min_comment_group_size: 40}")
        )
    )


# ----------------------------------------------------------------------------- report, CLI


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[dict, str, Path]:
    survey = load_survey()
    path = write_csv(
        generate_responses(survey, 3000, seed=5), tmp_path_factory.mktemp("drv") / "r.csv"
    )
    result = analyze(read_responses(path, survey))
    return result, render_html(result), path


def _section(html: str) -> str:
    start = html.index('<section id="drivers">')
    return html[start : html.index("</section>", start)]


def test_demo_data_have_the_group_specific_drivers_built_in(demo) -> None:
    result, _, _ = demo
    groups = result["drivers"]["groups"]
    top = {g: max(groups[g]["dimensions"], key=lambda d: d["share"])["id"] for g in groups}
    assert top["executive"] == "roi"
    practitioners = sorted(groups["practitioner"]["dimensions"], key=lambda d: -d["share"])
    assert {d["id"] for d in practitioners[:2]} == {"talent", "delivery"}


def test_report_section_ranks_by_share_and_calls_out_the_quadrant(demo) -> None:
    result, html, _ = demo
    assert html.count('<section id="drivers">') == 1
    assert html.index('id="drivers"') < html.index('id="recommendations"')
    assert "<script" not in html.lower()
    section = _section(html)
    a, b = result["compare"]
    # per compared group, the table rows are the predictors by share, largest first
    tables = re.findall(r"<tbody>(.*?)</tbody>", section, flags=re.S)
    for table, group in zip(tables[:2], (a, b), strict=True):
        cell = result["drivers"]["groups"][group]
        expected = [d["id"] for d in sorted(cell["dimensions"], key=lambda d: -d["share"])]
        assert re.findall(r'data-driver="([^"]+)"', table) == expected
    assert section.count("<svg") == 3  # two bar charts and the priority chart
    # the quadrant, worked out here: gap and importance both above their averages
    titles = {d["id"]: d["title"] for d in result["dimensions"]}
    gaps = {d["id"]: abs(d["gap"]["mean"]) for d in result["dimensions"]}
    imp = {d["id"]: d["importance"] for d in result["drivers"]["groups"][b]["dimensions"]}
    mean_gap = sum(gaps[d] for d in imp) / len(imp)
    mean_imp = sum(imp.values()) / len(imp)
    hot = [d for d in imp if gaps[d] > mean_gap and imp[d] > mean_imp]
    sentence = re.search(r'<p class="lead" style="font-size: 1.1rem">(.*?)</p>', section)
    assert sentence is not None
    for d in imp:
        assert (titles[d] in sentence.group(1)) == (d in hot), (d, sentence.group(1))
    assert "association, not proof of cause" in section
    assert "LMG" in section


def test_recommendations_rank_by_gap_times_importance(demo) -> None:
    result, html, _ = demo
    b = result["compare"][1]
    imp = {d["id"]: d["importance"] for d in result["drivers"]["groups"][b]["dimensions"]}
    meaningful = [
        d
        for d in result["dimensions"]
        if d["gap"]["q_value"] < 0.05 and d["gap"]["magnitude"] != "negligible"
    ]
    ranked = sorted(
        meaningful,
        key=lambda d: (
            (0, -abs(d["gap"]["mean"]) * imp[d["id"]])
            if d["id"] in imp
            else (1, -abs(d["gap"]["mean"]))
        ),
    )
    start = html.index('<section id="recommendations">')
    shown = re.findall(r'<div class="rec">\s*<h3>\d+\. (?:<bdi>)?([^<]+?)(?:</bdi>)? <span', html[start:])
    assert shown == [d["title"] for d in ranked[:3]]
    assert "ordered by gap size times their importance" in html[start:]


def test_suppressed_group_in_the_report(demo) -> None:
    result, _, _ = demo
    doc = json.loads(json.dumps(result))
    doc["drivers"]["groups"][doc["compare"][1]] = {"suppressed": True}
    section = _section(render_html(doc))
    assert "Not shown: fewer than 30" in section
    assert "No priority chart" in section
    assert section.count("<svg") == 1


def test_terminal_summary_shows_the_top_two_drivers(demo) -> None:
    result, _, path = demo
    done = run_cli("analyze", path, "--no-save")
    assert done.returncode == 0, done.stderr
    titles = {d["id"]: d["title"] for d in result["dimensions"]}
    for group in result["compare"]:
        cell = result["drivers"]["groups"][group]
        top = sorted(cell["dimensions"], key=lambda d: -d["share"])[:2]
        label = result["group_labels"][group]  # groups go by their display names
        line = next(ln for ln in done.stdout.splitlines() if ln.strip().startswith(f"{label}:"))
        expected = ", ".join(f"{titles[d['id']]} {d['share']:.0%}" for d in top)
        assert expected in line
