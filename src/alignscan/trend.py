"""Waves: is the gap closing? Compares the gap of each item and dimension across survey
waves, each wave being one result document from `analysis.analyze`.

The change in a gap between two waves is the difference of two independent gaps; its
standard error combines each wave's Welch standard error,
    se_wave = sqrt(sd_A^2 / n_A + sd_B^2 / n_B),   se_change = sqrt(se_1^2 + se_2^2),
and the 95% interval is change +/- z_0.975 * se_change (normal approximation: each
wave's groups are large enough to be compared at all). Two-sided p-values from the same
normal approximation are corrected with Benjamini-Hochberg across the whole trend table.
Anything suppressed in a wave stays suppressed: its gap and every change involving it
are null, and no figure is pooled across waves.
"""

from __future__ import annotations

import math
from typing import Any

from scipy.special import ndtr

from alignscan import __version__
from alignscan.analysis import Z95, benjamini_hochberg, newcombe_ci

TREND_VERSION = 1


def gap_se(unit: dict[str, Any], a: str, b: str) -> float | None:
    """Welch standard error of one wave's gap, or None when a cell is hidden."""
    ga, gb = unit["groups"].get(a, {}), unit["groups"].get(b, {})
    if unit.get("gap") is None or ga.get("suppressed") or gb.get("suppressed"):
        return None
    if ga.get("sd") is None or gb.get("sd") is None:
        return None
    return math.sqrt(ga["sd"] ** 2 / ga["n"] + gb["sd"] ** 2 / gb["n"])


def change_in_gap(gap1: float, se1: float, gap2: float, se2: float) -> dict[str, Any]:
    """Change gap2 - gap1 of two independent gaps, with a 95% CI and a p-value."""
    change = gap2 - gap1
    se = math.sqrt(se1**2 + se2**2)
    if se == 0:
        ci = [change, change]
        p = 1.0 if change == 0 else 0.0
    else:
        ci = [change - Z95 * se, change + Z95 * se]
        p = float(2 * ndtr(-abs(change) / se))
    if abs(gap2) < abs(gap1):
        direction = "closing"
    elif abs(gap2) > abs(gap1):
        direction = "widening"
    else:
        direction = "unchanged"
    return {
        "change": change,
        "ci": ci,
        "se": se,
        "p_value": p,
        "q_value": None,
        "direction": direction,
    }


def _favorable_counts(cell: dict[str, Any], favorable: list[int]) -> tuple[int, int] | None:
    """(favorable answers, answers) of a shown cell, from its code counts."""
    if cell.get("suppressed") or not cell.get("counts"):
        return None
    counts = {int(k): v for k, v in cell["counts"].items()}
    total = sum(counts.values())
    if total == 0:
        return None
    return sum(counts.get(c, 0) for c in favorable), total


def _units(results: list[dict[str, Any]], kind: str) -> list[tuple[str, list[dict | None]]]:
    """Units (items or dimensions) matched by id across waves, in first-seen order."""
    order: list[str] = []
    by_wave: list[dict[str, dict[str, Any]]] = []
    for result in results:
        units = {u["id"]: u for u in result[kind]}
        by_wave.append(units)
        order += [uid for uid in units if uid not in order]
    return [(uid, [w.get(uid) for w in by_wave]) for uid in order]


def trend(results: list[dict[str, Any]], labels: list[str] | None = None) -> dict[str, Any]:
    """The trend document: per dimension and item, the gap in each wave and its changes."""
    if len(results) < 2:
        raise ValueError("a trend needs at least two waves")
    labels = labels or [f"Wave {i + 1}" for i in range(len(results))]
    if len(labels) != len(results):
        raise ValueError(f"{len(labels)} labels for {len(results)} waves")
    a, b = results[-1]["compare"]
    for r in results:
        if list(r["compare"]) != [a, b]:
            raise ValueError(f"waves compare different groups: {r['compare']} vs {[a, b]}")
    tests: list[dict[str, Any]] = []
    sections: dict[str, list[dict[str, Any]]] = {}
    for kind in ("dimensions", "items"):
        rows = []
        for uid, units in _units(results, kind):
            present = [i for i, u in enumerate(units) if u is not None]
            waves: list[dict[str, Any]] = []
            for unit in units:
                if unit is None:
                    waves.append({"present": False})
                    continue
                se = gap_se(unit, a, b)
                gap = unit["gap"]
                cell: dict[str, Any] = {
                    "present": True,
                    "gap": gap["mean"] if gap else None,
                    "se": se,
                }
                if gap:
                    cell["mean_ci"] = gap["mean_ci"]
                fav: dict[str, float | None] = {}
                for g in (a, b):
                    c = unit["groups"].get(g, {"suppressed": True})
                    fav[g] = None if c.get("suppressed") else c.get("favorable")
                cell["favorable"] = fav
                waves.append(cell)
            changes = []
            pairs = [(present[j], present[j + 1]) for j in range(len(present) - 1)]
            if len(present) > 2:
                pairs.append((present[0], present[-1]))
            for i, j in pairs:
                change = _change(units[i], units[j], waves[i], waves[j], a, b, results[j])
                change.update({"from": labels[i], "to": labels[j]})
                changes.append(change)
                if change.get("gap") is not None:
                    tests.append(change["gap"])
            title = next((u.get("title") or u.get("text") for u in units if u), uid)
            row: dict[str, Any] = {
                "id": uid,
                "title": title,
                "waves_present": [labels[i] for i in present],
                "waves": waves,
                "changes": changes,
            }
            if kind == "items":
                row["dimension"] = next(u["dimension"] for u in units if u)
            rows.append(row)
        sections[kind] = rows
    for t, q in zip(tests, benjamini_hochberg([t["p_value"] for t in tests]), strict=True):
        t["q_value"] = q
    partial = [
        {"id": r["id"], "waves_present": r["waves_present"]}
        for r in sections["items"] + sections["dimensions"]
        if len(r["waves_present"]) < len(results)
    ]
    return {
        "trend_version": TREND_VERSION,
        "alignscan_version": __version__,
        "labels": labels,
        "compare": [a, b],
        "waves": [
            {
                "label": label,
                "survey": r["survey"],
                "source": r.get("source", {}),
                "groups": r["groups"],
                "min_group_size": r["min_group_size"],
            }
            for label, r in zip(labels, results, strict=True)
        ],
        "dimensions": sections["dimensions"],
        "items": sections["items"],
        "partial": partial,
    }


def _change(
    u1: dict[str, Any] | None,
    u2: dict[str, Any] | None,
    w1: dict[str, Any],
    w2: dict[str, Any],
    a: str,
    b: str,
    later: dict[str, Any],
) -> dict[str, Any]:
    out: dict[str, Any] = {"gap": None, "favorable": {}}
    if w1.get("gap") is not None and w2.get("gap") is not None:
        if w1["se"] is not None and w2["se"] is not None:
            out["gap"] = change_in_gap(w1["gap"], w1["se"], w2["gap"], w2["se"])
    favorable = later.get("scale", {}).get("favorable", [])
    for g in (a, b):
        c1 = _favorable_counts(u1["groups"].get(g, {}), favorable) if u1 else None
        c2 = _favorable_counts(u2["groups"].get(g, {}), favorable) if u2 else None
        if c1 is None or c2 is None:
            out["favorable"][g] = None
            continue
        out["favorable"][g] = {
            "change": c2[0] / c2[1] - c1[0] / c1[1],
            "ci": newcombe_ci(c2[0], c2[1], c1[0], c1[1]),
        }
    return out


def trend_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of the trend document written by `alignscan trend --json`."""
    num = {"type": "number"}
    nullable_num = {"anyOf": [num, {"type": "null"}]}
    pair = {"type": "array", "items": num, "minItems": 2, "maxItems": 2}
    change = {
        "anyOf": [
            {"type": "null"},
            {
                "type": "object",
                "properties": {
                    "change": num,
                    "ci": pair,
                    "se": num,
                    "p_value": num,
                    "q_value": nullable_num,
                    "direction": {"enum": ["closing", "widening", "unchanged"]},
                },
                "required": ["change", "ci", "p_value", "q_value", "direction"],
            },
        ]
    }
    fav_change = {
        "anyOf": [
            {"type": "null"},
            {
                "type": "object",
                "properties": {"change": num, "ci": pair},
                "required": ["change", "ci"],
            },
        ]
    }
    wave_cell = {
        "type": "object",
        "properties": {
            "present": {"type": "boolean"},
            "gap": nullable_num,
            "se": nullable_num,
            "mean_ci": pair,
            "favorable": {"type": "object", "additionalProperties": nullable_num},
        },
        "required": ["present"],
    }
    row = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "dimension": {"type": "string"},
            "waves_present": {"type": "array", "items": {"type": "string"}},
            "waves": {"type": "array", "items": wave_cell},
            "changes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "from": {"type": "string"},
                        "to": {"type": "string"},
                        "gap": change,
                        "favorable": {"type": "object", "additionalProperties": fav_change},
                    },
                    "required": ["from", "to", "gap", "favorable"],
                },
            },
        },
        "required": ["id", "title", "waves_present", "waves", "changes"],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "alignscan trend",
        "type": "object",
        "required": ["trend_version", "labels", "compare", "waves", "dimensions", "items"],
        "properties": {
            "trend_version": {"const": TREND_VERSION},
            "alignscan_version": {"type": "string"},
            "labels": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "compare": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
            "waves": {"type": "array", "items": {"type": "object"}},
            "dimensions": {"type": "array", "items": row},
            "items": {"type": "array", "items": row},
            "partial": {"type": "array", "items": {"type": "object"}},
        },
    }
