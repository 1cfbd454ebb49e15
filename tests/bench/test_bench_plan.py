"""Profiles and plans: the quick budget, ABAB interleaving, and the measured window."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.load.samples import SampleWriter, read_samples
from bench.plan.profiles import PROFILES, narrow
from bench.plan.steps import (
    batching_labels,
    batching_steps,
    compare_steps,
    estimate_s,
    open_steps,
    plan_configs,
    single_steps,
    sweep_steps,
)
from bench.plan.topology import Twin
from bench.results import RunResult, Step, write_results
from bench.run import orchestrator
from bench.run.calibration import calibration_step, ceiling, listener_cost_us
from bench.run.orchestrator import Interrupted, RunOptions
from bench.run.summarize import summarize_run
from tests.bench.conftest import fixture_results, make_run

APPS: tuple[Twin, ...] = ("flask", "fastapi")


def test_quick_profile_fits_its_budget() -> None:
    profile = PROFILES["quick"]
    configs = plan_configs(profile, APPS, 1)
    steps = (
        compare_steps(profile, configs, None)
        + sweep_steps(profile, configs)
        + single_steps(profile, configs)
    )
    steps += open_steps(profile, configs, {c.label: (30.0, 0.2) for c in configs})
    # Load time only: start-up (Milvus, servers, report) takes about 1.5 minutes more, and
    # embedding the corpus on a fresh machine about 2.5: the whole must stay under 15.
    assert estimate_s(steps) < 10 * 60


def test_compare_steps_interleave_and_reverse_on_odd_repeats() -> None:
    profile = PROFILES["quick"]
    steps = [
        s
        for s in compare_steps(profile, plan_configs(profile, APPS, 1), None)
        if s.scenario == "search_text"
    ]
    first = [s.config for s in steps if s.repeat == 0]
    second = [s.config for s in steps if s.repeat == 1]
    assert second == list(reversed(first))
    assert "core/in-process" in first


def test_each_twin_runs_beside_its_floors_on_the_same_server() -> None:
    profile = PROFILES["quick"]
    steps = compare_steps(profile, plan_configs(profile, APPS, 1), None)
    for repeat in (0, 1):
        order = [s.config for s in steps if s.scenario == "health" and s.repeat == repeat]
        groups = [("flask", "gunicorn-gthread"), ("flask", "granian")]
        groups += [("fastapi", "uvicorn"), ("fastapi", "granian")]
        for twin, server in groups:
            bare, raw = {
                "flask": ("bare-flask", "raw-wsgi"),
                "fastapi": ("bare-fastapi", "raw-asgi"),
            }[twin]
            spots = [order.index(f"{app}/{server}/1wx4t") for app in (twin, bare, raw)]
            assert max(spots) - min(spots) == 2, order  # three steps back to back
        for server in ("granian",):  # the two twins on one server, side by side
            spots = [order.index(f"{app}/{server}/1wx4t") for app in ("flask", "fastapi")]
            assert abs(spots[0] - spots[1]) == 1, order


def test_each_batched_configuration_runs_right_after_its_partner() -> None:
    profile = PROFILES["batching"]
    steps = batching_steps(profile, plan_configs(profile, APPS, 1))
    for repeat in (0, 1):
        for users in profile.batching_users:
            order = [s.config for s in steps if s.repeat == repeat and s.users == users]
            assert len(order) == 6
            for index, label in enumerate(order):
                if label.endswith("+batched"):
                    partner = order[index - 1] if repeat == 0 else order[index + 1]
                    assert partner == label.removesuffix("+batched"), order


def test_a_batched_configuration_without_a_partner_still_runs_last() -> None:
    profile = PROFILES["batching"]
    configs = [
        c for c in plan_configs(profile, APPS, 1) if c.label != "flask/gunicorn-gthread/1wx64t"
    ]
    labels = batching_labels(configs)
    assert labels[-1] == "flask/gunicorn-gthread/1wx64t+batched"
    assert len(labels) == 5


def test_open_steps_scale_with_the_measured_saturation() -> None:
    profile = PROFILES["quick"]
    configs = plan_configs(profile, APPS, 1)
    steps = open_steps(profile, configs, {"fastapi/uvicorn/1wx4t": (40.0, 0.2)})
    assert [s.rate for s in steps] == [20.0, 48.0]
    assert all(s.users >= 8 for s in steps)


def test_window_excludes_warmup_and_flags_a_busy_generator(tmp_path: Path) -> None:
    writer = SampleWriter(tmp_path)
    for i in range(100):  # 10 requests/s for 10 s
        writer.add(1000.0 + i / 10, 5.0 if i >= 10 else 500.0, 0.0, "/health", i != 50)
    writer.close()
    step = Step("health", "x", 1, 0.0, 8.0, 1.0, 0, "compare")
    run = summarize_run(
        step,
        read_samples(tmp_path),
        run_id="r",
        generator_cpu=0.9,
        server_cpu_between=lambda begin, end: 0.5 * (end - begin),
        server_idle_cores=0.1,
        foreign_cores=0.0,
        idle_servers_cpu_s=0.0,
        events=[],
        notes=[],
    )
    assert run.requests == 80 and run.failures == 1
    assert run.latency.max == 5.0  # the slow warm-up requests are out of the window
    # Throughput counts the successful answers that completed in the window: the five slow
    # warm-up requests started before it but answered inside it.
    assert run.throughput_rps == 84 / 8
    # Cost per request: (0.5 - 0.1) cores x 8 s over the 85 answers completed in the window.
    assert run.server_cpu_us_per_request == pytest.approx(0.4 * 8 / 85 * 1e6)
    assert not run.valid and any("generator" in why for why in run.invalid_reasons)


def _closed_run(tmp_path: Path, ceiling_rps: float) -> RunResult:
    writer = SampleWriter(tmp_path)
    for i in range(100):  # 10 requests/s for 10 s, answered in 5 ms
        writer.add(1000.0 + i / 10, 5.0, 0.0, "/echo", True)
    writer.close()
    return summarize_run(
        Step("echo", "x", 4, 0.0, 8.0, 1.0, 0, "compare"),
        read_samples(tmp_path),
        run_id="r",
        generator_cpu=0.2,
        server_cpu_between=lambda begin, end: 0.1 * (end - begin),
        server_idle_cores=0.0,
        foreign_cores=0.0,
        idle_servers_cpu_s=0.0,
        events=[],
        notes=[],
        generator_ceiling_rps=ceiling_rps,
    )


def test_a_run_near_the_generators_ceiling_measured_the_generator(tmp_path: Path) -> None:
    run = _closed_run(tmp_path, ceiling_rps=12.0)  # 10 req/s is above 70 % of 12
    assert not run.valid and any("ceiling" in why for why in run.invalid_reasons)
    assert _closed_run(tmp_path / "b", ceiling_rps=100.0).valid
    assert _closed_run(tmp_path / "c", ceiling_rps=float("nan")).valid  # not calibrated


def test_the_ceiling_is_extrapolated_from_an_unsaturated_generator() -> None:
    run = make_run(calibration_step("raw-asgi/uvicorn/1wx4t"), 6000.0, generator_cpu=0.6)
    found = ceiling(run)
    assert found["ceiling_rps"] == 10000.0 and found["estimated"] is True
    saturated = ceiling(make_run(calibration_step("x"), 9000.0, generator_cpu=0.97))
    assert saturated["ceiling_rps"] == 9000.0 and saturated["estimated"] is False
    assert 0 < listener_cost_us(2000) < 100


def test_batching_steps_give_the_slow_concurrencies_longer_windows() -> None:
    # At 64 users a search takes about 2 s: a 3 s window would hold one or two per user.
    profile = PROFILES["batching"]
    steps = batching_steps(profile, plan_configs(profile, APPS, 1))
    by_users = {s.users: (s.duration_s, s.warmup_s) for s in steps}
    assert by_users == {1: (6.0, 1), 16: (3, 1), 64: (10.0, 3.0)}
    # --duration sets every measured window, the per-concurrency ones included.
    narrowed = narrow(profile, duration_s=4.0)
    assert {s.duration_s for s in batching_steps(narrowed, plan_configs(narrowed, APPS, 1))} == {
        4.0
    }


def test_memory_is_sampled_as_rss_except_in_the_soak() -> None:
    # PSS raised the server's CPU per request by 4-48 %; the soak needs it and measures memory.
    assert {name: p.memory for name, p in PROFILES.items()} == {
        "quick": "rss",
        "full": "rss",
        "batching": "rss",
        "soak": "pss",
    }


def test_point_reads_run_before_the_writes_of_mixed() -> None:
    profile = PROFILES["quick"]
    scenarios = [s.scenario for s in single_steps(profile, plan_configs(profile, APPS, 1))]
    assert scenarios.index("point_reads") < scenarios.index("mixed")


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_reports_its_partial_results_and_exits_with_the_signal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, signum: int, status: int
) -> None:
    write_results(fixture_results(), tmp_path / "results.json")

    def stopped(options: RunOptions) -> Path:
        raise Interrupted(tmp_path, signum)

    monkeypatch.setattr(orchestrator, "run_bench", stopped)
    assert main(["run", "--profile", "quick", "--no-report"]) == status
    assert not (tmp_path / "report.md").exists()
    assert main(["run", "--profile", "quick"]) == status
    assert (tmp_path / "report.md").exists()  # partial results still get their report
