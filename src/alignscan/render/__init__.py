"""Rendering of a result document: `tabular` (JSON, CSV, result schema) and `html`."""
