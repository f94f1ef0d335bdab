"""Gap analysis: group statistics, the executive-practitioner gap with its uncertainty,
and anonymity protection, all from a count table (`counts.CountTable`).

`analyze_counts(table)` reads nothing but the table: per (cell, key) respondent counts,
where a cell is a role group (optionally within one segment value) and a key is a scale
position (items) or a dimension score key T*(k+1)+M, ranked here so that equal scores
share a rank; the atoms the anonymity audit needs; and exact integer sums for alpha and
the drivers. Everything reported (n, mean, sd, favorable share, Welch's test, Cliff's
delta, the clustered favorable interval) is a function of those counts, so a table summed
from blocks of a file, or computed by DuckDB or Spark, gives the same result as the rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alignscan.analysis.document import (
    _add_answer_counts,
    _answered_shares,
    _apply_q,
    _dimension_head,
    _document,
    _rows,
    _segments,
    _withheld_counts,
    answered_share,
)
from alignscan.analysis.prepared import (
    _dimension_level,
    _gap_of,
    _group_cells,
    _item_level,
    _without_withheld_share,
    prepare,
)
from alignscan.analysis.stats import SMALL, SMALL_FAV
from alignscan.counting.counts import CountTable
from alignscan.counting.tally import count_responses
from alignscan.responses import ResponseSet
from alignscan.survey import Survey


def analyze(rs: ResponseSet) -> dict[str, Any]:
    """The full gap analysis of validated responses, as a JSON-ready result document."""
    return analyze_counts(count_responses(rs).with_responses(rs))


def analyze_counts(
    table: CountTable, survey: Survey | None = None, *, weighting: Any = None
) -> dict[str, Any]:
    """The full gap analysis from a count table (any engine's), as a result document.

    `survey` defaults to the one the table's responses were read with; `weighting` (a
    `weighting.Weighting`) weights the compared groups' items and dimensions."""
    prep = prepare(table, survey)
    survey = prep.survey
    minimum = survey.privacy.min_group_size
    a_name, b_name = survey.roles.compare
    groups = prep.groups
    hidden = prep.plan.hidden_groups
    ia, ib = groups.index(a_name), groups.index(b_name)
    all_cells = list(range(len(groups)))
    tests: list[dict[str, Any]] = []
    items_out = []
    item_levels = [_item_level(prep, item.id) for item in survey.items]
    for item, level in zip(survey.items, item_levels, strict=True):
        g = _group_cells(level, all_cells, groups, minimum, hidden)
        gp = _gap_of(level, ia, ib, g, a_name, b_name)
        items_out.append(
            {
                "id": item.id,
                "dimension": survey.item_dimension()[item.id],
                "text": item.text,
                "reverse": item.reverse,
                "answered_share": None,
                "groups": g,
                "gap": gp,
            }
        )
        if gp is not None:
            tests.append(gp)
    _answered_shares(items_out, item_levels, prep)
    _add_answer_counts(items_out, survey.scale.start, survey.scale.points)
    no_counts = _withheld_counts(prep, items_out)
    dims_out = []
    for d, dim in enumerate(survey.dimensions):
        level = _dimension_level(prep, d, "")
        g = _group_cells(level, all_cells, groups, minimum, hidden, no_counts[d])
        gp = _without_withheld_share(_gap_of(level, ia, ib, g, a_name, b_name), g, a_name, b_name)
        dims_out.append({**_dimension_head(dim, d, prep), "groups": g, "gap": gp})
        if gp is not None:
            tests.append(gp)
    section = None
    if weighting is not None:
        from alignscan.extras.weighting import apply_weights

        tests, section = apply_weights(weighting, prep, items_out, dims_out)
        for unit in items_out + dims_out:  # weighted gaps replace the small-group test
            for key in (SMALL, SMALL_FAV):
                (unit["gap"] or {}).pop(key, None)
    _apply_q(tests)
    document = _document(prep, items_out, dims_out, _segments(prep, no_counts))
    if section is not None:
        document["weighting"] = section
    return document


def check_figures(source: ResponseSet | CountTable) -> dict[str, Any]:
    """The figures `check` shows, under the same suppression as the analysis: respondents
    per group, per segment value and group, the row totals and each item's answered share."""
    prep = prepare(source, refuse_small=False)
    minimum = prep.survey.privacy.min_group_size
    plan = prep.plan
    hidden = {"suppressed": True, "below": minimum}
    groups = {
        name: hidden if g in plan.hidden_groups else {"n": int(prep.sizes[g])}
        for g, name in enumerate(prep.groups)
    }
    segments = []
    n_groups = len(prep.groups)
    for col, (column, values, lut) in enumerate(prep.segments):
        counts = np.zeros(len(values) * n_groups, dtype=np.int64)
        position = {g: i for i, g in enumerate(prep.groups)}
        by = prep.table.atoms.groupby([column, "group"])["n"].sum()
        for (value, group), n in by.items():
            counts[lut[value] * n_groups + position[group]] += int(n)
        for v, value in enumerate(values):
            cells = {
                name: (
                    hidden if plan.cell_hidden(g, col, v) else {"n": int(counts[v * n_groups + g])}
                )
                for g, name in enumerate(prep.groups)
            }
            segments.append({"column": column, "value": value, "groups": cells})
    shares = {}
    for item in prep.survey.items:
        answered = prep.cube(f"item:{item.id}", "", prep.survey.scale.points + 1)[:, 1:].sum(axis=1)
        shares[item.id] = answered_share(answered, prep)
    rows = _rows(prep.responses, plan, {})
    rows.pop("comment_redactions")
    return {"groups": groups, "segments": segments, "answered_share": shares, "rows": rows}
