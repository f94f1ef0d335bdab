"""What is wrong with a survey file, and where: a `Problem` has the file, line, column and
path of a value (`Loc`, e.g. `dimensions[2].items`); `LoadResult` and `SurveyError`
carry all of them at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from alignscan.errors import AlignscanError
from alignscan.survey.model import Survey


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a survey file. `line`/`column` are 1-based; 0 when unknown."""

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass(frozen=True)
class LoadResult:
    file: str
    survey: Survey | None
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return self.survey is not None and not self.errors


class SurveyError(AlignscanError):
    """Raised by `load_survey` when a definition is invalid; carries every problem."""

    code = "survey_invalid"

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        first = problems[0] if problems else None
        super().__init__(
            f"{first.file}:{first.line}:{first.column}: {first.message}" if first else "invalid"
        )


Loc = tuple[str | int, ...]


def _path_text(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _locate(locations: dict[Loc, tuple[int, int]], loc: Loc) -> tuple[int, int]:
    """Closest known position for a path: the value itself, else its nearest parent."""
    loc = tuple(loc)
    while loc:
        if loc in locations:
            return locations[loc]
        loc = loc[:-1]
    return locations.get((), (1, 1))
