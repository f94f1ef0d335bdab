"""JSON-ready values: the one conversion every result document passes before it is
written or validated (a leaf: numpy and the standard library only)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def clean_json(value: Any) -> Any:
    """NaN/inf become None; numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {k: clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    return value
