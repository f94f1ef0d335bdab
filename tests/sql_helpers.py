"""Shared by test_counts_sql and test_spark: a 0-10 survey, the metadata a count
table must carry, the reference engine."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from alignscan.counting.counts import CountTable, count_responses
from alignscan.responses import read_responses
from alignscan.synthetic import write_csv

ZERO_TEN = """
id: nps
title: Zero to ten
version: "1"
scale:
  points: 11
  start: 0
  labels: [Not at all, "1", "2", "3", "4", "5", "6", "7", "8", "9", Completely]
  favorable: [9, 10]
  missing: ["", N/A]
respondent_id: rid
roles:
  column: role
  groups:
    executive: [Executive, VP]
    practitioner: [Engineer, Analyst]
  compare: [executive, practitioner]
segments: [team]
drivers:
  outcome: out
dimensions:
  - id: a
    title: A
    items:
      - {id: a1, text: One}
      - {id: a2, text: Two, reverse: true}
      - {id: a3, text: Three}
  - id: b
    title: B
    items:
      - {id: b1, text: One}
      - {id: b2, text: Two}
  - id: out
    title: Outcome
    items:
      - {id: o1, text: One}
      - {id: o2, text: Two}
      - {id: o3, text: Three}
      - {id: o4, text: Four, reverse: true}
comments:
  - {id: note, text: Anything else?}
"""


def text_frame(frame: pd.DataFrame, tmp: Path) -> pd.DataFrame:
    """The frame as the text a CSV export holds (blank = not answered)."""
    write_csv(frame, tmp)
    return pd.read_csv(tmp, dtype=str, keep_default_na=False)


def reference(path: Path, survey, **options) -> tuple[CountTable, object]:
    rs = read_responses(path, survey, **options)
    return count_responses(rs), rs


def metadata(rs) -> dict[str, object]:
    ids = rs.respondent_ids
    return {
        "source": rs.source, "rows": rs.rows, "errors": [e.as_dict() for e in rs.errors],
        "warnings": rs.warnings, "error_counts": rs.error_counts,
        "unknown_roles": rs.unknown_roles, "unlisted": rs.unlisted_errors,
        "cells_set_missing": rs.cells_set_missing,
        "ids": None if ids is None else ids.to_pylist(), "codes": rs.codes.shape[0],
    }


