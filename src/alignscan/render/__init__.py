"""Rendering of a result document: `tabular` (JSON, CSV, result schema), `html` (the
report), `terminal` and the office documents (`office`: deck and workbook)."""
