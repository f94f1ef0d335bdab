"""Trend words across zero (issue #25): a gap that changes sign has "reversed", and the
size of a change is told by the change in |gap|, the same in JSON, terminal and HTML."""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console

from alignscan.analysis.analysis import analyze
from alignscan.extras.trend import trend
from alignscan.render.terminal import print_trend
from alignscan.render.trend_html import render_trend_html
from alignscan.result.findings import change_words
from alignscan.result.models import as_trend
from conftest import make_responses, make_survey

N = 300  # per group: the changes below are far from (or well within) the noise
# dimension -> (gap in wave 1, gap in wave 2, expected direction, size in words)
CASES = {
    "d0": (0.30, 1.00, "widening", "by 0.70 points"),
    "d1": (1.00, 0.30, "closing", "by 0.70 points"),
    "d2": (0.70, -0.55, "reversed", "smaller by 0.15 points"),
    "d3": (-0.40, 0.80, "reversed", "larger by 0.40 points"),
    "d4": (0.30, 0.32, None, None),
}


def _answers(mean: float) -> np.ndarray:
    """N answers on two neighbouring codes with exactly this mean."""
    low = int(np.floor(mean))
    up = round((mean - low) * N)
    return np.r_[np.full(N - up, low), np.full(up, low + 1)]


def _wave(which: int) -> dict:
    survey = make_survey([[False]] * len(CASES), groups=("executive", "practitioner"), segments=())
    prac = np.tile([2, 3, 4], N // 3)  # mean 3
    execs = np.column_stack([_answers(3 + gaps[which]) for gaps in CASES.values()])
    codes = np.vstack([execs, np.tile(prac[:, None], (1, len(CASES)))]).astype(np.int8)
    return analyze(make_responses(survey, codes, ["executive"] * N + ["practitioner"] * N))


@pytest.fixture(scope="module")
def doc() -> dict:
    return trend([_wave(0), _wave(1)], ["Q1", "Q2"])


def test_json_direction_and_size_of_every_sign_case(doc) -> None:
    for d in doc["dimensions"]:
        g1, g2, word, _ = CASES[d["id"]]
        change = d["changes"][0]["gap"]
        assert change["from_gap"] == pytest.approx(g1) and change["to_gap"] == pytest.approx(g2)
        assert change["direction"] == word, d["id"]
        assert change["size_change"] == pytest.approx(abs(g2) - abs(g1))
        assert (change["q_value"] < 0.05) == (word is not None)


def test_words_describe_the_change_in_size_not_the_distance(doc) -> None:
    words = {d.id: change_words(d.changes[0].gap) for d in as_trend(doc).dimensions}
    assert words["d2"].startswith("reversed, from +0.70 to -0.55 points")
    assert "(the gap is smaller by 0.15 points, the other way round)" in words["d2"]
    assert "1.25" not in words["d2"]
    assert "larger by 0.40 points" in words["d3"] and "1.20" not in words["d3"]
    assert words["d0"].startswith("widened by 0.70") and words["d1"].startswith("narrowed by 0.70")
    assert words["d4"] == "no clear change"


def test_terminal_shows_each_direction_with_its_size(doc) -> None:
    console = Console(record=True, width=200, color_system=None)
    print_trend(doc, console)
    lines = console.export_text().splitlines()
    for dim, (_, _, word, size) in CASES.items():
        title = f"Dimension {dim[1:]}"  # wide enough: the table shows titles
        row = next(line for line in lines if line.strip().startswith(title))
        if word is None:
            assert "no clear change" in row
        else:
            sep = ", " if word == "reversed" else " "
            assert f"{word}{sep}{size}" in row, row


def test_html_caption_of_each_case(doc) -> None:
    html = render_trend_html(doc)
    unit = "points on the 1\u20135 scale"
    assert f"reversed, from +0.70 to -0.55 {unit} (the gap is smaller by 0.15 {unit}" in html
    assert f"from -0.40 to +0.80 {unit} (the gap is larger by 0.40 {unit}" in html
    assert f"widened by 0.70 {unit}" in html and f"narrowed by 0.70 {unit}" in html
    assert "no clear change" in html
