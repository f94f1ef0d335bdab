"""What leaves the reader as files: the CSV template for a survey and the errors CSV."""

from __future__ import annotations

import io
from pathlib import Path

from alignscan.responses.model import CellError
from alignscan.survey import Survey


def template_rows(survey: Survey) -> list[list[str]]:
    """The header row plus a second header row with each question's text; no example
    answers, so an unfilled template can never be analysed as a respondent."""
    header: list[str] = []
    texts: list[str] = []
    if survey.respondent_id:
        header.append(survey.respondent_id)
        texts.append("Respondent id")
    header.append(survey.roles.column)
    from alignscan.result.findings import default_label

    names = dict(survey.roles.labels or {})
    roles = "; ".join(
        f"{v[0]} = {names.get(g) or default_label(g)}" for g, v in survey.roles.groups.items() if v
    )
    texts.append(f"Role (one of: {roles})")
    for seg in survey.segments:
        header.append(seg)
        texts.append(seg)
    for item in survey.items:
        header.append(item.source_column)
        texts.append(item.text)
    for comment in survey.comments:
        header.append(comment.source_column)
        texts.append(comment.text)
    return [header, texts]


def errors_csv_text(errors: list[CellError]) -> str:
    """All errors as CSV text: file,row,column,value,reason,kind (values are the offending
    cells, formula-guarded)."""
    from alignscan.textsafe import csv_text

    header = ["file", "row", "column", "value", "reason", "kind"]
    rows = ([e.file, e.row or "", e.column or "", e.value or "", e.reason, e.kind] for e in errors)
    return csv_text([header, *rows])


def write_errors_csv(errors: list[CellError], target: Path | io.TextIOBase) -> None:
    """`errors_csv_text` to a file (atomically) or an open text stream."""
    text = errors_csv_text(errors)
    if isinstance(target, Path):
        from alignscan.atomic import write_one

        write_one(target, text)
    else:
        target.write(text)
