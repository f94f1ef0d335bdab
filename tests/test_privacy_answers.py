"""Answer counts of small crossings in multi-item dimensions, checked by an attacker
written here (HiGHS through scipy `milp`), not by the product's algebra.

A segment cell of a dimension with k items publishes n, mean, sd and favorable share.
With nothing missing (k answers per respondent) these give, per cell, the favorable
answers F = share x k x n and the sum of the answers T = mean x k x n; the group's items
give the group's F and T exactly. The attacker's unknowns, per group and combination of
published segment values (it doesn't know which are empty): people p, and per dimension
F and T with F <= k p, T >= k p + 3 F and T <= 3 k p + 2 F (favorable = 4 or 5 of 5).
A hidden cell listed as protective holds at least the minimum, any other 0 .. min - 1.

For every real combination of 1 .. min - 1 people: its people must not be pinned, and
neither its favorable nor its other answers may have a positive least value
("someone in Legal at site P answered favorably on ROI"). The data concentrate rare
favorable answers in small crossings, where `privacy.answer_risk` must protect them;
with that check switched off the attacker must find such a leak.
"""

from __future__ import annotations

import numpy as np
import pytest

from alignscan.analysis.analysis import analyze
from alignscan.privacy import privacy
from conftest import make_responses, make_survey
from milp_attack import IntegerModel

VALUES = {"dept": ["Legal", "HR", "IT"], "site": ["P", "Q", "R"], "tenure": ["new", "old"],
          "band": ["junior", "senior"]}
K = 3  # items per dimension


def crossed(seed: int, n: int, minimum: int, columns: int, rare: float):
    """Executives (40 %) answer the first dimension favorably with probability `rare`,
    everything else uniformly; nothing missing."""
    rng = np.random.default_rng(seed)
    cols = list(VALUES)[:columns]
    groups = np.where(rng.random(n) < 0.4, "executive", "practitioner")
    segs = {c: [VALUES[c][i] for i in rng.integers(len(VALUES[c]), size=n)] for c in cols}
    codes = rng.integers(1, 6, size=(n, 2 * K)).astype(np.int8)
    execs = groups == "executive"
    low = rng.integers(1, 4, size=(int(execs.sum()), K))
    low[rng.random(low.shape) < rare] = 5
    codes[execs, :K] = low
    survey = make_survey([[False] * K, [False] * K], groups=("executive", "practitioner"),
                         segments=tuple(cols), min_group_size=minimum)
    return make_responses(survey, codes, list(groups), segs), (list(groups), segs, codes)


class Attack(IntegerModel):
    """One group's integer program from the published figures only."""

    def __init__(self, result: dict, group: str) -> None:
        super().__init__(result, group, 1 + 2 * len(result["dimensions"]))
        self._build(result, group)

    def p(self, a: int) -> int:
        return a

    def combo_of(self, raw: dict[str, str]) -> tuple[str, ...]:
        """The published combination of one respondent's values (a rare value pooled)."""
        out = []
        for j, c in enumerate(self.cols):
            names = {v[j] for v in self.combos}
            out.append(raw[c] if raw[c] in names else next(v for v in names if v.startswith("(")))
        return tuple(out)

    def f(self, d: int, a: int) -> int:
        return len(self.combos) * (1 + 2 * d) + a

    def t(self, d: int, a: int) -> int:
        return len(self.combos) * (2 + 2 * d) + a

    def _build(self, result: dict, group: str) -> None:
        atoms = range(len(self.combos))
        self.rows.append(({self.p(a): 1 for a in atoms}, self.n, self.n))
        for d in range(len(self.dims)):
            for a in atoms:
                self.rows.append(({self.f(d, a): 1, self.p(a): -K}, -np.inf, 0))
                self.rows.append(({self.t(d, a): 1, self.p(a): -K, self.f(d, a): -3}, 0, np.inf))
                self.rows.append(({self.t(d, a): 1, self.p(a): -3 * K, self.f(d, a): -2},
                                  -np.inf, 0))
            fav, total = 0, 0
            for item in result["items"]:
                if item["dimension"] == self.dims[d]:
                    counts = item["groups"][group]["counts"]
                    fav += sum(v for c, v in counts.items() if int(c) >= 4)
                    total += sum(int(c) * v for c, v in counts.items())
            self.rows.append(({self.f(d, a): 1 for a in atoms}, fav, fav))
            self.rows.append(({self.t(d, a): 1 for a in atoms}, total, total))
        for seg in self.hidden_cells(result, group, self.p):
            cell, inside = seg["groups"][group], seg["inside"]
            d, n = self.dims.index(seg["dimension"]), cell["n"]
            self.rows.append(({self.p(a): 1 for a in inside}, n, n))
            if cell.get("favorable") is not None:
                fav = round(cell["favorable"] * K * n)
                self.rows.append(({self.f(d, a): 1 for a in inside}, fav, fav))
            if cell.get("mean") is not None:
                total = round(cell["mean"] * K * n)
                self.rows.append(({self.t(d, a): 1 for a in inside}, total, total))

    def least(self, cost: dict[int, float]) -> float:
        return self.minimise(cost, 5 * K * self.n)


def attack(result: dict, truth) -> tuple[int, list[str]]:
    """(small atoms examined, leaks) over every shown group."""
    groups, segs, codes = truth
    atoms, leaks = 0, []
    minimum = result["min_group_size"]
    for group, cell in result["groups"].items():
        if "n" not in cell:
            continue
        m = Attack(result, group)
        real = np.zeros(m.size)
        for i, g in enumerate(groups):
            if g == group:
                a = m.combos.index(m.combo_of({c: segs[c][i] for c in m.cols}))
                real[m.p(a)] += 1
                for d in range(len(m.dims)):
                    mine = codes[i, d * K:(d + 1) * K]
                    real[m.f(d, a)] += int((mine >= 4).sum())
                    real[m.t(d, a)] += int(mine.sum())
        mat, lo, hi = m.matrix()
        got = mat @ real
        assert np.all(got >= lo - 1e-6) and np.all(got <= hi + 1e-6)  # the model is right
        for a, combo in enumerate(m.combos):
            if not 0 < real[m.p(a)] < minimum:
                continue
            atoms += 1
            if round(m.least({m.p(a): 1})) == 0:
                continue  # the atom may be empty: nothing of it is pinned
            if round(m.least({m.p(a): 1})) == -round(m.least({m.p(a): -1})):
                leaks.append(f"{group} {combo}: people pinned")
            for d in range(len(m.dims)):
                if real[m.f(d, a)] and round(m.least({m.f(d, a): 1})) > 0:
                    leaks.append(f"{group} {combo} {m.dims[d]}: favorable answers >= 1")
                other = K * real[m.p(a)] - real[m.f(d, a)]
                if other and round(m.least({m.p(a): K, m.f(d, a): -1})) > 0:
                    leaks.append(f"{group} {combo} {m.dims[d]}: other answers >= 1")
    return atoms, leaks


pytestmark = pytest.mark.heavy  # integer programs: seconds

# (seed, rows, minimum, columns, share of favorable answers among executives on dim 1)
CASES = [(1, 60, 5, 2, 0.03), (2, 40, 3, 2, 0.05), (3, 90, 10, 2, 0.02), (4, 50, 3, 3, 0.04),
         (5, 70, 5, 2, 0.0), (6, 60, 5, 3, 0.03), (8, 80, 3, 4, 0.04)]


@pytest.mark.parametrize(("seed", "n", "minimum", "columns", "rare"), CASES)
def test_attacker_pins_no_answer_count_of_a_small_crossing(seed, n, minimum, columns, rare):
    rs, truth = crossed(seed, n, minimum, columns, rare)
    result = analyze(rs)
    atoms, leaks = attack(result, truth)
    assert atoms > 0  # there are small crossings to protect
    assert leaks == []


def test_without_the_answer_risk_check_the_attacker_finds_leaks(monkeypatch) -> None:
    monkeypatch.setattr(privacy, "answer_risk",
                        lambda ga, margins, minimum: np.zeros(len(ga.head), dtype=bool))
    leaks = []
    for case in CASES:  # until one leaks
        rs, truth = crossed(*case)
        leaks += attack(analyze(rs), truth)[1]
        if leaks:
            break
    assert leaks


def test_wide_segments_with_no_small_cell_hide_nothing(tmp_path) -> None:
    """Six columns of ten equally likely values over 1,500 respondents: every crossing is
    small, no cell is; the five-item dimensions' cells pin no answer, so nothing is hidden."""
    from alignscan.responses import read_responses
    from alignscan.survey import load_survey
    from alignscan.synthetic import generate_responses

    survey = load_survey()
    frame = generate_responses(survey, 1500, seed=1)
    rng = np.random.default_rng(7)
    names = [f"s{j}" for j in range(6)]
    for name in names:
        frame[name] = np.char.add("v", rng.integers(0, 10, size=1500).astype(str))
    frame.to_csv(tmp_path / "wide.csv", index=False)
    rs = read_responses(tmp_path / "wide.csv", survey.model_copy(update={"segments": names}))
    result = analyze(rs)
    assert result["privacy"]["cells_hidden_small"] == 0
    assert result["privacy"]["cells_hidden_protective"] == 0
    assert len(result["segments"]) == 6 * 10 * len(survey.dimensions)
