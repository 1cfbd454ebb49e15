"""The configurations under test, started and stopped: twins and floors from the catalogue
(``shared.servers``, exact argv) and the in-process floor worker.

All configurations stay up for the whole run, pinned to the server CPUs, each in its own
CPU-quota group; only the step's configurations are under load (one, or the group a
profile runs together), the others idle, and the run records the CPU they used meanwhile.
That keeps restarts (seconds of model loading) out of the time budget and lets repeats
interleave configurations without restarting them.
"""

from __future__ import annotations

import contextlib
import json
import select
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from bench.plan.steps import ConfigPlan
from bench.plan.topology import EMBED_BACKEND
from bench.results import ServerConfig, slug
from bench.run.accounting import CpuAccount
from bench.run.cpu import CgroupCap, CpuPlan, pin_process
from bench.run.procs import http_json
from bench.run.sampling import process_tree
from shared.launcher import OwnedProcess, free_port, wait_until_healthy
from shared.servers import ServerSpec, server_argv

__all__ = [
    "Running",
    "External",
    "Target",
    "external",
    "start_config",
    "read_batch_sizes",
    "wait_ready",
    "confine",
    "probe_twin",
    "model_runtimes",
    "told_runtimes",
    "KEEP_ALIVE",
]

KEEP_ALIVE = {
    "gunicorn-sync": "none (one connection per request)",
    "gunicorn-gthread": "on, 2 s idle timeout (gunicorn --keep-alive default)",
    "gunicorn-gevent": "on, 2 s idle timeout",
    "gunicorn-uvicorn": "on, 5 s idle timeout (uvicorn default)",
    "uvicorn": "on, 5 s idle timeout (uvicorn default)",
    "granian": "on (granian default)",
    "in-process": "no HTTP",
}


@dataclass
class Running:
    """A started configuration: its record, process, port and quota group.

    The in-process floor speaks no HTTP: it has no port, and takes its commands on stdin.
    """

    config: ServerConfig
    child: OwnedProcess
    port: int | None
    cap: CgroupCap | None
    account: CpuAccount | None

    @property
    def in_process(self) -> bool:
        return self.port is None

    @property
    def pid(self) -> int | None:
        return self.child.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        try:
            if self.child.proc.stdin is not None:
                with contextlib.suppress(OSError):
                    self.child.proc.stdin.close()
            self.child.stop(grace_s=15)
        finally:
            if self.cap is not None:
                self.cap.remove()
            if self.account is not None:
                self.account.remove()

    def run_in_process(self, users: int, run_time: float, samples: Path) -> float:
        """One measurement by the in-process worker; returns its CPU seconds."""
        stdin, stdout = self.child.proc.stdin, self.child.proc.stdout
        assert stdin is not None and stdout is not None
        stdin.write(
            json.dumps({"users": users, "run_time": run_time, "samples": str(samples)}) + "\n"
        )
        stdin.flush()
        answer = _readline(self.child, run_time + 120)
        if not answer:
            raise RuntimeError(f"the in-process worker died:\n{self.child.log_tail()}")
        return float(json.loads(answer)["cpu_s"])


def batch_stats_dir(logs: Path, label: str) -> Path:
    return logs / "batches" / slug(label)


def read_batch_sizes(config: ServerConfig) -> dict[int, int]:
    """Searches per batch size so far, over every worker of a configuration that batches
    (cumulative counters its workers write about once a second); {} when it does not."""
    directory = config.app_env.get("TWINBENCH_SEARCH_BATCH_STATS_DIR")
    sizes: dict[int, int] = {}
    for path in Path(directory).glob("batches-*.json") if directory else ():
        with contextlib.suppress(OSError, ValueError):
            for size, count in json.loads(path.read_text()).get("sizes", {}).items():
                sizes[int(size)] = sizes.get(int(size), 0) + int(count)
    return sizes


def start_config(
    plan: ConfigPlan, *, cpus: CpuPlan, env: dict[str, str], pool_path: Path, logs: Path
) -> Running:
    """Start one configuration (not yet waiting for it to be healthy)."""
    cap = CgroupCap(slug(plan.label), cpus.server_quota_cores) if cpus.server_quota_cores else None
    # Start unconfined: loading torch and the model in every server at once under a
    # half-core quota took ~50 s; :func:`confine` pins and caps each one once it is ready.
    log_path = logs / f"{slug(plan.label)}.log"
    port: int | None = None
    try:
        if plan.spec is None:
            argv = [sys.executable, "-m", "bench.run.inprocess", "--pool", str(pool_path)]
            child = OwnedProcess(argv, log_path=log_path, env=env, pipes=True)
            spec = ServerSpec(app="core", server="in-process")
        else:
            port = free_port()
            # Batch sizes, where the app batches its searches, land beside the logs.
            stats = (("TWINBENCH_SEARCH_BATCH_STATS_DIR", str(batch_stats_dir(logs, plan.label))),)
            spec = replace(plan.spec, port=port, app_env=plan.spec.app_env + stats)
            argv = server_argv(spec)
            child = OwnedProcess(argv, log_path=log_path, env={**env, **spec.env()})
    except BaseException:
        if cap is not None:
            cap.remove()
        raise
    config = ServerConfig(
        label=plan.label,
        app=spec.app,
        server=spec.server,
        workers=spec.workers,
        threads=spec.threads,
        interface="none" if plan.spec is None else spec.interface,
        argv=argv,
        access_log=spec.access_log,
        keep_alive=KEEP_ALIVE.get(spec.server, "?"),
        cpus=list(cpus.server_cpus),
        cpu_quota_cores=cpus.server_quota_cores,
        role=plan.role,
        variant=spec.variant,
        app_env=dict(spec.app_env),
    )
    return Running(config, child, port, cap, CpuAccount(slug(plan.label), child.pid))


def wait_ready(running: Running, timeout_s: float = 240.0) -> None:
    """Healthy over HTTP (servers) or "ready" on stdout (the in-process worker)."""
    if not running.in_process:
        wait_until_healthy(f"{running.url}/health", running.child, timeout_s=timeout_s)
        if running.config.role == "twin":
            # One real search loads anything lazy before the first measured request.
            http_json("POST", f"{running.url}/search", {"query": "warm up", "top_k": 1}, timeout=60)
        return
    if not _readline(running.child, timeout_s):
        raise RuntimeError(f"the in-process worker failed:\n{running.child.log_tail()}")


def _readline(child: OwnedProcess, timeout_s: float) -> str:
    """One line from a worker's stdout, or "" when it died or stayed silent too long."""
    stdout = child.proc.stdout
    assert stdout is not None
    ready, _, _ = select.select([stdout], [], [], timeout_s)
    return str(stdout.readline()) if ready else ""


def confine(running: Running) -> None:
    """Pin every process and thread of a ready configuration to the server CPUs, and cap it.

    Threads and processes created afterwards inherit both (affinity from their creating
    thread, the cgroup from their parent).
    """
    for proc in process_tree(running.child.pid):
        pin_process(proc.pid, tuple(running.config.cpus))
        if running.cap is not None:
            with contextlib.suppress(OSError):
                running.cap.add_pid(proc.pid)
    if running.account is not None:
        running.account.add_tree()


@dataclass
class External:
    """A twin already running somewhere (``--target``): driven over HTTP only, never started,
    pinned, capped or stopped. Its CPU and memory are read only where it listens on this
    machine (the process found listening on its port, read, never moved); elsewhere they are
    not available and the report says so."""

    config: ServerConfig
    url: str
    account: CpuAccount | None
    in_process = False

    @property
    def pid(self) -> int | None:
        return self.account.pid if self.account is not None else None

    def stop(self) -> None:
        """Not ours to stop."""


Target = Running | External


def _local_listener(port: int) -> int | None:
    """The pid listening on ``port`` on this machine, if this process may see it."""
    with contextlib.suppress(psutil.Error, OSError):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return conn.pid
    return None


def external(twin: str, url: str) -> External:
    """The record of a twin given by URL, with its CPU account where it is local."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--target {twin}={url}: give a URL such as http://127.0.0.1:8001")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    pid = _local_listener(port) if local else None
    account = CpuAccount(f"target-{twin}", pid, own=False) if pid is not None else None
    config = ServerConfig(
        label=f"{twin}/target/1w",
        app=twin,
        server="target",
        workers=1,
        threads=0,
        interface={"flask": "wsgi", "fastapi": "asgi"}.get(twin, "?"),
        argv=[url],
        access_log=False,
        keep_alive="as the target server does",
        cpus=[],
        cpu_quota_cores=None,
        role="twin",
    )
    return External(config, url.rstrip("/"), account)


def told_runtimes(configs: list[ServerConfig]) -> dict[str, str]:
    """The configurations deliberately told a model runtime (the runtime comparison's
    variant, ``bench.plan.topology.on_runtime``), with the runtime each was told."""
    return {c.label: c.app_env[EMBED_BACKEND] for c in configs if EMBED_BACKEND in c.app_env}


def model_runtimes(urls: dict[str, str], told: Mapping[str, str] | None = None) -> dict[str, str]:
    """The model runtime each twin says it runs (its /health ``runtime``).

    Raises when the twins not in ``told`` differ: a comparison of twins on different
    runtimes would measure the runtime (x2 or more on text search), not the framework.
    A twin in ``told`` was put on its runtime on purpose (the runtime comparison) and must
    run the one it was told; a twin that does not is refused too.
    """
    told = told or {}
    found: dict[str, str] = {}
    for label, url in urls.items():
        try:
            status, body = http_json("GET", f"{url}/health", timeout=10)
        except OSError as exc:
            status, body = 0, {"error": str(exc)}
        runtime = body.get("runtime") if isinstance(body, dict) else None
        found[label] = str(runtime) if status == 200 and runtime else f"unknown ({status})"
    ignored = sorted(label for label in told if label in found and found[label] != told[label])
    if ignored:
        listed = ", ".join(f"{label}: told {told[label]}, runs {found[label]}" for label in ignored)
        raise RuntimeError(
            f"twins ignored the model runtime they were told ({listed}): the runtime "
            "comparison would compare the wrong runtimes"
        )
    ordinary = {label: runtime for label, runtime in found.items() if label not in told}
    if len(set(ordinary.values())) > 1:
        listed = ", ".join(f"{label}: {runtime}" for label, runtime in sorted(ordinary.items()))
        raise RuntimeError(
            f"the twins run different model runtimes ({listed}); a comparison would measure "
            "the runtime, not the framework: serve them with the same TWINBENCH_EMBED_BACKEND"
        )
    return found


def probe_twin(url: str) -> dict[str, object]:
    """Facts for the claims table, asked once per twin: docs served? the same 422s?"""
    out: dict[str, object] = {}
    for path in ("/docs", "/redoc", "/openapi.json"):
        try:
            out[f"GET {path}"] = http_json("GET", f"{url}{path}", timeout=10)[0]
        except OSError as exc:
            out[f"GET {path}"] = f"error: {exc}"
    try:
        status, body = http_json("POST", f"{url}/echo", {"query": "x", "top_k": 500}, timeout=10)
        out["bad echo status"] = status
        out["bad echo body"] = body
        status, body = http_json(
            "POST", f"{url}/echo", {"query": " padded ", "top_k": 3}, timeout=10
        )
        out["good echo status"] = status
        out["good echo body"] = body
    except OSError as exc:
        out["echo error"] = str(exc)
    return out
