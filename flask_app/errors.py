"""Error responses of the Flask twin, in the contract's (FastAPI's) shapes.

Flask has no request validation of its own: ``load_body`` reads the JSON body the way
FastAPI does (missing body, wrong content type, malformed JSON) and runs a marshmallow
schema; ``RequestInvalid`` carries the resulting 422 ``detail`` list to one handler.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from shared.errors import BackendUnavailable, IngestError, InvalidRequest

__all__ = ["RequestInvalid", "install_error_handlers", "load_body", "read_json", "detail_from"]

log = logging.getLogger(__name__)
Loc = tuple[str | int, ...]


class RequestInvalid(Exception):
    """A 422: ``detail`` is the contract's list of {loc, msg, type}."""

    def __init__(self, detail: list[dict[str, Any]]) -> None:
        super().__init__(detail)
        self.detail = detail


class BodyUnreadable(Exception):
    """A body that is not even text JSON can be decoded from (FastAPI answers 400)."""


def detail_from(messages: Any, loc: Loc) -> list[dict[str, Any]]:
    """Flatten marshmallow's nested error messages into the contract's detail list."""
    if isinstance(messages, Mapping) and isinstance(messages.get("msg"), str):
        return [{"loc": list(loc), "msg": messages["msg"], "type": messages["type"]}]
    if isinstance(messages, Mapping):
        detail: list[dict[str, Any]] = []
        for key, value in messages.items():
            detail += detail_from(value, loc if key == "_schema" else (*loc, key))
        return detail
    if isinstance(messages, list):
        return [item for message in messages for item in detail_from(message, loc)]
    return [{"loc": list(loc), "msg": str(messages), "type": "value_error"}]


def read_json() -> Any:
    """The request's JSON body, read as FastAPI reads one (same errors for the same input)."""
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A chunked body has no Content-Length to refuse up front, and Werkzeug silently
        # stops reading at the limit: a full buffer means the body was cut, so refuse it.
        raise RequestEntityTooLarge()
    if not raw:
        raise RequestInvalid([{"loc": ["body"], "msg": "Field required", "type": "missing"}])
    content_type = request.mimetype
    if not (content_type == "application/json" or content_type.endswith("+json")):
        # FastAPI passes a non-JSON body (or one with no Content-Type) to the model as it is,
        # which is not an object.
        raise RequestInvalid(
            [
                {
                    "loc": ["body"],
                    "type": "model_attributes_type",
                    "msg": "Input should be a valid dictionary or object to extract fields from",
                }
            ]
        )
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RequestInvalid(
            [{"loc": ["body", exc.pos], "msg": "JSON decode error", "type": "json_invalid"}]
        ) from exc
    except (ValueError, RecursionError) as exc:  # invalid UTF-8, absurd nesting
        raise BodyUnreadable from exc


def load_body(schema: Schema) -> dict[str, Any]:
    """Read the JSON body and validate it with ``schema``: the Flask twin's hand-wired step."""
    try:
        loaded: dict[str, Any] = schema.load(read_json())
    except ValidationError as exc:
        raise RequestInvalid(detail_from(exc.messages, ("body",))) from exc
    return loaded


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(RequestInvalid)
    def invalid_request(exc: RequestInvalid) -> tuple[dict[str, Any], int]:
        return {"detail": exc.detail}, 422

    @app.errorhandler(BodyUnreadable)
    def unreadable(exc: BodyUnreadable) -> tuple[dict[str, Any], int]:
        return {"detail": "There was an error parsing the body"}, 400

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge) -> tuple[dict[str, Any], int]:
        limit = request.max_content_length
        return {"detail": f"request body is larger than the limit of {limit} bytes"}, 413

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[dict[str, Any], int, dict[str, str]]:
        # Werkzeug's names are Starlette's phrases: "Not Found", "Method Not Allowed".
        # Keep its headers but the content type: a 405 must say what is Allowed.
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        return {"detail": exc.name}, exc.code or 500, headers

    @app.errorhandler(BackendUnavailable)
    def backend_unavailable(exc: BackendUnavailable) -> tuple[dict[str, Any], int]:
        return {"detail": str(exc)}, 503

    @app.errorhandler(IngestError)
    def unreadable_upload(exc: IngestError) -> tuple[dict[str, Any], int]:
        return {"detail": [{"loc": ["body", "file"], "msg": str(exc), "type": "value_error"}]}, 422

    @app.errorhandler(InvalidRequest)
    def unservable(exc: InvalidRequest) -> tuple[dict[str, Any], int]:
        return {
            "detail": [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}]
        }, 422

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[dict[str, Any], int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return {"detail": "Internal Server Error"}, 500
