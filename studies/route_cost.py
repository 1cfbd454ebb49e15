"""What one ``GET /health`` costs in process, through FastAPI's bare app and through the twin:
the figures behind the comments in fastapi_app/routes.py.

Run: ``python -m studies.route_cost [--requests 3000] [--rounds 5]`` with Milvus up (``make
milvus-up``; under a minute on 2 cores; run it alone, pinned for steadier figures:
``taskset -c 0 python -m studies.route_cost``). Each app is an ASGI callable driven straight
from an event loop in this process, one request after another, no server and no socket
(the driver of ``python -m workshop asgi-cost``), so the figure is the app's own time
per request and none of the server's. The apps take turns within each round, and each app's
median over the rounds is printed:

* ``bare FastAPI``: the benchmark's framework floor (bench/run/floors/bare_fastapi.py);
* ``twin``: ``fastapi_app.create_app()``, its routes on the app's own router;
* ``twin, routes included``: the same handlers on an ``APIRouter`` the app includes, as
  FastAPI's "bigger applications" tutorial writes it (and no middleware: the twin's two
  pure-ASGI middlewares add about 2 us).

The twin serves its cached /health body (no Milvus call inside a timed round: the cache is
refreshed before each). Nothing is written.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from typing import Any

from fastapi import APIRouter, FastAPI

from bench.run.floors.bare_fastapi import app as bare_fastapi
from fastapi_app import create_app
from fastapi_app.routes import add_routes
from shared.config import Settings, get_settings
from shared.service import SearchService
from workshop.asgi_cost import per_request_us

__all__ = ["main"]


def _included(service: SearchService, settings: Settings) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    router = APIRouter()
    add_routes(router, settings)
    app.include_router(router)
    app.state.service = service
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m studies.route_cost", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    settings = get_settings()
    service = SearchService.from_settings(settings)
    try:
        twin = create_app(settings, service)
        twin.state.service = service  # what the lifespan sets; no lifespan runs here
        apps: dict[str, Any] = {
            "bare FastAPI": bare_fastapi,
            "twin": twin,
            "twin, routes included": _included(service, settings),
        }
        costs: dict[str, list[float]] = {name: [] for name in apps}
        for app in apps.values():
            service.health()
            asyncio.run(per_request_us(app, 300))  # warm-up
        for round_ in range(args.rounds):
            for name, app in apps.items():
                service.health()  # a fresh cached body: no Milvus call while timed
                costs[name].append(asyncio.run(per_request_us(app, args.requests)))
            print(f"round {round_ + 1}/{args.rounds} done", flush=True)
    finally:
        service.close()
    base = statistics.median(costs["bare FastAPI"])
    for name, values in costs.items():
        median = statistics.median(values)
        print(f"{name:24} {median:6.1f} us per request  ({median / base:.2f}x bare)")


if __name__ == "__main__":
    main()
