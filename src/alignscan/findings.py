"""Findings: what the figures mean, decided once for every renderer.

The significance rule lives here and nowhere else; the HTML report, the terminal and the
data frames only display what these functions decide.
"""

from __future__ import annotations

from typing import Any

ALPHA = 0.05  # false discovery rate for calling a gap significant


def significant(gap: dict[str, Any] | None) -> bool:
    """A gap is significant when its Benjamini-Hochberg q-value is below 0.05."""
    if not gap:
        return False
    q = gap.get("q_value")
    return q is not None and q < ALPHA
