"""Micro-batching of text searches: the searches in flight share one model call.

On text search the model is the cost, and a query encoded alone costs more than one encoded
in a call of many (passes sorted by length, ``Settings.encode_batch_size``);
``python -m studies.encode_cost`` measures both on the runtime in use. Under concurrency the
gap grows: requests encoding at once on one core cost each other cache and GIL. So instead
of each request encoding its own query, callers queue it here and one worker thread serves
the queue, in the manner of text-embeddings-inference, Triton's dynamic batcher and
Ray Serve's ``@serve.batch``:

* **A batch** is everything queued when the model is free, up to ``max_batch``: no added
  wait when idle, so a lone search is not delayed. ``max_wait_s`` > 0 lets the oldest search
  wait up to that long for a batch that is forming (Triton's queue delay).
* **One model call per batch, one Milvus request per (tags, top_k) in it**: pymilvus takes
  many query vectors in one request. Searches whose filter or top_k differ go in separate
  requests, each the very request an unbatched search sends (limit, filter and search
  parameters), so a query gets the same hits batched or not.
* **The model and Milvus overlap**: the worker hands each Milvus request to a small pool of
  threads and goes on to the next batch. A request can wait on Milvus for a while: under
  Session consistency, one sent after this process wrote waits for Milvus to apply the write
  (one or two time ticks, 200 ms apart by Milvus's default), and with the worker waiting
  too, every search queued behind it waited as well. Measured 2026-12-01 on the project's
  machine with the torch runtime (``python -m studies.ingest_beside``: searches at 20/s
  beside an ingest job, Session): p95 213 ms batched against 83 naive while the worker
  waited (two rounds); 205 against 170 with the pool (five rounds). The naive p95 itself
  moves a lot from run to run, with where the ticks fall.
* **Two ways to wait**: :meth:`SearchBatcher.search` blocks its thread on a future (the Flask
  twin); :meth:`SearchBatcher.search_async` awaits it on the event loop and holds no thread
  meanwhile (the FastAPI twin).
* **Bounded**: a search beyond ``queue_bound`` waiting is refused at once, and one not
  answered within ``timeout_s`` gives up (both :class:`~shared.errors.ServiceBusy`: 503 with
  Retry-After); a caller that gives up leaves the queue, as TEI drops requests whose client
  went away, and a search whose caller has gone is dropped before the model and before
  Milvus. The Milvus side is bounded too: ``milvus_slots`` threads send the requests, and
  no new batch is taken while they are all busy, so searches wait in the bounded queue, not
  in the pool's; when every slot has waited on Milvus for half ``timeout_s``, a new
  search is refused at once instead of waiting out its timeout. Retry-After counts the
  batches ahead and the recent Milvus wait.
* **Errors**: what the model or Milvus raises reaches every search of that model call or
  Milvus request, and no other.
* **Shutdown**: :meth:`SearchBatcher.close` refuses new searches, answers those queued, then
  stops; any it could not serve in time get ServiceBusy. Nothing waits forever.
* **Ingest shares the model**: ingest jobs encode through :meth:`encode_background` in chunks
  that run between search batches (searches first, one chunk after each batch while both
  wait), so a search waits behind at most one chunk, and a job still progresses under a
  steady search load. A chunk is sized by time, not by count: as many texts as the model
  encodes in about ``ingest_slice_s`` (at least one, at most :data:`INGEST_CHUNK_MAX`), by
  the seconds per character the earlier chunks took. A fixed 8 texts let one chunk of
  long paragraphs hold the model for 110-240 ms, and doubled searches' p95 beside a job
  (measured 2026-12-01 on the project's machine, torch runtime).

:meth:`SearchBatcher.stats` counts the batch sizes formed; with ``stats_dir`` set, the worker
also writes them to ``<stats_dir>/batches-<pid>.json`` (at most once a second, and on close)
for a benchmark that drives the server over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shared.config import INGEST_SLICE_S, Settings
from shared.documents import SearchResult
from shared.embedder import Embedder, Vectors
from shared.errors import ServiceBusy
from shared.vector_store import VectorStore

__all__ = [
    "SearchBatcher",
    "BatchStats",
    "INGEST_CHUNK_MAX",
    "STATS_EVERY_S",
    "ingest_chunk_size",
]

log = logging.getLogger(__name__)

# The most texts in one ingest chunk, whatever the slice allows (the model's gain from
# batching long texts is small: 314 us a token in chunks of 8 against 365 in chunks of 4,
# measured 2026-12-01 on the project's machine with the torch runtime).
INGEST_CHUNK_MAX = 8
STATS_EVERY_S = 1.0
# Milvus requests in flight at once from one batcher: enough that batches waiting for a
# time tick (200 ms apart by Milvus's default) do not hold up the next ones.
MILVUS_THREADS = 8
# Weight of the newest batch in the running mean of a batch's duration (for Retry-After).
_SMOOTHING = 0.2


@dataclass(eq=False)
class _Search:
    query: str
    top_k: int
    tags: tuple[str, ...]
    submitted: float  # time.perf_counter()
    future: Future[SearchResult] = field(default_factory=Future)
    # Its caller stopped waiting (timed out, or went away) after the worker took it.
    abandoned: bool = False


@dataclass(eq=False)
class _Chunk:
    texts: list[str]
    future: Future[Vectors] = field(default_factory=Future)


class _WriteStats:
    """What the worker's next step is when its stats file is due."""


_WRITE_STATS = _WriteStats()
_Work = list[_Search] | _Chunk | _WriteStats | None


@dataclass(frozen=True)
class BatchStats:
    """What a batcher has done since it was made.

    ``sizes`` maps a batch size (searches in one model call) to how many batches had it.
    """

    sizes: dict[int, int]
    searches: int = 0  # taken into a batch (answered or failed)
    milvus_calls: int = 0
    ingest_chunks: int = 0
    ingest_texts: int = 0  # texts in those chunks
    rejected: int = 0  # refused at once: the queue was full, Milvus stuck, or closing
    timed_out: int = 0
    failed: int = 0  # answered with the model's or Milvus's error
    dropped: int = 0  # taken, then not sent to Milvus: the caller had gone

    @property
    def batches(self) -> int:
        """Model calls for searches: one per batch."""
        return sum(self.sizes.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "searches": self.searches,
            "mean_batch": round(self.searches / self.batches, 3) if self.batches else 0.0,
            "sizes": {str(size): self.sizes[size] for size in sorted(self.sizes)},
            "milvus_calls": self.milvus_calls,
            "ingest_chunks": self.ingest_chunks,
            "ingest_texts": self.ingest_texts,
            "rejected": self.rejected,
            "timed_out": self.timed_out,
            "failed": self.failed,
            "dropped": self.dropped,
        }


class SearchBatcher:
    """A queue of text searches and the one worker thread that serves it in batches.

    Usable from any thread and from any event loop. The worker starts with the first search
    (a forked process inherits no threads, so it starts its own).
    """

    def __init__(
        self,
        *,
        embedder: Embedder,
        store: VectorStore,
        max_batch: int = 32,
        max_wait_s: float = 0.0,
        queue_bound: int = 256,
        timeout_s: float = 10.0,
        ingest_slice_s: float = INGEST_SLICE_S,
        stats_dir: Path | None = None,
        milvus_slots: int = MILVUS_THREADS,
    ) -> None:
        if max_batch < 1 or queue_bound < 1 or max_wait_s < 0 or timeout_s <= 0:
            raise ValueError("max_batch and queue_bound >= 1, max_wait_s >= 0, timeout_s > 0")
        if milvus_slots < 1:
            raise ValueError("milvus_slots >= 1")
        if ingest_slice_s <= 0:
            raise ValueError("ingest_slice_s > 0")
        self._embedder = embedder
        self._store = store
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.queue_bound = queue_bound
        self.timeout_s = timeout_s
        self.ingest_slice_s = ingest_slice_s
        self._stats_dir = stats_dir
        self.milvus_slots = milvus_slots
        # One lock for the queues, the counters and the worker's state; held only for
        # moments (never across the model or Milvus), so taking it on an event loop is fine.
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._searches: deque[_Search] = deque()
        self._chunks: deque[_Chunk] = deque()
        self._chunk_next = False  # a search batch just ran: an ingest chunk goes next
        self._closing = False
        self._worker: threading.Thread | None = None
        # Made with the worker, not here: a forked process must not inherit its threads.
        self._milvus: ThreadPoolExecutor | None = None
        self._batch_s = 0.0  # running mean of a batch's duration
        self._milvus_s = 0.0  # running mean of a Milvus request's duration
        # Milvus requests in flight: when each was sent (time.perf_counter()).
        self._at_milvus: dict[int, float] = {}
        # Running mean of an ingest call's seconds per character; None until one has run.
        self._ingest_s_per_char: float | None = None
        self._stats_due: float | None = None  # when the stats file is next written
        self._stats_lock = threading.Lock()  # one writer of the stats file at a time
        self._sizes: Counter[int] = Counter()
        self._counts: Counter[str] = Counter()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, embedder: Embedder, store: VectorStore
    ) -> SearchBatcher:
        return cls(
            embedder=embedder,
            store=store,
            max_batch=settings.search_batch_max,
            max_wait_s=settings.search_batch_wait_s,
            queue_bound=settings.search_queue_bound,
            timeout_s=settings.search_batch_timeout_s,
            ingest_slice_s=settings.search_batch_ingest_slice_s,
            stats_dir=settings.search_batch_stats_dir,
        )

    # --- callers ------------------------------------------------------------------------
    def submit(
        self, query: str, *, top_k: int, tags: Sequence[str] | None = None
    ) -> Future[SearchResult]:
        """Queue one search; raises ServiceBusy at once when the queue is full or closed, or
        when Milvus has held every request in flight for half a search's timeout.

        Cancelling the future (while it waits) takes the search out of the queue.
        """
        return self._submit(query, top_k=top_k, tags=tags).future

    def _submit(self, query: str, *, top_k: int, tags: Sequence[str] | None) -> _Search:
        item = _Search(query, top_k, tuple(tags or ()), time.perf_counter())
        with self._ready:
            if self._closing:
                self._counts["rejected"] += 1
                raise ServiceBusy("the server is shutting down; try again shortly")
            if len(self._searches) >= self.queue_bound:
                self._counts["rejected"] += 1
                raise ServiceBusy(
                    f"too many searches are waiting for the model (the bound is "
                    f"{self.queue_bound}); try again shortly",
                    retry_after_s=self._drain_estimate_s(),
                )
            stuck_s = self._milvus_stuck_s()
            if stuck_s >= self.timeout_s / 2:
                # Every slot has waited on Milvus that long: a search sent now would wait
                # out its timeout behind them. Say so now, not in timeout_s.
                self._counts["rejected"] += 1
                raise ServiceBusy(
                    f"Milvus has not answered the searches in flight for {stuck_s:.1f} s; "
                    "try again shortly",
                    retry_after_s=self._drain_estimate_s(),
                )
            self._searches.append(item)
            self._start_worker()
            self._ready.notify()
        item.future.add_done_callback(lambda done: self._forget(item, done))
        return item

    def search(self, query: str, *, top_k: int, tags: Sequence[str] | None = None) -> SearchResult:
        """The hits of one text search, batched with others; blocks this thread meanwhile."""
        item = self._submit(query, top_k=top_k, tags=tags)
        try:
            return item.future.result(timeout=self.timeout_s)
        except TimeoutError:
            return self._give_up(item)

    async def search_async(
        self, query: str, *, top_k: int, tags: Sequence[str] | None = None
    ) -> SearchResult:
        """The hits of one text search, batched with others; holds no thread while it waits.

        The worker completes the future from its thread; ``wrap_future`` hands the result to
        this loop with ``call_soon_threadsafe``. If this task is cancelled (its client went
        away), the search leaves the queue.
        """
        item = self._submit(query, top_k=top_k, tags=tags)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(item.future), self.timeout_s)
        except TimeoutError:
            return self._give_up(item)
        except asyncio.CancelledError:
            item.abandoned = True  # its client went away: Milvus need not search for it
            raise

    def encode_background(self, texts: Sequence[str]) -> Vectors:
        """Encode texts for an ingest job, a chunk at a time between search batches.

        Blocks the calling (job) thread, without a timeout: a job is not a request. Once the
        batcher is closed, the calling thread encodes by itself, as with batching off, so a
        job running at shutdown goes on as it always has.
        """
        parts: list[Vectors] = []
        start = 0
        while start < len(texts):
            next_texts = texts[start : start + INGEST_CHUNK_MAX]
            chunk = _Chunk(list(next_texts[: self._chunk_size(next_texts)]))
            start += len(chunk.texts)
            with self._ready:
                queued = not self._closing
                if queued:
                    self._chunks.append(chunk)
                    self._start_worker()
                    self._ready.notify()
            parts.append(chunk.future.result() if queued else self._embedder.encode(chunk.texts))
        if not parts:
            return self._embedder.encode([])
        return np.concatenate(parts)

    def _chunk_size(self, texts: Sequence[str]) -> int:
        with self._lock:
            s_per_char = self._ingest_s_per_char
        return ingest_chunk_size(texts, s_per_char=s_per_char, slice_s=self.ingest_slice_s)

    def queued(self) -> tuple[int, int]:
        """Searches and ingest chunks waiting now (not yet taken by the worker)."""
        with self._lock:
            return len(self._searches), len(self._chunks)

    def stats(self) -> BatchStats:
        with self._lock:
            counts = self._counts
            return BatchStats(
                sizes=dict(self._sizes),
                searches=counts["searches"],
                milvus_calls=counts["milvus_calls"],
                ingest_chunks=counts["ingest_chunks"],
                ingest_texts=counts["ingest_texts"],
                rejected=counts["rejected"],
                timed_out=counts["timed_out"],
                failed=counts["failed"],
                dropped=counts["dropped"],
            )

    def close(self, timeout_s: float | None = None) -> None:
        """Refuse new searches, answer the queued ones, stop the worker.

        Waits for the worker up to ``timeout_s`` (default: the per-search timeout); searches
        still queued after that (the model or Milvus stuck) get ServiceBusy.
        """
        with self._ready:
            self._closing = True
            self._ready.notify_all()
            worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(self.timeout_s if timeout_s is None else timeout_s)
        with self._lock:
            milvus, self._milvus = self._milvus, None
        if milvus is not None:
            # The requests already sent are answered (each bounded by Milvus's own timeout);
            # a worker still inside the model sends its next one inline.
            milvus.shutdown(wait=True)
        with self._ready:
            left: list[_Search | _Chunk] = [*self._searches, *self._chunks]
            self._searches.clear()
            self._chunks.clear()
        for item in left:
            if item.future.set_running_or_notify_cancel():
                item.future.set_exception(
                    ServiceBusy("the server shut down before it could serve this")
                )
        self._write_stats()
        stats = self.stats()
        if stats.batches:
            log.info(
                "search batcher: %d searches in %d batches (mean %.2f), sizes %s",
                stats.searches,
                stats.batches,
                stats.searches / stats.batches,
                dict(sorted(stats.sizes.items())),
            )

    # --- the callers' side, continued ---------------------------------------------------
    def _give_up(self, item: _Search) -> SearchResult:
        future = item.future
        if not future.cancel() and future.done():
            return future.result()  # answered (or failed) just as the wait ran out
        item.abandoned = True  # taken already: skipped before Milvus if not sent yet
        with self._lock:
            self._counts["timed_out"] += 1
            retry_after_s = self._drain_estimate_s()
        raise ServiceBusy(
            f"the search was not answered within {self.timeout_s:g} s (the server is busy); "
            "try again shortly",
            retry_after_s=retry_after_s,
        )

    def _forget(self, item: _Search, future: Future[SearchResult]) -> None:
        """A search cancelled while queued leaves the queue (and stops counting to its bound)."""
        if future.cancelled():
            with self._lock:
                try:
                    self._searches.remove(item)
                except ValueError:
                    pass  # already taken by the worker, which skips it

    def _drain_estimate_s(self) -> int:
        """Seconds until a search sent now would be answered, by the recent batch and Milvus
        durations (lock held): the batches ahead of it, then its own wait on Milvus, which
        is at least as long as the oldest request in flight has waited when all are busy."""
        batches_ahead = math.ceil(len(self._searches) / self.max_batch) + 1
        milvus_s = max(self._milvus_s, self._milvus_stuck_s())
        return max(1, math.ceil(batches_ahead * self._batch_s + milvus_s))

    def _milvus_stuck_s(self) -> float:
        """How long every Milvus slot has been busy: the age of the newest of the requests
        in flight when all slots are taken, else 0 (lock held)."""
        if len(self._at_milvus) < self.milvus_slots:
            return 0.0
        return time.perf_counter() - max(self._at_milvus.values())

    def _start_worker(self) -> None:
        """Start the worker if it is not running (lock held)."""
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, name="search-batcher", daemon=True)
            self._worker.start()
        if self._milvus is None and not self._closing:
            self._milvus = ThreadPoolExecutor(
                max_workers=self.milvus_slots, thread_name_prefix="search-batcher-milvus"
            )

    # --- the worker ---------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            work = self._next_work()
            if work is None:
                return
            if isinstance(work, _WriteStats):
                self._write_stats()
            elif isinstance(work, _Chunk):
                self._encode_chunk(work)
            else:
                try:
                    self._serve(work)
                except Exception as exc:  # noqa: BLE001 - a bug here must leave nobody waiting
                    log.exception("the search batcher failed on a batch of %d", len(work))
                    for item in work:
                        if not item.future.done():
                            item.future.set_exception(exc)

    def _next_work(self) -> _Work:
        """The next thing to do: a search batch, an ingest chunk, the stats file, or stop."""
        with self._ready:
            while True:
                now = time.perf_counter()
                if self._stats_due is not None and now >= self._stats_due:
                    self._stats_due = None
                    return _WRITE_STATS
                if self._chunks and (self._chunk_next or not self._searches):
                    self._chunk_next = False
                    return self._chunks.popleft()
                milvus_free = len(self._at_milvus) < self.milvus_slots or self._milvus is None
                if self._searches and milvus_free:
                    self._wait_for_batch()
                    if self._searches:  # unless every search waiting gave up meanwhile
                        size = min(len(self._searches), self.max_batch)
                        self._chunk_next = True
                        return [self._searches.popleft() for _ in range(size)]
                    continue
                if self._closing and not self._searches:
                    return None
                # Nothing to do, or searches waiting for a Milvus slot: a request's end
                # (or a new search, chunk or close) notifies.
                self._ready.wait(None if self._stats_due is None else self._stats_due - now)

    def _wait_for_batch(self) -> None:
        """With a window, let a forming batch grow until it is full or its oldest search has
        waited ``max_wait_s`` (lock held)."""
        if self.max_wait_s <= 0:
            return
        deadline = self._searches[0].submitted + self.max_wait_s
        while self._searches and len(self._searches) < self.max_batch and not self._closing:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return
            self._ready.wait(remaining)

    def _serve(self, batch: list[_Search]) -> None:
        # A search whose caller gave up after it was taken from the queue is skipped.
        live = [
            item
            for item in batch
            if not item.abandoned and item.future.set_running_or_notify_cancel()
        ]
        if not live:
            return
        started = time.perf_counter()
        # Counted before any caller is answered, so a caller that reads the stats after its
        # answer finds its own batch there.
        with self._lock:
            self._sizes[len(live)] += 1
            self._counts["searches"] += len(live)
            self._mark_stats_dirty()
        try:
            vectors = self._embedder.encode([item.query for item in live])
        except Exception as exc:  # noqa: BLE001 - handed to every search of this batch
            self._fail(live, exc)
        else:
            groups: dict[tuple[tuple[str, ...], int], list[int]] = {}
            for index, item in enumerate(live):
                groups.setdefault((item.tags, item.top_k), []).append(index)
            for (tags, top_k), members in groups.items():
                self._send_group([live[i] for i in members], vectors[members], tags, top_k)
        took = time.perf_counter() - started
        with self._lock:
            # The first batch sets the mean; each later one moves it by a share of the gap.
            gap = took - self._batch_s
            self._batch_s = took if not self._batch_s else self._batch_s + _SMOOTHING * gap

    def _send_group(
        self, items: list[_Search], vectors: Vectors, tags: tuple[str, ...], top_k: int
    ) -> None:
        """Hand one Milvus request to the pool; inline once the batcher has closed it."""
        with self._lock:
            milvus = self._milvus
            self._at_milvus[id(items)] = time.perf_counter()
        if milvus is not None:
            try:
                milvus.submit(self._search_group_or_fail, items, vectors, tags, top_k)
                return
            except RuntimeError:  # shut down meanwhile, by close()
                pass
        self._search_group(items, vectors, tags, top_k)

    def _search_group_or_fail(
        self, items: list[_Search], vectors: Vectors, tags: tuple[str, ...], top_k: int
    ) -> None:
        """On a pool thread, where nobody would see an exception: hand it to the waiters."""
        try:
            self._search_group(items, vectors, tags, top_k)
        except Exception as exc:  # noqa: BLE001 - a bug here must leave nobody waiting
            log.exception("the search batcher failed on a Milvus request of %d", len(items))
            for item in items:
                if not item.future.done():
                    item.future.set_exception(exc)

    def _search_group(
        self, items: list[_Search], vectors: Vectors, tags: tuple[str, ...], top_k: int
    ) -> None:
        """One Milvus request for searches that share their tags and top_k (those whose
        callers are still waiting), holding one Milvus slot until it is answered."""
        try:
            keep = [index for index, item in enumerate(items) if not item.abandoned]
            with self._lock:
                self._counts["dropped"] += len(items) - len(keep)
            for item in items:
                if item.abandoned:  # its caller has its 503 already; no one reads this
                    item.future.set_exception(ServiceBusy("the caller stopped waiting"))
            if not keep:
                return
            sent = time.perf_counter()
            with self._lock:
                self._counts["milvus_calls"] += 1
            try:
                found = self._store.search_many(
                    [vectors[index].tolist() for index in keep], top_k=top_k, tags=tags or None
                )
                if len(found) != len(keep):
                    raise RuntimeError(f"Milvus answered {len(found)} of {len(keep)} queries")
            except Exception as exc:  # noqa: BLE001 - handed to every search of this request
                self._fail([items[index] for index in keep], exc)
                return
            finally:
                took = time.perf_counter() - sent
                with self._lock:
                    gap = took - self._milvus_s
                    self._milvus_s = (
                        took if not self._milvus_s else self._milvus_s + _SMOOTHING * gap
                    )
            for index, hits in zip(keep, found, strict=True):
                item = items[index]
                item.future.set_result(SearchResult(hits=hits, took_ms=_elapsed_ms(item.submitted)))
        finally:
            with self._ready:
                self._at_milvus.pop(id(items), None)
                self._ready.notify_all()  # a slot is free: the worker may take a batch

    def _fail(self, items: list[_Search], exc: Exception) -> None:
        with self._lock:
            self._counts["failed"] += len(items)
        for item in items:
            item.future.set_exception(exc)

    def _encode_chunk(self, chunk: _Chunk) -> None:
        if not chunk.future.set_running_or_notify_cancel():
            return
        started = time.perf_counter()
        try:
            vectors = self._embedder.encode(chunk.texts)
        except Exception as exc:  # noqa: BLE001 - the job's, to report as a failed batch
            chunk.future.set_exception(exc)
            return
        s_per_char = (time.perf_counter() - started) / sum(_chars(text) for text in chunk.texts)
        with self._lock:
            self._counts["ingest_chunks"] += 1
            self._counts["ingest_texts"] += len(chunk.texts)
            previous = self._ingest_s_per_char
            self._ingest_s_per_char = (
                s_per_char if previous is None else previous + _SMOOTHING * (s_per_char - previous)
            )
            self._mark_stats_dirty()
        chunk.future.set_result(vectors)

    # --- the stats file -----------------------------------------------------------------
    def _mark_stats_dirty(self) -> None:
        """Schedule a write of the stats file, at most one a second (lock held)."""
        if self._stats_dir is not None and self._stats_due is None:
            self._stats_due = time.perf_counter() + STATS_EVERY_S

    def _write_stats(self) -> None:
        if self._stats_dir is None:
            return
        body = {"pid": os.getpid(), "written_at": time.time(), **self.stats().to_json()}
        path = self._stats_dir / f"batches-{os.getpid()}.json"
        with self._stats_lock:
            try:
                self._stats_dir.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(body))
                os.replace(tmp, path)  # atomic: a reader never sees half a file
            except OSError as exc:
                log.warning("could not write the batch stats to %s: %s", path, exc)


def ingest_chunk_size(texts: Sequence[str], *, s_per_char: float | None, slice_s: float) -> int:
    """How many of ``texts`` (from the first) the next ingest chunk takes.

    As many as the model encodes in ``slice_s`` at ``s_per_char`` seconds per character
    (a text's cost grows with its tokens; characters stand for them), at least one and at
    most :data:`INGEST_CHUNK_MAX`. With no measure yet (``None``: no chunk has run), one
    text, whose call gives the first measure.
    """
    if not texts:
        return 0
    if s_per_char is None:
        return 1
    size, cost = 0, 0.0
    for text in texts[:INGEST_CHUNK_MAX]:
        cost += _chars(text) * s_per_char
        if size and cost > slice_s:
            break
        size += 1
    return size


def _chars(text: str) -> int:
    """A text's size for the ingest slice; an empty text still costs the model a pass."""
    return max(1, len(text))


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
