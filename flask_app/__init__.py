"""The Flask twin: a WSGI app whose views validate their input by hand with marshmallow.

``create_app(settings=None, service=None)`` is the app factory: defaults, then the
environment (``get_settings``), then what the caller passed. The search service lives in
``app.extensions["search_service"]``, built here unless a caller passes one (the tests
share one service between both twins). The settings also give the limits the request
schemas enforce, and the OpenAPI document states.
"""

from __future__ import annotations

import atexit

from flask import Flask, request

from flask_app.docs_routes import add_docs_routes
from flask_app.errors import install_error_handlers
from flask_app.routes import build_api
from shared import VERSION
from shared.config import Settings, get_settings
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
        service = SearchService.for_server(settings)
        atexit.register(service.close)
    app.extensions["search_service"] = service
    app.register_blueprint(build_api(settings))
    install_error_handlers(app)

    @app.before_request
    def allow_large_uploads() -> None:
        if request.path == "/ingest":
            request.max_content_length = settings.max_upload_bytes

    add_docs_routes(app, title=TITLE, version=VERSION, settings=settings)
    return app
