"""The Excel response template: header, question texts, and answer drop-downs."""

from __future__ import annotations

import io

from alignscan.survey import Survey

MAX_TEMPLATE_ROWS = 5000  # rows below the header that get the answer drop-down


def template_workbook(survey: Survey, rows: list[list[str]]) -> bytes:
    """An .xlsx whose item columns offer the scale's labels as a drop-down list.

    The labels live on a hidden sheet and the validation refers to that range, so labels
    may contain commas and any number of them fit (a literal list is capped at 255
    characters). Cells are written as text, never as formulas."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "responses"
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            cell.data_type = "s"  # text, even if it starts with "="
    answers = wb.create_sheet("answers")
    for k, label in enumerate(survey.scale.labels, start=1):
        answers.cell(row=k, column=1, value=label).data_type = "s"
    answers.sheet_state = "hidden"
    source = f"answers!$A$1:$A${len(survey.scale.labels)}"
    validation = DataValidation(
        type="list",
        formula1=source,
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Not an answer on the scale",
        error="Choose one of the answers in the list.",
    )
    items = {i.source_column for i in survey.items}
    first = len(rows) + 1
    for c, name in enumerate(rows[0], start=1):
        if name in items:
            letter = get_column_letter(c)
            validation.add(f"{letter}{first}:{letter}{first + MAX_TEMPLATE_ROWS - 1}")
    ws.add_data_validation(validation)
    ws.freeze_panes = ws.cell(row=first, column=1)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
