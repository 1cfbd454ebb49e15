"""Run the load generator (Locust, headless, in its own processes) and sample its CPU.

Locust runs as a child process pinned to the generator CPUs; with more than one generator
CPU it forks ``--processes N`` workers. A sampler thread reads every generator process's
CPU time twice a second, so the measured window's CPU share per process is known exactly:
a process above 80 % of its core means the run measured the generator, not the server.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.run.cpu import preexec_for
from bench.run.sampling import CpuSampler
from shared.launcher import OwnedProcess

__all__ = ["LoadRun", "run_locust"]

LOCUSTFILE = Path(__file__).resolve().parent.parent / "load" / "locustfile.py"


@dataclass
class LoadRun:
    """What one Locust invocation did (its samples are in ``samples_dir``)."""

    argv: list[str]
    returncode: int | None
    wall_s: float
    samples_dir: str
    sampler: CpuSampler
    log_tail: str = ""
    notes: list[str] = field(default_factory=list)


def run_locust(
    *,
    host: str | None,
    user_classes: list[str],
    users: int,
    run_time_s: float,
    env: dict[str, str],
    samples_dir: Path,
    log_path: Path,
    cpus: tuple[int, ...],
    processes: int = 1,
    stop_timeout_s: int = 10,
) -> LoadRun:
    """Run Locust headless for ``run_time_s`` and return once it has exited."""
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(max(users, 1)),
        # A generous stop timeout lets requests already sent finish and be recorded: with
        # seconds of latency (saturated text search) they would otherwise be cut off, and
        # the measured window would look shorter than it was.
        "-t",
        f"{run_time_s:.0f}s",
        "--stop-timeout",
        str(stop_timeout_s),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    if host is not None:  # None: each user class carries its own host
        argv += ["--host", host]
    if processes > 1:
        argv += ["--processes", str(processes)]
    argv += user_classes
    began = time.monotonic()
    child = OwnedProcess(argv, log_path=log_path, env=env, preexec=preexec_for(cpus, None))
    try:
        with CpuSampler(child.pid) as sampler:
            code = child.wait(run_time_s + 60)
    finally:
        child.stop(grace_s=5)
    return LoadRun(
        argv, code, time.monotonic() - began, str(samples_dir), sampler, child.log_tail(800)
    )
