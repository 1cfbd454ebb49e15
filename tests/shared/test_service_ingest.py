"""Ingest jobs through the real service: a batch that fails costs its own rows and no others."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

import pytest

from shared import service as service_module
from shared.config import Settings
from shared.embedder import Embedder, Vectors
from shared.jobs import JobRegistry
from shared.service import INGEST_BATCH, SearchService
from shared.vector_store import VectorStore

POISON = "this text makes the model fail"


class FailsOnPoison:
    """The real model, except that a batch holding POISON raises, as a model error would.

    Fault injection, not a stub: every other batch is embedded by the real model and stored
    in the real Milvus.
    """

    def __init__(self, model: Embedder) -> None:
        self.model = model
        self.name = model.name
        self.dimension = model.dimension
        self.runtime = model.runtime

    def encode(self, texts: Sequence[str]) -> Vectors:
        if POISON in texts:
            raise RuntimeError("the model failed on this batch")
        return self.model.encode(texts)


@pytest.fixture
def faulty_service(
    settings: Settings, service: SearchService, tmp_path_factory: pytest.TempPathFactory
) -> SearchService:
    return SearchService(
        settings=settings,
        embedder=FailsOnPoison(service.embedder),
        store=service.store,
        jobs=JobRegistry(tmp_path_factory.mktemp("faulty-jobs")),
    )


def test_a_failed_batch_reports_exactly_its_valid_rows_and_the_job_goes_on(
    faulty_service: SearchService,
) -> None:
    prefix = f"batchfail-{uuid.uuid4().hex[:8]}"
    # Batch 1 (lines 1..INGEST_BATCH): one invalid row (line 2), the poison (line 3), the
    # rest valid. Batch 2: five valid rows.
    rows: list[object] = [
        {"id": f"{prefix}-{n}", "text": f"paragraph number {n} about gardening"}
        for n in range(1, INGEST_BATCH + 6)
    ]
    rows[1] = {"id": f"{prefix}-2", "text": "   "}
    rows[2] = {"id": f"{prefix}-3", "text": POISON}
    try:
        faulty_service.jobs.wait_idle()
        job = faulty_service.submit_documents(rows)
        faulty_service.jobs.wait_idle()

        record = faulty_service.ingest_status(job.job_id)
        assert record is not None
        assert record.status == "done", record
        assert record.total == INGEST_BATCH + 5
        assert record.processed == 5  # batch 2 only
        assert record.failed == INGEST_BATCH  # all of batch 1: one invalid, the rest unstored
        by_line = {error["line"]: error["reason"] for error in record.errors}
        assert by_line[2] == "text is required and must not be blank"
        unstored = sorted(line for line, reason in by_line.items() if "could not be" in reason)
        shown = faulty_service.settings.max_reported_row_errors
        assert unstored == [1, *range(3, INGEST_BATCH + 1)][: shown - 1]

        store = faulty_service.store
        assert store.get(f"{prefix}-1") is None
        assert store.get(f"{prefix}-{INGEST_BATCH + 1}") is not None
    finally:
        faulty_service.store.delete_id_prefix(f"{prefix}-")


class CountsFlushes:
    """The session's real store, counting the flushes it is asked for."""

    def __init__(self, real: VectorStore) -> None:
        self._real = real
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        self._real.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.mark.parametrize(
    ("backend", "rows", "flushes"),
    [
        ("milvus", 2, 0),  # under FLUSH_MIN_ROWS (3 here): nothing Milvus would index
        ("milvus", 3, 1),
        ("milvus-lite", 2, 1),  # lite scans unflushed rows on every search: always sealed
    ],
)
def test_a_job_is_flushed_only_when_its_rows_would_be_indexed_or_on_milvus_lite(
    settings: Settings,
    service: SearchService,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    rows: int,
    flushes: int,
) -> None:
    monkeypatch.setattr(service_module, "FLUSH_MIN_ROWS", 3)
    store = CountsFlushes(service.store)
    counted = SearchService(
        settings=settings.model_copy(update={"milvus_backend": backend}),
        embedder=service.embedder,
        store=cast(VectorStore, store),
        jobs=JobRegistry(tmp_path_factory.mktemp("flush-jobs")),
    )
    prefix = f"flush-{uuid.uuid4().hex[:8]}"
    ids = [f"{prefix}-{n}" for n in range(rows)]
    try:
        job = counted.submit_documents([{"id": i, "text": f"note {i} on tides"} for i in ids])
        counted.jobs.wait_idle()
        record = counted.ingest_status(job.job_id)
        assert record is not None and record.status == "done" and record.processed == rows
        assert store.flushes == flushes
        # Flushed or not, "done" means every row is readable at once.
        assert all(service.store.get(i) is not None for i in ids)
    finally:
        for i in ids:
            service.store.delete(i)
