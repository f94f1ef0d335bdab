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

from alignscan.result.findings import shown, significant
from alignscan.result.models import (
    Dimension,
    DriverCell,
    Gap,
    Item,
    Rate,
    ResultDocument,
    Segment,
    TrendDocument,
    as_result,
    as_trend,
)

IDENTITY = {
    "items": ("id", "dimension", "text", "reverse", "answered_share"),
    "dimensions": ("id", "title", "alpha", "alpha_n"),
    "segments": ("column", "value", "dimension"),
}


def _interval(ci: list[float] | None) -> tuple[float | None, float | None]:
    return (ci[0], ci[1]) if ci else (None, None)


def _gap_columns(gap: Gap | None) -> dict[str, Any]:
    if gap is None:
        names = ("mean", "favorable", "p_value", "q_value", "cliffs_delta", "magnitude")
        g: dict[str, Any] = dict.fromkeys(names)
        cis: dict[str, Any] = {}
    else:
        g = {k: getattr(gap, k) for k in ("mean", "favorable", "p_value", "q_value")}
        g.update(cliffs_delta=gap.cliffs_delta, magnitude=gap.magnitude)
        cis = {"mean": gap.mean_ci, "adj": gap.mean_ci_adjusted, "fav": gap.favorable_ci}
    low, high = _interval(cis.get("mean"))
    adj_low, adj_high = _interval(cis.get("adj"))
    fav_low, fav_high = _interval(cis.get("fav"))
    return {
        "gap_mean": g["mean"],
        "gap_mean_low": low,
        "gap_mean_high": high,
        "gap_mean_adj_low": adj_low,
        "gap_mean_adj_high": adj_high,
        "gap_favorable": g["favorable"],
        "gap_favorable_low": fav_low,
        "gap_favorable_high": fav_high,
        "p_value": g["p_value"],
        "q_value": g["q_value"],
        "cliffs_delta": g["cliffs_delta"],
        "magnitude": g["magnitude"],
        "significant": significant(gap),
    }


def _row(unit: Item | Dimension | Segment, level: str, groups: list[str]) -> dict[str, Any]:
    row = {key: getattr(unit, key) for key in IDENTITY[level]}
    for g in groups:
        cell = unit.groups.get(g)
        for stat in ("n", "mean", "sd", "favorable"):
            row[f"{stat}_{g}"] = getattr(cell, stat, None) if shown(cell) else None
    row.update(_gap_columns(unit.gap))
    return row


def result_frame(document: ResultDocument | dict[str, Any], level: str) -> Any:
    """One row per unit of `level`, numeric columns with proper dtypes."""
    import pandas as pd

    result = as_result(document)
    groups = list(result.groups)
    frame = pd.DataFrame([_row(u, level, groups) for u in getattr(result, level)])
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


def summary_html(document: ResultDocument | dict[str, Any]) -> str:
    """A compact table for Jupyter: each dimension's favorable shares and gap."""
    from alignscan.render.formats import qfmt
    from alignscan.result.findings import group_label, scale_unit

    result = as_result(document)
    a, b = result.compare
    esc = html.escape
    la, lb = (esc(group_label(result, g)) for g in (a, b))
    head = (
        f"<tr><th>Dimension</th><th>{la} favorable</th><th>{lb} favorable</th>"
        f"<th>Gap in {esc(scale_unit(result))} (95% CI)</th><th>q</th></tr>"
    )
    rows = []
    for dim in result.dimensions:
        fa, fb = (getattr(dim.groups.get(g), "favorable", None) for g in (a, b))
        gap = dim.gap
        ci: list[float | None] = [*(gap.mean_ci if gap and gap.mean_ci else [None, None])]
        mark = "<b>{}</b>" if significant(gap) else "{}"
        mean = gap.mean if gap else None
        rows.append(
            f"<tr><td>{esc(dim.title)}</td><td>{_fmt(fa, '.0%')}</td>"
            f"<td>{_fmt(fb, '.0%')}</td><td>"
            + mark.format(
                f"{_fmt(mean, '+.2f')} [{_fmt(ci[0], '+.2f')}, {_fmt(ci[1], '+.2f')}]"
            )
            + f"</td><td>{esc(qfmt(gap.q_value if gap else None))}</td></tr>"
        )
    survey = result.survey
    caption = (
        f"{esc(survey.id)} v{esc(str(survey.version))}: {la} vs {lb} "
        "(bold: significant, q &lt; 0.05)"
    )
    return f"<table><caption>{caption}</caption>{head}{''.join(rows)}</table>"



# ----------------------------------------------------------------------------- extras


def drivers_frame(document: ResultDocument | dict[str, Any]) -> Any:
    """One row per group and driver dimension: the group's n and R², the dimension's
    correlation with the outcome (r, 95% CI) and its share of R² (empty without drivers)."""
    import pandas as pd

    drivers = as_result(document).drivers
    rows = []
    for group, cell in (drivers.groups if drivers is not None else {}).items():
        for dim in cell.dimensions if isinstance(cell, DriverCell) else []:
            ci: list[Any] = dim.r_ci or [None, None]
            low, high = ci[:2]
            rows.append(
                {
                    "group": group,
                    "outcome": drivers.outcome,  # type: ignore[union-attr]
                    "n": cell.n,  # type: ignore[union-attr]
                    "r2": cell.r2,  # type: ignore[union-attr]
                    "id": dim.id,
                    "r": dim.r,
                    "r_low": low,
                    "r_high": high,
                    "importance": dim.importance,
                    "share": dim.share,
                }
            )
    return _typed(pd.DataFrame(rows), ints=("n",), texts=("group", "outcome", "id"))


def participation_frame(document: ResultDocument | dict[str, Any]) -> Any:
    """One row per group and per group x segment value: headcount, respondents, rate
    (missing where the analysis hides the cell; empty without a headcount)."""
    import pandas as pd

    part = as_result(document).participation
    units = [("", "", part.groups)] if part is not None else []
    units += [(s.column, s.value, s.groups) for s in part.segments] if part is not None else []
    rows = [
        {
            "column": column,
            "value": value,
            "group": group,
            "headcount": getattr(cell, "headcount", None),
            "responded": getattr(cell, "responded", None),
            "rate": getattr(cell, "rate", None),
            "suppressed": not isinstance(cell, Rate),
        }
        for column, value, groups in units
        for group, cell in groups.items()
    ]
    return _typed(
        pd.DataFrame(rows),
        ints=("headcount", "responded"),
        texts=("column", "value", "group", "suppressed"),
    )


def trend_frame(
    document: ResultDocument | TrendDocument | dict[str, Any], level: str = "dimensions"
) -> Any:
    """One row per dimension (or item) and change between waves: the gap in both waves,
    its change with 95% CI, p and q values and direction (words for significant ones).
    `document` is a trend document, or a result with a `trend` (else the frame is empty)."""
    import pandas as pd

    doc = _trend_of(document)
    rows = []
    for unit in getattr(doc, level) if doc is not None else []:
        for change in unit.changes:
            gap = change.gap
            low, high = (gap.ci if gap else [None, None])[:2]
            rows.append(
                {
                    "id": unit.id,
                    "title": unit.title,
                    "from": change.from_,
                    "to": change.to,
                    "gap_from": gap and gap.from_gap,
                    "gap_to": gap and gap.to_gap,
                    "change": gap and gap.change,
                    "change_low": low,
                    "change_high": high,
                    "p_value": gap and gap.p_value,
                    "q_value": gap and gap.q_value,
                    "direction": gap and gap.direction,
                }
            )
    return _typed(pd.DataFrame(rows), texts=("id", "title", "from", "to", "direction"))


def _trend_of(document: ResultDocument | TrendDocument | dict[str, Any]) -> TrendDocument | None:
    """The trend of a result (None without one), or the trend document itself."""
    if isinstance(document, dict):
        is_result = "result_version" in document
        document = as_result(document) if is_result else as_trend(document)
    return document.trend if isinstance(document, ResultDocument) else document


def _typed(frame: Any, ints: tuple[str, ...] = (), texts: tuple[str, ...] = ()) -> Any:
    """Whole-number columns as Int64, the other figures as float64 (missing as NaN)."""
    import pandas as pd

    for column in frame.columns:
        if column in ints:
            frame[column] = frame[column].astype("Int64")
        elif column not in texts:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame
