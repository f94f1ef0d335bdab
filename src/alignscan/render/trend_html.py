"""The trend page (`alignscan trend --html`): the small-multiple line charts of the gap
per dimension across waves (`trend_charts`) and the trend table, self-contained."""

from __future__ import annotations

from typing import Any

from alignscan.render.html import _environment, report_date
from alignscan.render.trend_charts import small_multiples
from alignscan.result.findings import group_label, trend_unit
from alignscan.result.models import TrendDocument, as_trend


def render_trend_html(trend: TrendDocument | dict[str, Any], *, date: str | None = None) -> str:
    """A self-contained trend page."""
    env = _environment()
    context = _context(as_trend(trend))
    return env.get_template("trend.html.j2").render(**context, date=report_date(date))


def _context(trend: TrendDocument) -> dict[str, Any]:
    a, b = trend.compare
    return {
        "t": trend,
        "a": a,
        "b": b,
        "a_label": group_label(trend, a),
        "b_label": group_label(trend, b),
        "grid": small_multiples(trend),
        "t_unit": trend_unit(trend),
    }
