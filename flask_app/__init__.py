"""The Flask twin: a WSGI app whose views validate their input by hand with marshmallow.

``create_app(settings=None, service=None)`` is the app factory: defaults, then the
environment (``get_settings``), then what the caller passed. The search service lives in
``app.extensions["search_service"]``, built here unless a caller passes one (the tests
share one service between both twins). The settings also give the limits the request
schemas enforce, and the OpenAPI document states.
"""

from __future__ import annotations

import atexit
from typing import Any

from flask import Flask, Response, abort, request

from flask_app.errors import install_error_handlers
from flask_app.openapi import build_openapi
from flask_app.routes import build_api
from shared.config import Settings, get_settings
from shared.docs_ui import ASSETS, STATIC_DIR, STATIC_PREFIX, redoc_html, swagger_ui_html
from shared.service import SearchService

__all__ = ["create_app"]

TITLE = "twinbench (Flask twin)"


def create_app(settings: Settings | None = None, service: SearchService | None = None) -> Flask:
    settings = settings or get_settings()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    # OPTIONS is no operation of the contract: 405 with Allow, as from the FastAPI twin.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    # Same bytes as FastAPI: keys in the order the view wrote them, UTF-8 as it is.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["settings"] = settings
    if service is None:
        service = SearchService.from_settings(settings)
        atexit.register(service.close)
    app.extensions["search_service"] = service
    app.register_blueprint(build_api(settings))
    install_error_handlers(app)

    @app.before_request
    def allow_large_uploads() -> None:
        if request.path == "/ingest":
            request.max_content_length = settings.max_upload_bytes

    openapi = build_openapi(title=TITLE, version="0.1.0", settings=settings)

    @app.get("/openapi.json")
    def openapi_json() -> Any:
        return openapi

    @app.get("/docs")
    def swagger_ui() -> Response:
        return Response(swagger_ui_html(title=TITLE), mimetype="text/html")

    @app.get("/redoc")
    def redoc() -> Response:
        return Response(redoc_html(title=TITLE), mimetype="text/html")

    @app.get(STATIC_PREFIX + "/<name>")
    def docs_asset(name: str) -> Response:
        if name not in ASSETS:
            abort(404)
        return Response((STATIC_DIR / name).read_bytes(), content_type=ASSETS[name])

    return app
