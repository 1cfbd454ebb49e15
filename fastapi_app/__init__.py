"""The FastAPI twin: an ASGI app whose validation is declared on the handlers' signatures.

``create_app(settings=None, service=None)`` builds the app; the search service is built in
the lifespan (model loaded once per worker) unless a caller passes one (the tests share one
service between both twins). The settings also give the limits the request models enforce.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from fastapi_app.docs_routes import add_docs_routes
from fastapi_app.errors import BodyLimitMiddleware, install_error_handlers
from fastapi_app.head import HeadAsGet
from fastapi_app.pitfalls import add_pitfall_routes
from fastapi_app.routes import add_routes
from shared import VERSION
from shared.config import Settings, get_settings
from shared.service import SearchService

__all__ = ["create_app"]

TITLE = "twinbench (FastAPI twin)"
# Answers any operation can give before its handler runs.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body could not be parsed (not UTF-8, or nested too deep)"},
    413: {"description": "The body is larger than the limit"},
}


def create_app(settings: Settings | None = None, service: SearchService | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Plain ``def`` handlers run in anyio's threadpool: give it as many threads as the
        # Flask twin has (gunicorn --threads), not anyio's default of 40.
        # (Unless the workshop's pitfall switch keeps anyio's default, to show the difference.)
        if not settings.pitfall_default_threadpool:
            limiter = anyio.to_thread.current_default_thread_limiter()
            limiter.total_tokens = settings.blocking_threads
        loop = asyncio.get_running_loop()
        if os.environ.get("PYTHONASYNCIODEBUG") or sys.flags.dev_mode:
            # asyncio's debug mode logs every loop step that takes longer than this. uvicorn
            # on Python 3.11 starts its loop with debug off whatever PYTHONASYNCIODEBUG says,
            # and asyncio's 100 ms is longer than a whole search: one that blocked would pass.
            loop.set_debug(True)
            loop.slow_callback_duration = 0.01
        own = service is None
        # Loading the model takes seconds of CPU: keep it off the event loop.
        app.state.service = service or await run_in_threadpool(SearchService.for_server, settings)
        try:
            yield
        finally:
            if own:
                app.state.service.close()

    # FastAPI's own /docs and /redoc load their JavaScript from a CDN; ours are offline
    # (fastapi_app/docs_routes.py).
    app = FastAPI(
        responses=COMMON_RESPONSES,
        title=TITLE,
        version=VERSION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    # On the app's own router, not included: an included router costs every request a walk
    # through it (see fastapi_app/routes.py). The workshop's pitfall routes (none unless a
    # switch is on) come first, so they shadow the twin's own.
    add_pitfall_routes(app.router, settings)
    add_routes(app.router, settings)
    install_error_handlers(app)
    app.add_middleware(HeadAsGet)
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )

    add_docs_routes(app)
    return app
