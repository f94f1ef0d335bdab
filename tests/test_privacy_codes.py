"""Answer codes of small crossings under the worst case, checked by an attacker written here.

Segment cells publish n, mean, sd and favorable share. With whole, non-negative counts
these are equations over the answers of each crossing (atom) of segment values:

    n = sum x,  n * mean = sum k x_k,  (n - 1) sd^2 + n mean^2 = sum k^2 x_k,
    n * favorable = sum (k favorable) x_k,

and with the group's answer counts per code they can pin "exactly one executive in IT at
site P answered Strongly disagree". The attacker (HiGHS through scipy `milp`) reads only
the result document: per group, every combination of published segment values is an
unknown atom with people p and, per single-item dimension, x[code] (no answer is
missing in this data, so sum x = p). A hidden cell listed as protective holds at least
the minimum, any other hidden cell 0 .. min - 1 (a cell of nobody is suppressed too).
For every real atom of 1 .. min - 1 people it asks for the least people and, if that is
not 0, the least count of each code the atom really answered: a positive least count, or people pinned, is a leak.
"""

from __future__ import annotations

import numpy as np
import pytest

from alignscan.analysis.analysis import analyze
from alignscan.privacy import privacy_int
from conftest import make_responses, make_survey
from milp_attack import IntegerModel

VALUES = {"dept": ["Legal", "HR", "IT"], "site": ["P", "Q", "R"], "tenure": ["new", "old"]}
K = 5


def crossed(seed: int, n: int, minimum: int, columns: int):
    """Like the outside attacker's generator: 40 % executives, uniform segment values and
    answers 1..5 on three single-item dimensions, nothing missing."""
    rng = np.random.default_rng(seed)
    cols = list(VALUES)[:columns]
    groups = ["executive" if rng.random() < 0.4 else "practitioner" for _ in range(n)]
    segs = {c: [VALUES[c][i] for i in rng.integers(len(VALUES[c]), size=n)] for c in cols}
    codes = rng.integers(1, K + 1, size=(n, 3)).astype(np.int8)
    survey = make_survey([[False], [False], [False]], groups=("executive", "practitioner"),
                         segments=tuple(cols), min_group_size=minimum)
    return make_responses(survey, codes, groups, segs), (groups, segs, codes)


class Attack(IntegerModel):
    """One group's integer program from the published figures only."""

    def __init__(self, result: dict, group: str) -> None:
        super().__init__(result, group, 1 + len(result["dimensions"]) * K)
        self._build(result, group)

    def p(self, a: int) -> int:
        return a

    def x(self, d: int, a: int, k: int) -> int:
        return len(self.combos) + (d * len(self.combos) + a) * K + (k - 1)

    def _build(self, result: dict, group: str) -> None:
        atoms = range(len(self.combos))
        self.rows.append(({self.p(a): 1 for a in atoms}, self.n, self.n))
        items = {i["dimension"]: i for i in result["items"]}
        for d, dim in enumerate(self.dims):
            for a in atoms:  # nothing missing: every person answers
                self.rows.append(({self.p(a): 1, **{self.x(d, a, k): -1 for k in range(1, K + 1)}},
                                  0, 0))
            for code, count in items[dim]["groups"][group]["counts"].items():
                self.rows.append(({self.x(d, a, int(code)): 1 for a in atoms}, count, count))
        for seg in self.hidden_cells(result, group, self.p):
            self._moments(self.dims.index(seg["dimension"]), seg["inside"],
                          seg["groups"][group], result)

    def _moments(self, d: int, inside: list[int], cell: dict, result: dict) -> None:
        n, fav = cell["n"], set(result["scale"]["favorable"])
        self.rows.append(({self.p(a): 1 for a in inside}, n, n))
        sums = []
        if cell.get("mean") is not None:
            sums.append((lambda k: k, cell["mean"] * n))
            if cell.get("sd") is not None:
                sums.append((lambda k: k * k, (n - 1) * cell["sd"] ** 2 + n * cell["mean"] ** 2))
        if cell.get("favorable") is not None:
            sums.append((lambda k: float(k in fav), cell["favorable"] * n))
        for code, count in (cell.get("counts") or {}).items():
            sums.append((lambda k, c=int(code): float(k == c), count))
        for weight, total in sums:
            terms = {self.x(d, a, k): weight(k) for a in inside for k in range(1, K + 1)}
            self.rows.append(({v: w for v, w in terms.items() if w}, round(total), round(total)))

    def least(self, var: int, sense: float = 1.0) -> int:
        return round(sense * self.minimise({var: sense}, self.n))


def attack(result: dict, truth) -> tuple[int, list[str]]:
    """(small atoms examined, leaks) over every shown group."""
    groups, segs, codes = truth
    atoms, leaks = 0, []
    for group, cell in result["groups"].items():
        if "n" not in cell:
            continue
        m = Attack(result, group)
        real = np.zeros(m.size)
        for i, g in enumerate(groups):
            if g == group:
                a = m.combos.index(tuple(segs[c][i] for c in m.cols))
                real[m.p(a)] += 1
                for d in range(len(m.dims)):
                    real[m.x(d, a, int(codes[i, d]))] += 1
        mat, lo, hi = m.matrix()
        got = mat @ real
        assert np.all(got >= lo - 1e-6) and np.all(got <= hi + 1e-6)  # the model is right
        minimum = result["min_group_size"]
        for a, combo in enumerate(m.combos):
            if not 0 < real[m.p(a)] < minimum:
                continue
            atoms += 1
            if m.least(m.p(a)) == 0:  # the atom may be empty: nothing of it is pinned
                continue
            if m.least(m.p(a), -1.0) == m.least(m.p(a)):
                leaks.append(f"{group} {combo}: people pinned")
            for d in range(len(m.dims)):
                for k in range(1, K + 1):
                    if real[m.x(d, a, k)] and m.least(m.x(d, a, k)) > 0:
                        leaks.append(f"{group} {combo} {m.dims[d]}={k}: count pinned >= 1")
    return atoms, leaks


# the outside attacker's repro (seed 3, 50 rows, min 5, 2 columns) and a few more
pytestmark = pytest.mark.heavy  # about ten seconds of integer programs

CASES = [(3, 50, 5, 2), (1, 30, 3, 2), (2, 80, 10, 2), (4, 40, 3, 3)]


def _analyze(rs, per_code: bool, monkeypatch) -> dict:
    monkeypatch.setattr(privacy_int, "PER_CODE", per_code)
    return analyze(rs)


@pytest.mark.parametrize(("seed", "n", "minimum", "columns"), CASES)
def test_attacker_pins_no_answer_code(seed, n, minimum, columns, monkeypatch) -> None:
    rs, truth = crossed(seed, n, minimum, columns)
    result = _analyze(rs, True, monkeypatch)
    atoms, leaks = attack(result, truth)
    assert atoms > 0  # there are small crossings to protect
    assert leaks == []


def test_without_the_per_code_audit_the_attacker_finds_leaks(monkeypatch) -> None:
    leaks = []
    for seed, n, minimum, columns in CASES:
        rs, truth = crossed(seed, n, minimum, columns)
        leaks += attack(_analyze(rs, False, monkeypatch), truth)[1]
    assert leaks
