"""Survey definitions: the YAML format (`model`), its safe loader with file, line and
column for every problem, and the comparison of two versions of a survey (`diff`).
The names below are the public interface."""

from alignscan.survey.loading import (
    builtin_survey_result,
    builtin_survey_text,
    discover_survey_files,
    load_survey,
    load_survey_text,
    read_survey_file,
    survey_json_schema,
)
from alignscan.survey.model import Dimension, Item, Roles, Scale, Survey, normalise
from alignscan.survey.problems import LoadResult, Loc, Problem, SurveyError
from alignscan.survey.safe_yaml import parse_yaml

__all__ = [
    "Dimension",
    "Item",
    "LoadResult",
    "Loc",
    "Problem",
    "Roles",
    "Scale",
    "Survey",
    "SurveyError",
    "builtin_survey_result",
    "builtin_survey_text",
    "discover_survey_files",
    "load_survey",
    "load_survey_text",
    "normalise",
    "parse_yaml",
    "read_survey_file",
    "survey_json_schema",
]
