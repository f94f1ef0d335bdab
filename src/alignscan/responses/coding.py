"""Coding answers: answer text -> scale position, once per distinct text (the columns
are dictionary-encoded, so a million rows are one array lookup)."""

from __future__ import annotations

import re

import numpy as np

from alignscan.survey import Survey, normalise


def answer_lookup(survey: Survey) -> dict[str, int]:
    """Normalised answer text -> scale position (1..points; 0 = not answered) for
    labels, aliases and missing values."""
    scale = survey.scale
    lookup: dict[str, int] = {"": 0}
    for text in scale.missing:
        lookup[normalise(text)] = 0
    for position, label in enumerate(scale.labels, start=1):
        lookup[normalise(label)] = position
    for alias, code in scale.aliases.items():
        lookup[normalise(alias)] = code - scale.start + 1
    return lookup


_CODE_AND_LABEL = (
    re.compile(r"^(\d+)\s*[-–—=:.)]\s*(.+)$"),  # "5 - Strongly agree", "5) Strongly agree"
    re.compile(r"^(.+?)\s*[(\[](\d+)[)\]]$"),  # "Strongly agree (5)"
)


def code_answer(text: str, lookup: dict[str, int], points: int, start: int = 1) -> int | None:
    """The scale position (1..points) of one answer text; None when it is not a valid
    answer. Codes run start..start+points-1.

    Accepts a label, an alias, a code (``4`` or ``4.0``), or a code and its label
    together as many tools export them (``5 - Strongly agree``, ``Strongly agree (5)``)
    when the two agree."""
    key = normalise(text)
    if key in lookup:
        return lookup[key]
    try:
        number = float(key.replace(",", "."))
    except ValueError:
        return _code_with_label(key, lookup, points, start)
    if number.is_integer() and start <= number < start + points:
        return int(number) - start + 1
    return None


def _code_with_label(key: str, lookup: dict[str, int], points: int, start: int) -> int | None:
    for pattern in _CODE_AND_LABEL:
        match = pattern.match(key)
        if not match:
            continue
        first, second = match.groups()
        number, label = (first, second) if first.isdigit() else (second, first)
        position = lookup.get(label.strip())
        if position and int(number) == position + start - 1 and position <= points:
            return position
    return None


def dictionary_parts(arr: object) -> tuple[list[str], np.ndarray]:
    import pyarrow as pa

    if not pa.types.is_dictionary(arr.type):  # type: ignore[attr-defined]
        arr = arr.dictionary_encode()  # type: ignore[attr-defined]
    values = [str(v) for v in arr.dictionary.to_pylist()]  # type: ignore[attr-defined]
    indices = arr.indices.to_numpy(zero_copy_only=False)  # type: ignore[attr-defined]
    return values, indices


def show(value: str) -> str:
    """An offending cell as shown in an error: trimmed to a readable length."""
    return value if len(value) <= 80 else value[:77] + "..."


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def is_number(text: str) -> bool:
    try:
        float(text.strip().replace(",", "."))
    except ValueError:
        return False
    return True
