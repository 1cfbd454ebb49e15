"""Nothing acknowledged is lost: stop a live twin mid-ingest, start it again, look.

Per twin and per way of stopping (SIGKILL of the whole process group, as a crash; SIGTERM,
as every deploy sends): documents answered 201, then an ingest job of 320 JSONL rows stopped
while it reports some rows processed but is not done. After a restart the documents are
there, the restarted server resumes the job to ``done``, and each row is stored exactly once.
After a SIGTERM the job waits ``queued`` where it stopped: the chunk in hand was finished.

The four runs take two rounds, each twin in both: the Flask twin is SIGKILLed while the
FastAPI twin is SIGTERMed, side by side, then the other way round, so two twins restart
at once (each restart is a model load and a Milvus connect, seconds on this machine).
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from reliability_support import LiveServer, collection_of, stored_ids
from support import TWINS, wait_for_job

# Five of the service's 64-row chunks: the kill comes within milliseconds of the first chunk
# being counted, with four still to embed (each takes tens of milliseconds even on the
# fastest runtime), so it lands mid-job; every row is embedded twice, so keep it small.
ROWS = 320


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
    # Seconds from the stop to the server's health (a restart), and on to the job's done.
    healthy_after_s: float = 0.0
    done_after_s: float = 0.0

    def __str__(self) -> str:
        stopped = self.job_while_stopped["processed"]
        return (
            f"{self.app} {self.stop}: stopped at {stopped}/{ROWS} rows; healthy again "
            f"{self.healthy_after_s:.1f} s after the stop, the job done "
            f"{self.done_after_s:.1f} s after it"
        )

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
# Each round stops every twin once, each a different way from the round before.
ROUNDS = [
    dict(zip(TWINS, ("sigkill", "sigterm"), strict=True)),
    dict(zip(TWINS, ("sigterm", "sigkill"), strict=True)),
]


@pytest.fixture(scope="module")
def crashes(live_stack: Any) -> dict[tuple[str, str], CrashOutcome]:
    """Every twin stopped both ways, in two rounds of both twins at once."""
    outcomes: dict[tuple[str, str], CrashOutcome] = {}
    for round_ in ROUNDS:
        with ThreadPoolExecutor(len(round_)) as pool:
            futures = {
                (app, stop): pool.submit(crash_and_restart, live_stack, app, stop)
                for app, stop in round_.items()
            }
            outcomes.update({key: future.result() for key, future in futures.items()})
    for outcome in outcomes.values():
        print(outcome)  # the measured figures (pytest -s shows them)
    return outcomes


@pytest.fixture(params=STOPS)
def crash(
    request: pytest.FixtureRequest, crashes: dict[tuple[str, str], CrashOutcome]
) -> CrashOutcome:
    return crashes[request.param]


def crash_and_restart(live_stack: Any, app: str, stop: str) -> CrashOutcome:
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
    stopped_at = time.monotonic()
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
    healthy_after_s = time.monotonic() - stopped_at
    with server.http() as http:
        after = wait_for_job(http, job_id, timeout_s=300)
        done_after_s = time.monotonic() - stopped_at
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
        healthy_after_s=healthy_after_s,
        done_after_s=done_after_s,
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
