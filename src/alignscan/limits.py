"""Reading budgets: how large a file may unfold before alignscan refuses to read it.

A small hostile file can expand without bound (an .xlsx is a zip archive; a CSV line or
a Parquet row group can be arbitrarily long): each reader checks these limits before it
parses, so such a file is refused in seconds with little memory. Every limit can be
raised with its environment variable; a refusal names it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from alignscan.errors import AlignscanError


class LimitSettingError(AlignscanError, ValueError):
    """An ALIGNSCAN_MAX_* environment variable that is not a positive number (usage)."""

    code = "invalid_limit"
    exit_code = 2


@dataclass(frozen=True)
class Limit:
    """One budget: its environment variable, default, and the unit it is given in."""

    env: str
    default: int
    unit: int = 1  # the variable is given in units of this many (1 << 20 for MiB)
    what: str = ""

    def value(self) -> int:
        """The limit in base units (bytes, rows, columns...), from the environment."""
        raw = os.environ.get(self.env, "").strip()
        if not raw:
            return self.default * self.unit
        try:
            number = int(raw)
        except ValueError:
            number = 0
        if number < 1:
            raise LimitSettingError(
                f"{self.env}={raw[:40]} is not a positive whole number ({self.what}); "
                "unset it or give a number"
            )
        return number * self.unit

    def hint(self) -> str:
        """How to raise the limit, for an error message."""
        return f"if you trust the file, raise the limit with {self.env}=<{self.what}>"


MIB = 1 << 20
XLSX_RATIO = Limit("ALIGNSCAN_MAX_XLSX_RATIO", 100, what="uncompressed/compressed ratio")
XLSX_PART_MB = Limit("ALIGNSCAN_MAX_XLSX_PART_MB", 4096, MIB, "MiB per workbook part")
SHARED_STRINGS_MB = Limit("ALIGNSCAN_MAX_SHARED_STRINGS_MB", 32, MIB, "MiB of shared strings")
AUDIT_SECONDS = Limit("ALIGNSCAN_MAX_AUDIT_SECONDS", 120, what="seconds of the anonymity audit")
COLUMNS = Limit("ALIGNSCAN_MAX_COLUMNS", 16_384, what="columns")
XLSX_TEXT_MB = Limit("ALIGNSCAN_MAX_XLSX_TEXT_MB", 64, MIB, "Mi characters of cell text")
CSV_LINE_MB = Limit("ALIGNSCAN_MAX_LINE_MB", 16, MIB, "MiB per CSV line")
ROW_GROUP_MB = Limit("ALIGNSCAN_MAX_ROW_GROUP_MB", 1024, MIB, "MiB per Parquet row group")
JSON_MB = Limit("ALIGNSCAN_MAX_JSON_MB", 256, MIB, "MiB per JSON document")
RATIO_FLOOR = MIB  # parts smaller than this unfold too little to matter, whatever the ratio
EXCEL_MAX_CELL_CHARS = 32_767  # Excel never saves a longer cell text


def read_document(path: os.PathLike[str] | str, what: str) -> str:
    """The text of a JSON document alignscan reads back (a result, norms), refused by
    its size before it is read (AlignscanError) when larger than `JSON_MB`."""
    from pathlib import Path

    path = Path(path)
    most = JSON_MB.value()
    size = path.stat().st_size
    if size > most:
        raise AlignscanError(
            f"{path} is {size:,} bytes, more than any {what} alignscan writes (limit "
            f"{most:,}); {JSON_MB.hint()}",
            code="too_large",
        )
    return path.read_text(encoding="utf-8")


RESULT_NUMBER_LIMIT = 1e15


def strict_json(text: str) -> Any:
    """JSON with finite, plausibly sized numbers only (NaN, Infinity, 1e999 refused)."""

    def constant(name: str) -> float:
        raise ValueError(f"{name} is not a number a result can hold")

    def number(literal: str) -> float:
        value = float(literal)
        if not abs(value) <= RESULT_NUMBER_LIMIT:
            raise ValueError(f"the number {literal[:30]} is out of range")
        return value

    def integer(literal: str) -> int:
        if len(literal) > 16 or abs(int(literal)) > RESULT_NUMBER_LIMIT:
            raise ValueError(f"the number {literal[:30]} is out of range")
        return int(literal)

    return json.loads(text, parse_constant=constant, parse_float=number, parse_int=integer)
