"""Shared builders: small surveys and ResponseSets made directly from arrays."""

from __future__ import annotations

import subprocess
import textwrap

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

from alignscan.responses import ResponseSet, RowCounts, SourceInfo
from alignscan.survey import Survey, load_survey_text

# Property tests are derandomised: the same examples on every run and in CI, so a
# failure is reproducible and a pass is not luck. (Loaded before any test module.)
settings.register_profile("derandomized", derandomize=True, print_blob=True)
settings.load_profile("derandomized")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast",
        action="store_true",
        help="the fast tier (`make test-fast`): skip every test that starts a process "
        "(a subprocess, a browser, an install); everything else runs in-process",
    )


# Tests that take about a second of CPU or more each (measured with time.process_time per
# test): they run in `make test` and are left out of `make test-fast`, which keeps cheaper tests
# of every module (checked with coverage: 90% of the lines). Matched on the test's name,
# parameters aside.
HEAVY = {
    "test_privacy.py::test_no_small_set_is_derivable",
    "test_stats_v2.py::test_flag_false_positive_rate_stays_near_5_percent_for_unequal_spreads_and_sizes",
    "test_safety_cli.py::test_a_result_missing_any_key_is_refused_cleanly",
    "test_counts.py::test_blocks_add_up_to_the_whole",
    "test_counts.py::test_counting_a_file_in_blocks_gives_the_whole_file_analysis",
    "test_counts_sql.py::test_problems_fall_back_with_the_default_report",
    "test_counts_sql.py::test_generated_files",
    "test_analysis_props.py::test_swapping_the_compared_groups_negates_every_gap",
    "test_weighting.py::test_weighting_never_pins_a_small_set_of_respondents",
    "test_weighting.py::test_simulation_weighted_gap_is_unbiased_and_covers",
    "test_hostile_round3.py::test_hand_edited_norms_give_a_clear_error",
    "test_hostile_round3.py::test_a_huge_json_is_refused_by_its_size_unread",
    "test_hostile_round3.py::test_hand_edited_results_give_a_clear_error_or_a_safe_report",
    "test_privacy_integer.py::test_without_the_integer_audit_the_attacker_finds_leaks",
    "test_analysis_props.py::test_no_output_shows_a_cell_below_the_minimum",
    "test_streaming.py::test_property_any_small_csv_streams_as_it_reads",
    "test_participation.py::test_no_small_cell_is_published_or_recoverable_on_random_data",
    "test_papercuts_round2.py::test_the_demo_writes_five_sample_organisations_that_make_norms",
    "test_ci_and_install.py::test_demo_command_writes_the_demo_into_a_folder",
    # the seeded error-rate and power simulations at their acceptance sizes (200 replications)
    "test_small_groups.py::test_any_flag_rate_stays_at_or_below_7_percent",
    "test_small_groups.py::test_dimension_favorable_interval_holds_at_3_to_8",
    "test_small_groups.py::test_power_at_60_is_within_10_points_of_welch",
    # limits where the size is the point, and a property test of many full analyses
    "test_hostile_round3.py::test_csv_line_past_the_limit_is_refused_by_name",
    "test_hostile_round3.py::test_numbered_rows_past_excel_are_counted_not_parsed",
    "test_survey.py::test_deep_nesting_is_an_error_not_a_crash",
    "test_analysis_props.py::test_adjusted_interval_excludes_zero_exactly_when_flagged",
    # end-to-end commands (in-process, a second of CPU or more each): the fast tier keeps
    # cheaper tests of the same commands
    "test_cli_survey.py::test_every_help_example_runs",
    "test_norms.py::test_cli",
    "test_papercuts.py::test_demo_next_hint_works_without_activating",
    "test_papercuts.py::test_trend_warns_about_the_same_wave_twice",
    "test_papercuts.py::test_no_comments_keeps_counts_and_drops_texts",
    "test_papercuts.py::test_report_without_html_writes_next_to_the_json",
    "test_weighting.py::test_cli_weighted_figures_equal_a_direct_computation_from_the_rows",
    "test_weighting.py::test_trend_warns_when_only_some_waves_are_weighted",
    "test_weighting.py::test_weights_above_the_cap_are_warned_on_page_one_and_trimmed_on_request",
    "test_weighting.py::test_api_weight_to_gives_the_cli_result",
    "test_weighting.py::test_survey_weights_key_weights_like_the_flag",
    "test_weighting.py::test_workbook_and_deck_say_the_figures_are_weighted",
    "test_duckdb.py::test_analyze_json_is_identical_to_the_default_engine",
    "test_participation.py::test_cli",
    "test_check_cli.py::test_analyze_writes_outputs",
    "test_check_cli.py::test_analyze_default_output_folder",
    "test_parquet.py::test_check_and_trend_take_parquet",
    "test_parquet.py::test_parquet_with_typed_columns_gives_the_csv_result",
    "test_pptx.py::test_cli_writes_the_deck_with_a_template_and_refuses_bad_ones",
    "test_xlsx.py::test_a_weighted_result_shows_effective_n_and_design_effects",
    "test_xlsx.py::test_report_and_analyze_write_the_workbook",
    "test_hostile_round3.py::test_analyze_replaces_only_its_own_files_without_force",
    "test_hostile_round3.py::test_report_check_and_norms_never_replace_a_foreign_file",
    "test_api.py::test_to_json_is_the_cli_json_byte_for_byte",
    "test_api.py::test_api_walkthrough_runs",
    "test_board_report.py::test_report_from_result_json_is_the_report_analyze_wrote",
    "test_pipeline.py::test_the_demo_keeps_the_trend_and_date_so_report_redraws_it",
    "test_hostile_round3.py::test_hand_edited_waves_give_a_clear_error",
    "test_hostile_round3.py::test_norms_with_nan_or_huge_numbers_are_refused",
    "test_streaming.py::test_error_cap_lists_the_same_errors",
    "test_streaming.py::test_builtin_survey_synthetic_file",
    "test_streaming.py::test_parquet_streams_by_record_batches",
    "test_pipeline.py::test_the_command_line_and_the_library_give_the_same_bytes",
    "test_api.py::test_dataframe_and_file_object_give_the_same_answers",
    "test_counts_sql.py::test_item_counts_against_pandas",
    "test_counts_sql.py::test_zero_to_ten_scale_with_tricky_texts",
}
# Whole files whose every test drives a browser or the README tour in processes.
HEAVY_FILES = {"test_report_browser.py", "test_tour.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = item.nodeid.split("[")[0].rsplit("/", 1)[-1]
        if name in HEAVY or name.split("::")[0] in HEAVY_FILES:
            item.add_marker(pytest.mark.heavy)


@pytest.fixture(autouse=True)
def _fast_tier(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In the fast tier a test that starts a process is skipped at that moment, with why.

    The rule is general (no list of test names to keep up to date): starting a process is
    what makes a test slow here (an interpreter start-up, a browser, a pip install)."""
    if not request.config.getoption("--fast"):
        return

    def refuse(*args: object, **kwargs: object) -> None:
        pytest.skip("starts a process: runs in `make test`, not in `make test-fast`")

    monkeypatch.setattr(subprocess, "Popen", refuse)


def make_survey(
    dims: list[list[bool]] | None = None,
    *,
    groups: tuple[str, ...] = ("executive", "management", "practitioner"),
    segments: tuple[str, ...] = ("department",),
    min_group_size: int = 5,
    points: int = 5,
    comments: bool = False,
) -> Survey:
    """A survey whose dimension d has items with the given reverse flags."""
    dims = dims or [[False, False, True], [False, True]]
    labels = [f"L{i}" for i in range(1, points + 1)]
    lines = [
        "id: t",
        "title: Test",
        'version: "1"',
        "scale:",
        f"  points: {points}",
        f"  labels: [{', '.join(labels)}]",
        f"  favorable: [{points - 1}, {points}]",
        "roles:",
        "  column: role",
        "  groups:",
    ]
    lines += [f"    {g}: [{g.title()}]" for g in groups]
    lines += [f"  compare: [{groups[0]}, {groups[-1]}]"]
    if segments:
        lines.append(f"segments: [{', '.join(segments)}]")
    lines.append(f"privacy: {{min_group_size: {min_group_size}, min_comment_group_size: 10}}")
    lines.append("dimensions:")
    n = 0
    for d, flags in enumerate(dims):
        lines += [f"  - id: d{d}", f"    title: Dimension {d}", "    items:"]
        for rev in flags:
            n += 1
            lines.append(f"      - {{id: q{n}, text: Item {n}, reverse: {str(rev).lower()}}}")
    if comments:
        lines.append("comments: [{id: c1, text: Anything else?}]")
    result = load_survey_text("\n".join(lines) + "\n", "test.yaml")
    assert result.ok, result.problems
    assert result.survey is not None
    return result.survey


def make_responses(
    survey: Survey,
    codes: np.ndarray,
    groups: list[str] | np.ndarray,
    segments: dict[str, list[str]] | None = None,
    comments: dict[str, list[str]] | None = None,
) -> ResponseSet:
    n = len(codes)
    names = list(survey.roles.groups)
    seg = {
        col: pd.Categorical(values, categories=sorted(set(values)))
        for col, values in (segments or {}).items()
    }
    for col in survey.segments:
        seg.setdefault(col, pd.Categorical(["all"] * n, categories=["all"]))
    com = {
        c.id: np.asarray((comments or {}).get(c.id, [""] * n), dtype=object)
        for c in survey.comments
    }
    return ResponseSet(
        survey=survey,
        source=SourceInfo(file="test.csv", format="csv"),
        codes=np.asarray(codes, dtype=np.int8),
        item_ids=[i.id for i in survey.items],
        group=pd.Categorical(list(groups), categories=names),
        segments=seg,
        comments=com,
        rows=RowCounts(read=n, used=n),
    )


def random_codes(
    rng: np.random.Generator, n: int, k: int, points: int = 5, missing: float = 0.1
) -> np.ndarray:
    codes = rng.integers(1, points + 1, size=(n, k)).astype(np.int8)
    codes[rng.random((n, k)) < missing] = 0
    return codes


def run_cli(*args: object, cwd=None, env=None, columns: int = 200):  # type: ignore[no-untyped-def]
    """Run `alignscan ...` in this process as the installed command runs it (its error
    handling and exit codes; output to a pipe, not a terminal; `columns` wide, uncoloured)
    and return what `subprocess.run` would. For the tests where the process boundary is not
    what is tested (those use `run_cli_process`): no interpreter start-up, so they run in the
    fast tier. A traceback or an "internal error" is always a failure: an unexpected
    exception is raised here, with its traceback."""
    import contextlib
    import os

    from click.testing import CliRunner

    argv = list(map(str, args))
    full_env = {"COLUMNS": str(columns), "NO_COLOR": "1", **(env or {}), "ALIGNSCAN_DEBUG": "1"}
    with contextlib.chdir(cwd or os.getcwd()):
        done = CliRunner().invoke(_InProcess(), argv, env=full_env)
    if done.exception is not None and not isinstance(done.exception, SystemExit):
        assert done.exc_info is not None
        raise done.exception.with_traceback(done.exc_info[2])
    assert "Traceback" not in done.stdout + done.stderr
    assert "internal error" not in done.stdout + done.stderr
    return subprocess.CompletedProcess(["alignscan", *argv], done.exit_code, done.stdout, done.stderr)


class _InProcess:
    """`alignscan.cli._run` (the app with the command line's error handling) as
    `CliRunner.invoke` calls a command."""

    name = "alignscan"

    def main(self, args: list[str], prog_name: str, **extra: object) -> None:
        from alignscan.cli import _run

        _run(list(args), prog_name)


def run_cli_process(*args: object, cwd=None, env=None):  # type: ignore[no-untyped-def]
    """Run `python -m alignscan ...` in a new process as a user would (wide, uncoloured
    terminal): for the tests where the process itself matters. A traceback or an "internal
    error" is always a failure."""
    import os
    import sys

    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    full_env.pop("ALIGNSCAN_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "alignscan", *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
        cwd=cwd,
    )
    assert "Traceback" not in done.stdout + done.stderr
    assert "internal error" not in done.stdout + done.stderr
    return done


@pytest.fixture
def dedent():
    return textwrap.dedent
