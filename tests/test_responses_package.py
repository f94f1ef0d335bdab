"""The responses package: public names, progress as a callback, kinds as str enums."""

from __future__ import annotations

import json
from pathlib import Path

import alignscan.responses as responses
from alignscan.responses import ErrorKind, Exclusion, read_responses
from alignscan.survey import read_survey_file

CORPUS = Path(__file__).parent / "data" / "responses"
PACKAGE = Path(responses.__file__).parent


def survey():
    return read_survey_file(CORPUS / "survey.yaml").survey


def test_progress_is_reported_through_the_callback_in_order() -> None:
    calls: list[tuple[str, float]] = []
    read_responses(CORPUS / "valid_utf8.csv", survey(), progress=lambda s, d: calls.append((s, d)))
    assert [s for s, _ in calls] == ["reading", "coding", "done"]
    done = [d for _, d in calls]
    assert done == sorted(done) and done[0] == 0.0 and done[-1] == 1.0


def test_the_library_draws_nothing_itself() -> None:
    for module in PACKAGE.glob("*.py"):
        text = module.read_text(encoding="utf-8")
        assert "rich" not in text.replace("enrich", ""), module.name


def test_kinds_and_reasons_serialise_as_their_strings() -> None:
    rs = read_responses(CORPUS / "error_unknown_role.csv", survey())
    first = rs.errors[0]
    assert type(first.kind) is ErrorKind and first.kind == "unknown_role"
    assert json.loads(json.dumps(first.as_dict()))["kind"] == "unknown_role"
    lenient = read_responses(CORPUS / "error_unknown_role.csv", survey(), lenient=True)
    # two rows name an unknown role (Intern, twice) and one is blank (r5): counted by hand
    assert lenient.rows.excluded == {Exclusion.UNKNOWN_ROLE: 2, Exclusion.BLANK_ROLE: 1}
    assert json.dumps(lenient.rows.excluded) == json.dumps(
        {"role matches no group": 2, "role is blank": 1}
    )


def test_the_public_names_are_still_importable_from_the_package() -> None:
    for name in ("read_responses", "ResponseSet", "CellError", "Labels", "RowCounts",
                 "SourceInfo", "ResponsesError", "template_rows", "write_errors_csv",
                 "errors_csv_text", "answer_lookup", "code_answer"):
        assert name in responses.__all__ and hasattr(responses, name)
