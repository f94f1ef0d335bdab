"""The module structure: the layers declared for import-linter in pyproject.toml are kept
(`make lint` runs `lint-imports` too), and no module imports itself back through others
(no import cycle anywhere, checked independently of the declared layers)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_declared_layers_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlinter.cli import lint_imports

    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def _cycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(imports):
        if start in index:
            continue
        work = [(start, iter(sorted(imports[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(imports.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_modules() -> None:
    """Every import counts, inside functions too (only `if TYPE_CHECKING:` ones don't):
    a cycle hidden in a function is still a cycle."""
    import grimp

    graph = grimp.build_graph("alignscan", exclude_type_checking_imports=True)
    imports = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    imports["alignscan"] = set()  # the package root only names its members lazily
    assert _cycles(imports) == []


def test_the_old_homes_the_docs_name_are_the_same_modules() -> None:
    """`alignscan.engines`, `alignscan.spark` and `alignscan.models` (their homes before the
    packages) give the very module of the new home, so a monkeypatch of one is a
    monkeypatch of the other; a name that never was a module is still not found."""
    import importlib
    import sys

    import alignscan

    for old, new in alignscan.MOVED.items():
        module = importlib.import_module(old)
        assert module is importlib.import_module(new) is sys.modules[old]
        assert module.__name__ == new and module.__spec__.name == new
    from alignscan.engines import count_file

    from alignscan.counting.engines import count_file as home

    assert count_file is home
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("alignscan.no_such_module")


def test_the_trend_function_keeps_its_name_when_the_trend_module_loads() -> None:
    import importlib

    import alignscan

    importlib.import_module("alignscan.extras.trend")
    assert alignscan.trend is importlib.import_module("alignscan.api").trend


def test_the_code_imports_moved_modules_from_their_new_homes() -> None:
    """The old names are for users: inside alignscan (and its tests) an import by an old
    name would hide its types from mypy, which can't follow the alias."""
    import ast

    import alignscan

    old = set(alignscan.MOVED)
    found = []
    for folder in ("src", "tests", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "test_architecture.py":  # imports the old names on purpose
                continue
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                found += [f"{path.name}:{node.lineno} {n}" for n in names if n in old]
    assert found == []
