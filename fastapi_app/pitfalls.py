"""The workshop's pitfall switches for the FastAPI twin: classic mistakes, made on purpose.

Each switch (a setting, off by default; see docs/workshop/lab6-pitfalls.md) adds a route
that shadows the twin's own: these routes are registered first, so Starlette matches them
first, and they stay out of the OpenAPI document, which describes the same contract either
way. The answers are the same; what changes is where the work runs:

- ``pitfall_blocking_in_async``: ``/search`` calls the model and Milvus inside its
  ``async def`` handler, so the event loop serves nothing else meanwhile (``/health``
  included). Python's asyncio debug mode (``PYTHONASYNCIODEBUG=1``) logs each such stall.
- ``pitfall_sync_handlers``: ``/health`` and ``/echo`` are plain ``def``; FastAPI runs each
  call in its threadpool, a hop that costs more than these handlers' own work.
- ``pitfall_sync_dependency``: ``/health`` gets the service through a plain-``def``
  dependency; FastAPI runs that in the threadpool too, even for an ``async def`` route.

The fourth switch, ``pitfall_default_threadpool``, is in the lifespan (fastapi_app/__init__).
"""

# No `from __future__ import annotations`: FastAPI resolves the handlers' annotations at
# run time, and the request model is made inside add_pitfall_routes.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from fastapi_app.routes import service_of
from fastapi_app.schemas import HealthOut, SearchResponse, request_models
from shared.config import Settings
from shared.errors import BackendUnavailable
from shared.service import SearchService

__all__ = ["add_pitfall_routes"]


def get_service_in_threadpool(request: Request) -> SearchService:
    """The service, from a plain ``def``: FastAPI sends this call to its threadpool."""
    return service_of(request)


def _unavailable(service: SearchService, exc: BackendUnavailable) -> JSONResponse:
    return JSONResponse(service.unavailable_health(exc), status_code=503)


def add_pitfall_routes(router: APIRouter, settings: Settings) -> None:
    """The routes of the switches that are on (none when all are off), on ``router``."""
    SearchRequest: Any = request_models(settings).SearchRequest

    if settings.pitfall_blocking_in_async:

        @router.post("/search", response_model=SearchResponse, include_in_schema=False)
        async def search_blocking_the_loop(search_request: SearchRequest, request: Request) -> Any:
            service = service_of(request)
            # The mistake: a blocking call (the model, then Milvus) on the event loop.
            return service.search_text(**search_request.model_dump()).to_json()

    if settings.pitfall_sync_handlers:

        @router.get("/health", response_model=HealthOut, include_in_schema=False)
        def health_in_threadpool(request: Request) -> Any:
            service = service_of(request)
            try:
                return service.cached_health() or service.health()
            except BackendUnavailable as exc:
                return _unavailable(service, exc)

        @router.post("/echo", response_model=SearchRequest, include_in_schema=False)
        def echo_in_threadpool(search_request: SearchRequest) -> Any:
            return search_request

    elif settings.pitfall_sync_dependency:

        @router.get("/health", response_model=HealthOut, include_in_schema=False)
        async def health_with_sync_dependency(
            service: Annotated[SearchService, Depends(get_service_in_threadpool)],
        ) -> Any:
            try:  # the twin's own /health, but for where its dependency runs
                return service.cached_health() or await run_in_threadpool(service.health)
            except BackendUnavailable as exc:
                return _unavailable(service, exc)
