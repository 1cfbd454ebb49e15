"""Job records shared through Milvus (shared/job_records.py): two registries with their own
directories, as on two hosts, over the session's Milvus. A job accepted by one is read by
the other at every state it records, with no wait; a record Milvus refused is written again.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from shared.config import Settings, get_settings
from shared.errors import BackendUnavailable
from shared.job_records import MilvusJobRecords
from shared.jobs import JobRecord, JobRegistry
from shared.launcher import free_port


@pytest.fixture(scope="module")
def records_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"collection": f"records_{uuid.uuid4().hex[:8]}"})


@pytest.fixture
def hosts(records_settings: Settings, tmp_path: Path) -> Iterator[tuple[JobRegistry, JobRegistry]]:
    here = JobRegistry(tmp_path / "host-a", shared=MilvusJobRecords(records_settings))
    there = JobRegistry(tmp_path / "host-b", shared=MilvusJobRecords(records_settings))
    yield here, there
    here.close()
    there.close()


def test_a_job_accepted_on_one_host_is_read_on_the_other_at_every_state(
    hosts: tuple[JobRegistry, JobRegistry],
) -> None:
    here, there = hosts
    may_finish = threading.Event()
    seen_running = threading.Event()

    def work(job_id: str) -> None:
        record = here.get(job_id)
        assert record is not None
        here.save(replace(record, status="running", processed=2, cursor=2))
        seen_running.set()
        may_finish.wait(30)
        errors = [{"line": 3, "reason": "text is required"}]
        here.save(replace(record, status="done", processed=2, failed=1, errors=errors))

    accepted = here.submit(3, work, payload=b"rows", kind="rows")
    try:
        queued_or_running = there.get(accepted.job_id)
        assert queued_or_running is not None
        assert queued_or_running.status in ("queued", "running")
        assert seen_running.wait(30)
        running = there.get(accepted.job_id)
        assert running is not None
        assert (running.status, running.processed) == ("running", 2)
    finally:
        may_finish.set()
    here.wait_idle()
    done = there.get(accepted.job_id)
    assert done is not None
    assert done.to_json() == {
        "job_id": accepted.job_id,
        "status": "done",
        "total": 3,
        "processed": 2,
        "failed": 1,
        "errors": [{"line": 3, "reason": "text is required"}],
    }
    # The payload is not shared: only the accepting host could resume the job.
    assert there.payload(accepted.job_id) is None
    assert there.get(uuid.uuid4().hex) is None  # no such job anywhere: 404


def test_a_record_too_long_for_milvus_is_shared_without_its_row_errors(
    hosts: tuple[JobRegistry, JobRegistry],
) -> None:
    here, there = hosts
    errors = [{"line": n, "reason": "x" * 4000} for n in range(40)]
    record = JobRecord(job_id=uuid.uuid4().hex, status="done", total=40, failed=40, errors=errors)
    here.save(record)
    shared = there.get(record.job_id)
    assert shared is not None
    assert (shared.status, shared.failed, shared.errors) == ("done", 40, [])


def test_a_record_milvus_refused_is_written_again_once_it_is_back(
    records_settings: Settings, tmp_path: Path
) -> None:
    # A host whose Milvus is unreachable for now: its records wait, and go out when it is back.
    down = get_settings(**{**records_settings.model_dump(), "milvus_port": free_port()})
    down = down.model_copy(update={"milvus_timeout_s": 0.3})
    records = MilvusJobRecords(down)
    here = JobRegistry(tmp_path / "host-a", shared=records)
    record = JobRecord(job_id=uuid.uuid4().hex, status="done", total=1, processed=1)
    here.save(record)  # the local write stands; the shared one is refused, not raised
    assert here.get(record.job_id) is not None
    assert here.share_pending() == 1
    with pytest.raises(BackendUnavailable):
        records.get(record.job_id)  # a host asking Milvus when it is down: 503, not 404
    records._settings = records_settings  # Milvus is back (the same store, reachable now)
    assert here.share_pending() == 0
    there = JobRegistry(tmp_path / "host-b", shared=MilvusJobRecords(records_settings))
    shared = there.get(record.job_id)
    assert shared is not None and shared.status == "done"
    here.close()
    there.close()
