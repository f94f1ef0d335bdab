"""Anonymity under integer reasoning (issue 26), checked by an attacker written here.

The attacker reads only the published result document. Per shown group it takes every
combination of the published segment values as an unknown atom (it does not know which
are empty) and writes the published figures as linear equations over non-negative
integers: per atom, people p, and per dimension the scored people s, their answers A,
favorable answers f, answers per code x_c and the score sum S (in units of 1/L):

    s <= p,  ceil(k/2) s <= A <= k s,  sum_c x_c = A,  sum_(c favorable) x_c = f,
    L*start*s <= S <= L*end*s;

per published cell: sum s = n, sum S = mean * n * L, sum x_c = counts[c] (where shown),
and favorable = num/den gives den * sum f - num * sum A = 0. It then asks HiGHS (scipy
`milp`) for the lower and upper bound of each atom's people and answer counts. It knows
the raw data only to judge what it finds: an atom of 1 .. min - 1 people whose people
are pinned, or whose positive answer count (per code, or favorable) is pinned, is a leak.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from alignscan.analysis.analysis import analyze
from alignscan.privacy import privacy_int
from conftest import make_responses, make_survey

DIMS = [[False, False], [False, False, False]]


class Model:
    """One group's unknowns (by name) and constraints, built up row by row."""

    def __init__(self) -> None:
        self.names: dict[tuple, int] = {}
        self.rows: list[tuple[dict[int, float], float, float]] = []
        self.upper: list[float] = []

    def var(self, key: tuple, upper: float) -> int:
        if key not in self.names:
            self.names[key] = len(self.upper)
            self.upper.append(upper)
        return self.names[key]

    def add(self, terms: dict[int, float], lo: float, hi: float) -> None:
        self.rows.append((terms, lo, hi))

    def bound(self, var: int, sense: float, push: list[int] | None = None) -> np.ndarray | None:
        n = len(self.upper)
        data, ri, ci, lo, hi = [], [], [], [], []
        for r, (terms, a, b) in enumerate(self.rows):
            for c, v in terms.items():
                ri.append(r)
                ci.append(c)
                data.append(v)
            lo.append(a)
            hi.append(b)
        a_mat = sparse.csr_matrix((data, (ri, ci)), shape=(len(self.rows), n))
        cost = np.zeros(n)
        for v in push if push is not None else [var]:
            cost[v] = sense
        res = milp(
            cost,
            constraints=[LinearConstraint(a_mat, lo, hi)],
            integrality=np.ones(n),
            bounds=Bounds(np.zeros(n), np.asarray(self.upper)),
        )
        assert res.status == 0, res.message  # the truth is always a solution
        return np.round(res.x)


def _ratio(share: float, most: int) -> Fraction:
    return Fraction(share).limit_denominator(max(most, 1))


def attacker_model(result: dict, group: str, columns: list[str]):
    """The attacker's integer program for one group, from the published figures only."""
    values = {c: sorted({s["value"] for s in result["segments"] if s["column"] == c})
              for c in columns}
    combos = list(itertools.product(*(values[c] for c in columns)))
    scale = result["scale"]
    start, points = scale["start"], scale["points"]
    favorable = set(scale["favorable"])
    n_total = result["groups"][group]["n"]
    m = Model()
    for a in combos:
        p = m.var(("p", a), n_total)
        for dim in result["dimensions"]:
            d, k = dim["id"], len(dim["items"])
            s = m.var(("s", d, a), n_total)
            big = k * n_total
            ans = m.var(("A", d, a), big)
            fav = m.var(("f", d, a), big)
            lo_k = math.ceil(k / 2)
            lcm = math.lcm(*range(lo_k, k + 1))
            score = m.var(("S", d, a), lcm * (start + points - 1) * n_total)
            xs = [m.var(("x", d, c, a), big) for c in range(start, start + points)]
            m.add({s: 1, p: -1}, -np.inf, 0)
            m.add({ans: 1, s: -lo_k}, 0, np.inf)
            m.add({ans: 1, s: -k}, -np.inf, 0)
            m.add({**{x: 1 for x in xs}, ans: -1}, 0, 0)
            fav_x = {xs[c - start]: 1 for c in favorable}
            m.add({**fav_x, fav: -1}, 0, 0)
            m.add({score: 1, s: -lcm * start}, 0, np.inf)
            m.add({score: 1, s: -lcm * (start + points - 1)}, -np.inf, 0)
    m.add({m.names[("p", a)]: 1 for a in combos}, n_total, n_total)
    for dim in result["dimensions"]:
        cell = dim["groups"][group]
        _cell_equations(m, dim, cell, combos, start, points)
    for seg in result["segments"]:
        cell = seg["groups"][group]
        col = columns.index(seg["column"])
        inside = [a for a in combos if a[col] == seg["value"]]
        dim = next(d for d in result["dimensions"] if d["id"] == seg["dimension"])
        _cell_equations(m, dim, cell, inside, start, points)
    return m, combos


def _cell_equations(m: Model, dim: dict, cell: dict, atoms: list, start: int, points: int):
    if "n" not in cell:
        return
    d, k = dim["id"], len(dim["items"])
    lcm = math.lcm(*range(math.ceil(k / 2), k + 1))
    n = cell["n"]
    m.add({m.names[("s", d, a)]: 1 for a in atoms}, n, n)
    if cell.get("mean") is not None:
        total = round(cell["mean"] * n * lcm)
        m.add({m.names[("S", d, a)]: 1 for a in atoms}, total, total)
    if cell.get("counts") is not None:
        for code, count in cell["counts"].items():
            m.add({m.names[("x", d, int(code), a)]: 1 for a in atoms}, count, count)
    if cell.get("favorable") is not None:
        r = _ratio(cell["favorable"], k * n)
        terms = {m.names[("f", d, a)]: r.denominator for a in atoms}
        for a in atoms:
            terms[m.names[("A", d, a)]] = -r.numerator
        m.add(terms, 0, 0)


def truth(data: dict, result: dict, group: str, columns: list[str]) -> dict[tuple, int]:
    """The real value of each unknown (for judging only): people, scored, answers."""
    out: dict[tuple, int] = {}
    scale = result["scale"]
    codes, groups = data["codes"], data["groups"]
    col = 0
    for i in range(len(groups)):
        if groups[i] != group:
            continue
        a = tuple(data["segments"][c][i] for c in columns)
        out[("p", a)] = out.get(("p", a), 0) + 1
        col = 0
        for dim in result["dimensions"]:
            k = len(dim["items"])
            answers = codes[i, col : col + k]
            col += k
            given = answers[answers > 0]
            if len(given) < math.ceil(k / 2):
                continue
            key = dim["id"]
            out[("s", key, a)] = out.get(("s", key, a), 0) + 1
            fav = int(np.isin(given, scale["favorable"]).sum())
            out[("f", key, a)] = out.get(("f", key, a), 0) + fav
            for c in given:
                out[("x", key, int(c), a)] = out.get(("x", key, int(c), a), 0) + 1
    return out


def attack(result: dict, data: dict, minimum: int) -> list[str]:
    """Every leak the attacker finds: small atoms with their people or a positive answer
    count pinned (lower bound = upper bound)."""
    columns = list(data["segments"])
    found = []
    for group, cell in result["groups"].items():
        if "n" not in cell:
            continue
        real = truth(data, result, group, columns)
        m, combos = attacker_model(result, group, columns)
        watch = []
        for a in combos:
            if 0 < real.get(("p", a), 0) < minimum:
                watch.append(("p", a))
                watch += [k for k, v in real.items() if k[-1] == a and k[0] in "fx" and v > 0]
        watch_vars = [m.names[k] for k in watch]
        settled = set()
        for sense in (1.0, -1.0):  # two far-apart solutions settle most bounds at once
            x = m.bound(0, sense, push=watch_vars)
            settled |= {k for k, v in zip(watch, watch_vars, strict=True) if x[v] != real[k]}
        for key, var in zip(watch, watch_vars, strict=True):
            if key in settled:
                continue
            lo, hi = m.bound(var, 1.0)[var], m.bound(var, -1.0)[var]
            if lo == hi:
                found.append(f"{group} {key}: pinned at {int(lo)} (true {real[key]})")
    return found


# ----------------------------------------------------------------------------- data


def crossed(seed: int, minimum: int, columns: int, large: bool = False):
    """Two groups over `columns` crossed segment columns of 2 values each; every
    crossing holds 1 .. minimum - 1 people of each group (or minimum .. 2 minimum with
    `large`), every segment value at least `minimum` people in all (nothing pooled)."""
    rng = np.random.default_rng(seed)
    names = [f"c{j}" for j in range(columns)]
    groups, segs = [], {c: [] for c in names}
    for group in ("executive", "practitioner"):
        for combo in itertools.product("PQ", repeat=columns):
            lo, hi = (minimum, 2 * minimum) if large else (0 if columns > 2 else 1, minimum - 1)
            size = int(rng.integers(lo, hi + 1))
            groups += [group] * size
            for c, v in zip(names, combo, strict=True):
                segs[c] += [f"{c}{v}"] * size
    n = len(groups)
    codes = rng.integers(1, 6, size=(n, 5)).astype(np.int8)
    codes[rng.random((n, 5)) < 0.1] = 0
    skew = rng.random(n) < 0.5  # some people answer only the low codes
    codes[skew] = np.where(codes[skew] > 0, np.minimum(codes[skew], 2), 0)
    survey = make_survey(DIMS, groups=("executive", "practitioner"), segments=tuple(names),
                         min_group_size=minimum)
    rs = make_responses(survey, codes, groups, segs)
    return rs, {"codes": codes, "groups": groups, "segments": segs}


def _analyze(rs, enabled: bool, monkeypatch) -> dict:
    monkeypatch.setattr(privacy_int, "ENABLED", enabled)
    monkeypatch.setattr(privacy_int, "PER_CODE", enabled)  # off: as before issue 26
    return analyze(rs)


CASES = [(seed, minimum, cols) for seed, (minimum, cols) in
         enumerate([(3, 2), (5, 2), (5, 3), (10, 2), (3, 3), (5, 4)])]


@pytest.mark.parametrize(("seed", "minimum", "columns"), CASES)
def test_integer_attacker_finds_nothing(seed, minimum, columns, monkeypatch) -> None:
    rs, data = crossed(seed, minimum, columns)
    result = _analyze(rs, True, monkeypatch)
    assert attack(result, data, minimum) == []
    hides = result["privacy"]["protective_hides"]
    assert len(hides) == result["privacy"]["cells_hidden_protective"]
    for h in hides:  # each names the cell and the small group it protects
        assert h["column"] in data["segments"] and h["group"] in result["groups"]
        assert "segments" not in h["protects"]  # never the small combination itself
        assert h["protects"]["group"] == h["group"] and h["protects"]["reason"]


def test_without_the_integer_audit_the_attacker_finds_leaks(monkeypatch) -> None:
    leaks = []
    for seed, minimum, columns in CASES:
        rs, data = crossed(seed, minimum, columns)
        leaks += attack(_analyze(rs, False, monkeypatch), data, minimum)
    assert leaks


@pytest.mark.parametrize("columns", [2, 3])
def test_large_crossings_are_published_and_nothing_is_hidden(columns, monkeypatch) -> None:
    rs, data = crossed(40 + columns, 5, columns, large=True)
    result = _analyze(rs, True, monkeypatch)
    assert result["privacy"]["cells_hidden_small"] == 0
    assert result["privacy"]["cells_hidden_protective"] == 0
    assert result["privacy"]["protective_hides"] == []
    assert all("n" in c for s in result["segments"] for c in s["groups"].values())
    assert attack(result, data, 5) == []


# ----------------------------------------------------------------------------- issue 26 cases


def _two_by_two():
    """Issue 26: department x site, practitioners 3, 3, 3 and 2 in the four crossings
    (every segment value at least 5 people), executives 6 per crossing."""
    rng = np.random.default_rng(26)
    groups, dept, site = [], [], []
    for group, sizes in (("practitioner", (3, 3, 3, 2)), ("executive", (6, 6, 6, 6))):
        for (d, s), size in zip(itertools.product(("Legal", "Finance"), ("P", "Q")), sizes,
                                strict=True):
            groups += [group] * size
            dept += [d] * size
            site += [s] * size
    codes = rng.integers(1, 6, size=(len(groups), 5)).astype(np.int8)
    survey = make_survey(DIMS, groups=("executive", "practitioner"),
                         segments=("department", "site"))
    segs = {"department": dept, "site": site}
    return make_responses(survey, codes, groups, segs), {
        "codes": codes, "groups": groups, "segments": segs}


def test_the_two_by_two_crossing_of_3_3_3_2(monkeypatch) -> None:
    """Before: per-code counts of each segment cell and the group totals pinned every
    crossing (all 11 practitioners' answers). Now: nothing pinned, cells still shown."""
    rs, data = _two_by_two()
    before = attack(_analyze(rs, False, monkeypatch), data, 5)
    assert any(leak.startswith("practitioner") for leak in before)
    result = _analyze(rs, True, monkeypatch)
    assert attack(result, data, 5) == []
    shown = [c for s in result["segments"] for c in s["groups"].values() if "n" in c]
    assert shown and all(c["counts"] is None for c in shown)


def _ratio_leak_data():
    """One dimension of 3 items; 2 practitioners answered one of its items only (no
    score), so the pooled counts are withheld for practitioners."""
    rng = np.random.default_rng(3)
    survey = make_survey([[False, False, False]], groups=("executive", "practitioner"),
                         segments=())
    n_exec, n_prac = 12, 14
    codes = rng.integers(1, 6, size=(n_exec + n_prac, 3)).astype(np.int8)
    codes[-2:, 1:] = 0  # two practitioners: one answer each
    groups = ["executive"] * n_exec + ["practitioner"] * n_prac
    return make_responses(survey, codes, groups), codes


def _unscored_answers_pinned(result: dict, points: int = 5) -> bool:
    """The attacker's integer program: the items' counts give all answers F_items / A_items;
    the dimension's favorable share gives F / A of the scored; the unscored answered
    A_u = A_items - A with F_u favorable, at most one answer each (3 items, a score
    needs 2). Pinned when A_u (or F_u) has one value."""
    dim = result["dimensions"][0]
    cell = dim["groups"]["practitioner"]
    if cell.get("favorable") is None:
        return False
    fav_codes = {str(c) for c in result["scale"]["favorable"]}
    a_items = f_items = 0
    for item in result["items"]:
        counts = item["groups"]["practitioner"]["counts"]
        a_items += sum(counts.values())
        f_items += sum(v for c, v in counts.items() if c in fav_codes)
    r = _ratio(cell["favorable"], 3 * cell["n"])
    unscored = result["groups"]["practitioner"]["n"] - cell["n"]  # each answered <= 1 item
    # unknowns: A_u, F_u;  den * (f_items - F_u) = num * (a_items - A_u),  0 <= F_u <= A_u
    eq = LinearConstraint([[r.numerator, -r.denominator]],
                          r.numerator * a_items - r.denominator * f_items,
                          r.numerator * a_items - r.denominator * f_items)
    order = LinearConstraint([[-1, 1]], -np.inf, 0)
    bounds = []
    for var in (0, 1):
        for sense in (1, -1):
            cost = np.zeros(2)
            cost[var] = sense
            res = milp(cost, constraints=[eq, order], integrality=np.ones(2),
                       bounds=Bounds([0, 0], [unscored, unscored]))
            bounds.append(round(res.x[var]))
    return bounds[0] == bounds[1] or bounds[2] == bounds[3]


def test_the_ratio_leak_is_closed(monkeypatch) -> None:
    """Issue 26: with a dimension's pooled counts withheld, its favorable share (and its
    standard error) gave an integer equation that pinned the withheld answers."""
    rs, _ = _ratio_leak_data()
    before = _analyze(rs, False, monkeypatch)
    assert before["dimensions"][0]["groups"]["practitioner"]["counts"] is None
    assert _unscored_answers_pinned(before)
    after = _analyze(rs, True, monkeypatch)
    cell = after["dimensions"][0]["groups"]["practitioner"]
    assert cell["counts"] is None and cell["favorable"] is None
    assert cell.get("favorable_se") is None
    assert after["dimensions"][0]["gap"]["favorable"] is None
    assert after["dimensions"][0]["gap"]["favorable_ci"] is None
    assert cell["n"] >= 5 and cell["mean"] is not None  # the rest is still published
    assert not _unscored_answers_pinned(after)
