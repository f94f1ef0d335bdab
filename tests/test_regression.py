"""The demo result is frozen: a refactor must not change a single published figure.

`tests/data/regression/demo-800-result.json` was written by `analyze` on the seeded demo
wave (800 respondents) once the statistics contract v2 and the anonymity audit were in.
Keys, order, strings and integers must match exactly; floats to 12 significant digits
(the last bits of a float may move with the BLAS a machine has, nothing else may).
Regenerate it only for a deliberate change of a published figure, and say so. (Last:
issue 26, the answer-risk audit: 9 protective hides of segment cells became 2, so the
segment gaps' family and their adjusted intervals changed.)
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from alignscan.analysis.analysis import analyze
from alignscan.demo import write_demo_data
from alignscan.render.tabular import result_to_json
from alignscan.responses import read_responses
from alignscan.result.models import ResultDocument, upgrade_comments
from alignscan.survey import load_survey

FROZEN = Path(__file__).parent / "data" / "regression" / "demo-800-result.json"


def _same(a, b, where="$"):
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{where}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def test_demo_result_is_unchanged(tmp_path) -> None:
    _, wave2 = write_demo_data(tmp_path, n=800)
    text = result_to_json(analyze(read_responses(wave2, load_survey(None))))
    # frozen before comments were stored once per distinct text: read as load_result does
    _same(json.loads(text), upgrade_comments(json.loads(FROZEN.read_text(encoding="utf-8"))))
    # and the typed model writes exactly the bytes the analysis wrote
    assert ResultDocument.model_validate_json(text).to_json() == text
