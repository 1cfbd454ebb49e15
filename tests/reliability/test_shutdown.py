"""Graceful shutdown: SIGTERM to a live twin under a little load.

Three threads search in a loop and one slow batch write (256 documents to embed) is in
flight when the server's main process gets SIGTERM, as a supervisor would send it. Every
request that got a response got a non-5xx one, the batch already accepted completes with 201
and is stored, and the server exits by itself (status 0, or the re-raised
SIGTERM uvicorn exits with after a clean shutdown). Meanwhile a prober opens a new connection
every 50 ms: within a second of the signal no new connection is served any more, while the
batch is still in flight. uvicorn closes its listening socket at once, so they are refused;
gunicorn stops calling accept() but keeps the socket open until its last request is done, so
they wait unanswered in the kernel's backlog and are reset when it exits (measured; the
docs/failure-behaviour.md says so). The server stays stopped; a later test that needs it
starts it again.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from reliability_support import LiveServer, collection_of, stored_ids

SEARCHERS = 3
BATCH = 256
EXIT_TIMEOUT_S = 40.0  # gunicorn and uvicorn get 20 s of graceful shutdown from server_argv
PROBE_EVERY_S = 0.05
# How long after SIGTERM a new connection may still be served: the signal reaches the
# worker, which notices it at its next wake-up (gunicorn's gthread polls every second).
STOPS_SERVING_WITHIN_S = 1.5
# Whether the server refuses new connections at once (closes its listening socket), per server.
REFUSES_AT_ONCE = {"uvicorn": True, "gunicorn-gthread": False}


def probe(port: int) -> str:
    """What a new connection gets: "refused", "answered", or "unanswered" (closed or silent)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return "answered" if sock.recv(16).startswith(b"HTTP/") else "unanswered"
    except ConnectionRefusedError:
        return "refused"
    except OSError:  # reset, or no answer within the timeout
        return "unanswered"


def test_sigterm_under_load_stops_serving_new_connections_and_completes_accepted_requests(
    live: LiveServer, live_stack: Any
) -> None:
    run = f"shutdown{uuid.uuid4().hex[:8]}"
    stop = threading.Event()
    statuses: list[int] = []

    def search_loop(worker: int) -> None:
        while not stop.is_set():
            try:
                with live.http(timeout=30) as http:
                    while not stop.is_set():
                        body = {"query": f"shutdown search {worker}", "top_k": 3}
                        statuses.append(http.post("/search", json=body).status_code)
                        stop.wait(0.02)
            except httpx.HTTPError:  # refused or closed once the server stops: the prober's
                stop.wait(0.1)

    def slow_batch() -> tuple[int, str]:
        documents = [
            {"id": f"{run}-{n:03d}", "text": f"document {n} written while the server stops " * 4}
            for n in range(BATCH)
        ]
        with live.http(timeout=120) as http:
            reply = http.post("/documents/batch", json={"documents": documents})
            return reply.status_code, reply.text[:300]

    with ThreadPoolExecutor(SEARCHERS + 1) as pool:
        searchers = [pool.submit(search_loop, worker) for worker in range(SEARCHERS)]
        time.sleep(1.0)
        batch = pool.submit(slow_batch)
        time.sleep(0.5)  # the batch has been accepted and is being embedded
        assert not batch.done(), "the batch finished before SIGTERM: make it slower"
        os.kill(live.pid, signal.SIGTERM)
        signalled = time.monotonic()
        # (seconds after SIGTERM, what a new connection got, whether the batch was in flight)
        probes: list[tuple[float, str, bool]] = []
        while not batch.done():
            outcome = probe(live.port)
            probes.append((time.monotonic() - signalled, outcome, not batch.done()))
            time.sleep(PROBE_EVERY_S)
        batch_status, batch_text = batch.result(timeout=EXIT_TIMEOUT_S)
        assert live.proc is not None
        exit_code = live.proc.wait(timeout=EXIT_TIMEOUT_S)
        stop.set()
        for searcher in searchers:
            searcher.result(timeout=60)

    served_late = [p for p in probes if p[1] == "answered" and p[0] > STOPS_SERVING_WITHIN_S]
    assert not served_late, f"new connections served after SIGTERM: {probes}"
    stopped_in_flight = [p for p in probes if p[1] != "answered" and p[2]]
    assert stopped_in_flight, f"the batch ended before new connections stopped: {probes}"
    if REFUSES_AT_ONCE[live.spec.server]:
        # A connection accepted just before the listener closed may be dropped unanswered.
        assert "refused" in {p[1] for p in stopped_in_flight}, probes
    server_errors = [status for status in statuses if status >= 500]
    assert not server_errors, f"{len(server_errors)} 5xx among {len(statuses)} searches"
    assert statuses.count(200) > 0
    assert batch_status == 201, batch_text
    # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly.
    assert exit_code in (0, -signal.SIGTERM), live.log_tail()
    rows = stored_ids(live_stack.milvus, collection=collection_of(live.app), prefix=run)
    assert len(rows) == BATCH, f"{len(rows)} of {BATCH} documents of the accepted batch stored"
