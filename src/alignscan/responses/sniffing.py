"""Sniffing an export before it is parsed: encoding, delimiter, binary files, and the
extra header rows of known export tools (Qualtrics, SurveyMonkey, `alignscan template`)."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
from collections.abc import Iterator

from alignscan.responses.kinds import ErrorKind
from alignscan.responses.model import CellError, ResponsesError
from alignscan.survey import Survey, normalise

SAMPLE_BYTES = 256 * 1024


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # a multi-byte character may be cut at the end of the sample
        sample.decode("utf-8") if len(sample) < SAMPLE_BYTES else sample[:-4].decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample[:65536]).best()
    encoding = (best.encoding if best else None) or "cp1252"
    # Short samples make single-byte code pages hard to tell apart; exports from Excel
    # on Windows are overwhelmingly Windows-1252, so prefer it whenever it fits.
    if _single_byte(encoding):
        try:
            sample.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass
    return encoding


def _single_byte(encoding: str) -> bool:
    """True for a one-byte-per-character code page (cp775, hp_roman8, latin-1...)."""
    try:
        if codecs.lookup(encoding).name.startswith("utf"):
            return False
        return len(bytes(range(256)).decode(encoding, errors="replace")) == 256
    except LookupError:
        return False


def looks_binary(sample: bytes, encoding: str) -> bool:
    if encoding == "utf-16":
        return False
    if sample.startswith(b"PK\x03\x04"):
        return True
    return b"\x00" in sample[:8192]


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines most consistently: , ; tab or |."""
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", -1.0
    for delim in (",", ";", "\t", "|"):
        try:
            rows = list(csv.reader(io.StringIO("\n".join(lines[:10])), delimiter=delim))
        except csv.Error:
            continue
        widths = [len(r) for r in rows if r]
        if not widths or widths[0] < 2:
            continue
        consistent = sum(w == widths[0] for w in widths) / len(widths)
        score = consistent * 1000 + widths[0]
        if score > best_score:
            best, best_score = delim, score
    return best


GENERIC_SUBHEADERS = ("Response", "Open-Ended Response")  # SurveyMonkey's second header row


def detect_header_rows(
    rows: list[list[str]], questions: frozenset[str] = frozenset()
) -> tuple[int, str | None]:
    """Extra header rows of known export tools: Qualtrics (3 rows), SurveyMonkey (2), and
    the question-text row of `alignscan template` (2)."""
    if len(rows) >= 3 and any(c.strip().startswith('{"ImportId"') for c in rows[2]):
        return 3, "Qualtrics"
    if len(rows) >= 2:
        second = {c.strip() for c in rows[1]}
        if second & set(GENERIC_SUBHEADERS):
            return 2, "SurveyMonkey"
        if is_question_row(rows[1], questions):
            return 2, None
    return 1, None


def header_hint(rows: list[list[str]], survey_columns: set[str], skip: int) -> int | None:
    """When the header row holds none of the survey's columns, the first row (1-based) in
    `rows` that does: the likely `--header-row` of an export with title rows."""
    header = rows[skip] if len(rows) > skip else []
    if {c.strip() for c in header} & survey_columns:
        return None
    for k, row in enumerate(rows[:30]):
        if len({c.strip() for c in row} & survey_columns) >= 2:
            return k + 1
    return None


def question_texts(survey: Survey) -> frozenset[str]:
    """The survey's item texts, normalised: what the template's second header row holds."""
    return frozenset(normalise(i.text) for i in survey.items)


def header_names(rows: list[list[str]], header_rows: int, tool: str | None) -> list[str]:
    """Column names from the header row; for SurveyMonkey's two-row header, the question
    (carried over the blank cells of a matrix) joined with its sub-question or option."""
    names = [c.strip() for c in rows[0]] if rows else []
    if tool == "SurveyMonkey" and header_rows >= 2 and len(rows) >= 2:
        merged, question = [], ""
        for i, name in enumerate(names):
            sub = rows[1][i].strip() if i < len(rows[1]) else ""
            question = name or question
            if not sub or sub == GENERIC_SUBHEADERS[0]:
                merged.append(name or question)
            elif sub == GENERIC_SUBHEADERS[1] and name:
                merged.append(name)
            else:
                merged.append(f"{question} - {sub}" if question else sub)
        names = merged
    return names


def ascii_based(encoding: str) -> bool:
    """True when a newline is the single byte 0x0A in `encoding` (not UTF-16/32)."""
    try:
        return "\n".encode(encoding).endswith(b"\n") and len("\n".encode(encoding)) == 1
    except LookupError:
        return False


@contextlib.contextmanager
def field_limit(limit: int) -> Iterator[None]:
    """Let the csv module read cells as long as the sample (its default stops at 131,072
    characters); the file itself is parsed by pyarrow, which has no such limit."""
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, limit))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def checked_encoding(file: str, encoding: str, sample: bytes) -> str:
    """The --encoding a user gave, or a clear error when Python doesn't know it or a
    BOM-less file is read as UTF-16/32 (whose byte order would be a guess)."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        hint = "; for Windows 'ANSI' files use cp1252" if "ansi" in encoding.lower() else ""
        reason = f"unknown encoding {encoding!r} (try utf-8, cp1252, utf-16, latin-1){hint}"
        raise ResponsesError(
            CellError(file, None, None, None, reason, ErrorKind.BAD_ENCODING)
        ) from None
    boms = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
    if name in ("utf-16", "utf-32") and not sample.startswith(boms):
        reason = (
            f"the file has no byte order mark, so {encoding} can't tell its byte order: "
            f"give the encoding as {name}-le or {name}-be"
        )
        raise ResponsesError(CellError(file, None, None, None, reason, ErrorKind.BAD_ENCODING))
    return encoding


def is_question_row(row: list[str], questions: frozenset[str]) -> bool:
    """True for the second header row of `alignscan template`: mostly the item texts."""
    cells = [normalise(c) for c in row if c.strip()]
    hits = sum(c in questions for c in cells)
    return bool(questions) and hits >= max(1, len(questions) // 2)
