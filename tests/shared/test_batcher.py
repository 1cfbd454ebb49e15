"""The search batcher, from threads and from asyncio, over the real model and the real Milvus.

Every query is encoded by the session's model and searched in the session's Milvus; thin
wrappers record each model call and Milvus request, and where a test says so hold the
worker inside the model (so the searches a test queues meanwhile form one known batch) or
fail one call the way an error would (fault injection, not a stub). Tests check which
batches formed, what each caller got and what was left queued, never how long anything took.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support import unique

from shared.batcher import INGEST_CHUNK_MAX, SearchBatcher, ingest_chunk_size
from shared.config import Settings, get_settings
from shared.corpus import build_corpus
from shared.documents import NewDocument, SearchHit, SearchResult
from shared.embedder import Embedder, Vectors
from shared.errors import BackendUnavailable, ServiceBusy
from shared.jobs import JobRegistry
from shared.service import SearchService
from shared.vector_store import VectorStore

WAIT_S = 60.0
BLOCKER = "the search that holds the worker inside the model"
POISON = "a query the model fails on"
SCORE_TOLERANCE = 1e-5


class ModelSpy:
    """The real model; records each call's texts, and can hold a call or fail one."""

    def __init__(self, model: Embedder) -> None:
        self.model = model
        self.name = model.name
        self.dimension = model.dimension
        self.runtime = model.runtime
        self.calls: list[list[str]] = []
        self.entered = threading.Event()  # set when a call holding BLOCKER starts
        self.release = threading.Event()  # a call holding BLOCKER waits for it

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        if BLOCKER in texts:
            self.entered.set()
            assert self.release.wait(WAIT_S), "the test never released the worker"
        if POISON in texts:
            raise RuntimeError("the model failed on this batch (injected)")
        return self.model.encode(texts)


class StoreSpy:
    """The real store; records each search request, fails those filtered by ``outage``, and
    holds those filtered by ``slow`` until ``release`` (as a wait for a time tick would)."""

    def __init__(self, store: VectorStore) -> None:
        self._store = store
        self.requests: list[tuple[int, int, tuple[str, ...]]] = []  # (vectors, top_k, tags)
        self.outage: str | None = None
        self.slow: str | None = None
        self.entered = threading.Event()
        self.release = threading.Event()

    def search_many(
        self, vectors: Sequence[Sequence[float]], *, top_k: int, tags: Sequence[str] | None
    ) -> list[list[SearchHit]]:
        self.requests.append((len(vectors), top_k, tuple(tags or ())))
        if self.outage is not None and self.outage in (tags or ()):
            raise BackendUnavailable("Milvus did not answer the search in time (injected)")
        if self.slow is not None and self.slow in (tags or ()):
            self.entered.set()
            assert self.release.wait(WAIT_S), "the test never released the Milvus request"
        return self._store.search_many(vectors, top_k=top_k, tags=tags)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class Rig:
    """A batcher over the spies, with the helpers the tests share."""

    def __init__(self, service: SearchService, **options: Any) -> None:
        self.model = ModelSpy(service.embedder)
        self.store = StoreSpy(service.store)
        self.batcher = SearchBatcher(embedder=self.model, store=self.store, **options)

    def hold(self) -> Future[SearchResult]:
        """Send BLOCKER and return once the worker is inside the model with it."""
        self.model.entered.clear()
        self.model.release.clear()
        blocker = self.batcher.submit(BLOCKER, top_k=1)
        assert self.model.entered.wait(WAIT_S), "the worker never took the blocker"
        return blocker

    def wait_queued(self, searches: int, chunks: int = 0) -> None:
        deadline = time.monotonic() + WAIT_S
        while self.batcher.queued() != (searches, chunks):
            assert time.monotonic() < deadline, f"queued {self.batcher.queued()}"
            time.sleep(0.01)

    def batches(self) -> list[list[str]]:
        """The search batches the model was called with, blocker excluded, in order."""
        return [call for call in self.model.calls if BLOCKER not in call]


@pytest.fixture
def rig_factory(service: SearchService) -> Iterator[Callable[..., Rig]]:
    made: list[Rig] = []

    def make(**options: Any) -> Rig:
        rig = Rig(service, **options)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        rig.model.release.set()
        rig.store.release.set()
        rig.batcher.close(timeout_s=WAIT_S)


def in_thread(call: Callable[[], Any]) -> Future[Any]:
    future: Future[Any] = Future()

    def run() -> None:
        try:
            future.set_result(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future


def assert_same_hits(batched: list[SearchHit], alone: list[SearchHit], label: str) -> None:
    assert [hit.id for hit in batched] == [hit.id for hit in alone], label
    for got, expected in zip(batched, alone, strict=True):
        assert abs(got.score - expected.score) <= SCORE_TOLERANCE, (label, got, expected)
        assert (got.title, got.text) == (expected.title, expected.text), label


# --- results: batched or not, the same ----------------------------------------------------
@pytest.fixture(scope="module")
def corpus_sample(service: SearchService) -> tuple[str, str, list[NewDocument]]:
    """A hundred real documentation paragraphs, under two tags of this module's own."""
    service.jobs.wait_idle()  # no other test's job writes while results are compared
    every, half = unique("batch-all"), unique("batch-half")
    documents = random.Random(12).sample(build_corpus(service.settings, limit=600), 100)
    stored = [
        NewDocument(
            id=unique("bdoc"),
            title=doc.title,
            text=doc.text[:1500],
            tags=(every, half) if n % 2 else (every,),
        )
        for n, doc in enumerate(documents)
    ]
    service.add_documents(stored)
    service.store.wait_visible()
    return every, half, stored


def test_batched_searches_return_what_each_returns_alone(
    service: SearchService,
    rig_factory: Callable[..., Rig],
    corpus_sample: tuple[str, str, list[NewDocument]],
) -> None:
    every, half, documents = corpus_sample
    rng = random.Random(7)
    queries = [doc.text.split(". ")[0][:120] for doc in rng.sample(documents, 30)]
    queries += [
        "read a file line by line",
        "how do I compare two dates",
        "parse command line arguments",
        "thread safe queue",
        "decode bytes to text",
    ]
    # Mixed filters and top_k in one batch: every combination is its own Milvus request.
    shapes: list[tuple[int, list[str]]] = [(10, [every]), (5, [half]), (1, [every]), (25, [every])]
    searches = [(query, *shapes[n % len(shapes)]) for n, query in enumerate(queries)]
    searches += [(queries[0], 3, [half]), (queries[0], 10, [every, half])]

    alone = [service.search_text(query=q, top_k=k, tags=t).hits for q, k, t in searches]
    assert all(alone), "every search finds something"

    rig = rig_factory(max_batch=64)
    blocker = rig.hold()
    futures = [rig.batcher.submit(q, top_k=k, tags=t) for q, k, t in searches]
    rig.model.release.set()
    blocker.result(WAIT_S)
    batched = [future.result(WAIT_S).hits for future in futures]

    for (query, top_k, tags), got, expected in zip(searches, batched, alone, strict=True):
        assert_same_hits(got, expected, f"{query!r} top_k={top_k} tags={tags}")
    # One model call for the whole batch, one Milvus request per (tags, top_k).
    assert rig.batches() == [[q for q, _, _ in searches]]
    shapes_in_batch = {(k, tuple(t)) for _, k, t in searches}
    assert sorted((k, t) for _, k, t in rig.store.requests[1:]) == sorted(shapes_in_batch)
    assert sum(n for n, _, _ in rig.store.requests[1:]) == len(searches)


def test_the_service_searches_through_the_batcher_when_batching_is_on(
    settings: Settings, service: SearchService, corpus_sample: tuple[str, str, list[NewDocument]]
) -> None:
    every, _, documents = corpus_sample
    batched = SearchService(
        settings=get_settings(**{**settings.model_dump(), "search_batching": True}),
        embedder=service.embedder,
        store=service.store,
        jobs=service.jobs,
    )
    try:
        assert batched.batcher is not None and service.batcher is None
        assert service.batch_stats() is None
        query = documents[0].text[:80]
        got = batched.search_text(query=query, top_k=7, tags=[every])
        expected = service.search_text(query=query, top_k=7, tags=[every])
        assert_same_hits(got.hits, expected.hits, query)
        got_async = asyncio.run(batched.search_text_async(query=query, top_k=7, tags=[every]))
        assert_same_hits(got_async.hits, expected.hits, query)
        stats = batched.batch_stats()
        assert stats is not None and stats["searches"] == 2 and stats["sizes"] == {"1": 2}
    finally:
        batched.batcher.close()  # not batched.close(): the store is the session's


# --- how batches form -----------------------------------------------------------------------
def test_a_lone_search_goes_at_once_and_those_queued_meanwhile_form_one_batch(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(max_batch=32)
    assert rig.batcher.search("a lone search", top_k=3).hits is not None
    assert rig.batcher.stats().sizes == {1: 1}

    blocker = rig.hold()
    futures = [rig.batcher.submit(f"queued search {n}", top_k=3) for n in range(10)]
    rig.wait_queued(10)
    rig.model.release.set()
    blocker.result(WAIT_S)
    assert all(len(future.result(WAIT_S).hits) <= 3 for future in futures)
    assert rig.batches() == [["a lone search"], [f"queued search {n}" for n in range(10)]]
    stats = rig.batcher.stats()
    assert stats.sizes == {1: 2, 10: 1} and stats.searches == 12 and stats.batches == 3


def test_batches_are_cut_at_the_maximum_in_arrival_order(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(max_batch=4)
    blocker = rig.hold()
    queries = [f"search number {n}" for n in range(10)]
    futures = [rig.batcher.submit(query, top_k=2) for query in queries]
    rig.model.release.set()
    blocker.result(WAIT_S)
    for future in futures:
        future.result(WAIT_S)
    assert rig.batches() == [queries[0:4], queries[4:8], queries[8:10]]
    assert rig.batcher.stats().sizes == {1: 1, 4: 2, 2: 1}


def test_a_window_gathers_a_forming_batch_and_serves_a_lone_search_when_it_closes(
    rig_factory: Callable[..., Rig],
) -> None:
    # Three callers released together, well within the window: one batch, not three.
    rig = rig_factory(max_batch=3, max_wait_s=2.0)
    together = threading.Barrier(3)

    def search(n: int) -> SearchResult:
        together.wait(WAIT_S)
        return rig.batcher.search(f"forming {n}", top_k=1)

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(search, range(3)))
    assert rig.batcher.stats().sizes == {3: 1}, rig.batches()

    lone = in_thread(lambda: rig.batcher.search("alone in its window", top_k=1))
    lone.result(WAIT_S)  # served when the window closed, with nobody else
    assert rig.batches()[-1] == ["alone in its window"]


# --- errors, timeouts, the bound ------------------------------------------------------------
def test_a_model_error_reaches_every_search_of_its_batch_and_no_other(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(max_batch=3)
    blocker = rig.hold()
    doomed = [rig.batcher.submit(q, top_k=1) for q in ("first", POISON, "third")]
    spared = [rig.batcher.submit(q, top_k=1) for q in ("fourth", "fifth")]
    rig.model.release.set()
    blocker.result(WAIT_S)
    for future in doomed:
        with pytest.raises(RuntimeError, match="injected"):
            future.result(WAIT_S)
    assert all(future.result(WAIT_S).hits is not None for future in spared)
    assert rig.batcher.stats().failed == 3
    # The worker goes on serving after a failed batch.
    assert rig.batcher.search("after the failure", top_k=1) is not None


def test_a_milvus_error_reaches_the_searches_of_its_request_and_no_other(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(max_batch=8)
    down, up = unique("down"), unique("up")
    rig.store.outage = down
    blocker = rig.hold()
    failing = [rig.batcher.submit(f"query {n}", top_k=2, tags=[down]) for n in range(3)]
    served = [rig.batcher.submit(f"query {n}", top_k=2, tags=[up]) for n in range(2)]
    served.append(rig.batcher.submit("no filter", top_k=2))
    rig.model.release.set()
    blocker.result(WAIT_S)
    for future in failing:
        with pytest.raises(BackendUnavailable, match="injected"):
            future.result(WAIT_S)
    assert [future.result(WAIT_S).hits == [] for future in served] == [True, True, False]
    assert len(rig.batches()) == 1  # one batch, one model call, three Milvus requests
    assert sorted(rig.store.requests[1:]) == [(1, 2, ()), (2, 2, (up,)), (3, 2, (down,))]


def test_beyond_the_bound_a_search_is_refused_at_once_with_a_retry_after(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(max_batch=8, queue_bound=3)
    blocker = rig.hold()
    accepted = [rig.batcher.submit(f"accepted {n}", top_k=1) for n in range(3)]
    with pytest.raises(ServiceBusy, match="too many searches are waiting") as refused:
        rig.batcher.submit("one too many", top_k=1)
    assert refused.value.retry_after_s >= 1
    with pytest.raises(ServiceBusy):
        asyncio.run(rig.batcher.search_async("one too many, from asyncio", top_k=1))
    rig.model.release.set()
    blocker.result(WAIT_S)
    assert all(future.result(WAIT_S) for future in accepted)
    assert rig.batcher.stats().rejected == 2
    assert not any("one too many" in q for batch in rig.batches() for q in batch)


def test_a_search_that_waits_too_long_gives_up_and_leaves_the_queue(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(queue_bound=1, timeout_s=0.3)
    blocker = rig.hold()
    with pytest.raises(ServiceBusy, match="not answered within 0.3 s") as gave_up:
        rig.batcher.search("gives up", top_k=1)
    assert gave_up.value.retry_after_s >= 1
    rig.wait_queued(0)  # it left the queue: its place under the bound is free again
    later = rig.batcher.submit("queued after the timeout", top_k=1)
    rig.model.release.set()
    assert blocker.result(WAIT_S) is not None and later.result(WAIT_S) is not None
    assert rig.batches() == [["queued after the timeout"]]  # "gives up" was never encoded

    # A search already inside the model when its time runs out: its caller is answered at
    # once, and the batch's late answer goes nowhere.
    rig.model.release.clear()
    with pytest.raises(ServiceBusy, match="not answered within"):
        rig.batcher.search(BLOCKER, top_k=1)
    rig.model.release.set()
    assert rig.batcher.submit("the worker goes on", top_k=1).result(WAIT_S) is not None
    assert rig.batcher.stats().timed_out == 2


def test_a_batch_waiting_on_milvus_does_not_hold_up_the_next_one(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory()
    rig.store.slow = "waits-for-a-tick"
    waiting = rig.batcher.submit("held in Milvus", top_k=1, tags=["waits-for-a-tick"])
    assert rig.store.entered.wait(WAIT_S), "the worker never sent the request"
    later = rig.batcher.submit("sent after it", top_k=1)
    assert later.result(WAIT_S).hits is not None  # encoded and searched meanwhile
    assert not waiting.done()
    rig.store.release.set()
    assert waiting.result(WAIT_S).hits == []  # no document has that tag


def test_close_waits_for_the_milvus_requests_in_flight(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory()
    rig.store.slow = "waits-for-a-tick"
    waiting = rig.batcher.submit("held in Milvus", top_k=1, tags=["waits-for-a-tick"])
    assert rig.store.entered.wait(WAIT_S)
    closing = in_thread(rig.batcher.close)
    time.sleep(0.3)
    assert not closing.done() and not waiting.done()
    rig.store.release.set()
    closing.result(WAIT_S)
    assert waiting.result(0).hits == []  # answered before close returned


# --- from asyncio ----------------------------------------------------------------------------
def test_from_asyncio_waiting_searches_hold_no_threads_and_form_one_batch(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(max_batch=64)
    queries = [f"asyncio search {n}" for n in range(50)]

    async def main() -> list[SearchResult]:
        blocker = asyncio.wrap_future(rig.hold())
        threads = threading.active_count()
        tasks = [asyncio.create_task(rig.batcher.search_async(q, top_k=2)) for q in queries]
        while rig.batcher.queued() != (len(queries), 0):
            await asyncio.sleep(0.01)
        # Fifty searches waiting, and not one more thread for them.
        assert threading.active_count() <= threads
        rig.model.release.set()
        await blocker
        return await asyncio.gather(*tasks)

    results = asyncio.run(main())
    assert all(len(result.hits) <= 2 for result in results)
    assert rig.batches() == [queries]


def test_from_asyncio_errors_timeouts_and_cancellation_reach_the_right_callers(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(max_batch=2, timeout_s=5.0)

    async def main() -> None:
        blocker = asyncio.wrap_future(rig.hold())
        doomed = asyncio.create_task(rig.batcher.search_async(POISON, top_k=1))
        doomed_too = asyncio.create_task(rig.batcher.search_async("beside the poison", top_k=1))
        cancelled = asyncio.create_task(rig.batcher.search_async("cancelled", top_k=1))
        served = asyncio.create_task(rig.batcher.search_async("served", top_k=1))
        while rig.batcher.queued() != (4, 0):
            await asyncio.sleep(0.01)
        cancelled.cancel()  # its client went away
        while rig.batcher.queued() != (3, 0):
            await asyncio.sleep(0.01)
        rig.model.release.set()
        await blocker
        for task in (doomed, doomed_too):
            with pytest.raises(RuntimeError, match="injected"):
                await task
        assert (await served).hits is not None
        with pytest.raises(asyncio.CancelledError):
            await cancelled

    asyncio.run(main())
    assert rig.batches() == [[POISON, "beside the poison"], ["served"]]

    timing_out = rig_factory(timeout_s=0.3)

    async def times_out() -> None:
        blocker = asyncio.wrap_future(timing_out.hold())
        with pytest.raises(ServiceBusy, match="not answered within"):
            await timing_out.batcher.search_async("gives up", top_k=1)
        assert timing_out.batcher.queued() == (0, 0)
        timing_out.model.release.set()
        await blocker

    asyncio.run(times_out())
    assert timing_out.batches() == []


# --- shutdown ---------------------------------------------------------------------------------
def test_close_answers_the_queued_searches_and_refuses_new_ones(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(max_batch=4)
    blocker = rig.hold()
    from_threads = [
        in_thread(lambda n=n: rig.batcher.search(f"thread {n}", top_k=1)) for n in range(3)
    ]

    async def from_asyncio() -> SearchResult:
        return await rig.batcher.search_async("asyncio", top_k=1)

    from_loop = in_thread(lambda: asyncio.run(from_asyncio()))
    rig.wait_queued(4)
    closing = in_thread(rig.batcher.close)
    deadline = time.monotonic() + WAIT_S
    while True:  # closing: new searches are refused at once
        try:
            rig.batcher.submit("too late", top_k=1).cancel()
        except ServiceBusy as exc:
            assert "shutting down" in str(exc)
            break
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not closing.done()  # it waits for the queued searches
    rig.model.release.set()
    closing.result(WAIT_S)
    assert blocker.result(WAIT_S) is not None
    for caller in [*from_threads, from_loop]:
        assert caller.result(WAIT_S).hits is not None


def test_close_gives_up_on_a_stuck_worker_and_fails_what_is_queued(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory()
    blocker = rig.hold()
    queued = [rig.batcher.submit(f"queued {n}", top_k=1) for n in range(2)]
    rig.batcher.close(timeout_s=0.2)  # the worker is stuck in the model: close returns anyway
    for future in queued:
        with pytest.raises(ServiceBusy, match="shut down before it could serve this"):
            future.result(WAIT_S)
    rig.model.release.set()
    assert blocker.result(WAIT_S) is not None  # the batch in the model still gets its answer


# --- ingest shares the model ------------------------------------------------------------------
def test_ingest_chunks_run_between_search_batches(
    service: SearchService, rig_factory: Callable[..., Rig]
) -> None:
    # A slice far longer than any chunk: after the first (one text, which measures), chunks
    # are as large as they may be.
    rig = rig_factory(max_batch=2, ingest_slice_s=10.0)
    texts = [f"ingested paragraph {n} about gardening and tools" for n in range(17)]
    blocker = rig.hold()
    job = in_thread(lambda: rig.batcher.encode_background(texts))
    rig.wait_queued(0, 1)
    searches = [rig.batcher.submit(f"search {n}", top_k=1) for n in range(6)]
    rig.model.release.set()
    blocker.result(WAIT_S)
    vectors = job.result(WAIT_S)
    assert all(future.result(WAIT_S) for future in searches)

    np.testing.assert_allclose(vectors, service.embedder.encode(texts), atol=1e-5)
    kinds = ["ingest" if call[0] in texts else "search" for call in rig.batches()]
    assert kinds.count("ingest") == 3 and kinds.count("search") == 3, kinds
    # While searches wait, no two ingest chunks run in a row: a search waits behind one.
    last_search = len(kinds) - 1 - kinds[::-1].index("search")
    assert "ingest,ingest" not in ",".join(kinds[:last_search]), kinds
    assert [len(call) for call in rig.batches() if call[0] in texts] == [1, 8, 8]
    stats = rig.batcher.stats()
    assert stats.ingest_chunks == 3 and stats.ingest_texts == 17


def test_an_ingest_chunk_is_one_text_when_every_text_outlasts_the_slice(
    service: SearchService, rig_factory: Callable[..., Rig]
) -> None:
    rig = rig_factory(ingest_slice_s=1e-9)
    texts = [f"a paragraph on soil number {n}" for n in range(5)]
    vectors = rig.batcher.encode_background(texts)
    np.testing.assert_allclose(vectors, service.embedder.encode(texts), atol=1e-5)
    assert [len(call) for call in rig.model.calls] == [1, 1, 1, 1, 1]
    stats = rig.batcher.stats()
    assert stats.ingest_chunks == 5 and stats.ingest_texts == 5


@pytest.mark.parametrize(
    ("lengths", "s_per_char", "size"),
    [
        ([10, 10, 10], None, 1),  # nothing measured yet: one text, to measure
        ([10] * 20, 1e-9, INGEST_CHUNK_MAX),  # never more than the cap
        ([10, 10, 10, 10], 0.001, 2),  # 10 ms a text, 25 ms a slice: two fit
        ([100, 10, 10], 0.001, 1),  # one long text fills the slice alone
        ([10, 10, 100, 10], 0.001, 2),  # the long one waits for the next chunk
        ([1000], 0.001, 1),  # a text longer than the slice still goes, alone
        ([], 0.001, 0),
    ],
)
def test_an_ingest_chunk_takes_the_texts_that_fit_its_slice(
    lengths: list[int], s_per_char: float | None, size: int
) -> None:
    texts = ["x" * n for n in lengths]
    assert ingest_chunk_size(texts, s_per_char=s_per_char, slice_s=0.025) == size


def test_an_ingest_slice_must_be_positive(service: SearchService) -> None:
    with pytest.raises(ValueError, match="ingest_slice_s"):
        SearchBatcher(embedder=service.embedder, store=service.store, ingest_slice_s=0)


def test_an_ingest_job_encodes_through_the_batcher_when_batching_is_on(
    settings: Settings, service: SearchService, tmp_path: Path
) -> None:
    spy = ModelSpy(service.embedder)
    batched = SearchService(
        settings=get_settings(
            **{
                **settings.model_dump(),
                "search_batching": True,
                "search_batch_ingest_slice_s": 10.0,  # chunks as large as they may be
            }
        ),
        embedder=spy,
        store=service.store,
        jobs=JobRegistry(tmp_path / "jobs"),
    )
    tag = unique("ingest-batched")
    rows = [
        {"id": unique("ing"), "text": f"row {n} on pruning roses", "tags": [tag]} for n in range(20)
    ]
    try:
        job = batched.submit_documents(rows)
        batched.jobs.wait_idle()
        record = batched.ingest_status(job.job_id)
        assert record is not None and record.status == "done" and record.processed == 20
        # The first chunk measures; the slice from the settings lets the rest fill the cap.
        assert [len(call) for call in spy.calls] == [1, 8, 8, 3]
        assert batched.batcher is not None and batched.batcher.stats().ingest_chunks == 4
        found = batched.search_text(query="pruning roses", top_k=50, tags=[tag])
        assert {hit.id for hit in found.hits} == {row["id"] for row in rows}
    finally:
        assert batched.batcher is not None
        batched.batcher.close()  # not batched.close(): the store is the session's


# --- the stats file ---------------------------------------------------------------------------
def test_the_batch_sizes_are_written_for_a_benchmark_to_read(
    rig_factory: Callable[..., Rig], tmp_path: Path
) -> None:
    rig = rig_factory(max_batch=8, stats_dir=tmp_path)
    blocker = rig.hold()
    futures = [rig.batcher.submit(f"counted {n}", top_k=1) for n in range(5)]
    rig.model.release.set()
    blocker.result(WAIT_S)
    for future in futures:
        future.result(WAIT_S)
    path = tmp_path / f"batches-{os.getpid()}.json"
    deadline = time.monotonic() + WAIT_S
    while not path.exists() or json.loads(path.read_text())["searches"] < 6:
        assert time.monotonic() < deadline, "written within about a second of a batch"
        time.sleep(0.05)
    written = json.loads(path.read_text())
    assert written["sizes"] == {"1": 1, "5": 1} and written["batches"] == 2
    assert written["mean_batch"] == 3.0 and written["rejected"] == 0


# --- the Milvus side bounded ------------------------------------------------------------------
def test_with_every_milvus_slot_stuck_new_searches_wait_queued_then_are_refused_at_once(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(milvus_slots=1, timeout_s=1.0)
    rig.store.slow = "stuck"
    held = rig.batcher.submit("held in Milvus", top_k=1, tags=["stuck"])
    assert rig.store.entered.wait(WAIT_S), "the worker never sent the request"
    behind = rig.batcher.submit("queued behind it", top_k=1)
    time.sleep(0.2)
    # No slot free: the worker leaves it in the (bounded) queue rather than encode it.
    assert rig.batcher.queued() == (1, 0)
    assert not any("queued behind it" in call for call in rig.model.calls)
    time.sleep(0.4)  # the slot has now been busy for over half the timeout
    began = time.monotonic()
    with pytest.raises(ServiceBusy, match="Milvus has not answered") as refused:
        rig.batcher.submit("refused at once", top_k=1)
    assert time.monotonic() - began < 0.5
    assert refused.value.retry_after_s >= 1
    rig.store.release.set()
    assert held.result(WAIT_S).hits == [] and behind.result(WAIT_S).hits is not None
    assert rig.batcher.stats().rejected == 1


def test_a_search_whose_caller_has_gone_is_not_sent_to_milvus(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(timeout_s=0.3)
    # Taken into the model, then its caller's time runs out: Milvus never sees it.
    rig.model.release.clear()
    with pytest.raises(ServiceBusy, match="not answered within"):
        rig.batcher.search(BLOCKER, top_k=1, tags=["timed-out"])
    rig.model.release.set()
    assert rig.batcher.submit("the worker goes on", top_k=1).result(WAIT_S) is not None

    # The same for a client that goes away while its search is inside the model.
    async def cancelled() -> None:
        rig.model.entered.clear()
        rig.model.release.clear()
        task = asyncio.ensure_future(rig.batcher.search_async(BLOCKER, top_k=1, tags=["gone"]))
        while not rig.model.entered.is_set():
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled())
    rig.model.release.set()
    assert rig.batcher.submit("and on", top_k=1).result(WAIT_S) is not None
    sent_tags = [tags for _, _, tags in rig.store.requests]
    assert ("timed-out",) not in sent_tags and ("gone",) not in sent_tags, sent_tags
    assert rig.batcher.stats().dropped == 2
