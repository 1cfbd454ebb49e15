"""The /health answer, cached, refreshed by one caller at a time: what both twins serve.

/health is the framework floor of the benchmark: it must not cost a Milvus round trip on
every call, yet must notice an outage within about a second. So the healthy body is kept
for ``ttl_s``; after that the first caller to ask refreshes it (one Milvus count) while
every other caller is served the last body, as long as that body is younger than
``max_stale_s``. Past that bound nobody is served it: callers wait for the refresh in
flight and share its answer, body or error. A failure is never cached, and it drops the
last body: once Milvus has failed to answer, no caller is told it is healthy.

The refresh is claimed by ``peek()``, which never blocks, not by ``get()``, which may: an
event loop calls ``peek()`` on the loop and sends ``get()`` to a thread, and until that
thread runs, the loop goes on serving. Claimed in ``get()``, an expiry sent to the thread
pool every /health request the loop served before the refresher's thread had started (under
64 connections, a burst of them once a second, queued on a few threads, each waiting for the
GIL that the loop held); claimed in ``peek()``, it sends one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

__all__ = ["HealthCache", "HEALTH_TTL_S", "HEALTH_MAX_STALE_S"]

Body = dict[str, Any]

HEALTH_TTL_S = 1.0
# A refresh waits at most one Milvus timeout (2 s by default) before it fails; meanwhile
# the other callers get the last body, which is then at most this old.
HEALTH_MAX_STALE_S = 3.0


@dataclass(frozen=True)
class _State:
    """Replaced whole under the lock, so a reader without the lock sees a consistent one."""

    body: Body | None = None
    asked_at: float = 0.0  # when the count behind ``body`` was asked for
    refresh: Future[Body] | None = None  # the refresh claimed or in flight, if any
    running: bool = False  # whether a caller is counting for ``refresh`` (else it is owed)


class HealthCache:
    """``check()`` (the Milvus count and the body around it) behind a single-flight cache.

    ``peek()`` does no I/O and never waits for a refresh (once an expiry it takes the lock,
    which nobody holds across I/O, to claim one); ``get()`` may block on ``check()`` (the one
    refresher) or on the refresh in flight (a caller past the staleness bound). Each app
    calls ``peek() or get()``; the FastAPI twin runs ``get()`` in its threadpool.
    """

    def __init__(
        self,
        check: Callable[[], Body],
        *,
        ttl_s: float = HEALTH_TTL_S,
        max_stale_s: float = HEALTH_MAX_STALE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_stale_s < ttl_s:
            raise ValueError(f"max_stale_s ({max_stale_s}) must be at least ttl_s ({ttl_s})")
        self._check = check
        self._ttl_s = ttl_s
        self._max_stale_s = max_stale_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = _State()

    def peek(self) -> Body | None:
        """The body to serve now, without I/O or waiting; None means: call ``get()``.

        That is the fresh body, or the last one while a refresh is claimed (if within the
        bound). A stale body with no refresh claimed is not served: the caller that finds it
        claims the refresh, gets None, and owes the ``get()`` that runs it. If that ``get()``
        never comes (the caller went away), the refresh stays owed: the others are served the
        last body until the bound, and the first ``get()`` runs it.
        """
        state = self._state  # one read of an immutable snapshot: no lock on the fresh path
        if state.body is None:
            return None
        age = self._clock() - state.asked_at
        if age < self._ttl_s:
            return state.body
        if age >= self._max_stale_s:
            return None
        if state.refresh is not None:
            return state.body
        with self._lock:  # once an expiry: claim the refresh, unless the state moved
            if self._state is state:
                self._state = _State(state.body, state.asked_at, Future())
                return None
        return self.peek()  # another caller claimed or refreshed meanwhile: read it again

    def get(self) -> Body:
        """The body: cached, or counted now by this caller, or by the caller counting already.

        Raises what ``check()`` raised, to the caller that ran it and to every caller that
        waited for it.
        """
        with self._lock:
            state = self._state
            now = self._clock()
            age = now - state.asked_at
            if state.body is not None and age < self._ttl_s:
                return state.body
            refresh: Future[Body] | None = state.refresh
            if refresh is None or not state.running:  # this caller counts: claimed or owed
                refresh = refresh or Future()
                self._state = _State(state.body, state.asked_at, refresh, running=True)
                counting = True
            elif state.body is not None and age < self._max_stale_s:
                return state.body  # another caller counts: the last body will do
            else:
                counting = False  # past the bound: wait for the refresh in flight
        if not counting:
            return refresh.result()
        return self._run(refresh, asked_at=now)

    def _run(self, refresh: Future[Body], *, asked_at: float) -> Body:
        """Run ``check()`` for everyone (outside the lock) and publish what it gave."""
        try:
            body = self._check()
        except BaseException as exc:
            with self._lock:
                self._state = _State()  # never cached, and the last body goes too
            refresh.set_exception(exc)
            raise
        with self._lock:
            self._state = _State(body, asked_at, None)
        refresh.set_result(body)
        return body
