"""The FastAPI floor: a minimal FastAPI app, one route, the same small JSON as a twin's /health.

No docs routes, no dependencies, no response model: the framework's own cost, nothing of
ours. The handler is ``async def``, as FastAPI's tutorial writes a route that does no I/O.
"""

from __future__ import annotations

from fastapi import FastAPI

from bench.run.floors import HEALTH_BODY

__all__ = ["app"]

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/health")
async def health() -> dict[str, object]:
    return HEALTH_BODY
