"""The Flask twin's API docs routes: ``/openapi.json``, ``/docs``, ``/redoc`` and their assets.

Flask has no OpenAPI document of its own: ``/openapi.json`` serves the one
:mod:`flask_app.openapi` builds by hand, once per app. The two pages are the core's
(:mod:`shared.docs_ui`), the same as the FastAPI twin's, with their JavaScript served from
the repository so they work offline.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, abort

from flask_app.openapi import build_openapi
from shared.config import Settings
from shared.docs_ui import ASSETS, STATIC_PREFIX, asset_bytes, redoc_html, swagger_ui_html

__all__ = ["add_docs_routes"]


def add_docs_routes(app: Flask, *, title: str, version: str, settings: Settings) -> None:
    """The docs routes, on ``app``; the document states the limits of ``settings``."""
    openapi = build_openapi(title=title, version=version, settings=settings)

    @app.get("/openapi.json")
    def openapi_json() -> Any:
        return openapi

    @app.get("/docs")
    def swagger_ui() -> Response:
        return Response(swagger_ui_html(title=title), mimetype="text/html")

    @app.get("/redoc")
    def redoc() -> Response:
        return Response(redoc_html(title=title), mimetype="text/html")

    @app.get(STATIC_PREFIX + "/<name>")
    def docs_asset(name: str) -> Response:
        if name not in ASSETS:
            abort(404)
        return Response(asset_bytes(name), content_type=ASSETS[name])
