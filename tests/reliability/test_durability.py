"""Nothing acknowledged is lost: SIGKILL a live twin mid-ingest, start it again, look.

Per twin, once: documents answered 201, then an ingest job of 2,000 JSONL rows killed (the
whole process group, SIGKILL) while it reports some rows processed but is not done. After a
restart, the documents are there, the job says ``interrupted`` with how far it got, every row
it counted as processed is in Milvus, and submitting the same file again completes with each
row stored exactly once.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from reliability_support import LiveServer, collection_of, stored_ids
from support import TWIN_PARAMS, wait_for_job

# Enough for dozens of 64-row batches, so the kill lands mid-job; every row is embedded twice.
ROWS = 2_000


@dataclass
class CrashOutcome:
    app: str
    run: str
    documents: dict[str, dict[str, Any]]
    job_id: str
    job_before_kill: dict[str, Any]
    job_after_restart: dict[str, Any]
    job_reply_status: int
    rows_in_milvus: list[str]
    jsonl: bytes

    @property
    def row_ids(self) -> list[str]:
        return [f"{self.run}-row-{index:05d}" for index in range(ROWS)]


def jsonl_rows(run: str) -> bytes:
    lines = (
        json.dumps({"id": f"{run}-row-{index:05d}", "text": f"crash test row number {index}"})
        for index in range(ROWS)
    )
    return ("\n".join(lines) + "\n").encode()


def wait_until_partly_processed(http: Any, job_id: str, timeout_s: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = http.get(f"/ingest/{job_id}").json()
        if job["status"] == "running" and 0 < job["processed"] < ROWS:
            return job
        assert job["status"] in ("queued", "running"), f"job ended before the kill: {job}"
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} processed nothing within {timeout_s} s")


@pytest.fixture(scope="module", params=TWIN_PARAMS)
def crash(request: pytest.FixtureRequest, live_stack: Any) -> CrashOutcome:
    server: LiveServer = live_stack.servers[request.param]
    server.ensure_running()
    run = f"crash{uuid.uuid4().hex[:8]}"
    documents = {
        f"{run}-single": {"id": f"{run}-single", "text": "acknowledged alone", "tags": ["a"]},
        **{
            f"{run}-batch-{index}": {"id": f"{run}-batch-{index}", "text": f"in a batch {index}"}
            for index in range(3)
        },
    }
    data = jsonl_rows(run)
    with server.http() as http:
        single = http.post("/documents", json=documents[f"{run}-single"])
        assert single.status_code == 201, single.text
        batch_docs = [doc for doc_id, doc in documents.items() if "-batch-" in doc_id]
        batch = http.post("/documents/batch", json={"documents": batch_docs})
        assert batch.status_code == 201, batch.text
        submitted = http.post("/ingest", files={"file": ("rows.jsonl", data, "application/jsonl")})
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["job_id"]
        before = wait_until_partly_processed(http, job_id)
    server.kill()
    server.start()
    server.wait_ready()
    with server.http() as http:
        after = http.get(f"/ingest/{job_id}")
        stored = {doc_id: http.get(f"/documents/{doc_id}") for doc_id in documents}
    rows = stored_ids(live_stack.milvus, collection=collection_of(server.app), prefix=f"{run}-row-")
    return CrashOutcome(
        app=server.app,
        run=run,
        documents={
            doc_id: {"status": reply.status_code, "body": reply.json()}
            for doc_id, reply in stored.items()
        },
        job_id=job_id,
        job_before_kill=before,
        job_after_restart=after.json(),
        job_reply_status=after.status_code,
        rows_in_milvus=rows,
        jsonl=data,
    )


def test_documents_answered_201_survive_sigkill(crash: CrashOutcome) -> None:
    for doc_id, outcome in crash.documents.items():
        assert outcome["status"] == 200, (doc_id, outcome)
        assert outcome["body"]["id"] == doc_id


def test_ingest_job_killed_midway_is_reported_interrupted(crash: CrashOutcome) -> None:
    assert crash.job_reply_status == 200, crash.job_after_restart
    job = crash.job_after_restart
    assert job["status"] == "interrupted", job
    assert job["total"] == ROWS
    assert 0 < job["processed"] < ROWS, job
    assert job["processed"] >= crash.job_before_kill["processed"], (crash.job_before_kill, job)
    assert "submit the same data again" in job["message"], job


def test_rows_counted_as_processed_survive_sigkill(crash: CrashOutcome) -> None:
    processed = crash.job_after_restart["processed"]
    missing = set(crash.row_ids[:processed]) - set(crash.rows_in_milvus)
    assert not missing, f"{len(missing)} of {processed} processed rows lost: {sorted(missing)[:5]}"


def test_resubmitting_the_interrupted_file_stores_every_row_once(
    crash: CrashOutcome, live_stack: Any
) -> None:
    server: LiveServer = live_stack.servers[crash.app]
    server.ensure_running()
    with server.http() as http:
        files = {"file": ("rows.jsonl", crash.jsonl, "application/jsonl")}
        submitted = http.post("/ingest", files=files)
        assert submitted.status_code == 202, submitted.text
        job = wait_for_job(http, submitted.json()["job_id"], timeout_s=300)
    assert (job["status"], job["processed"], job["failed"]) == ("done", ROWS, 0), job
    rows = stored_ids(
        live_stack.milvus, collection=collection_of(crash.app), prefix=f"{crash.run}-row-"
    )
    assert len(rows) == ROWS, f"{len(rows)} rows stored for {ROWS} distinct ids"
    assert set(rows) == set(crash.row_ids)
