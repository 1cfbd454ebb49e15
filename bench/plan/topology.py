"""Who is measured, on what: the twins, their bare floors, the servers, and the roles.

The one place that says which server is each twin's *usual* one (taken from the server
catalogue in ``shared.servers``, so ``make serve-*`` and the bench agree), which server is
the *shared* one both twins run on for the same-server comparison, and which bare floor
stands beside each twin. A run records this in its results (:func:`record`), so a report
never reads it from today's code.
"""

from __future__ import annotations

from typing import Literal, cast

from shared.servers import DEFAULT_SERVER, AppTarget, ServerSpec

__all__ = [
    "Twin",
    "Floor",
    "Server",
    "Role",
    "TWINS",
    "FLOOR_OF",
    "FLOOR_TARGETS",
    "SHARED_SERVER",
    "IN_PROCESS",
    "usual_server",
    "spec_for",
    "record",
]

Twin = Literal["flask", "fastapi"]
Floor = Literal["floor-wsgi", "floor-asgi"]
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
FLOOR_OF: dict[Twin, Floor] = {"flask": "floor-wsgi", "fastapi": "floor-asgi"}
FLOOR_TARGETS: dict[Floor, AppTarget] = {
    "floor-wsgi": AppTarget("bench.run.floors:wsgi_app", "wsgi"),
    "floor-asgi": AppTarget("bench.run.floors:asgi_app", "asgi"),
}
# granian speaks WSGI and ASGI: the one server both twins (and both floors) can share.
SHARED_SERVER: Server = "granian"
# The label of the in-process floor (the core called directly, no HTTP).
IN_PROCESS = "core/in-process"


def usual_server(app: Twin | Floor) -> Server:
    """A twin's usual server (the catalogue's default); a floor's is its twin's."""
    twin = next((t for t, f in FLOOR_OF.items() if f == app), app)
    return cast(Server, DEFAULT_SERVER[twin])


def spec_for(
    app: Twin | Floor, server: Server, *, workers: int = 1, threads: int = 4
) -> ServerSpec:
    """The server configuration of a twin or a floor (floors carry their own target)."""
    target = FLOOR_TARGETS.get(cast(Floor, app))
    return ServerSpec(app=app, server=server, workers=workers, threads=threads, target=target)


def record() -> dict[str, object]:
    """The topology as results.json keeps it: what the analysis reads, not this module."""
    return {
        "twins": list(TWINS),
        "floor_of": dict(FLOOR_OF),
        "usual_server": {app: usual_server(app) for app in (*TWINS, *FLOOR_OF.values())},
        "shared_server": SHARED_SERVER,
        "in_process": IN_PROCESS,
    }
