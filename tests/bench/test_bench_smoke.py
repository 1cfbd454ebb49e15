"""A few seconds of every scenario against both twins on their usual servers, over real HTTP.

Runs on the session's Milvus, in a scratch collection seeded with a handful of documents, so
no corpus is embedded; each scenario runs for two seconds against both twins at once,
enough for every request kind to complete a few times on each.
"""

from __future__ import annotations

import math
import os
import random
from pathlib import Path

import pytest
from support import TWINS

from bench.load.config import LoadConfig, locust_environment
from bench.load.pool import DIMENSION, Pool, save_pool
from bench.load.samples import read_samples, target_tag
from bench.plan.profiles import SCENARIOS, UPLOADS
from bench.plan.steps import ConfigPlan
from bench.run.configs import Running, start_config, wait_ready
from bench.run.cpu import CpuPlan, available_cpus
from bench.run.generator import run_locust
from bench.run.procs import http_json
from shared.config import Settings, get_settings
from shared.servers import DEFAULT_SERVER, ServerSpec

pytestmark = pytest.mark.slow

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


def test_every_scenario_runs_clean_against_both_twins(stack: tuple[dict[str, str], Path]) -> None:
    env, tmp = stack
    cpus = available_cpus()
    plan = CpuPlan(cpus, cpus)
    running: list[Running] = []
    try:
        for app in TWINS:
            spec = ServerSpec(app=app, server=DEFAULT_SERVER[app])
            running.append(
                start_config(
                    ConfigPlan(spec, spec.label, "twin", True),
                    cpus=plan,
                    env=env,
                    pool_path=tmp / "pool.json",
                    logs=tmp / "logs",
                )
            )
        for twin in running:
            wait_ready(twin)
        for doc in DOCS:  # something to find, in a scratch collection both twins share
            http_json(
                "POST", f"{running[0].url}/documents", {**doc, "id": doc["title"].replace(" ", "-")}
            )
        # One Locust run per scenario drives both twins at once, as the bench's together
        # steps do: a copy of each user class per twin, each with its own host and tag. An
        # upload's user is not copied per twin (nor run together by the bench): one run each.
        twins = [(app, twin.url) for app, twin in zip(TWINS, running, strict=True)]
        for scenario, classes in SCENARIOS.items():
            groups = [[pair] for pair in twins] if scenario in UPLOADS else [twins]
            for group in groups:
                _drive(scenario, classes, group, tmp, cpus)
    finally:
        for twin in running:
            twin.stop()


def _drive(
    scenario: str,
    classes: list[str],
    twins: list[tuple[str, str]],
    tmp: Path,
    cpus: tuple[int, ...],
) -> None:
    """One short Locust run of ``scenario`` against ``twins`` ((app, url) each); every twin
    must have answered, and none wrongly."""
    together = len(twins) > 1
    samples_dir = tmp / scenario / "-".join(app for app, _ in twins)
    config = LoadConfig(
        pool=tmp / "pool.json",
        samples_dir=samples_dir,
        run_id="smoke",
        ingest_docs=5,
        ingest_before_s=0.5,
        ingest_after_s=0.5,
        targets=tuple(url for _, url in twins) if together else (),
    )
    run_locust(
        host=None if together else twins[0][1],
        user_classes=(
            [f"{cls}{i}" for i in range(len(twins)) for cls in classes] if together else classes
        ),
        users=2 * len(twins),
        run_time_s=2,
        env={**os.environ, **locust_environment(config.write(samples_dir))},
        samples_dir=samples_dir,
        log_path=tmp / "locust.log",
        cpus=cpus,
        stop_timeout_s=2,  # a smoke test needs no late samples; keep it short
    )
    samples = read_samples(samples_dir)
    named = list(zip(samples.names, samples.ok, strict=True))
    for index, (app, _) in enumerate(twins):
        tag = target_tag(index) if together else ""
        mine = [(name, ok) for name, ok in named if name.startswith(tag)]
        failed = sorted({name for name, ok in mine if not ok})
        assert mine, f"{scenario}: no request to {app} completed"
        assert not failed, f"{scenario} on {app}: failed requests {failed}"
