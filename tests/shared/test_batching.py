"""Both twins with search batching on (issue 12), over the real model and Milvus.

With batching on, /search answers what it answers with batching off (statuses and bodies,
``took_ms`` aside); concurrent requests share a model call (the FastAPI twin's wait on the
event loop and take no threadpool thread); a full queue answers 503 with Retry-After, the
same from both twins, as both OpenAPI documents say. Batching off is the rest of the suite.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import TWIN_PARAMS

import fastapi_app
import flask_app
from shared.config import Settings, get_settings
from shared.documents import NewDocument
from shared.embedder import Embedder, Vectors
from shared.servers import served_env
from shared.service import SearchService

WAIT_S = 60.0
BLOCKER = "the search that holds the worker inside the model"


class HeldModel:
    """The real model; a call holding BLOCKER waits until the test releases it."""

    def __init__(self, model: Embedder) -> None:
        self.model = model
        self.name = model.name
        self.dimension = model.dimension
        self.runtime = model.runtime
        self.calls: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        if BLOCKER in texts:
            self.entered.set()
            assert self.release.wait(WAIT_S), "the test never released the worker"
        return self.model.encode(texts)


def batched(
    service: SearchService, embedder: Embedder | None = None, **options: Any
) -> SearchService:
    """The session's model and collection behind settings with search batching on."""
    settings = get_settings(**{**service.settings.model_dump(), "search_batching": True, **options})
    return SearchService(
        settings=settings,
        embedder=embedder or service.embedder,
        store=service.store,
        jobs=service.jobs,
    )


@contextmanager
def poster(twin: str, service: SearchService) -> Iterator[Callable[[Any], tuple[int, Any, Any]]]:
    """POST /search on a twin over ``service``, callable from many threads at once."""
    try:
        if twin == "flask":
            app = flask_app.create_app(service.settings, service)

            def post_flask(body: Any) -> tuple[int, Any, Any]:
                reply = app.test_client().post("/search", json=body)
                return reply.status_code, reply.headers, reply.get_json()

            yield post_flask
        else:
            with TestClient(fastapi_app.create_app(service.settings, service)) as client:

                def post_fastapi(body: Any) -> tuple[int, Any, Any]:
                    reply = client.post("/search", json=body)
                    return reply.status_code, reply.headers, reply.json()

                yield post_fastapi
    finally:
        if service.batcher is not None:
            service.batcher.close(timeout_s=WAIT_S)  # the store is the session's: left open


def hold(service: SearchService, model: HeldModel) -> Any:
    """Put the worker inside the model with BLOCKER; returns the blocker's future."""
    assert service.batcher is not None
    blocker = service.batcher.submit(BLOCKER, top_k=1)
    assert model.entered.wait(WAIT_S), "the worker never took the blocker"
    return blocker


def wait_queued(service: SearchService, searches: int) -> None:
    assert service.batcher is not None
    deadline = time.monotonic() + WAIT_S
    while service.batcher.queued()[0] != searches:
        assert time.monotonic() < deadline, f"queued {service.batcher.queued()}"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def tagged(service: SearchService) -> str:
    tag = f"batching-{uuid.uuid4().hex[:10]}"
    texts = [
        "Pruning roses in late winter encourages strong new growth.",
        "A sharp pair of secateurs makes clean cuts on woody stems.",
        "Compost improves clay soil structure and drainage.",
        "Aphids gather on tender rose shoots in early spring.",
    ]
    service.add_documents(
        [NewDocument(id=f"{tag}-{n}", text=text, tags=(tag,)) for n, text in enumerate(texts)]
    )
    service.store.wait_visible()
    return tag


@pytest.mark.parametrize("twin", TWIN_PARAMS)
def test_batched_search_answers_exactly_what_unbatched_search_answers(
    twin: str, service: SearchService, tagged: str
) -> None:
    bodies: list[Any] = [
        {"query": "when to prune roses", "top_k": 3, "tags": [tagged]},
        {"query": "  improving heavy soil  ", "tags": [tagged, "no-such-tag"]},
        {"query": "insects on roses", "top_k": 1, "tags": [tagged]},
        {"query": "nothing carries this tag", "tags": [f"{tagged}-none"]},
        {"query": ""},
        {"query": "x", "top_k": 0},
        {"top_k": 5},
        ["not", "an", "object"],
    ]
    with poster(twin, service) as unbatched, poster(twin, batched(service)) as post:
        for body in bodies:
            want_status, _, want = unbatched(body)
            got_status, _, got = post(body)
            assert got_status == want_status, body
            for reply in (want, got):
                if isinstance(reply, dict):
                    reply.pop("took_ms", None)
            assert got == want, body


@pytest.mark.parametrize("twin", TWIN_PARAMS)
def test_concurrent_searches_share_one_model_call(
    twin: str, service: SearchService, tagged: str
) -> None:
    # One thread for blocking work: a FastAPI /search that held a threadpool thread while it
    # waited would let only one request at a time reach the queue.
    model = HeldModel(service.embedder)
    one_thread = batched(service, model, blocking_threads=1)
    queries = [f"roses and soil, question {n}" for n in range(12)]
    with poster(twin, one_thread) as post:
        blocker = hold(one_thread, model)
        with ThreadPoolExecutor(len(queries)) as pool:
            replies = [
                pool.submit(post, {"query": q, "top_k": 2, "tags": [tagged]}) for q in queries
            ]
            wait_queued(one_thread, len(queries))
            model.release.set()
            assert blocker.result(WAIT_S) is not None
            answered = [reply.result(WAIT_S) for reply in replies]
        assert [status for status, _, _ in answered] == [200] * len(queries)
        assert all(len(body["results"]) == 2 for _, _, body in answered)
        assert [sorted(call) for call in model.calls[1:]] == [sorted(queries)]
        stats = one_thread.batch_stats()
        assert stats is not None and stats["sizes"] == {"1": 1, str(len(queries)): 1}


def test_a_full_queue_answers_503_with_retry_after_from_both_twins(
    service: SearchService,
) -> None:
    model = HeldModel(service.embedder)
    bounded = batched(service, model, search_queue_bound=1)
    assert bounded.batcher is not None
    answers = {}
    try:
        blocker = hold(bounded, model)
        queued = bounded.batcher.submit("fills the queue", top_k=1)
        flask = flask_app.create_app(bounded.settings, bounded).test_client()
        reply = flask.post("/search", json={"query": "one too many"})
        answers["flask"] = (reply.status_code, reply.headers, reply.get_json())
        with TestClient(fastapi_app.create_app(bounded.settings, bounded)) as fastapi:
            response = fastapi.post("/search", json={"query": "one too many"})
            answers["fastapi"] = (response.status_code, response.headers, response.json())
        model.release.set()
        assert blocker.result(WAIT_S) is not None and queued.result(WAIT_S) is not None
    finally:
        model.release.set()
        bounded.batcher.close(timeout_s=WAIT_S)
    for status, headers, body in answers.values():
        assert status == 503
        assert int(headers["Retry-After"]) >= 1
        assert headers["content-type"].startswith("application/json")
        assert body == {
            "detail": "too many searches are waiting for the model (the bound is 1); "
            "try again shortly"
        }


def test_both_openapi_documents_describe_the_503_of_search_with_retry_after(
    both: tuple[Any, Any],
) -> None:
    documents = [client.get("/openapi.json").json() for client in both]
    described = [doc["paths"]["/search"]["post"]["responses"]["503"] for doc in documents]
    assert described[0] == described[1]
    assert described[0]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    # Only /search queues for the model: the other 503s carry no Retry-After.
    assert all(
        "headers" not in doc["paths"]["/search/vector"]["post"]["responses"]["503"]
        for doc in documents
    )


def test_the_service_batches_by_default_and_what_we_start_does_not(
    settings: Settings, service: SearchService
) -> None:
    assert Settings().search_batching is True
    # The session's core, and every server the bench and tests start, encode each search
    # alone unless they ask for the batcher (the labs': tests/workshop/test_workshop.py).
    assert settings.search_batching is False and service.batcher is None
    assert served_env()["TWINBENCH_SEARCH_BATCHING"] == "0"
    assert served_env(TWINBENCH_SEARCH_BATCHING="1")["TWINBENCH_SEARCH_BATCHING"] == "1"
