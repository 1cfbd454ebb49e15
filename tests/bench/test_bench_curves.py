"""The curves: throughput and p50/p95/p99 against closed users, per twin on its usual server,
from the sweep's runs and the compared runs at the same load; hidden percentiles keep their
count."""

from __future__ import annotations

import math
from pathlib import Path

from bench.analysis.curves import load_curves
from bench.report import plots
from bench.report.blocks import Figure, Table
from bench.report.sections import curve_blocks
from bench.results import BenchResults, Step
from tests.bench.conftest import ECHO, FASTAPI, FLASK, fixture_results, make_run

SATURATION = {FLASK: 30.0, FASTAPI: 31.0}  # text search, requests/s


def with_sweep(results: BenchResults) -> BenchResults:
    """The fixture plus the quick profile's sweep: /echo at 1, 4 and 64 users (its 16 is the
    compared steps'), text search at 1, 4, 16 and 64, once per usual twin."""
    for label in (FLASK, FASTAPI):
        for users in (1, 4, 64):
            rps = ECHO[label] * min(users, 16) / 16
            results.runs.append(make_run(Step("echo", label, users, 0, 3, 1, 0, "sweep"), rps))
        for users in (1, 4, 16, 64):
            rps = SATURATION[label] * min(users, 4) / 4
            step = Step("search_text", label, users, 0, 3, 1, 0, "sweep")
            results.runs.append(make_run(step, rps))
    return results


def test_a_curve_per_scenario_and_twin_with_the_compared_point_among_the_swept() -> None:
    curves = {(c.scenario, c.config): c for c in load_curves(with_sweep(fixture_results()))}
    assert set(curves) == {(s, t) for s in ("search_text", "echo") for t in (FLASK, FASTAPI)}
    echo = curves[("echo", FASTAPI)]
    assert [p.users for p in echo.points] == [1, 4, 16, 64]
    # 16 users: the five compared repeats (the invalid generator-bound one left out).
    sixteen = next(p for p in echo.points if p.users == 16)
    assert sixteen.runs == 5
    assert sixteen.rps == ECHO[FASTAPI]  # the median of 0.98, 0.99, 1, 1.01, 1.02 of it
    # Text search is compared at 8 users: that point joins the sweep's.
    assert [p.users for p in curves[("search_text", FLASK)].points] == [1, 4, 8, 16, 64]


def test_a_percentile_is_kept_only_where_every_run_carries_it() -> None:
    results = with_sweep(fixture_results())
    point = load_curves(results)[0].points[0]
    # Each fixture run holds 200 requests: enough for a p50 and a p95, not for a p99.
    assert point.fewest == 200
    assert point.shown(50.0) and point.shown(95.0) and not point.shown(99.0)
    run = next(r for r in results.runs if r.step.group == "sweep")
    curve = next(
        c
        for c in load_curves(results)
        if (c.scenario, c.config) == (run.step.scenario, run.step.config)
    )
    mine = next(p for p in curve.points if p.users == run.step.users)
    assert mine.latency_ms[95.0] == run.latency.p95 and not math.isnan(run.latency.p95)


def test_no_curve_without_a_sweep() -> None:
    assert load_curves(fixture_results()) == []
    assert curve_blocks(fixture_results(), Path("unused")) == []


def test_the_curve_table_hides_a_p99_with_its_count_and_the_plot_draws_what_is_shown(
    tmp_path: Path,
) -> None:
    results = with_sweep(fixture_results())
    blocks = curve_blocks(results, tmp_path)
    table = next(b for b in blocks if isinstance(b, Table))
    assert all(row[-1] == "– (n=200, too few for a p99)" for row in table.rows)
    assert any(isinstance(b, Figure) for b in blocks)
    assert (tmp_path / "load-curves.png").stat().st_size > 0
    fig = plots.load_curves_figure(load_curves(results))
    assert fig is not None
    latency_ax, rate_ax = fig.axes[0], fig.axes[1]
    # Two twins x (p50, p95): the p99 is not drawn from 200 samples.
    assert sorted(line.get_label() for line in latency_ax.get_lines()) == sorted(
        f"{t} p{q}" for t in (FLASK, FASTAPI) for q in (50, 95)
    )
    assert rate_ax.get_ylim()[0] == 0
