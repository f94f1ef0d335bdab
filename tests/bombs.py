"""Hostile workbooks built with zipfile, small on disk (issue #30): shared-strings bombs
and a sheet with more rows than Excel allows. Also used by benchmarks/bombs.py."""

from __future__ import annotations

import zipfile
from pathlib import Path

HEADER = ["id", "role", "department", "q1", "q2", "q3", "q4", "comment"]
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
OD = "application/vnd.openxmlformats-officedocument"

CONTENT_TYPES = (
    f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{CT}">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{OD}.spreadsheetml.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{OD}.spreadsheetml.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{OD}.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
    f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook {NS} xmlns:r="{REL}">'
    '<sheets><sheet name="responses" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
    f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def _header_row() -> str:
    cells = "".join(_inline(f"{chr(65 + j)}1", name) for j, name in enumerate(HEADER))
    return f'<row r="1">{cells}</row>'


def _write(path: Path, sheet_chunks, shared_chunks) -> Path:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        for name, chunks in (
            ("xl/sharedStrings.xml", shared_chunks),
            ("xl/worksheets/sheet1.xml", sheet_chunks),
        ):
            with zf.open(name, "w", force_zip64=True) as fh:
                for chunk in chunks:
                    fh.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
    return path


def _sheet(rows, dimension: str | None = None):  # type: ignore[no-untyped-def]
    yield f'<?xml version="1.0" encoding="UTF-8"?><worksheet {NS}>'
    if dimension:
        yield f'<dimension ref="{dimension}"/>'
    yield "<sheetData>" + _header_row()
    yield from rows
    yield "</sheetData></worksheet>"


def one_long_string_bomb(path: Path, chars: int = 32_000_000, rows: int = 300) -> Path:
    """Every answer cell points at shared string 0, `chars` characters long (~33 KB)."""

    def shared():  # type: ignore[no-untyped-def]
        yield f'<?xml version="1.0" encoding="UTF-8"?><sst {NS} count="1" uniqueCount="1"><si><t>'
        block = b"A" * (1 << 20)
        for _ in range(chars // len(block)):
            yield block
        yield b"A" * (chars % len(block))
        yield "</t></si></sst>"

    body = (
        f'<row r="{r}">'
        + "".join(f'<c r="{chr(65 + j)}{r}" t="s"><v>0</v></c>' for j in range(8))
        + "</row>"
        for r in range(2, rows + 2)
    )
    return _write(path, _sheet(body), shared())


def many_strings_bomb(path: Path, strings: int = 5_000_000) -> Path:
    """A shared-strings table of `strings` tiny entries (5M: ~163 KB; 10M: ~300 KB)."""

    def shared():  # type: ignore[no-untyped-def]
        yield f'<?xml version="1.0" encoding="UTF-8"?><sst {NS} count="{strings}" uniqueCount="{strings}">'
        block = "<si><t>x</t></si>" * 65_536
        for _ in range(strings // 65_536):
            yield block
        yield "<si><t>x</t></si>" * (strings % 65_536)
        yield "</sst>"

    body = (f'<row r="{r}"><c r="A{r}" t="s"><v>{r % strings}</v></c></row>' for r in range(2, 102))
    return _write(path, _sheet(body), shared())


def too_many_rows(
    path: Path, rows: int = 1_100_000, dimension: str | None = None, numbered: bool = False
) -> Path:
    """A sheet of `rows` data rows (beyond Excel's 1,048,576), each one number; rows carry
    no row number (`numbered=False`: readers count them, ~40 KB) or their own (~5 MB)."""

    def body():  # type: ignore[no-untyped-def]
        if not numbered:
            block = "<row><c><v>1</v></c></row>" * 50_000
            for _ in range(rows // 50_000):
                yield block
            yield "<row><c><v>1</v></c></row>" * (rows % 50_000)
            return
        for start in range(2, rows + 2, 50_000):
            stop = min(start + 50_000, rows + 2)
            yield "".join(
                f'<row r="{r}"><c r="A{r}"><v>1</v></c></row>' for r in range(start, stop)
            )

    shared = [f'<?xml version="1.0" encoding="UTF-8"?><sst {NS} count="0" uniqueCount="0"/>']
    return _write(path, _sheet(body(), dimension), shared)
