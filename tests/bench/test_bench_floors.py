"""The bare floors answer GET /health with {"status":"ok"} and nothing else, in WSGI and ASGI."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bench.run.floors import asgi_app, wsgi_app


def _wsgi(method: str, path: str) -> tuple[str, dict[str, Any]]:
    seen: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = status

    body = b"".join(wsgi_app({"REQUEST_METHOD": method, "PATH_INFO": path}, start_response))
    return seen["status"], json.loads(body)


def _asgi(method: str, path: str) -> tuple[int, dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asgi_app({"type": "http", "method": method, "path": path}, receive, send))
    return sent[0]["status"], json.loads(sent[1]["body"])


def test_wsgi_floor_health() -> None:
    assert _wsgi("GET", "/health") == ("200 OK", {"status": "ok"})
    assert _wsgi("GET", "/nope")[0] == "404 Not Found"


def test_asgi_floor_health() -> None:
    assert _asgi("GET", "/health") == (200, {"status": "ok"})
    assert _asgi("POST", "/health")[0] == 404


def test_asgi_floor_completes_the_lifespan_handshake() -> None:
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    asyncio.run(asgi_app({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
