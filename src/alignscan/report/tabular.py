"""The result document as JSON (byte-deterministic), as a tidy CSV, and its JSON Schema."""

from __future__ import annotations

import json
from typing import Any

from alignscan import drivers, findings
from alignscan.analysis import clean_json
from alignscan.textsafe import csv_text

GROUP_METRICS = ("n", "mean", "sd", "favorable", "favorable_se")
GAP_METRICS = ("mean", "se", "df", "favorable", "p_value", "q_value", "cliffs_delta", "magnitude")


def result_to_json(result: dict[str, Any]) -> str:
    """Stable JSON text: same result, same bytes. NaN is never written (null instead)."""
    return json.dumps(clean_json(result), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _rows(result: dict[str, Any]) -> list[list[Any]]:
    a, b = result["compare"]
    gap_name = f"gap ({a} - {b})"
    rows: list[list[Any]] = []

    def cells(level: str, ident: str, seg_col: str, seg_val: str, unit: dict[str, Any]) -> None:
        for group, cell in unit["groups"].items():
            if cell.get("suppressed"):
                rows.append([level, ident, seg_col, seg_val, group, "suppressed", "true"])
                continue
            for metric in GROUP_METRICS:
                if metric in cell:
                    rows.append([level, ident, seg_col, seg_val, group, metric, cell[metric]])
            for code, count in (cell.get("counts") or {}).items():
                rows.append([level, ident, seg_col, seg_val, group, f"count_{code}", count])
            for code, count in (cell.get("answer_counts") or {}).items():
                rows.append([level, ident, seg_col, seg_val, group, f"answer_count_{code}", count])
        g = unit.get("gap")
        if g is None:
            rows.append([level, ident, seg_col, seg_val, gap_name, "suppressed", "true"])
            return
        for metric in GAP_METRICS:
            rows.append([level, ident, seg_col, seg_val, gap_name, metric, g.get(metric)])
        for metric in ("mean_ci", "mean_ci_adjusted", "favorable_ci"):
            lo_hi = g.get(metric) or [None, None]
            rows.append([level, ident, seg_col, seg_val, gap_name, f"{metric}_low", lo_hi[0]])
            rows.append([level, ident, seg_col, seg_val, gap_name, f"{metric}_high", lo_hi[1]])

    for name in ("read", "used", "excluded"):
        rows.append(["rows", "", "", "", "", name, result["rows"][name]])
    for reason, count in result["rows"].get("excluded_by_reason", {}).items():
        rows.append(["rows", "", "", "", "", f"excluded: {reason}", count])
    for group, label in findings.group_labels(result).items():
        rows.append(["group", "", "", "", group, "label", label])
    for group, cell in result["groups"].items():
        if cell.get("suppressed"):
            rows.append(["group", "", "", "", group, "suppressed", "true"])
        else:
            rows.append(["group", "", "", "", group, "n", cell["n"]])
    for item in result["items"]:
        cells("item", item["id"], "", "", item)
    for dim in result["dimensions"]:
        cells("dimension", dim["id"], "", "", dim)
        if dim.get("alpha") is not None:
            rows.append(["dimension", dim["id"], "", "", "all", "alpha", dim["alpha"]])
        rows.append(["dimension", dim["id"], "", "", "all", "alpha_n", dim.get("alpha_n")])
    for seg in result["segments"]:
        cells("segment", seg["dimension"], seg["column"], seg["value"], seg)
    rows.extend(drivers.csv_rows(result))
    return rows


def result_to_csv(result: dict[str, Any]) -> str:
    """One tidy long table: level, id, segment_column, segment_value, group, metric, value.

    Written with a UTF-8 byte order mark and CRLF line ends so Excel opens it cleanly."""
    header = ["level", "id", "segment_column", "segment_value", "group", "metric", "value"]
    return csv_text([header, *_rows(clean_json(result))], bom=True, crlf=True)


def result_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of the result document (generated from `alignscan.models`)."""
    from alignscan.models import result_schema

    return result_schema()
