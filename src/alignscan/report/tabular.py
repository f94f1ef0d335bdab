"""The result document as JSON (byte-deterministic), as a tidy CSV, and its JSON Schema."""

from __future__ import annotations

import json
from typing import Any

from alignscan import drivers, findings
from alignscan.analysis import RESULT_VERSION, clean_json
from alignscan.norms import benchmark_json_schema, norms_summary_json_schema
from alignscan.participation import participation_json_schema
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


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def result_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of the result document written by `analyze --json`."""
    number = {"type": "number"}
    ci = _nullable({"type": "array", "items": number, "minItems": 2, "maxItems": 2})
    suppressed = {
        "type": "object",
        "properties": {"suppressed": {"const": True}},
        "required": ["suppressed"],
        "additionalProperties": False,
        "description": "A cell below the minimum group size: no figures at all.",
    }
    stats_cell = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 0},
            "mean": _nullable(number),
            "sd": _nullable(number),
            "favorable": _nullable(number),
            "favorable_se": {
                **_nullable(number),
                "description": "Dimensions and segments: respondent-clustered standard "
                "error of the favorable share (a share of answers).",
            },
            "counts": _nullable(
                {"type": "object", "additionalProperties": {"type": "integer"}}
            ),
            "answer_counts": {
                **_nullable({"type": "object", "additionalProperties": {"type": "integer"}}),
                "description": "Items: counts per code as people answered (reverse-keyed "
                "items not recoded); `counts` are on the recoded scale.",
            },
        },
        "required": ["n", "mean", "sd"],
        "additionalProperties": False,
    }
    group_cells = {
        "type": "object",
        "additionalProperties": {"oneOf": [suppressed, {"$ref": "#/$defs/stats"}]},
    }
    gap = _nullable(
        {
            "type": "object",
            "properties": {
                "mean": number,
                "mean_ci": ci,
                "mean_ci_adjusted": {
                    **ci,
                    "description": "Welch interval at the false-coverage-rate adjusted "
                    "level 1 - 0.05 max(R, 1) / m of its family (Benjamini-Yekutieli 2005).",
                },
                "se": number,
                "df": _nullable(number),
                "favorable": _nullable(number),
                "favorable_ci": ci,
                "p_value": {**_nullable(number), "description": "Welch's t-test, two-sided."},
                "q_value": _nullable(number),
                "cliffs_delta": _nullable(number),
                "magnitude": _nullable({"enum": ["negligible", "small", "medium", "large"]}),
            },
            "required": [
                "mean",
                "mean_ci",
                "mean_ci_adjusted",
                "se",
                "df",
                "favorable",
                "favorable_ci",
                "p_value",
                "q_value",
                "cliffs_delta",
                "magnitude",
            ],
            "additionalProperties": False,
        }
    )
    string = {"type": "string"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "alignscan analysis result",
        "type": "object",
        "$defs": {
            "stats": stats_cell,
            "groups": group_cells,
            "gap": gap,
            "benchmark": benchmark_json_schema(),
        },
        "required": [  # every key the report renderer reads
            "result_version",
            "alignscan_version",
            "survey",
            "source",
            "scale",
            "compare",
            "min_group_size",
            "rows",
            "groups",
            "items",
            "dimensions",
            "segments",
        ],
        "properties": {
            "result_version": {"const": RESULT_VERSION},
            "alignscan_version": string,
            "survey": {
                "type": "object",
                "properties": {"id": string, "version": string, "title": string},
                "required": ["id", "version", "title"],
            },
            "source": {"type": "object", "required": ["file"]},
            "scale": {
                "type": "object",
                "properties": {
                    "points": {"type": "integer"},
                    "start": {"type": "integer"},
                    "labels": {"type": "array", "items": string},
                    "favorable": {"type": "array", "items": {"type": "integer"}},
                },
                "required": ["points", "labels", "favorable"],
            },
            "compare": {"type": "array", "items": string, "minItems": 2, "maxItems": 2},
            "min_group_size": {"type": "integer", "minimum": 3},
            "min_comment_group_size": {"type": "integer"},
            "rows": {
                "type": "object",
                "properties": {
                    "read": _nullable({"type": "integer"}),
                    "used": _nullable({"type": "integer"}),
                    "excluded": _nullable({"type": "integer"}),
                    "comment_redactions": {
                        "type": "object",
                        "additionalProperties": {"type": "integer"},
                    },
                    "excluded_by_reason": {
                        "type": "object",
                        "additionalProperties": {"type": "integer"},
                    },
                    "cells_set_missing": {
                        "type": "object",
                        "additionalProperties": {"type": "integer"},
                    },
                },
                "required": ["read", "used", "excluded"],
            },
            "groups": {
                "type": "object",
                "additionalProperties": {
                    "oneOf": [
                        suppressed,
                        {
                            "type": "object",
                            "properties": {"n": {"type": "integer"}},
                            "required": ["n"],
                            "additionalProperties": False,
                        },
                    ]
                },
            },
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": string,
                        "dimension": string,
                        "text": string,
                        "reverse": {"type": "boolean"},
                        "answered_share": _nullable(number),
                        "groups": {"$ref": "#/$defs/groups"},
                        "gap": {"$ref": "#/$defs/gap"},
                        "benchmark": {"$ref": "#/$defs/benchmark"},
                    },
                    "required": [
                        "id",
                        "dimension",
                        "text",
                        "reverse",
                        "answered_share",
                        "groups",
                        "gap",
                    ],
                },
            },
            "dimensions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": string,
                        "title": string,
                        "description": _nullable(string),
                        "actions": {"type": "array", "items": string},
                        "items": {"type": "array", "items": string},
                        "alpha": _nullable(number),
                        "alpha_n": _nullable({"type": "integer"}),
                        "groups": {"$ref": "#/$defs/groups"},
                        "gap": {"$ref": "#/$defs/gap"},
                        "benchmark": {"$ref": "#/$defs/benchmark"},
                    },
                    "required": ["id", "title", "groups", "gap", "alpha", "alpha_n"],
                },
            },
            "segments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "column": string,
                        "value": string,
                        "dimension": string,
                        "groups": {"$ref": "#/$defs/groups"},
                        "gap": {"$ref": "#/$defs/gap"},
                    },
                    "required": ["column", "value", "dimension", "groups", "gap"],
                },
            },
            "comments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": string,
                        "text": string,
                        "groups": {
                            "type": "object",
                            "additionalProperties": {
                                "oneOf": [
                                    suppressed,
                                    {
                                        "type": "object",
                                        "properties": {
                                            "count": {"type": "integer"},
                                            "texts": {"type": "array", "items": string},
                                        },
                                        "required": ["count", "texts"],
                                    },
                                ]
                            },
                        },
                    },
                },
            },
            "privacy": {
                "type": "object",
                "description": "What the anonymity audit hid (see the README's Privacy section).",
                "properties": {
                    "min_group_size": {"type": "integer"},
                    "segment_cells": {"type": "integer"},
                    "cells_hidden_small": {"type": "integer"},
                    "cells_hidden_protective": {"type": "integer"},
                    "groups_hidden": {"type": "integer"},
                    "row_totals_withheld": {"type": "boolean"},
                    "pooled_counts_withheld": {"type": "integer"},
                },
            },
            "warnings": {"type": "array", "items": string},
            "drivers": drivers.json_schema(),
            "participation": participation_json_schema(),
            "norms": norms_summary_json_schema(),
            "group_labels": {"type": "object", "additionalProperties": string},
            "report": {
                "type": "object",
                "properties": {
                    "client": string,
                    "prepared_by": string,
                    "logo": {"type": "string", "pattern": "^data:image/(png|jpeg);base64,"},
                },
                "additionalProperties": False,
            },
            "trend": {"type": "object", "description": "With analyze --baseline: the trend."},
            "report_date": string,
        },
    }
