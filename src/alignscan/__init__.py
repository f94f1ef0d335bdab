"""alignscan: measure how far a company's executives and practitioners disagree.

    import alignscan
    result = alignscan.analyze("responses.csv")          # or a DataFrame, a file object
    result.to_frame("dimensions")                          # a tidy pandas table
    result.save("reports/acme")                            # result.json, result.csv, report.html

See docs/api.md for a walkthrough.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("alignscan")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from alignscan.api import (  # noqa: E402
    AlignscanError,
    Result,
    analyze,
    analyze_counts,
    count_table,
    load_result,
    load_survey,
    read_responses,
    trend,
)
from alignscan.models import (  # noqa: E402
    Dimension,
    Gap,
    GroupStats,
    Item,
    ResultDocument,
    Segment,
    Suppressed,
)
from alignscan.survey import Survey  # noqa: E402

__all__ = [
    "AlignscanError",
    "Dimension",
    "Gap",
    "GroupStats",
    "Item",
    "Result",
    "ResultDocument",
    "Segment",
    "Suppressed",
    "Survey",
    "__version__",
    "analyze",
    "analyze_counts",
    "count_table",
    "load_result",
    "load_survey",
    "read_responses",
    "trend",
]
