"""What one ``GET /health`` costs in process, through FastAPI's bare app and through the twin:
the figures behind the comments in fastapi_app/routes.py.

Run: ``python -m tools.route_cost [--requests 3000] [--rounds 5]`` with Milvus up (``make
milvus-up``; about a minute on 2 cores; run it alone, pinned for steadier figures:
``taskset -c 0 python -m tools.route_cost``). Each app is an ASGI callable driven straight
from an event loop in this process, no server and no socket, so the figure is the app's own
CPU per request and none of the server's. The apps take turns within each round, and each
app's median over the rounds is printed:

* ``bare FastAPI``: the benchmark's framework floor (bench/run/floors/bare_fastapi.py);
* ``twin``: ``fastapi_app.create_app()``, its routes on the app's own router;
* ``twin, routes included``: the same handlers on an ``APIRouter`` the app includes, as
  FastAPI's "bigger applications" tutorial writes it.

The twin serves its cached /health body (no Milvus call inside the timed loop: the cache is
refreshed between rounds). Nothing is written.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI

from bench.run.floors.bare_fastapi import app as bare_fastapi
from fastapi_app import create_app
from fastapi_app.routes import add_routes
from shared.config import get_settings
from shared.service import SearchService

__all__ = ["main", "cpu_us_per_request"]

ASGIApp = Callable[..., Any]

SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/health",
    "raw_path": b"/health",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"127.0.0.1:8000"), (b"accept", b"*/*")],
    "client": ("127.0.0.1", 40000),
    "server": ("127.0.0.1", 8000),
}


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def _sender(statuses: list[int]) -> Callable[[dict[str, Any]], Any]:
    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    return send


async def _serve(app: ASGIApp, requests: int, statuses: list[int]) -> None:
    send = _sender(statuses)
    for _ in range(requests):
        await app(dict(SCOPE), _receive, send)


def cpu_us_per_request(app: ASGIApp, requests: int) -> float:
    """This process's CPU per request over ``requests`` sequential requests (after a warm-up);
    raises if any answer was not a 200, so a failing app cannot pass for a cheap one."""
    loop = asyncio.new_event_loop()
    try:
        statuses: list[int] = []
        loop.run_until_complete(_serve(app, max(requests // 10, 10), statuses))
        began = time.process_time()
        loop.run_until_complete(_serve(app, requests, statuses))
        used = time.process_time() - began
    finally:
        loop.close()
    if set(statuses) != {200}:
        raise RuntimeError(f"/health answered {sorted(set(statuses))}, not only 200")
    return used / requests * 1e6


def _included(service: SearchService) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    router = APIRouter()
    add_routes(router, get_settings())
    app.include_router(router)
    app.state.service = service
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    settings = get_settings()
    service = SearchService.from_settings(settings)
    try:
        twin = create_app(settings, service)
        twin.state.service = service  # what the lifespan sets; no lifespan runs here
        apps: dict[str, ASGIApp] = {
            "bare FastAPI": bare_fastapi,
            "twin": twin,
            "twin, routes included": _included(service),
        }
        costs: dict[str, list[float]] = {name: [] for name in apps}
        for round_ in range(args.rounds):
            for name, app in apps.items():
                service.health()  # a fresh cached body: no Milvus call while timed
                costs[name].append(cpu_us_per_request(app, args.requests))
            print(f"round {round_ + 1}/{args.rounds} done", flush=True)
    finally:
        service.close()
    base = statistics.median(costs["bare FastAPI"])
    for name, values in costs.items():
        median = statistics.median(values)
        print(f"{name:24} {median:6.1f} us CPU per request  ({median / base:.2f}x bare)")


if __name__ == "__main__":
    main()
