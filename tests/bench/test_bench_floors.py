"""The floors answer GET /health with the same small JSON and nothing else: raw WSGI and ASGI
callables, a minimal Flask app and a minimal FastAPI app."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi.testclient import TestClient

from bench.run.floors import HEALTH_BODY, bare_fastapi, bare_flask
from bench.run.floors.raw import asgi_app, wsgi_app


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
    assert _wsgi("GET", "/health") == ("200 OK", HEALTH_BODY)
    assert _wsgi("GET", "/nope")[0] == "404 Not Found"


def test_asgi_floor_health() -> None:
    assert _asgi("GET", "/health") == (200, HEALTH_BODY)
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


def test_bare_flask_floor_has_one_route() -> None:
    client = bare_flask.app.test_client()
    answer = client.get("/health")
    assert answer.status_code == 200 and answer.get_json() == HEALTH_BODY
    assert client.get("/docs").status_code == 404
    assert [r.rule for r in bare_flask.app.url_map.iter_rules() if r.endpoint != "static"] == [
        "/health"
    ]


def test_bare_fastapi_floor_has_one_route_and_no_docs() -> None:
    with TestClient(bare_fastapi.app) as client:
        answer = client.get("/health")
        assert answer.status_code == 200 and answer.json() == HEALTH_BODY
        assert client.get("/docs").status_code == 404
        assert client.get("/openapi.json").status_code == 404
