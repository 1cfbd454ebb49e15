"""Read-your-writes across worker processes (issue 13), through both twins, live.

Two servers, each its own process with its own pymilvus client, serve one collection of one
Milvus with one data directory: the Flask twin under gunicorn (the folder's live server) and
the FastAPI twin under uvicorn (this module's). Whatever one of them acknowledges (201, 204,
an ingest job done), a request through the other sees at once: the next request, with no
sleep and no retry. Point reads are not Strong reads (that is the point of issue 13); the
shared write marks make them exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from reliability_support import LiveServer, collection_of, server_env
from support import unique, wait_for_job

from shared.launcher import free_port

# Each round reads within milliseconds of the write, while the write is still in flight (read
# Strong); tests/shared/test_marks_slow_tick.py is what checks a mark itself.
ROUNDS = 3
DIRECTIONS = [
    pytest.param(("flask", "fastapi"), id="flask-to-fastapi"),
    pytest.param(("fastapi", "flask"), id="fastapi-to-flask"),
]


@pytest.fixture(scope="module")
def servers(live_stack: Any) -> Iterator[dict[str, LiveServer]]:
    """The folder's live Flask server and a FastAPI server of this module's own, started over
    the Flask server's collection and data directory."""
    flask = live_stack.servers["flask"]
    milvus = live_stack.milvus
    env = {**server_env(milvus, app="fastapi"), "TWINBENCH_COLLECTION": collection_of("flask")}
    fastapi = LiveServer(
        app="fastapi", port=free_port(), env=env, log_path=milvus.data_dir / "fastapi-ryw.log"
    )
    try:
        fastapi.start()
        flask.ensure_running()
        fastapi.wait_ready()
        yield {"flask": flask, "fastapi": fastapi}
    finally:
        fastapi.stop()


@pytest.fixture(params=DIRECTIONS)
def writer_reader(
    request: pytest.FixtureRequest, servers: dict[str, LiveServer]
) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    writer, reader = request.param
    with servers[writer].http() as write, servers[reader].http() as read:
        yield write, read


def document(doc_id: str, text: str) -> dict[str, Any]:
    return {"id": doc_id, "title": "ryw", "text": text, "tags": ["ryw"]}


def test_a_document_written_through_one_worker_is_read_through_the_other(
    writer_reader: tuple[httpx.Client, httpx.Client],
) -> None:
    write, read = writer_reader
    for round_ in range(ROUNDS):
        doc_id = unique("ryw")
        created = write.post("/documents", json=document(doc_id, f"first {round_}"))
        assert created.status_code == 201, created.text
        got = read.get(f"/documents/{doc_id}")
        assert got.status_code == 200, got.text
        assert got.json()["text"] == f"first {round_}"
        # An upsert of the same id: the other worker returns the new version.
        updated = write.post("/documents", json=document(doc_id, f"second {round_}"))
        assert updated.status_code == 201, updated.text
        assert read.get(f"/documents/{doc_id}").json()["text"] == f"second {round_}"


def test_a_document_deleted_through_one_worker_is_gone_through_the_other(
    writer_reader: tuple[httpx.Client, httpx.Client],
) -> None:
    write, read = writer_reader
    for _ in range(ROUNDS):
        doc_id = unique("gone")
        assert write.post("/documents", json=document(doc_id, "short-lived")).status_code == 201
        # The reader's existence check sees the fresh write: 204, not 404.
        assert read.delete(f"/documents/{doc_id}").status_code == 204
        assert write.get(f"/documents/{doc_id}").status_code == 404
        assert write.delete(f"/documents/{doc_id}").status_code == 404
        assert read.get(f"/documents/{doc_id}").status_code == 404


def test_a_batch_and_an_ingest_job_are_read_through_the_other_worker(
    writer_reader: tuple[httpx.Client, httpx.Client],
) -> None:
    write, read = writer_reader
    batch = [document(unique("batch"), f"batch {i}") for i in range(5)]
    reply = write.post("/documents/batch", json={"documents": batch})
    assert reply.status_code == 201, reply.text
    for doc in batch:
        assert read.get(f"/documents/{doc['id']}").json()["text"] == doc["text"]

    rows = [document(unique("ingest"), f"ingested {i}") for i in range(5)]
    job = write.post("/ingest", json=rows)
    assert job.status_code == 202, job.text
    assert wait_for_job(write, job.json()["job_id"], timeout_s=120)["status"] == "done"
    for row in rows:
        got = read.get(f"/documents/{row['id']}")
        assert got.status_code == 200, got.text
        assert got.json()["text"] == row["text"]
