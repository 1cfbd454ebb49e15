"""Profiles and plans: the quick budget, ABAB interleaving, and the measured window."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load.samples import SampleWriter, read_samples
from bench.plan.profiles import PROFILES
from bench.plan.steps import (
    compare_steps,
    estimate_s,
    open_steps,
    plan_configs,
    single_steps,
    sweep_steps,
)
from bench.plan.topology import Twin
from bench.results import Step
from bench.run.summarize import summarize_run

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
    # embedding the corpus on a fresh machine about 3.5: the whole must stay under 15.
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
