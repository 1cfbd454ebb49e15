"""Ingest jobs: a registry on disk that every worker process shares, and a runner thread.

A job's record is a JSON file under ``<data_dir>/jobs/<collection>/``, rewritten atomically
after every batch, so any worker (gunicorn runs several) can answer ``GET /ingest/{id}``.
What a job ingests (its payload) is written to disk, and synced, before the job is
acknowledged, so an accepted job survives its process: a server that stops (SIGTERM: the
runner finishes the chunk in hand and leaves the rest queued) or dies (SIGKILL, a crash) is
followed by one that resumes the job from the last chunk it recorded (:meth:`JobRegistry.
resume_orphans`). Rows counted as processed were acknowledged by Milvus before the count was
written, and rows are upserted by id, so a chunk run twice stores each row once. Only a job
whose payload is missing (written by an older version) is reported ``interrupted``.

Several hosts: given a shared store (:mod:`shared.job_records`, in Milvus), every record is
also written there on each state change, and a host with no file for a job reads the job
there, as last recorded; its payload stays on the accepting host, which alone resumes it. A
record the shared store refused (Milvus down) is written there again by the runner thread.
"""

from __future__ import annotations

import contextlib
import fcntl
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
from typing import Any, Literal, Protocol

from shared.errors import CoreError

__all__ = [
    "JobPaused",
    "JobRecord",
    "JobRegistry",
    "JobStatus",
    "SharedJobRecords",
    "UNEXPECTED_JOB_ERROR",
]

log = logging.getLogger(__name__)
# What a client reads of a job stopped by an unexpected error; the trace goes to the log.
UNEXPECTED_JOB_ERROR = "the job stopped on an unexpected error; the server log has the details"

JobStatus = Literal["queued", "running", "done", "failed", "interrupted"]
_JOB_ID_CHARS = set("0123456789abcdef")
# How long close() waits for the chunk in hand (a chunk is seconds of model work at most).
CLOSE_WAIT_S = 60.0


class SharedJobRecords(Protocol):
    """Where every host reads the jobs of the others (:class:`shared.job_records.
    MilvusJobRecords`): records as JSON objects; failures raise BackendUnavailable."""

    def connect(self) -> None: ...
    def put(self, record: dict[str, Any]) -> None: ...
    def get(self, job_id: str) -> dict[str, Any] | None: ...
    def close(self) -> None: ...


class JobPaused(Exception):
    """Raised by a job's work between chunks when the registry is closing: the job is left
    queued, where it stopped, for the next server to resume."""


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
    # Where the job stands in its rows (every row before it is processed or failed), what
    # its payload is ("upload" or "rows") and an upload's file name.
    cursor: int = 0
    kind: str = ""
    filename: str | None = None

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

    def __init__(self, directory: Path, *, shared: SharedJobRecords | None = None) -> None:
        self._dir = directory
        self._shared = shared
        # The latest record of each job that the shared store refused, to write again.
        self._unshared: dict[str, JobRecord] = {}
        self._unshared_lock = threading.Lock()
        self._dir.mkdir(parents=True, exist_ok=True)
        self._queue: queue.Queue[tuple[str, Callable[[str], None]]] = queue.Queue()
        self._runner: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closing = threading.Event()

    def _path(self, job_id: str) -> Path:
        return self._dir / f"{job_id}.json"

    def payload_path(self, job_id: str) -> Path:
        return self._dir / f"{job_id}.payload"

    def save(self, record: JobRecord) -> None:
        record = replace(record, updated_at=time.time())
        tmp = self._path(record.job_id).with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(record)))
        os.replace(tmp, self._path(record.job_id))  # atomic: readers never see half a file
        if record.status in ("done", "failed"):
            self.payload_path(record.job_id).unlink(missing_ok=True)
        self._share(record)

    def _share(self, record: JobRecord) -> None:
        """Write the record to the shared store; kept for the runner to retry if refused."""
        if self._shared is None:
            return
        try:
            self._shared.put(asdict(record))
        except CoreError as exc:
            log.warning("job %s: the other hosts read its previous state (%s)", record.job_id, exc)
            with self._unshared_lock:
                self._unshared[record.job_id] = record
        else:
            # A job's records are saved one after another: this one replaces any refused.
            with self._unshared_lock:
                self._unshared.pop(record.job_id, None)

    def share_pending(self) -> int:
        """Write again the records the shared store refused; returns how many are left."""
        with self._unshared_lock:
            pending = list(self._unshared.values())
        for record in pending:
            try:
                assert self._shared is not None, "nothing is pending without a shared store"
                self._shared.put(asdict(record))
            except CoreError:
                break  # still down: the next round tries again
            with self._unshared_lock:
                if self._unshared.get(record.job_id) is record:
                    del self._unshared[record.job_id]
        with self._unshared_lock:
            return len(self._unshared)

    def _write_payload(self, job_id: str, payload: bytes) -> None:
        """The payload on disk, synced, before the job is acknowledged: a crash of the
        process, or of the machine, cannot take an accepted job with it."""
        tmp = self.payload_path(job_id).with_suffix(".payload-tmp")
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.payload_path(job_id))

    def payload(self, job_id: str) -> bytes | None:
        try:
            return self.payload_path(job_id).read_bytes()
        except OSError:
            return None

    def stopping(self) -> bool:
        """True once the registry is closing: a job's work stops at the next chunk."""
        return self._closing.is_set()

    def get(self, job_id: str) -> JobRecord | None:
        # Job ids are our own uuid4 hex; anything else cannot name a file of ours.
        if len(job_id) != 32 or not set(job_id) <= _JOB_ID_CHARS:
            return None
        try:
            record = JobRecord(**json.loads(self._path(job_id).read_text()))
        except FileNotFoundError:
            return self._get_shared(job_id)
        except (OSError, ValueError, TypeError):
            return None
        if record.status in ("queued", "running") and not self._owner_alive(record.owner):
            if self.payload_path(job_id).exists():
                # Its payload is safe on disk: the next server to start resumes it.
                return replace(record, status="queued")
            record = replace(
                record,
                status="interrupted",
                message="the server process running this job stopped before it finished; "
                "submit the same data again to finish it (ids are upserted)",
            )
            with contextlib.suppress(OSError):
                self.save(record)
        return record

    def _get_shared(self, job_id: str) -> JobRecord | None:
        """A job another host accepted, as it last recorded it (its owner is not ours to
        judge: a record left ``running`` by a host that died reads so until it restarts)."""
        if self._shared is None:
            return None
        data = self._shared.get(job_id)  # BackendUnavailable: the answer is 503, not 404
        if data is None:
            return None
        try:
            return JobRecord(**data)
        except TypeError:
            return None

    @staticmethod
    def _owner_alive(owner: str) -> bool:
        pid_text, _, _ = owner.partition(":")
        if not pid_text.isdigit():
            return False
        return _process_token(int(pid_text)) == owner

    def submit(
        self,
        total: int,
        work: Callable[[str], None],
        *,
        payload: bytes | None = None,
        kind: str = "",
        filename: str | None = None,
    ) -> JobRecord:
        """Record a queued job and hand ``work(job_id)`` to this process's runner thread.

        With a ``payload``, the job is resumable: the payload is on disk before this returns.
        """
        now = time.time()
        record = JobRecord(
            job_id=uuid.uuid4().hex,
            status="queued",
            total=total,
            created_at=now,
            updated_at=now,
            owner=_process_token(os.getpid()),
            kind=kind,
            filename=filename,
        )
        if payload is not None:
            self._write_payload(record.job_id, payload)
        self.save(record)
        self._enqueue(record.job_id, work)
        return record

    def resume_orphans(self, work: Callable[[str], None]) -> list[str]:
        """Take over the queued and running jobs whose process is gone and whose payload is
        on disk, and queue ``work(job_id)`` for each here (it reads the job's record and
        payload). Returns their ids. Several processes starting at once each take a job at
        most once: the claim is made under a lock on the directory."""
        resumed: list[str] = []
        with open(self._dir / ".claim.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for path in sorted(self._dir.glob("*.json"), key=lambda p: p.stat().st_mtime):
                try:
                    record = JobRecord(**json.loads(path.read_text()))
                except (OSError, ValueError, TypeError):
                    continue
                if record.status not in ("queued", "running") or self._owner_alive(record.owner):
                    continue
                if not self.payload_path(record.job_id).exists():
                    continue  # reported interrupted by get()
                mine = replace(record, status="queued", owner=_process_token(os.getpid()))
                self.save(mine)
                self._enqueue(mine.job_id, work)
                resumed.append(mine.job_id)
        for job_id in resumed:
            log.info("resumed ingest job %s of a server that stopped", job_id)
        return resumed

    def _enqueue(self, job_id: str, work: Callable[[str], None]) -> None:
        self._queue.put((job_id, work))
        self._ensure_runner()

    def _ensure_runner(self) -> None:
        with self._start_lock:
            if self._runner is None or not self._runner.is_alive():
                # Started lazily: a forked worker inherits no threads from its parent.
                self._runner = threading.Thread(
                    target=self._run_forever, name="ingest-runner", daemon=True
                )
                self._runner.start()

    def _run_forever(self) -> None:
        while not self._closing.is_set():
            try:
                job_id, work = self._queue.get(timeout=0.5)
            except queue.Empty:
                if self._unshared:
                    self.share_pending()
                continue
            try:
                if not self._closing.is_set():
                    work(job_id)
            except JobPaused:
                log.info("ingest job %s paused for shutdown; the next server resumes it", job_id)
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
        """Block until every submitted job has finished (tests)."""
        self._queue.join()

    def close(self, wait_s: float = CLOSE_WAIT_S) -> None:
        """Stop taking jobs: the one running stops after its chunk in hand, and it and the
        queued ones stay queued on disk for the next server (graceful shutdown)."""
        self._closing.set()
        runner = self._runner
        if runner is not None and runner is not threading.current_thread():
            runner.join(wait_s)
        if self._shared is not None:
            if self._unshared and self.share_pending():
                log.warning("the other hosts read an earlier state of some jobs (Milvus down)")
            self._shared.close()
