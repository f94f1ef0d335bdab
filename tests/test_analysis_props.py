"""Invariants of the analysis, for any data hypothesis can think of."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from alignscan.analysis.analysis import AnalysisError, analyze, recode_reverse
from alignscan.render.tabular import result_to_csv, result_to_json
from conftest import make_responses, make_survey

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    codes=arrays(
        np.int8, st.tuples(st.integers(0, 40), st.integers(1, 6)), elements=st.integers(0, 7)
    ),
    points=st.integers(2, 7),
    data=st.data(),
)
def test_reverse_coding_twice_is_identity(codes, points, data) -> None:
    codes = np.where(codes > points, points, codes).astype(np.int8)
    reverse = np.asarray(
        data.draw(st.lists(st.booleans(), min_size=codes.shape[1], max_size=codes.shape[1]))
    )
    once = recode_reverse(codes, reverse, points)
    assert np.array_equal(recode_reverse(once, reverse, points), codes)
    assert np.array_equal(once == 0, codes == 0)  # not answered stays not answered
    assert np.array_equal(once[:, ~reverse], codes[:, ~reverse])


def _dataset(draw, min_group_size):
    n = draw(st.integers(10, 80))
    groups = draw(
        st.lists(
            st.sampled_from(["executive", "management", "practitioner"]), min_size=n, max_size=n
        )
    )
    dept = draw(st.lists(st.sampled_from(["A", "B", "C", "D"]), min_size=n, max_size=n))
    codes = draw(arrays(np.int8, (n, 4), elements=st.integers(0, 5)))
    return groups, dept, codes


@st.composite
def datasets(draw):
    minimum = draw(st.integers(3, 8))
    return (minimum, *_dataset(draw, minimum))


def comparable(groups, minimum) -> bool:
    """The analysis runs (instead of refusing) when both compared groups are large enough."""
    return min(groups.count("executive"), groups.count("practitioner")) >= minimum


def test_a_group_below_the_minimum_is_refused() -> None:
    survey = make_survey([[False, True]], min_group_size=5)
    groups = ["executive"] * 4 + ["practitioner"] * 10
    with pytest.raises(AnalysisError):
        analyze(make_responses(survey, np.full((14, 2), 3, dtype=np.int8), groups))


def _walk_cells(result):
    for unit in result["items"] + result["dimensions"] + result["segments"]:
        yield from unit["groups"].values()
    yield from result["groups"].values()


@SETTINGS
@given(datasets())
def test_no_output_shows_a_cell_below_the_minimum(case) -> None:
    minimum, groups, dept, codes = case
    survey = make_survey([[False, True], [False, False]], min_group_size=minimum)
    assume(comparable(groups, minimum))
    result = analyze(make_responses(survey, codes, groups, {"department": dept}))
    document = json.loads(result_to_json(result))
    for cell in _walk_cells(document):
        if cell.get("suppressed"):
            assert cell == {"suppressed": True}
        else:
            assert cell["n"] >= minimum
    for unit in document["items"]:
        for cell in unit["groups"].values():
            if "counts" in cell:
                assert sum(cell["counts"].values()) == cell["n"]
    # the CSV carries no n below the minimum either
    rows = list(csv.reader(io.StringIO(result_to_csv(result).lstrip("\ufeff"))))
    for row in rows[1:]:
        if row[5] == "n" and row[0] != "rows":
            assert int(row[6]) >= minimum
    # complementary suppression: within a segment column and dimension, a group never has
    # exactly one hidden cell that hides somebody (an empty cell hides nobody)
    groups_arr, dept_arr = np.asarray(groups), np.asarray(dept)
    by_key = {}
    for seg in document["segments"]:
        d = int(seg["dimension"][1:])
        scored = (codes[:, 2 * d : 2 * d + 2] > 0).any(axis=1)  # ceil(2/2) = 1 item needed
        for group, cell in seg["groups"].items():
            true_n = int((scored & (groups_arr == group) & (dept_arr == seg["value"])).sum())
            by_key.setdefault((seg["column"], seg["dimension"], group), []).append((cell, true_n))
    for cells in by_key.values():
        hidden = [n for cell, n in cells if cell.get("suppressed")]
        if len(hidden) == 1:
            assert hidden[0] == 0, cells


@SETTINGS
@given(datasets())
def test_swapping_the_compared_groups_negates_every_gap(case) -> None:
    minimum, groups, dept, codes = case
    survey = make_survey([[False, True], [False, False]], min_group_size=minimum)
    swapped = survey.model_copy(
        update={"roles": survey.roles.model_copy(update={"compare": ["practitioner", "executive"]})}
    )
    assume(comparable(groups, minimum))
    ab = analyze(make_responses(survey, codes, groups, {"department": dept}))
    ba = analyze(make_responses(swapped, codes, groups, {"department": dept}))
    for u, v in zip(
        ab["items"] + ab["dimensions"] + ab["segments"],
        ba["items"] + ba["dimensions"] + ba["segments"],
        strict=True,
    ):
        if u["gap"] is None:
            assert v["gap"] is None
            continue
        g, h = u["gap"], v["gap"]
        assert g["mean"] == -h["mean"] or abs(g["mean"] + h["mean"]) < 1e-12
        assert abs(g["mean_ci"][0] + h["mean_ci"][1]) < 1e-9
        assert abs(g["mean_ci"][1] + h["mean_ci"][0]) < 1e-9
        if g["favorable"] is not None:
            assert abs(g["favorable"] + h["favorable"]) < 1e-12
            assert abs(g["favorable_ci"][0] + h["favorable_ci"][1]) < 1e-9
        assert abs(g["cliffs_delta"] + h["cliffs_delta"]) < 1e-12
        assert g["p_value"] == h["p_value"] or abs(g["p_value"] - h["p_value"]) < 1e-12


@SETTINGS
@given(datasets())
def test_adjusted_interval_excludes_zero_exactly_when_flagged(case) -> None:
    """Benjamini-Yekutieli: in each family (items + dimensions; segment cells), the
    adjusted interval excludes zero if and only if q < 0.05, and contains the 95% one."""
    minimum, groups, dept, codes = case
    survey = make_survey([[False, True], [False, False]], min_group_size=minimum)
    assume(comparable(groups, minimum))
    result = analyze(make_responses(survey, codes, groups, {"department": dept}))
    for unit in result["items"] + result["dimensions"] + result["segments"]:
        g = unit["gap"]
        if g is None:
            continue
        lo, hi = g["mean_ci_adjusted"]
        assert (lo > 0 or hi < 0) == (g["q_value"] < 0.05), g
        assert lo <= g["mean_ci"][0] + 1e-12 and g["mean_ci"][1] <= hi + 1e-12
        assert 0.0 <= g["p_value"] <= 1.0
