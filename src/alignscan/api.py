"""The library a notebook user imports: read, analyze, load, compare.

    >>> import alignscan
    >>> result = alignscan.analyze("reports/demo/responses.csv")       # doctest: +SKIP
    >>> result.to_frame("dimensions")[["id", "gap_mean", "q_value"]]  # doctest: +SKIP

Every function raises `AlignscanError` (with a message that names no CLI flag) for input
it can't use; the CLI catches it at the edge.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alignscan.errors import AlignscanError
from alignscan.pipeline import without_comment_texts  # noqa: F401  (its former home)
from alignscan.result.models import ResultDocument
from alignscan.survey import Survey, SurveyError
from alignscan.survey import load_survey as _load_survey

if TYPE_CHECKING:
    import pandas as pd

    from alignscan.counting.counts import CountTable
    from alignscan.responses import ResponseSet
    from alignscan.result.models import TrendDocument

LEVELS = ("items", "dimensions", "segments", "drivers", "participation", "trend")


def load_survey(survey: str | Path | Survey | None = None) -> Survey:
    """A survey definition from a YAML file, or the built-in instrument (None)."""
    if isinstance(survey, Survey):
        return survey
    try:
        return _load_survey(survey)
    except SurveyError as exc:
        raise AlignscanError(str(exc)) from None


def read_responses(
    data: Any, survey: str | Path | Survey | None = None, **options: Any
) -> ResponseSet:
    """Read, code and validate responses from a path, a file object or a DataFrame.

    Options are those of `alignscan.responses.read_responses` (lenient, delimiter, sheet,
    encoding, ...). Bad cells are returned in `.errors`, never raised."""
    from alignscan.responses import read_responses as _read

    rs: ResponseSet = _from_path(_read, data, survey, **options)
    return rs


def _from_path(reader: Any, data: Any, survey: str | Path | Survey | None, **options: Any) -> Any:
    """`reader(path, survey, **options)` on data given as a path, a file object or a
    DataFrame; a file it can't read at all raises AlignscanError."""
    from alignscan.responses import ResponsesError

    definition = load_survey(survey)
    try:
        with _as_path(data) as path:
            return reader(path, definition, **options)
    except ResponsesError as exc:
        raise AlignscanError(str(exc)) from None


class _as_path:
    """A path for the reader: as given, or a temporary copy of a file object or DataFrame
    (a DataFrame is written as CSV, so it is validated exactly like a file)."""

    def __init__(self, data: Any):
        self.data = data
        self.tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> Path:
        if isinstance(self.data, str | Path):
            return Path(self.data)
        self.tmp = tempfile.TemporaryDirectory(prefix="alignscan-")
        name = Path(getattr(self.data, "name", "") or "responses.csv").name
        target = Path(self.tmp.name) / (name if name.endswith((".csv", ".xlsx")) else name + ".csv")
        if hasattr(self.data, "to_csv"):
            self.data.to_csv(target, index=False)
            return target
        if not hasattr(self.data, "read"):
            raise AlignscanError(f"can't read responses from a {type(self.data).__name__}")
        from alignscan.atomic import write_one

        write_one(target, self.data.read())
        return target

    def __exit__(self, *exc: object) -> None:
        if self.tmp is not None:
            self.tmp.cleanup()


def _count(data: Any, survey: str | Path | Survey | None, **options: Any) -> CountTable:
    """Read and count responses (a path, a file object or a DataFrame) with the engine
    `options` name (see `engines.count_file`)."""
    from alignscan.counting.engines import count_file

    table: CountTable = _from_path(count_file, data, survey, **options)
    return table


def analyze(data: Any, survey: str | Path | Survey | None = None, **options: Any) -> Result:
    """The gap analysis of responses (a path, a file object, a DataFrame, a ResponseSet
    or a count table), through the same pipeline as `alignscan analyze`.

    Options (keywords): reading -- lenient, delimiter, sheet, header_rows, header_row,
    encoding; engine ("default": read in blocks, bounded memory; "duckdb" or "spark":
    SQL); headcount (CSV path: participation); norms (norms.json: benchmarks); baseline
    (an earlier wave: a result.json, responses or a Result: the trend); comments (False
    leaves comment texts out); report_date; labels (of the baseline and this wave);
    weight_to (a headcount CSV; with trim_weights=True) weights each compared group to it
    (see `alignscan.extras.weighting`), as a survey's `weights:` does.
    An unknown option raises OptionError (an AlignscanError) naming the valid ones.

    Raises AlignscanError when the responses have errors (pass lenient=True to exclude and
    count them instead) or a compared group is below the minimum group size."""
    from alignscan.pipeline import request_from_options, run

    definition = None if survey is None else load_survey(survey)
    request = request_from_options(data, survey=definition, **options)
    return Result(run(request, LibraryEdge()).model())


class LibraryEdge:
    """The pipeline's edge for the library: input it can't use raises AlignscanError."""

    def count(self, request: Any) -> CountTable:
        from alignscan.counting.counts import CountTable
        from alignscan.counting.tally import count_responses
        from alignscan.responses import ResponseSet

        data = request.source
        if isinstance(data, CountTable):
            return data
        if isinstance(data, ResponseSet):
            return count_responses(data).with_responses(data)
        return _count(data, request.survey, engine=request.engine, **request.reader.kwargs())

    def refuse_invalid(self, table: CountTable) -> None:
        rs = table.responses
        if rs is not None and rs.errors:
            first = rs.errors[0]
            raise InvalidResponses(
                f"{len(rs.errors):,} invalid cell(s), e.g. {first.file} row {first.row} "
                f"column {first.column}: {first.reason}; fix them, or pass lenient=True to "
                "treat them as not answered and count them",
                rs,
            )

    def baseline(self, request: Any) -> tuple[dict[str, Any], Any]:
        data = request.baseline
        if isinstance(data, Result):
            return data.document, None
        wave = load_wave(data, request.survey, request.reader.lenient)
        return wave.result, wave.respondent_ids

    def cells(self, request: Any, survey: Survey, columns: list[str]) -> Any:
        from alignscan.counting.counts import CountTable
        from alignscan.extras.weighting_targets import cells_of_file, count_cells
        from alignscan.responses import ResponseSet

        data = request.source
        if isinstance(data, CountTable):
            raise AlignscanError("weighting needs the responses, not a count table")
        if isinstance(data, ResponseSet):
            return count_cells(data, columns)
        return _from_path(
            lambda p, s, **o: cells_of_file(p, s, columns, o),
            data, survey, **request.reader.kwargs(),
        )


def count_table(
    spark_df: Any, survey: str | Path | Survey | None = None, *, lenient: bool = False
) -> CountTable:
    """The count table of a Spark DataFrame (columns named as the survey's source
    columns), computed on the cluster by Spark SQL; finish it anywhere with
    `analyze_counts`. Needs `alignscan[spark]`."""
    from alignscan.counting.engines.spark_sql import count_table as _count_table

    return _count_table(spark_df, load_survey(survey), lenient=lenient)


def analyze_counts(table: CountTable, survey: str | Path | Survey | None = None) -> Result:
    """Finish the analysis of a count table (from `count_table` on a Spark cluster,
    `engines.count_file`, or `read_count_table`): the same result as analysing the rows."""
    from alignscan.analysis.analysis import analyze_counts as _analyze_counts
    from alignscan.analysis.prepared import AnalysisError
    from alignscan.counting.counts import CountTableError
    from alignscan.result.models import as_result

    definition = None if survey is None and table.responses else load_survey(survey)
    try:
        document = _analyze_counts(table, definition)
    except (AnalysisError, CountTableError) as exc:
        raise AlignscanError(str(exc)) from None
    return Result(as_result(document))


def load_result(path: str | Path) -> Result:
    """A saved result.json, validated: an incomplete, out-of-range or hand-edited document
    (one that shows a cell below the minimum group size) is refused."""
    from alignscan.limits import read_document
    from alignscan.privacy.privacy import small_cells_shown
    from alignscan.result.models import strict_json, upgrade_comments
    from alignscan.result.schema import result_problems

    path = Path(path)
    try:
        document = strict_json(read_document(path, "result"))
    except (OSError, UnicodeDecodeError) as exc:
        raise AlignscanError(f"{path}: can't read it ({type(exc).__name__})") from None
    except RecursionError:
        raise AlignscanError(f"{path} is not an alignscan result: nested too deeply") from None
    except ValueError as exc:
        raise AlignscanError(f"{path} is not a valid result JSON: {exc}") from None
    document = upgrade_comments(document)  # a result saved by an earlier version
    problems = result_problems(document)
    if problems:
        raise AlignscanError(
            f"{path} is not a complete alignscan result: {problems[0]} "
            f"({len(problems)} problem(s))"
        )
    small = small_cells_shown(document)
    if small:
        raise AlignscanError(
            f"{path} shows {len(small)} cell(s) below its minimum group size, e.g. {small[0]} "
            f"(no cell may be below min_group_size, {document['min_group_size']}): it was "
            "not written by alignscan's analysis as it is"
        )
    return Result(ResultDocument.model_validate(document))


def saved_source(folder: str | Path) -> str | None:
    """The responses file name a saved result in `folder` was made from (its
    `source.file`); "" when the result.json there can't be read; None when there is none."""
    path = Path(folder) / "result.json"
    if not path.is_file():
        return None
    from alignscan.limits import read_document

    try:
        source = json.loads(read_document(path, "result")).get("source") or {}
        return str(source.get("file") or "")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError, RecursionError):
        return ""


class InvalidResponses(AlignscanError):
    """Responses with invalid cells; `.responses` holds them (with every error) to show."""

    def __init__(self, message: str, responses: ResponseSet):
        super().__init__(message)
        self.responses = responses


@dataclass(frozen=True)
class Wave:
    """One survey wave for a trend: its result document, and the respondent ids when it
    was read from responses whose survey names a respondent_id column."""

    result: dict[str, Any]
    respondent_ids: Any = None


def is_result_file(path: str | Path) -> bool:
    """A wave given as a saved result (.json) rather than as responses."""
    return Path(path).suffix.lower() == ".json"


def load_wave(
    data: Any, survey: str | Path | Survey | None = None, lenient: bool = False
) -> Wave:
    """A wave from a saved result.json, a responses file, an already read ResponseSet
    or a count table (`engines.count_file`).

    Raises InvalidResponses when the responses have invalid cells (unless lenient), and
    AlignscanError when they can't be analysed."""
    from alignscan.analysis.analysis import analyze_counts
    from alignscan.analysis.prepared import AnalysisError
    from alignscan.counting.counts import CountTable
    from alignscan.counting.tally import count_responses
    from alignscan.responses import ResponseSet

    if isinstance(data, str | Path) and is_result_file(data):
        return Wave(load_result(data).document)
    if isinstance(data, CountTable):
        table = data
    elif isinstance(data, ResponseSet):
        table = count_responses(data).with_responses(data)
    else:
        table = _count(data, survey, lenient=lenient)
    rs = table.responses
    if rs is not None and not rs.ok:
        raise InvalidResponses(f"{rs.source.file}: {len(rs.errors):,} invalid cell(s)", rs)
    try:
        return Wave(analyze_counts(table), rs.respondent_ids if rs is not None else None)
    except AnalysisError as exc:
        where = data if isinstance(data, str | Path) else rs.source.file if rs else "counts"
        raise AlignscanError(f"{where}: {exc}") from None


def shared_ids(ids: list[Any]) -> dict[tuple[int, int], int]:
    """Respondent ids shared by pairs of waves (see `alignscan.extras.trend.shared_ids`)."""
    from alignscan.extras.trend import shared_ids as count_shared

    return count_shared(ids)


def repeated_waves(paths: list[Path]) -> list[tuple[Path, Path, bool]]:
    """Waves given twice: (wave, the earlier one it repeats, whether it is the very same
    file rather than a copy with the same content). Unreadable files are left out."""
    import hashlib

    seen: dict[str, Path] = {}
    found = []
    for path in paths:
        try:
            key = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            continue
        if key in seen:
            found.append((path, seen[key], Path(path).resolve() == seen[key].resolve()))
        seen.setdefault(key, path)
    return found


def trend(
    waves: list[Result | str | Path],
    labels: list[str] | None = None,
    *,
    favorable_only: bool = False,
) -> Trend:
    """How the gaps moved between waves (saved results or Result objects), oldest first;
    survey versions that can't be compared like-for-like are named in its `warnings`."""
    from alignscan.extras.trend import trend as _trend
    from alignscan.result.models import as_trend

    docs = [(w if isinstance(w, Result) else load_result(w)).model for w in waves]
    return Trend(as_trend(_trend(docs, labels, favorable_only=favorable_only)))


class Trend:
    """A trend between waves: the typed document and ways to look at it. Indexing it
    (`trend["dimensions"]`) reads the plain document, as the former dict did."""

    LEVELS = ("dimensions", "items")

    def __init__(self, model: TrendDocument):
        self.model = model

    @property
    def document(self) -> dict[str, Any]:
        """The trend as plain JSON-ready data (the same as `alignscan trend --json`)."""
        return self.model.document()

    @property
    def warnings(self) -> list[str]:
        return list(self.model.warnings)

    def __getitem__(self, key: str) -> Any:
        return self.document[key]

    def to_json(self) -> str:
        """Exactly the bytes `alignscan trend --json` writes."""
        return self.model.to_json()

    def to_frame(self, level: str = "dimensions") -> pd.DataFrame:
        """One row per dimension (or item) and change between waves (see docs/api.md)."""
        from alignscan.result.frames import trend_frame

        if level not in self.LEVELS:
            raise AlignscanError(f"level must be one of {', '.join(self.LEVELS)}, not {level!r}")
        return trend_frame(self.model, level)

    def to_html(self, date: str | None = None) -> str:
        """The trend report as one self-contained HTML page."""
        from alignscan.render.trend_html import render_trend_html

        return render_trend_html(self.model, date=date)


class Result:
    """An analysis result: the typed document plus ways to look at it and save it."""

    def __init__(self, model: ResultDocument):
        self.model = model

    @property
    def document(self) -> dict[str, Any]:
        """The result as plain JSON-ready data (the same as `analyze --json`)."""
        return self.model.document()

    def to_json(self) -> str:
        """Exactly the bytes `alignscan analyze --json` writes."""
        return self.model.to_json()

    def to_csv(self) -> str:
        """The tidy CSV (`result.csv`): one figure per row."""
        from alignscan.render.tabular import result_to_csv

        return result_to_csv(self.model)

    def to_html(self, date: str | None = None) -> str:
        """The report as one self-contained HTML page."""
        from alignscan.render.html import render_html

        return render_html(self.model, date=date)

    def to_frame(self, level: str = "dimensions") -> pd.DataFrame:
        """A tidy table: one row per item, dimension or segment cell, per driver, per
        participation cell, or per change of the trend (dimensions; see docs/api.md)."""
        from alignscan.result import frames

        if level not in LEVELS:
            raise AlignscanError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
        if level == "drivers":
            return frames.drivers_frame(self.model)
        if level == "participation":
            return frames.participation_frame(self.model)
        if level == "trend":
            return frames.trend_frame(self.model, "dimensions")
        return frames.result_frame(self.model, level)

    @property
    def trend(self) -> Trend | None:
        """The trend against the baseline (`baseline=`), None without one."""

        found = self.model.trend
        return None if found is None else Trend(found)

    @property
    def warnings(self) -> list[str]:
        """The result's warnings, then its trend's (e.g. incomparable survey versions)."""
        trend = self.trend
        later = trend.warnings if trend is not None else []
        return list(dict.fromkeys([*self.model.warnings, *later]))

    def save(self, folder: str | Path, date: str | None = None) -> list[Path]:
        """Write result.json, result.csv and report.html into `folder`, all or none."""
        from alignscan.atomic import write_all

        folder = Path(folder)
        files = {
            folder / "result.json": self.to_json(),
            folder / "result.csv": self.to_csv(),
            folder / "report.html": self.to_html(date),
        }
        write_all(files)
        return list(files)

    def _repr_html_(self) -> str:
        from alignscan.result.frames import summary_html

        return summary_html(self.model)

    def __repr__(self) -> str:
        doc = self.model
        a, b = doc.compare
        return (
            f"<alignscan Result {doc.survey.id} v{doc.survey.version}: {a} vs {b}, "
            f"{len(doc.items)} items, {len(doc.dimensions)} dimensions>"
        )
