"""Participation (`analyze --headcount`): headcount errors, rates against an independent
count, anonymity of small cells, warnings, report section and CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from alignscan.analysis.analysis import analyze
from alignscan.extras.participation import (
    add_participation,
    parse_headcount,
    participation,
    participation_warnings,
)
from alignscan.render.html import render_html
from alignscan.render.tabular import result_json_schema
from conftest import make_responses, make_survey, random_codes, run_cli

GROUPS = ("executive", "management", "practitioner")


def _data(seed: int = 1):
    """120 respondents; department 'Tiny' has 3 executives, so it is hidden for them."""
    rng = np.random.default_rng(seed)
    groups = ["executive"] * 30 + ["management"] * 30 + ["practitioner"] * 60
    depts = (
        ["Finance"] * 12
        + ["IT"] * 15
        + ["Tiny"] * 3  # executives
        + ["Finance"] * 10
        + ["IT"] * 10
        + ["Tiny"] * 10  # management
        + ["Finance"] * 25
        + ["IT"] * 25
        + ["Tiny"] * 10  # practitioners
    )
    survey = make_survey(groups=GROUPS)
    rs = make_responses(
        survey, random_codes(rng, 120, 5, missing=0.0), groups, {"department": depts}
    )
    return survey, rs, groups, depts


HEADCOUNT = """group,department,headcount
executive,,40
management,,100
practitioner,,200
executive,Finance,20
executive,IT,15
executive,Tiny,4
practitioner,Finance,50
practitioner,IT,100
practitioner,Tiny,50
"""


def test_every_headcount_error_at_once_with_row_and_column() -> None:
    _, rs, _, _ = _data()
    text = (
        "group,department,headcount\n"
        "executive,,40\n"  # row 2: fine
        "boss,,10\n"  # row 3: unknown group
        "executive,Fiance,10\n"  # row 4: unknown segment value
        "practitioner,,many\n"  # row 5: not an integer
        "management,,-3\n"  # row 6: negative
        "executive,,50\n"  # row 7: duplicate of row 2
        "practitioner,Finance,20\n"  # row 8: 25 respondents > 20
        "management,,12.5\n"  # row 9: not a whole number
    )
    parsed = parse_headcount(text, "hc.csv", rs)
    found = {(e.row, e.column, e.value, e.kind) for e in parsed.errors}
    assert found == {
        (3, "group", "boss", "unknown_group"),
        (4, "department", "Fiance", "unknown_segment_value"),
        (5, "headcount", "many", "bad_headcount"),
        (6, "headcount", "-3", "negative_headcount"),
        (7, "group", "executive", "duplicate_row"),
        (8, "headcount", "20", "over_headcount"),
        (9, "headcount", "12.5", "bad_headcount"),
    }
    assert all(e.file == "hc.csv" for e in parsed.errors)
    reasons = {e.kind: e.reason for e in parsed.errors}
    assert "row 2" in reasons["duplicate_row"]
    assert "25" in reasons["over_headcount"] and "20" in reasons["over_headcount"]


def test_header_errors() -> None:
    _, rs, _, _ = _data()
    parsed = parse_headcount("group,region,size\nexecutive,,3\n", "hc.csv", rs)
    kinds = Counter(e.kind for e in parsed.errors)
    assert kinds == {"unknown_column": 2, "missing_column": 1}
    assert all(e.row == 1 for e in parsed.errors)


def test_rates_match_an_independent_count() -> None:
    _, rs, groups, depts = _data()
    parsed = parse_headcount(HEADCOUNT, "hc.csv", rs)
    assert parsed.ok, parsed.errors
    result = add_participation(analyze(rs), rs, parsed)
    part = result["participation"]
    by_group = Counter(groups)
    by_cell = Counter(zip(groups, depts, strict=True))
    heads = {"executive": 40, "management": 100, "practitioner": 200}
    for g, head in heads.items():
        assert part["groups"][g] == {
            "headcount": head,
            "responded": by_group[g],
            "rate": round(by_group[g] / head, 4),
        }
    cells = {(s["value"], g): c for s in part["segments"] for g, c in s["groups"].items()}
    assert cells[("IT", "practitioner")] == {
        "headcount": 100,
        "responded": by_cell[("practitioner", "IT")],
        "rate": round(25 / 100, 4),
    }
    jsonschema.validate(json.loads(json.dumps(result)), result_json_schema())


def test_small_cell_and_its_complement_are_hidden() -> None:
    _, rs, groups, depts = _data()
    result = add_participation(analyze(rs), rs, parse_headcount(HEADCOUNT, "hc.csv", rs))
    cells = {
        (s["value"], g): c
        for s in result["participation"]["segments"]
        for g, c in s["groups"].items()
    }
    # 3 executives in Tiny: hidden, and so is the next-smallest executive cell (Finance, 12)
    assert cells[("Tiny", "executive")] == {"suppressed": True}
    assert cells[("Finance", "executive")] == {"suppressed": True}
    assert "rate" in cells[("IT", "executive")]
    # brute force: from the published figures, no single small cell can be recovered
    by_cell = Counter(zip(groups, depts, strict=True))
    for g in GROUPS:
        cell = result["participation"]["groups"].get(g)
        if not cell or cell.get("suppressed"):
            continue
        unknown = [d for d in {"Finance", "IT", "Tiny"} if "responded" not in cells.get((d, g), {})]
        small = [d for d in unknown if 0 < by_cell[(g, d)] < 5]
        assert not (len(unknown) == 1 and small), (g, unknown)


def test_follows_the_analysis_hidden_cells() -> None:
    """Whatever the analysis hides (here: a big cell, as a rewritten audit might), is hidden."""
    _, rs, _, _ = _data()
    headcount = parse_headcount(HEADCOUNT, "hc.csv", rs).table()
    part = participation(rs, headcount, set(), {("department", "IT", "practitioner")})
    cells = {(s["value"], g): c for s in part["segments"] for g, c in s["groups"].items()}
    assert cells[("IT", "practitioner")] == {"suppressed": True}
    # one hidden practitioner cell would be total minus the others: another one goes too
    hidden = [d for d in ("Finance", "IT", "Tiny") if cells[(d, "practitioner")].get("suppressed")]
    assert len(hidden) == 2
    part = participation(rs, headcount, {"practitioner"}, set())
    assert part["groups"]["practitioner"] == {"suppressed": True}
    assert all(
        s["groups"]["practitioner"] == {"suppressed": True}
        for s in part["segments"]
        if "practitioner" in s["groups"]
    )


def test_small_group_is_hidden() -> None:
    rng = np.random.default_rng(2)
    groups = ["executive"] * 20 + ["management"] * 3 + ["practitioner"] * 20
    survey = make_survey(groups=GROUPS)
    rs = make_responses(survey, random_codes(rng, 43, 5), groups)
    text = "group,headcount\nexecutive,30\nmanagement,4\npractitioner,40\n"
    result = add_participation(analyze(rs), rs, parse_headcount(text, "hc.csv", rs))
    assert result["participation"]["groups"]["management"] == {"suppressed": True}
    assert "3" not in json.dumps(result["participation"]["groups"]["management"])


def _part(rate_a: float, rate_b: float) -> dict:
    def cell(rate: float) -> dict:
        return {"headcount": 1000, "responded": round(rate * 1000), "rate": rate}

    return {"groups": {"executive": cell(rate_a), "practitioner": cell(rate_b)}, "segments": []}


@pytest.mark.parametrize(
    "a,b,expected",
    [
        (
            0.82,
            0.31,
            [
                "response rates range from 31% (Practitioner) to 82% (Executive) across the "
                "compared groups: compare their answers with care"
            ],
        ),
        (0.50, 0.60, []),
        (0.50, 0.70, []),  # exactly 20 points: not more than 20
        (
            0.50,
            0.71,
            [
                "response rates range from 50% (Executive) to 71% (Practitioner) across the "
                "compared groups: compare their answers with care"
            ],
        ),
        (
            0.20,
            0.60,
            [
                "response rates range from 20% (Executive) to 60% (Practitioner) across the "
                "compared groups: compare their answers with care",
                "Executive answered at 20%: their view may not be representative",
            ],
        ),
        (
            0.25,
            0.28,
            [
                "Executive answered at 25%: their view may not be representative",
                "Practitioner answered at 28%: their view may not be representative",
            ],
        ),
    ],
)
def test_warnings(a: float, b: float, expected: list[str]) -> None:
    assert participation_warnings(_part(a, b), ["executive", "practitioner"]) == expected


def test_report_section() -> None:
    _, rs, _, _ = _data()
    text = HEADCOUNT.replace("practitioner,,200", "practitioner,,220")
    result = add_participation(analyze(rs), rs, parse_headcount(text, "hc.csv", rs))
    html = render_html(result)
    start = html.index('<section id="participation">')
    section = html[start : html.index("</section>", start)]
    assert "60 / 220" in section and "27%" in section
    assert "Practitioner answered at 27%: their view may not be representative" in section
    assert section.count("hidden") >= 2
    # without --headcount there is no section
    assert 'id="participation"' not in render_html(analyze(rs))


run = run_cli


def test_cli(tmp_path: Path) -> None:
    from alignscan.survey import load_survey
    from alignscan.synthetic import generate_responses, write_csv

    write_csv(generate_responses(load_survey(), 400, seed=5), tmp_path / "r.csv")
    (tmp_path / "hc.csv").write_text(
        "group,headcount\nexecutive,60\nmanagement,100\npractitioner,1000\n", encoding="utf-8"
    )
    done = run("analyze", "r.csv", "--no-save", "--headcount", "hc.csv", "-f", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    part = json.loads(done.stdout)["participation"]
    assert part["groups"]["practitioner"]["headcount"] == 1000
    assert part["warnings"] and part["warnings"][0].startswith("response rates range from 31%")
    assert "(Practitioners) to 67% (Executives)" in part["warnings"][0]
    done = run("analyze", "r.csv", "--no-save", "--headcount", "hc.csv", cwd=tmp_path)
    assert "Participation" in done.stdout and "warning: response rates range from" in done.stdout
    (tmp_path / "bad.csv").write_text("group,headcount\nboss,-1\n", encoding="utf-8")
    done = run("analyze", "r.csv", "--no-save", "--headcount", "bad.csv", cwd=tmp_path)
    assert done.returncode == 1
    assert "unknown group" in done.stdout and "negative headcount" in done.stdout
    done = run("analyze", "r.csv", "--no-save", "--headcount", "missing.csv", cwd=tmp_path)
    assert done.returncode == 2


def test_spreadsheet_exports_are_read(tmp_path: Path) -> None:
    """Excel's CSV: BOM, semicolons, CRLF, quoted thousands, blank lines, any case."""
    from alignscan.extras.participation import read_headcount

    _, rs, groups, _ = _data()
    path = tmp_path / "hc.csv"
    text = 'Group;Headcount\r\nEXECUTIVE ;"1,200"\r\n\r\npractitioner; 300 \r\n'
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    parsed = read_headcount(path, rs)
    assert parsed.ok, parsed.errors
    assert parsed.table() == {("executive", None, None): 1200, ("practitioner", None, None): 300}
    assert [r.row for r in parsed.rows] == [2, 4]
    missing = read_headcount(tmp_path / "none.csv", rs)
    assert missing.errors[0].kind == "unreadable"


def test_no_small_cell_is_published_or_recoverable_on_random_data() -> None:
    """Seeded simulation: 40 random organisations with small, uneven departments. Every
    published cell has at least the minimum of respondents, nothing hidden by the analysis
    is published, and no single hidden cell can be recovered from the group total."""
    survey = make_survey(groups=GROUPS)
    depts = ["A", "B", "C", "D"]
    checked = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(40, 90))
        groups = list(rng.choice(GROUPS, size=n, p=[0.25, 0.25, 0.5]))
        dept = list(rng.choice(depts, size=n, p=[0.5, 0.3, 0.15, 0.05]))
        counts = Counter(groups)
        if min(counts["executive"], counts["practitioner"]) < 5:
            continue
        rs = make_responses(survey, random_codes(rng, n, 5), groups, {"department": dept})
        result = analyze(rs)
        cells = Counter(zip(groups, dept, strict=True))
        lines = ["group,department,headcount"]
        lines += [f"{g},,{counts[g] + 10}" for g in GROUPS]
        lines += [f"{g},{d},{cells[(g, d)] + 3}" for g in GROUPS for d in depts if cells[(g, d)]]
        part = add_participation(result, rs, parse_headcount("\n".join(lines), "h", rs))[
            "participation"
        ]
        analysis_hidden = {
            (s["value"], g)
            for s in result["segments"]
            for g, c in s["groups"].items()
            if c.get("suppressed")
        }
        shown = {
            (s["value"], g): c["responded"]
            for s in part["segments"]
            for g, c in s["groups"].items()
            if "responded" in c
        }
        assert all(n >= 5 for n in shown.values())
        assert not (set(shown) & analysis_hidden)
        for g in GROUPS:
            if "responded" not in part["groups"][g]:
                continue
            unknown = [d for d in depts if cells[(g, d)] and (d, g) not in shown]
            assert not (len(unknown) == 1 and cells[(g, unknown[0])] < 5), (seed, g)
        checked += 1
    assert checked >= 30


def test_a_real_other_value_never_merges_with_the_pooled_rare_values() -> None:
    """Issue 26: a department really called "(other)" (6 executives) and two rare
    departments (3 executives together) pooled: participation said 6 responded, the
    analysis said 9, so the 3 people of the hidden departments were exposed."""
    rng = np.random.default_rng(5)
    depts = ["(other)"] * 6 + ["Rare1"] * 2 + ["Rare2"] + ["IT"] * 11 + ["IT"] * 20
    groups = ["executive"] * 20 + ["practitioner"] * 20
    survey = make_survey(groups=("executive", "practitioner"))
    rs = make_responses(survey, random_codes(rng, 40, 5, missing=0.0), groups,
                        {"department": depts})
    result = analyze(rs)
    values = {s["value"] for s in result["segments"]}
    assert "(other)" in values and "(other values)" in values  # a pool of its own
    head = "executive,department,headcount\n".replace("executive,", "group,")
    hc = head + "executive,(other),10\nexecutive,IT,20\nexecutive,,40\n"
    part = add_participation(result, rs, parse_headcount(hc, "hc.csv", rs))["participation"]
    shown_part = {
        (s["value"], g): c["responded"]
        for s in part["segments"] for g, c in s["groups"].items() if "responded" in c
    }
    shown_analysis = {
        (s["value"], g): c["n"]
        for s in result["segments"] for g, c in s["groups"].items() if "n" in c
    }
    # every cell both publish has the same people; the real "(other)" has its own 6
    for key in shown_part.keys() & shown_analysis.keys():
        assert shown_part[key] == shown_analysis[key], key
    assert shown_analysis.get(("(other)", "executive"), 6) == 6
    assert ("(other values)", "executive") not in shown_analysis  # 3 people: hidden
