"""Nothing acknowledged is lost: stop a live twin mid-ingest, start it again, look.

Per twin and per way of stopping (SIGKILL of the whole process group, as a crash; SIGTERM,
as every deploy sends): documents answered 201, then an ingest job of 640 JSONL rows stopped
while it reports some rows processed but is not done. After a restart the documents are
there, the restarted server resumes the job to ``done``, and each row is stored exactly once.
After a SIGTERM the job waits ``queued`` where it stopped: the chunk in hand was finished.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from reliability_support import LiveServer, collection_of, stored_ids
from support import TWINS, wait_for_job

# Ten of the service's 64-row chunks: the kill comes within milliseconds of the first chunk
# being counted, with nine still to embed (each takes tens of milliseconds even on the
# fastest runtime), so it lands mid-job; every row is embedded twice, so keep it small.
ROWS = 640


@dataclass
class CrashOutcome:
    app: str
    stop: str
    run: str
    documents: dict[str, dict[str, Any]]
    job_id: str
    job_before_stop: dict[str, Any]
    job_while_stopped: dict[str, Any]
    payload_kept_while_stopped: bool
    job_after_restart: dict[str, Any]
    rows_in_milvus: list[str]

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
        assert job["status"] in ("queued", "running"), f"job ended before the stop: {job}"
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} processed nothing within {timeout_s} s")


STOPS = [
    pytest.param((app, stop), id=f"{app}-{stop}")
    for app in TWINS
    for stop in ("sigkill", "sigterm")
]


@pytest.fixture(scope="module", params=STOPS)
def crash(request: pytest.FixtureRequest, live_stack: Any) -> CrashOutcome:
    app, stop = request.param
    server: LiveServer = live_stack.servers[app]
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
    if stop == "sigkill":
        server.kill()
    else:
        server.stop()
    # With no server running, the record on disk says where the job stands.
    jobs_dir = live_stack.milvus.data_dir / "jobs" / collection_of(app)
    record = json.loads((jobs_dir / f"{job_id}.json").read_text())
    payload_kept = (jobs_dir / f"{job_id}.payload").exists()
    server.start()
    server.wait_ready()
    with server.http() as http:
        after = wait_for_job(http, job_id, timeout_s=300)
        stored = {doc_id: http.get(f"/documents/{doc_id}") for doc_id in documents}
    rows = stored_ids(live_stack.milvus, collection=collection_of(app), prefix=f"{run}-row-")
    return CrashOutcome(
        app=app,
        stop=stop,
        run=run,
        documents={
            doc_id: {"status": reply.status_code, "body": reply.json()}
            for doc_id, reply in stored.items()
        },
        job_id=job_id,
        job_before_stop=before,
        job_while_stopped=record,
        payload_kept_while_stopped=payload_kept,
        job_after_restart=after,
        rows_in_milvus=rows,
    )


def test_documents_answered_201_survive_the_stop(crash: CrashOutcome) -> None:
    for doc_id, outcome in crash.documents.items():
        assert outcome["status"] == 200, (doc_id, outcome)
        assert outcome["body"]["id"] == doc_id


def test_the_restarted_server_resumes_the_job_to_done(crash: CrashOutcome) -> None:
    job = crash.job_after_restart
    assert (job["status"], job["total"], job["processed"], job["failed"]) == (
        "done",
        ROWS,
        ROWS,
        0,
    ), job
    assert "message" not in job, job


def test_every_row_is_stored_exactly_once(crash: CrashOutcome) -> None:
    assert len(crash.rows_in_milvus) == ROWS, f"{len(crash.rows_in_milvus)} rows for {ROWS} ids"
    assert set(crash.rows_in_milvus) == set(crash.row_ids)


def test_the_stopped_job_waits_on_disk_where_it_stopped(crash: CrashOutcome) -> None:
    stopped = crash.job_while_stopped
    assert crash.payload_kept_while_stopped, "the upload was not kept for the next server"
    # The rows before the cursor are exactly the ones counted, at a chunk boundary.
    assert stopped["cursor"] % 64 == 0 and 0 < stopped["cursor"] < ROWS, stopped
    assert stopped["processed"] == stopped["cursor"] >= crash.job_before_stop["processed"]
    if crash.stop == "sigterm":
        # The server paused it between chunks on its way out: queued for the next one.
        assert stopped["status"] == "queued", stopped
    else:
        # A SIGKILL leaves the record as it was; readers see it queued (owner gone).
        assert stopped["status"] == "running", stopped
