"""Concurrency against live twins: racing upserts of one id, ingest jobs beside searches.

Twenty threads upsert the same id with twenty self-consistent versions: afterwards exactly one
row holds that id (read straight from Milvus) and it is one of the versions, intact. Three
ingest jobs and three search loops run at once: every request succeeds, every job finishes
with every row stored; the two twins take this load at the same time (each is a server of
its own), which only makes it heavier.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from reliability_support import DIM, LiveServer, collection_of, stored_ids
from support import TWIN_PARAMS, wait_for_job

WRITERS = 20
JOBS = 3
ROWS_PER_JOB = 80


def version(doc_id: str, number: int) -> dict[str, Any]:
    return {
        "id": doc_id,
        "title": f"version {number:02d}",
        "text": f"version {number:02d} of the contested document",
        "tags": [f"v{number:02d}"],
    }


def test_concurrent_upserts_of_one_id_leave_one_intact_version(
    live: LiveServer, live_stack: Any
) -> None:
    doc_id = f"contested-{uuid.uuid4().hex[:10]}"
    start = threading.Barrier(WRITERS)

    def write(number: int) -> int:
        with live.http() as http:
            start.wait(timeout=30)
            return http.post("/documents", json=version(doc_id, number)).status_code

    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = list(pool.map(write, range(WRITERS)))
    assert statuses == [201] * WRITERS, statuses

    with live.http() as http:
        reply = http.get(f"/documents/{doc_id}")
        assert reply.status_code == 200, reply.text
        stored = reply.json()
        number = int(stored["title"].removeprefix("version "))
        assert {key: stored[key] for key in ("id", "title", "text", "tags")} == version(
            doc_id, number
        )
        # A search for the winner's tag finds it; no other version's tag finds anything.
        for other in range(WRITERS):
            search = http.post(
                "/search", json={"query": "contested", "top_k": 10, "tags": [f"v{other:02d}"]}
            )
            hits = [hit["id"] for hit in search.json()["results"] if hit["id"] == doc_id]
            assert hits == ([doc_id] if other == number else []), (other, number, search.text)
    rows = stored_ids(live_stack.milvus, collection=collection_of(live.app), prefix=doc_id)
    assert rows == [doc_id], f"{len(rows)} rows hold the id {doc_id}"


@dataclass
class Together:
    """What one twin answered while it ran ingest jobs beside search loops."""

    run: str
    failures: list[str]
    searches: int
    outcomes: list[dict[str, Any]]
    rows: list[str]


def ingest_beside_searches(live: LiveServer, live_stack: Any) -> Together:
    run = f"together{uuid.uuid4().hex[:8]}"
    done = threading.Event()
    failures: list[str] = []
    searches = 0

    def search_until_done(worker: int) -> None:
        nonlocal searches
        with live.http() as http:
            while not done.is_set():
                if worker % 2:
                    reply = http.post("/search", json={"query": f"row {worker}", "top_k": 5})
                else:
                    body = {"vector": [0.1 * (worker + 1)] * DIM, "top_k": 5}
                    reply = http.post("/search/vector", json=body)
                searches += 1
                if reply.status_code != 200:
                    failures.append(f"search: {reply.status_code} {reply.text[:200]}")
                done.wait(0.05)  # steady load, not a busy loop that starves the jobs

    def ingest(job: int) -> dict[str, Any]:
        rows = [
            {"id": f"{run}-{job}-{row:04d}", "text": f"job {job} row {row}", "tags": [run]}
            for row in range(ROWS_PER_JOB)
        ]
        with live.http() as http:
            reply = http.post("/ingest", json=rows)
            if reply.status_code != 202:
                failures.append(f"ingest: {reply.status_code} {reply.text[:200]}")
                return {}
            return wait_for_job(http, reply.json()["job_id"], timeout_s=240)

    with ThreadPoolExecutor(JOBS + 3) as pool:
        searchers = [pool.submit(search_until_done, worker) for worker in range(3)]
        jobs = [pool.submit(ingest, job) for job in range(JOBS)]
        outcomes = [job.result() for job in jobs]
        done.set()
        for searcher in searchers:
            searcher.result()
    rows = stored_ids(live_stack.milvus, collection=collection_of(live.app), prefix=run)
    return Together(run, failures, searches, outcomes, rows)


@pytest.fixture(scope="module")
def together(live_stack: Any) -> dict[str, Together]:
    servers: dict[str, LiveServer] = live_stack.servers
    for server in servers.values():
        server.ensure_running()
    with ThreadPoolExecutor(len(servers)) as pool:
        runs = {
            app: pool.submit(ingest_beside_searches, server, live_stack)
            for app, server in servers.items()
        }
        return {app: run.result() for app, run in runs.items()}


@pytest.mark.parametrize("app", TWIN_PARAMS)
def test_ingest_jobs_and_searches_at_once_produce_no_errors(
    together: dict[str, Together], app: str
) -> None:
    seen = together[app]
    assert not seen.failures, seen.failures[:10]
    assert seen.searches > 0
    for outcome in seen.outcomes:
        assert (outcome["status"], outcome["processed"], outcome["failed"]) == (
            "done",
            ROWS_PER_JOB,
            0,
        ), outcome
    assert sorted(seen.rows) == sorted(
        f"{seen.run}-{job}-{row:04d}" for job in range(JOBS) for row in range(ROWS_PER_JOB)
    )
