"""The soak: memory growth after the warm-up, the verdicts, and the report's Soak section."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from bench.analysis.soak import memory_growth, soak_checks
from bench.report import write_report
from bench.results import BenchResults, MemorySeries, RunResult, Step, read_results, write_results
from bench.run.sampling import MemorySampler, process_tree_memory_bytes
from tests.bench.conftest import fixture_results, make_run

MIB = 2**20
FLASK = "flask/gunicorn-gthread/1wx4t"
FASTAPI = "fastapi/uvicorn/1w"


def _series(
    values_mib: list[float], *, warmup: list[float] = (), interval_s: float = 5.0
) -> MemorySeries:
    """Warm-up samples at negative times, then one sample every ``interval_s`` from 0."""
    t = [-(len(warmup) - i) * interval_s for i in range(len(warmup))]
    t += [i * interval_s for i in range(len(values_mib))]
    return MemorySeries(
        metric="pss",
        interval_s=interval_s,
        t_s=t,
        mem_bytes=[int(v * MIB) for v in [*warmup, *values_mib]],
    )


def test_growth_is_measured_from_the_medians_after_the_warm_up() -> None:
    # 20 window samples: edges of 5. A spike in the first edge and a dip in the last are
    # outvoted; the warm-up's lower figures are left out altogether.
    window = [100, 100, 300, 100, 100] + [105] * 10 + [110, 110, 50, 110, 110]
    growth = memory_growth(_series(window, warmup=[40, 60]), window_s=95)
    assert growth.samples == 20 and growth.edge == 5
    assert growth.start_bytes == 100 * MIB
    assert growth.end_bytes == 110 * MIB
    assert growth.growth == pytest.approx(0.10)
    assert growth.meets_target is False  # the target is strictly below 10 %


def test_samples_after_the_measured_window_do_not_count() -> None:
    growth = memory_growth(_series([100, 101, 102, 103, 500]), window_s=15)
    assert growth.samples == 4 and growth.edge == 1
    assert growth.growth == pytest.approx(0.03)
    assert growth.meets_target is True


def test_growth_needs_two_samples_in_the_window() -> None:
    growth = memory_growth(_series([100], warmup=[90, 95]), window_s=60)
    assert growth.samples == 1 and math.isnan(growth.growth)
    assert growth.meets_target is None


def test_sampler_series_is_relative_to_the_measured_window() -> None:
    sampler = MemorySampler(os.getpid(), interval_s=5.0)  # never started: no thread
    sampler.samples = [(1000.0, 10), (1005.0, 11), (1010.0, 12)]
    series = sampler.series(begin=1005.0)
    assert series.t_s == [-5.0, 0.0, 5.0]
    assert series.mem_bytes == [10, 11, 12]
    assert series.metric == "pss" and series.interval_s == 5.0


def test_tree_memory_is_pss_of_a_live_process_and_zero_once_gone() -> None:
    pss = process_tree_memory_bytes(os.getpid(), "pss")
    rss = process_tree_memory_bytes(os.getpid(), "rss")
    assert 0 < pss <= rss
    assert process_tree_memory_bytes(2**22 + 12345) == 0  # above the kernel's pid limit


def _soak_run(label: str, memory_mib: list[float], failures: int) -> RunResult:
    run = make_run(Step("mixed", label, 16, 0.0, 100, 10, 0, "compare"), 20)
    run.failures = failures
    run.failures_by_name = {"POST /documents": failures} if failures else {}
    run.memory = _series(memory_mib, warmup=[80, 90], interval_s=5.0)
    return run


def soak_results() -> BenchResults:
    """Flask holds steady with no failure; FastAPI grows by 20 % and fails 3 requests."""
    results = fixture_results()
    results.profile = "soak"
    results.environment["profile"] = {
        "duration_s": 100,
        "warmup_s": 10,
        "repeats": 1,
        "compare": {"mixed": 16},
    }
    results.environment["profile_as_defined"] = {"duration_s": 600}
    results.runs = [
        _soak_run(FLASK, [200] * 21, 0),
        _soak_run(FASTAPI, [250] * 5 + [275] * 11 + [300] * 5, 3),
        make_run(Step("ingest_under_load", FLASK, 8, 0.0, 120, 10, 0, "single"), 20),
    ]
    return results


def test_soak_checks_judge_each_twin_on_both_targets() -> None:
    flask, fastapi = soak_checks(soak_results())
    assert flask.config == FLASK and fastapi.config == FASTAPI
    assert flask.memory is not None and flask.memory.growth == 0.0
    assert (flask.memory_ok, flask.failures_ok, flask.passed) == (True, True, True)
    assert fastapi.memory is not None and fastapi.memory.growth == pytest.approx(0.20)
    assert (fastapi.memory_ok, fastapi.failures_ok, fastapi.passed) == (False, False, False)


def test_soak_checks_are_empty_for_other_profiles() -> None:
    results = soak_results()
    results.profile = "quick"
    assert soak_checks(results) == []


def test_soak_checks_without_memory_cannot_pass() -> None:
    results = soak_results()
    results.runs[0].memory = None
    check = soak_checks(results)[0]
    assert check.memory is None and check.failures_ok
    assert check.passed is None
    assert check.inconclusive == ["no memory was sampled (results written before sampling existed)"]


def test_a_soak_sampled_over_part_of_its_window_is_inconclusive() -> None:
    # Samples stop at 45 s of a 100 s window: steady memory, but no verdict on the rest.
    results = soak_results()
    results.runs[0].memory = _series([200] * 10, warmup=[80, 90])
    check = soak_checks(results)[0]
    assert check.coverage == pytest.approx(0.45)
    assert check.memory is not None and check.memory.growth == 0.0
    assert (check.memory_ok, check.passed) == (None, None)
    assert check.inconclusive == ["memory samples cover only 45% of the window"]


def test_an_invalid_soak_run_is_inconclusive_but_failures_still_fail() -> None:
    results = soak_results()
    for run in results.runs[:2]:
        run.valid = False
        run.invalid_reasons = ["load generator at 95% of a core"]
    flask, fastapi = soak_checks(results)
    assert flask.passed is None
    assert flask.inconclusive == ["the run is invalid: load generator at 95% of a core"]
    assert fastapi.passed is False  # 3 failed requests are failures, valid run or not


def test_soak_steps_are_those_of_the_recorded_profile() -> None:
    results = soak_results()
    results.environment["profile"]["compare"] = {"ingest_under_load": 8}
    assert [c.run.step.scenario for c in soak_checks(results)] == ["ingest_under_load"]


def test_memory_series_round_trips_through_json(tmp_path: Path) -> None:
    write_results(soak_results(), tmp_path / "results.json")
    runs = read_results(tmp_path).runs
    assert runs[1].memory == soak_results().runs[1].memory
    assert runs[2].memory is None


def test_report_has_a_soak_section_with_figures_and_verdicts(tmp_path: Path) -> None:
    write_results(soak_results(), tmp_path / "results.json")
    paths = write_report(tmp_path)
    markdown = paths.markdown.read_text()
    assert "## Soak: memory and failures over a long run" in markdown
    # The Soak section comes first, so each twin's first row is its soak row.
    rows = {
        label: next(line for line in markdown.splitlines() if line.startswith(f"| {label} |"))
        for label in (FLASK, FASTAPI)
    }
    assert rows[FLASK].endswith(
        "| 1.7 min | 2,000 | 0 | 200.0 MiB | 200.0 MiB | +0.0% | pass | pass | pass |"
    )
    assert rows[FASTAPI].endswith(
        "| 1.7 min | 2,000 | 3 | 250.0 MiB | 300.0 MiB | +20.0% | **fail** | **fail** | **fail** |"
    )
    assert (
        f"Soak verdict: **fail**: {FASTAPI}: memory grew +20.0% after the warm-up (target "
        "< 10%), 3 of 2,000 requests failed (POST /documents: 3); target 0." in markdown
    )
    assert "not the profile's 10" in markdown  # 100 s is shorter than the planned soak
    assert (tmp_path / "plots" / "soak-memory.png").exists()
    assert "Soak verdict: <b>fail</b>" in paths.html.read_text()
    assert f"soak {FASTAPI}: memory +20.0% (target < 10%, fail)" in paths.headline_text


def test_report_of_an_inconclusive_soak_says_why(tmp_path: Path) -> None:
    results = soak_results()
    results.runs = results.runs[:1]
    results.runs[0].memory = None
    write_results(results, tmp_path / "results.json")
    markdown = write_report(tmp_path).markdown.read_text()
    assert (
        f"Soak verdict: **inconclusive**: {FLASK}: no memory was sampled (results written "
        "before sampling existed)." in markdown
    )


def test_report_of_a_passing_soak_says_so(tmp_path: Path) -> None:
    results = soak_results()
    results.runs = results.runs[:1]
    write_results(results, tmp_path / "results.json")
    markdown = write_report(tmp_path).markdown.read_text()
    assert "Soak verdict: **pass**: every twin stayed within both targets." in markdown


def test_other_profiles_have_no_soak_section(rendered: str) -> None:
    assert "## Soak" not in rendered
