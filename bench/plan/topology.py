"""Who is measured, on what: the twins, their bare floors, the servers, and the roles.

The one place that says which server is each twin's *usual* one (taken from the server
catalogue in ``shared.servers``, so ``make serve-*`` and the bench agree), which server is
the *shared* one both twins run on for the same-server comparison, and which bare floor
stands beside each twin. A run records this in its results (:func:`record`), so a report
never reads it from today's code.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal, cast

from bench.results import BATCHED_VARIANT
from shared.servers import DEFAULT_SERVER, AppTarget, ServerSpec

__all__ = [
    "Twin",
    "Floor",
    "Server",
    "Role",
    "TWINS",
    "FRAMEWORK_FLOOR_OF",
    "RAW_FLOOR_OF",
    "twin_of",
    "FLOOR_TARGETS",
    "SHARED_SERVER",
    "IN_PROCESS",
    "usual_server",
    "spec_for",
    "record",
    "record_targets",
    "BATCHED",
    "BATCHING_ON",
    "EMBED_BACKEND",
    "on_runtime",
    "runtime_of",
]

Twin = Literal["flask", "fastapi"]
Floor = Literal["bare-flask", "bare-fastapi", "raw-wsgi", "raw-asgi"]
Server = Literal[
    "gunicorn-sync",
    "gunicorn-gthread",
    "gunicorn-gevent",
    "uvicorn",
    "gunicorn-uvicorn",
    "granian",
]
# twin: one of the two services; floor: a bare app with no framework on the same server;
# in-process: the core called directly, no HTTP.
Role = Literal["twin", "floor", "in-process"]

TWINS: tuple[Twin, ...] = ("flask", "fastapi")
# Beside each twin: its framework with one route (the framework's floor), and a raw
# callable of the same interface (the server's floor).
FRAMEWORK_FLOOR_OF: dict[Twin, Floor] = {"flask": "bare-flask", "fastapi": "bare-fastapi"}
RAW_FLOOR_OF: dict[Twin, Floor] = {"flask": "raw-wsgi", "fastapi": "raw-asgi"}
FLOOR_TARGETS: dict[Floor, AppTarget] = {
    "bare-flask": AppTarget("bench.run.floors.bare_flask:app", "wsgi"),
    "bare-fastapi": AppTarget("bench.run.floors.bare_fastapi:app", "asgi"),
    "raw-wsgi": AppTarget("bench.run.floors.raw:wsgi_app", "wsgi"),
    "raw-asgi": AppTarget("bench.run.floors.raw:asgi_app", "asgi"),
}
# granian speaks WSGI and ASGI: the one server both twins (and both floors) can share.
SHARED_SERVER: Server = "granian"
# Search micro-batching on (shared/batcher.py): the variant the batching comparison runs.
BATCHED = BATCHED_VARIANT
BATCHING_ON = (("TWINBENCH_SEARCH_BATCHING", "1"),)
# The model runtime's setting: a configuration told another runtime than the run's default
# is the runtime comparison's variant (its label ends "+torch"), never an ordinary twin.
EMBED_BACKEND = "TWINBENCH_EMBED_BACKEND"
# The label of the in-process floor (the core called directly, no HTTP).
IN_PROCESS = "core/in-process"


def twin_of(app: Twin | Floor) -> Twin:
    """The twin a floor stands beside (a twin is its own)."""
    for floors in (FRAMEWORK_FLOOR_OF, RAW_FLOOR_OF):
        for twin, floor in floors.items():
            if floor == app:
                return twin
    return cast(Twin, app)


def usual_server(app: Twin | Floor) -> Server:
    """A twin's usual server (the catalogue's default); a floor's is its twin's."""
    return cast(Server, DEFAULT_SERVER[twin_of(app)])


def spec_for(
    app: Twin | Floor,
    server: Server,
    *,
    workers: int = 1,
    threads: int = 4,
    variant: str = "",
    app_env: tuple[tuple[str, str], ...] = (),
) -> ServerSpec:
    """The server configuration of a twin or a floor (floors carry their own target)."""
    target = FLOOR_TARGETS.get(cast(Floor, app))
    return ServerSpec(
        app=app,
        server=server,
        workers=workers,
        threads=threads,
        target=target,
        variant=variant,
        app_env=app_env,
    )


def on_runtime(spec: ServerSpec, runtime: str) -> ServerSpec:
    """``spec`` told to run the model on ``runtime``, and nothing else changed: the variant
    gains "+runtime" (``fastapi/uvicorn/1wx4t+batched+torch``)."""
    variant = f"{spec.variant}+{runtime}" if spec.variant else runtime
    return replace(spec, variant=variant, app_env=(*spec.app_env, (EMBED_BACKEND, runtime)))


def runtime_of(spec: ServerSpec) -> str | None:
    """The runtime a configuration was told (:func:`on_runtime`); None: the run's default."""
    return dict(spec.app_env).get(EMBED_BACKEND)


def record() -> dict[str, object]:
    """The topology as results.json keeps it: what the analysis reads, not this module."""
    return {
        "twins": list(TWINS),
        "framework_floor_of": dict(FRAMEWORK_FLOOR_OF),
        "raw_floor_of": dict(RAW_FLOOR_OF),
        "usual_server": {app: usual_server(app) for app in (*TWINS, *FLOOR_TARGETS)},
        "shared_server": SHARED_SERVER,
        "in_process": IN_PROCESS,
    }


def record_targets(twins: list[str]) -> dict[str, object]:
    """The topology of a run against twins given by URL: no floors, no shared server."""
    return {
        "twins": twins,
        "framework_floor_of": {},
        "raw_floor_of": {},
        "usual_server": {twin: "target" for twin in twins},
        "shared_server": None,
        "in_process": IN_PROCESS,
    }
