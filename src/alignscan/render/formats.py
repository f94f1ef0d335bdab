"""One formatter set for every renderer: Jinja filters in the HTML, and the terminal.

A missing figure prints as "–"; a figure that rounds to zero prints without a sign
("0.00", never "-0.00"). q-values print with at most three decimals, so that the 0.05
threshold can't be misread: one just under it prints as "< 0.05", never "0.050" beside
a gap that is bold.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

DASH = "–"


def half_up(value: float, digits: int = 0, scale: int = 1) -> Decimal:
    """`value` x `scale` rounded half up at `digits` decimals, `value` taken as the
    decimal it prints as (0.145 x 100 -> 15, not 14 from 14.499999999999998): the one
    rounding of every printed share, gap and benchmark rank."""
    exact = Decimal(repr(float(value))) * scale
    return exact.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP) + 0  # no "-0"


def unsigned_zero(text: str) -> str:
    """A formatted number that shows zero without its sign: "-0.00" and "+0" -> "0.00", "0"."""
    if text[:1] in "+-" and not text.strip("+-0.%"):
        return text[1:]
    return text


def num(value: float | None, fmt: str = ".2f") -> str:
    """A number: 3.52."""
    return DASH if value is None else unsigned_zero(format(value, fmt))


def signed(value: float | None, fmt: str = "+.2f") -> str:
    """A signed number: +0.14 (zero, or what rounds to it, as 0.00)."""
    return DASH if value is None else unsigned_zero(format(value, fmt))


def pct(value: float | None, digits: int = 0) -> str:
    """A share as a percentage: 0.62 -> 62%, 0.145 -> 15% (halves up, decimal-safe)."""
    return DASH if value is None else unsigned_zero(f"{half_up(value, digits, 100)}") + "%"


def pts(value: float | None, unit: bool = True) -> str:
    """A difference of shares in percentage points: 0.05 -> +5 pts (0 pts, unsigned)."""
    if value is None:
        return DASH
    return unsigned_zero(format(half_up(value, 0, 100), "+")) + (" pts" if unit else "")


def qfmt(q: float | None) -> str:
    """A q-value with three decimals: "< 0.001" (with a no-break space); "< 0.05" just
    under the threshold, where three decimals would round it up to 0.050."""
    if q is None:
        return DASH
    if q < 0.001:
        return "<\u00a00.001"  # no-break space: "<" never ends a line on its own
    if 0.0495 <= q < 0.05:
        return "<\u00a00.05"
    return f"{q:.3f}"


def thousands(value: int | None) -> str:
    """A count with thousands separators: 1,990."""
    return DASH if value is None else f"{value:,}"


FILTERS = {
    "num": num,
    "signed": signed,
    "pct": pct,
    "pts": pts,
    "qfmt": qfmt,
    "thousands": thousands,
    "rank": lambda value: int(half_up(value)),
}
