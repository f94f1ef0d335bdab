"""The tests' integer-programming attacker, the part its models share: linear rows over
whole, non-negative unknowns, and the least value of an objective (HiGHS via scipy)."""

from __future__ import annotations

import itertools

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp


class IntegerModel:
    """Rows (terms, lower, upper) over `size` whole unknowns in [0, bound], and the
    published combinations of segment values a result's segment cells span."""

    def __init__(self, result: dict, group: str, per_atom: int) -> None:
        self.cols = list(dict.fromkeys(s["column"] for s in result["segments"]))
        values = [sorted({s["value"] for s in result["segments"] if s["column"] == c})
                  for c in self.cols]
        self.combos = list(itertools.product(*values))
        self.dims = [d["id"] for d in result["dimensions"]]
        self.n = result["groups"][group]["n"]
        self.size = len(self.combos) * per_atom
        self.rows: list[tuple[dict[int, float], float, float]] = []

    def matrix(self):
        data, ri, ci = [], [], []
        for r, (terms, _, _) in enumerate(self.rows):
            for c, v in terms.items():
                ri.append(r)
                ci.append(c)
                data.append(v)
        a = sparse.csr_matrix((data, (ri, ci)), shape=(len(self.rows), self.size))
        return a, np.array([r[1] for r in self.rows]), np.array([r[2] for r in self.rows])

    def minimise(self, cost: dict[int, float], bound: float) -> float:
        """The least value of sum(cost[v] * x[v]) over every whole solution."""
        a, lo, hi = self.matrix()
        c = np.zeros(self.size)
        for var, v in cost.items():
            c[var] = v
        res = milp(c, constraints=[LinearConstraint(a, lo, hi)],
                   integrality=np.ones(self.size), bounds=Bounds(0, bound))
        assert res.status == 0, res.message  # the truth is a solution
        return float(res.fun)

    def hidden_cells(self, result: dict, group: str, people) -> list[dict]:  # type: ignore[no-untyped-def]
        """Rows for the group's hidden segment cells (protective: at least the minimum;
        small: 0 .. min - 1, a cell of nobody is suppressed too); the shown cells back."""
        minimum = result["min_group_size"]
        protective = {(h["column"], h["value"]) for h in result["privacy"]["protective_hides"]
                      if h["group"] == group}
        shown = []
        for seg in result["segments"]:
            j = self.cols.index(seg["column"])
            inside = [a for a, c in enumerate(self.combos) if c[j] == seg["value"]]
            if "n" in seg["groups"][group]:
                shown.append({**seg, "inside": inside})
                continue
            big = (seg["column"], seg["value"]) in protective
            self.rows.append(({people(a): 1 for a in inside},
                              minimum if big else 0, np.inf if big else minimum - 1))
        return shown
