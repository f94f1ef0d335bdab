"""Norms and benchmarks: percentiles against an independent implementation, the
percentile rank by hand, the 5-organisation rule, duplicates, references, report, CLI."""

from __future__ import annotations

import copy
import json
import math
import statistics
from fractions import Fraction
from pathlib import Path

import jsonschema
import pytest

from alignscan.analysis.analysis import analyze
from alignscan.extras.norms import (
    NormsError,
    Source,
    add_benchmarks,
    build_norms,
    norms_json_schema,
    parse_references,
    percentile_rank,
)
from alignscan.render.html import render_html
from alignscan.render.sections import benchmark_sentence, ordinal
from alignscan.render.tabular import result_json_schema
from alignscan.responses import read_responses
from alignscan.result.models import as_result
from alignscan.survey import load_survey
from alignscan.synthetic import generate_responses, write_csv
from conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> list[dict]:
    """Eleven organisations' results: the built-in survey, different seeds and sizes."""
    survey = load_survey()
    folder = tmp_path_factory.mktemp("orgs")
    out = []
    for seed in range(11):
        path = write_csv(
            generate_responses(survey, 250 + 23 * seed, seed=seed), folder / f"o{seed}.csv"
        )
        out.append(analyze(read_responses(path, survey)))
    return out


def sources(results: list[dict]) -> list[Source]:
    return [Source(f"org{i}.json", as_result(r)) for i, r in enumerate(results)]


def quartiles(values: list[float]) -> list[float]:
    """numpy's default (linear) percentiles, from the standard library's own implementation."""
    return statistics.quantiles(values, n=4, method="inclusive")


def coarse_quartiles(values: list[float], step: Fraction) -> list[float]:
    """Quartiles of the figures rounded (halves up) to `step`, rounded again, in exact
    fractions: what the norms publish."""
    def rnd(x: Fraction) -> Fraction:
        return math.floor(x / step + Fraction(1, 2)) * step

    rounded = [rnd(Fraction(v)) for v in values]
    return [float(rnd(q)) for q in statistics.quantiles(rounded, n=4, method="inclusive")]


def test_percentiles_match_an_independent_implementation(results) -> None:
    norms = build_norms(sources(results[:6]))
    jsonschema.validate(norms, norms_json_schema())
    assert norms["orgs"] == 6 and norms["survey"]["id"] == "ai-alignment"
    a, b = results[0]["compare"]
    def complete(u: dict) -> bool:  # every figure shown (a share can be withheld, #26)
        cells = [u["groups"][g] for g in (a, b)]
        return u["gap"] is not None and all(
            v is not None
            for v in (u["gap"]["favorable"], u["gap"]["mean"],
                      *(c.get("favorable") for c in cells), *(c.get("mean") for c in cells))
        )

    for kind in ("dimensions", "items"):
        having = {
            k: [r[kind][k] for r in results[:6] if complete(r[kind][k])]
            for k in range(len(results[0][kind]))
        }
        kept = [k for k, units in having.items() if len(units) >= 5]
        assert [e["id"] for e in norms[kind]] == [results[0][kind][k]["id"] for k in kept]
        assert kept  # most are kept
        for k, entry in zip(kept, norms[kind], strict=True):
            units = having[k]
            assert entry["orgs"] == len(units)
            pairs = [
                (entry["gap"]["favorable"], [u["gap"]["favorable"] for u in units], 100),
                (entry["gap"]["mean"], [u["gap"]["mean"] for u in units], 10),
            ]
            for g in (a, b):
                pairs += [
                    (entry["groups"][g]["favorable"],
                     [u["groups"][g]["favorable"] for u in units], 100),
                    (entry["groups"][g]["mean"], [u["groups"][g]["mean"] for u in units], 10),
                ]
            for stats, values, per in pairs:
                expected = coarse_quartiles(values, Fraction(1, per))
                got = [stats["p25"], stats["p50"], stats["p75"]]
                assert got == pytest.approx(expected, abs=1e-9)
                # no quartile is an organisation's exact figure (unless that is on the grid)
                for q in got:
                    assert all(
                        abs(q - v) > 1e-9 or abs(v * per - round(v * per)) < 1e-9 for v in values
                    )


def test_percentile_rank_by_hand() -> None:
    # organisations at 5, 9, 9, 12 and 20 points; ours is 9: (1 below + 2 equal / 2) / 5
    distribution = {"5": 1, "9": 2, "12": 1, "20": 1}
    assert percentile_rank(0.09, distribution) == 40.0
    assert percentile_rank(0.0899, distribution) == 40.0  # rounds to 9 points
    assert percentile_rank(0.30, distribution) == 100.0
    assert percentile_rank(-0.5, distribution) == 0.0
    assert percentile_rank(0.10, distribution) == 60.0


def test_benchmark_against_the_organisations(results) -> None:
    norms = build_norms(sources(results[:10]))
    mine = add_benchmarks(as_result(results[10]), norms).document()
    a, _ = mine["compare"]
    checked = 0
    for k, dim in enumerate(mine["dimensions"]):
        units = [r["dimensions"][k] for r in results[:10]]
        shown = [u["gap"] and u["gap"]["favorable"] is not None
                 and u["groups"][a].get("favorable") is not None for u in [*units, dim]]
        if not all(shown):  # a share withheld somewhere (issue 26): fewer organisations
            continue
        checked += 1
        others = [
            math.floor(r["dimensions"][k]["gap"]["favorable"] * 100 + 0.5) for r in results[:10]
        ]
        me = math.floor(dim["gap"]["favorable"] * 100 + 0.5)
        below = sum(o < me for o in others)
        equal = sum(o == me for o in others)
        assert dim["benchmark"]["gap"]["favorable_percentile"] == pytest.approx(
            100 * (below + equal / 2) / 10
        )
        fav = [r["dimensions"][k]["groups"][a]["favorable"] for r in results[:10]]
        mark = dim["benchmark"]["groups"][a]
        lo, mid, hi = coarse_quartiles(fav, Fraction(1, 100))
        assert mark["favorable_p50"] == pytest.approx(mid, abs=1e-9)
        assert (mark["favorable_p25"], mark["favorable_p75"]) == pytest.approx((lo, hi), abs=1e-9)
        assert dim["benchmark"]["orgs"] == 10
    assert checked >= 3
    jsonschema.validate(json.loads(json.dumps(mine)), result_json_schema())


def test_no_percentile_rank_and_no_distribution_below_ten_organisations(results) -> None:
    """Five organisations: the quartiles are published (coarsened), but no distribution
    (it would list every organisation's share) and so no percentile rank."""
    norms = build_norms(sources(results[:5]))
    jsonschema.validate(norms, norms_json_schema())
    for entry in norms["dimensions"] + norms["items"]:
        assert "distribution" not in entry["gap"]["favorable"]
        assert set(entry["gap"]["favorable"]) == {"p25", "p50", "p75"}
    mine = add_benchmarks(as_result(results[6]), norms).document()
    for dim in mine["dimensions"]:
        if dim["benchmark"] is None:  # fewer than 5 with every share shown (issue 26)
            continue
        assert dim["benchmark"]["gap"]["favorable_percentile"] is None
        assert dim["benchmark"]["gap"]["favorable_p50"] is not None
    jsonschema.validate(json.loads(json.dumps(mine)), result_json_schema())


def test_fewer_than_five_organisations_is_refused(results) -> None:
    with pytest.raises(NormsError, match="at least 5 organisations; got 4"):
        build_norms(sources(results[:4]))
    assert build_norms(sources(results[:5]))["orgs"] == 5


def test_an_entry_needs_five_organisations(results) -> None:
    """Drop item `roi1` from two of six results and hide one dimension gap in two: those
    entries rest on four organisations and are not published."""
    trimmed = copy.deepcopy(results[:6])
    for r in trimmed[:2]:
        r["items"] = [i for i in r["items"] if i["id"] != "roi1"]
        r["dimensions"][1]["gap"] = None
    norms = build_norms(sources(trimmed))
    assert "roi1" not in [e["id"] for e in norms["items"]]
    assert trimmed[0]["dimensions"][1]["id"] not in [e["id"] for e in norms["dimensions"]]
    trimmed[0]["items"] = results[0]["items"]
    norms = build_norms(sources(trimmed))
    entry = next(e for e in norms["items"] if e["id"] == "roi1")
    assert entry["orgs"] == 5
    mine = add_benchmarks(as_result(results[6]), norms).document()
    assert mine["dimensions"][1]["benchmark"] is None


def test_the_same_result_twice_is_an_error(results) -> None:
    twice = [*sources(results[:5]), Source("copy.json", as_result(results[2]))]
    with pytest.raises(NormsError, match="copy.json is the same result as org2.json"):
        build_norms(twice)
    # the same figures re-saved by another version, with another title, are still the same
    resaved = copy.deepcopy(results[3])
    resaved["alignscan_version"] = "9.9"
    resaved["survey"]["title"] = "Renamed"
    resaved["source"]["file"] = "other.csv"
    with pytest.raises(NormsError, match="the same result as org3.json"):
        build_norms([*sources(results[:5]), Source("resaved.json", as_result(resaved))])


def test_mixed_surveys_and_scales_are_refused(results) -> None:
    other = copy.deepcopy(results[4])
    other["survey"]["id"] = "another"
    other["scale"]["favorable"] = [5]
    with pytest.raises(NormsError) as info:
        build_norms([*sources(results[:4]), Source("other.json", as_result(other))])
    assert len(info.value.problems) == 2
    with pytest.raises(NormsError, match="survey 'ai-alignment'"):
        add_benchmarks(as_result(other), build_norms(sources(results[:5]))).document()


def test_norms_hold_no_organisation_record(results) -> None:
    norms = build_norms(sources(results[:10]))
    text = json.dumps(norms)
    for r in results[:6]:
        assert r["source"]["file"] not in text
    assert "org0.json" not in text
    for entry in norms["dimensions"]:
        if entry["orgs"] < 10:  # a share withheld somewhere (issue 26): no distribution
            assert "distribution" not in entry["gap"]["favorable"]
            continue
        dist = entry["gap"]["favorable"]["distribution"]
        assert sum(dist.values()) == entry["orgs"]
        assert all(isinstance(n, int) for n in dist.values())
        assert list(dist) == sorted(dist, key=int)  # sorted by value, never by organisation


REFS = """references:
  - source: "Example study 2025, 1,000 companies"
    dimension: roi
    label: confident in the ROI of AI
    groups: {executive: 62%, practitioner: 0.45}
"""


def test_references(results) -> None:
    src = sources(results[:5])
    refs, problems = parse_references(REFS, "refs.yaml", src)
    assert problems == []
    assert refs[0]["groups"] == {"executive": 0.62, "practitioner": 0.45}
    assert refs[0]["gap"] == pytest.approx(0.17)
    bad = REFS + "  - {source: '', item: nope, groups: {boss: 2, executive: 140%}}\n"
    _, problems = parse_references(bad, "refs.yaml", src)
    assert {(p.line, p.path) for p in problems} == {
        (6, "references[1].source"),
        (6, "references[1].item"),
        (6, "references[1].groups.boss"),
        (6, "references[1].groups.executive"),
    }
    norms = build_norms(src, refs)
    mine = add_benchmarks(as_result(results[6]), norms).document()
    roi = next(d for d in mine["dimensions"] if d["id"] == "roi")
    assert roi["benchmark"]["references"][0]["source"].startswith("Example study")
    html = render_html(mine)
    section = html[html.index('<section id="benchmark">') :]
    section = section[: section.index("</section>")]
    assert (
        "<title>Example study 2025, 1,000 companies: confident in the ROI of AI</title>" in section
    )
    assert "executive 62%, practitioner 45%; gap +17 pts" in section


def test_sentence_from_data() -> None:
    result = compared("executive", "practitioner")
    # 24 organisations: 20 below ours (+17), 2 equal, 2 above
    unit = bench_unit(
        0.17,
        {
            "orgs": 24,
            "groups": {},
            "gap": {"favorable_p50": 0.09, "favorable_percentile": 100 * (20 + 2 / 2) / 24},
        },
    )
    assert benchmark_sentence(result, unit) == (
        "your Executive–Practitioner gap on ROI is +17 percentage points (favorable share); "
        "the median of 24 organisations is +9: 88th percentile."
    )
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 88, 100, 101, 111)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "88th",
        "100th",
        "101st",
        "111th",
    ]


def test_report_section(results) -> None:
    mine = add_benchmarks(as_result(results[10]), build_norms(sources(results[:10]))).document()
    html = render_html(mine)
    start = html.index('<section id="benchmark">')
    section = html[start : html.index("</section>", start)]
    sentences = 0
    for dim in as_result(mine).dimensions:
        sentence = benchmark_sentence(as_result(mine), dim)
        if dim.benchmark is None or dim.gap.favorable is None:
            assert sentence is None  # not benchmarked, or its share withheld (issue 26)
            continue
        sentences += 1
        assert sentence[0].upper() + sentence[1:] in section
    assert sentences >= 3
    assert 'id="benchmark-table"' in section
    assert 'id="benchmark"' not in render_html(results[6])


run = run_cli


def test_cli(results, tmp_path: Path) -> None:
    from alignscan.render.tabular import result_to_json

    names = []
    for i, r in enumerate(results):
        (tmp_path / f"r{i}.json").write_text(result_to_json(r), encoding="utf-8")
        names.append(f"r{i}.json")
    (tmp_path / "refs.yaml").write_text(REFS, encoding="utf-8")
    done = run(
        "norms", "build", *names[:5], "-o", "norms.json", "--reference", "refs.yaml", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    norms = json.loads((tmp_path / "norms.json").read_text("utf-8"))
    assert norms["orgs"] == 5 and norms["references"]
    assert run("norms", "build", *names[:4], "-o", "n.json", cwd=tmp_path).returncode == 1
    done = run("norms", "build", *names[:4], names[0], "-o", "n.json", cwd=tmp_path)
    assert done.returncode == 1 and "same result" in done.stderr
    assert run("norms", "build", *names[:5], "-o", names[0], cwd=tmp_path).returncode == 2
    assert (
        run("norms", "build", *names[:4], "nope.json", "-o", "n.json", cwd=tmp_path).returncode == 2
    )
    (tmp_path / "bad.yaml").write_text("references: [{source: x}]\n", encoding="utf-8")
    done = run(
        "norms", "build", *names[:5], "-o", "n.json", "--reference", "bad.yaml", cwd=tmp_path
    )
    assert done.returncode == 1 and "bad.yaml:1" in done.stdout

    write_csv(generate_responses(load_survey(), 300, seed=11), tmp_path / "org.csv")
    done = run("analyze", "org.csv", "--no-save", "--norms", "norms.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "the median of 5 organisations is" in done.stdout
    done = run(
        "analyze", "org.csv", "--no-save", "--norms", "norms.json", "-f", "json", cwd=tmp_path
    )
    assert json.loads(done.stdout)["dimensions"][0]["benchmark"]["orgs"] == 5
    (tmp_path / "broken.json").write_text('{"norms_version": 1}', encoding="utf-8")
    assert (
        run("analyze", "org.csv", "--no-save", "--norms", "broken.json", cwd=tmp_path).returncode
        == 1
    )
    assert (
        run("analyze", "org.csv", "--no-save", "--norms", "none.json", cwd=tmp_path).returncode == 2
    )


def test_norms_schema_is_committed() -> None:
    committed = json.loads((ROOT / "docs" / "norms.schema.json").read_text("utf-8"))
    assert committed == norms_json_schema(), (
        "docs/norms.schema.json is stale: run `alignscan norms schema > docs/norms.schema.json`"
    )


def test_reference_text_stays_text(results) -> None:
    hostile = REFS.replace("Example study 2025, 1,000 companies", "<script>alert(1)</script>")
    refs, problems = parse_references(hostile, "refs.yaml", sources(results[:5]))
    assert not problems
    html = render_html(
        add_benchmarks(as_result(results[6]), build_norms(sources(results[:5]), refs)).document()
    )
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


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
