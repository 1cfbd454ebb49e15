"""Error responses of the FastAPI twin: the contract's shapes, and the body-size limit.

FastAPI's own 422 shape is the contract, minus the ``input``, ``ctx`` and ``url`` keys that
echo the client's data back (a 1 MB invalid body would come back whole). The core's
``ValidationFailed`` (a body read by hand, as /ingest's) carries the same 422 ``detail``
list. FastAPI has no body limit of its own, so a small ASGI middleware answers 413 before
the body is read.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import (
    BackendUnavailable,
    BodyUnreadable,
    IngestError,
    ServiceBusy,
    UnservableRequest,
    ValidationFailed,
)

__all__ = ["install_error_handlers", "BodyLimitMiddleware", "validation_detail"]

log = logging.getLogger(__name__)


def validation_detail(errors: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]


def install_error_handlers(app: FastAPI) -> None:
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

    @app.exception_handler(IngestError)
    async def unreadable_upload(request: Request, exc: IngestError) -> JSONResponse:
        detail = [{"loc": ["body", "file"], "msg": str(exc), "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(UnservableRequest)
    async def unservable(request: Request, exc: UnservableRequest) -> JSONResponse:
        detail = [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "Internal Server Error"}, status_code=500)


def _too_large_detail(limit: int) -> str:
    return f"request body is larger than the limit of {limit} bytes"


class BodyLimitMiddleware:
    """413 for a body over the limit: by Content-Length up front, or counted while streaming.

    The streaming case raises an HTTPException from ``receive``: FastAPI re-raises those
    from body parsing (anything else would become a 400), so the usual handler answers.
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
        if declared.isdigit() and int(declared) > limit:
            response = JSONResponse({"detail": _too_large_detail(limit)}, status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(status_code=413, detail=_too_large_detail(limit))
            return message

        await self.app(scope, counting_receive, send)
