"""Issue 32: papercuts, round two — one test per bullet that has behaviour."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from conftest import run_cli

CORPUS = Path(__file__).parent / "data" / "responses"
SURVEY = str(CORPUS / "survey.yaml")
LENIENT = "re-run with --lenient"


def run(*args: object, columns: int = 200) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, columns=columns)


# ----------------------------------------------------------------- the wrong survey


def wrong_survey_file(tmp_path: Path) -> Path:
    """An export made for another survey: 1 of the corpus survey's 4 item columns, and
    columns it doesn't know in an order that is neither sorted nor hash order."""
    path = tmp_path / "other.csv"
    path.write_text(
        "id,role,department,zeta,q1,alpha,mid,omega\n"
        + "".join(f"r{i},VP,D,1,2,3,4,5\n" for i in range(6)),
        encoding="utf-8",
    )
    return path


def test_a_file_for_another_survey_says_so(tmp_path: Path) -> None:
    from alignscan.responses import read_responses
    from alignscan.survey import load_survey

    path = wrong_survey_file(tmp_path)
    (error,) = read_responses(path, load_survey(SURVEY)).errors
    assert error.kind == "wrong_survey"
    assert "this file does not look like survey 'corpus': 1 of 4 item columns found" in (
        error.reason
    )
    assert "missing: 'q2', 'q3', 'q4'" in error.reason  # survey order
    assert "in file order: 'zeta', 'alpha', 'mid', ..." in error.reason  # file order


def test_the_wrong_survey_is_not_told_to_use_lenient(tmp_path: Path) -> None:
    done = run("analyze", wrong_survey_file(tmp_path), "-s", SURVEY, "--no-save")
    assert done.returncode == 1
    assert "does not look like survey 'corpus'" in done.stdout
    assert "--lenient" not in done.stdout + done.stderr
    assert "with --survey FILE" in done.stdout


def test_no_stray_survey_flag_after_the_built_in_survey_note() -> None:
    done = run("check", CORPUS / "valid_utf8.csv", columns=500)  # built-in: no item matches
    assert done.returncode == 1
    (text,) = [line for line in done.stdout.splitlines() if "item columns found" in line]
    assert "[--survey]" not in text
    assert "0 of 33 item columns found (missing: 'roi1', 'roi2', 'roi3', ...;" in text
    assert "No --survey was given, so the built-in survey was used." in text
    assert "in file order: 'id', 'q1', 'q2', ...)" in text  # role, department: the survey's
    assert text.rstrip(" │").endswith("Give the survey definition it was made for with --survey FILE")


def test_lenient_is_suggested_once_and_only_where_it_helps(tmp_path: Path) -> None:
    strict = run("analyze", CORPUS / "error_out_of_range.csv", "-s", SURVEY, "--no-save")
    assert strict.returncode == 1 and strict.stdout.count(LENIENT) == 1
    for name in ("error_missing_column.csv", "error_duplicate_column.csv"):
        for flags in ((), ("--lenient",)):  # --lenient can't fix a header
            done = run("analyze", CORPUS / name, "-s", SURVEY, "--no-save", *flags)
            assert done.returncode == 1, (name, flags)
            assert LENIENT not in done.stdout, (name, flags)
            assert "--lenient skips bad cells and rows, not these" in done.stdout
    wave = CORPUS / "error_out_of_range.csv"
    trend = run("trend", wave, CORPUS / "valid_utf8.csv", "-s", SURVEY)
    assert trend.returncode == 1 and trend.stdout.count(LENIENT) == 1


# ----------------------------------------------------------------- numbers


def test_no_number_prints_as_minus_zero() -> None:
    from alignscan.render.formats import num, pct, pts, signed

    for value in (-0.0, -1e-9, -0.0049, -0.004999, 0.0, 0.004, -0.004):
        for text in (signed(value), num(value), pts(value), pts(value, unit=False),
                     pct(abs(value) * -1)):
            assert not re.match(r"^[-−]0(\.0+)?(%| pts)?$", text), (value, text)
    assert signed(-0.004) == "0.00" and signed(-0.006) == "-0.01" and signed(0.3) == "+0.30"
    assert pts(-0.004) == "0 pts" and pts(-0.006) == "-1 pts" and num(-0.001) == "0.00"


def test_q_values_have_at_most_three_decimals_and_never_misread_the_threshold() -> None:
    from alignscan.render.formats import qfmt

    for k in range(1, 20001):
        q = k / 20000 * 0.2  # 0.00001 ... 0.2, dense around 0.05
        text = qfmt(q).replace("\u00a0", " ")
        if text.startswith("< "):
            assert float(text[2:]) <= 0.05 and q < float(text[2:]), (q, text)
            continue
        assert re.fullmatch(r"\d\.\d{3}", text), (q, text)
        assert (float(text) < 0.05) == (q < 0.05), (q, text)  # as printed, as flagged
    assert qfmt(0.0497).replace("\u00a0", " ") == "< 0.05" and qfmt(0.05004) == "0.050"


def test_a_percentile_of_zero_is_the_lowest() -> None:
    from alignscan.render.sections import benchmark_sentence, percentile_place

    assert [percentile_place(n) for n in (0, 1, 2, 3, 11, 88, 100)] == [
        "lowest", "1st", "2nd", "3rd", "11th", "88th", "highest"]
    def unit(percentile: float):
        return bench_unit(
            0.02, {"orgs": 24, "gap": {"favorable_p50": 0.09, "favorable_percentile": percentile}}
        )

    result = compared("executive", "practitioner")
    sentence = benchmark_sentence(result, unit(0.0))
    assert sentence is not None and "0th" not in sentence
    assert sentence.endswith("the median of 24 organisations is +9: the lowest of them.")
    assert (benchmark_sentence(result, unit(87.5)) or "").endswith(": 88th percentile.")


# ----------------------------------------------------------------- the trend table


@pytest.fixture(scope="module")
def trend_doc(tmp_path_factory) -> dict:
    from alignscan.api import load_wave
    from alignscan.demo import write_demo_data
    from alignscan.extras.trend import trend

    before, now = write_demo_data(tmp_path_factory.mktemp("waves"), n=300)
    return trend([load_wave(before).result, load_wave(now).result], ["baseline", "this wave"])


def trend_text(doc: dict, width: int) -> str:
    from alignscan.render.terminal import print_trend

    console = Console(file=io.StringIO(), width=width, color_system=None)
    print_trend(doc, console)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_the_trend_table_fits_80_columns_without_wrapping_a_row(trend_doc) -> None:
    text = trend_text(trend_doc, 80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in text
    for d in trend_doc["dimensions"]:  # one whole row per dimension: every cell on it
        (row,) = [line for line in lines if line.startswith(d["id"] + " ")]
        change = d["changes"][-1]["gap"]
        assert row.rstrip().endswith("no clear change") or change["direction"], row
    assert not any(line.strip() in ("change", "clear", "no clear") for line in lines)


def test_a_narrow_terminal_gets_the_trend_as_lines_not_a_cropped_table(trend_doc) -> None:
    text = trend_text(trend_doc, 60)
    assert max(len(line) for line in text.splitlines()) <= 60 and "…" not in text
    flat = " ".join(text.split())
    for d in trend_doc["dimensions"]:
        assert re.search(rf"{d['id']}: baseline [+-]?\d\.\d\d, this wave [+-]?\d\.\d\d; "
                         r"change [+-]?\d\.\d\d \(95% CI ", flat), d["id"]
    assert flat.count("no clear change") + flat.count("closing") + flat.count(
        "widening") + flat.count("reversed") >= len(trend_doc["dimensions"])


def test_trend_at_columns_80_in_a_terminal(tmp_path: Path) -> None:
    from alignscan.demo import write_demo_data

    before, now = write_demo_data(tmp_path, n=300)
    done = run("trend", before, now, "--labels", "Q1 2026,Q2 2026", columns=80)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert sum("no clear change" in line or "closing" in line or "widening" in line
               for line in lines) == 7  # one line per dimension, none wrapped


# ----------------------------------------------------------------- help and options


def test_help_examples_write_only_under_reports() -> None:
    import typer.main

    from alignscan.cli import app

    stack = list(typer.main.get_command(app).commands.values())  # type: ignore[attr-defined]
    written = []
    while stack:
        cmd = stack.pop()
        stack += list(getattr(cmd, "commands", {}).values())
        match = re.search(r"Example:\s+(alignscan [^()]*)", cmd.epilog or "")
        if not match:
            continue
        words = match.group(1).split()
        for k, word in enumerate(words[:-1]):
            if word in (">", "-o", "--output", "--errors", "--html", "--json", "--csv", "--out"):
                written.append(words[k + 1])
        if words[1] == "init":
            written.append(words[2])
    assert len(written) >= 7
    assert all(path.startswith("reports/") for path in written), written


def test_header_row_is_the_one_documented_name_in_every_command() -> None:
    import typer.main

    from alignscan.cli import app

    stack = list(typer.main.get_command(app).commands.values())  # type: ignore[attr-defined]
    seen = 0
    while stack:
        cmd = stack.pop()
        stack += list(getattr(cmd, "commands", {}).values())
        options = {o: p for p in getattr(cmd, "params", []) for o in p.opts}
        if "--header-rows" in options:
            seen += 1
            assert options["--header-rows"].hidden and "--header-row" in options
            assert not options["--header-row"].hidden
    assert seen >= 2  # check and analyze
    for command in ("check", "analyze"):
        shown = run(command, "--help").stdout
        assert "--header-row " in shown and "--header-rows" not in shown


def test_the_hidden_header_rows_still_works() -> None:
    qualtrics = CORPUS / "qualtrics_export.csv"
    detected = json.loads(run("check", qualtrics, "-s", SURVEY, "-f", "json").stdout)
    forced = json.loads(run("check", qualtrics, "-s", SURVEY, "-f", "json",
                            "--header-rows", "3").stdout)
    assert detected["rows"] == forced["rows"] and forced["format"]["header_rows"] == 3


# ----------------------------------------------------------------- the demo's norms


def test_the_demo_writes_five_sample_organisations_that_make_norms(tmp_path: Path) -> None:
    from alignscan.demo import write_sample_orgs

    written = write_sample_orgs(tmp_path / "clients")
    assert len(written) == 5 and all(p.name == "result.json" for p in written)
    again = write_sample_orgs(tmp_path / "again")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in written]  # seeded
    done = run("norms", "build", *written, "-o", tmp_path / "norms.json")
    assert done.returncode == 0, done.stdout + done.stderr
    norms = json.loads((tmp_path / "norms.json").read_text("utf-8"))
    assert norms["orgs"] == 5


# ----------------------------------------------------------------- comments, stored once


def comment_doc(tmp_path: Path) -> tuple[dict, list[str]]:
    """A result from rows whose comments repeat (one sentence 12 times)."""
    from alignscan.api import analyze

    rows = ["id,role,department,q1,q2,q3,q4,comment"]
    said = []
    for i in range(24):
        role = "VP" if i % 2 else "Engineer"
        text = "More training please" if i < 12 else f"note {i % 3}"
        rows.append(f"r{i},{role},D,4,4,2,2,{text}")
        said.append((role, text))
    path = tmp_path / "comments.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return analyze(path, SURVEY).document, [t for _, t in said]


def test_each_distinct_comment_is_stored_once_with_its_count(tmp_path: Path) -> None:
    from collections import Counter

    doc, _ = comment_doc(tmp_path)
    rows = [line.split(",") for line in
            (tmp_path / "comments.csv").read_text("utf-8").splitlines()[1:]]
    for group, roles in (("executive", {"VP"}), ("practitioner", {"Engineer"})):
        cell = doc["comments"][0]["groups"][group]
        expected = Counter(r[7] for r in rows if r[1] in roles)
        assert cell["texts"] == [{"text": t, "count": n} for t, n in sorted(expected.items())]
        assert cell["count"] == sum(expected.values())
        texts = [t["text"] for t in cell["texts"]]
        assert len(texts) == len(set(texts))


def test_comments_stay_hidden_for_groups_under_the_comment_minimum(tmp_path: Path) -> None:
    doc, _ = comment_doc(tmp_path)  # 12 per group: above 10; now lift the minimum
    from alignscan.api import analyze
    from alignscan.survey import load_survey

    survey = load_survey(SURVEY)
    strict = survey.model_copy(update={
        "privacy": survey.privacy.model_copy(update={"min_comment_group_size": 13})})
    hidden = analyze(tmp_path / "comments.csv", strict).document
    assert all(cell == {"suppressed": True} for cell in hidden["comments"][0]["groups"].values())
    assert "More training please" not in json.dumps(hidden)


def test_an_older_result_with_repeated_texts_still_loads_and_renders(tmp_path: Path) -> None:
    from alignscan.api import load_result

    doc, _ = comment_doc(tmp_path)
    old = json.loads(json.dumps(doc))
    for comment in old["comments"]:  # the earlier shape: every comment, repeats included
        for cell in comment["groups"].values():
            if "texts" in cell:
                cell["texts"] = [t["text"] for t in cell["texts"] for _ in range(t["count"])]
    assert old["comments"][0]["groups"]["executive"]["texts"].count("More training please") == 6
    saved = tmp_path / "old" / "result.json"
    saved.parent.mkdir()
    saved.write_text(json.dumps(old), encoding="utf-8")
    assert load_result(saved).document["comments"] == doc["comments"]
    done = run("report", saved, "--html", tmp_path / "report.html")
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "report.html").read_text("utf-8")
    assert "More training please</bdi> <span class=\"note\">(×6)</span>" in html
    assert html.count("More training please") == 2  # once per group, with its count


# ----------------------------------------------------------------- the README's export section


def readme_exports() -> list[tuple[str, str]]:
    """(CSV, survey YAML) pairs of the README's Qualtrics and SurveyMonkey section."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    section = text.split("## Qualtrics and SurveyMonkey exports", 1)[1].split("\n## ", 1)[0]
    csvs = re.findall(r"```csv\n(.*?)```", section, flags=re.S)
    yamls = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)
    assert len(csvs) == len(yamls) == 2
    return list(zip(csvs, yamls, strict=True))


@pytest.mark.parametrize("tool,index", [("Qualtrics", 0), ("SurveyMonkey", 1)])
def test_the_readme_export_examples_read_as_documented(tool: str, index: int,
                                                       tmp_path: Path) -> None:
    from alignscan.responses import read_responses
    from alignscan.survey import load_survey_text

    export, definition = readme_exports()[index]
    loaded = load_survey_text(definition)
    assert loaded.survey is not None, loaded.problems
    path = tmp_path / "export.csv"
    path.write_text(export, encoding="utf-8")
    rs = read_responses(path, loaded.survey)
    assert rs.errors == [], rs.errors[:3]
    assert (rs.source.export_tool, rs.source.header_rows) == (tool, 3 if index == 0 else 2)
    # VP: Agree, Strongly agree, Neither, Disagree; Engineer: Disagree, Neither, Agree, SD
    assert rs.codes.tolist() == [[4, 5, 3, 2], [2, 3, 4, 1]]
    assert list(rs.group) == ["executive", "practitioner"]
    assert list(rs.segments[loaded.survey.segments[0]]) == ["Finance", "IT"]
    assert rs.comments["close_gap"].tolist() == ["More budget for training", ""]


def test_the_notebook_summary_formats_numbers_as_the_report_does(tmp_path: Path) -> None:
    from alignscan.result.frames import summary_html

    doc, _ = comment_doc(tmp_path)
    gap = doc["dimensions"][0]["gap"]
    gap.update({"q_value": 0.04996, "mean": -0.001, "mean_ci": [-0.3, 0.0001]})
    page = summary_html(doc)
    assert "<td>&lt;\u00a00.05</td>" in page  # never "0.05" (.3g) beside a bold gap
    assert "-0.00" not in page and "[-0.30, 0.00]" in page


def bench_unit(favorable: float, benchmark: dict, title: str = "ROI"):
    """A dimension with only what a benchmark sentence reads: its gap's favorable share
    and its benchmark (a model built unchecked; the benchmark validated)."""
    from alignscan.result.models import Dimension, Gap

    gap = Gap.model_construct(favorable=favorable)
    return Dimension.model_construct(id=title.lower(), title=title, gap=gap).updated(
        benchmark={"groups": {}, **benchmark}  # no group marks unless given
    )


def compared(a: str, b: str):
    """A result that only says which groups it compares (built unchecked)."""
    from alignscan.result.models import ResultDocument

    return ResultDocument.model_construct(compare=[a, b])
