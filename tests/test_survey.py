"""Survey definitions: every rule has a bad YAML that fails at the right line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from alignscan.survey import (
    builtin_survey_result,
    builtin_survey_text,
    load_survey,
    load_survey_text,
    read_survey_file,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED_EXAMPLE = ROOT / "tests" / "data" / "survey-example.yaml"  # copy of ../shared/examples

GOOD = textwrap.dedent(
    """\
    id: pulse
    title: Pulse
    version: "1"
    scale:
      points: 5
      labels: [Strongly disagree, Disagree, Neutral, Agree, Strongly agree]
      favorable: [4, 5]
      missing: ["", N/A]
    respondent_id: rid
    roles:
      column: role
      groups:
        executive: [C-suite, VP]
        practitioner: [Engineer, Analyst]
      compare: [executive, practitioner]
    segments: [department]
    dimensions:
      - id: roi
        title: ROI
        items:
          - {id: q1, text: One}
          - {id: q2, text: Two, reverse: true}
      - id: goals
        title: Goals
        items:
          - {id: q3, text: Three}
          - {id: q4, text: Four, column: Q4_1}
    comments:
      - {id: c1, text: Anything else?, column: comment}
    """
)


def errors_of(text: str) -> list[tuple[int, str]]:
    result = load_survey_text(text, "t.yaml")
    return [(p.line, p.message) for p in result.errors]


def replace_line(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    """1-based line where the first occurrence of `needle` (possibly multi-line) starts."""
    assert needle in text, needle
    return text[: text.index(needle)].count("\n") + 1


def test_good_survey_is_valid() -> None:
    result = load_survey_text(GOOD, "t.yaml")
    assert result.problems == []
    assert result.survey is not None
    assert [i.id for i in result.survey.items] == ["q1", "q2", "q3", "q4"]
    assert result.survey.items[3].source_column == "Q4_1"
    assert result.survey.privacy.min_group_size == 5
    assert result.survey.privacy.min_comment_group_size == 10


def test_builtin_instrument_is_valid_and_shaped_as_promised() -> None:
    result = builtin_survey_result()
    assert result.problems == [], result.problems
    survey = result.survey
    assert survey is not None
    # six fault-line dimensions of five items, then the outcome of the driver analysis
    assert len(survey.dimensions) == 7
    assert survey.drivers is not None and survey.drivers.outcome == "confidence"
    assert survey.dimensions[-1].id == "confidence" and len(survey.dimensions[-1].items) == 3
    for dim in survey.dimensions:
        assert len(dim.items) == (3 if dim.id == "confidence" else 5)
        assert any(item.reverse for item in dim.items), dim.id
        assert 2 <= len(dim.actions) <= 4, dim.id
    assert survey.roles.compare == ["executive", "practitioner"]
    assert {"C-suite", "VP"} <= set(survey.roles.groups["executive"])
    assert {"Director", "Senior manager"} <= set(survey.roles.groups["management"])
    assert {"Line manager", "Team lead", "Individual contributor"} <= set(
        survey.roles.groups["practitioner"]
    )


def test_packaged_instrument_matches_surveys_folder() -> None:
    assert (ROOT / "surveys" / "ai-alignment.yaml").read_text("utf-8") == builtin_survey_text()


@pytest.mark.parametrize(
    "path",
    [ROOT / "surveys" / "example-ai-pulse.yaml", SHARED_EXAMPLE],
    ids=["copy", "shared"],
)
def test_shared_example_validates_as_written(path: Path) -> None:
    result = read_survey_file(path)
    assert result.errors == []
    assert result.survey is not None and len(result.survey.items) == 30


# Each case: (description, old text, new text, text marking the expected line, message part)
RULES = [
    ("labels count", "favorable: [4, 5]", "favorable: [4, 5]\n  labels: [a, b]", None, None),
    (
        "labels != points",
        "labels: [Strongly disagree, Disagree, Neutral, Agree, Strongly agree]",
        "labels: [Low, Mid, High]",
        "labels: [Low",
        "5 points but 3 labels",
    ),
    ("favorable range", "favorable: [4, 5]", "favorable: [4, 6]", "favorable:", "outside 1..5"),
    ("favorable zero", "favorable: [4, 5]", "favorable: [0]", "favorable:", "outside 1..5"),
    (
        "duplicate item id across dimensions",
        "{id: q3, text: Three}",
        "{id: q1, text: Three}",
        "{id: q1, text: Three}",
        "item id 'q1' is used twice",
    ),
    (
        "duplicate dimension id",
        "- id: goals",
        "- id: roi",
        "- id: roi\n    title: Goals",
        "dimension id 'roi' is used twice",
    ),
    (
        "column used twice",
        "{id: q4, text: Four, column: Q4_1}",
        "{id: q4, text: Four, column: q1}",
        "column: q1",
        "column 'q1' is already used",
    ),
    (
        "item column equals role column",
        "{id: q4, text: Four, column: Q4_1}",
        "{id: q4, text: Four, column: role}",
        "column: role}",
        "already used as the role column",
    ),
    (
        "segment equals comment column",
        "segments: [department]",
        "segments: [comment]",
        "column: comment",
        "already used",
    ),
    (
        "compare names unknown group",
        "compare: [executive, practitioner]",
        "compare: [executive, managers]",
        "compare:",
        "'managers', which is not in roles.groups",
    ),
    (
        "compare same group",
        "compare: [executive, practitioner]",
        "compare: [executive, executive]",
        "compare:",
        "two different groups",
    ),
    (
        "role value in two groups",
        "practitioner: [Engineer, Analyst]",
        "practitioner: [Engineer, vp]",
        "practitioner: [Engineer, vp]",
        "in two groups",
    ),
    (
        "min group size below 3",
        "segments: [department]",
        "segments: [department]\nprivacy: {min_group_size: 2}",
        "privacy:",
        "greater than or equal to 3",
    ),
    (
        "unknown field",
        "{id: q2, text: Two, reverse: true}",
        "{id: q2, text: Two, reversed: true}",
        "reversed: true",
        "unknown field 'reversed'",
    ),
    (
        "missing required field",
        'version: "1"\n',
        "",
        None,
        "required field 'version' is missing",
    ),
    (
        "bad slug",
        "id: pulse",
        "id: my pulse!",
        "id: my pulse",
        "must be a slug",
    ),
    (
        "wrong type",
        "points: 5",
        "points: five",
        "points: five",
        "valid integer",
    ),
    (
        "unmatched option",
        "compare: [executive, practitioner]",
        "compare: [executive, practitioner]\n  unmatched: drop",
        "unmatched: drop",
        "'error' or 'ignore'",
    ),
    (
        "no dimensions",
        "dimensions:",
        "dimensions: []\nold_dimensions:",
        None,
        None,
    ),
    (
        "comment threshold below group threshold",
        "segments: [department]",
        "segments: [department]\nprivacy: {min_group_size: 8, min_comment_group_size: 5}",
        "privacy:",
        "min_comment_group_size can't be smaller",
    ),
    (
        "alias code out of range",
        'missing: ["", N/A]',
        'missing: ["", N/A]\n  aliases: {Agree somewhat: 7}',
        "aliases:",
        "alias code 7 is outside 1..5",
    ),
    (
        "missing value equal to a label",
        'missing: ["", N/A]',
        'missing: ["", neutral]',
        "missing:",
        "both an answer and a 'missing' value",
    ),
]


@pytest.mark.parametrize("case", RULES, ids=[c[0] for c in RULES])
def test_each_rule_fails_at_the_right_line(case) -> None:
    _, old, new, marker, message = case
    text = replace_line(GOOD, old, new)
    errors = errors_of(text)
    assert errors, "expected at least one error"
    if message is not None:
        matching = [(line, msg) for line, msg in errors if message in msg]
        assert matching, errors
        if marker is not None:
            assert matching[0][0] == line_of(text, marker), errors


def test_all_rule_errors_are_collected_at_once() -> None:
    text = replace_line(GOOD, "favorable: [4, 5]", "favorable: [9]")
    text = replace_line(text, "{id: q3, text: Three}", "{id: q1, text: Three}")
    text = replace_line(text, "compare: [executive, practitioner]", "compare: [executive, x]")
    messages = " | ".join(msg for _, msg in errors_of(text))
    assert "outside 1..5" in messages
    assert "used twice" in messages
    assert "'x', which is not in roles.groups" in messages


def test_rules_still_run_next_to_an_unknown_field() -> None:
    text = replace_line(GOOD, "{id: q3, text: Three}", "{id: q1, text: Three, colour: red}")
    messages = [msg for _, msg in errors_of(text)]
    assert "unknown field 'colour'" in messages
    assert any("item id 'q1' is used twice" in m for m in messages)


def test_single_item_dimension_is_a_warning_not_an_error() -> None:
    text = replace_line(GOOD, "      - {id: q4, text: Four, column: Q4_1}\n", "")
    result = load_survey_text(text, "t.yaml")
    assert result.errors == []
    warnings = [p for p in result.problems if p.severity == "warning"]
    assert len(warnings) == 1 and "alpha" in warnings[0].message
    # reported at the dimension's `items:` key
    assert warnings[0].line == line_of(text, "    items:\n      - {id: q3")


def test_yaml_12_keeps_no_on_off_as_strings() -> None:
    text = replace_line(
        GOOD, "practitioner: [Engineer, Analyst]", "practitioner: [no, on, off, yes, Engineer]"
    )
    result = load_survey_text(text, "t.yaml")
    assert result.errors == []
    assert result.survey is not None
    assert result.survey.roles.groups["practitioner"][:4] == ["no", "on", "off", "yes"]


def test_numeric_version_and_missing_values_become_text() -> None:
    text = replace_line(GOOD, 'version: "1"', "version: 2")
    text = replace_line(text, 'missing: ["", N/A]', 'missing: ["", N/A, 99]')
    result = load_survey_text(text, "t.yaml")
    assert result.errors == []
    assert result.survey is not None
    assert result.survey.version == "2"
    assert result.survey.scale.missing == ["", "N/A", "99"]


HOSTILE = [
    ("duplicate key", GOOD.replace("title: Pulse\n", "title: Pulse\ntitle: Again\n"), 3, "dupl"),
    ("tab indentation", GOOD.replace("  points: 5", "\tpoints: 5"), 5, "tab"),
    ("python tag", GOOD.replace("title: Pulse", "title: !!python/object:os.system {}"), 2, "tag"),
    ("custom tag", GOOD.replace("title: Pulse", "title: !secret Pulse"), 2, "tag"),
    ("empty file", "", 1, "empty"),
    ("comments only", "# nothing here\n", 1, "empty"),
    ("top-level list", "- id: x\n- id: y\n", 1, "mapping"),
    ("top-level scalar", "just text\n", 1, "mapping"),
    ("two documents", GOOD + "---\nid: other\n", 31, "one YAML document"),
    ("unclosed bracket", GOOD.replace("favorable: [4, 5]", "favorable: [4, 5"), 8, "syntax"),
    ("recursive alias", "a: &a [*a]\n", 1, "itself"),
    ("merge key", "base: &b {x: 1}\nother:\n  <<: *b\n", 3, "merge"),
]


@pytest.mark.parametrize("case", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_yaml_gets_a_clear_error(case) -> None:
    _, text, line, word = case
    result = load_survey_text(text, "t.yaml")
    assert result.survey is None
    assert len(result.errors) == 1
    assert result.errors[0].line == line, result.errors
    assert word.lower() in result.errors[0].message.lower(), result.errors


def test_billion_laughs_is_refused_without_expanding() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 12):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    result = load_survey_text("\n".join(lines) + "\n", "bomb.yaml")
    assert result.survey is None
    assert "too many values" in result.errors[0].message


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    result = load_survey_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n", "deep.yaml")
    assert result.survey is None
    assert result.errors and "nested too deeply" in result.errors[0].message


def test_small_anchors_still_work() -> None:
    text = replace_line(
        GOOD,
        "practitioner: [Engineer, Analyst]",
        "practitioner: &prac [Engineer, Analyst]",
    )
    assert load_survey_text(text, "t.yaml").errors == []


def test_binary_and_non_utf8_files(tmp_path: Path) -> None:
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"PK\x03\x04\x00\x00\xff\xfe binary")
    latin = tmp_path / "l.yaml"
    latin.write_bytes("id: caf\xe9\n".encode("latin-1"))
    for path in (binary, latin):
        result = read_survey_file(path)
        assert result.survey is None
        assert result.errors and result.errors[0].file == str(path)


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    assert read_survey_file(path).ok


def test_load_survey_raises_with_every_problem(tmp_path: Path) -> None:
    from alignscan.survey import SurveyError

    path = tmp_path / "bad.yaml"
    path.write_text(replace_line(GOOD, "favorable: [4, 5]", "favorable: [7, 8]"), "utf-8")
    with pytest.raises(SurveyError) as info:
        load_survey(path)
    assert len(info.value.problems) == 2
    assert load_survey(None).id == "ai-alignment"
