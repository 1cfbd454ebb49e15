"""Unexpected errors: a fault injected into the core answers exactly the documented 500
(docs/failure-behaviour.md).

Both in-process twins are built over the session's real model and Milvus, each wrapped so
that one call raises an error the apps know nothing of, with internals in its message (a
path, a trace-like line). Every endpoint that reaches the faulty call must answer 500
``{"detail":"Internal Server Error"}`` as JSON, with nothing of the error in it, and the
trace must reach the server log. An ingest job stopped by such an error reads ``failed``
with a message that shows none of it either.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from reliability_support import DIM, leaks
from support import TWIN_PARAMS, wait_for_job

import fastapi_app
import flask_app
from shared import service as service_module
from shared.documents import Document, NewDocument, SearchHit
from shared.embedder import Embedder, Vectors
from shared.jobs import UNEXPECTED_JOB_ERROR
from shared.service import SearchService
from shared.vector_store import VectorStore

if TYPE_CHECKING:
    from conftest import AppClient

SECRET = 'File "/srv/twinbench/shared/secret.py", line 7, in <module>'
INTERNAL_ERROR = {"detail": "Internal Server Error"}


class InjectedFault(Exception):
    """An error no layer of the apps knows: what a bug looks like to them."""


class FaultyEmbedder:
    """The real model, except that encoding raises."""

    def __init__(self, real: Embedder) -> None:
        self.name = real.name
        self.dimension = real.dimension
        self.runtime = real.runtime

    def encode(self, texts: Sequence[str]) -> Vectors:
        raise InjectedFault(f"encode failed: {SECRET}")


class FaultyStore:
    """The real collection for flushes and closing; every read or write raises."""

    def __init__(self, real: VectorStore) -> None:
        self._real = real

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise InjectedFault(f"store failed: {SECRET}")

    def upsert(self, documents: Sequence[NewDocument], vectors: Vectors) -> None:
        self._fail()

    def get(self, doc_id: str) -> Document | None:
        return self._fail()  # type: ignore[no-any-return]

    def delete(self, doc_id: str) -> bool:
        return self._fail()  # type: ignore[no-any-return]

    def wait_visible(self) -> None:
        self._fail()

    def count(self, *, strong: bool = False) -> int:
        return self._fail()  # type: ignore[no-any-return]

    def search(
        self, vector: Sequence[float], *, top_k: int, tags: Sequence[str] | None
    ) -> list[SearchHit]:
        return self._fail()  # type: ignore[no-any-return]

    def flush(self) -> None:
        self._fail()

    def describe(self) -> str:
        return self._real.describe()

    def close(self) -> None:
        """The real store belongs to the session."""


class FlushFaultStore(FaultyStore):
    """The real collection, except that the flush at a job's end raises."""

    def upsert(self, documents: Sequence[NewDocument], vectors: Vectors) -> None:
        self._real.upsert(documents, vectors)


def _twin_over(
    request: pytest.FixtureRequest,
    pytestconfig: pytest.Config,
    service: SearchService,
    *,
    embedder: Embedder,
    store: VectorStore,
) -> Iterator[AppClient]:
    """The twin ``request.param`` names over the session's core with ``embedder`` and
    ``store`` swapped in (FastAPI: crashes become replies)."""
    broken = SearchService(
        settings=service.settings, embedder=embedder, store=store, jobs=service.jobs
    )
    root = pytestconfig.pluginmanager.get_plugin(
        str(Path(__file__).resolve().parent.parent / "conftest.py")
    )
    if request.param == "flask":
        yield root.flask_client(flask_app.create_app(broken.settings, broken))
    else:
        app = fastapi_app.create_app(broken.settings, broken)
        with TestClient(app, raise_server_exceptions=False) as test_client:
            yield root.fastapi_client(test_client)


@pytest.fixture(params=TWIN_PARAMS)
def faulty(
    request: pytest.FixtureRequest, service: SearchService, pytestconfig: pytest.Config
) -> Iterator[AppClient]:
    """A twin over the real core with the fault injected into the model and the store."""
    yield from _twin_over(
        request,
        pytestconfig,
        service,
        embedder=FaultyEmbedder(service.embedder),
        store=FaultyStore(service.store),
    )


@pytest.fixture(params=TWIN_PARAMS)
def faulty_flush(
    request: pytest.FixtureRequest, service: SearchService, pytestconfig: pytest.Config
) -> Iterator[AppClient]:
    """A twin over the real core whose flush, at the end of a job, raises."""
    yield from _twin_over(
        request,
        pytestconfig,
        service,
        embedder=service.embedder,
        store=FlushFaultStore(service.store),
    )


FAULTY_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/health", {}),
    ("POST", "/search", {"json": {"query": "anything"}}),
    ("POST", "/search/vector", {"json": {"vector": [0.5] * DIM}}),
    ("POST", "/documents", {"json": {"text": "a document"}}),
    ("POST", "/documents/batch", {"json": {"documents": [{"text": "a document"}]}}),
    ("GET", "/documents/some-document", {}),
    ("DELETE", "/documents/some-document", {}),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    FAULTY_REQUESTS,
    ids=[f"{method} {path}" for method, path, _ in FAULTY_REQUESTS],
)
def test_injected_fault_answers_exactly_the_500_body_and_logs_the_trace(
    faulty: AppClient,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    kwargs: dict[str, Any],
) -> None:
    caplog.set_level(logging.ERROR)
    reply = faulty.request(method, path, **kwargs)
    assert reply.status_code == 500, reply.content[:300]
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == INTERNAL_ERROR
    assert not leaks(reply.content), reply.content[:300]
    traced = [r for r in caplog.records if r.exc_info and r.exc_info[0] is InjectedFault]
    assert traced, [r.getMessage() for r in caplog.records]
    assert f"unhandled error on {method} {path}" in traced[0].getMessage()


def _finished_job(twin: AppClient, rows: list[dict[str, str]]) -> dict[str, Any]:
    """The job of ``rows`` once it has ended, without its id."""
    reply = twin.post("/ingest", json=rows)
    assert reply.status_code == 202, reply.content[:300]
    job_id = reply.json()["job_id"]
    job = wait_for_job(twin, job_id)
    assert job.pop("job_id") == job_id
    return job


def test_a_fault_in_a_jobs_batch_is_the_rows_error_and_the_job_goes_on(
    faulty: AppClient,
) -> None:
    job = _finished_job(faulty, [{"id": f"fault-{uuid.uuid4().hex[:8]}", "text": "x"}])
    assert job == {
        "status": "done",
        "total": 1,
        "processed": 0,
        "failed": 1,
        "errors": [{"line": 1, "reason": "the row could not be embedded or stored"}],
    }


def test_ingest_job_stopped_by_an_injected_fault_fails_with_the_generic_message(
    faulty_flush: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The flush, which no one expects to fail this way, stops the job after its row was
    # stored (a job of one row is flushed here: a real one needs FLUSH_MIN_ROWS).
    monkeypatch.setattr(service_module, "FLUSH_MIN_ROWS", 1)
    job = _finished_job(faulty_flush, [{"id": f"fault-{uuid.uuid4().hex[:8]}", "text": "x"}])
    assert job == {
        "status": "failed",
        "total": 1,
        "processed": 1,
        "failed": 0,
        "errors": [],
        "message": UNEXPECTED_JOB_ERROR,
    }
    assert not leaks(str(job).encode())
