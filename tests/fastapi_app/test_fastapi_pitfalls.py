"""The workshop's pitfall switches: each one changes where the FastAPI twin does its work.

Observed, not inspected: every threadpool hop goes through ``anyio.to_thread.run_sync``
(FastAPI's and ours), so counting its calls shows which requests left the event loop; and a
call made on the event loop's own thread finds a running loop there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

import fastapi_app
from shared.config import Settings
from shared.service import SearchService

HEALTHY = {
    "status": "ok",
    "documents": 7,
    "model": "stub-model",
    "runtime": "onnx",
    "milvus": "stub",
}


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class CachedHealthService:
    """A service whose health body is always cached: /health needs no blocking call."""

    def __init__(self) -> None:
        self.health_on_loop: list[bool] = []

    def cached_health(self) -> dict[str, Any]:
        self.health_on_loop.append(_on_event_loop())
        return HEALTHY

    def close(self) -> None:
        pass


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the calls sent to anyio's threadpool during the test."""
    sent: list[str] = []
    real = anyio.to_thread.run_sync

    async def counting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(func, "__name__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return sent


@contextlib.contextmanager
def _client(settings: Settings, service: Any, **switches: bool) -> Iterator[TestClient]:
    app = fastapi_app.create_app(settings.model_copy(update=switches), service)
    with TestClient(app) as client:
        yield client


def test_all_switches_are_off_by_default() -> None:
    assert Settings().pitfalls_on() == []
    on = Settings(pitfall_sync_handlers=True, pitfall_default_threadpool=True).pitfalls_on()
    assert on == ["TWINBENCH_PITFALL_SYNC_HANDLERS", "TWINBENCH_PITFALL_DEFAULT_THREADPOOL"]


@pytest.mark.parametrize(
    ("switches", "health_on_loop", "health_hops"),
    [
        pytest.param({}, True, 0, id="as-built"),
        # Two hops: FastAPI validates a plain-def handler's response in the threadpool too.
        pytest.param({"pitfall_sync_handlers": True}, False, 2, id="sync-handlers"),
        pytest.param({"pitfall_sync_dependency": True}, True, 1, id="sync-dependency"),
    ],
)
def test_health_leaves_the_event_loop_only_with_a_switch_on(
    settings: Settings,
    hops: list[str],
    switches: dict[str, bool],
    health_on_loop: bool,
    health_hops: int,
) -> None:
    service = CachedHealthService()
    with _client(settings, service, **switches) as client:
        before = len(hops)
        response = client.get("/health")
        assert response.status_code == 200
        assert response.json() == HEALTHY  # the same answer either way
        assert len(hops) - before == health_hops, hops
        assert service.health_on_loop == [health_on_loop]


def test_sync_handlers_send_echo_to_the_threadpool(settings: Settings, hops: list[str]) -> None:
    body = {"query": "  pitfalls  ", "top_k": 3}
    answers = []
    for switches in ({}, {"pitfall_sync_handlers": True}):
        with _client(settings, CachedHealthService(), **switches) as client:
            before = len(hops)
            response = client.post("/echo", json=body)
            answers.append((response.status_code, response.json(), len(hops) - before))
    assert answers[0][:2] == answers[1][:2]
    assert [hop_count for *_, hop_count in answers] == [0, 2]  # the handler, its response


def test_blocking_in_async_runs_the_model_on_the_event_loop(
    settings: Settings, service: SearchService, monkeypatch: pytest.MonkeyPatch
) -> None:
    where: list[bool] = []
    real_search = service.search_text

    def recording_search(**kwargs: Any) -> Any:
        where.append(_on_event_loop())
        return real_search(**kwargs)

    monkeypatch.setattr(service, "search_text", recording_search)
    body = {"query": "how to parse command line arguments", "top_k": 3}
    answers = []
    for switches in ({}, {"pitfall_blocking_in_async": True}):
        with _client(settings, service, **switches) as client:
            response = client.post("/search", json=body)
            assert response.status_code == 200
            answers.append([hit["id"] for hit in response.json()["results"]])
    assert where == [False, True]  # a worker thread as built; the loop's own with the switch
    assert answers[0] == answers[1]


def test_default_threadpool_keeps_anyios_forty_tokens(settings: Settings) -> None:
    tokens = []
    for switches in ({}, {"pitfall_default_threadpool": True}):
        app = fastapi_app.create_app(
            settings.model_copy(update={"blocking_threads": 3, **switches}), CachedHealthService()
        )

        @app.get("/test-only/threads")
        async def threads() -> int:
            return int(anyio.to_thread.current_default_thread_limiter().total_tokens)

        with TestClient(app) as client:
            tokens.append(client.get("/test-only/threads").json())
    assert tokens == [3, 40]


def test_pitfall_routes_stay_out_of_the_openapi_document(settings: Settings) -> None:
    documents = []
    for switches in (
        {},
        dict.fromkeys(("pitfall_sync_handlers", "pitfall_blocking_in_async"), True),
        {"pitfall_sync_dependency": True},
    ):
        app = fastapi_app.create_app(settings.model_copy(update=switches), CachedHealthService())
        documents.append(app.openapi())
    # Each pitfall route is kept out on its own (they sit on the app's router, not on a
    # router of their own), so every switch must be checked.
    assert documents[0] == documents[1] == documents[2]
