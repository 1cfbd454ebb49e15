"""``python -m workshop asgi-cost``: what a FastAPI /health costs, in process, per request.

The FastAPI twin is built three times on one real service (the model and Milvus behind it):
as built, with plain-``def`` handlers (``TWINBENCH_PITFALL_SYNC_HANDLERS``) and with a
plain-``def`` dependency (``TWINBENCH_PITFALL_SYNC_DEPENDENCY``). Each app is called straight
through ASGI, with no server and no socket, so the figure is the framework path alone:
microseconds of one process per request, the median of interleaved rounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from typing import Any

from shared.config import get_settings

__all__ = ["measure", "main", "per_request_us", "http_scope"]

REQUESTS_PER_ROUND = 3000
ROUNDS = 5
VARIANTS = {
    "as built": {},
    "sync handlers": {"pitfall_sync_handlers": True},
    "sync dependency": {"pitfall_sync_dependency": True},
}


def http_scope(
    method: str, path: str, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> dict[str, Any]:
    """An ASGI HTTP scope for calling an app straight, with no server: what uvicorn would
    pass for ``method path`` from a loopback client."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8002),
    }


async def per_request_us(app: Any, requests: int) -> float:
    """Microseconds per GET /health over ``requests`` calls of the app, one after another;
    raises if any answer was not a 200, so a failing app cannot pass for a cheap one."""
    scope = http_scope("GET", "/health")
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    began = time.perf_counter()
    for _ in range(requests):
        await app(dict(scope), receive, send)
    elapsed = time.perf_counter() - began
    if set(statuses) != {200}:
        raise RuntimeError(f"/health answered {sorted(set(statuses))}, not only 200")
    return elapsed / requests * 1e6


async def _measure() -> dict[str, float]:
    import fastapi_app
    from shared.service import SearchService

    settings = get_settings()
    service = SearchService.from_settings(settings)
    try:
        service.health()  # raises BackendUnavailable, with the reason, if Milvus is down
        apps = {
            name: fastapi_app.create_app(settings.model_copy(update=switches), service)
            for name, switches in VARIANTS.items()
        }
        per_round: dict[str, list[float]] = {name: [] for name in apps}
        async with contextlib.AsyncExitStack() as stack:
            for app in apps.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            for app in apps.values():
                await per_request_us(app, 300)  # warm: imports, caches, the threadpool's threads
            for _ in range(ROUNDS):
                for name, app in apps.items():
                    per_round[name].append(await per_request_us(app, REQUESTS_PER_ROUND))
        return {name: statistics.median(values) for name, values in per_round.items()}
    finally:
        service.close()


def measure() -> dict[str, float]:
    return asyncio.run(_measure())


def main() -> int:
    from shared.errors import BackendUnavailable

    try:
        costs = measure()
    except BackendUnavailable as exc:
        print(f"asgi-cost needs Milvus and the demo corpus (make workshop; make milvus-up): {exc}")
        return 2
    base = costs["as built"]
    print(f"GET /health through the FastAPI twin, in process, median of {ROUNDS} rounds")
    for name, cost in costs.items():
        print(f"{name}: {cost:8.1f} us per request  (x{cost / base:.2f})")
    return 0
