"""Every figure of the analysis against an independent computation (scipy, statsmodels,
numpy on the raw answers), never against the code under test."""

from __future__ import annotations

import json
import math
import warnings
from fractions import Fraction

import jsonschema
import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

from alignscan.analysis.analysis import AnalysisError, analyze
from alignscan.render.tabular import result_json_schema, result_to_csv, result_to_json
from conftest import make_responses, make_survey, random_codes

TOL = 1e-9


def recoded(codes: np.ndarray, reverse: list[bool], points: int) -> np.ndarray:
    x = codes.astype(float)
    for k, rev in enumerate(reverse):
        if rev:
            x[:, k] = np.where(x[:, k] > 0, points + 1 - x[:, k], 0)
    x[x == 0] = np.nan
    return x


def reference_gap(xa: np.ndarray, xb: np.ndarray, fav_a: tuple[int, int], fav_b: tuple[int, int]):
    """The metric contract, computed the obvious way (items: Newcombe's interval)."""
    fav_ci = confint_proportions_2indep(
        fav_a[0], fav_a[1], fav_b[0], fav_b[1], method="newcomb", compare="diff"
    )
    out = reference_mean_gap(xa, xb)
    out["favorable"] = fav_a[0] / fav_a[1] - fav_b[0] / fav_b[1]
    out["favorable_ci"] = list(fav_ci)
    return out


def reference_mean_gap(xa: np.ndarray, xb: np.ndarray) -> dict:
    test = stats.ttest_ind(xa, xb, equal_var=False)
    ci = test.confidence_interval(0.95)
    return {
        "mean": xa.mean() - xb.mean(),
        "mean_ci": [ci.low, ci.high],
        "p_value": test.pvalue,
        "cliffs_delta": np.sign(xa[:, None] - xb[None, :]).mean(),
    }


def reference_clustered(block_a: np.ndarray, block_b: np.ndarray, favorable=(4, 5)) -> dict:
    """Favorable share of the answers of scored respondents (rows of `block`, NaN = not
    answered) and the respondent-clustered ratio interval, one respondent at a time."""
    shares, variances = [], []
    for block in (block_a, block_b):
        f = np.isin(block, favorable).sum(axis=1).astype(float)
        m = (~np.isnan(block)).sum(axis=1).astype(float)
        p = f.sum() / m.sum()
        n = len(f)
        shares.append(p)
        variances.append(n / (n - 1) * ((f - p * m) ** 2).sum() / m.sum() ** 2)
    half = stats.norm.ppf(0.975) * math.sqrt(sum(variances))
    d = shares[0] - shares[1]
    return {
        "favorable": d,
        "favorable_ci": [d - half, d + half],
        "shares": shares,
        "se": [math.sqrt(v) for v in variances],
    }


def fcr_interval(xa: np.ndarray, xb: np.ndarray, level: float) -> list[float]:
    ci = stats.ttest_ind(xa, xb, equal_var=False).confidence_interval(level)
    return [ci.low, ci.high]


def bh_level(q_values, alpha=0.05) -> float:
    flagged = sum(q < alpha for q in q_values)
    return 1 - alpha * max(flagged, 1) / len(q_values)


def close(actual, expected, tol=TOL) -> None:
    if isinstance(expected, list | tuple):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected, strict=True):
            close(a, e, tol)
        return
    assert actual == pytest.approx(float(expected), abs=tol, rel=tol), (actual, expected)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_item_and_dimension_metrics_match_scipy_and_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    dims = [[False, False, True], [False, True], [True, False, False, False]]
    survey = make_survey(dims)
    reverse = [r for d in dims for r in d]
    n = 1600  # both compared groups at least WELCH_MIN (200): the Welch figures
    groups = rng.choice(["executive", "management", "practitioner"], size=n, p=[0.2, 0.2, 0.6])
    codes = random_codes(rng, n, len(reverse))
    codes[groups == "executive"] = np.where(
        codes[groups == "executive"] > 0,
        np.minimum(codes[groups == "executive"] + 1, 5),
        0,
    )
    result = analyze(make_responses(survey, codes, groups))
    x = recoded(codes, reverse, 5)
    a, b = groups == "executive", groups == "practitioner"
    p_values = []
    scores = []
    for k, item in enumerate(result["items"]):
        xa, xb = x[a, k][~np.isnan(x[a, k])], x[b, k][~np.isnan(x[b, k])]
        ga, gb = item["groups"]["executive"], item["groups"]["practitioner"]
        xm = x[groups == "management", k]
        xm = xm[~np.isnan(xm)]
        gm = item["groups"]["management"]
        assert gm["n"] == len(xm)
        close(gm["mean"], xm.mean())
        close(gm["favorable"], (xm >= 4).mean())
        close(ga["n"], len(xa))
        close(ga["mean"], xa.mean())
        close(ga["sd"], xa.std(ddof=1))
        close(gb["sd"], xb.std(ddof=1))
        close(ga["favorable"], (xa >= 4).mean())
        for code in range(1, 6):
            assert ga["counts"][str(code)] == int((xa == code).sum())
        ref = reference_gap(xa, xb, ((xa >= 4).sum(), len(xa)), ((xb >= 4).sum(), len(xb)))
        for key, value in ref.items():
            close(item["gap"][key], value)
        p_values.append(ref["p_value"])
        scores.append((xa, xb))
    start = 0
    for d, dim in enumerate(result["dimensions"]):
        k = len(dims[d])
        block = x[:, start : start + k]
        start += k
        answered = (~np.isnan(block)).sum(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # rows with nothing answered
            score = np.where(answered >= math.ceil(k / 2), np.nanmean(block, axis=1), np.nan)
        sa, sb = score[a & ~np.isnan(score)], score[b & ~np.isnan(score)]
        close(dim["groups"]["executive"]["n"], len(sa))
        close(dim["groups"]["executive"]["mean"], sa.mean())
        close(dim["groups"]["practitioner"]["sd"], sb.std(ddof=1))
        # counts and favorable: the answers of the respondents who have a score
        cells_a, cells_b = block[a & ~np.isnan(score)], block[b & ~np.isnan(score)]
        for name, mask, cells in (("executive", a, cells_a), ("practitioner", b, cells_b)):
            counts = dim["groups"][name]["counts"]
            if counts is None:  # withheld: 1-4 people answered without a score (privacy)
                unscored = int((mask & np.isnan(score) & (answered > 0)).sum())
                assert 1 <= unscored < 5
                continue
            for code in range(1, 6):
                assert counts[str(code)] == int((cells == code).sum())
        ref = reference_mean_gap(sa, sb) | reference_clustered(cells_a, cells_b)
        for i, name in enumerate(("executive", "practitioner")):
            cell = dim["groups"][name]
            if cell["counts"] is None:  # withheld: the share would give them back (issue 26)
                assert cell["favorable"] is None and cell["favorable_se"] is None
                assert dim["gap"]["favorable"] is None and dim["gap"]["favorable_ci"] is None
                continue
            close(cell["favorable"], ref["shares"][i])
            close(cell["favorable_se"], ref["se"][i])
        # the group that is not compared: its published figures too
        mg = (groups == "management") & ~np.isnan(score)
        mgmt = dim["groups"]["management"]
        assert mgmt["n"] == int(mg.sum())
        close(mgmt["mean"], score[mg].mean())
        close(mgmt["sd"], score[mg].std(ddof=1))
        if mgmt["counts"] is not None:
            close(
                mgmt["favorable"],
                float(np.isin(block[mg], (4, 5)).sum() / (~np.isnan(block[mg])).sum()),
            )
        if mgmt["counts"] is None:  # withheld, as above
            unscored = int(((groups == "management") & np.isnan(score) & (answered > 0)).sum())
            assert 1 <= unscored < 5
        else:
            for code in range(1, 6):
                assert mgmt["counts"][str(code)] == int((block[mg] == code).sum())
        withheld = any(dim["groups"][g]["counts"] is None for g in ("executive", "practitioner"))
        for key in ("mean", "mean_ci", "p_value", "cliffs_delta", "favorable", "favorable_ci"):
            if withheld and key.startswith("favorable"):
                assert dim["gap"][key] is None
                continue
            close(dim["gap"][key], ref[key])
        p_values.append(ref["p_value"])
        scores.append((sa, sb))
        complete = block[~np.isnan(block).any(axis=1)]
        item_var = complete.var(axis=0, ddof=1).sum()
        total_var = complete.sum(axis=1).var(ddof=1)
        close(dim["alpha"], k / (k - 1) * (1 - item_var / total_var))
        assert dim["alpha_n"] == len(complete)
    q = multipletests(p_values, method="fdr_bh")[1]
    reported = [i["gap"]["q_value"] for i in result["items"]] + [
        d["gap"]["q_value"] for d in result["dimensions"]
    ]
    close(reported, list(q))
    level = bh_level(q)
    for unit, (xa, xb) in zip(result["items"] + result["dimensions"], scores, strict=True):
        close(unit["gap"]["mean_ci_adjusted"], fcr_interval(xa, xb, level))
        lo, hi = unit["gap"]["mean_ci_adjusted"]
        assert (lo > 0 or hi < 0) == (unit["gap"]["q_value"] < 0.05)
        wins = int((xa[:, None] > xb[None, :]).sum()) - int((xa[:, None] < xb[None, :]).sum())
        delta = Fraction(abs(wins), len(xa) * len(xb))
        expected = (
            "negligible"
            if delta < Fraction("0.147")
            else "small"
            if delta < Fraction("0.33")
            else "medium"
            if delta < Fraction("0.474")
            else "large"
        )
        assert unit["gap"]["magnitude"] == expected


def test_segment_gaps_match_scipy_and_get_their_own_bh_family() -> None:
    rng = np.random.default_rng(7)
    survey = make_survey([[False, False], [False, True]])
    n = 2400  # every department has at least WELCH_MIN (200) of both groups
    groups = rng.choice(["executive", "management", "practitioner"], size=n, p=[0.3, 0.2, 0.5])
    dept = rng.choice(["Finance", "IT", "Sales"], size=n)
    codes = random_codes(rng, n, 4, missing=0.0)
    result = analyze(make_responses(survey, codes, groups, {"department": list(dept)}))
    x = recoded(codes, [False, False, False, True], 5)
    p_values = []
    scores = []
    for seg in result["segments"]:
        d = int(seg["dimension"][1:])
        block = x[:, 2 * d : 2 * d + 2]
        score = block.mean(axis=1)
        in_value = dept == seg["value"]
        sa = score[in_value & (groups == "executive")]
        sb = score[in_value & (groups == "practitioner")]
        ba, bb = (
            block[in_value & (groups == "executive")],
            block[in_value & (groups == "practitioner")],
        )
        ref = reference_mean_gap(sa, sb) | reference_clustered(ba, bb)
        for key in ("mean", "mean_ci", "p_value", "cliffs_delta", "favorable", "favorable_ci"):
            close(seg["gap"][key], ref[key])
        for g, xs in (("executive", sa), ("practitioner", sb)):
            cell = seg["groups"][g]
            assert cell["n"] == len(xs)
            close(cell["mean"], xs.mean())
            close(cell["sd"], xs.std(ddof=1))
            assert cell["counts"] is None  # never in a segment cell (issue 26)
        # the group that is not compared is published too
        mgmt = seg["groups"]["management"]
        sm = score[in_value & (groups == "management")]
        if len(sm) >= 5:
            assert mgmt["n"] == len(sm)
            close(mgmt["mean"], sm.mean())
            close(
                mgmt["favorable"],
                float(np.isin(block[in_value & (groups == "management")], (4, 5)).mean()),
            )
        p_values.append(ref["p_value"])
        scores.append((sa, sb))
    q = list(multipletests(p_values, method="fdr_bh")[1])
    close([s["gap"]["q_value"] for s in result["segments"]], q)
    level = bh_level(q)
    for seg, (sa, sb) in zip(result["segments"], scores, strict=True):
        close(seg["gap"]["mean_ci_adjusted"], fcr_interval(sa, sb, level))
    assert {(s["value"], s["dimension"]) for s in result["segments"]} == {
        (v, d) for v in ("Finance", "IT", "Sales") for d in ("d0", "d1")
    }


def test_constant_item_has_p_value_1_and_a_finite_degenerate_ci() -> None:
    survey = make_survey([[False, False]], groups=("executive", "practitioner"), segments=())
    codes = np.full((20, 2), 3, dtype=np.int8)
    codes[:, 1] = np.tile([1, 5], 10)
    groups = ["executive"] * 10 + ["practitioner"] * 10
    gap = analyze(make_responses(survey, codes, groups))["items"][0]["gap"]
    assert gap["p_value"] == 1.0
    assert gap["mean"] == 0.0
    lo, hi = gap["mean_ci"]  # ten people who all agree: not certainty (issue #25)
    assert lo < -0.1 and hi > 0.1 and lo == pytest.approx(-hi)
    assert all(math.isfinite(v) for v in gap["favorable_ci"])
    assert gap["cliffs_delta"] == 0.0


def test_item_with_every_answer_missing_is_suppressed_not_nan() -> None:
    survey = make_survey([[False, False]], groups=("executive", "practitioner"), segments=())
    rng = np.random.default_rng(3)
    codes = random_codes(rng, 30, 2, missing=0.0)
    codes[:, 0] = 0
    result = analyze(make_responses(survey, codes, ["executive"] * 15 + ["practitioner"] * 15))
    item = result["items"][0]
    assert item["groups"]["executive"] == {"suppressed": True}
    assert item["gap"] is None
    assert item["answered_share"] == 0.0
    assert "NaN" not in result_to_json(result)


def test_group_exactly_at_threshold_is_shown_one_below_is_suppressed() -> None:
    survey = make_survey([[False, False]], min_group_size=5, segments=())
    rng = np.random.default_rng(5)
    groups = ["executive"] * 5 + ["management"] * 4 + ["practitioner"] * 20
    codes = random_codes(rng, len(groups), 2, missing=0.0)
    result = analyze(make_responses(survey, codes, groups))
    assert result["groups"]["executive"] == {"n": 5}
    assert result["groups"]["management"] == {"suppressed": True}
    for unit in result["items"] + result["dimensions"]:
        assert unit["groups"]["executive"]["n"] == 5
        assert unit["groups"]["management"] == {"suppressed": True}
        assert unit["gap"] is not None


def test_compared_group_below_threshold_refuses_to_run() -> None:
    survey = make_survey([[False, False]], min_group_size=5, segments=())
    groups = ["executive"] * 4 + ["practitioner"] * 20
    codes = np.full((24, 2), 3, dtype=np.int8)
    with pytest.raises(AnalysisError, match="fewer than 5"):
        analyze(make_responses(survey, codes, groups))


def test_complementary_suppression_hides_the_next_smallest_cell() -> None:
    survey = make_survey([[False, False]], groups=("executive", "practitioner"))
    rng = np.random.default_rng(11)
    dept = ["Legal"] * 3 + ["HR"] * 7 + ["IT"] * 30 + ["Legal"] * 10 + ["HR"] * 10 + ["IT"] * 30
    groups = ["executive"] * 40 + ["practitioner"] * 50
    codes = random_codes(rng, 90, 2, missing=0.0)
    result = analyze(make_responses(survey, codes, groups, {"department": dept}))
    execs = {s["value"]: s["groups"]["executive"] for s in result["segments"]}
    assert execs["Legal"] == {"suppressed": True}
    assert execs["HR"] == {"suppressed": True}  # 7 >= 5, hidden to protect Legal
    assert execs["IT"]["n"] == 30
    gaps = {s["value"]: s["gap"] for s in result["segments"]}
    assert gaps["Legal"] is None and gaps["HR"] is None and gaps["IT"] is not None


def test_json_is_deterministic_valid_and_nan_free() -> None:
    survey = make_survey(comments=True)
    rng = np.random.default_rng(9)
    n = 200
    groups = rng.choice(["executive", "management", "practitioner"], size=n)
    codes = random_codes(rng, n, 5)
    comments = {"c1": [f"comment {i % 7}" if i % 3 else "" for i in range(n)]}
    dept = list(rng.choice(["A", "B", "C", "D"], size=n, p=[0.45, 0.45, 0.08, 0.02]))
    first = result_to_json(
        analyze(make_responses(survey, codes, groups, {"department": dept}, comments))
    )
    second = result_to_json(
        analyze(make_responses(survey, codes, groups, {"department": dept}, comments))
    )
    assert first == second
    assert "NaN" not in first and "Infinity" not in first
    document = json.loads(first)
    jsonschema.validate(document, result_json_schema())
    assert set(document) >= {
        "survey",
        "compare",
        "min_group_size",
        "rows",
        "groups",
        "items",
        "dimensions",
        "segments",
    }
    assert document["survey"] == {"id": "t", "version": "1", "title": "Test"}


def test_csv_is_a_tidy_long_table() -> None:
    import csv
    import io

    survey = make_survey()
    rng = np.random.default_rng(4)
    groups = rng.choice(["executive", "practitioner"], size=100)
    result = analyze(make_responses(survey, random_codes(rng, 100, 5), groups))
    text = result_to_csv(result)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header = ["level", "id", "segment_column", "segment_value", "group", "metric", "value"]
    assert rows[0] == [*header, "unit"]  # the machine keys unchanged, the unit in words added
    assert all(len(r) == 8 for r in rows)
    units = {(r[0], r[4][:3], r[5]): r[7] for r in rows}
    assert units[("item", "exe", "mean")] == "points on the 1–5 scale"
    assert units[("item", "gap", "mean_ci_low")] == "points on the 1–5 scale"
    assert units[("item", "gap", "favorable")].endswith("percentage points (favorable share))")
    assert units[("item", "exe", "favorable")] == "share of answers, 0 to 1"
    assert units[("item", "gap", "q_value")] == "" and units[("rows", "", "read")] == ""
    means = {(r[1], r[4]): float(r[6]) for r in rows if r[0] == "item" and r[5] == "mean"}
    for item in result["items"]:
        assert means[(item["id"], "executive")] == item["groups"]["executive"]["mean"]
        assert means[(item["id"], "gap (executive - practitioner)")] == item["gap"]["mean"]


def test_csv_neutralises_formula_injection_in_segment_values() -> None:
    survey = make_survey([[False, False]], groups=("executive", "practitioner"))
    rng = np.random.default_rng(2)
    groups = ["executive"] * 30 + ["practitioner"] * 30
    dept = ["=HYPERLINK(1)"] * 60
    result = analyze(make_responses(survey, random_codes(rng, 60, 2), groups, {"department": dept}))
    text = result_to_csv(result)
    assert ",=HYPERLINK" not in text
    assert ",'=HYPERLINK(1)," in text


def test_long_dimension_keeps_exact_scores_without_huge_keys() -> None:
    """20 items in one dimension: scores are means over 10..20 answers (many distinct
    fractions); the figures still match scipy."""
    survey = make_survey([[False] * 19 + [True]], groups=("executive", "practitioner"), segments=())
    rng = np.random.default_rng(8)
    groups = np.asarray(["executive"] * 320 + ["practitioner"] * 480)  # >= WELCH_MIN
    codes = random_codes(rng, 800, 20, missing=0.3)
    result = analyze(make_responses(survey, codes, groups))
    x = recoded(codes, [False] * 19 + [True], 5)
    answered = (~np.isnan(x)).sum(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        score = np.where(answered >= 10, np.nanmean(x, axis=1), np.nan)
    sa = score[(groups == "executive") & ~np.isnan(score)]
    sb = score[(groups == "practitioner") & ~np.isnan(score)]
    dim = result["dimensions"][0]
    close(dim["groups"]["executive"]["mean"], sa.mean())
    close(dim["groups"]["practitioner"]["sd"], sb.std(ddof=1))
    close(dim["gap"]["p_value"], stats.ttest_ind(sa, sb, equal_var=False).pvalue)
    close(dim["gap"]["cliffs_delta"], np.sign(sa[:, None] - sb[None, :]).mean())


def test_a_cell_hidden_for_one_dimension_is_hidden_for_all() -> None:
    """Exec in HR answer d0 but skip d1: HR is hidden (as the next-smallest) for d0 only
    if decided per dimension, and d1 would then give HR's size away. One hidden set per
    segment column prevents that."""
    survey = make_survey([[False, False], [False, False]], groups=("executive", "practitioner"))
    rng = np.random.default_rng(12)
    dept = ["Legal"] * 3 + ["HR"] * 7 + ["IT"] * 30 + ["Legal"] * 10 + ["HR"] * 10 + ["IT"] * 30
    groups = ["executive"] * 40 + ["practitioner"] * 50
    codes = random_codes(rng, 90, 4, missing=0.0)
    codes[0:3, 2:4] = 0  # the three Legal executives skip dimension d1
    result = analyze(make_responses(survey, codes, groups, {"department": dept}))
    for seg in result["segments"]:
        if seg["value"] in ("Legal", "HR"):
            assert seg["groups"]["executive"] == {"suppressed": True}, seg
