"""The catalogue of server command lines: how each twin (or any WSGI/ASGI app) is served.

One place builds every command line, so that ``make serve-*``, the tests and the benchmark
start servers exactly the same way, and the benchmark can record the exact argv it ran.
Nothing here imports a web framework: these are only command lines. The benchmark serves
apps of its own (the bare floors) by passing their :class:`AppTarget`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "AppTarget",
    "Interface",
    "ServerSpec",
    "TWIN_TARGETS",
    "SERVER_KINDS",
    "DEFAULT_SERVER",
    "server_argv",
    "served_env",
]

Interface = Literal["wsgi", "asgi"]


@dataclass(frozen=True)
class AppTarget:
    """What a server imports (``module:attribute``) and which interface that app speaks."""

    module_attr: str
    interface: Interface


TWIN_TARGETS: dict[str, AppTarget] = {
    "flask": AppTarget("flask_app.wsgi:app", "wsgi"),
    "fastapi": AppTarget("fastapi_app.asgi:app", "asgi"),
}

# Which servers can run which interface. granian speaks both: it is the "same server"
# that lets the report separate the framework's cost from the server's.
SERVER_KINDS: dict[str, frozenset[str]] = {
    "gunicorn-sync": frozenset({"wsgi"}),
    "gunicorn-gthread": frozenset({"wsgi"}),
    "gunicorn-gevent": frozenset({"wsgi"}),
    "uvicorn": frozenset({"asgi"}),
    "gunicorn-uvicorn": frozenset({"asgi"}),
    "granian": frozenset({"wsgi", "asgi"}),
}

# The usual home of each twin: `make serve-*`, the tests and the benchmark's "usual" server.
DEFAULT_SERVER: dict[str, str] = {
    "flask": "gunicorn-gthread",
    "fastapi": "uvicorn",
}


@dataclass(frozen=True)
class ServerSpec:
    """One server configuration: which app, which server, how many workers and threads.

    ``target`` serves an app that is not a twin (``app`` then only names it).
    """

    app: str
    server: str
    workers: int = 1
    threads: int = 4
    host: str = "127.0.0.1"
    port: int = 8000
    access_log: bool = False
    extra: tuple[str, ...] = field(default_factory=tuple)
    target: AppTarget | None = None
    # A named variant of the app's settings (the label says "+name") and what it sets.
    variant: str = ""
    app_env: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        """app/server/NwxMt: N worker processes, M threads each for blocking work (none for
        sync, one request at a time, and gevent, one greenlet per connection)."""
        threads = "" if self.server in ("gunicorn-sync", "gunicorn-gevent") else f"x{self.threads}t"
        variant = f"+{self.variant}" if self.variant else ""
        return f"{self.app}/{self.server}/{self.workers}w{threads}{variant}"

    def env(self) -> dict[str, str]:
        """What the served app reads at start-up: its threads for blocking work, and the
        settings of its variant."""
        return {"TWINBENCH_BLOCKING_THREADS": str(self.threads), **dict(self.app_env)}

    @property
    def app_target(self) -> AppTarget:
        if self.target is not None:
            return self.target
        if self.app not in TWIN_TARGETS:
            raise ValueError(f"unknown app {self.app!r}; choose one of {sorted(TWIN_TARGETS)}")
        return TWIN_TARGETS[self.app]

    @property
    def interface(self) -> Interface:
        return self.app_target.interface


def _bin(name: str) -> str:
    # The console script beside the running interpreter, so the venv's copy is used.
    return str(Path(sys.executable).parent / name)


def server_argv(spec: ServerSpec) -> list[str]:
    """The exact command line that serves ``spec``; raises ValueError for impossible pairs."""
    app_target = spec.app_target
    if spec.server not in SERVER_KINDS:
        raise ValueError(f"unknown server {spec.server!r}; choose one of {sorted(SERVER_KINDS)}")
    target, interface = app_target.module_attr, app_target.interface
    if interface not in SERVER_KINDS[spec.server]:
        raise ValueError(f"{spec.server} cannot serve the {interface.upper()} app {spec.app!r}")
    bind = f"{spec.host}:{spec.port}"

    if spec.server.startswith("gunicorn"):
        worker_class = {
            "gunicorn-sync": "sync",
            "gunicorn-gthread": "gthread",
            "gunicorn-gevent": "gevent",
            "gunicorn-uvicorn": "uvicorn_worker.UvicornWorker",
        }[spec.server]
        argv = [
            _bin("gunicorn"),
            "--bind",
            bind,
            "--workers",
            str(spec.workers),
            "--worker-class",
            worker_class,
            # Model loading takes seconds; the default 30 s timeout would kill busy workers
            # under a long benchmark step, so allow more.
            "--timeout",
            "120",
            "--graceful-timeout",
            "20",
        ]
        if spec.server == "gunicorn-gthread":
            argv += ["--threads", str(spec.threads)]
        if spec.server == "gunicorn-gevent":
            argv += ["--worker-connections", "1000"]
        if spec.access_log:
            argv += ["--access-logfile", "-"]
        return [*argv, *spec.extra, target]

    if spec.server == "uvicorn":
        argv = [
            _bin("uvicorn"),
            target,
            "--host",
            spec.host,
            "--port",
            str(spec.port),
            "--workers",
            str(spec.workers),
            "--timeout-graceful-shutdown",
            "20",
        ]
        if not spec.access_log:
            argv.append("--no-access-log")
        return [*argv, *spec.extra]

    # granian: the same Rust server for both interfaces.
    argv = [
        _bin("granian"),
        "--interface",
        interface,
        "--host",
        spec.host,
        "--port",
        str(spec.port),
        "--workers",
        str(spec.workers),
    ]
    if interface == "wsgi":
        argv += ["--blocking-threads", str(spec.threads)]
    if spec.access_log:
        argv.append("--access-log")
    return [*argv, *spec.extra, target]


def served_env(**settings: str) -> dict[str, str]:
    """The environment of a server started from this process, with ``settings`` on top.

    None of this process's own ``TWINBENCH_*``, ``MILVUS_URI`` or ``MILVUS_TOKEN``: a setting
    left over in a shell would silently change what is served (another Milvus, a pitfall
    switch). One torch thread and no search batching, as the benchmark serves both twins
    (the batched configurations ask for it), and output unbuffered for the logs.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TWINBENCH_") and key not in ("MILVUS_URI", "MILVUS_TOKEN")
    }
    return {
        **env,
        "PYTHONUNBUFFERED": "1",
        "TWINBENCH_TORCH_THREADS": "1",
        "TWINBENCH_SEARCH_BATCHING": "0",
        **settings,
    }
