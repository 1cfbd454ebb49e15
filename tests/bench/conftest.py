"""Fixtures for the bench tests: a small, fully synthetic results directory."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench.plan.topology import IN_PROCESS, record
from bench.results import AppCost, BenchResults, RunResult, ServerConfig, Step, write_results
from bench.stats import summarize_latencies

# (app, server, label, role): the four-way comparison, the floors and the in-process core.
CONFIGS = [
    ("flask", "gunicorn-gthread", "flask/gunicorn-gthread/1wx4t", "twin"),
    ("fastapi", "uvicorn", "fastapi/uvicorn/1w", "twin"),
    ("flask", "granian", "flask/granian/1wx4t", "twin"),
    ("fastapi", "granian", "fastapi/granian/1wx4t", "twin"),
    ("floor-wsgi", "gunicorn-gthread", "floor-wsgi/gunicorn-gthread/1wx4t", "floor"),
    ("floor-asgi", "uvicorn", "floor-asgi/uvicorn/1w", "floor"),
    ("floor-wsgi", "granian", "floor-wsgi/granian/1wx4t", "floor"),
    ("floor-asgi", "granian", "floor-asgi/granian/1wx4t", "floor"),
    ("core", "in-process", IN_PROCESS, "in-process"),
]
# Median /health and /search throughput of each configuration in the fixture.
HEALTH = {
    "flask/gunicorn-gthread/1wx4t": 1000,
    "fastapi/uvicorn/1w": 3000,
    "flask/granian/1wx4t": 2000,
    "fastapi/granian/1wx4t": 2100,
    "floor-wsgi/gunicorn-gthread/1wx4t": 2000,
    "floor-asgi/uvicorn/1w": 6000,
    "floor-wsgi/granian/1wx4t": 5000,
    "floor-asgi/granian/1wx4t": 5000,
}
SEARCH = {
    "flask/gunicorn-gthread/1wx4t": 30,
    "fastapi/uvicorn/1w": 31,
    "flask/granian/1wx4t": 30,
    "fastapi/granian/1wx4t": 30,
    IN_PROCESS: 32,
}


def make_run(
    step: Step,
    rps: float,
    *,
    generator_cpu: float = 0.3,
    valid: bool = True,
    events: list[dict[str, object]] | None = None,
) -> RunResult:
    rng = random.Random(hash(step.key) % 1000 + step.repeat)
    latencies = [rng.expovariate(rps / step.users / 1000) for _ in range(200)]
    timeline = [
        {"t": t / 2, "count": 10.0, "p50": 5.0 if t < 8 else 50.0, "p99": 9.0 if t < 8 else 90.0}
        for t in range(20)
    ]
    return RunResult(
        step=step,
        run_id=f"{step.key}-{step.repeat}",
        started_at=0.0,
        requests=int(rps * step.duration_s),
        failures=0,
        throughput_rps=rps,
        latency=summarize_latencies(latencies),
        latency_corrected=None,
        generator_cpu=generator_cpu,
        server_cpu_us_per_request=1e6 / rps / 2,
        server_idle_cores=0.0,
        foreign_cores=0.0,
        completed=int(rps * step.duration_s),
        idle_servers_cpu_s=0.01,
        valid=valid,
        invalid_reasons=[] if valid else ["load generator at 95% of a core"],
        failures_by_name={},
        by_name={"/x": int(rps)},
        cdf_ms=sorted(latencies),
        timeline=timeline,
        events=events or [],
    )


def fixture_results() -> BenchResults:
    configs = [
        ServerConfig(label, app, server, 1, 4, "wsgi", [server, "app"], False, "on", [0], 0.5, role)
        for app, server, label, role in CONFIGS
    ]
    runs = []
    for repeat in range(3):
        wobble = 1 + 0.01 * (repeat - 1)
        for label, rps in HEALTH.items():
            runs.append(
                make_run(Step("health", label, 16, 0, 5, 1, repeat, "compare"), rps * wobble)
            )
        for label, rps in SEARCH.items():
            runs.append(
                make_run(Step("search_text", label, 8, 0, 5, 1, repeat, "compare"), rps * wobble)
            )
    # One generator-bound run: it must be excluded from every figure.
    runs.append(
        make_run(
            Step("health", "floor-asgi/uvicorn/1w", 16, 0, 5, 1, 3, "compare"),
            9000,
            generator_cpu=0.95,
            valid=False,
        )
    )
    for label in ("flask/gunicorn-gthread/1wx4t", "fastapi/uvicorn/1w"):
        runs.append(
            make_run(
                Step("ingest_under_load", label, 4, 0, 10, 1, 0, "single"),
                20,
                events=[
                    {"event": "ingest_start", "t": 4.0},
                    {"event": "ingest_end", "t": 8.0, "status": "done"},
                ],
            )
        )
    return BenchResults(
        profile="quick",
        started_at="2026-11-25T10:00:00",
        finished_at="2026-11-25T10:09:00",
        environment={
            "cpu_model": "test",
            "logical_cpus": 2,
            "profile": {"duration_s": 5, "warmup_s": 1, "repeats": 3},
            "probes": {
                "flask/gunicorn-gthread/1wx4t": {"GET /docs": 200, "bad echo status": 422},
                "fastapi/uvicorn/1w": {"GET /docs": 200, "bad echo status": 422},
            },
            "generator_cpu_limit": 0.8,
        },
        configs=configs,
        runs=runs,
        pool={"seed": 1},
        notes=[],
        topology=record(),
        devcost={
            "flask": AppCost("flask", 4, 500, 180, 20, 250),
            "fastapi": AppCost("fastapi", 4, 300, 80, 20, 10),
        },
    )


@pytest.fixture()
def results_dir(tmp_path: Path) -> Path:
    write_results(fixture_results(), tmp_path / "results.json")
    return tmp_path
