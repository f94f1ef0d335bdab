"""One pipeline for the analysis: read and count, analyse, attach the extras
(participation, benchmarks), leave comment texts out if asked, compare with a baseline
wave, and return the result with its warnings.

`alignscan analyze` (the command line), `alignscan.analyze` (the library) and the demo
all call `run` with a typed, validated `AnalysisRequest`. They differ only at the
edges, passed in as an `Edge`: how a file is read and what happens to input that can't
be used (the command line shows a progress bar and the problems and exits; the
library raises `AlignscanError`). Nothing here prints or writes a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alignscan.errors import AlignscanError, OptionError
from alignscan.survey import Survey

if TYPE_CHECKING:
    from alignscan.counting.counts import CountTable
    from alignscan.responses import CellError
    from alignscan.result.models import ResultDocument, TrendDocument

__all__ = [
    "AnalysisRequest",
    "Edge",
    "HeadcountError",
    "MissingFile",
    "Outcome",
    "ReaderOptions",
    "request_from_options",
    "run",
    "without_comment_texts",
]

BASELINE_LABELS = ("baseline", "this wave")


class ReaderOptions(BaseModel):
    """How to read a responses file (`read_responses`'s options); None: detected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lenient: bool = False  # invalid cells count as not answered; unplaceable rows excluded
    delimiter: str | None = Field(default=None, min_length=1, max_length=1)
    sheet: str | None = None
    header_rows: int | None = Field(default=None, ge=1)
    header_row: int | None = Field(default=None, ge=1)
    encoding: str | None = None
    block_rows: int | None = Field(default=None, ge=1)  # rows per block (default engine)

    def kwargs(self) -> dict[str, Any]:
        """The options given, as the readers' keyword arguments (None: the reader's default)."""
        return self.model_dump(exclude_none=True)


class AnalysisRequest(BaseModel):
    """Everything one analysis needs, validated once (frozen: `model_copy` to change).

    `source` is a path, a file object, a DataFrame, a ResponseSet or a count table;
    `baseline` an earlier wave (a saved result.json or responses; what the edge reads)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    source: Any
    survey: Survey | None = None  # None: the built-in survey (or the count table's)
    engine: Literal["default", "duckdb", "spark"] = "default"
    reader: ReaderOptions = ReaderOptions()
    headcount: Path | None = None  # CSV of the population per group: participation
    norms: Path | None = None  # a norms.json: benchmarks
    baseline: Any = None
    weight_to: Path | None = None  # CSV of headcounts: each compared group weighted to it
    trim_weights: bool = False  # with weight_to: weights capped at 5x the group's mean
    comments: bool = True  # False: comment texts left out (their counts stay)
    report_date: str | None = None
    labels: tuple[str, str] = BASELINE_LABELS

    @field_validator("report_date")
    @classmethod
    def _date_given(cls, value: str | None) -> str | None:
        return value or None


OPTION_NAMES = tuple(
    sorted(
        {*ReaderOptions.model_fields, *AnalysisRequest.model_fields} - {"source", "reader"}
    )
)


def request_from_options(source: Any, **options: Any) -> AnalysisRequest:
    """An AnalysisRequest from keyword options (the library's `analyze(data, **options)`):
    reading options and request options side by side. An unknown option or a value an
    option can't take raises OptionError naming the valid options."""
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        names = ", ".join(repr(n) for n in unknown)
        raise OptionError(
            f"unknown option{'s' if len(unknown) > 1 else ''} {names}; "
            f"valid options: {', '.join(OPTION_NAMES)}",
            hint=_nearest(unknown[0]),
        )
    reading = {k: options.pop(k) for k in list(options) if k in ReaderOptions.model_fields}
    try:
        return AnalysisRequest(source=source, reader=ReaderOptions(**reading), **options)
    except ValidationError as exc:
        raise OptionError(_validation_message(exc)) from None


def _nearest(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, OPTION_NAMES, n=1)
    return f"did you mean {close[0]!r}?" if close else ""


def _validation_message(exc: ValidationError) -> str:
    """The first problem of a ValidationError as one line: option, value, reason."""
    error = exc.errors()[0]
    name = ".".join(str(p) for p in error["loc"]) or "options"
    return f"option {name}={error.get('input')!r}: {error['msg'].lower()}"


class MissingFile(AlignscanError):
    """A file named by an option is not there (a usage error)."""

    code = "file_missing"
    exit_code = 2


class HeadcountError(AlignscanError):
    """The headcount file has problems; `errors` lists every one (row, column, reason)."""

    code = "headcount_invalid"

    def __init__(self, path: Path, errors: list[CellError]):
        super().__init__(f"{path}: {len(errors)} problem(s); nothing was written")
        self.errors = errors


class Edge(Protocol):
    """Where the pipeline meets the outside world (see the module docstring)."""

    def count(self, request: AnalysisRequest) -> CountTable:
        """The source read, validated and counted with the request's engine."""

    def refuse_invalid(self, table: CountTable) -> None:
        """Stop when the responses have invalid cells (lenient reading has none)."""

    def baseline(self, request: AnalysisRequest) -> tuple[dict[str, Any], Any]:
        """The baseline wave's result document and respondent ids (None without ids)."""

    def cells(self, request: AnalysisRequest, survey: Survey, columns: list[str]) -> Any:
        """The weighting cells' counts of the source (`weighting.count_cells`)."""


@dataclass(frozen=True)
class Outcome:
    """What `run` returns: the result document (with its trend and report date, as
    result.json holds them), the trend on its own (None without a baseline) and the
    count table it was computed from (its `responses` hold the reading's metadata)."""

    result: ResultDocument
    trend: TrendDocument | None
    table: CountTable

    @property
    def warnings(self) -> list[str]:
        """Every warning of the result and of its trend, each once."""
        trend = self.trend.warnings if self.trend is not None else []
        return list(dict.fromkeys([*self.result.warnings, *trend]))

    def model(self) -> ResultDocument:
        """The result as the typed document (`alignscan.result.models.ResultDocument`)."""
        return self.result


def run(request: AnalysisRequest, edge: Edge) -> Outcome:
    """The analysis as asked: AlignscanError (or the edge's own exit) for input it can't
    use, before anything is written."""
    from alignscan.render.html import with_report_extras
    from alignscan.result.models import as_result

    table = edge.count(request)
    edge.refuse_invalid(table)
    survey = _survey(table, request.survey)
    result = as_result(_analyse(table, survey, _weighting(table, survey, request, edge)))
    if request.headcount is not None:
        result = _with_participation(result, table, request.headcount)
    if request.norms is not None:
        result = _with_benchmarks(result, request.norms)
    if not request.comments:
        result = without_comment_texts(result)
    trend = None
    if request.baseline is not None:
        trend = _baseline_trend(result, table, request, edge)
    result = with_report_extras(result, trend, request.report_date)
    return Outcome(result, trend, table)


def _survey(table: CountTable, survey: Survey | None) -> Survey:
    """The survey of the analysis: the one the responses were read with, else the
    request's, else the built-in one."""
    if table.responses is not None:
        return table.responses.survey
    if survey is not None:
        return survey
    from alignscan.survey import load_survey

    return load_survey()


def _weighting(
    table: CountTable, survey: Survey, request: AnalysisRequest, edge: Edge
) -> Any:
    """The weighting asked for (`weight_to`, else the survey's `weights:`), or None;
    WeightingError names every problem of the headcount file."""
    path, trim = request.weight_to, request.trim_weights
    if path is None and survey.weights is not None:
        path, trim = Path(survey.weights.headcount), trim or survey.weights.trim
    if path is None:
        return None
    if not path.exists():
        raise MissingFile(f"no such file: {path}")
    from alignscan.extras.weighting import Weighting
    from alignscan.extras.weighting_targets import read_targets

    values = {c: sorted({str(v) for v in table.atoms[c]}) for c in survey.segments}
    targets = read_targets(path, survey, values)
    return Weighting(targets, edge.cells(request, survey, targets.columns()), bool(trim))


def _analyse(table: CountTable, survey: Survey, weighting: Any) -> dict[str, Any]:
    """The gap analysis; a table read from responses brings its own survey."""
    from alignscan.analysis.analysis import analyze_counts

    given = None if table.responses is not None else survey
    return analyze_counts(table, given, weighting=weighting)


def _with_participation(result: ResultDocument, table: CountTable, path: Path) -> ResultDocument:
    """Participation rates from the headcount file (`--headcount`)."""
    from alignscan.extras.participation import participation, read_headcount

    if not path.exists():
        raise MissingFile(f"no such file: {path}")
    headcount = read_headcount(path, table)
    if not headcount.ok:
        raise HeadcountError(path, headcount.errors)
    hidden_groups, hidden = _hidden_cells(result)
    return result.updated(
        participation=participation(table, headcount.table(), hidden_groups, hidden)
    )


def _hidden_cells(result: ResultDocument) -> tuple[set[str], set[tuple[str, str, str]]]:
    """What the analysis hides: groups, and (column, value, group) segment cells."""
    from alignscan.result.models import Suppressed

    groups = {g for g, c in result.groups.items() if isinstance(c, Suppressed)}
    cells = {
        (s.column, s.value, g)
        for s in result.segments
        for g, c in s.groups.items()
        if isinstance(c, Suppressed)
    }
    return groups, cells


def _with_benchmarks(result: ResultDocument, path: Path) -> ResultDocument:
    """Benchmarks from a norms file (`--norms`); NormsError says why they can't be added."""
    from alignscan.extras.norms import NormsError, add_benchmarks, load_norms

    if not path.exists():
        raise MissingFile(f"no such file: {path}")
    norms = load_norms(path)
    try:
        return add_benchmarks(result, norms)
    except NormsError as exc:
        raise NormsError([f"{path}: {'; '.join(exc.problems)}"]) from None


def _baseline_trend(
    result: ResultDocument, table: CountTable, request: AnalysisRequest, edge: Edge
) -> TrendDocument:
    """The trend from the baseline wave to this one (its warnings included)."""
    from alignscan.extras.trend import TrendError, shared_ids, trend
    from alignscan.result.models import as_trend

    before, before_ids = edge.baseline(request)
    ids = table.responses.respondent_ids if table.responses is not None else None
    try:
        doc = trend(
            [before, result],
            list(request.labels),
            shared=shared_ids([before_ids, ids]),
        )
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise TrendError(
            f"a wave is not a complete alignscan result ({type(exc).__name__}: {exc})"
        ) from None
    return as_trend(doc)


def without_comment_texts(result: ResultDocument) -> ResultDocument:
    """The result with every comment text left out (a document to pass on); the counts
    stay, as they were already published, and a warning says the texts were removed."""
    from alignscan.result.models import Suppressed

    if not result.comments:
        return result
    comments = [
        comment.updated(
            groups={
                g: cell if isinstance(cell, Suppressed) else cell.updated(texts=[])
                for g, cell in comment.groups.items()
            }
        )
        for comment in result.comments
    ]
    note = "comment texts were left out of this result; their counts are kept"
    return result.updated(comments=comments, warnings=[*result.warnings, note])
