"""The result as an editable PowerPoint deck (`--pptx`), written with python-pptx.

Charts are native chart objects (their data sits in an embedded workbook a consultant can
edit), tables are native tables, and the speaker notes carry the exact figures and
intervals. With a template (`--pptx-template`) the deck uses the client's slide master
and layouts; without one, python-pptx's plain master at 16:9. Built from the result
document only, with the same suppression and display labels as the HTML report.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from alignscan.errors import AlignscanError
from alignscan.render.office.deck import Deck, inches
from alignscan.render.office.sheets import OFFICE_EXTRA, OfficeUnavailable
from alignscan.render.office.slides import SLIDES
from alignscan.result.models import ResultDocument, as_result


class TemplateInvalid(AlignscanError):
    """The `--pptx-template` file is not a PowerPoint presentation python-pptx can open."""

    code = "pptx_template_invalid"
    hint = "save the template as a .pptx presentation (not .potx or .ppt)"


def check_template(template: bytes) -> None:
    """Refuse, from the archive's directory alone, a template part that would unfold past
    the limits of `alignscan.limits` (a zip bomb), before python-pptx reads it."""
    from alignscan import limits

    try:
        infos = zipfile.ZipFile(io.BytesIO(template)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise TemplateInvalid(
            f"--pptx-template is not a PowerPoint presentation ({type(exc).__name__})"
        ) from None
    part_max, ratio_max = limits.XLSX_PART_MB.value(), limits.XLSX_RATIO.value()
    for info in infos:
        size, ratio = info.file_size, info.file_size / max(info.compress_size, 1)
        if size > part_max:
            reason = f"its part {info.filename} unfolds to {size:,} bytes (limit {part_max:,})"
            raise TemplateInvalid(f"--pptx-template: {reason}", hint=limits.XLSX_PART_MB.hint())
        if size > limits.RATIO_FLOOR and ratio > ratio_max:
            reason = f"its part {info.filename} is compressed {ratio:,.0f} to 1: a zip bomb?"
            raise TemplateInvalid(f"--pptx-template: {reason}", hint=limits.XLSX_RATIO.hint())


def open_presentation(template: bytes | None) -> tuple[Any, bool]:
    """The template's presentation without its slides, or python-pptx's plain one at 16:9."""
    from pptx import Presentation
    from pptx.util import Emu

    if template is None:
        prs = Presentation()
        prs.slide_width, prs.slide_height = Emu(inches(13.333)), Emu(inches(7.5))
        return prs, False
    check_template(template)
    try:
        prs = Presentation(io.BytesIO(template))
    except Exception as exc:  # zip, XML or package errors: any means "not a .pptx"
        raise TemplateInvalid(
            f"--pptx-template is not a PowerPoint presentation ({type(exc).__name__})"
        ) from None
    ids = prs.slides._sldIdLst
    for sld in list(ids):
        prs.part.drop_rel(sld.rId)
        ids.remove(sld)
    return prs, True


def render_pptx(
    result: ResultDocument | dict[str, Any], template: bytes | None = None
) -> bytes:
    """The deck as bytes: title, summary, charts and tables, actions and the appendix."""
    result = as_result(result)
    try:
        import pptx  # noqa: F401
        import xlsxwriter  # noqa: F401  (python-pptx writes chart data with it)
    except ImportError as exc:
        raise OfficeUnavailable(f"--pptx needs python-pptx: {OFFICE_EXTRA} ({exc})") from None
    prs, templated = open_presentation(template)
    deck = Deck(prs, result, templated)
    for build in SLIDES:
        build(deck)
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()
