"""Fixtures for the bench tests: a small, fully synthetic results directory.

Five interleaved repeats of each comparison (so every ratio has an order-statistic interval
of 93.75 %): /health at a fixed rate, judged by CPU per request; echo and text search at
saturation, judged by throughput. :func:`batching_results` adds the micro-batching runs (naive
and batched text search, per twin) for the tests of that section.
"""

from __future__ import annotations

import dataclasses
import random
import zlib
from pathlib import Path
from typing import Any

import pytest

from bench.plan.topology import IN_PROCESS, record
from bench.report import ReportPaths, write_report
from bench.results import AppCost, BenchResults, RunResult, ServerConfig, Step, write_results
from bench.stats import summarize_latencies

FLASK, FASTAPI = "flask/gunicorn-gthread/1wx4t", "fastapi/uvicorn/1wx4t"
FLASK_SHARED, FASTAPI_SHARED = "flask/granian/1wx4t", "fastapi/granian/1wx4t"
# (app, server, label, role): the four-way comparison, the floors and the in-process core.
CONFIGS = [
    ("flask", "gunicorn-gthread", FLASK, "twin"),
    ("fastapi", "uvicorn", FASTAPI, "twin"),
    ("flask", "granian", FLASK_SHARED, "twin"),
    ("fastapi", "granian", FASTAPI_SHARED, "twin"),
    ("bare-flask", "gunicorn-gthread", "bare-flask/gunicorn-gthread/1wx4t", "floor"),
    ("bare-fastapi", "uvicorn", "bare-fastapi/uvicorn/1wx4t", "floor"),
    ("bare-flask", "granian", "bare-flask/granian/1wx4t", "floor"),
    ("bare-fastapi", "granian", "bare-fastapi/granian/1wx4t", "floor"),
    ("raw-wsgi", "gunicorn-gthread", "raw-wsgi/gunicorn-gthread/1wx4t", "floor"),
    ("raw-asgi", "uvicorn", "raw-asgi/uvicorn/1wx4t", "floor"),
    ("raw-wsgi", "granian", "raw-wsgi/granian/1wx4t", "floor"),
    ("raw-asgi", "granian", "raw-asgi/granian/1wx4t", "floor"),
    ("core", "in-process", IN_PROCESS, "in-process"),
]
# Server CPU per /health request (µs) of each configuration, at the fixed rate.
HEALTH_COST = {
    FLASK: 500.0,
    FASTAPI: 250.0,
    FLASK_SHARED: 300.0,
    FASTAPI_SHARED: 280.0,
    "bare-flask/gunicorn-gthread/1wx4t": 450.0,
    "bare-fastapi/uvicorn/1wx4t": 150.0,
    "bare-flask/granian/1wx4t": 200.0,
    "bare-fastapi/granian/1wx4t": 180.0,
    "raw-wsgi/gunicorn-gthread/1wx4t": 300.0,
    "raw-asgi/uvicorn/1wx4t": 60.0,
    "raw-wsgi/granian/1wx4t": 50.0,
    "raw-asgi/granian/1wx4t": 50.0,
}
# Median throughput at saturation.
ECHO = {FLASK: 1000.0, FASTAPI: 2500.0, FLASK_SHARED: 2000.0, FASTAPI_SHARED: 2100.0}
SEARCH = {FLASK: 30.0, FASTAPI: 31.0, FLASK_SHARED: 30.0, FASTAPI_SHARED: 30.0, IN_PROCESS: 32.0}
REPEATS = 5


def make_run(
    step: Step,
    rps: float,
    *,
    cost_us: float = 400.0,
    generator_cpu: float = 0.3,
    valid: bool = True,
    reasons: list[str] | None = None,
    phases: dict[str, dict[str, float]] | None = None,
    job: dict[str, Any] | None = None,
) -> RunResult:
    rng = random.Random(zlib.crc32(step.key.encode()) + step.repeat)
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
        idle_servers_cpu_s=0.01,
        valid=valid,
        invalid_reasons=[] if valid else (reasons or ["load generator at 95% of a core"]),
        failures_by_name={},
        by_name={"/x": int(rps)},
        cdf_ms=sorted(latencies),
        timeline=timeline,
        events=[{"event": "job_start", "t": 4.0}, {"event": "job_end", "t": 8.0}] if job else [],
        completed=int(rps * step.duration_s),
        server_cpu_us_per_request=cost_us,
        server_idle_cores=0.0,
        foreign_cores=0.0,
        phases=phases or {},
        job=job or {},
    )


def phases(before_p95: float, during_p95: float) -> dict[str, dict[str, float]]:
    def phase(p95: float) -> dict[str, float]:
        return {"n": 300, "seconds": 4.0, "p50": p95 / 3, "p95": p95, "p99": p95 * 1.5, "rps": 8.0}

    return {"before": phase(before_p95), "during": phase(during_p95), "after": phase(before_p95)}


def upload_run(
    label: str, before_p99: float, during_p99: float, status: str = "done", repeat: int = 0
) -> RunResult:
    job = {
        "kind": "job",
        "rows": 120,
        "status": status,
        "processed": 120,
        "failed": 0,
        "seconds": 6.0,
        "rows_per_s": 20.0,
    }
    return make_run(
        Step("ingest_under_load", label, 4, 8.0, 40, 1, repeat, "single"),
        8.0,
        phases=phases(before_p99, during_p99),
        job=job,
    )


def fixture_results() -> BenchResults:
    configs = [
        ServerConfig(
            label,
            app,
            server,
            1,
            4,
            "asgi" if "asgi" in app or app.endswith("fastapi") else "wsgi",
            [server, "app"],
            False,
            "on",
            [0],
            0.5,
            role,
        )
        for app, server, label, role in CONFIGS
    ]
    runs = []
    for repeat in range(REPEATS):
        wobble = 1 + 0.01 * (repeat - 2)
        for label, cost in HEALTH_COST.items():
            runs.append(
                make_run(
                    Step("health", label, 8, 300.0, 2, 0.5, repeat, "compare"),
                    300.0,
                    cost_us=cost * wobble,
                )
            )
        for label, rps in ECHO.items():
            runs.append(make_run(Step("echo", label, 16, 0, 3, 1, repeat, "compare"), rps * wobble))
        for label, rps in SEARCH.items():
            runs.append(
                make_run(Step("search_text", label, 8, 0, 3, 1, repeat, "compare"), rps * wobble)
            )
    # One generator-bound echo run: excluded from throughput, still carrying its cost.
    runs.append(
        make_run(
            Step("echo", FASTAPI, 16, 0, 3, 1, REPEATS, "compare"),
            9000,
            generator_cpu=0.95,
            valid=False,
            cost_us=123.0,
        )
    )
    # Three interleaved repeats of the ingest job per twin, as the quick profile runs it.
    runs += [
        upload_run(label, 300, during, repeat=r)
        for r, (flask, fastapi) in enumerate([(600, 580), (620, 560), (590, 600)])
        for label, during in ((FLASK, flask), (FASTAPI, fastapi))
    ]
    for label, p99 in ((FLASK, 12.0), (FASTAPI, 45.0)):
        reads = make_run(Step("point_reads", label, 4, 20.0, 3, 1, 0, "single"), 20.0)
        reads.latency_by_name = {
            "/documents/{id} GET": {"n": 160, "p50": 3.0, "p95": 6.0, "p99": p99},
            "/documents/{id} DELETE": {"n": 40, "p50": 5.0, "p95": 9.0, "p99": 11.0},
        }
        runs.append(reads)
    probes = {
        FLASK: {
            "GET /docs": 200,
            "GET /redoc": 200,
            "GET /openapi.json": 200,
            "bad echo status": 422,
            "bad echo body": {"detail": ["x"]},
            "good echo body": {"query": "x"},
        },
        FASTAPI: {
            "GET /docs": 200,
            "GET /redoc": 200,
            "GET /openapi.json": 200,
            "bad echo status": 422,
            "bad echo body": {"detail": ["x"]},
            "good echo body": {"query": "x"},
        },
    }
    return BenchResults(
        profile="quick",
        started_at="2026-11-25T10:00:00",
        finished_at="2026-11-25T10:09:00",
        environment={
            "cpu_model": "test",
            "logical_cpus": 2,
            "profile": {"duration_s": 3, "warmup_s": 1, "repeats": REPEATS},
            "probes": probes,
            "generator_cpu_limit": 0.8,
            "devcost_rules": "whole modules by file name",
        },
        configs=configs,
        runs=runs,
        pool={"seed": 1},
        notes=[],
        topology=record(),
        devcost={
            "flask": AppCost(
                "flask",
                6,
                680,
                {"validation": 176, "errors": 90, "docs": 262, "routing": 105, "setup": 47},
            ),
            "fastapi": AppCost(
                "fastapi", 5, 373, {"validation": 90, "errors": 60, "routing": 162, "setup": 61}
            ),
        },
    )


# The micro-batching comparison: (label, variant, throughput at 1 user, at 64 users, p50 at
# 1 user, batch sizes at 64), naive and batched, per twin.
BATCHING_CASES = [
    (FLASK, "", 50.0, 60.0, 18.0, {}),
    (FLASK + "+batched", "batched", 49.0, 90.0, 19.0, {4: 400, 3: 30}),
    (FASTAPI, "", 51.0, 61.0, 17.0, {}),
    (FASTAPI + "+batched", "batched", 50.0, 180.0, 18.0, {32: 1600, 20: 100}),
]


def batching_results() -> BenchResults:
    """The fixture results with the micro-batching runs of :data:`BATCHING_CASES` added."""
    results = fixture_results()
    for label, variant, *_ in BATCHING_CASES:
        app, server = label.split("/")[:2]
        config = ServerConfig(
            label, app, server, 1, 4, "wsgi", [server], False, "on", [0], 1.0, "twin", variant
        )
        results.configs.append(config)
    for repeat in range(5):
        wobble = 1 + 0.01 * (repeat - 2)
        for label, _, one, many, p50, sizes in BATCHING_CASES:
            for users, rps in ((1, one), (64, many)):
                run = make_run(
                    Step("search_text", label, users, 0.0, 3, 1, repeat, "batching"), rps * wobble
                )
                run.latency = dataclasses.replace(run.latency, p50=p50)
                run.batch_sizes = dict(sizes) if users == 64 else {1: int(rps * 3)}
                results.runs.append(run)
    return results


@pytest.fixture()
def results_dir(tmp_path: Path) -> Path:
    write_results(fixture_results(), tmp_path / "results.json")
    return tmp_path


@pytest.fixture(scope="session")
def rendered_report(tmp_path_factory: pytest.TempPathFactory) -> ReportPaths:
    """The fixture results rendered once for every test that only reads the report (each
    render draws every plot: rendering it per test cost seconds each)."""
    directory = tmp_path_factory.mktemp("rendered")
    write_results(fixture_results(), directory / "results.json")
    return write_report(directory)


@pytest.fixture(scope="session")
def rendered(rendered_report: ReportPaths) -> str:
    """The Markdown of the fixture results' report, rendered once per session."""
    return rendered_report.markdown.read_text()
