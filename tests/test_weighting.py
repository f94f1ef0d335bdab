"""Weighting to the headcount (issue #31): svy's figures, refusals, bias and coverage."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from alignscan.api import load_survey
from alignscan.extras.weighting import _weighted_gap, group_weights
from alignscan.extras.weighting_estimates import Sums, estimate
from alignscan.extras.weighting_targets import SEP, Targets, WeightingError, parse_targets

REFERENCE = Path(__file__).parent / "data" / "weighted_reference.json"
SURVEY = load_survey(None)  # the built-in survey: segments department and region


def _targets(lines: list[str], values: dict[str, list[str]]) -> Targets:
    return parse_targets("\n".join(lines), "hc.csv", SURVEY, values)


def _reference_case(how: str, group: str):
    ref = json.loads(REFERENCE.read_text("utf-8"))
    rows = [r for r in ref["rows"] if r[0] == group]
    cells = ref["headcount"][group]
    if how == "poststratify":
        per = {}
        for d, _, n in cells:
            per[d] = per.get(d, 0) + n
        lines = ["group,department,headcount", *(f"{group},{d},{n}" for d, n in per.items())]
        key = lambda r: (r[1],)  # noqa: E731
    else:
        dep, reg = {}, {}
        for d, r, n in cells:
            dep[d], reg[r] = dep.get(d, 0) + n, reg.get(r, 0) + n
        lines = ["group,department,region,headcount",
                 *(f"{group},{d},,{n}" for d, n in dep.items()),
                 *(f"{group},,{r},{n}" for r, n in reg.items())]
        key = lambda r: (r[1], r[2])  # noqa: E731
    values = {"department": sorted({r[1] for r in rows}), "region": sorted({r[2] for r in rows})}
    targets = _targets(lines, values)
    heads: dict[tuple[str, ...], int] = {}
    for r in rows:
        heads[key(r)] = heads.get(key(r), 0) + 1
    gw, errors = group_weights(targets, group, heads, trim=False)
    assert not errors and gw is not None
    # per-class counts of each answer 0 (not answered) .. 5, counted here independently
    counts = np.zeros((len(gw.classes), 6), dtype=np.int64)
    pos = {c: i for i, c in enumerate(gw.classes)}
    for r in rows:
        counts[pos[key(r)], r[3] or 0] += 1
    return ref[how][group], gw, counts


@pytest.mark.parametrize("how", ["poststratify", "rake"])
@pytest.mark.parametrize("group", ["executive", "practitioner"])
def test_weighted_figures_equal_svy(how: str, group: str) -> None:
    """Weights, weighted mean and favorable share and their linearised standard errors
    equal svy's (tests/reference/make_weighted_reference.py) to 1e-9."""
    ref, gw, counts = _reference_case(how, group)
    expected = {tuple(w[:1] if how == "poststratify" else w[:2]): w[2] for w in ref["weights"]}
    for cls, w in zip(gw.classes, gw.w, strict=True):
        assert w == pytest.approx(expected[cls], rel=1e-9, abs=1e-9)
    answered = np.array([0.0, 1, 1, 1, 1, 1])
    value = np.array([0.0, 1, 2, 3, 4, 5])
    fav = np.array([0.0, 0, 0, 0, 1, 1])
    mean = estimate(gw.w, gw.n, Sums.of(counts, value, answered))
    share = estimate(gw.w, gw.n, Sums.of(counts, fav, answered))
    assert abs(mean.value - ref["mean"]) < 1e-9
    assert abs(mean.se - ref["mean_se"]) < 1e-9
    assert abs(share.value - ref["favorable"]) < 1e-9
    assert abs(share.se - ref["favorable_se"]) < 1e-9
    assert mean.df == ref["df"]
    assert ref["mean_se"] > 0.01  # a real standard error, not a degenerate case


def test_equal_response_rates_weights_are_one_scale() -> None:
    """Respondents in proportion to the headcount: every weight is the same, the
    weighted mean is the plain mean and Kish's n_eff is n."""
    values = {"department": ["a", "b"], "region": []}
    t = _targets(["group,department,headcount", "executive,a,100", "executive,b,300"], values)
    gw, errors = group_weights(t, "executive", {("a",): 10, ("b",): 30}, trim=False)
    assert not errors and gw is not None
    assert np.allclose(gw.w, 10.0)
    assert gw.summary()["design_effect"] == pytest.approx(1.0)
    counts = np.array([[0, 0, 0, 5, 5, 0], [0, 10, 0, 0, 0, 20]])
    est = estimate(gw.w, gw.n, Sums.of(counts, np.arange(6.0), np.r_[0.0, np.ones(5)]))
    assert est.value == pytest.approx((5 * 3 + 5 * 4 + 10 * 1 + 20 * 5) / 40)
    assert est.n_eff == pytest.approx(40)


def test_margins_that_disagree_are_refused_with_rows() -> None:
    values = {"department": ["a", "b"], "region": ["n", "s"]}
    t = _targets(["group,department,region,headcount", "executive,a,,100", "executive,b,,300",
                  "executive,,n,150", "executive,,s,200"], values)
    heads = {("a", "n"): 10, ("a", "s"): 10, ("b", "n"): 10, ("b", "s"): 10}
    gw, errors = group_weights(t, "executive", heads, trim=False)
    assert gw is None
    assert any("disagree" in e.reason and "400" in e.reason and "350" in e.reason for e in errors)


def test_cell_with_headcount_but_no_respondent_is_refused() -> None:
    values = {"department": ["a", "b"], "region": []}
    t = _targets(["group,department,headcount", "executive,a,100", "executive,b,300",
                  "executive,c,50"], values)
    gw, errors = group_weights(t, "executive", {("a",): 10, ("b",): 30}, trim=False)
    assert gw is None
    assert [(e.row, e.kind) for e in errors] == [(4, "empty_cell")]
    assert "department=c" in errors[0].reason


def test_respondents_without_a_headcount_row_are_refused() -> None:
    values = {"department": ["a", "b"], "region": []}
    t = _targets(["group,department,headcount", "executive,a,100"], values)
    gw, errors = group_weights(t, "executive", {("a",): 10, ("b",): 30}, trim=False)
    assert gw is None and errors[0].kind == "missing_cell"


def test_bad_cells_are_all_reported_at_once() -> None:
    values = {"department": ["a"], "region": []}
    with pytest.raises(WeightingError) as caught:
        _targets(["group,department,headcount", "boss,a,10", "executive,a,-3",
                  "executive,a,x"], values)
    kinds = [(e.row, e.kind) for e in caught.value.errors]
    assert kinds == [(2, "unknown_group"), (3, "negative_headcount"), (4, "bad_headcount")]


def test_trimming_caps_weights_and_keeps_the_total() -> None:
    values = {"department": ["a", "b"], "region": []}
    t = _targets(["group,department,headcount", "executive,a,1000", "executive,b,100"], values)
    heads = {("a",): 5, ("b",): 100}
    plain, _ = group_weights(t, "executive", heads, trim=False)
    trimmed, _ = group_weights(t, "executive", heads, trim=True)
    assert plain is not None and trimmed is not None
    assert plain.relative().max() > 5
    assert trimmed.trimmed and trimmed.relative().max() == pytest.approx(5.0)
    assert float(trimmed.w @ trimmed.n) == pytest.approx(1100)


DEPTS = {"eng": (4000, 3.6), "ops": (2500, 3.0), "sales": (3500, 2.4)}  # people, mean
EXECS = {"eng": (120, 3.9), "ops": (80, 3.4), "sales": (100, 3.3)}
RATES = {"eng": 0.8, "ops": 0.5, "sales": 0.2}


def _expected_answer(mu: float) -> float:
    """E[clip(round(N(mu, 1)), 1, 5)], exactly from the normal distribution."""
    from scipy.stats import norm

    cuts = norm.cdf(np.array([1.5, 2.5, 3.5, 4.5]) - mu)
    probs = np.diff(np.concatenate([[0.0], cuts, [1.0]]))
    return float(probs @ np.arange(1, 6))


def _model_gap() -> float:
    """The gap of the process the people are drawn from (what an interval without
    finite population correction is for)."""
    def mean(pop):
        return sum(n * _expected_answer(mu) for n, mu in pop.values()) / sum(
            n for n, _ in pop.values())
    return mean(EXECS) - mean(DEPTS)


def _simulate(rng: np.random.Generator) -> tuple[float, float, float, list[float]]:
    """One survey of a population whose departments differ in opinion and answer at
    different rates: (population gap, unweighted gap, weighted gap, its published 95%
    interval: the small-group likelihood one when a group's effective n is below 200)."""
    from types import SimpleNamespace

    from alignscan.analysis.analysis import SMALL, fill_small
    from alignscan.extras.weighting import _small

    est, truth, plain, groups, cubes = {}, {}, {}, {}, {}
    for name, pop in (("a", EXECS), ("b", DEPTS)):
        n, w, counts, total, everyone = [], [], [], 0, 0
        for d, (people, mu) in pop.items():
            answers = np.clip(np.rint(rng.normal(mu, 1.0, people)), 1, 5).astype(int)
            total, everyone = total + int(answers.sum()), everyone + people
            took = answers[rng.random(people) < RATES[d]]
            n.append(len(took))
            w.append(people / len(took))
            counts.append(np.bincount(took, minlength=6))
        truth[name] = total / everyone
        c = np.array(counts)
        plain[name] = float((c @ np.arange(6)).sum()) / c.sum()
        answered = np.r_[0.0, np.ones(5)]
        fav = np.r_[0.0, 0, 0, 0, 1, 1]
        est[name] = (estimate(np.array(w), np.array(n, float), Sums.of(c, np.arange(6.0), answered),
                              True),
                     estimate(np.array(w), np.array(n, float), Sums.of(c, fav, answered)))
        groups[name] = SimpleNamespace(weights=SimpleNamespace(w=np.array(w)))
        cubes[name] = c
    gap = _weighted_gap(est["a"][0], est["b"][0], est["a"][1], est["b"][1], None)
    shares = {g: (cubes[g], np.r_[0.0, 0, 0, 0, 1, 1]) for g in cubes}
    _small(gap, groups, cubes, est, np.arange(6.0), shares, (1.0, 5.0))
    fill_small([gap])
    gap.pop(SMALL, None)
    return truth["a"] - truth["b"], plain["a"] - plain["b"], gap["mean"], gap["mean_ci"]


def test_simulation_weighted_gap_is_unbiased_and_covers() -> None:
    """Response rates 80% (eng), 50% (ops), 20% (sales), opinions differing by
    department: the unweighted gap is biased, the weighted one is not, and its 95%
    interval covers the true gap about 95% of the time (400 seeded surveys)."""
    rng = np.random.default_rng(2031)
    model = _model_gap()
    plain_err, weighted_err, covered = [], [], 0
    runs = 400
    for _ in range(runs):
        _, plain, gap, ci = _simulate(rng)
        plain_err.append(plain - model)
        weighted_err.append(gap - model)
        covered += ci[0] <= model <= ci[1]
    se_mean = np.std(weighted_err) / math.sqrt(runs)
    assert abs(np.mean(plain_err)) > 10 * np.std(plain_err) / math.sqrt(runs)  # biased
    assert abs(np.mean(plain_err)) > 0.08 and abs(np.mean(weighted_err)) < 0.02
    assert abs(np.mean(weighted_err)) < 3 * se_mean
    assert 0.925 <= covered / runs <= 0.975


def test_separator_never_in_a_cell_value() -> None:
    assert SEP not in "".join(SURVEY.segments)


# ----------------------------------------------------------------------------- end to end


def _export(tmp_path: Path, n: int = 900, seed: int = 5) -> tuple[Path, Path, object]:
    """A synthetic export and a department headcount per compared group at which the
    departments answered at very different rates."""
    from alignscan.api import read_responses
    from alignscan.synthetic import generate_responses, write_csv

    data = write_csv(generate_responses(SURVEY, n, seed=seed), tmp_path / "responses.csv")
    rs = read_responses(data, SURVEY)
    lines = ["group,department,headcount"]
    for g, name in enumerate(SURVEY.roles.groups):
        if name not in SURVEY.roles.compare:
            continue
        depts = np.asarray(list(rs.segments["department"]), dtype=object)[
            np.asarray(rs.group.codes) == g]
        for i, d in enumerate(sorted(set(depts))):
            lines.append(f"{name},{d},{int((depts == d).sum()) * (1 + 3 * (i % 3))}")
    hc = tmp_path / "headcount.csv"
    hc.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return data, hc, rs


def _row_ratio(w: np.ndarray, strata: np.ndarray, y: np.ndarray, x: np.ndarray):
    """sum w y / sum w x and its linearised se, row by row: z_i = w_i (y_i - R x_i) /
    sum w x, V = sum over strata n_h / (n_h - 1) sum (z_i - mean z)^2."""
    total = float(w @ x)
    r = float(w @ y) / total
    z = w * (y - r * x) / total
    var = 0.0
    for h in set(strata):
        zh = z[strata == h]
        var += len(zh) / (len(zh) - 1) * float(((zh - zh.mean()) ** 2).sum())
    return r, math.sqrt(var)


def _direct(rs, hc: Path) -> dict[str, dict[str, dict[str, float]]]:
    """Weighted figures computed here from the rows, per unit (dimension or item id) and
    group: a dimension score is the mean of a respondent's (recoded) answers when at least
    half the items are answered; its favorable share is favorable / answered answers of
    the scored respondents, as a ratio of weighted totals."""
    import csv

    heads = {(r["group"], r["department"]): int(r["headcount"])
             for r in csv.DictReader(hc.open(encoding="utf-8"))}
    groups = np.asarray(list(SURVEY.roles.groups))[np.asarray(rs.group.codes)]
    depts = np.asarray(list(rs.segments["department"]), dtype=object)
    codes = rs.codes.astype(float)
    p, start = SURVEY.scale.points, SURVEY.scale.start
    fav_codes = np.asarray(SURVEY.scale.favorable, dtype=float) - start + 1
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name in SURVEY.roles.compare:
        mine = groups == name
        n = {d: int((depts[mine] == d).sum()) for d in set(depts[mine])}
        w = np.asarray([heads[(name, d)] / n[d] for d in depts[mine]])
        strata = depts[mine]
        col = 0
        for dim in SURVEY.dimensions:
            k = len(dim.items)
            block = codes[mine][:, col:col + k].copy()
            for j, item in enumerate(dim.items):
                if item.reverse:
                    block[:, j] = np.where(block[:, j] > 0, p + 1 - block[:, j], 0)
                answered = (block[:, j] > 0).astype(float)
                mean, mean_se = _row_ratio(w, strata, (block[:, j] + start - 1) * answered,
                                           answered)
                fav = np.isin(block[:, j], fav_codes).astype(float)
                share, share_se = _row_ratio(w, strata, fav, answered)
                out[item.id] = out.get(item.id, {})
                per_class = [int(answered[strata == d].sum()) for d in sorted(n)]
                out[item.id][name] = {"mean": mean, "mean_se": mean_se, "favorable": share,
                                      "favorable_se": share_se, "_answered": per_class}
            col += k
            m = (block > 0).sum(axis=1)
            ok = (m >= math.ceil(k / 2)).astype(float)
            score = np.where(ok > 0, block.sum(axis=1) / np.maximum(m, 1) + start - 1, 0.0)
            mean, mean_se = _row_ratio(w, strata, score * ok, ok)
            sd = math.sqrt(float(w @ (ok * (score - mean) ** 2)) / float(w @ ok)
                           * ok.sum() / (ok.sum() - 1))
            f = np.isin(block, fav_codes).sum(axis=1) * ok
            share, share_se = _row_ratio(w, strata, f.astype(float), (m * ok).astype(float))
            out.setdefault(dim.id, {})[name] = {
                "mean": mean, "mean_se": mean_se, "sd": sd, "favorable": share,
                "favorable_se": share_se, "n_effective": float(w @ ok) ** 2 / float(w**2 @ ok)}
    return out


def test_cli_weighted_figures_equal_a_direct_computation_from_the_rows(tmp_path: Path) -> None:
    from conftest import run_cli

    data, hc, rs = _export(tmp_path)
    out = tmp_path / "result.json"
    html = tmp_path / "report.html"
    done = run_cli("analyze", data, "--weight-to", hc, "--json", out, "--html", html, "--no-save")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Weighted to headcount" in done.stdout
    page = html.read_text("utf-8")
    assert page.index('id="weighted-note"') < page.index('<section id="overview">')
    assert 'id="weighting-table"' in page and "Design effect" in page
    result = json.loads(out.read_text("utf-8"))
    direct = _direct(rs, hc)
    a, b = SURVEY.roles.compare
    checked = 0
    for unit in result["dimensions"] + result["items"]:
        if unit["gap"] is None:  # an item a weighting cell answered with 1 .. 4 people
            assert any(0 < m < 5 for g in (a, b) for m in direct[unit["id"]][g]["_answered"])
            assert any(unit["groups"][g].get("suppressed") for g in (a, b))
            continue
        checked += 1
        for g in (a, b):
            cell = unit["groups"][g]
            want = {k: v for k, v in direct[unit["id"]][g].items() if not k.startswith("_")}
            for key, value in want.items():
                assert cell[key] == pytest.approx(value, rel=1e-10, abs=1e-12), (unit["id"], key)
            assert cell["n_effective"] < cell["n"]
        da, db = direct[unit["id"]][a], direct[unit["id"]][b]
        assert unit["gap"]["mean"] == pytest.approx(da["mean"] - db["mean"], abs=1e-12)
        assert unit["gap"]["se"] == pytest.approx(math.hypot(da["mean_se"], db["mean_se"]))
        assert unit["gap"]["favorable"] == pytest.approx(da["favorable"] - db["favorable"])
    assert checked >= 0.75 * (len(result["dimensions"]) + len(result["items"]))
    info = result["weighting"]["groups"][b]
    assert info["method"] == "post-stratification" and info["design_effect"] > 1
    plain = run_cli("analyze", data, "--json", tmp_path / "plain.json", "--no-save")
    assert plain.returncode == 0
    unweighted = json.loads((tmp_path / "plain.json").read_text("utf-8"))
    assert "weighting" not in unweighted
    assert "n_effective" not in json.dumps(unweighted)
    plain_html = tmp_path / "plain.html"
    run_cli("analyze", data, "--html", plain_html, "--no-save")
    assert "Weighted to headcount" not in plain_html.read_text("utf-8")
    assert unweighted["dimensions"][0]["groups"][b]["mean"] != result["dimensions"][0][
        "groups"][b]["mean"]


def test_api_weight_to_gives_the_cli_result(tmp_path: Path) -> None:
    import alignscan
    from conftest import run_cli

    data, hc, rs = _export(tmp_path)
    out = tmp_path / "r.json"
    assert run_cli("analyze", data, "--weight-to", hc, "--json", out, "--no-save").returncode == 0
    via_file = alignscan.analyze(data, weight_to=hc).document
    via_rows = alignscan.analyze(rs, weight_to=hc).document
    saved = json.loads(out.read_text("utf-8"))
    for doc in (via_file, via_rows):
        assert doc["dimensions"] == saved["dimensions"] and doc["items"] == saved["items"]
        assert doc["weighting"]["groups"] == saved["weighting"]["groups"]


def test_cli_refusals_and_exit_codes(tmp_path: Path) -> None:
    from conftest import run_cli

    data, hc, _ = _export(tmp_path)
    missing = run_cli("analyze", data, "--weight-to", tmp_path / "nope.csv", "--no-save")
    assert missing.returncode == 2
    alone = run_cli("analyze", data, "--trim-weights", "--no-save")
    assert alone.returncode == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("group,department,headcount\nboss,IT,5\nexecutive,IT,x\n", encoding="utf-8")
    done = run_cli("analyze", data, "--weight-to", bad, "--no-save", "--out", tmp_path / "o")
    assert done.returncode == 1
    assert "unknown group" in done.stdout and "not a whole number" in done.stdout
    assert not (tmp_path / "o").exists()
    rows = hc.read_text("utf-8").splitlines()
    short = tmp_path / "short.csv"  # a department of the executives left out
    short.write_text("\n".join(r for r in rows if not r.startswith("executive,HR")) + "\n",
                     encoding="utf-8")
    done = run_cli("analyze", data, "--weight-to", short, "--no-save")
    assert done.returncode == 1 and "no headcount row" in done.stdout


def test_small_weighting_cell_is_refused(tmp_path: Path) -> None:
    """A department with 1 .. minimum-1 executives: its weight (headcount / n) would
    tell how many answered there, and weighted with unweighted means their answers."""
    import alignscan
    from alignscan.errors import AlignscanError
    from conftest import make_responses, random_codes

    rng = np.random.default_rng(4)
    n = 80
    groups = ["executive"] * 40 + ["practitioner"] * 40
    dept = ["a"] * 37 + ["b"] * 3 + ["a"] * 20 + ["b"] * 20
    rs = make_responses(SURVEY, random_codes(rng, n, len(SURVEY.items)), groups,
                        {"department": dept})
    hc = tmp_path / "hc.csv"
    hc.write_text("group,department,headcount\nexecutive,a,50\nexecutive,b,50\n"
                  "practitioner,a,100\npractitioner,b,100\n", encoding="utf-8")
    with pytest.raises(AlignscanError, match="fewer than 5 respondents"):
        alignscan.analyze(rs, weight_to=hc)


# ----------------------------------------------------------------------------- anonymity


def _solutions(n_atoms: int, constraints: list[tuple[list[int], int]]):
    """Every vector of whole, non-negative atom counts meeting `constraints` (atom
    indices, their sum): the attacker's view of what the published counts allow."""
    last = {i: max(idx) for i, (idx, _) in enumerate(constraints)}
    member = [[i for i, (idx, _) in enumerate(constraints) if a in idx] for a in range(n_atoms)]
    remaining = [v for _, v in constraints]
    vec = [0] * n_atoms

    def go(a: int):
        if a == n_atoms:
            yield tuple(vec)
            return
        top = min((remaining[i] for i in member[a]), default=0)
        for x in range(top + 1):
            if any(last[i] == a and remaining[i] != x for i in member[a]):
                continue
            for i in member[a]:
                remaining[i] -= x
            vec[a] = x
            yield from go(a + 1)
            for i in member[a]:
                remaining[i] += x

    yield from go(0)


def _pinned_small(solutions: list[tuple[int, ...]], minimum: int) -> list[tuple[int, ...]]:
    """Sets of atoms whose total is the same in every solution and 1 .. minimum-1."""
    from itertools import combinations

    n = len(solutions[0])
    found = []
    for size in range(1, n + 1):
        for subset in combinations(range(n), size):
            totals = {sum(s[i] for i in subset) for s in solutions}
            if len(totals) == 1 and 0 < totals.pop() < minimum:
                found.append(subset)
    return found


def _small_world(seed: int):
    from conftest import make_responses, make_survey, random_codes

    survey = make_survey(segments=("department", "region"), min_group_size=5)
    rng = np.random.default_rng(seed)
    depts, regions = ["a", "b", "c"], ["n", "s"]
    execs = {(d, r): int(rng.choice([0, 1, 2, 3, 6, 8, 10, 12])) for d in depts for r in regions}
    rows = [("executive", d, r) for (d, r), k in execs.items() for _ in range(k)]
    rows += [("practitioner", d, r) for d in depts for r in regions for _ in range(15)]
    codes = random_codes(rng, len(rows), len(survey.items))
    rs = make_responses(survey, codes, [g for g, _, _ in rows],
                        {"department": [d for _, d, _ in rows], "region": [r for _, _, r in rows]})
    return survey, rs, execs, depts, regions


WEIGHTINGS = {  # the rows of a headcount file for each group, from (dept, region) -> N
    "department": lambda heads: [f"{d},,{sum(n for (dd, _), n in heads.items() if dd == d)}"
                                 for d in "abc"],
    "region": lambda heads: [f",{r},{sum(n for (_, rr), n in heads.items() if rr == r)}"
                             for r in "ns"],
    "raking": lambda heads: WEIGHTINGS["department"](heads) + WEIGHTINGS["region"](heads),
    "cross": lambda heads: [f"{d},{r},{n}" for (d, r), n in heads.items()],
}


def _class_sets(how: str, depts: list[str], regions: list[str]) -> list[list[int]]:
    atoms = [(d, r) for d in depts for r in regions]
    if how == "department":
        return [[i for i, (d, _) in enumerate(atoms) if d == v] for v in depts]
    if how == "region":
        return [[i for i, (_, r) in enumerate(atoms) if r == v] for v in regions]
    return [[i] for i in range(len(atoms))]  # raking and the cross: one class per atom


def test_weighting_never_pins_a_small_set_of_respondents(tmp_path: Path) -> None:
    """An attacker who knows every published head count (the group, the segment cells
    `check` shows) and, from the weights, every weighting cell's count, and that counts
    are whole and non-negative, enumerates all possible atom counts: no accepted
    weighting lets a set of 1 .. 4 executives be pinned. The refusals are needed: the
    same attacker pins one in some refused cases."""
    import alignscan
    from alignscan.analysis.analysis import check_figures
    from alignscan.errors import AlignscanError

    accepted = refused_would_leak = 0
    for seed in range(12):
        survey, rs, execs, depts, regions = _small_world(seed)
        atoms = [(d, r) for d in depts for r in regions]
        shown = check_figures(rs)
        known = [(list(range(len(atoms))), sum(execs.values()))]
        for seg in shown["segments"]:
            cell = seg["groups"]["executive"]
            if "n" in cell:
                col = 0 if seg["column"] == "department" else 1
                idx = [i for i, a in enumerate(atoms) if a[col] == seg["value"]]
                known.append((idx, cell["n"]))
        for how, rows in WEIGHTINGS.items():
            heads = {(d, r): 20 + 7 * i for i, (d, r) in enumerate(atoms)}
            hc = tmp_path / f"{seed}-{how}.csv"
            lines = ["group,department,region,headcount"]
            lines += [f"executive,{r}" for r in rows(heads)]
            lines += [f"practitioner,{r}" for r in rows({k: 4 * v for k, v in heads.items()})]
            hc.write_text("\n".join(lines) + "\n", encoding="utf-8")
            classes = [(idx, sum(execs[atoms[i]] for i in idx))
                       for idx in _class_sets(how, depts, regions)]
            solutions = list(_solutions(len(atoms), known + classes))
            pinned = _pinned_small(solutions, survey.privacy.min_group_size)
            try:
                alignscan.analyze(rs, weight_to=hc)
            except AlignscanError:
                refused_would_leak += bool(pinned)
                continue
            accepted += 1
            assert not pinned, (seed, how, execs)
    print(f"accepted {accepted}, refused {48 - accepted}, refused and pinnable {refused_would_leak}")
    assert accepted >= 5 and refused_would_leak >= 5


def test_raking_that_cannot_meet_its_margins_is_refused() -> None:
    """Executives answered only in (a, north) and (b, south): department a = north and
    b = south, so margins a = b = 100 with north 50, south 150 can't both hold."""
    values = {"department": ["a", "b"], "region": ["n", "s"]}
    t = _targets(["group,department,region,headcount", "executive,a,,100", "executive,b,,100",
                  "executive,,n,50", "executive,,s,150"], values)
    gw, errors = group_weights(t, "executive", {("a", "n"): 10, ("b", "s"): 10}, trim=False)
    assert gw is None and errors[0].kind == "no_convergence"


def test_raking_meets_every_margin() -> None:
    values = {"department": ["a", "b", "c"], "region": ["n", "s"]}
    t = _targets(["group,department,region,headcount", "executive,a,,100", "executive,b,,300",
                  "executive,c,,600", "executive,,n,700", "executive,,s,300"], values)
    heads = {("a", "n"): 10, ("a", "s"): 30, ("b", "n"): 12, ("b", "s"): 5, ("c", "n"): 40,
             ("c", "s"): 9}
    gw, errors = group_weights(t, "executive", heads, trim=False)
    assert not errors and gw is not None and gw.method == "raking"
    total = {k: 0.0 for k in ["a", "b", "c", "n", "s"]}
    for (d, r), w, n in zip(gw.classes, gw.w, gw.n, strict=True):
        total[d] += w * n
        total[r] += w * n
    assert total == pytest.approx({"a": 100, "b": 300, "c": 600, "n": 700, "s": 300}, rel=1e-10)


def test_survey_weights_key_weights_like_the_flag(tmp_path: Path) -> None:
    """`weights: {headcount: ...}` in the survey (the file next to the survey) gives the
    result of `--weight-to`."""
    import shutil

    from alignscan.survey import builtin_survey_text
    from conftest import run_cli

    data, hc, _ = _export(tmp_path)
    folder = tmp_path / "def"
    folder.mkdir()
    shutil.copy(hc, folder / "heads.csv")
    survey = folder / "survey.yaml"
    survey.write_text(builtin_survey_text() + "weights:\n  headcount: heads.csv\n",
                      encoding="utf-8")
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run_cli("analyze", data, "--survey", survey, "--json", a, "--no-save").returncode == 0
    assert run_cli("analyze", data, "--survey", survey, "--weight-to", hc, "--json", b,
                   "--no-save").returncode == 0
    doc_a, doc_b = json.loads(a.read_text("utf-8")), json.loads(b.read_text("utf-8"))
    assert doc_a["weighting"]["groups"] and doc_a["dimensions"] == doc_b["dimensions"]


def test_weighted_cliffs_delta_with_equal_weights_is_cliffs_delta() -> None:
    from alignscan.analysis.stats import cliffs_delta
    from alignscan.extras.weighting_estimates import weighted_delta

    rng = np.random.default_rng(3)
    ca, cb = rng.integers(0, 9, (3, 6)), rng.integers(0, 9, (2, 6))
    expected, _ = cliffs_delta(ca.sum(axis=0), cb.sum(axis=0))
    got = weighted_delta(np.full(3, 2.5), ca, np.full(2, 7.0), cb, np.arange(6.0))
    assert got == pytest.approx(expected, abs=1e-12)
    skewed = weighted_delta(np.array([1.0, 1.0, 50.0]), ca, np.ones(2), cb, np.arange(6.0))
    assert skewed != pytest.approx(expected)


def test_trend_warns_when_only_some_waves_are_weighted(tmp_path: Path) -> None:
    from conftest import run_cli

    data, hc, _ = _export(tmp_path)
    done = run_cli("analyze", data, "--weight-to", hc, "--baseline", data, "--no-save")
    assert done.returncode == 0
    shown = done.stdout + done.stderr  # the trend's warnings: on the terminal, in the trend
    assert "this wave weighted to headcount, baseline not" in " ".join(shown.split())
    both = run_cli("analyze", data, "--baseline", data, "--no-save")
    assert "weighted to headcount" not in both.stdout + both.stderr


def test_workbook_and_deck_say_the_figures_are_weighted(tmp_path: Path) -> None:
    pytest.importorskip("pptx")
    openpyxl = pytest.importorskip("openpyxl")
    from pptx import Presentation

    from conftest import run_cli

    data, hc, _ = _export(tmp_path)
    book, deck = tmp_path / "r.xlsx", tmp_path / "r.pptx"
    done = run_cli("analyze", data, "--weight-to", hc, "--xlsx", book, "--pptx", deck,
                   "--no-save")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = openpyxl.load_workbook(book)["summary"]
    fields = [str(row[0].value) for row in summary.iter_rows()]
    assert "weighted to headcount: Practitioners" in fields
    first = Presentation(str(deck)).slides[0]
    words = " ".join(s.text_frame.text for s in first.shapes if s.has_text_frame)
    assert "Weighted to headcount (department cells)" in words


def test_weights_above_the_cap_are_warned_on_page_one_and_trimmed_on_request(
    tmp_path: Path,
) -> None:
    from conftest import run_cli

    data, hc, rs = _export(tmp_path)
    groups = np.asarray(list(SURVEY.roles.groups))[np.asarray(rs.group.codes)]
    depts = np.asarray(list(rs.segments["department"]), dtype=object)
    lines = ["group,department,headcount"]
    for g in SURVEY.roles.compare:  # the smallest department has 30x its respondents
        n = {d: int(((groups == g) & (depts == d)).sum()) for d in sorted(set(depts))}
        least = min(n, key=lambda d: n[d])
        lines += [f"{g},{d},{k * (30 if d == least else 1)}" for d, k in n.items() if k]
    skewed = tmp_path / "skewed.csv"
    skewed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    html, out = tmp_path / "r.html", tmp_path / "r.json"
    done = run_cli("analyze", data, "--weight-to", skewed, "--html", html, "--json", out,
                   "--no-save")
    assert done.returncode == 0, done.stdout + done.stderr
    section = json.loads(out.read_text("utf-8"))["weighting"]
    assert section["warnings"] and "trimming (--trim-weights)" in section["warnings"][0]
    page = html.read_text("utf-8")
    note = page[page.index('id="weighted-note"'):page.index('<section id="overview">')]
    assert "Warning:" in note and "x the mean weight" in note
    done = run_cli("analyze", data, "--weight-to", skewed, "--trim-weights", "--json", out,
                   "--no-save")
    trimmed = json.loads(out.read_text("utf-8"))["weighting"]
    g = SURVEY.roles.compare[0]
    assert trimmed["groups"][g]["trimmed"] and trimmed["groups"][g]["relative_max"] <= 5 + 1e-9
    assert "were trimmed" in trimmed["warnings"][0]


def test_the_typed_result_writes_the_analysis_key_order(tmp_path: Path) -> None:
    """result.json is written from the typed result: a weighted analysis's JSON (item
    cells end with favorable_se, mean_se, n_effective after the answer counts; dimension
    cells have favorable_se before the counts) is byte for byte the analysis's own dict
    dumped as it is, and the library's Result.to_json gives the same bytes."""
    import alignscan
    from alignscan.analysis.analysis import analyze_counts
    from alignscan.counting.counts import count_responses
    from alignscan.extras.weighting import Weighting
    from alignscan.extras.weighting_targets import count_cells, read_targets
    from alignscan.result.models import as_result
    from conftest import run_cli

    data, hc, rs = _export(tmp_path)
    values = {c: sorted({str(v) for v in rs.segments[c]}) for c in SURVEY.segments}
    targets = read_targets(hc, SURVEY, values)
    weighting = Weighting(targets, count_cells(rs, targets.columns()), False)
    document = analyze_counts(count_responses(rs).with_responses(rs), weighting=weighting)
    as_analysed = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    item = next(c for i in document["items"] for c in i["groups"].values() if "mean_se" in c)
    dim = next(c for d in document["dimensions"] for c in d["groups"].values() if "mean_se" in c)
    assert list(item).index("favorable_se") > list(item).index("answer_counts")
    assert list(dim).index("favorable_se") < list(dim).index("counts")  # the two orders differ
    assert as_result(document).to_json() == as_analysed
    out = tmp_path / "r.json"
    assert run_cli("analyze", data, "--weight-to", hc, "--json", out, "--no-save").returncode == 0
    assert alignscan.analyze(data, weight_to=hc).to_json() == out.read_text("utf-8")
