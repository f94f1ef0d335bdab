"""Small groups are the normal case (issue #25): error rates of the flags and of the
dimension favorable interval by seeded simulation (3, 5, 8, 20 executives against 2,000
practitioners), power at 60 beside Welch's, the empirical-likelihood statistic against an
independent constrained fit, and the figures of a small group in the analysis."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import chdtri

from alignscan.analysis import el
from alignscan.analysis.analysis import analyze
from alignscan.analysis.stats import WELCH_MIN
from alignscan.result.models import as_result
from conftest import make_responses, make_survey

_SIM = Path(__file__).resolve().parents[1] / "benchmarks" / "sim_small_groups.py"
_spec = importlib.util.spec_from_file_location("sim_small_groups", _SIM)
assert _spec is not None and _spec.loader is not None
sim = importlib.util.module_from_spec(_spec)
sys.modules["sim_small_groups"] = sim
_spec.loader.exec_module(sim)

SIZES = [3, 5, 8, 20]


@pytest.mark.parametrize("scenario", ["equal", "narrow", "polarised", "skew"])
def test_any_flag_rate_stays_at_or_below_7_percent(scenario: str) -> None:
    """36 gaps with equal means in both groups, BH at 0.05: the share of replications
    with any flag stays <= 7% at every size, where Welch's flags are far above it."""
    rates = sim.flag_rates(sim.draws(scenario, SIZES, 200, seed=2025))
    for n in SIZES:
        assert rates[n]["new"][0] <= 0.07, (scenario, n, rates)
    # the scenario is one where the old rule fails: the test can fail
    assert max(rates[n]["welch"][0] for n in SIZES) > 0.15, rates


@pytest.mark.parametrize("scenario", ["equal", "polarised", "skew"])
def test_dimension_favorable_interval_holds_at_3_to_8(scenario: str) -> None:
    """Equal favorable shares: the dimension favorable-gap interval excludes 0 in <= 7%
    of the replications (the clustered z interval: up to a quarter at 3)."""
    rates = sim.favorable_rates(sim.draws(scenario, [3, 5, 8], 100, seed=2026))
    for n, (_, new) in rates.items():
        assert new <= 0.07, (scenario, n, rates)
    assert max(old for old, _ in rates.values()) > 0.08, rates


def test_power_at_60_is_within_10_points_of_welch() -> None:
    """A true gap of half a point on every item: at 60 executives the share of item gaps
    flagged is within 10 points of Welch's."""
    rates = sim.flag_rates(sim.draws("shift", [60], 100, seed=2027))[60]
    assert rates["welch"][1] > 0.5
    assert rates["new"][1] >= rates["welch"][1] - 0.10, rates


# ----------------------------------------------------------------------------- the statistic


def _constrained_fit(a: np.ndarray, b: np.ndarray, v: np.ndarray, d: float) -> float:
    """-2 log R of mean_A - mean_B = d, by a direct fit of two multinomials on the whole
    support (softmax parameters, SLSQP, several starts): independent of alignscan.analysis.el."""
    k = len(v)
    rng = np.random.default_rng(0)

    def split(z):
        p, q = np.exp(z[:k] - z[:k].max()), np.exp(z[k:] - z[k:].max())
        return p / p.sum(), q / q.sum()

    def nll(z):
        p, q = split(z)
        return -(a @ np.log(np.maximum(p, 1e-300)) + b @ np.log(np.maximum(q, 1e-300)))

    cons = {"type": "eq", "fun": lambda z: split(z)[0] @ v - split(z)[1] @ v - d}
    best = min(
        minimize(
            nll,
            rng.normal(size=2 * k),
            constraints=[cons],
            method="SLSQP",
            options={"maxiter": 3000, "ftol": 1e-15},
        ).fun
        for _ in range(3)
    )
    full = -(a[a > 0] @ np.log(a[a > 0] / a.sum()) + b[b > 0] @ np.log(b[b > 0] / b.sum()))
    return 2 * (best - full)


CASES = [
    ([0, 0, 0, 3, 0], [100, 200, 300, 200, 100]),  # three who agree
    ([0, 0, 2, 3, 1], [10, 20, 30, 20, 10]),
    ([1, 0, 0, 0, 4], [0, 5, 5, 0, 0]),
    ([0, 0, 0, 5, 0], [0, 0, 0, 0, 7]),  # both without spread
]


@pytest.mark.parametrize(("a", "b"), CASES)
def test_statistic_and_interval_match_a_direct_constrained_fit(a, b) -> None:
    a, b, v = np.asarray(a, float), np.asarray(b, float), np.arange(1.0, 6.0)
    crit = 3.0
    stat, low, high = el.test_and_interval(el.Pair.of(a, b, v), np.array([crit]))
    assert stat is not None
    assert stat[0] == pytest.approx(_constrained_fit(a, b, v, 0.0), rel=1e-5)
    for end in (low[0], high[0]):  # the interval ends are where -2 log R reaches crit
        assert _constrained_fit(a, b, v, end) == pytest.approx(crit, rel=1e-5)
    assert low[0] < el.Pair.of(a, b, v).estimate()[0] < high[0]


def test_calibration_tends_to_chi_square() -> None:
    """F(1, 2n) at 95%: stricter than chi-square(1) for small n, the same in the limit."""
    crit = el.critical(0.95, np.array([3, 8, 20, 10**7]))
    assert crit[0] > crit[1] > crit[2] > crit[3]
    assert crit[3] == pytest.approx(chdtri(1, 0.05), rel=1e-5)


# ----------------------------------------------------------------------------- the analysis


def _small_result(exec_codes: np.ndarray, prac_codes: np.ndarray) -> dict:
    survey = make_survey([[False, False]], groups=("executive", "practitioner"), segments=())
    codes = np.vstack([exec_codes, prac_codes]).astype(np.int8)
    groups = ["executive"] * len(exec_codes) + ["practitioner"] * len(prac_codes)
    return analyze(make_responses(survey, codes, groups))


def test_zero_spread_is_not_certainty() -> None:
    """Five executives who all answer 5 against practitioners at 4.6 on average: no
    interval of zero width and no flag from a zero standard error."""
    rng = np.random.default_rng(3)
    prac = np.where(rng.random((400, 2)) < 0.6, 5, 4)
    result = _small_result(np.full((5, 2), 5), prac)
    for unit in result["items"] + result["dimensions"]:
        g = unit["gap"]
        assert g["mean_ci"][1] - g["mean_ci"][0] > 0.3
        assert g["mean_ci_adjusted"][0] < 0 < g["mean_ci_adjusted"][1]
        assert g["q_value"] >= 0.05 and g["p_value"] > 0.05


def test_small_gap_adjusted_interval_excludes_zero_exactly_when_flagged() -> None:
    rng = np.random.default_rng(4)
    prac = rng.integers(1, 6, size=(500, 2))
    result = _small_result(np.array([[5, 3], [5, 2], [4, 4], [5, 3], [5, 3], [5, 4]]), prac)
    flags = []
    for unit in result["items"] + result["dimensions"]:
        g = unit["gap"]
        lo, hi = g["mean_ci_adjusted"]
        flags.append(g["q_value"] < 0.05)
        assert (lo > 0 or hi < 0) == (g["q_value"] < 0.05)
        assert lo <= g["mean"] <= hi and g["mean_ci"][0] <= g["mean"] <= g["mean_ci"][1]
    assert any(flags) and not all(flags)  # both sides of the rule are exercised


def test_both_groups_at_the_threshold_keep_welch() -> None:
    from scipy import stats

    rng = np.random.default_rng(5)
    a, b = rng.integers(1, 6, size=(WELCH_MIN, 2)), rng.integers(2, 6, size=(WELCH_MIN, 2))
    result = _small_result(a, b)
    welch = stats.ttest_ind(a[:, 0], b[:, 0], equal_var=False)
    assert result["items"][0]["gap"]["p_value"] == pytest.approx(welch.pvalue, rel=1e-9)
    below = _small_result(a[:-1], b)  # one fewer: the small-group test
    assert below["items"][0]["gap"]["p_value"] != pytest.approx(
        stats.ttest_ind(a[:-1, 0], b[:, 0], equal_var=False).pvalue, rel=1e-6
    )


# ----------------------------------------------------------------------------- what is said


def test_detectable_gap_is_the_median_half_width_and_is_said_in_words() -> None:
    from rich.console import Console

    from alignscan.render.html import render_html
    from alignscan.render.terminal import print_summary
    from alignscan.result.findings import headline

    rng = np.random.default_rng(6)
    widths = {}
    for n in (6, 60):
        result = _small_result(rng.integers(1, 6, size=(n, 2)), rng.integers(1, 6, size=(400, 2)))
        block = result["detectable_gap"]
        halves = [
            (u["gap"]["mean_ci_adjusted"][1] - u["gap"]["mean_ci_adjusted"][0]) / 2
            for u in result["items"]
        ]
        assert block["group"] == "executive" and block["n"] == n
        assert block["items"] == pytest.approx(float(np.median(halves)), rel=1e-12)
        widths[n] = block["items"]
        words = f"item gaps under {block['items']:.2f} points on the 1\u20135 scale"
        assert words in headline(as_result(result))["detectable"]
        console = Console(record=True, width=300, color_system=None)
        print_summary(result, console)
        text = console.export_text()
        assert f"With {n} respondents in Executive" in text and words in text
        html = render_html(result)
        assert 'id="detectable"' in html and words in html
    assert widths[6] > 2 * widths[60]  # six people can only tell large gaps apart


def _dim(title, mean, favorable, alpha, q=0.001):
    """A dimension with only the figures the headline reads (a model built unchecked)."""
    from alignscan.result.models import Dimension, Gap, GroupStats

    share_a = None if favorable is None else 0.5 + favorable
    return Dimension.model_construct(
        id=title.lower(),
        title=title,
        alpha=alpha,
        groups={
            "a": GroupStats.model_construct(favorable=share_a),
            "b": GroupStats.model_construct(favorable=0.5),
        },
        gap=Gap.model_construct(mean=mean, favorable=favorable, q_value=q, magnitude="medium"),
    )


def _doc(*dims):
    """A result of two groups `a` and `b` with these dimensions (built unchecked)."""
    from alignscan.result.models import ResultDocument

    return ResultDocument.model_construct(compare=["a", "b"], dimensions=list(dims))


def test_headline_quotes_the_figure_it_was_chosen_on() -> None:
    from alignscan.result.findings import headline

    head = headline(_doc(_dim("Larger mean", 0.60, 0.05, 0.8), _dim("Larger share", 0.40, 0.30, 0.8)))
    assert head["dimension"] == "Larger share" and head["basis"] == "favorable"
    assert "80% of the answers" in head["sentence"]
    head = headline(_doc(_dim("Larger mean", 0.60, None, 0.8), _dim("Larger share", 0.40, None, 0.8)))
    assert head["dimension"] == "Larger mean" and head["basis"] == "mean"
    assert "0.60 points above" in head["sentence"] and "%" not in head["sentence"]


def test_headline_states_the_reliability_rule_instead_of_no_significant_gap() -> None:
    from alignscan.result.findings import headline, recommendations

    result = _doc(_dim("Loose", 0.5, 0.2, 0.4))
    assert recommendations(result)  # the recommendations rely on it...
    sentence = headline(result)["sentence"].replace("\u2068", "").replace("\u2069", "")
    assert "No dimension" not in sentence  # ...so the headline must not deny it
    assert "Loose: reliability alpha below 0.5" in sentence
    result = _doc(_dim("Loose", 0.5, 0.2, 0.4, q=0.2))
    assert headline(result)["sentence"].startswith("No dimension shows a gap")
