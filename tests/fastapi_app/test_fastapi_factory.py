"""The FastAPI twin's own wiring: the lifespan, the service dependency, the body limit."""

from __future__ import annotations

import gc
import inspect
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import anyio.to_thread
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route

import fastapi_app
from fastapi_app.routes import KeyFirstRoute, get_service
from shared.config import Settings, get_settings
from shared.service import SearchService


class FakeService:
    """Stands in for SearchService where a test only looks at the wiring."""

    def __init__(self) -> None:
        self.closed = False

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "documents": 42,
            "model": "fake-model",
            "runtime": "onnx",
            "milvus": "nowhere",
        }

    def cached_health(self) -> dict[str, Any] | None:
        return None  # always "stale": the route must fall back to health()

    def close(self) -> None:
        self.closed = True

    def ingest_status(self, job_id: str) -> Any:
        return SimpleNamespace(to_json=lambda: FAKE_JOB | {"job_id": job_id})


FAKE_JOB = {"status": "done", "total": 3, "processed": 3, "failed": 0, "errors": []}


def test_lifespan_uses_the_given_service_and_leaves_it_open(
    settings: Settings, service: SearchService
) -> None:
    app = fastapi_app.create_app(settings, service)
    with TestClient(app):
        assert app.state.service is service
        assert app.state.settings is settings
    # Still usable: the caller owns it.
    assert service.store.count() >= 0


def test_lifespan_builds_and_closes_its_own_service(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeService()
    built: list[Settings] = []

    def from_settings(settings: Settings) -> FakeService:
        built.append(settings)
        return fake

    monkeypatch.setattr(fastapi_app.SearchService, "from_settings", from_settings)
    settings = get_settings(max_body_bytes=4096)
    app = fastapi_app.create_app(settings)
    assert built == []  # the model is loaded in the lifespan, not at import or creation
    frozen = gc.get_freeze_count()
    with TestClient(app) as client:
        assert built == [settings]
        # What was loaded is left out of the collector's full sweeps from then on.
        now_frozen = gc.get_freeze_count()
        gc.unfreeze()  # the test session's own objects go back to the collector
        assert now_frozen > frozen
        assert client.get("/health").json()["model"] == "fake-model"
        assert fake.closed is False
    assert fake.closed is True


@pytest.fixture
def app_with_fake_service(
    settings: Settings, service: SearchService
) -> Iterator[tuple[TestClient, Any]]:
    app = fastapi_app.create_app(settings, service)
    fake = FakeService()
    app.dependency_overrides[get_service] = lambda: fake
    with TestClient(app) as client:
        yield client, fake


def test_dependency_override_swaps_the_service(
    app_with_fake_service: tuple[TestClient, Any],
) -> None:
    # The routes that take the service as ServiceDep get the override.
    client, _ = app_with_fake_service
    assert client.get("/ingest/any-job").json() == FAKE_JOB | {"job_id": "any-job"}


def test_the_service_dependency_runs_on_the_event_loop() -> None:
    # A plain-def dependency would cost /health a trip to the threadpool on every request.
    assert inspect.iscoroutinefunction(get_service)


def test_fastapi_reads_the_body_before_it_solves_a_dependency() -> None:
    # Why the twin checks the API key in its route class (KeyFirstRoute), not only as a
    # dependency: a dependency that refuses every request does not run before FastAPI has
    # parsed the body, so a malformed body gets FastAPI's 422 instead of the dependency's 401.
    from fastapi import Depends, FastAPI, HTTPException

    async def refuse() -> None:
        raise HTTPException(401)

    app = FastAPI()

    @app.post("/items", dependencies=[Depends(refuse)])
    async def create(item: dict[str, int]) -> dict[str, int]:
        return item

    client = TestClient(app)
    headers = {"content-type": "application/json"}
    assert client.post("/items", content=b'{"a": 1}', headers=headers).status_code == 401
    assert client.post("/items", content=b'{"a": ', headers=headers).status_code == 422


def test_only_the_write_routes_check_the_key_first_and_once(
    settings: Settings, service: SearchService
) -> None:
    app = fastapi_app.create_app(settings, service)
    first = {
        (route.path, method)
        for route in app.routes
        if isinstance(route, KeyFirstRoute) and route.checks_api_key
        for method in route.methods
    }
    # No route checks the key a second time, as a dependency of its own.
    headers = {
        param.alias
        for route in app.routes
        if isinstance(route, APIRoute)
        for param in route.dependant.header_params
        + [p for dep in route.dependant.dependencies for p in dep.header_params]
    }
    assert "x-api-key" not in headers
    assert first == {
        ("/documents", "POST"),
        ("/documents/batch", "POST"),
        ("/documents/{doc_id}", "DELETE"),
        ("/ingest", "POST"),
    }


async def _never_receive() -> Any:
    raise AssertionError("the body was asked for")


def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_asked_for() -> None:
    # A client that sent "Expect: 100-continue" is told 413, never to go on.
    import asyncio

    from starlette.exceptions import HTTPException

    from fastapi_app.errors import BodyLimitMiddleware

    async def read_body(scope: Any, receive: Any, send: Any) -> None:
        await receive()

    limited = BodyLimitMiddleware(read_body, max_body_bytes=1024, max_upload_bytes=4096)
    scope = {"type": "http", "path": "/echo", "headers": [(b"content-length", b"1025")]}
    with pytest.raises(HTTPException) as refused:
        asyncio.run(limited(scope, _never_receive, _never_receive))
    assert refused.value.status_code == 413
    assert refused.value.detail == "request body is larger than the limit of 1024 bytes"


def test_the_body_limit_follows_the_settings(service: SearchService) -> None:
    app = fastapi_app.create_app(get_settings(max_body_bytes=2048), service)
    with TestClient(app) as client:
        reply = client.post(
            "/echo", content=b"x" * 2049, headers={"content-type": "application/json"}
        )
    assert reply.status_code == 413
    assert reply.json() == {"detail": "request body is larger than the limit of 2048 bytes"}


def test_validation_limits_follow_the_settings(settings: Settings, service: SearchService) -> None:
    small = fastapi_app.create_app(
        get_settings(**{**settings.model_dump(), "max_top_k": 5}), service
    )
    with TestClient(small) as client:
        assert client.post("/search", json={"query": "limits", "top_k": 5}).status_code == 200
        reply = client.post("/search", json={"query": "limits", "top_k": 6})
        document = client.get("/openapi.json").json()
    assert reply.status_code == 422
    assert reply.json() == {
        "detail": [
            {
                "loc": ["body", "top_k"],
                "msg": "Input should be less than or equal to 5",
                "type": "less_than_equal",
            }
        ]
    }
    assert document["components"]["schemas"]["SearchRequest"]["properties"]["top_k"]["maximum"] == 5
    # An app of the default settings in the same process keeps its own limits.
    with TestClient(fastapi_app.create_app(settings, service)) as default:
        assert default.post("/echo", json={"query": "limits", "top_k": 6}).status_code == 200


def test_a_streamed_body_without_length_is_counted(
    settings: Settings, service: SearchService
) -> None:
    # No Content-Length: the middleware counts the chunks as they arrive.
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 65_536

    with TestClient(fastapi_app.create_app(settings, service)) as client:
        reply = client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert reply.status_code == 413
    assert reply.json() == {
        "detail": f"request body is larger than the limit of {settings.max_body_bytes} bytes"
    }


def test_a_streamed_body_under_the_limit_is_read(
    settings: Settings, service: SearchService
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"query": '
        yield b'"streamed"}'

    with TestClient(fastapi_app.create_app(settings, service)) as client:
        reply = client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert reply.status_code == 200
    assert reply.json() == {"query": "streamed", "top_k": 10, "tags": []}


def test_docs_are_not_fastapis_cdn_pages(settings: Settings, service: SearchService) -> None:
    with TestClient(fastapi_app.create_app(settings, service)) as client:
        for page in ("/docs", "/redoc"):
            html = client.get(page).text
            assert "cdn.jsdelivr.net" not in html and "/docs-static/" in html


def test_the_threadpool_has_the_settings_blocking_threads(
    settings: Settings, service: SearchService
) -> None:
    # Plain-def handlers share anyio's limiter: as many threads as the Flask twin's gthread.
    app = fastapi_app.create_app(settings.model_copy(update={"blocking_threads": 3}), service)

    @app.get("/test-only/threads")
    async def threads() -> int:
        return int(anyio.to_thread.current_default_thread_limiter().total_tokens)

    with TestClient(app) as client:
        assert client.get("/test-only/threads").json() == 3


def test_the_routes_sit_on_the_apps_own_router() -> None:
    # An included router is a branch every request walks (in FastAPI 0.165, 45.1 against
    # 37.4 us a /health request, studies/route_cost.py): the twin's routes, pitfalls included,
    # must be the app's own routes, each matched directly.
    settings = get_settings().model_copy(update={"pitfall_sync_handlers": True})
    app = fastapi_app.create_app(settings, service=FakeService())  # type: ignore[arg-type]
    routes = app.router.routes
    assert all(isinstance(route, Route) for route in routes), [type(r) for r in routes]
    paths = [route.path for route in routes if isinstance(route, Route)]
    assert {"/health", "/search", "/documents/{doc_id}", "/ingest/{job_id}"} <= set(paths)
    # The pitfall's /health is registered first, so it shadows the twin's own.
    health = [r for r in routes if isinstance(r, APIRoute) and r.path == "/health"]
    assert [r.endpoint.__name__ for r in health] == ["health_in_threadpool", "health"]
    assert [r.include_in_schema for r in health] == [False, True]
    with TestClient(app) as client:
        assert client.get("/health").json()["documents"] == 42


def test_the_in_process_driver_times_and_refuses_a_failing_app() -> None:
    import asyncio

    from bench.run.floors.bare_fastapi import app as bare
    from workshop.asgi_cost import per_request_us

    assert 0 < asyncio.run(per_request_us(bare, 200)) < 10_000

    async def not_found(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with pytest.raises(RuntimeError, match="404"):
        asyncio.run(per_request_us(not_found, 20))


def test_a_405_lists_the_methods_of_routes_inside_an_included_router() -> None:
    # The twin registers its routes on the app's own router, but an app that includes a
    # router (studies/route_cost.py builds one) must answer the same Allow header.
    from fastapi import APIRouter, FastAPI

    from fastapi_app.errors import allowed_methods, install_error_handlers

    router = APIRouter()
    router.add_api_route("/items/{item_id}", lambda item_id: {}, methods=["GET"])
    router.add_api_route("/items/{item_id}", lambda item_id: None, methods=["DELETE"])
    router.add_api_route("/items/batch", lambda: {}, methods=["POST"])
    app = FastAPI()
    app.include_router(router)
    install_error_handlers(app)
    assert allowed_methods(app.routes, "/items/7") == ["DELETE", "GET", "HEAD"]
    assert allowed_methods(app.routes, "/items/batch") == ["POST"]
    response = TestClient(app).put("/items/7")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD"
