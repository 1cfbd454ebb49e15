"""A few seconds of every scenario against each twin on its usual server, over real HTTP.

Runs on the session's Milvus, in a scratch collection seeded with a handful of documents, so
no corpus is embedded; each scenario runs for three seconds, enough for every request
kind to complete a few times.
"""

from __future__ import annotations

import math
import os
import random
from pathlib import Path

import pytest

from bench.load.config import LoadConfig, locust_environment
from bench.load.pool import DIMENSION, Pool, save_pool
from bench.load.samples import read_samples
from bench.plan.profiles import SCENARIOS
from bench.plan.steps import ConfigPlan
from bench.run.configs import Running, start_config, wait_ready
from bench.run.cpu import CpuPlan, available_cpus
from bench.run.generator import run_locust
from bench.run.procs import http_json
from shared.config import Settings, get_settings
from shared.servers import DEFAULT_SERVER, ServerSpec

pytestmark = pytest.mark.slow

TWINS = {"flask": "flask_app.wsgi", "fastapi": "fastapi_app.asgi"}
DOCS = [
    {
        "title": f"doc {i}",
        "text": f"How to parse {word} files with the standard library.",
        "tags": ["smoke"],
    }
    for i, word in enumerate(["json", "csv", "xml", "ini", "toml"])
]


def _unit_vector(rng: random.Random) -> list[float]:
    row = [rng.gauss(0, 1) for _ in range(DIMENSION)]
    norm = math.sqrt(sum(x * x for x in row))
    return [x / norm for x in row]


@pytest.fixture(scope="module")
def stack(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, str], Path]:
    """The servers' environment on the session's Milvus, in a scratch collection of its own."""
    from bench.run.milvus import server_env

    tmp = tmp_path_factory.mktemp("smoke")
    rng = random.Random(7)
    pool = Pool(
        7,
        "smoke",
        "random",
        [d["text"] for d in DOCS],
        [_unit_vector(rng) for _ in DOCS],
        DOCS,
        ["smoke"],
    )
    save_pool(pool, tmp / "pool.json")
    scratch = get_settings(**{**settings.model_dump(), "collection": "bench_smoke"})
    return server_env(scratch), tmp


@pytest.mark.parametrize("app", ["flask", "fastapi"])
def test_every_scenario_runs_clean_against(app: str, stack: tuple[dict[str, str], Path]) -> None:
    env, tmp = stack
    cpus = available_cpus()
    plan = CpuPlan(cpus, cpus)
    spec = ServerSpec(app=app, server=DEFAULT_SERVER[app])
    running: Running = start_config(
        ConfigPlan(spec, spec.label, "twin", True),
        cpus=plan,
        env=env,
        pool_path=tmp / "pool.json",
        logs=tmp / "logs",
    )
    try:
        wait_ready(running)
        for doc in DOCS:  # something to find, in a scratch collection
            http_json(
                "POST", f"{running.url}/documents", {**doc, "id": doc["title"].replace(" ", "-")}
            )
        for scenario, classes in SCENARIOS.items():
            samples_dir = tmp / app / scenario
            config = LoadConfig(
                pool=tmp / "pool.json",
                samples_dir=samples_dir,
                run_id=f"smoke-{app}",
                ingest_docs=5,
                ingest_after_s=0.5,
            )
            run_locust(
                host=running.url,
                user_classes=classes,
                users=2,
                run_time_s=3,
                env={**os.environ, **locust_environment(config.write(samples_dir))},
                samples_dir=samples_dir,
                log_path=tmp / "locust.log",
                cpus=cpus,
                stop_timeout_s=2,  # a smoke test needs no late samples; keep it short
            )
            samples = read_samples(samples_dir)
            failed = sorted({n for n, ok in zip(samples.names, samples.ok, strict=True) if not ok})
            assert len(samples) > 0, f"{scenario}: no request completed"
            assert not failed, f"{scenario} on {app}: failed requests {failed}"
    finally:
        running.stop()
