"""Graceful shutdown: SIGTERM to a live twin under a little load.

Three threads search in a loop and one slow batch write (256 documents to embed) is in
flight when the server's main process gets SIGTERM, as a supervisor would send it. Every
request that got a response got a non-5xx one, the batch already accepted completes with 201
and is stored, and the server exits by itself (status 0, or the re-raised
SIGTERM uvicorn exits with after a clean shutdown). The server stays stopped; a later test that
needs it starts it again.
"""

from __future__ import annotations

import os
import signal
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


def test_sigterm_under_load_completes_accepted_requests_without_5xx(
    live: LiveServer, live_stack: Any
) -> None:
    run = f"shutdown{uuid.uuid4().hex[:8]}"
    stop = threading.Event()
    statuses: list[int] = []
    refused: list[str] = []

    def search_loop(worker: int) -> None:
        while not stop.is_set():
            try:
                with live.http(timeout=30) as http:
                    while not stop.is_set():
                        body = {"query": f"shutdown search {worker}", "top_k": 3}
                        statuses.append(http.post("/search", json=body).status_code)
                        stop.wait(0.02)
            except httpx.HTTPError as exc:  # refused or closed once the server is gone
                refused.append(repr(exc))
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
        batch_status, batch_text = batch.result(timeout=EXIT_TIMEOUT_S)
        assert live.proc is not None
        exit_code = live.proc.wait(timeout=EXIT_TIMEOUT_S)
        stop.set()
        for searcher in searchers:
            searcher.result(timeout=60)

    server_errors = [status for status in statuses if status >= 500]
    assert not server_errors, f"{len(server_errors)} 5xx among {len(statuses)} searches"
    assert statuses.count(200) > 0
    assert batch_status == 201, batch_text
    # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly.
    assert exit_code in (0, -signal.SIGTERM), live.log_tail()
    rows = stored_ids(live_stack.milvus, collection=collection_of(live.app), prefix=run)
    assert len(rows) == BATCH, f"{len(rows)} of {BATCH} documents of the accepted batch stored"
