"""Error responses of the Flask twin, in the contract's (FastAPI's) shapes.

Flask has no request validation of its own: the views read their bodies by hand
(:mod:`flask_app.body`), ``detail_from`` turns marshmallow's messages into the contract's
422 ``detail`` list, and the core's ``ValidationFailed`` carries that list to one handler.
A 405's ``Allow`` lists the methods of the path's most specific rule, as the FastAPI twin's
does: Werkzeug's own would add ``GET`` and ``DELETE`` (``/documents/<doc_id>``'s) to
``/documents/batch``, which the OpenAPI document gives only ``POST``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from shared.errors import (
    BackendUnavailable,
    BodyUnreadable,
    ServiceBusy,
    UnservableRequest,
    ValidationFailed,
)
from shared.messages import INTERNAL_ERROR, body_too_large, unservable_detail

__all__ = ["install_error_handlers", "detail_from", "allowed_methods"]

log = logging.getLogger(__name__)
Loc = tuple[str | int, ...]


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


def allowed_methods() -> list[str]:
    """The methods the request's path allows: those of its most specific rule template.

    The template with the fewest parameters wins, as a concrete path wins in OpenAPI and in
    both routers: ``/documents/batch`` is POST's, not ``/documents/<doc_id>``'s.
    """
    adapter = current_app.create_url_adapter(request)
    assert adapter is not None, "a request always has a URL adapter"
    every = {method for rule in current_app.url_map.iter_rules() for method in rule.methods or ()}
    matched = []
    for method in every:
        try:
            rule, _ = adapter.match(method=method, return_rule=True)
        except HTTPException:  # no rule for this method (a redirect is one too)
            continue
        matched.append((len(rule.arguments), method))
    if not matched:
        return []
    fewest = min(arguments for arguments, _ in matched)
    return sorted(method for arguments, method in matched if arguments == fewest)


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(ValidationFailed)
    def invalid_request(exc: ValidationFailed) -> tuple[dict[str, Any], int]:
        return {"detail": exc.detail}, 422

    @app.errorhandler(BodyUnreadable)
    def unreadable(exc: BodyUnreadable) -> tuple[dict[str, Any], int]:
        return {"detail": str(exc)}, 400

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge) -> tuple[dict[str, Any], int]:
        return {"detail": body_too_large(request.max_content_length)}, 413

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[dict[str, Any], int, dict[str, str]]:
        # Werkzeug's names are Starlette's phrases: "Not Found", "Method Not Allowed".
        # Keep its headers but the content type: a 405 must say what is Allowed.
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        if isinstance(exc, MethodNotAllowed):
            headers["Allow"] = ", ".join(allowed_methods())
        return {"detail": exc.name}, exc.code or 500, headers

    @app.errorhandler(BackendUnavailable)
    def backend_unavailable(exc: BackendUnavailable) -> tuple[dict[str, Any], int]:
        return {"detail": str(exc)}, 503

    @app.errorhandler(ServiceBusy)
    def busy(exc: ServiceBusy) -> tuple[dict[str, Any], int, dict[str, str]]:
        return {"detail": str(exc)}, 503, {"Retry-After": str(exc.retry_after_s)}

    @app.errorhandler(UnservableRequest)
    def unservable(exc: UnservableRequest) -> tuple[dict[str, Any], int]:
        return {"detail": unservable_detail(exc)}, 422

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[dict[str, Any], int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return {"detail": INTERNAL_ERROR}, 500
