"""`--xlsx`, `--pptx` and `--pptx-template`: the workbook and the deck, for `analyze` and
`report`, rendered in memory from the result document like every other output."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from alignscan.cli.output import fail

if TYPE_CHECKING:
    from alignscan.result.models import ResultDocument

XLSX_OPTION = typer.Option(
    None, "--xlsx", help="Also write an Excel workbook here (needs the `office` extra)."
)
PPTX_OPTION = typer.Option(
    None,
    "--pptx",
    help="Also write an editable PowerPoint deck here (needs the `office` extra).",
)
PPTX_TEMPLATE_OPTION = typer.Option(
    None,
    "--pptx-template",
    help="A .pptx whose slide master and layouts the deck uses (e.g. the client's).",
)


def office_targets(xlsx: Path | None, pptx: Path | None) -> dict[str, Path]:
    """The Office files asked for, by kind."""
    return {k: p for k, p in (("xlsx", xlsx), ("pptx", pptx)) if p is not None}


def read_template(template: Path | None, pptx: Path | None) -> bytes | None:
    """The template's bytes (exit 2 when it is missing or given without --pptx)."""
    if template is None:
        return None
    if pptx is None:
        fail("--pptx-template needs --pptx (the deck to write)", code=2)
    try:
        return template.read_bytes()
    except FileNotFoundError:
        fail(f"no such file: {template}", code=2)
    except OSError as exc:
        fail(f"{template}: can't read it ({exc.strerror or type(exc).__name__})", code=1)


def office_bytes(kind: str, result: ResultDocument, template: bytes | None = None) -> bytes:
    """The workbook or the deck; exit 2 without the `office` extra, 1 for a template
    that is not a usable PowerPoint file."""
    from alignscan.render.office.sheets import OfficeUnavailable

    try:
        if kind == "xlsx":
            from alignscan.render.office.xlsx import render_xlsx

            return render_xlsx(result)
        from alignscan.render.office.pptx import TemplateInvalid, render_pptx

        try:
            return render_pptx(result, template)
        except TemplateInvalid as exc:
            fail(f"{exc} ({exc.hint})", code=exc.exit_code)
    except OfficeUnavailable as exc:
        fail(str(exc), code=exc.exit_code)
