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

from alignscan.findings import significant

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
    return "–" if value is None else format(value, spec)


def summary_html(document: dict[str, Any]) -> str:
    """A compact table for Jupyter: each dimension's favorable shares and gap."""
    from alignscan.findings import group_label, scale_unit

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
            + f"</td><td>{_fmt(gap.get('q_value'), '.3g')}</td></tr>"
        )
    survey = document["survey"]
    caption = (
        f"{esc(survey['id'])} v{esc(str(survey['version']))}: {la} vs {lb} "
        "(bold: significant, q &lt; 0.05)"
    )
    return f"<table><caption>{caption}</caption>{head}{''.join(rows)}</table>"
