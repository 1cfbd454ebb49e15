"""``python -m bench run --target``: the bench drives twins that are already running, by URL.

Against this folder's live twins (started by the fixtures, not by the bench): nothing is
started, pinned or capped by the run, both twins are measured, local servers' CPU is read
from the process listening on their port, and the report renders with the rows that need
floors or a shared server saying why they were not measured.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench.report import write_report
from bench.results import read_results
from bench.run.orchestrator import RunOptions, run_bench
from tests.reliability.conftest import LiveStack


def test_the_bench_drives_running_twins_by_url(live_stack: LiveStack, tmp_path: Path) -> None:
    for server in live_stack.servers.values():
        server.ensure_running()
    children_before = {p.pid for p in psutil.Process().children(recursive=True)}
    targets = {app: server.url for app, server in live_stack.servers.items()}
    out = run_bench(
        RunOptions(
            profile="quick",
            # /health alone: it is compared at a fixed rate (no sweep), the cheapest run
            # that still reads each target's CPU and memory from its own process.
            scenarios=("health",),
            duration_s=1.5,
            repeats=1,
            targets=targets,
            out_dir=tmp_path / "run",
            allow_busy=True,
        )
    )
    # Locust came and went; nothing else was started (no Milvus, no server).
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= children_before
    results = read_results(out)
    assert sorted(c.label for c in results.configs) == ["fastapi/target/1w", "flask/target/1w"]
    assert all(c.argv == [targets[c.app]] for c in results.configs)
    assert "milvus" not in results.environment and results.environment["targets"] == targets
    assert results.topology["shared_server"] is None
    # /health drives both twins in one Locust run, each at the full rate, each its own result.
    health = {r.step.config: r for r in results.runs if r.step.scenario == "health"}
    assert set(health) == {"flask/target/1w", "fastapi/target/1w"}
    assert {r.step.scenario for r in results.runs} <= {"health"}
    for run in health.values():
        assert set(run.step.together) == set(health)
        assert run.failures == 0 and run.by_name == {"/health": run.requests}
        # 300 req/s for 1.5 s: each twin got its own full rate, not a share of it.
        assert run.completed >= 0.8 * 300 * 1.5, run.completed
        assert any("at the same time as 1 other" in note for note in run.notes)
        # Local targets: their CPU is read from the process that listens on their port.
        assert not math.isnan(run.server_cpu_us_per_request)
        assert run.server_cpu_us_per_request > 0
        # Their memory too, by the metric the run says it samples (the quick profile: RSS).
        assert run.memory is not None and run.memory.metric == "rss"
    assert results.environment["memory_sampling"] == "rss"
    report = write_report(out).markdown.read_text()
    assert "not measured: no scenario ran both twins on their usual and on the shared" in report
    json.loads((out / "results.json").read_text())


def test_a_run_stopped_by_sigterm_stops_what_it_started_and_says_so(
    live_stack: LiveStack, tmp_path: Path
) -> None:
    for server in live_stack.servers.values():
        server.ensure_running()
    out = tmp_path / "stopped"
    argv = [sys.executable, "-m", "bench", "run", "--profile", "quick", "--scenarios", "echo"]
    # Steps long enough that the second one is still running when the SIGTERM comes.
    argv += ["--duration", "4", "--repeats", "1", "--allow-busy", "--out", str(out)]
    for app, server in live_stack.servers.items():
        argv += ["--target", f"{app}={server.url}"]
    run = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert run.stderr is not None
        # A step's progress line ends when the step does; the second step's Locust then
        # starts: wait until it runs, and stop the bench in the middle of that step.
        for line in run.stderr:
            if line.startswith("[1/"):
                break
        locusts = _wait_for_locust(run.pid)
        run.send_signal(signal.SIGTERM)
        tail = run.communicate(timeout=60)[1]
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == 143, tail  # 128 + SIGTERM
    assert "interrupted: partial results in" in tail
    assert not [p for p in locusts if _alive(p)], "the step's Locust outlived the bench"
    results = read_results(out)
    assert "interrupted before the end: the results are partial" in results.notes
    assert (out / "report.md").exists()  # the partial results still get their report


def _wait_for_locust(pid: int, timeout_s: float = 30.0) -> list[psutil.Process]:
    """The Locust processes under ``pid``, once there are any."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [p for p in psutil.Process(pid).children(recursive=True) if _is_locust(p)]
        if found:
            time.sleep(1.0)  # under way, not just started
            return found
        time.sleep(0.1)
    raise AssertionError("no Locust process appeared under the bench")


def _is_locust(process: psutil.Process) -> bool:
    try:
        return "locust" in " ".join(process.cmdline())
    except psutil.Error:
        return False


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
