"""Commands about survey definitions: validate, schema, init."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from alignscan import survey as survey_mod
from alignscan.cli.output import Format, fail, print_problems, stdout, write_outputs
from alignscan.cli.root import app


@app.command(
    epilog="Example:  alignscan validate surveys/  (or: --format github in CI)",
)
def validate(
    paths: list[Path] = typer.Argument(
        ..., help="Survey files or directories (searched recursively for *.yaml / *.yml)."
    ),
    format: Format = typer.Option(Format.rich, "--format", "-f", help="Output format."),
) -> None:
    """Check survey definitions and report every problem in every file.

    Exit code 0 when all are valid, 1 when any is invalid, 2 for a usage error.
    """
    files, missing = survey_mod.discover_survey_files(paths)
    if missing:
        fail(f"no such file or directory: {', '.join(missing)}", code=2)
    if not files:
        fail("no *.yaml or *.yml files found in " + ", ".join(map(str, paths)), code=2)
    problems = []
    for f in files:
        problems.extend(survey_mod.read_survey_file(f).problems)
    print_problems(problems, format, len(files))
    if any(p.severity == "error" for p in problems):
        raise typer.Exit(1)


@app.command(epilog="Example:  alignscan schema > reports/survey.schema.json")
def schema(
    result: bool = typer.Option(
        False, "--result", help="Print the schema of the analysis result JSON instead."
    ),
    trend: bool = typer.Option(False, "--trend", help="Print the schema of the trend JSON."),
) -> None:
    """Print the JSON Schema of the survey definition format (or of the result JSON)."""
    if result and trend:
        fail("give --result or --trend, not both: one schema is printed at a time", code=2)
    if result:
        from alignscan.render.tabular import result_json_schema

        data = result_json_schema()
    elif trend:
        from alignscan.extras.trend import trend_json_schema

        data = trend_json_schema()
    else:
        data = survey_mod.survey_json_schema()
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@app.command(epilog="Example:  alignscan init reports/my-survey.yaml")
def init(
    path: Path = typer.Argument(Path("survey.yaml"), help="Where to write the survey file."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a copy of the built-in instrument to start your own survey from.

    The JSON Schema its `$schema` line names (survey.schema.json) is written next to it,
    so editors can check the file as you type; an existing schema file is kept.
    """
    if path.is_dir():
        path = path / "survey.yaml"
    if path.exists() and not force:
        fail(f"{path} already exists; use --force to overwrite it", code=1)
    schema_path = path.parent / SCHEMA_FILE
    outputs: dict[Path, str | bytes] = {path: survey_mod.builtin_survey_text()}
    if not schema_path.exists() or force:
        schema_text = json.dumps(survey_mod.survey_json_schema(), indent=2, ensure_ascii=False)
        outputs[schema_path] = schema_text + "\n"
    write_outputs(outputs, force=force)  # its own rule: replaced only with --force
    also = f" (and {schema_path} for editors)" if schema_path in outputs else ""
    stdout().print(f"Wrote {path}{also}. Edit it, then check it with: alignscan validate {path}")


SCHEMA_FILE = "survey.schema.json"  # the name the built-in survey's $schema line gives
