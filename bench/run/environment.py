"""The environment a run happened in: versions, CPU, pinning, quota, machine load, commit."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from bench.run.cpu import CpuPlan
from shared.config import PROJECT_ROOT

__all__ = ["collect_environment", "machine_load"]

PACKAGES = (
    "flask",
    "marshmallow",
    "fastapi",
    "pydantic",
    "starlette",
    "uvicorn",
    "uvicorn-worker",
    "gunicorn",
    "gevent",
    "granian",
    "httptools",
    "uvloop",
    "locust",
    "pymilvus",
    "milvus",
    "sentence-transformers",
    "torch",
    "numpy",
    "psutil",
)


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


# What a run's figures depend on: a change under these makes a run's recorded commit a lie,
# while a change elsewhere (docs/, the examples a previous run just wrote) does not.
CODE_PATHS = ("bench", "shared", "flask_app", "fastapi_app", "pyproject.toml", "requirements.lock")


def _git(*args: str) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=5, cwd=PROJECT_ROOT
        )
        return out.stdout.strip()
    return ""


def code_changed_since(commit: str) -> list[str]:
    """Paths under CODE_PATHS whose content differs between ``commit`` and the working tree
    (an unknown commit counts as everything changed)."""
    if not commit or not _git("rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"):
        return list(CODE_PATHS)
    return _git("diff", "--name-only", commit, "--", *CODE_PATHS).splitlines()


def changed_code() -> list[str]:
    """Paths under CODE_PATHS that differ from the commit (tracked or not)."""
    found = _git("status", "--porcelain", "--", *CODE_PATHS)
    # "XY path" (the output's first blank is stripped with the rest): the path after it.
    return [line.split(maxsplit=1)[1] for line in found.splitlines() if line.strip()]


def machine_load(seconds: float = 1.0) -> dict[str, Any]:
    """Load average, per-CPU busy % and the busiest processes over ``seconds``, taken before
    the run starts anything (Milvus, servers): what shows here is other tenants' work."""
    me = os.getpid()
    procs = [p for p in psutil.process_iter(["name", "cmdline"]) if p.pid != me]
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.cpu_percent(None)  # the first call only starts the clock
    per_cpu = [float(x) for x in psutil.cpu_percent(interval=seconds, percpu=True)]
    busiest: list[tuple[float, str]] = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            share = proc.cpu_percent(None)
            if share >= 5:
                command = " ".join(proc.info["cmdline"] or [proc.info["name"] or "?"])
                busiest.append((share, f"pid {proc.pid} ({share:.0f} %): {command[:120]}"))
    return {
        "load_average": list(os.getloadavg()),
        "background_cpu_percent": per_cpu,
        "background_cores": round(sum(per_cpu) / 100, 3),
        "busiest_processes": [what for _, what in sorted(busiest, reverse=True)[:5]],
    }


def collect_environment(cpu_plan: CpuPlan, load_before: dict[str, Any]) -> dict[str, Any]:
    """Everything about the run's machine and software; ``load_before`` from machine_load."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    changed = changed_code()
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        **load_before,
        "cpu_plan": asdict(cpu_plan),
        "versions": versions,
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        # Dirty: the bench, core or twins differ from the commit (docs/ do not count).
        "git_dirty": bool(changed),
        "git_changed": changed[:20],
        "keep_alive": "client: Locust FastHttpUser keeps connections open; server: as each "
        "server does it (gunicorn gthread: keep-alive 2 s; sync: none; uvicorn: 5 s; "
        "granian: on)",
        "access_log": "off on every server",
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
