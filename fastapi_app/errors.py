"""Error responses of the FastAPI twin: the contract's shapes, and the body-size limit.

FastAPI's own 422 shape is the contract, minus the ``input``, ``ctx`` and ``url`` keys that
echo the client's data back (a 1 MB invalid body would come back whole). The core's
``ValidationFailed`` (a body read by hand, as /ingest's) carries the same 422 ``detail``
list. FastAPI has no body limit of its own, so a small ASGI middleware answers 413 as the
body is read, before more than the limit is taken in. A 405's ``Allow`` lists every method
of the path, not only those of the first route Starlette tried (``GET /documents/{doc_id}``
hid its ``DELETE``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import (
    BackendUnavailable,
    BodyUnreadable,
    ServiceBusy,
    UnservableRequest,
    ValidationFailed,
)
from shared.messages import INTERNAL_ERROR, body_too_large, unservable_detail

__all__ = ["install_error_handlers", "BodyLimitMiddleware", "validation_detail", "allowed_methods"]

log = logging.getLogger(__name__)


def validation_detail(errors: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]


def _flat(routes: Sequence[BaseRoute]) -> Iterator[Route]:
    for route in routes:
        # Recent FastAPI keeps an included router whole (its routes under original_router).
        # The twin registers its routes on the app's own router; an app that includes one
        # without a prefix (studies/route_cost.py builds such a variant) has the same paths.
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _flat(included.routes)
        elif isinstance(route, Route):
            yield route


def allowed_methods(routes: Sequence[BaseRoute], path: str) -> list[str]:
    """The methods ``path`` allows: those of every route of its most specific template.

    The template with the fewest parameters wins, as a concrete path wins in OpenAPI and in
    both routers: ``/documents/batch`` is POST's, not ``/documents/{doc_id}``'s.
    """
    matching = [route for route in _flat(routes) if route.methods and route.path_regex.match(path)]
    if not matching:
        return []
    fewest = min(len(route.param_convertors) for route in matching)
    methods = {
        method
        for route in matching
        if len(route.param_convertors) == fewest
        for method in route.methods or ()
    }
    if "GET" in methods:
        methods.add("HEAD")  # HeadAsGet answers it (fastapi_app/head.py)
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        response = await http_exception_handler(request, exc)
        if exc.status_code == 405:
            # RFC 9110: a 405 lists every method the resource supports.
            methods = allowed_methods(request.app.routes, request.scope["path"])
            response.headers["Allow"] = ", ".join(methods)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_detail(exc.errors())}, status_code=422)

    @app.exception_handler(ValidationFailed)
    async def invalid_body(request: Request, exc: ValidationFailed) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=422)

    @app.exception_handler(BodyUnreadable)
    async def unreadable(request: Request, exc: BodyUnreadable) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(BackendUnavailable)
    async def backend_unavailable(request: Request, exc: BackendUnavailable) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(ServiceBusy)
    async def busy(request: Request, exc: ServiceBusy) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after_s)}
        return JSONResponse({"detail": str(exc)}, status_code=503, headers=headers)

    @app.exception_handler(UnservableRequest)
    async def unservable(request: Request, exc: UnservableRequest) -> JSONResponse:
        return JSONResponse({"detail": unservable_detail(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": INTERNAL_ERROR}, status_code=500)


class BodyLimitMiddleware:
    """413 for a body over the limit, when the body is read: by Content-Length before its
    first byte is taken, or counted while it streams in.

    Checked on reading, not as the request arrives, as Werkzeug checks it for the Flask twin:
    what answers before a body is read (a write route's API key check, a 404, a 405) answers
    first. The 413 is an HTTPException raised from ``receive``: FastAPI re-raises those from
    body parsing (anything else would become a 400), so the usual handler answers.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_upload_bytes if scope["path"] == "/ingest" else self.max_body_bytes
        declared = dict(scope["headers"]).get(b"content-length", b"")
        declared_too_large = declared.isdigit() and int(declared) > limit
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            if declared_too_large:
                # Before the server is asked for a byte: a client that sent
                # "Expect: 100-continue" is not told to go on.
                raise HTTPException(status_code=413, detail=body_too_large(limit))
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(status_code=413, detail=body_too_large(limit))
            return message

        await self.app(scope, counting_receive, send)
