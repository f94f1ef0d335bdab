"""The disjoint-bases certificate of the subtraction audit (`privacy.disjoint_bases`)
against a brute force written here: whenever it says no set of fewer than m atoms is
derivable, no such set is in the row space (exact rank over the reals, numpy)."""

from __future__ import annotations

import itertools

import numpy as np

from alignscan.privacy import privacy


def design(rng: np.random.Generator):
    """Atoms of 1-3 segment columns of 2-3 values, the group total and most cells."""
    k = int(rng.integers(1, 4))
    values = rng.integers(2, 4, size=k)
    n = int(rng.integers(5, 40))
    atoms = np.unique(np.stack([rng.integers(0, v, size=n) for v in values], 1), axis=0)
    rows = [np.ones(len(atoms), dtype=np.int64)]
    for j in range(k):
        for v in range(values[j]):
            if rng.random() < 0.8:
                rows.append((atoms[:, j] == v).astype(np.int64))
    return np.stack(rows)


def small_derivable(sets: np.ndarray, below: int, weights=None) -> bool:  # type: ignore[no-untyped-def]
    """Brute force: a union of atoms weighing 1 .. below - 1 (each atom 1 without
    `weights`) whose indicator is in the row space."""
    rank = np.linalg.matrix_rank(sets)
    w = np.ones(sets.shape[1], dtype=np.int64) if weights is None else weights
    for size in range(1, below):
        for chosen in itertools.combinations(range(sets.shape[1]), size):
            if w[list(chosen)].sum() >= below:
                continue
            x = np.zeros(sets.shape[1])
            x[list(chosen)] = 1
            if np.linalg.matrix_rank(np.vstack([sets, x])) == rank:
                return True
    return False


def test_the_certificate_never_clears_a_derivable_small_set() -> None:
    rng = np.random.default_rng(11)
    cleared = checked = 0
    for _ in range(300):
        sets = design(rng)
        below = int(rng.integers(2, 6))
        if privacy.disjoint_bases(sets, below):
            cleared += 1
            assert not small_derivable(sets, below), sets
        checked += 1
    assert cleared >= 10  # it does clear designs (the check is not vacuous)


def test_the_weighted_certificate_never_clears_a_derivable_light_set() -> None:
    """Atoms of weight w may sit in w of the bases: a derivable set still weighs at least
    the number of bases."""
    rng = np.random.default_rng(12)
    cleared = 0
    for _ in range(300):
        sets = design(rng)
        weights = rng.integers(1, 4, size=sets.shape[1])
        below = int(rng.integers(2, 7))
        if privacy.disjoint_bases(sets, below, weights):
            cleared += 1
            assert not small_derivable(sets, below, weights), (sets, weights)
    assert cleared >= 10


def test_a_nested_design_is_not_cleared() -> None:
    """Column 1's value 0 sits inside column 2's value 0 but for one atom: a small set is
    derivable (the product's own search finds it), so the certificate must not clear it."""
    rng = np.random.default_rng(3)
    atoms = np.stack([rng.integers(0, 6, size=400), rng.integers(0, 6, size=400)], 1)
    atoms = np.unique(atoms, axis=0)
    x = atoms[:, 0] == 0
    atoms[x, 1] = 0
    atoms[np.flatnonzero(x)[0], 1] = 1  # the one atom of x outside b
    atoms = np.unique(atoms, axis=0)
    rows = [np.ones(len(atoms), dtype=np.int64)]
    rows += [(atoms[:, j] == v).astype(np.int64) for j in range(2) for v in range(6)]
    sets = np.stack(rows)
    assert not privacy.disjoint_bases(sets, 5)
    found = privacy.find_small_derivable(sets, np.ones(sets.shape[1], dtype=np.int64), 5)
    assert found is not None


def test_wide_uniform_atoms_are_cleared_quickly_enough_to_matter() -> None:
    """Six columns of ten values, 1,500 one-person atoms: cleared (no search, no MILP)."""
    rng = np.random.default_rng(5)
    atoms = np.stack([rng.integers(0, 10, size=1500) for _ in range(6)], 1)
    rows = [np.ones(1500, dtype=np.int64)]
    rows += [(atoms[:, j] == v).astype(np.int64) for j in range(6) for v in range(10)]
    assert privacy.disjoint_bases(np.stack(rows), 5)


def test_out_of_time_the_audit_hides_rather_than_publishes(monkeypatch) -> None:
    """Past its time budget the audit hides every segment cell it has not cleared, and
    the result says so in its warnings; within the budget the same data shows cells."""
    from types import SimpleNamespace

    from alignscan import limits
    from alignscan.analysis.analysis import analyze
    from conftest import make_responses, make_survey

    rng = np.random.default_rng(2)
    survey = make_survey(groups=("executive", "practitioner"), segments=("dept",))
    codes = rng.integers(1, 6, size=(120, len(survey.items)))
    groups = ["executive" if i % 3 == 0 else "practitioner" for i in range(120)]
    depts = [["A", "B", "C"][i % 3 if i % 2 else (i // 2) % 3] for i in range(120)]
    rs = make_responses(survey, codes, groups, {"dept": depts})
    shown = analyze(rs)
    assert shown["privacy"]["cells_hidden_protective"] == 0
    assert not any("time budget" in w for w in shown["warnings"])
    monkeypatch.setattr(limits, "AUDIT_SECONDS", SimpleNamespace(value=lambda: 0))
    result = analyze(rs)
    cells = [c for s in result["segments"] for c in s["groups"].values()]
    assert cells and all(c.get("suppressed") for c in cells)
    assert any("time budget" in w for w in result["warnings"])
