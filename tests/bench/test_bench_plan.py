"""Profiles and plans: the quick budget, ABAB interleaving, and the measured window."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.load.samples import SampleWriter, read_samples, target_tag
from bench.plan.budget import (
    EXPECTED_ROWS_PER_S,
    LOCUST_OVERHEAD_S,
    UPLOAD_AFTER_S,
    plan_s,
    planned_steps,
    step_s,
)
from bench.plan.profiles import PROFILES, narrow
from bench.plan.steps import (
    batching_labels,
    batching_steps,
    compare_steps,
    open_steps,
    plan_configs,
    single_steps,
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
    calibration = (calibration_step("raw-asgi/uvicorn/1wx4t"),)
    # Load time only: start-up (Milvus, servers, report) takes about 1.5 minutes more, and
    # embedding the corpus on a fresh machine 2.5-3.5: the whole must stay under 15.
    assert plan_s(profile, configs, None, calibration) <= 11 * 60


def test_plan_time_sums_every_step_with_its_warm_up_and_locust_overhead() -> None:
    profile = PROFILES["quick"]
    configs = plan_configs(profile, APPS, 1)
    steps = planned_steps(profile, configs, None)
    plain = next(s for s in steps if s.scenario == "echo")
    assert step_s(plain) == plain.duration_s + plain.warmup_s + LOCUST_OVERHEAD_S
    upload = next(s for s in steps if s.scenario == "ingest_under_load")
    expected_job = upload.upload_rows / EXPECTED_ROWS_PER_S
    assert step_s(upload) == pytest.approx(
        upload.upload_lead_s + expected_job + UPLOAD_AFTER_S + upload.warmup_s + LOCUST_OVERHEAD_S
    )
    assert plan_s(profile, configs) == pytest.approx(sum(step_s(s) for s in steps))


def test_the_ingest_job_repeats_interleaved_between_twins_sized_for_its_phases() -> None:
    profile = PROFILES["quick"]
    uploads = [
        s
        for s in single_steps(profile, plan_configs(profile, APPS, 1))
        if s.scenario == "ingest_under_load"
    ]
    order = [(s.repeat, s.config.split("/")[0]) for s in uploads]
    assert order == [
        (0, "flask"),
        (0, "fastapi"),
        (1, "fastapi"),
        (1, "flask"),
        (2, "flask"),
        (2, "fastapi"),
    ]
    step = uploads[0]
    # Each phase of each repeat holds a p95's 200 searches: the lead at the fixed rate, and
    # the job at the rows/s the budget expects (at 1.5x that pace it still holds them).
    assert step.rate * step.upload_lead_s >= 220
    assert step.rate * step.upload_rows / (1.5 * EXPECTED_ROWS_PER_S) >= 200


def test_the_sweep_runs_every_point_once_per_usual_twin_but_the_compared_one() -> None:
    profile = PROFILES["quick"]
    sweep = [
        s
        for s in planned_steps(profile, plan_configs(profile, APPS, 1), None)
        if s.group == "sweep"
    ]
    points = {(s.scenario, s.users) for s in sweep}
    # /echo is compared at 16 users on the usual servers: the curve takes that point there.
    assert points == {("echo", u) for u in (1, 4, 64)} | {
        ("search_text", u) for u in (1, 4, 16, 64)
    }
    assert {s.config.split("/")[1] for s in sweep} == {"gunicorn-gthread", "uvicorn"}
    assert {s.warmup_s for s in sweep if s.users == 64} == {2.0}


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


def test_health_runs_each_server_kinds_six_configurations_together() -> None:
    profile = PROFILES["quick"]
    steps = [
        s
        for s in compare_steps(profile, plan_configs(profile, APPS, 1), None)
        if s.scenario == "health"
    ]
    assert len(steps) == 2 * profile.repeats  # one step per server kind and repeat
    for repeat in (0, 1):
        groups = [set(s.together) for s in steps if s.repeat == repeat]
        usual = {
            f"{app}/{server}/1wx4t"
            for app, server in (
                ("raw-wsgi", "gunicorn-gthread"),
                ("bare-flask", "gunicorn-gthread"),
                ("flask", "gunicorn-gthread"),
                ("fastapi", "uvicorn"),
                ("bare-fastapi", "uvicorn"),
                ("raw-asgi", "uvicorn"),
            )
        }
        shared = {
            f"{app}/granian/1wx4t"
            for app in ("raw-wsgi", "bare-flask", "flask", "fastapi", "bare-fastapi", "raw-asgi")
        }
        # ABBA over the two blocks as over single configurations.
        assert groups == ([usual, shared] if repeat == 0 else [shared, usual])
    assert all(s.config == s.together[0] and s.rate == 300.0 for s in steps)


def test_only_one_worker_configurations_run_together() -> None:
    # The full profile on a machine with 2 server CPUs adds 2-worker twins on the shared
    # server: those run one at a time, beside no one.
    profile = PROFILES["full"]
    configs = plan_configs(profile, APPS, 2)
    steps = [s for s in compare_steps(profile, configs, None) if s.scenario == "health"]
    grouped = {label for s in steps for label in s.together}
    alone = {s.config for s in steps if not s.together}
    assert len(grouped) == 12 and all(label.endswith("/1wx4t") for label in grouped)
    assert any("/2w" in label for label in alone), alone
    assert not grouped & alone


def test_narrowing_the_scenarios_narrows_what_runs_together_and_the_repeats() -> None:
    narrowed = narrow(PROFILES["quick"], scenarios=("echo",))
    assert narrowed.together == () and narrowed.compare_repeats == {"echo": 3}


def test_a_scenario_not_run_together_keeps_one_configuration_per_step() -> None:
    profile = PROFILES["quick"]
    steps = compare_steps(profile, plan_configs(profile, APPS, 1), None)
    assert all(not s.together for s in steps if s.scenario != "health")
    # Echo and text search keep three repeats where /health has five.
    assert {s.repeat for s in steps if s.scenario == "echo"} == {0, 1, 2}
    assert {s.repeat for s in steps if s.scenario == "health"} == {0, 1, 2, 3, 4}


def test_samples_of_several_targets_split_by_their_tags(tmp_path: Path) -> None:
    writer = SampleWriter(tmp_path)
    for i in range(6):
        writer.add(1000.0 + i, float(i), 0.0, f"{target_tag(i % 2)}/health", True)
    writer.close()
    samples = read_samples(tmp_path)
    first, second = samples.of_target(0), samples.of_target(1)
    assert list(first.latency_ms) == [0.0, 2.0, 4.0]
    assert list(second.latency_ms) == [1.0, 3.0, 5.0]
    assert first.names == ["/health"] * 3 and second.names == ["/health"] * 3
    assert len(samples.of_target(2)) == 0


def test_each_batched_configuration_runs_right_after_its_partner() -> None:
    profile = PROFILES["batching"]
    steps = batching_steps(profile, plan_configs(profile, APPS, 1))
    for repeat in (0, 1):
        for users in profile.batching_users:
            # The runtime comparison's configurations (+torch): test_runtime_plan.py.
            order = [
                s.config
                for s in steps
                if s.repeat == repeat and s.users == users and "+torch" not in s.config
            ]
            assert len(order) == 6
            for index, label in enumerate(order):
                if label.endswith("+batched"):
                    partner = order[index - 1] if repeat == 0 else order[index + 1]
                    assert partner == label.removesuffix("+batched"), order


def test_the_batching_profile_runs_an_upload_on_every_configuration_it_compares() -> None:
    profile = PROFILES["batching"]
    configs = plan_configs(profile, APPS, 1)
    uploads = [s for s in batching_steps(profile, configs) if s.group == "batching-upload"]
    # Every one on the default runtime: the runtime comparison is of searches alone.
    assert [s.config for s in uploads] == [
        label for label in batching_labels(configs) if "+torch" not in label
    ]
    assert all(s.scenario == "ingest_under_load" and s.rate == 20.0 for s in uploads)
    assert any(s.config.endswith("+batched") for s in uploads)


def test_a_batched_configuration_without_a_partner_still_runs_last() -> None:
    profile = PROFILES["batching"]
    configs = [
        c for c in plan_configs(profile, APPS, 1) if c.label != "flask/gunicorn-gthread/1wx64t"
    ]
    labels = batching_labels(configs)
    assert labels[-1] == "flask/gunicorn-gthread/1wx64t+batched"
    assert len([label for label in labels if "+torch" not in label]) == 5


def test_open_steps_scale_with_the_measured_saturation() -> None:
    profile = PROFILES["full"]
    configs = plan_configs(profile, APPS, 1)
    steps = open_steps(profile, configs, {"fastapi/uvicorn/1wx4t": (40.0, 0.2)})
    assert [s.rate for s in steps] == [20.0, 36.0, 48.0]
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
    # At 64 users a search takes about 0.6 s on the default runtime: a 3 s window would
    # hold a handful per user; at one user the p50 needs samples.
    profile = PROFILES["batching"]
    configs = plan_configs(profile, APPS, 1)
    steps = batching_steps(profile, configs)
    by_users = {s.users: (s.duration_s, s.warmup_s) for s in steps if s.group == "batching"}
    assert by_users == {1: (6.0, 1), 16: (3, 1), 64: (6.0, 2.0)}
    # --duration sets every measured window, the per-concurrency ones included.
    narrowed = narrow(profile, duration_s=4.0)
    steps = batching_steps(narrowed, plan_configs(narrowed, APPS, 1))
    assert {s.duration_s for s in steps if s.group == "batching"} == {4.0}
    # The uploads keep the time their job needs; --scenarios can leave them out.
    narrowed = narrow(profile, scenarios=("search_text",))
    assert not [s for s in batching_steps(narrowed, configs) if s.group != "batching"]


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
