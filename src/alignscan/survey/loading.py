"""Loading a survey definition: YAML text or a file to a `Survey` and every problem with
its file, line and column (never raising for bad input), the built-in survey, the
embedded logo, the JSON Schema and the discovery of survey files in folders.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from alignscan.survey.model import Survey
from alignscan.survey.problems import LoadResult, Loc, Problem, SurveyError, _locate, _path_text
from alignscan.survey.rules import check_rules
from alignscan.survey.safe_yaml import _YamlProblem, parse_yaml

BUILTIN_SURVEY = "ai-alignment.yaml"
MAX_SURVEY_BYTES = 2_000_000


def _did_you_mean(loc: Loc) -> str:
    """ "; did you mean 'dimensions'?" for a misspelt key, from the keys allowed there."""
    import difflib
    import typing

    model: Any = Survey
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        if field is None:
            return ""
        found = [field.annotation, *typing.get_args(field.annotation)]
        found += [a for f in found for a in typing.get_args(f)]
        model = next((a for a in found if isinstance(a, type) and issubclass(a, BaseModel)), None)
    if model is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


def _pydantic_problems(
    file: str, exc: ValidationError, locations: dict[Loc, tuple[int, int]]
) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown field {loc[-1]!r}" + _did_you_mean(loc)
        elif err["type"] == "bool_type":
            msg = "must be true or false (in YAML 1.2, yes/no/on/off are text, not booleans)"
        elif err["type"] == "missing":
            msg = f"required field {loc[-1]!r} is missing"
        elif err["type"] == "string_pattern_mismatch":
            msg = (
                "must be a slug: letters, digits, '-', '_' or '.', starting with a letter or digit"
            )
        line, col = _locate(locations, loc)
        problems.append(Problem(file, line, col, _path_text(loc), msg))
    return problems


LOGO_MAX_BYTES = 200 * 1024
_LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def embed_logo(logo: str, base: Path) -> tuple[str | None, str | None]:
    """(data URI, None) for a PNG or JPEG file of at most 200 KB, relative to `base`;
    (None, reason) otherwise. URLs and SVG are refused: the report fetches nothing."""
    lowered = logo.strip().lower()
    if "://" in lowered or lowered.startswith(("data:", "//", "www.")):
        return None, "logo must be a PNG or JPEG file next to the survey, not a URL"
    if lowered.endswith((".svg", ".svgz")):
        return None, "logo can't be SVG (it can carry scripts and links): use PNG or JPEG"
    path = base / logo
    try:
        size = path.stat().st_size
        if size > LOGO_MAX_BYTES:
            return None, f"logo {logo} is {size // 1024} KB; at most 200 KB"
        raw = path.read_bytes()
    except OSError as exc:
        return None, f"can't read logo {logo}: {exc.strerror or exc}"
    mime = next((m for magic, m in _LOGO_TYPES.items() if raw.startswith(magic)), None)
    if mime is None:
        return None, f"logo {logo} is not a PNG or JPEG image"
    import base64

    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}", None


def _with_logo(result: LoadResult, base: Path, locations: dict[Loc, tuple[int, int]]) -> LoadResult:
    """The survey with its logo embedded as a data URI, or a problem at the logo's line."""
    survey = result.survey
    if survey is not None and survey.weights is not None:  # the file is next to the survey
        weights = survey.weights.model_copy(
            update={"headcount": str(base / survey.weights.headcount)}
        )
        survey = survey.model_copy(update={"weights": weights})
        result = LoadResult(result.file, survey, result.problems)
    if survey is None or survey.report is None or survey.report.logo is None:
        return result
    uri, reason = embed_logo(survey.report.logo, base)
    if reason is not None:
        loc: Loc = ("report", "logo")
        problem = Problem(result.file, *_locate(locations, loc), _path_text(loc), reason)
        return LoadResult(
            result.file, None, sorted([*result.problems, problem], key=lambda p: (p.line, p.column))
        )
    report = survey.report.model_copy(update={"logo": uri})
    return LoadResult(result.file, survey.model_copy(update={"report": report}), result.problems)


def _rule_problems(
    file: str, survey: Survey, locations: dict[Loc, tuple[int, int]]
) -> list[Problem]:
    return [
        Problem(file, *_locate(locations, loc), _path_text(loc), msg, severity)
        for loc, msg, severity in check_rules(survey)
    ]


def load_survey_text(text: str, file: str = "<survey>", base: Path | None = None) -> LoadResult:
    """Validate a survey definition given as YAML text; never raises for bad input.
    A `report.logo` is read relative to `base` (default: the current folder) and
    embedded as a data URI."""
    try:
        data, locations = parse_yaml(text)
    except _YamlProblem as exc:
        return LoadResult(file, None, [Problem(file, exc.line, exc.column, "", exc.message)])
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"
        return LoadResult(
            file,
            None,
            [Problem(file, 1, 1, "", f"the top level must be a mapping of fields, not {kind}")],
        )
    data.pop("$schema", None)
    try:
        survey = Survey.model_validate(data)
    except ValidationError as exc:
        problems = _pydantic_problems(file, exc, locations)
        # Unknown fields don't stop the cross-field rules: check the rest without them.
        errors = exc.errors(include_url=False)
        if all(e["type"] == "extra_forbidden" for e in errors):
            for e in errors:
                parent = data
                for part in e["loc"][:-1]:
                    parent = parent[part]
                parent.pop(e["loc"][-1], None)
            try:
                problems += _rule_problems(file, Survey.model_validate(data), locations)
            except ValidationError:
                pass
        return LoadResult(file, None, sorted(problems, key=lambda p: (p.line, p.column)))
    problems = _rule_problems(file, survey, locations)
    problems.sort(key=lambda p: (p.line, p.column))
    return _with_logo(LoadResult(file, survey, problems), base or Path.cwd(), locations)


def read_survey_file(path: str | Path) -> LoadResult:
    """Read and validate one survey file; I/O problems become Problems too."""
    path = Path(path)
    file = str(path)
    try:
        if path.stat().st_size > MAX_SURVEY_BYTES:
            return LoadResult(
                file, None, [Problem(file, 0, 0, "", "file is too large for a survey definition")]
            )
        raw = path.read_bytes()
    except OSError as exc:
        return LoadResult(file, None, [Problem(file, 0, 0, "", f"can't read file: {exc.strerror}")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return LoadResult(
            file, None, [Problem(file, line, 0, "", "file is not UTF-8 text (is it binary?)")]
        )
    if "\x00" in text:
        return LoadResult(file, None, [Problem(file, 1, 0, "", "file is binary, not YAML text")])
    return load_survey_text(text, file, path.parent)


def load_survey(path: str | Path | None = None) -> Survey:
    """The survey at `path`, or the built-in instrument. Raises SurveyError if invalid."""
    result = read_survey_file(path) if path is not None else builtin_survey_result()
    if not result.ok:
        raise SurveyError(result.errors or result.problems)
    assert result.survey is not None
    return result.survey


def builtin_survey_text() -> str:
    return resources.files("alignscan.data").joinpath(BUILTIN_SURVEY).read_text("utf-8")


def builtin_survey_result() -> LoadResult:
    return load_survey_text(builtin_survey_text(), f"<built-in {BUILTIN_SURVEY}>")


def survey_json_schema() -> dict[str, Any]:
    schema = Survey.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


SKIPPED_FOLDERS = frozenset({"node_modules", "__pycache__", "venv", "site-packages"})


def _skipped_folder(folder: Path) -> bool:
    """Folders a directory walk never enters: hidden ones (.git, .venv, .tox), virtualenvs
    (a pyvenv.cfg or conda-meta inside), node_modules and __pycache__."""
    return (
        folder.name.startswith(".")
        or folder.name in SKIPPED_FOLDERS
        or (folder / "pyvenv.cfg").is_file()
        or (folder / "conda-meta").is_dir()
    )


def _walk_yaml(root: Path) -> list[Path]:
    """*.yaml / *.yml files under `root` (not hidden ones), outside skipped folders."""
    import os

    found: list[Path] = []
    for here, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not _skipped_folder(Path(here, d))]
        found += [
            Path(here, n)
            for n in names
            if n.endswith((".yaml", ".yml")) and not n.startswith(".") and Path(here, n).is_file()
        ]
    return sorted(found)


def discover_survey_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """Expand files and directories (recursively, *.yaml / *.yml, skipping hidden folders,
    virtualenvs and node_modules). Files named explicitly are always kept.
    Returns (files, missing)."""
    files: list[Path] = []
    missing: list[str] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files.extend(_walk_yaml(p))
        elif p.exists():
            files.append(p)
        else:
            missing.append(str(raw))
    return files, missing
