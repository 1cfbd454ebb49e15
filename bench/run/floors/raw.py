"""The raw floors: a WSGI and an ASGI callable answering ``GET /health`` with no framework.

Served by the same servers as the twins, they show what the server alone costs, so the
report can say how much of a twin's ``/health`` cost is the server's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from bench.run.floors import HEALTH_JSON

__all__ = ["wsgi_app", "asgi_app"]

_OK = HEALTH_JSON
_NOT_FOUND = b'{"detail":"Not Found"}'

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def wsgi_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """GET /health -> 200 and the health JSON; anything else -> 404."""
    if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == "/health":
        status, body = "200 OK", _OK
    else:
        status, body = "404 Not Found", _NOT_FOUND
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def asgi_app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """The same contract as :func:`wsgi_app`, spoken in ASGI (lifespan acknowledged)."""
    if scope["type"] == "lifespan":
        # Servers wait for the lifespan handshake; answer it so startup is immediate.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    ok = scope["method"] == "GET" and scope["path"] == "/health"
    body = _OK if ok else _NOT_FOUND
    await send(
        {
            "type": "http.response.start",
            "status": 200 if ok else 404,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
