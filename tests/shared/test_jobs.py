"""The ingest job registry: records and payloads on disk, a runner thread, and the jobs of
dead processes: resumed when their payload is on disk, interrupted otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from shared.errors import BackendUnavailable
from shared.jobs import UNEXPECTED_JOB_ERROR, JobPaused, JobRecord, JobRegistry

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# A worker process that queues a job which never finishes, then waits to be killed.
CHILD = """
import sys, time
from pathlib import Path
from shared.jobs import JobRegistry

registry = JobRegistry(Path(sys.argv[1]))
record = registry.submit(5, lambda job_id: time.sleep(120))
print(record.job_id, flush=True)
time.sleep(120)
"""


def test_a_job_runs_off_the_callers_thread_and_its_record_is_shared(tmp_path: Path) -> None:
    registry = JobRegistry(tmp_path)
    ran_on: list[str] = []

    def work(job_id: str) -> None:
        ran_on.append(threading.current_thread().name)
        record = registry.get(job_id)
        assert record is not None
        registry.save(JobRecord(**{**record.__dict__, "status": "done", "processed": 3}))

    queued = registry.submit(3, work)
    assert queued.status == "queued" and queued.total == 3
    registry.wait_idle()
    assert ran_on == ["ingest-runner"]
    # Another registry on the same directory (another worker process) sees the same record.
    record = JobRegistry(tmp_path).get(queued.job_id)
    assert record is not None
    assert record.to_json() == {
        "job_id": queued.job_id,
        "status": "done",
        "total": 3,
        "processed": 3,
        "failed": 0,
        "errors": [],
    }


def test_a_job_stopped_by_an_unexpected_error_shows_a_generic_message_and_logs_the_trace(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = JobRegistry(tmp_path)

    def buggy(job_id: str) -> None:
        raise KeyError("/srv/app/secret.py")

    failed = registry.submit(1, buggy)
    registry.wait_idle()
    record = registry.get(failed.job_id)
    assert record is not None
    assert (record.status, record.message) == ("failed", UNEXPECTED_JOB_ERROR)
    [logged] = [r for r in caplog.records if r.exc_info and r.exc_info[0] is KeyError]
    assert failed.job_id in logged.getMessage()


def test_a_job_that_raises_is_marked_failed_and_the_runner_goes_on(tmp_path: Path) -> None:
    registry = JobRegistry(tmp_path)

    def broken(job_id: str) -> None:
        raise BackendUnavailable("Milvus went away")

    failed = registry.submit(1, broken)
    registry.wait_idle()
    record = registry.get(failed.job_id)
    assert record is not None
    assert (record.status, record.message) == ("failed", "Milvus went away")
    assert record.to_json()["message"] == "Milvus went away"

    ran = threading.Event()
    registry.submit(1, lambda job_id: ran.set())
    registry.wait_idle()
    assert ran.is_set()


def test_a_job_of_a_live_process_stays_as_it_is(tmp_path: Path) -> None:
    registry = JobRegistry(tmp_path)
    release = threading.Event()
    job = registry.submit(2, lambda job_id: release.wait(30))
    try:
        record = registry.get(job.job_id)
        assert record is not None and record.status == "queued"
    finally:
        release.set()
        registry.wait_idle()


def test_a_job_whose_process_died_reads_back_as_interrupted(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert child.stdout is not None
        job_id = child.stdout.readline().strip()
        registry = JobRegistry(tmp_path)
        alive = registry.get(job_id)
        assert alive is not None and alive.status in ("queued", "running")
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()

    record = registry.get(job_id)
    assert record is not None
    assert (record.status, record.total) == ("interrupted", 5)
    body = record.to_json()
    assert body["status"] == "interrupted"
    assert "submit the same data again" in body["message"]
    # The verdict is written back, so every worker reads the same.
    reread = JobRegistry(tmp_path).get(job_id)
    assert reread is not None and reread.status == "interrupted"


def test_a_recycled_pid_is_not_taken_for_the_owner(tmp_path: Path) -> None:
    registry = JobRegistry(tmp_path)
    now = time.time()
    record = JobRecord(
        job_id="0" * 32,
        status="running",
        total=1,
        created_at=now,
        updated_at=now,
        owner=f"{os.getpid()}:not-my-start-time",
    )
    registry.save(record)
    read = registry.get(record.job_id)
    assert read is not None and read.status == "interrupted"


@pytest.mark.parametrize("job_id", ["", "nope", "../" * 11, "A" * 32, "0" * 31 + "g"])
def test_ids_that_are_not_ours_name_no_job(tmp_path: Path, job_id: str) -> None:
    assert JobRegistry(tmp_path).get(job_id) is None


def test_an_unknown_well_formed_id_names_no_job(tmp_path: Path) -> None:
    assert JobRegistry(tmp_path).get("f" * 32) is None


# --- acknowledged jobs survive their process ------------------------------------------------
def _orphan(registry: JobRegistry, payload: bytes) -> JobRecord:
    """A job that a process now gone had running, with its payload on disk."""
    release = threading.Event()
    job = registry.submit(4, lambda job_id: release.wait(30), payload=payload, kind="rows")
    release.set()
    registry.wait_idle()
    record = registry.get(job.job_id)
    assert record is not None
    dead = replace(record, status="running", owner="1:not-a-start-time", cursor=2, processed=2)
    registry.save(dead)
    return dead


def test_the_payload_is_on_disk_when_the_job_is_acknowledged_and_gone_when_done(
    tmp_path: Path,
) -> None:
    registry = JobRegistry(tmp_path)
    seen: list[bytes | None] = []

    def work(job_id: str) -> None:
        seen.append(registry.payload(job_id))
        record = registry.get(job_id)
        assert record is not None
        registry.save(replace(record, status="done"))

    release = threading.Event()
    blocker = registry.submit(1, lambda job_id: release.wait(30))
    job = registry.submit(1, work, payload=b'[{"text": "kept"}]', kind="rows")
    # Acknowledged while still queued behind another: its payload is already on disk.
    assert registry.payload_path(job.job_id).read_bytes() == b'[{"text": "kept"}]'
    release.set()
    registry.wait_idle()
    assert seen == [b'[{"text": "kept"}]']
    assert not registry.payload_path(job.job_id).exists()
    assert registry.get(blocker.job_id) is not None


def test_a_job_of_a_dead_process_with_its_payload_reads_queued_and_is_resumed_once(
    tmp_path: Path,
) -> None:
    first = JobRegistry(tmp_path)
    orphan = _orphan(first, b"[1, 2, 3, 4]")
    read = JobRegistry(tmp_path).get(orphan.job_id)
    assert read is not None and read.status == "queued", read  # not interrupted: resumable
    ran: list[tuple[str, int, bytes | None]] = []
    second = JobRegistry(tmp_path)

    def work(job_id: str) -> None:
        current = second.get(job_id)
        assert current is not None
        ran.append((job_id, current.cursor, second.payload(job_id)))
        second.save(replace(current, status="done", processed=4, cursor=4))

    assert second.resume_orphans(work) == [orphan.job_id]
    # Another process starting at the same time finds nothing left to take.
    assert JobRegistry(tmp_path).resume_orphans(work) == []
    second.wait_idle()
    assert ran == [(orphan.job_id, 2, b"[1, 2, 3, 4]")]
    done = JobRegistry(tmp_path).get(orphan.job_id)
    assert done is not None and (done.status, done.processed) == ("done", 4)


def test_closing_pauses_the_job_in_hand_between_chunks_and_leaves_it_queued(
    tmp_path: Path,
) -> None:
    registry = JobRegistry(tmp_path)
    in_chunk = threading.Event()
    chunks: list[int] = []

    def work(job_id: str) -> None:
        for chunk in range(100):
            if registry.stopping():
                record = registry.get(job_id)
                assert record is not None
                registry.save(replace(record, status="queued", cursor=chunk))
                raise JobPaused(job_id)
            chunks.append(chunk)
            in_chunk.set()
            time.sleep(0.05)

    job = registry.submit(100, work, payload=b"[]", kind="rows")
    queued_behind = registry.submit(1, lambda job_id: chunks.append(-1), payload=b"[]")
    assert in_chunk.wait(30)
    registry.close()
    record = registry.get(job.job_id)
    assert record is not None and record.status == "queued"
    assert 0 < record.cursor < 100 and record.cursor == len(chunks)
    assert -1 not in chunks  # the job queued behind it was not started
    assert registry.payload_path(queued_behind.job_id).exists()
