"""The result document as JSON (byte-deterministic), as a tidy CSV, and its JSON Schema."""

from __future__ import annotations

from typing import Any

from alignscan.extras import drivers
from alignscan.result import findings
from alignscan.result.models import Dimension, Item, ResultDocument, Segment, Suppressed, as_result
from alignscan.textsafe import csv_text

Unit = Item | Dimension | Segment

GROUP_METRICS = ("n", "mean", "sd", "favorable", "favorable_se")
GAP_METRICS = ("mean", "se", "df", "favorable", "p_value", "q_value", "cliffs_delta", "magnitude")


def result_to_json(result: Any) -> str:
    """Stable JSON text: same result, same bytes. NaN is never written (null instead).
    The one dumper, `models.json_text`, under its former name."""
    from alignscan.result.models import json_text

    return json_text(result)


def _rows(result: ResultDocument) -> list[list[Any]]:
    a, b = result.compare
    gap_name = f"gap ({a} - {b})"
    rows: list[list[Any]] = []

    def cells(level: str, ident: str, seg_col: str, seg_val: str, unit: Unit) -> None:
        for group, cell in unit.groups.items():
            if isinstance(cell, Suppressed):
                rows.append([level, ident, seg_col, seg_val, group, "suppressed", "true"])
                continue
            given = cell.model_fields_set  # a metric the cell has, even when null
            for metric in (m for m in GROUP_METRICS if m in given):
                rows.append([level, ident, seg_col, seg_val, group, metric, getattr(cell, metric)])
            for code, count in (cell.counts or {}).items():
                rows.append([level, ident, seg_col, seg_val, group, f"count_{code}", count])
            for code, count in (cell.answer_counts or {}).items():
                rows.append([level, ident, seg_col, seg_val, group, f"answer_count_{code}", count])
        g = unit.gap
        if g is None:
            rows.append([level, ident, seg_col, seg_val, gap_name, "suppressed", "true"])
            return
        for metric in GAP_METRICS:
            rows.append([level, ident, seg_col, seg_val, gap_name, metric, getattr(g, metric)])
        for metric in ("mean_ci", "mean_ci_adjusted", "favorable_ci"):
            lo_hi = getattr(g, metric) or [None, None]
            rows.append([level, ident, seg_col, seg_val, gap_name, f"{metric}_low", lo_hi[0]])
            rows.append([level, ident, seg_col, seg_val, gap_name, f"{metric}_high", lo_hi[1]])

    for name in ("read", "used", "excluded"):
        rows.append(["rows", "", "", "", "", name, getattr(result.rows, name)])
    for reason, count in result.rows.excluded_by_reason.items():
        rows.append(["rows", "", "", "", "", f"excluded: {reason}", count])
    for group, label in findings.group_labels(result).items():
        rows.append(["group", "", "", "", group, "label", label])
    for group, size in result.groups.items():
        if isinstance(size, Suppressed):
            rows.append(["group", "", "", "", group, "suppressed", "true"])
        else:
            rows.append(["group", "", "", "", group, "n", size.n])
    for item in result.items:
        cells("item", item.id, "", "", item)
    for dim in result.dimensions:
        cells("dimension", dim.id, "", "", dim)
        if dim.alpha is not None:
            rows.append(["dimension", dim.id, "", "", "all", "alpha", dim.alpha])
        rows.append(["dimension", dim.id, "", "", "all", "alpha_n", dim.alpha_n])
    for seg in result.segments:
        cells("segment", seg.dimension, seg.column, seg.value, seg)
    rows.extend(drivers.csv_rows(result))
    return rows


def metric_unit(result: ResultDocument, row: list[Any]) -> str:
    """The unit of a CSV row's value in the report's words: means and mean gaps in points
    on the answer scale, favorable shares as shares of answers, favorable-share gaps as
    share differences (x 100 = percentage points (favorable share))."""
    level, metric, group = row[0], row[5], row[4]
    if level not in ("item", "dimension", "segment"):
        return ""
    gap = str(group).startswith("gap (")
    base = metric.rsplit("_", 1)[0] if metric.endswith(("_low", "_high")) else metric
    if base in ("mean", "sd", "se", "mean_ci", "mean_ci_adjusted"):
        return findings.scale_unit(result)
    if base in ("favorable", "favorable_se", "favorable_ci"):
        if gap:
            return f"share difference, 0 to 1 (x 100 = {findings.SHARE_UNIT})"
        return "share of answers, 0 to 1"
    return ""


def result_to_csv(result: ResultDocument | dict[str, Any]) -> str:
    """One tidy long table: level, id, segment_column, segment_value, group, metric, value,
    and the value's unit in words (empty where it has none: counts, q-values, deltas).

    Written with a UTF-8 byte order mark and CRLF line ends so Excel opens it cleanly."""
    header = ["level", "id", "segment_column", "segment_value", "group", "metric", "value"]
    doc = as_result(result)
    rows = [[*row, metric_unit(doc, row)] for row in _rows(doc)]
    return csv_text([[*header, "unit"], *rows], bom=True, crlf=True)


def result_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of the result document (generated from `alignscan.result.models`)."""
    from alignscan.result.schema import result_schema

    return result_schema()
