"""Result documents as pandas tables (`Result.to_frame`) and a compact notebook summary.

Columns, one row per item, dimension or segment cell:

- identity: `id`, `dimension`, `text`, `reverse`, `answered_share` (items); `id`, `title`,
  `alpha`, `alpha_n` (dimensions); `column`, `value`, `dimension` (segments);
- per role group g: `n_g` (Int64), `mean_g`, `sd_g`, `favorable_g` (float; missing when
  the cell is hidden);
- the gap (first compared group minus second): `gap_mean`, `gap_mean_low`, `gap_mean_high`
  (Welch 95%), `gap_mean_adj_low`, `gap_mean_adj_high` (false-coverage adjusted),
  `gap_favorable`, `gap_favorable_low`, `gap_favorable_high`, `p_value`, `q_value`,
  `cliffs_delta`, `magnitude`, and `significant` (q < 0.05).
"""

from __future__ import annotations

import html
from typing import Any

from alignscan.result.findings import significant

IDENTITY = {
    "items": ("id", "dimension", "text", "reverse", "answered_share"),
    "dimensions": ("id", "title", "alpha", "alpha_n"),
    "segments": ("column", "value", "dimension"),
}


def _interval(gap: dict[str, Any] | None, key: str) -> tuple[float | None, float | None]:
    ci = (gap or {}).get(key)
    return (ci[0], ci[1]) if ci else (None, None)


def _gap_columns(gap: dict[str, Any] | None) -> dict[str, Any]:
    g = gap or {}
    low, high = _interval(gap, "mean_ci")
    adj_low, adj_high = _interval(gap, "mean_ci_adjusted")
    fav_low, fav_high = _interval(gap, "favorable_ci")
    return {
        "gap_mean": g.get("mean"),
        "gap_mean_low": low,
        "gap_mean_high": high,
        "gap_mean_adj_low": adj_low,
        "gap_mean_adj_high": adj_high,
        "gap_favorable": g.get("favorable"),
        "gap_favorable_low": fav_low,
        "gap_favorable_high": fav_high,
        "p_value": g.get("p_value"),
        "q_value": g.get("q_value"),
        "cliffs_delta": g.get("cliffs_delta"),
        "magnitude": g.get("magnitude"),
        "significant": significant(gap),
    }


def _row(unit: dict[str, Any], level: str, groups: list[str]) -> dict[str, Any]:
    row = {key: unit.get(key) for key in IDENTITY[level]}
    for g in groups:
        cell = unit["groups"].get(g, {})
        for stat in ("n", "mean", "sd", "favorable"):
            row[f"{stat}_{g}"] = cell.get(stat)
    row.update(_gap_columns(unit.get("gap")))
    return row


def result_frame(document: dict[str, Any], level: str) -> Any:
    """One row per unit of `level`, numeric columns with proper dtypes."""
    import pandas as pd

    groups = list(document["groups"])
    frame = pd.DataFrame([_row(u, level, groups) for u in document[level]])
    if frame.empty:
        return frame
    for column in frame.columns:
        if column.startswith("n_") or column == "alpha_n":
            frame[column] = frame[column].astype("Int64")
        elif column in ("magnitude", "significant") or column in IDENTITY[level][:4]:
            continue
        else:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in ("alpha", "answered_share"):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


def _fmt(value: float | None, spec: str) -> str:
    from alignscan.render.formats import unsigned_zero

    return "–" if value is None else unsigned_zero(format(value, spec))


def summary_html(document: dict[str, Any]) -> str:
    """A compact table for Jupyter: each dimension's favorable shares and gap."""
    from alignscan.render.formats import qfmt
    from alignscan.result.findings import group_label, scale_unit

    a, b = document["compare"]
    esc = html.escape
    la, lb = (esc(group_label(document, g)) for g in (a, b))
    head = (
        f"<tr><th>Dimension</th><th>{la} favorable</th><th>{lb} favorable</th>"
        f"<th>Gap in {esc(scale_unit(document))} (95% CI)</th><th>q</th></tr>"
    )
    rows = []
    for dim in document["dimensions"]:
        ca, cb, gap = dim["groups"].get(a, {}), dim["groups"].get(b, {}), dim.get("gap") or {}
        ci = gap.get("mean_ci") or [None, None]
        mark = "<b>{}</b>" if significant(dim.get("gap")) else "{}"
        rows.append(
            f"<tr><td>{esc(dim['title'])}</td><td>{_fmt(ca.get('favorable'), '.0%')}</td>"
            f"<td>{_fmt(cb.get('favorable'), '.0%')}</td><td>"
            + mark.format(
                f"{_fmt(gap.get('mean'), '+.2f')} [{_fmt(ci[0], '+.2f')}, {_fmt(ci[1], '+.2f')}]"
            )
            + f"</td><td>{esc(qfmt(gap.get('q_value')))}</td></tr>"
        )
    survey = document["survey"]
    caption = (
        f"{esc(survey['id'])} v{esc(str(survey['version']))}: {la} vs {lb} "
        "(bold: significant, q &lt; 0.05)"
    )
    return f"<table><caption>{caption}</caption>{head}{''.join(rows)}</table>"


# ----------------------------------------------------------------------------- extras


def drivers_frame(document: dict[str, Any]) -> Any:
    """One row per group and driver dimension: the group's n and R², the dimension's
    correlation with the outcome (r, 95% CI) and its share of R² (empty without drivers)."""
    import pandas as pd

    drivers = document.get("drivers") or {}
    rows = []
    for group, cell in (drivers.get("groups") or {}).items():
        for dim in cell.get("dimensions") or []:
            low, high = (dim.get("r_ci") or [None, None])[:2]
            rows.append(
                {
                    "group": group,
                    "outcome": drivers.get("outcome"),
                    "n": cell.get("n"),
                    "r2": cell.get("r2"),
                    "id": dim["id"],
                    "r": dim.get("r"),
                    "r_low": low,
                    "r_high": high,
                    "importance": dim.get("importance"),
                    "share": dim.get("share"),
                }
            )
    return _typed(pd.DataFrame(rows), ints=("n",), texts=("group", "outcome", "id"))


def participation_frame(document: dict[str, Any]) -> Any:
    """One row per group and per group x segment value: headcount, respondents, rate
    (missing where the analysis hides the cell; empty without a headcount)."""
    import pandas as pd

    part = document.get("participation") or {}
    units = [("", "", part.get("groups") or {})]
    units += [(s["column"], s["value"], s["groups"]) for s in part.get("segments") or []]
    rows = [
        {
            "column": column,
            "value": value,
            "group": group,
            "headcount": cell.get("headcount"),
            "responded": cell.get("responded"),
            "rate": cell.get("rate"),
            "suppressed": bool(cell.get("suppressed")),
        }
        for column, value, groups in units
        for group, cell in groups.items()
    ]
    return _typed(
        pd.DataFrame(rows),
        ints=("headcount", "responded"),
        texts=("column", "value", "group", "suppressed"),
    )


def trend_frame(document: dict[str, Any], level: str = "dimensions") -> Any:
    """One row per dimension (or item) and change between waves: the gap in both waves,
    its change with 95% CI, p and q values and direction (words for significant ones).
    `document` is a trend document, or a result with a `trend` (else the frame is empty)."""
    import pandas as pd

    doc = document.get("trend") if "result_version" in document else document
    rows = []
    for unit in (doc or {}).get(level) or []:
        for change in unit.get("changes") or []:
            gap = change.get("gap") or {}
            low, high = (gap.get("ci") or [None, None])[:2]
            rows.append(
                {
                    "id": unit["id"],
                    "title": unit.get("title"),
                    "from": change.get("from"),
                    "to": change.get("to"),
                    "gap_from": gap.get("from_gap"),
                    "gap_to": gap.get("to_gap"),
                    "change": gap.get("change"),
                    "change_low": low,
                    "change_high": high,
                    "p_value": gap.get("p_value"),
                    "q_value": gap.get("q_value"),
                    "direction": gap.get("direction"),
                }
            )
    return _typed(pd.DataFrame(rows), texts=("id", "title", "from", "to", "direction"))


def _typed(frame: Any, ints: tuple[str, ...] = (), texts: tuple[str, ...] = ()) -> Any:
    """Whole-number columns as Int64, the other figures as float64 (missing as NaN)."""
    import pandas as pd

    for column in frame.columns:
        if column in ints:
            frame[column] = frame[column].astype("Int64")
        elif column not in texts:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame
