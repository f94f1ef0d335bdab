"""Results for the workbook and deck tests: one with every section (trend, participation,
drivers with a hidden group, hidden segment cells) made by the CLI as a user would, and a
small one with a hidden group, hidden comments and hidden participation cells."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from alignscan.analysis.analysis import analyze
from alignscan.extras.participation import add_participation, parse_headcount
from alignscan.survey import load_survey
from alignscan.synthetic import generate_responses, write_csv
from conftest import make_responses, make_survey, random_codes, run_cli


def full_result(folder: Path) -> tuple[dict, Path]:
    """`analyze` of a 200-respondent wave against a baseline, with a headcount: fewer than 30
    executives, so their drivers (minimum 30) are hidden, and small regions are too."""
    survey = load_survey()
    for wave, name in ((1, "q1.csv"), (2, "q2.csv")):
        write_csv(generate_responses(survey, 200, seed=11, wave=wave), folder / name)
    (folder / "hc.csv").write_text(
        "group,headcount\nexecutive,60\nmanagement,90\npractitioner,400\n", encoding="utf-8"
    )
    done = run_cli(
        "analyze",
        "q2.csv",
        "--baseline",
        "q1.csv",
        "--headcount",
        "hc.csv",
        "--out",
        "out",
        "--date",
        "2026-04-15",
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr
    path = folder / "out" / "result.json"
    return json.loads(path.read_text(encoding="utf-8")), path


SMALL_HEADCOUNT = """group,department,headcount
executive,,40
management,,5
practitioner,,100
executive,Legal,4
executive,IT,36
practitioner,Legal,30
practitioner,IT,70
"""


def small_result(dim_title: str = "Dimension 0", dept: str = "Legal") -> dict:
    """93 respondents: 3 managers (hidden everywhere), 2 executives in `dept` (hidden
    segment cells), comments hidden for the managers; participation with hidden cells."""
    survey = make_survey([[False, False], [False, True]], comments=True)
    dims = [d.model_copy(update={"title": d.title}) for d in survey.dimensions]
    dims[0] = dims[0].model_copy(update={"title": dim_title})
    survey = survey.model_copy(update={"dimensions": dims})
    rng = np.random.default_rng(1)
    groups = ["executive"] * 30 + ["management"] * 3 + ["practitioner"] * 60
    depts = [dept] * 2 + ["IT"] * 28 + ["IT"] * 3 + [dept] * 20 + ["IT"] * 40
    comments = {"c1": ["fine"] * 93}
    rs = make_responses(survey, random_codes(rng, 93, 4), groups, {"department": depts}, comments)
    result = analyze(rs)
    headcount = SMALL_HEADCOUNT.replace("Legal", dept)
    parsed = parse_headcount(headcount, "hc.csv", rs)
    assert parsed.ok, parsed.errors
    return json.loads(json.dumps(add_participation(result, rs, parsed)))
