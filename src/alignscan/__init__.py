"""alignscan: measure how far a company's executives and practitioners disagree.

    import alignscan
    result = alignscan.analyze("responses.csv")          # or a DataFrame, a file object
    result.to_frame("dimensions")                          # a tidy pandas table
    result.save("reports/acme")                            # result.json, result.csv, report.html

See docs/api.md for a walkthrough.
"""

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alignscan.api import (
        Result,
        Trend,
        analyze,
        analyze_counts,
        count_table,
        load_result,
        load_survey,
        read_responses,
        trend,
    )
    from alignscan.errors import AlignscanError, OptionError
    from alignscan.result.models import (
        Dimension,
        Gap,
        GroupStats,
        Item,
        ResultDocument,
        Segment,
        Suppressed,
    )
    from alignscan.survey import Survey

    __version__: str

# Loaded on first use (PEP 562): the command line starts reading a file before pandas,
# pydantic's models and scipy have loaded.
_HOMES = {
    "AlignscanError": "alignscan.errors",
    "OptionError": "alignscan.errors",
    **dict.fromkeys(
        ["Result", "Trend", "analyze", "analyze_counts", "count_table", "load_result",
         "load_survey", "read_responses", "trend"],
        "alignscan.api",
    ),
    **dict.fromkeys(
        ["Dimension", "Gap", "GroupStats", "Item", "ResultDocument", "Segment", "Suppressed"],
        "alignscan.result.models",
    ),
    "Survey": "alignscan.survey",
}
_SUBMODULES = ("api", "errors", "models", "survey")

# Modules the README and docs/ name at the home they had before the layout of issue #27:
# importing the old name gives the very same module object (so a test's monkeypatch of
# one is a monkeypatch of the other).
MOVED = {
    "alignscan.counts": "alignscan.counting.counts",
    "alignscan.counts_sql": "alignscan.counting.engines.duckdb_sql",
    "alignscan.engines": "alignscan.counting.engines",
    "alignscan.models": "alignscan.result.models",
    "alignscan.spark": "alignscan.counting.engines.spark_sql",
}


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds a moved module's old name; loading it puts the new module under that name."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(name, self)

    def create_module(self, spec: Any) -> None:
        return None  # a placeholder, replaced in sys.modules by exec_module

    def exec_module(self, module: ModuleType) -> None:
        sys.modules[module.__name__] = importlib.import_module(MOVED[module.__name__])


if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
    sys.meta_path.append(_MovedFinder())


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from alignscan._version import version

        value: Any = version()
    elif name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
    elif name in _SUBMODULES:  # loaded with the package before it loaded lazily
        value = importlib.import_module(f"alignscan.{name}")
    else:
        raise AttributeError(f"module 'alignscan' has no attribute {name!r}")
    globals()[name] = value  # once found, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "AlignscanError",
    "Dimension",
    "Gap",
    "GroupStats",
    "Item",
    "OptionError",
    "Result",
    "ResultDocument",
    "Segment",
    "Suppressed",
    "Survey",
    "Trend",
    "__version__",
    "analyze",
    "analyze_counts",
    "count_table",
    "load_result",
    "load_survey",
    "read_responses",
    "trend",
]
