"""Decimal-safe rounding of printed shares, gaps and benchmark ranks (issue #25): a share
printed as 15% is 15 in the benchmark's whole points, halves rounded away from zero on
the decimal the figure prints as (0.145 -> 15, not 14 from 14.499999999999998)."""

from __future__ import annotations

from fractions import Fraction

from alignscan.extras.norms import percentile_rank, whole_points
from alignscan.render.formats import half_up, pct, pts
from alignscan.render.sections import benchmark_sentence


def _exact(k: int, den: int) -> int:
    """k/den in whole percentage points, halves away from zero, in exact fractions."""
    x = Fraction(100 * k, den)
    whole = int(abs(x) + Fraction(1, 2))
    return whole if x >= 0 else -whole


def test_halves_round_up_on_the_printed_decimal() -> None:
    assert pct(0.145) == "15%" and pts(0.145) == "+15 pts" and whole_points(0.145) == 15
    assert pct(0.125) == "13%" and pts(-0.125) == "-13 pts" and whole_points(-0.125) == -13
    assert pct(0.1234, 1) == "12.3%" and int(half_up(87.5)) == 88


def test_printed_share_and_whole_points_agree_on_every_fraction() -> None:
    for den in (8, 40, 200, 1000):
        for k in range(-den, den + 1):
            share = k / den
            expected = _exact(k, den)
            assert whole_points(share) == expected, (k, den)
            assert pts(share, unit=False) == (f"{expected:+d}" if expected else "0"), (k, den)
            if k >= 0:
                assert pct(share) == f"{expected}%", (k, den)


def test_rank_is_of_the_figure_printed() -> None:
    """Our gap of 0.145 prints +15: organisations at +15 count as ties, at +14 below."""
    dist = {"14": 2, "15": 2, "16": 4}
    assert percentile_rank(0.145, dist) == 100 * (2 + 0.5 * 2) / 8
    unit = bench_unit(
        0.145, {"orgs": 8, "gap": {"favorable_p50": 0.155, "favorable_percentile": 37.5}}
    )
    sentence = benchmark_sentence(compared("a", "b"), unit)
    assert sentence is not None
    assert "is +15 " in sentence and "is +16" in sentence
    assert sentence.endswith("38th percentile.")


def bench_unit(favorable: float, benchmark: dict, title: str = "ROI"):
    """A dimension with only what a benchmark sentence reads: its gap's favorable share
    and its benchmark (a model built unchecked; the benchmark validated)."""
    from alignscan.result.models import Dimension, Gap

    gap = Gap.model_construct(favorable=favorable)
    return Dimension.model_construct(id=title.lower(), title=title, gap=gap).updated(
        benchmark={"groups": {}, **benchmark}  # no group marks unless given
    )


def compared(a: str, b: str):
    """A result that only says which groups it compares (built unchecked)."""
    from alignscan.result.models import ResultDocument

    return ResultDocument.model_construct(compare=[a, b])
