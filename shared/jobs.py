"""Ingest jobs: a registry on disk that every worker process shares, and a runner thread.

A job's record is a JSON file under ``<data_dir>/jobs/<collection>/``, rewritten atomically
after every batch, so any worker (gunicorn runs several) can answer ``GET /ingest/{id}``,
and a job whose process died (SIGKILL, crash) is reported as ``interrupted`` with how far it
got instead of "running" forever. Rows counted as processed were acknowledged by Milvus
before the count was written, so they survive the crash; re-submitting the same file
upserts the same ids and is idempotent.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from shared.errors import CoreError

__all__ = ["JobRecord", "JobRegistry", "JobStatus", "UNEXPECTED_JOB_ERROR"]

log = logging.getLogger(__name__)
# What a client reads of a job stopped by an unexpected error; the trace goes to the log.
UNEXPECTED_JOB_ERROR = "the job stopped on an unexpected error; the server log has the details"

JobStatus = Literal["queued", "running", "done", "failed", "interrupted"]
_JOB_ID_CHARS = set("0123456789abcdef")


def _process_token(pid: int) -> str:
    """pid plus the process start time, so a recycled pid is not mistaken for the owner."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return f"{pid}:{stat.rsplit(')', 1)[1].split()[19]}"
    except (OSError, IndexError):
        return f"{pid}:?"


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    status: JobStatus
    total: int
    processed: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    owner: str = ""

    def to_json(self) -> dict[str, Any]:
        """The public view of a job (the contract of ``GET /ingest/{job_id}``)."""
        body: dict[str, Any] = {
            "job_id": self.job_id,
            "status": self.status,
            "total": self.total,
            "processed": self.processed,
            "failed": self.failed,
            "errors": self.errors,
        }
        if self.message:
            body["message"] = self.message
        return body


class JobRegistry:
    """Job records on disk plus one runner thread per process that runs jobs in order."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._dir.mkdir(parents=True, exist_ok=True)
        self._queue: queue.Queue[tuple[str, Callable[[str], None]]] = queue.Queue()
        self._runner: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def _path(self, job_id: str) -> Path:
        return self._dir / f"{job_id}.json"

    def save(self, record: JobRecord) -> None:
        record = replace(record, updated_at=time.time())
        tmp = self._path(record.job_id).with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(record)))
        os.replace(tmp, self._path(record.job_id))  # atomic: readers never see half a file

    def get(self, job_id: str) -> JobRecord | None:
        # Job ids are our own uuid4 hex; anything else cannot name a file of ours.
        if len(job_id) != 32 or not set(job_id) <= _JOB_ID_CHARS:
            return None
        try:
            record = JobRecord(**json.loads(self._path(job_id).read_text()))
        except (OSError, ValueError, TypeError):
            return None
        if record.status in ("queued", "running") and not self._owner_alive(record.owner):
            record = replace(
                record,
                status="interrupted",
                message="the server process running this job stopped before it finished; "
                "submit the same data again to finish it (ids are upserted)",
            )
            with contextlib.suppress(OSError):
                self.save(record)
        return record

    @staticmethod
    def _owner_alive(owner: str) -> bool:
        pid_text, _, _ = owner.partition(":")
        if not pid_text.isdigit():
            return False
        return _process_token(int(pid_text)) == owner

    def submit(self, total: int, work: Callable[[str], None]) -> JobRecord:
        """Record a queued job and hand ``work(job_id)`` to this process's runner thread."""
        now = time.time()
        record = JobRecord(
            job_id=uuid.uuid4().hex,
            status="queued",
            total=total,
            created_at=now,
            updated_at=now,
            owner=_process_token(os.getpid()),
        )
        self.save(record)
        self._queue.put((record.job_id, work))
        self._ensure_runner()
        return record

    def _ensure_runner(self) -> None:
        with self._start_lock:
            if self._runner is None or not self._runner.is_alive():
                # Started lazily: a forked worker inherits no threads from its parent.
                self._runner = threading.Thread(
                    target=self._run_forever, name="ingest-runner", daemon=True
                )
                self._runner.start()

    def _run_forever(self) -> None:
        while True:
            job_id, work = self._queue.get()
            try:
                work(job_id)
            except Exception as exc:  # noqa: BLE001 - a job failure must not kill the runner
                # The core's own errors say what a client may read; anything else is a bug,
                # whose message may hold internals: logged with its trace, not shown.
                if isinstance(exc, CoreError):
                    message = str(exc)[:500]
                else:
                    log.exception("ingest job %s stopped on an unexpected error", job_id)
                    message = UNEXPECTED_JOB_ERROR
                record = self.get(job_id)
                if record is not None:
                    self.save(replace(record, status="failed", message=message))
            finally:
                self._queue.task_done()

    def wait_idle(self) -> None:
        """Block until every submitted job has finished (tests, graceful shutdown)."""
        self._queue.join()
