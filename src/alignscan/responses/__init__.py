"""Responses: read survey exports (CSV, Excel, Parquet), code answers into scale codes
and validate every cell, collecting all problems at once.

A package split by concern: `sniffing` (encoding, delimiter, export tools),
`csv_reader`, `xlsx_reader`, `parquet_reader` (each -> `model.RawTable`), `coding`
(answer text -> scale position), `validation` (RawTable -> ResponseSet, every error),
`streaming` (the same, block by block: `stream_responses`),
`kinds` (error kinds, exclusion reasons, changes as str enums), `model` (ResponseSet,
CellError, Labels...), `export` (template and errors CSV) and `reader`
(`read_responses`). The names below are the public interface."""

from alignscan.responses.coding import answer_lookup, code_answer
from alignscan.responses.export import errors_csv_text, template_rows, write_errors_csv
from alignscan.responses.kinds import Change, ErrorKind, Exclusion
from alignscan.responses.model import (
    BLANK_SEGMENT,
    CellError,
    Labels,
    RawTable,
    ResponsesError,
    ResponseSet,
    RowCounts,
    SourceInfo,
)
from alignscan.responses.reader import Progress, read_responses
from alignscan.responses.sniffing import question_texts
from alignscan.responses.streaming import ResponseStream, stream_responses

__all__ = [
    "BLANK_SEGMENT",
    "CellError",
    "Change",
    "ErrorKind",
    "Exclusion",
    "Labels",
    "Progress",
    "RawTable",
    "ResponseSet",
    "ResponseStream",
    "ResponsesError",
    "RowCounts",
    "SourceInfo",
    "answer_lookup",
    "code_answer",
    "errors_csv_text",
    "question_texts",
    "read_responses",
    "stream_responses",
    "template_rows",
    "write_errors_csv",
]
