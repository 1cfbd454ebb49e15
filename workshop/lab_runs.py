"""How a lab check runs a lab's lines and reads what they measured.

A line runs with bash from the repository root, against a twin started with the settings
the line names; its figure is read from its own output, from the exact per-request samples
the scenarios file writes (``Loaded``), or from the twin's log.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.load.config import LoadConfig, locust_environment
from bench.load.samples import read_samples
from bench.stats import percentile
from shared.config import PROJECT_ROOT
from workshop.labs import Command
from workshop.room import WORK_DIR, Twin, lab_environment, run_line, samples_dir

__all__ = [
    "Loaded",
    "Outcome",
    "asgi_costs",
    "devcost",
    "locust_csv_p50",
    "locust_run",
    "locust_ui_answers",
    "loaded_from",
    "operations",
    "run_on",
    "samples_into",
    "seconds_of",
    "server_of",
    "threads_of",
    "urls_of",
]


@dataclass(frozen=True)
class Outcome:
    measured: str
    holds: bool


@dataclass
class Loaded:
    """What one Locust line measured: exact latencies (ms) and completions per second, by name."""

    latencies: dict[str, np.ndarray]
    rates: dict[str, float]
    failures: int
    output: str
    # Completions in each whole second of the run, by name: a rate with its spread.
    per_second: dict[str, np.ndarray]
    # Latencies (ms) of the requests that failed (a 503, say), by name.
    failed: dict[str, np.ndarray]

    def p(self, name: str, q: float) -> float:
        values = self.latencies.get(name)
        if values is None or not len(values):
            raise RuntimeError(f"no {name} request completed:\n{self.output[-1500:]}")
        return percentile(np.sort(values), q)


def server_of(command: Command) -> tuple[dict[str, str], str]:
    settings = dict(command.server)
    pinned = settings.pop("PINNED", "")
    return settings, pinned


def urls_of(twin: Twin) -> dict[str, str]:
    return {"FLASK" if twin.app == "flask" else "FASTAPI": twin.url}


def samples_into(folder: Path) -> dict[str, str]:
    """The environment that sends a lab's Locust samples into ``folder`` (the rest of the
    load configuration stays at its defaults, as in the participant's own run)."""
    return locust_environment(LoadConfig(samples_dir=folder).write(folder))


def locust_run(command: Command, twin: Twin, label: str) -> Loaded:
    folder = samples_dir(label)
    env = lab_environment(**samples_into(folder), **urls_of(twin))
    return loaded_from(folder, run_line(command.line, env, timeout_s=120))


@contextlib.contextmanager
def load_in_background(
    command: Command, twin: Twin, folder: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A lab's Locust line running against ``twin`` while the caller does something else
    (its samples go to ``folder``); waited for when the caller is done."""
    env = lab_environment(**samples_into(folder), **urls_of(twin))
    load = subprocess.Popen(  # noqa: S603 - the lab's own line
        ["bash", "-c", command.line],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield load
    finally:
        load.wait(timeout=120)


def loaded_from(folder: Path, output: str) -> Loaded:
    """What the Locust run that wrote its samples into ``folder`` measured."""
    samples = read_samples(folder)
    latencies: dict[str, np.ndarray] = {}
    rates: dict[str, float] = {}
    per_second: dict[str, np.ndarray] = {}
    failed: dict[str, np.ndarray] = {}
    for name in sorted(set(samples.names)):
        named = np.array([n == name for n in samples.names])
        failed[name] = samples.select(named & ~samples.ok).latency_ms
        chosen = samples.select(named & samples.ok)
        latencies[name] = chosen.latency_ms
        span = float(chosen.start[-1] - chosen.start[0]) if len(chosen) > 1 else 0.0
        rates[name] = (len(chosen) - 1) / span if span > 0 else 0.0
        seconds = np.floor(chosen.start - chosen.start[0]).astype(int) if len(chosen) else []
        # Whole seconds only: the last, partial one would read as a slow second.
        per_second[name] = np.bincount(seconds)[:-1].astype(float) if len(chosen) else np.array([])
    return Loaded(latencies, rates, int((~samples.ok).sum()), output, per_second, failed)


def run_on(command: Command, twin: Twin, **extra: str) -> str:
    return run_line(command.line, lab_environment(**urls_of(twin), **extra))


def devcost() -> dict[str, dict[str, int]]:
    """``python -m bench devcost``'s table, as the participant sees it, by app and column."""
    output = run_line(".venv/bin/python -m bench devcost", lab_environment())
    lines = [line.split() for line in output.splitlines() if line.strip()]
    header = lines[0]
    return {
        row[0]: dict(zip(header[1:], map(int, row[1:]), strict=False))
        for row in lines[1:]
        if row[0] in ("flask", "fastapi")
    }


def operations(document: str) -> set[tuple[str, str]]:
    paths = json.loads(document)["paths"]
    return {(path, method) for path, item in paths.items() for method in item}


def seconds_of(output: str) -> tuple[dict[str, object], float]:
    """An answer printed by ``curl -w ' %{time_total} s'``: its JSON body and its seconds."""
    match = re.fullmatch(r"(.*?)\s*([0-9.]+) s", output.strip(), re.S)
    if not match:
        raise RuntimeError(f"unexpected answer: {output[-500:]}")
    body = match.group(1).strip()
    return (json.loads(body) if body.startswith("{") else {}), float(match.group(2))


def threads_of(output: str) -> int:
    match = re.search(r"Threads:\s+(\d+)", output)
    if not match:
        raise RuntimeError(f"no thread count in: {output[-300:]}")
    return int(match.group(1))


def asgi_costs(output: str) -> dict[str, float]:
    costs = {
        match.group(1): float(match.group(2))
        for match in re.finditer(
            r"^(as built|sync handlers|sync dependency): +([0-9.]+) us", output, re.M
        )
    }
    if len(costs) != 3:
        raise RuntimeError(f"unexpected asgi-cost output:\n{output[-1500:]}")
    return costs


def locust_ui_answers(command: Command, twin: Twin) -> bool:
    from shared.launcher import OwnedProcess, wait_until_healthy

    child = OwnedProcess(
        ["bash", "-c", command.line],
        log_path=WORK_DIR / "logs" / "locust-ui.log",
        env=lab_environment(**urls_of(twin)),
        cwd=PROJECT_ROOT,
    )
    try:
        wait_until_healthy("http://127.0.0.1:8089/", child, timeout_s=60, what="Locust UI")
        return True
    except RuntimeError:
        return False
    finally:
        child.stop(grace_s=5)


def locust_csv_p50(path: Path, name: str) -> float:
    import csv

    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == name:
                return float(row["50%"])
    raise RuntimeError(f"no {name} row in {path}")
