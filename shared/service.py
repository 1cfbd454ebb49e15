"""The search service: what both apps call. Embed, store, search, and run ingest jobs.

Data flows one way: an app validates a request, calls one method here, and serialises what
comes back. Nothing here knows about HTTP; failures are :mod:`shared.errors` types.
"""

from __future__ import annotations

import gc
import hmac
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import anyio.to_thread
import numpy as np

from shared.batcher import SearchBatcher
from shared.config import Settings, get_settings
from shared.documents import (
    Document,
    NewDocument,
    RowError,
    SearchResult,
    new_document_id,
    validate_row,
)
from shared.embed_runtime import load_embedder
from shared.embedder import Embedder, Vectors
from shared.errors import BackendUnavailable, UnservableRequest
from shared.health import HealthCache
from shared.ingest import ParsedRow, parse_json_list, parse_upload
from shared.job_records import MilvusJobRecords
from shared.jobs import JobPaused, JobRecord, JobRegistry
from shared.vector_store import MilvusVectorStore, VectorStore

__all__ = ["SearchService", "build_document", "shared_job_records"]

log = logging.getLogger(__name__)

INGEST_BATCH = 64
# An ingest job that stored at least this many rows is flushed at its end: Milvus's own
# threshold for indexing a sealed segment (queryNode minSegmentNumRowsToEnableIndex).
FLUSH_MIN_ROWS = 1024
# The 503 of /health names what the client asked for (a health check), not the store's count,
# in the words of the store's other 503s.
HEALTH_UNAVAILABLE = (
    "Milvus did not answer the health check in time or is unreachable; try again shortly"
)
# An ingest job rides out a Milvus blip this long before it gives up.
INGEST_RETRY_S = 30.0
# Why /search/vector refuses a vector (the OpenAPI documents state the rule as NOT_ALL_ZERO).
NO_DIRECTION = (
    "vector must have a non-zero component (cosine similarity is undefined for a zero vector)"
)


def build_document(
    *, id: str | None, text: str, title: str | None = None, tags: Sequence[str] | None = None
) -> NewDocument:
    """A document from validated request fields; the id is generated when absent."""
    return NewDocument(
        id=id or new_document_id(), text=text, title=title or "", tags=tuple(tags or ())
    )


class SearchService:
    """One per worker process: the model, the Milvus collection and the ingest job registry,
    and, with ``search_batching`` on, the batcher that text searches go through."""

    def __init__(
        self, *, settings: Settings, embedder: Embedder, store: VectorStore, jobs: JobRegistry
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.jobs = jobs
        self._health = HealthCache(self._check_health)
        self.batcher = (
            SearchBatcher.from_settings(settings, embedder=embedder, store=store)
            if settings.search_batching
            else None
        )

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> SearchService:
        """Load the model and open the collection; starts even when Milvus is down (503s)."""
        settings = settings or get_settings()
        embedder = load_embedder(settings)
        store = MilvusVectorStore(settings=settings, dimension=embedder.dimension)
        try:
            store.connect()
        except BackendUnavailable as exc:
            log.warning("starting without Milvus (%s); requests answer 503 until it is back", exc)
        jobs = JobRegistry(
            settings.data_dir / "jobs" / settings.collection, shared=shared_job_records(settings)
        )
        service = cls(settings=settings, embedder=embedder, store=store, jobs=jobs)
        service.resume_ingest_jobs()
        return service

    @classmethod
    def for_server(cls, settings: Settings | None = None) -> SearchService:
        """:meth:`from_settings` for a server worker, which keeps the service for its life.

        What it loaded (the model and its libraries: 306,000 objects the collector tracks,
        six times a bare app's, counted 2026-12-04 with the ONNX runtime) is frozen out of
        the garbage collector's full collections, each a pause that stops every request in
        the process (the event loop, in the FastAPI twin).
        """
        service = cls.from_settings(settings)
        gc.freeze()
        return service

    def close(self) -> None:
        # The ingest job in hand finishes its chunk first, while Milvus is still open; the
        # rest stays queued on disk for the next server.
        self.jobs.close()
        if self.batcher is not None:
            self.batcher.close()  # answers the searches queued, while Milvus is still open
        self.store.close()

    def accepts_api_key(self, given: str | None) -> bool:
        """Whether a write may proceed: always when no key is configured."""
        expected = self.settings.api_key
        if not expected:
            return True
        # compare_digest: the time taken does not reveal how much of the key was right.
        return given is not None and hmac.compare_digest(given.encode(), expected.encode())

    # --- reads --------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """The body of GET /health; raises BackendUnavailable when Milvus cannot be reached.

        Cached (see :mod:`shared.health`): at most one caller at a time asks Milvus for the
        count, and may block on it; the others are served the last body meanwhile, within a
        bound. A failure is never cached.
        """
        return self._health.get()

    def cached_health(self) -> dict[str, Any] | None:
        """The /health body if it can be served now without I/O or waiting, else None.

        None means: call :meth:`health`, which may block (on Milvus, or on the refresh in
        flight), so an event loop calls it in a thread.
        """
        return self._health.peek()

    def unavailable_health(self, exc: BackendUnavailable) -> dict[str, Any]:
        """The body of /health's 503: why Milvus could not be counted, and the model served."""
        return {
            "status": "unavailable",
            "detail": str(exc),
            "model": self.embedder.name,
            "runtime": self.embedder.runtime,
        }

    def _check_health(self) -> dict[str, Any]:
        try:
            documents = self.store.count()
        except BackendUnavailable as exc:
            raise BackendUnavailable(HEALTH_UNAVAILABLE) from exc
        return {
            "status": "ok",
            "documents": documents,
            "model": self.embedder.name,
            "runtime": self.embedder.runtime,
            "milvus": self.store.describe(),
        }

    def get_document(self, doc_id: str) -> Document | None:
        return self.store.get(doc_id)

    def search_text(
        self, *, query: str, top_k: int, tags: Sequence[str] | None = None
    ) -> SearchResult:
        """Blocks this thread: on the model and Milvus, or on the batch this search joins."""
        if self.batcher is not None:
            return self.batcher.search(query, top_k=top_k, tags=tags)
        started = time.perf_counter()
        vector = self.embedder.encode([query])[0]
        hits = self.store.search(vector.tolist(), top_k=top_k, tags=tags)
        return SearchResult(hits=hits, took_ms=_elapsed_ms(started))

    async def search_text_async(
        self, *, query: str, top_k: int, tags: Sequence[str] | None = None
    ) -> SearchResult:
        """:meth:`search_text` for an event loop, which it never blocks.

        Batched, the search is awaited on the loop and holds no thread while it waits.
        Unbatched, :meth:`search_text` runs in anyio's worker threads under the default
        limiter: the very threadpool (and thread count) a plain ``def`` handler runs in.
        """
        if self.batcher is not None:
            return await self.batcher.search_async(query, top_k=top_k, tags=tags)
        call = partial(self.search_text, query=query, top_k=top_k, tags=tags)
        return await anyio.to_thread.run_sync(call)

    def batch_stats(self) -> dict[str, Any] | None:
        """The batch sizes formed so far and the batcher's counters; None when batching is off."""
        return None if self.batcher is None else self.batcher.stats().to_json()

    def search_vector(
        self, *, vector: Sequence[float], top_k: int, tags: Sequence[str] | None = None
    ) -> SearchResult:
        started = time.perf_counter()
        # Cosine ignores length, so normalising changes no ranking, and it keeps float32
        # from overflowing into NaN scores for large (but valid) components. Dividing by the
        # largest component first keeps the norm itself from overflowing or underflowing
        # (1e-200 squared is 0.0): any vector with a non-zero component has a direction.
        as_array = np.asarray(vector, dtype=np.float64)
        largest = float(np.max(np.abs(as_array))) if as_array.size else 0.0
        if not math.isfinite(largest) or largest == 0.0:
            raise UnservableRequest(NO_DIRECTION, field="vector")
        scaled = as_array / largest
        unit = (scaled / np.linalg.norm(scaled)).astype(np.float32).tolist()
        hits = self.store.search(unit, top_k=top_k, tags=tags)
        return SearchResult(hits=hits, took_ms=_elapsed_ms(started))

    # --- writes -------------------------------------------------------------------------
    def add_documents(self, documents: Sequence[NewDocument]) -> list[str]:
        """Embed and upsert (durable on return); ids in request order. A later duplicate wins."""
        return self._add_documents(documents, self.embedder.encode)

    def _add_documents(
        self, documents: Sequence[NewDocument], encode: Callable[[Sequence[str]], Vectors]
    ) -> list[str]:
        latest = {doc.id: doc for doc in documents}  # Milvus refuses a batch with duplicate ids
        unique = list(latest.values())
        vectors = encode([doc.text for doc in unique])
        self.store.upsert(unique, vectors)
        return [doc.id for doc in documents]

    def delete_document(self, doc_id: str) -> bool:
        return self.store.delete(doc_id)

    # --- ingest jobs --------------------------------------------------------------------
    def submit_upload(self, data: bytes, filename: str | None) -> JobRecord:
        """Queue a JSONL/CSV file, any bytes: the job reads it.

        The OpenAPI documents type the file as binary, so any bytes are accepted here; a
        file that cannot be read at all (not UTF-8, empty, a CSV without a ``text`` column)
        makes its job ``failed``, with the reason in its ``message``, as a bad row makes a
        row error. ``total`` is 0 until the job has read the file. The file is on disk
        before the job is acknowledged (see :mod:`shared.jobs`).
        """
        return self.jobs.submit(
            0, self._ingest_work, payload=data, kind="upload", filename=filename
        )

    def submit_documents(self, documents: Sequence[Any]) -> JobRecord:
        """Queue a JSON list of any values: each is validated as a row, like a file's."""
        rows = parse_json_list(documents)
        # ASCII escapes: a lone surrogate (a row error, not ours to refuse) survives the trip.
        payload = json.dumps(list(documents)).encode()
        return self.jobs.submit(len(rows), self._ingest_work, payload=payload, kind="rows")

    def ingest_status(self, job_id: str) -> JobRecord | None:
        return self.jobs.get(job_id)

    def resume_ingest_jobs(self) -> list[str]:
        """Take over the jobs a stopped server left queued or running (at start)."""
        return self.jobs.resume_orphans(self._ingest_work)

    def _ingest_work(self, job_id: str) -> None:
        """A job's work, from its payload on disk: the same for a new and a resumed job."""
        record = self.jobs.get(job_id)
        payload = self.jobs.payload(job_id)
        assert record is not None and payload is not None, "a job is saved before it is queued"
        if record.kind == "rows":
            self._run_ingest(job_id, parse_json_list(json.loads(payload)))
        else:
            self._run_ingest(job_id, payload, record.filename)

    def _run_ingest(
        self, job_id: str, rows_or_file: list[ParsedRow] | bytes, filename: str | None = None
    ) -> None:
        record = self.jobs.get(job_id)
        assert record is not None, "a job is saved before it is queued"
        # An unreadable file raises IngestError here: the runner marks the job failed with it.
        rows = (
            parse_upload(rows_or_file, filename)
            if isinstance(rows_or_file, bytes)
            else rows_or_file
        )
        record = replace(record, status="running", total=len(rows))
        self.jobs.save(record)
        # Errors of the rows before the cursor (a resumed job) are kept as they were.
        errors = [RowError(line=e["line"], reason=e["reason"]) for e in record.errors]
        failed = record.failed
        for start in range(record.cursor, len(rows), INGEST_BATCH):
            if self.jobs.stopping():
                # Shutting down: the chunks done are recorded; the rest waits, queued.
                self.jobs.save(replace(record, status="queued"))
                raise JobPaused(job_id)
            valid: list[NewDocument] = []
            valid_lines: list[int] = []  # kept so a failed batch can name its rows
            chunk_errors: list[RowError] = []
            for row in rows[start : start + INGEST_BATCH]:
                # A row without an id gets one made of the job and its line, not a random
                # one: a chunk run again after a restart upserts the same rows.
                checked = (
                    validate_row(row.fields, self.settings, default_id=f"{job_id}-{row.line}")
                    if row.fields
                    else row.problem
                )
                if isinstance(checked, NewDocument):
                    valid.append(checked)
                    valid_lines.append(row.line)
                else:
                    chunk_errors.append(RowError(line=row.line, reason=checked))
            try:
                self._load_batch_with_retry(valid)
            except BackendUnavailable:
                raise  # Milvus gone for good: the job fails, saying so
            except Exception:  # noqa: BLE001 - one bad batch must not sink the job
                log.exception("ingest job %s: a batch of %d rows failed", job_id, len(valid))
                chunk_errors += [
                    RowError(line=line, reason="the row could not be embedded or stored")
                    for line in valid_lines
                ]
                valid = []
            failed += len(chunk_errors)
            errors += chunk_errors
            record = replace(
                record,
                processed=record.processed + len(valid),
                failed=failed,
                errors=[e.to_json() for e in errors[: self.settings.max_reported_row_errors]],
                cursor=min(start + INGEST_BATCH, len(rows)),
            )
            self.jobs.save(record)
        # A job of many rows is flushed once at its end (not per batch): the sealed segment
        # gets its own index. A smaller one is not: Milvus indexes no sealed segment under
        # 1,024 rows, and searches its growing rows through an interim index anyway, so a
        # flush would cost the job about 3 s of waiting and buy nothing (measured here
        # 2026-12-04: vector searches over 5,000 sealed rows plus 64 to 4,000 unflushed
        # ones had about the same p50 before and after a flush: 2.4 against 2.2 ms with 64
        # rows unflushed, 4.4 against 4.7 with 4,000). milvus-lite scans unflushed rows on
        # every search (hundreds of ms, docs/milvus-backends.md): there every job is flushed.
        lite = self.settings.milvus_backend == "milvus-lite"
        step = "flush"
        try:
            if record.processed >= FLUSH_MIN_ROWS or (record.processed and lite):
                self.store.flush()
            step = "visibility wait"
            if record.processed:
                self.store.wait_visible()  # "done": applied by the query nodes
        except BackendUnavailable:
            log.warning("ingest job %s: rows are stored, but Milvus failed their %s", job_id, step)
        self.jobs.save(replace(record, status="done"))

    def _load_batch_with_retry(self, documents: list[NewDocument]) -> None:
        if not documents:
            return
        # With batching on, the job's texts go through the batcher, between search batches,
        # so searches do not queue behind a whole ingest batch of long paragraphs.
        encode = self.embedder.encode if self.batcher is None else self.batcher.encode_background
        deadline = time.monotonic() + INGEST_RETRY_S
        delay = 0.5
        while True:
            try:
                self._add_documents(documents, encode)
                return
            except BackendUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)


def shared_job_records(settings: Settings) -> MilvusJobRecords | None:
    """Job records in Milvus as well, with an external Milvus: twins on other hosts share it
    and nothing else. The embedded Milvus serves one host, whose disk every worker reads."""
    if settings.embedded_milvus:
        return None
    records = MilvusJobRecords(settings)
    try:
        records.connect()  # the collection made now, not in the first job's request
    except BackendUnavailable as exc:
        log.warning("job records not shared yet (%s); they are at the next write", exc)
    return records


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
