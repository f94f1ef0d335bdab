"""`alignscan diff` and the trend's survey-version warning: each kind of change is found,
classed as breaking or not as the issue defines it, and placed on the right line of NEW."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from alignscan.analysis.analysis import analyze
from alignscan.cli import app
from alignscan.survey import load_survey_text
from alignscan.survey.diff import diff_surveys, wave_warnings, wording_key
from conftest import make_responses, make_survey, random_codes, run_cli

runner = CliRunner()

OLD = """\
id: pulse
title: AI pulse
version: "1"
description: Quarterly.
scale:
  points: 5
  labels: [Strongly disagree, Disagree, Neutral, Agree, Strongly agree]
  favorable: [4, 5]
  missing: [N/A]
roles:
  column: role
  groups:
    executive: [C-suite, VP]
    management: [Director]
    practitioner: [Engineer, Analyst]
  compare: [executive, practitioner]
segments: [department]
dimensions:
  - id: roi
    title: Confidence in ROI
    actions: [Agree KPIs.]
    items:
      - {id: q01, text: Our AI investments will pay off.}
      - {id: q02, text: Leadership knows what success looks like.}
      - {id: q03, text: AI spending is mostly hype., reverse: true}
  - id: goals
    title: Shared goals
    items:
      - {id: q04, text: My team's goals match the company's.}
      - {id: q05, text: We use the same KPIs.}
  - id: old
    title: Old dimension
    items:
      - {id: q06, text: Going away.}
      - {id: q07, text: Also going away.}
"""


def survey(text: str):
    result = load_survey_text(text, "s.yaml")
    assert result.ok, result.problems
    return result.survey


def edit(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    return text


def found(old: str, new: str) -> set[tuple[str | None, str, bool]]:
    return {(c.item, c.kind, c.breaking) for c in diff_surveys(survey(old), survey(new))}


def test_identical_surveys_have_no_changes() -> None:
    assert diff_surveys(survey(OLD), survey(OLD)) == []


def test_item_changes_and_whether_they_break() -> None:
    new = edit(
        OLD,
        ("pay off.}", "pay off handsomely.}"),  # reworded
        ("Leadership knows what success", "leadership  knows what success"),  # case/space only
        ("hype., reverse: true}", "hype.}"),  # reverse flipped
        ("      - {id: q05, text: We use the same KPIs.}\n", ""),  # removed
        ("      - {id: q04,", "      - {id: q02b, text: Brand new.}\n      - {id: q04,"),  # added
    )
    assert found(OLD, new) == {
        ("q01", "reworded", True),
        ("q02", "text_edited", False),
        ("q03", "reverse_flipped", True),
        ("q05", "item_removed", True),
        ("q02b", "item_added", False),
    }


def test_moving_an_item_and_removing_a_dimension() -> None:
    new = edit(
        OLD,
        ("      - {id: q02, text: Leadership knows what success looks like.}\n", ""),
        (
            "      - {id: q05, text: We use the same KPIs.}\n",
            "      - {id: q05, text: We use the same KPIs.}\n"
            "      - {id: q02, text: Leadership knows what success looks like.}\n",
        ),
        (
            OLD[OLD.index("  - id: old") :],
            "  - id: new\n    title: New\n    items:\n"
            "      - {id: q08, text: Fresh.}\n      - {id: q09, text: Fresher.}\n",
        ),
    )
    assert found(OLD, new) == {
        ("q02", "moved", True),
        (None, "dimension_removed", True),
        ("q06", "item_removed", True),
        ("q07", "item_removed", True),
        (None, "dimension_added", False),
        ("q08", "item_added", False),
        ("q09", "item_added", False),
    }


def test_scale_changes_are_breaking_but_reading_rules_are_not() -> None:
    new = edit(
        OLD, ("favorable: [4, 5]", "favorable: [5]"), ("missing: [N/A]", "missing: [n/a, '-']")
    )
    assert found(OLD, new) == {(None, "scale_favorable", True), (None, "scale_answers", False)}
    seven = edit(
        OLD,
        ("points: 5", "points: 6"),
        ("Agree, Strongly agree]", "Agree, Strongly agree, Totally agree]"),
        ("[Strongly disagree,", "[strongly disagree,"),
    )
    kinds = found(OLD, seven)
    assert kinds == {
        (None, "scale_points", True),
        (None, "scale_labels", True),
        (None, "scale_labels", False),
    }
    renamed = edit(OLD, ("Neutral", "Neither agree nor disagree"))
    assert found(OLD, renamed) == {(None, "scale_labels", True)}


def test_role_and_compare_changes() -> None:
    new = edit(OLD, ("compare: [executive, practitioner]", "compare: [management, practitioner]"))
    assert found(OLD, new) == {(None, "compare", True)}
    moved_vp = edit(OLD, ("[C-suite, VP]", "[C-suite]"), ("[Director]", "[Director, VP]"))
    # VP left a compared group (breaking) and joined a group that is not compared (not).
    changes = diff_surveys(survey(OLD), survey(moved_vp))
    by_path = {c.path: c for c in changes}
    assert {c.kind for c in changes} == {"role_groups"}
    assert by_path["roles.groups.executive"].breaking is True
    assert by_path["roles.groups.management"].breaking is False
    recased = edit(OLD, ("[C-suite, VP]", "[c-suite, vp]"))
    assert diff_surveys(survey(OLD), survey(recased)) == []  # role values match case-insensitively


def test_titles_descriptions_actions_version_are_not_breaking() -> None:
    new = edit(
        OLD,
        ('version: "1"', 'version: "2"'),
        ("title: AI pulse", "title: AI pulse 2027"),
        ("description: Quarterly.", "description: Twice a year."),
        ("title: Confidence in ROI", "title: ROI confidence"),
        ("actions: [Agree KPIs.]", "actions: [Agree KPIs., Review monthly.]"),
        ("segments: [department]", "segments: [department, region]"),
    )
    changes = diff_surveys(survey(OLD), survey(new))
    assert {c.kind for c in changes} == {"version", "title", "description", "actions", "segments"}
    assert len(changes) == 6 and not any(c.breaking for c in changes)


@settings(derandomize=True, max_examples=200)
@given(
    words=st.lists(st.text("abcdefghijXYZéß", min_size=1, max_size=8), min_size=1, max_size=6),
    seps=st.lists(
        st.sampled_from([" ", "  ", ", ", " - ", "; ", "\t", "… "]), min_size=6, max_size=6
    ),
)
def test_wording_ignores_case_spacing_and_punctuation(words: list[str], seps: list[str]) -> None:
    plain = " ".join(words)
    styled = "".join(w.upper() + s for w, s in zip(words, seps, strict=False)) + "?!"
    assert wording_key(plain) == wording_key(styled)
    other = plain + " not"
    assume(wording_key(other) != wording_key(plain))
    assert wording_key(other) != wording_key(styled)


# ----------------------------------------------------------------------------- the command


def write(tmp_path: Path, old: str, new: str) -> tuple[Path, Path]:
    a, b = tmp_path / "v1.yaml", tmp_path / "v2.yaml"
    a.write_text(old, encoding="utf-8")
    b.write_text(new, encoding="utf-8")
    return a, b


def test_cli_json_and_exit_codes(tmp_path: Path) -> None:
    a, b = write(
        tmp_path, OLD, edit(OLD, ("pay off.}", "pay off soon.}"), ('version: "1"', 'version: "2"'))
    )
    done = runner.invoke(app, ["diff", str(a), str(b), "--format", "json"])
    assert done.exit_code == 1
    doc = json.loads(done.stdout)
    assert list(doc) == ["changes"]
    assert doc["changes"] == [
        {
            "item": None,
            "path": "version",
            "kind": "version",
            "breaking": False,
            "message": doc["changes"][0]["message"],
        },
        {
            "item": "q01",
            "path": "dimensions[0].items[0].text",
            "kind": "reworded",
            "breaking": True,
            "message": doc["changes"][1]["message"],
        },
    ]
    assert "pay off soon." in doc["changes"][1]["message"]
    ok = runner.invoke(app, ["diff", str(a), str(a), "--format", "json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout) == {"changes": []}
    b.write_text(edit(OLD, ("title: AI pulse", "title: AI pulse!")), encoding="utf-8")
    assert runner.invoke(app, ["diff", str(a), str(b)]).exit_code == 0  # not breaking
    assert runner.invoke(app, ["diff", str(a), str(tmp_path / "missing.yaml")]).exit_code == 2
    assert runner.invoke(app, ["diff", str(a)]).exit_code == 2


def test_cli_invalid_survey_lists_its_problems(tmp_path: Path) -> None:
    a, b = write(tmp_path, OLD, edit(OLD, ("favorable: [4, 5]", "favorable: [4, 9]")))
    done = runner.invoke(app, ["diff", str(a), str(b), "--format", "json"])
    assert done.exit_code == 1
    problems = json.loads(done.stdout)["problems"]
    assert [(p["file"], p["path"]) for p in problems] == [(str(b), "scale.favorable[1]")]
    rich = runner.invoke(app, ["diff", str(a), str(b)])
    assert rich.exit_code == 1 and "outside 1..5" in rich.stdout


def test_github_annotations_point_at_the_line_in_new(tmp_path: Path) -> None:
    new = edit(
        OLD,
        ("pay off.}", "pay off soon.}"),
        ("      - {id: q05, text: We use the same KPIs.}\n", ""),
        ("favorable: [4, 5]", "favorable: [5]"),
    )
    a, b = write(tmp_path, "# a comment line\n" + OLD, "\n\n" + new)
    done = runner.invoke(app, ["diff", str(a), str(b), "--format", "github"])
    assert done.exit_code == 1
    lines = b.read_text().splitlines()

    def line_of(fragment: str) -> int:
        return next(i for i, text in enumerate(lines, 1) if fragment in text)

    got = re.findall(r"^::(\w+) file=([^,]+),line=(\d+),col=\d+::(\w+):", done.stdout, re.M)
    assert {(level, f, int(line), kind) for level, f, line, kind in got} == {
        ("error", str(b), line_of("pay off soon."), "reworded"),
        ("error", str(b), line_of("favorable: [5]"), "scale_favorable"),
        # a removed item is shown at the items list of its dimension in NEW
        ("error", str(b), _items_line_of_dim(lines, "goals"), "item_removed"),
    }


def _items_line_of_dim(lines: list[str], dim: str) -> int:
    start = next(i for i, t in enumerate(lines) if t.strip() == f"- id: {dim}")
    return next(i for i, t in enumerate(lines[start:], start + 1) if t.strip() == "items:")


def test_rich_output_names_items_and_counts_breaking(tmp_path: Path) -> None:
    a, b = write(tmp_path, OLD, edit(OLD, ("hype., reverse: true}", "hype.}")))
    done = run_cli("diff", a, b)
    assert done.returncode == 1, done.stderr
    assert "q03" in done.stdout and "reverse_flipped" in done.stdout
    assert "1 breaking change(s) of 1" in done.stdout
    assert "Traceback" not in done.stderr


# ----------------------------------------------------------------------------- trend


def _wave(survey_obj, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    groups = rng.choice(["executive", "practitioner"], size=200)
    codes = random_codes(rng, 200, len(survey_obj.items), missing=0.0)
    return analyze(make_responses(survey_obj, codes, groups))


def _variant(base, item_index: int, **update):
    dims = list(base.dimensions)
    d, i = divmod(item_index, 2)
    items = list(dims[d].items)
    items[i] = items[i].model_copy(update=update)
    dims[d] = dims[d].model_copy(update={"items": items})
    return base.model_copy(update={"dimensions": dims, "version": "2"})


def test_trend_warns_naming_items_with_breaking_changes() -> None:
    v1 = make_survey([[False, False], [False, True]], groups=("executive", "practitioner"))
    v2 = _variant(v1, 0, text="A completely different question")
    v2 = _variant(v2, 3, reverse=False)
    r1, r2, r2b = _wave(v1, 1), _wave(v2, 2), _wave(v1, 3)
    warnings = wave_warnings([r1, r2], ["Q1", "Q2"])
    assert len(warnings) == 1
    first, fourth = v1.items[0].id, v1.items[3].id
    assert f"items {first}, {fourth} changed" in warnings[0]
    assert "Q1" in warnings[0] and "Q2" in warnings[0]
    assert wave_warnings([r1, r2b], ["Q1", "Q2"]) == []  # same definition, no warning
    # three waves: Q1->Q2 and Q2->Q3 change, Q1->Q3 (same version) does not
    assert len(wave_warnings([r1, r2, r2b], ["Q1", "Q2", "Q3"])) == 2


def test_trend_warns_about_a_changed_scale() -> None:
    v1 = make_survey([[False, False], [False, True]], groups=("executive", "practitioner"))
    v2 = v1.model_copy(update={"scale": v1.scale.model_copy(update={"favorable": [5]})})
    warnings = wave_warnings([_wave(v1, 1), _wave(v2, 2)], ["a", "b"])
    assert len(warnings) == 1 and "the answer scale changed" in warnings[0]


def test_trend_command_prints_the_warning(tmp_path: Path) -> None:
    v1 = make_survey([[False, False], [False, True]], groups=("executive", "practitioner"))
    v2 = _variant(v1, 1, text="Reworded entirely")
    paths = []
    for k, s in enumerate((v1, v2)):
        p = tmp_path / f"w{k}.json"
        p.write_text(json.dumps(_wave(s, k)), encoding="utf-8")
        paths.append(str(p))
    done = run_cli("trend", *paths, "--labels", "Q1,Q2", "--format", "json", columns=300)
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)  # the warning goes to stderr, the JSON stays clean
    assert "warning:" in done.stderr and f"item {v1.items[1].id} changed" in done.stderr


def test_a_scale_field_diff_does_not_know_yet_is_breaking() -> None:
    from alignscan.survey.diff import scale_changes

    base = {"points": 5, "labels": list("abcde"), "favorable": [4, 5]}
    changes = scale_changes({**base, "start": 1}, {**base, "start": 0})
    assert [(c.kind, c.breaking, c.path) for c in changes] == [("scale_start", True, "scale.start")]
