"""The result document's JSON Schema and the check of a saved result against it: above
the extras, whose sections (drivers, participation, weighting, norms, benchmark) bring
their own schemas, so that the models stay a leaf every module may read."""

from __future__ import annotations

from typing import Any

from alignscan.result.models import ResultDocument


def result_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of the result document, generated from the models; the
    sections owned by their own modules (drivers, participation, norms, benchmark) get
    those modules' schemas."""
    from alignscan.extras import drivers
    from alignscan.extras.norms import benchmark_json_schema, norms_summary_json_schema
    from alignscan.extras.participation import participation_json_schema
    from alignscan.extras.weighting import weighting_json_schema

    schema = ResultDocument.model_json_schema(mode="validation")
    owned = ["Drivers", "DriverCell", "DriverDimension", "Participation", "ParticipationSegment"]
    owned += ["Rate", "Weighting", "WeightedGroup", "Benchmark", "BenchmarkMark", "Reference"]
    for typed in owned:  # these sections' modules give their schemas instead
        schema["$defs"].pop(typed, None)
    props = schema["properties"]
    sections = {
        "drivers": drivers.json_schema(),
        "participation": participation_json_schema(),
        "weighting": weighting_json_schema(),
        "norms": norms_summary_json_schema(),
    }
    for name, sub in sections.items():
        props[name] = {"anyOf": [sub, {"type": "null"}], "default": None}
    benchmark = {"anyOf": [benchmark_json_schema(), {"type": "null"}], "default": None}
    for model in ("Item", "Dimension"):
        schema["$defs"][model]["properties"]["benchmark"] = benchmark
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "alignscan analysis result",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def result_problems(document: Any) -> list[str]:
    """Why a parsed JSON value is not a complete result document (empty when it is):
    the generated JSON Schema first, then the models (which also check the sections)."""
    import jsonschema
    from pydantic import ValidationError

    validator = jsonschema.Draft202012Validator(result_schema())
    try:
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    except RecursionError:
        return ["it is nested too deeply"]
    if errors:
        first = jsonschema.exceptions.best_match(errors) or errors[0]
        errors = [first] + [e for e in errors if e is not first]
        return [f"{'/'.join(map(str, e.path)) or '(top level)'}: {e.message}"[:300] for e in errors]
    try:
        ResultDocument.model_validate(document)
    except ValidationError as exc:
        return [f"{'/'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return []
