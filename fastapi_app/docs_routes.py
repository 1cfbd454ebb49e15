"""The FastAPI twin's API docs routes: ``/docs``, ``/redoc`` and their assets.

``/openapi.json`` is FastAPI's own, generated from the handlers' signatures. FastAPI's own
pages load their JavaScript from a CDN, so the app turns them off (``docs_url=None``,
``redoc_url=None``) and these serve the core's pages (:mod:`shared.docs_ui`), the same as
the Flask twin's, with their JavaScript served from the repository so they work offline.
They stay out of the OpenAPI document, as FastAPI's own pages do.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, Response

from shared.docs_ui import ASSETS, STATIC_PREFIX, asset_bytes, redoc_html, swagger_ui_html

__all__ = ["add_docs_routes"]


def add_docs_routes(app: FastAPI) -> None:
    """The docs routes, on ``app``; the pages take the app's title."""
    title = app.title

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger_ui_html(title=title))

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return HTMLResponse(redoc_html(title=title))

    @app.get(STATIC_PREFIX + "/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> Response:
        if name not in ASSETS:
            raise HTTPException(404)
        return Response(asset_bytes(name), media_type=ASSETS[name])
