"""The cached /health: one Milvus count per refresh, failures never cached, a bounded staleness.

Every count here is the session's real Milvus answering through the real store; a thin
wrapper counts the calls and, where a test says so, holds one back or fails it the way an
outage would (fault injection, not a stub).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from support import TWINS

import fastapi_app
import flask_app
from shared.config import Settings
from shared.errors import BackendUnavailable
from shared.health import HEALTH_TTL_S, HealthCache
from shared.service import SearchService
from shared.vector_store import MilvusVectorStore

BURST = 64
WAIT_S = 30.0


class CountingStore:
    """The real store, with its ``count`` calls counted, and optionally held or failed."""

    def __init__(self, store: MilvusVectorStore, *, delay_s: float = 0.0) -> None:
        self._store = store
        self._lock = threading.Lock()
        self.delay_s = delay_s
        self.calls = 0
        self.entered = threading.Event()  # set when a count starts
        self.hold: threading.Event | None = None  # a count waits for it, when set
        self.outage = False

    def count(self, *, strong: bool = False) -> int:
        with self._lock:
            self.calls += 1
        self.entered.set()
        time.sleep(self.delay_s)
        if self.hold is not None:
            assert self.hold.wait(WAIT_S), "the test never released the held count"
        if self.outage:
            raise BackendUnavailable("Milvus did not answer the count in time (injected)")
        return self._store.count(strong=strong)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class Clock:
    """A monotonic clock that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def spy(service: SearchService) -> CountingStore:
    assert isinstance(service.store, MilvusVectorStore)
    return CountingStore(service.store)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(spy: CountingStore, clock: Clock) -> HealthCache:
    return HealthCache(lambda: {"documents": spy.count()}, ttl_s=1.0, max_stale_s=3.0, clock=clock)


def in_thread(call: Callable[[], Any]) -> Future[Any]:
    future: Future[Any] = Future()

    def run() -> None:
        try:
            future.set_result(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future


# --- the cache itself -----------------------------------------------------------------------
def test_a_fresh_body_is_served_without_a_count(cache: HealthCache, spy: CountingStore) -> None:
    assert cache.peek() is None  # nothing yet: the caller must get()
    body = cache.get()
    assert body == {"documents": spy._store.count()}
    assert cache.peek() is body and cache.get() is body
    assert spy.calls == 1


def test_a_failure_is_not_cached_and_drops_the_last_body(
    cache: HealthCache, spy: CountingStore, clock: Clock
) -> None:
    healthy = cache.get()
    clock.now += 1.5
    spy.outage = True
    with pytest.raises(BackendUnavailable):
        cache.get()
    # Nobody is told Milvus is healthy on older news than the failure.
    assert cache.peek() is None
    spy.outage = False
    again = cache.get()  # a new count, not the failure replayed
    assert again is not healthy and again["documents"] >= 0
    assert spy.calls == 3


def test_the_last_body_is_served_during_a_refresh_but_never_past_the_bound(
    cache: HealthCache, spy: CountingStore, clock: Clock
) -> None:
    old = cache.get()
    clock.now += 1.5  # stale: the next caller refreshes
    spy.hold = threading.Event()
    spy.entered.clear()
    refresher = in_thread(cache.get)
    assert spy.entered.wait(WAIT_S)
    # Within the bound, everyone else gets the last body at once, without a count.
    assert cache.peek() is old
    assert cache.get() is old
    clock.now += 2.0  # the last body is now 3.5 s old, past the 3 s bound
    assert cache.peek() is None
    waiter = in_thread(cache.get)
    time.sleep(0.2)
    assert not waiter.done()  # it waits for the refresh in flight instead of the old body
    spy.hold.set()
    fresh = refresher.result(WAIT_S)
    assert waiter.result(WAIT_S) is fresh and fresh is not old
    assert spy.calls == 2


def test_callers_past_the_bound_share_the_failure_of_the_refresh(
    cache: HealthCache, spy: CountingStore, clock: Clock
) -> None:
    cache.get()
    clock.now += 5.0  # already past the bound when the refresh starts
    spy.hold = threading.Event()
    spy.entered.clear()
    spy.outage = True
    refresher = in_thread(cache.get)
    assert spy.entered.wait(WAIT_S)
    waiter = in_thread(cache.get)
    time.sleep(0.2)
    assert not waiter.done()
    spy.hold.set()
    for caller in (refresher, waiter):
        with pytest.raises(BackendUnavailable):
            caller.result(WAIT_S)
    assert spy.calls == 2  # the waiter shared the failure; it did not count again


def test_an_expiry_is_refreshed_by_the_first_caller_to_peek_and_by_nobody_else(
    cache: HealthCache, spy: CountingStore, clock: Clock
) -> None:
    old = cache.get()
    clock.now += 1.5  # stale
    # The first peek claims the refresh (None: it owes the get()); the others are served the
    # last body at once, so an event loop sends one request to its threadpool, not each.
    assert [cache.peek() for _ in range(4)] == [None, old, old, old]
    assert spy.calls == 1
    fresh = cache.get()  # the claimer's get(): one count
    assert fresh is not old and spy.calls == 2
    assert cache.peek() is fresh and cache.get() is fresh and spy.calls == 2


def test_a_claimed_refresh_whose_caller_went_away_is_run_by_the_next_get(
    cache: HealthCache, spy: CountingStore, clock: Clock
) -> None:
    old = cache.get()
    clock.now += 1.5
    assert cache.peek() is None  # claimed, and its caller never calls get()
    clock.now += 1.0  # 2.5 s old: still within the bound
    assert cache.peek() is old and spy.calls == 1
    clock.now += 1.0  # 3.5 s old: past it
    assert cache.peek() is None
    fresh = cache.get()  # runs the owed refresh instead of waiting for it forever
    assert fresh is not old and spy.calls == 2


def test_the_bound_cannot_be_shorter_than_the_cache_life(spy: CountingStore) -> None:
    with pytest.raises(ValueError, match="max_stale_s"):
        HealthCache(lambda: {}, ttl_s=2.0, max_stale_s=1.0)


# --- through both twins -----------------------------------------------------------------------
@contextmanager
def health_getter(twin: str, service: SearchService) -> Iterator[Callable[[], tuple[int, Any]]]:
    """GET /health on a twin over ``service``, callable from many threads at once."""
    if twin == "flask":
        app = flask_app.create_app(service.settings, service)

        def get_flask() -> tuple[int, Any]:
            reply = app.test_client().get("/health")
            return reply.status_code, reply.get_json()

        yield get_flask
    else:
        with TestClient(fastapi_app.create_app(service.settings, service)) as client:

            def get_fastapi() -> tuple[int, Any]:
                reply = client.get("/health")
                return reply.status_code, reply.json()

            yield get_fastapi


@pytest.mark.parametrize("twin", TWINS)
def test_concurrent_health_requests_across_an_expiry_make_one_count(
    twin: str, settings: Settings, service: SearchService
) -> None:
    # A slow count (the real one, 0.3 s late) keeps the refresh in flight while the burst
    # arrives, so each request that counted on its own would show.
    assert isinstance(service.store, MilvusVectorStore)
    spy = CountingStore(service.store, delay_s=0.3)
    counted = SearchService(
        settings=settings, embedder=service.embedder, store=spy, jobs=service.jobs
    )
    with health_getter(twin, counted) as get:
        assert get()[0] == 200
        assert spy.calls == 1
        time.sleep(HEALTH_TTL_S + 0.05)  # the cached body has expired
        start = threading.Barrier(BURST)

        def one(_: int) -> tuple[int, Any]:
            start.wait(WAIT_S)
            return get()

        with ThreadPoolExecutor(BURST) as pool:
            replies = list(pool.map(one, range(BURST)))
    assert spy.calls == 2, f"{spy.calls - 1} counts for one expiry"
    assert [status for status, _ in replies] == [200] * BURST
    assert {body["status"] for _, body in replies} == {"ok"}


@pytest.fixture
def threadpool_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the calls sent to anyio's threadpool (FastAPI's and Starlette's) during
    the test."""
    sent: list[str] = []
    real = anyio.to_thread.run_sync

    async def counting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(func, "func", func).__name__)  # Starlette sends a partial
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return sent


def counted_service(service: SearchService, spy: CountingStore) -> SearchService:
    """The session's model over ``spy``, with a cache of its own."""
    return SearchService(
        settings=service.settings, embedder=service.embedder, store=spy, jobs=service.jobs
    )


def test_fastapi_sends_only_the_refresher_of_an_expiry_to_the_threadpool(
    service: SearchService, spy: CountingStore, threadpool_calls: list[str]
) -> None:
    # Every trip to the threadpool waits for a thread, then for the GIL the event loop holds
    # while it serves the other connections: a burst of them each expiry made /health's tail.
    spy.delay_s = 0.3  # the refresh is still in flight when the burst arrives
    with health_getter("fastapi", counted_service(service, spy)) as get:
        assert get()[0] == 200  # nothing cached yet: one trip, for the first count
        time.sleep(HEALTH_TTL_S + 0.05)
        start = threading.Barrier(BURST)

        def one(_: int) -> int:
            start.wait(WAIT_S)
            return get()[0]

        with ThreadPoolExecutor(BURST) as pool:
            assert list(pool.map(one, range(BURST))) == [200] * BURST
    assert spy.calls == 2
    assert threadpool_calls.count("health") == 2, threadpool_calls


def test_fastapi_serves_health_while_the_refresh_waits_on_milvus(
    service: SearchService, spy: CountingStore
) -> None:
    # The refresh's count is held until /health has answered other requests: were it run on
    # the event loop, they could not be answered, and the held count would time out.
    with health_getter("fastapi", counted_service(service, spy)) as get:
        first = get()
        time.sleep(HEALTH_TTL_S + 0.05)
        spy.hold = threading.Event()
        spy.entered.clear()
        refresher = in_thread(get)
        assert spy.entered.wait(WAIT_S)
        assert [get() for _ in range(10)] == [first] * 10  # the last body, from the loop
        spy.hold.set()
        assert refresher.result(WAIT_S)[0] == 200
    assert spy.calls == 2
