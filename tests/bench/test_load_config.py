"""The load configuration: what the runner writes is what the scenarios file reads, a bad one
is refused by name, and no loose ``TWINBENCH_BENCH_*`` variable is left in the bench."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.load.config import (
    CONFIG_ENV,
    CONFIG_FILE,
    DEFAULT_SAMPLES_DIR,
    LoadConfig,
    LoadConfigError,
    load_config,
    locust_environment,
)
from shared.config import PROJECT_ROOT

LOCUSTFILE = PROJECT_ROOT / "bench" / "load" / "locustfile.py"


def _every_field_set(tmp_path: Path) -> LoadConfig:
    pool = tmp_path / "pool.json"
    pool.write_text("{}")
    return LoadConfig(
        pool=pool,
        samples_dir=tmp_path / "samples",
        rate=12.5,
        run_id="s007",
        user_rate=3.125,
        run_s=9.5,
        ingest_docs=80,
        ingest_before_s=7.0,
        ingest_after_s=5.0,
        targets=("http://127.0.0.1:8001", "http://127.0.0.1:8002"),
    )


def test_a_config_survives_its_json_round_trip(tmp_path: Path) -> None:
    config = _every_field_set(tmp_path)
    assert config != LoadConfig()  # every field differs from its default
    assert all(getattr(config, f) != getattr(LoadConfig(), f) for f in config.__dataclass_fields__)
    assert LoadConfig.from_json(config.to_json()) == config


def test_the_written_file_is_what_locust_reads(tmp_path: Path) -> None:
    config = _every_field_set(tmp_path)
    path = config.write(tmp_path / "step")
    assert path == tmp_path / "step" / CONFIG_FILE
    assert locust_environment(path) == {CONFIG_ENV: str(path)}
    assert load_config(locust_environment(path)) == config


def test_without_a_config_every_field_takes_its_default() -> None:
    config = load_config({})
    assert config == LoadConfig() == load_config({CONFIG_ENV: ""})
    assert config.pool is None  # the bench's cached pool
    assert config.samples_dir == DEFAULT_SAMPLES_DIR == PROJECT_ROOT / ".data" / "locust-samples"
    assert (config.rate, config.user_rate, config.run_s) == (0.0, 0.0, 0.0)  # closed model
    assert (config.run_id, config.ingest_docs, config.ingest_after_s) == ("run", 200, 2.0)
    assert config.targets == ()
    # A field left out of the file takes its default too.
    assert LoadConfig.from_json('{"rate": 4}') == LoadConfig(rate=4.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"rate": -1}', "rate must be a number >= 0 (got -1.0)"),
        ('{"user_rate": NaN}', "user_rate must be a number >= 0 (got nan)"),
        ('{"run_s": "10"}', "run_s must be a number (got '10')"),
        ('{"rate": true}', "rate must be a number (got True)"),
        ('{"ingest_docs": 2.5}', "ingest_docs must be a whole number (got 2.5)"),
        ('{"ingest_docs": 0}', "ingest_docs must be at least 1 (got 0)"),
        ('{"pool": "/nowhere/pool.json"}', "pool: no pool file at /nowhere/pool.json"),
        ('{"run_id": "a/b"}', "run_id must be non-empty, without '/'"),
        ('{"targets": ["127.0.0.1:8001"]}', "targets: '127.0.0.1:8001' is not an http://"),
        ('{"targets": "http://127.0.0.1:8001"}', "targets must be a list of URLs"),
        ('{"samples_dir": null}', "samples_dir must be a string (got None)"),
        ('{"colour": "blue"}', "unknown fields ['colour']"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"rate": ', "not JSON"),
    ],
)
def test_a_bad_config_is_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(LoadConfigError) as caught:
        LoadConfig.from_json(text)
    assert message in str(caught.value)


def test_a_bad_file_names_the_variable_and_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    with pytest.raises(LoadConfigError, match=f"{CONFIG_ENV}={missing}: cannot read it"):
        load_config(locust_environment(missing))
    bad = tmp_path / "bad.json"
    bad.write_text('{"rate": -2}')
    with pytest.raises(LoadConfigError, match=rf"{CONFIG_ENV}={bad}: rate must be a number >= 0"):
        load_config(locust_environment(bad))


def _locust_list(config_path: Path) -> subprocess.CompletedProcess[str]:
    """``locust --list`` on the scenarios file, handed ``config_path``: imports it, as a run
    does, and prints the user classes it found."""
    env = {**os.environ, **locust_environment(config_path), "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(  # noqa: S603 - our own interpreter and file
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_locust_makes_one_copy_of_each_scenario_per_configured_target(tmp_path: Path) -> None:
    config = LoadConfig(targets=("http://127.0.0.1:1", "http://127.0.0.1:2"))
    listed = _locust_list(config.write(tmp_path))
    assert listed.returncode == 0, listed.stderr
    classes = set(listed.stdout.split())
    assert {"HealthUser", "HealthUser0", "HealthUser1", "MixedUser1"} <= classes
    assert "HealthUser2" not in classes


def test_locust_refuses_a_bad_config_as_it_imports_the_scenarios(tmp_path: Path) -> None:
    path = tmp_path / CONFIG_FILE
    path.write_text('{"rate": -3}')
    listed = _locust_list(path)
    assert listed.returncode != 0
    assert "rate must be a number >= 0 (got -3.0)" in listed.stderr


def test_no_loose_bench_variable_is_left_in_the_bench() -> None:
    # Spelled in two pieces, so this file does not hold the string it looks for.
    loose = "TWINBENCH_" + "BENCH_"
    found = [
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "bench").rglob("*")
        if path.is_file() and loose.encode() in path.read_bytes()
    ]
    assert not found, f"{loose}* still in {found}: use bench.load.config.LoadConfig"
