"""The result document's sections, written from the prepared counts: items, dimensions,
segments, comments, rows, the privacy summary, the drivers and the smallest detectable
gap."""

from __future__ import annotations

from typing import Any

import numpy as np

import alignscan.privacy.privacy_int as privacy_int
from alignscan import limits
from alignscan._version import version
from alignscan.analysis.cells import fill_small
from alignscan.analysis.prepared import (
    _dimension_level,
    _gap_of,
    _group_cells,
    _Level,
    _Prepared,
    _without_withheld_share,
)
from alignscan.analysis.stats import (  # re-exported: the statistics used to live here
    SMALL,
    Welch,
    benjamini_hochberg,
    cronbach_alpha_sums,
    el_rows,
    fcr_level,
)
from alignscan.counting.counts import CommentTally
from alignscan.extras.drivers import DriverStats, driver_result, driver_spec, score_scale
from alignscan.privacy.privacy import Plan
from alignscan.privacy.redaction import REDACTION_KINDS
from alignscan.responses import ResponseSet

RESULT_VERSION = 2


def group_labels(survey: Any) -> dict[str, str]:
    """Display name of every role group: the survey's `roles.labels`, else the default."""
    from alignscan.result.findings import default_label

    return {g: survey.roles.labels.get(g) or default_label(g) for g in survey.roles.groups}


def _add_answer_counts(items_out: list[dict[str, Any]], first: int, points: int) -> None:
    """Each shown item cell's counts per code as people answered (`answer_counts`): for a
    reverse-keyed item the mirror of the recoded `counts` (a bijection of published
    figures, so nothing new about respondents), for the others the same counts."""
    last = first + points - 1
    for item in items_out:
        for cell in item["groups"].values():
            counts = cell.get("counts")
            if counts is None:
                continue
            if item["reverse"]:
                mirrored = {first + last - int(code): n for code, n in counts.items()}
                cell["answer_counts"] = {str(c): mirrored[c] for c in sorted(mirrored)}
            else:
                cell["answer_counts"] = dict(counts)


def _document(
    prep: _Prepared,
    items_out: list[dict[str, Any]],
    dims_out: list[dict[str, Any]],
    segments_out: list[dict[str, Any]],
) -> dict[str, Any]:
    survey, rs = prep.survey, prep.responses
    minimum = survey.privacy.min_group_size
    group_sizes = {
        name: ({"n": int(n)} if g not in prep.plan.hidden_groups else {"suppressed": True})
        for g, (name, n) in enumerate(zip(prep.groups, prep.sizes, strict=True))
    }
    comments, redactions = _comments(prep)
    result = {
        "result_version": RESULT_VERSION,
        "alignscan_version": version(),
        "survey": {"id": survey.id, "version": survey.version, "title": survey.title},
        "source": {
            "file": rs.source.file.replace("\\", "/").rsplit("/", 1)[-1],
            "format": rs.source.format,
            "export_tool": rs.source.export_tool,
        },
        "scale": {
            "points": survey.scale.points,
            "start": survey.scale.start,
            "labels": list(survey.scale.labels),
            "favorable": list(survey.scale.favorable),
        },
        "compare": list(survey.roles.compare),
        "group_labels": group_labels(survey),
        "min_group_size": minimum,
        "min_comment_group_size": survey.privacy.min_comment_group_size,
        "rows": _rows(rs, prep.plan, redactions),
        "groups": group_sizes,
        "items": items_out,
        "dimensions": dims_out,
        "segments": segments_out,
        "comments": comments,
        "privacy": {**_privacy_summary(prep.plan, minimum), "protective_hides": _why(prep)},
        "warnings": [*rs.warnings, *_audit_warnings(prep.plan)],
        "detectable_gap": detectable_gap(prep, items_out, dims_out),
    }
    if survey.report is not None:
        result["report"] = survey.report.model_dump(exclude_none=True)
    drivers = _drivers(prep)
    if drivers is not None:
        for g in prep.plan.hidden_groups:  # a hidden group stays hidden here too
            drivers["groups"][prep.groups[g]] = {"suppressed": True}
        result["drivers"] = drivers
    return result


def detectable_gap(
    prep: _Prepared, items_out: list[dict[str, Any]], dims_out: list[dict[str, Any]]
) -> dict[str, Any]:
    """The smallest gap the data can tell from noise: the median half-width of the
    adjusted intervals of the item gaps and of the dimension gaps (a gap is flagged
    exactly when its adjusted interval excludes zero), and the smaller compared group."""
    names = list(prep.survey.roles.compare)
    sizes = [int(prep.sizes[prep.groups.index(g)]) for g in names]
    small = int(np.argmin(sizes))

    def median_half(units: list[dict[str, Any]]) -> float | None:
        halves = [
            (u["gap"]["mean_ci_adjusted"][1] - u["gap"]["mean_ci_adjusted"][0]) / 2
            for u in units
            if u["gap"] is not None and u["gap"]["mean_ci_adjusted"] is not None
        ]
        return float(np.median(halves)) if halves else None

    return {
        "group": names[small],
        "n": sizes[small],
        "items": median_half(items_out),
        "dimensions": median_half(dims_out),
    }


def _drivers(prep: _Prepared) -> dict[str, Any] | None:
    """The driver block from the exact sums of the count table; None without drivers."""
    spec = driver_spec(prep.survey)
    if spec is None:
        return None
    ids = [spec.outcome, *spec.predictors]
    n_groups, v = len(prep.groups), len(ids)
    n = np.asarray([prep.total(g, "drivers:n") for g in range(n_groups)], dtype=np.int64)
    sums = np.zeros((n_groups, v), dtype=object)
    cross = np.zeros((n_groups, v, v), dtype=object)
    for g in range(n_groups):
        for a, da in enumerate(ids):
            sums[g, a] = prep.total(g, f"drivers:sum:{da}")
            for b, db in enumerate(ids):
                cross[g, a, b] = prep.total(g, f"drivers:cross:{da}:{db}")
    scale = score_scale([len(d.items) for d in prep.survey.dimensions])
    return driver_result(DriverStats(n, sums, cross, scale), prep.groups, spec)


def _rows(rs: ResponseSet, plan: Plan, redactions: dict[str, int]) -> dict[str, Any]:
    """Row counts; the totals are withheld when they would give a hidden group's size."""
    withheld = plan.withhold_totals
    return {
        "read": None if withheld else rs.rows.read,
        "used": None if withheld else rs.rows.used,
        "excluded": None if withheld else rs.rows.excluded_total,
        "excluded_by_reason": dict(sorted(rs.rows.excluded.items())),
        "cells_set_missing": dict(sorted(rs.cells_set_missing.items())),
        "comment_redactions": redactions,
    }


def _privacy_summary(plan: Plan, minimum: int) -> dict[str, Any]:
    return {
        "min_group_size": minimum,
        "segment_cells": plan.total_cells,
        "cells_hidden_small": plan.small_cells,
        "cells_hidden_protective": plan.protective_cells,
        "groups_hidden": len(plan.hidden_groups),
        "row_totals_withheld": plan.withhold_totals,
        "pooled_counts_withheld": plan.pooled_withheld,
    }


def _why(prep: _Prepared) -> list[dict[str, Any]]:
    """Each protectively hidden segment cell and why, in general words: never the small
    combination of segment values it protects (naming it would tell the reader that
    combination holds 1 .. minimum - 1 people)."""
    out = []
    for g, cells in sorted(prep.plan.reasons.items()):
        for col, v in cells:
            column, values, _ = prep.segments[col]
            out.append({
                "group": prep.groups[g], "column": column, "value": values[v],
                "protects": {
                    "group": prep.groups[g],
                    "reason": "hidden so that a smaller group of respondents, in this "
                    "cell and others, can't be worked out from the published figures",
                },
            })
    return out


def _dimension_head(dim: Any, d: int, prep: _Prepared) -> dict[str, Any]:
    """A dimension's description and reliability. Alpha is taken over the respondents of
    shown groups only (a hidden group's completeness would otherwise be derivable)."""
    shown = [g for g in range(len(prep.groups)) if g not in prep.plan.hidden_groups]

    def total(name: str) -> int:
        return sum(prep.total(g, f"alpha:{dim.id}:{name}") for g in shown)

    k = len(dim.items)
    n_complete = total("n")
    items = [(total(f"x:{i.id}"), total(f"xx:{i.id}")) for i in dim.items]
    alpha = cronbach_alpha_sums(n_complete, items, (total("t"), total("tt")))
    alpha_n: int | None = n_complete
    if n_complete < prep.survey.privacy.min_group_size:  # too few complete answers to publish
        alpha = None
        alpha_n = 0 if n_complete == 0 else None
    return {
        "id": dim.id,
        "title": dim.title,
        "description": dim.description,
        "actions": list(dim.actions),
        "items": [i.id for i in dim.items],
        "alpha": alpha,
        "alpha_n": alpha_n if k > 1 else None,  # k=1: it would be an item n
    }


def answered_share(answered: np.ndarray, prep: _Prepared) -> float | None:
    """Share of respondents who answered an item (`answered`: answerers per group), over
    the shown groups whose item cell is shown (at least the minimum answered) or has no
    answer at all, so the share adds nothing to the published cells."""
    minimum = prep.survey.privacy.min_group_size
    base = [
        g
        for g in range(len(prep.groups))
        if g not in prep.plan.hidden_groups and (answered[g] >= minimum or answered[g] == 0)
    ]
    people = int(prep.sizes[base].sum()) if base else 0
    return int(np.asarray(answered)[base].sum()) / people if people else None


def _answered_shares(
    items_out: list[dict[str, Any]], item_levels: list[_Level], prep: _Prepared
) -> None:
    for item, level in zip(items_out, item_levels, strict=True):
        item["answered_share"] = answered_share(level.answered[: len(prep.groups)], prep)


def _withheld_counts(prep: _Prepared, items_out: list[dict[str, Any]]) -> list[frozenset[int]]:
    """Per dimension, the groups whose pooled answer counts are withheld: when an item
    cell of the dimension is hidden (the pooled counts minus the other items would give
    it), or when 1 .. minimum-1 respondents answered some of its items without a score
    (the items' counts minus the pooled counts would give their answers)."""
    minimum = prep.survey.privacy.min_group_size
    out = []
    by_id = {item["id"]: item for item in items_out}
    for dim in prep.survey.dimensions:
        per_group = prep.cube(f"unscored:{dim.id}", "", 2)[:, 1]
        withheld = set()
        for g, name in enumerate(prep.groups):
            item_hidden = any(by_id[i.id]["groups"][name].get("suppressed") for i in dim.items)
            if item_hidden or 0 < per_group[g] < minimum:
                withheld.add(g)
        out.append(frozenset(withheld))
        prep.plan.pooled_withheld += len(withheld - prep.plan.hidden_groups)
    return out


def _audit_warnings(plan: Plan) -> list[str]:
    """The audit's own warning: it ran out of time and hid what it had not cleared."""
    if not plan.timed_out:
        return []
    return [
        "the anonymity audit reached its time budget (ALIGNSCAN_MAX_AUDIT_SECONDS, "
        f"{limits.AUDIT_SECONDS.value()} s): segment cells it had not cleared are hidden "
        "to be safe; raise the budget to publish more of them"
    ]


def _apply_q(tests: list[dict[str, Any]]) -> None:
    """One family: the small gaps' p-values, Benjamini-Hochberg q-values, then the
    false-coverage-rate adjusted interval of every gap (it excludes zero exactly when
    q < 0.05: Welch's at that level, or the inverted likelihood ratio test)."""
    fill_small(tests)
    with_p = [t for t in tests if t["p_value"] is not None]
    q_values = benjamini_hochberg([t["p_value"] for t in with_p])
    for t, q in zip(with_p, q_values, strict=True):
        t["q_value"] = q
    level = fcr_level(q_values)
    for t in with_p:
        if SMALL not in t:
            t["mean_ci_adjusted"] = Welch(t["mean"], t["se"], t["df"]).ci(level)
    small = [t for t in tests if SMALL in t]
    if small:
        _, ci, _ = el_rows([t.pop(SMALL) for t in small], level, test=False)
        for t, (lo, hi) in zip(small, ci, strict=True):
            t["mean_ci_adjusted"] = [float(lo), float(hi)]


def _segments(prep: _Prepared, no_counts: list[frozenset[int]]) -> list[dict[str, Any]]:
    """Dimension statistics per segment value and group, with the planned cells hidden."""
    survey = prep.survey
    minimum = survey.privacy.min_group_size
    a_name, b_name = survey.roles.compare
    groups = prep.groups
    n_groups = len(groups)
    ia, ib = groups.index(a_name), groups.index(b_name)
    out: list[dict[str, Any]] = []
    tests: list[dict[str, Any]] = []
    for col, (column, values, _) in enumerate(prep.segments):
        hidden = {
            v * n_groups + g
            for v in range(len(values))
            for g in range(n_groups)
            if prep.plan.cell_hidden(g, col, v)
        }
        for d, dim in enumerate(survey.dimensions):
            level = _dimension_level(prep, d, column)
            for v, value in enumerate(values):
                ids = [v * n_groups + g for g in range(n_groups)]
                g_cells = _group_cells(level, ids, groups, minimum, hidden, no_counts[d])
                for cell in g_cells.values():  # answer counts per segment cell: never
                    if "n" in cell and privacy_int.ENABLED:  # (integer reasoning pins
                        cell["counts"] = None  # small crossings with them)
                gp = _without_withheld_share(
                    _gap_of(level, ids[ia], ids[ib], g_cells, a_name, b_name),
                    g_cells, a_name, b_name,
                )
                out.append(
                    {"column": column, "value": value, "dimension": dim.id,
                     "groups": g_cells, "gap": gp}
                )
                if gp is not None:
                    tests.append(gp)
    _apply_q(tests)
    return out


def _comments(prep: _Prepared) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Comments of groups at or above the comment threshold (and not hidden), sorted,
    with e-mail addresses, phone numbers and links redacted; and the redaction counts."""
    survey = prep.survey
    threshold = survey.privacy.min_comment_group_size
    out = []
    redactions = dict.fromkeys(REDACTION_KINDS, 0)
    for comment in survey.comments:
        tallies = prep.table.comments.get(comment.id, {})
        per_group: dict[str, Any] = {}
        for g, name in enumerate(prep.groups):
            if prep.sizes[g] < threshold or g in prep.plan.hidden_groups:
                per_group[name] = {"suppressed": True}
                continue
            tally = tallies.get(name, CommentTally())
            for kind, n in tally.redactions.items():
                redactions[kind] += n
            per_group[name] = {"count": tally.count, "texts": distinct_texts(tally.texts)}
        out.append({"id": comment.id, "text": comment.text, "groups": per_group})
    return out, redactions


def distinct_texts(texts: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each distinct comment text once, with how many times it was given (in the order
    of `texts`, which is sorted): one sentence 37 times is one entry with count 37."""
    counted: dict[str, int] = {}
    for text in texts:
        counted[text] = counted.get(text, 0) + 1
    return [{"text": text, "count": n} for text, n in counted.items()]
