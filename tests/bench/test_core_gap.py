"""Why text search through a twin falls short of the in-process core: the CPU per search
each side spent, the twin's /echo floor and what the target allows, in each of its cases."""

from __future__ import annotations

import dataclasses

import pytest

from bench.analysis.core_gap import CORE_SHARE_TARGET, core_gap
from bench.analysis.ratios import headline_ratios
from bench.analysis.targets import runtime_targets
from bench.plan.topology import IN_PROCESS
from bench.results import BenchResults
from tests.bench.conftest import FASTAPI, FLASK, fixture_results


def with_costs(core_us: float, twin_us: float, echo_us: float | None) -> BenchResults:
    """The fixture run with these server CPU costs (µs per request); no /echo when None."""
    results = fixture_results()
    runs = []
    for run in results.runs:
        if run.step.scenario == "search_text" and run.step.config == IN_PROCESS:
            run = dataclasses.replace(run, server_cpu_us_per_request=core_us)
        elif run.step.scenario == "search_text" and run.step.config in (FLASK, FASTAPI):
            run = dataclasses.replace(run, server_cpu_us_per_request=twin_us)
        elif run.step.scenario == "echo" and run.step.config in (FLASK, FASTAPI):
            if echo_us is None:
                continue
            run = dataclasses.replace(run, server_cpu_us_per_request=echo_us)
        runs.append(run)
    results.runs = runs
    return results


def test_the_allowance_is_what_keeps_the_twin_at_the_target_share() -> None:
    gap = core_gap(with_costs(6000.0, 7000.0, 400.0), "flask")
    assert gap is not None
    assert gap.added_us == 1000.0
    # At core / (core + allowed) the twin serves exactly the target share of the core.
    assert 6000.0 / (6000.0 + gap.allowed_us) == pytest.approx(CORE_SHARE_TARGET)


def test_an_echo_dearer_than_the_allowance_puts_the_target_out_of_reach() -> None:
    gap = core_gap(with_costs(6000.0, 7000.0, 400.0), "flask")
    assert gap is not None
    assert "+1,000 µs, +17%" in gap.words
    assert "less than the 400 µs an /echo request alone costs" in gap.words
    assert "no search through it on this server can meet the target" in gap.words


def test_a_cheap_echo_leaves_the_rest_of_the_gap_to_the_search_path() -> None:
    gap = core_gap(with_costs(6000.0, 7000.0, 100.0), "fastapi")
    assert gap is not None
    assert "an /echo request costs this twin 100 µs, so 900 µs of it are not" in gap.words
    assert "out of reach" not in gap.words and "can meet" not in gap.words


def test_a_gap_within_the_allowance_says_the_cpu_does_not_explain_it() -> None:
    gap = core_gap(with_costs(6000.0, 6200.0, 400.0), "flask")
    assert gap is not None
    assert "stays within it" in gap.words and "left unused" in gap.words


def test_without_an_echo_run_the_gap_is_not_split() -> None:
    gap = core_gap(with_costs(6000.0, 7000.0, None), "flask")
    assert gap is not None and "no /echo through this twin was measured" in gap.words


def test_no_gap_without_the_core_or_the_twin_cost() -> None:
    results = fixture_results()
    results.runs = [r for r in results.runs if r.step.config != IN_PROCESS]
    assert core_gap(results, "flask") is None


def test_a_missed_target_carries_its_why_into_the_report_lines() -> None:
    results = with_costs(6000.0, 7000.0, 400.0)
    # The fixture's Flask twin serves 30 searches/s to the core's 32: the target is missed.
    line = next(t for t in runtime_targets(results) if t.figure.startswith("flask text"))
    assert line.outcome == "missed"
    assert line.words.startswith("missed by 0.01 (1 % of the target); why: the twin spent 7,000")
    ratio = next(r for r in headline_ratios(results) if r.name.startswith("flask text search"))
    assert ratio.why == core_gap(results, "flask").words  # type: ignore[union-attr]
    met = next(t for t in runtime_targets(results) if t.figure.startswith("fastapi text"))
    assert met.outcome == "met" and met.words == "met"
