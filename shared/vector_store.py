"""The vector store: the only module that talks to Milvus (through pymilvus ``MilvusClient``).

Design choices, each for a failure of the Milvus Bootcamp text-search server (run on the
project's machine: with Milvus killed, one search froze that whole server for minutes, and
after a Milvus restart its first search waited over a minute; docs/failure-behaviour.md)
or measured here:

* The collection is created if missing and **loaded on every start**, and loaded again
  whenever Milvus says it is not, so a Milvus restart never leaves search broken.
* Every call carries a timeout (``Settings.milvus_timeout_s``) and every connection, timeout
  or server failure becomes :class:`~shared.errors.BackendUnavailable`, which both apps
  answer with a fast 503. The client is dropped when the connection fails and rebuilt on
  the next call, so the apps recover by themselves when Milvus comes back; a call that only
  ran past its timeout keeps it (Milvus is up, just slow). A request Milvus refuses as
  malformed (:func:`is_malformed_request`) is our bug, not an outage: it propagates as it is
  and the apps answer 500 and log it, so it is seen and fixed rather than retried.
* Filters are built only from validated values and quoted by
  :func:`shared.documents.tag_filter`; no user text is spliced raw into an expression.
* Consistency, measured on Milvus 2.3: Bounded (the default) hides fresh rows for seconds;
  Strong costs one or two time ticks (200-400 ms) per call, written to or not; Session gives
  read-your-writes inside one process, but a process that has not written reads as
  Eventually, and Eventually reads missed rows written and confirmed (even after a Strong
  query) by another process. So point reads (GET, and the existence check of DELETE) wait
  for the *write marks* (:mod:`shared.write_marks`): after each acknowledged write the
  store takes a fresh Milvus timestamp (off the request's path; until then the ids count as
  written "in flight" and their point reads read Strong) and records it for the ids
  written, in a table that every process sharing the data directory reads; a point read
  asks Milvus for exactly its id's mark. It waits only when that id was written a moment
  ago, and costs 2-4 ms otherwise (docs/milvus-backends.md). ``Settings.point_reads =
  "strong"`` restores Strong for workers on several hosts. Searches and counts use
  ``Settings.read_consistency`` (Session): read-your-writes in a worker, other workers'
  writes within about a second.
  After a Milvus restart, reads with any guarantee stall ~24 s while the query node replays
  its log, and Eventually reads return incomplete results meanwhile: connecting waits until
  a Strong query succeeds.

Index: HNSW (M=16, efConstruction=200, ef=max(64, top_k)), chosen by measurement on 10k
384-d vectors (docs/milvus-backends.md): sub-2 ms p50 with recall@10 near 1.0, where FLAT
scans every row and its latency grows with the corpus. It is a setting (``index_type``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from shared.config import Settings
from shared.documents import Document, NewDocument, SearchHit, tag_filter
from shared.embedder import Vectors
from shared.errors import BackendUnavailable
from shared.recent_writes import RecentWrites
from shared.write_marks import WriteMarks

__all__ = ["VectorStore", "MilvusVectorStore", "is_malformed_request"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long the marker thread waits before it takes the timestamp for the writes answered
# meanwhile. Their point reads read Strong until then (they would wait for Milvus's time
# tick anyway: a write becomes readable at the next tick, 200 ms apart).
MARK_DELAY_S = 0.005
# How long the marker thread keeps asking for a timestamp that Milvus fails to give (an
# outage), and the margin a write's in-flight hold keeps beyond every timeout it can meet.
MARK_RETRY_S = 30.0
HOLD_MARGIN_S = 30.0
# Rows an upsert may carry within one call's timeout; a larger batch gets proportionally more.
UPSERT_ROWS_PER_TIMEOUT = 64

# Milvus VARCHAR lengths are bytes: room for the character limits in 4-byte UTF-8.
_TITLE_BYTES = 1024
_TEXT_BYTES = 65_535
_TAG_BYTES = 256
_OUTPUT_FIELDS = ["id", "title", "text", "tags", "created_at"]
# How Milvus 2.3 words a request it refuses, measured: a bad filter answers code 65535
# "cannot parse expression: ...", a top_k out of range 65535 "topk [N] is invalid". A
# timeout answers the same code 65535 ("Retry timeout: ..."), so the code alone cannot tell
# them apart; these exact phrases can. Newer Milvus servers also flag input errors
# themselves (``is_input_error``), which is read first.
_MALFORMED_PATTERNS = (
    re.compile(r"cannot parse expression"),
    re.compile(r"topk \[\d+\] is invalid"),
)
_LIKE_SAFE = re.compile(r"[A-Za-z0-9.-]+")
# pymilvus's code for a connection it could not make (or remake inside a call).
_CONNECT_FAILED = 2


class VectorStore(Protocol):
    """What the core needs from a vector database."""

    def upsert(self, documents: Sequence[NewDocument], vectors: Vectors) -> None: ...
    def get(self, doc_id: str) -> Document | None: ...
    def delete(self, doc_id: str) -> bool: ...
    def wait_visible(self) -> None: ...
    def count(self, *, strong: bool = False) -> int: ...
    def search(
        self, vector: Sequence[float], *, top_k: int, tags: Sequence[str] | None
    ) -> list[SearchHit]: ...
    def search_many(
        self, vectors: Sequence[Sequence[float]], *, top_k: int, tags: Sequence[str] | None
    ) -> list[list[SearchHit]]: ...
    def flush(self) -> None: ...
    def describe(self) -> str: ...
    def close(self) -> None: ...


class MilvusVectorStore:
    """A Milvus collection of documents: string id, vector, title, text, tags, created_at."""

    def __init__(
        self, *, settings: Settings, dimension: int | None, create_missing: bool = True
    ) -> None:
        """``create_missing=False`` opens the collection only if it exists and never creates
        it, so a caller may ask what is there before it has loaded the model
        (``dimension=None``)."""
        if create_missing and dimension is None:
            raise ValueError("creating the collection needs the vector dimension")
        self._settings = settings
        self._dimension = dimension
        self._create_missing = create_missing
        self._collection = settings.collection
        self._timeout = settings.milvus_timeout_s
        self._client: Any = None
        self._lock = threading.Lock()
        # Point reads wait for the marks of the writes they must see (shared/write_marks.py);
        # None: Strong, when configured so, or when the marks or AllocTimestamp are missing.
        self._marks: WriteMarks | None = None
        # What this process wrote a moment ago, answered without Milvus while provably
        # current (shared/recent_writes.py); only beside the marks, which it relies on.
        self._recent: RecentWrites | None = None
        if settings.point_read_mode == "marks":
            self._marks = WriteMarks(
                Path(settings.data_dir) / "write-marks",
                milvus=settings.effective_milvus_uri,
                collection=self._collection,
            )
            self._recent = RecentWrites(self._marks)
        # Why the marks could not be used, when they broke: this process then reads Strong, and
        # refuses writes, which the other processes sharing the table could not see marked.
        self._marks_error = ""
        # A timestamp taken when this process connected: every write acknowledged before
        # then, marked or not (older data, other tools), is visible at or after it.
        self._floor = 0
        self._marker_pool: ThreadPoolExecutor | None = None
        self._marker_pid = -1
        self._marker_lock = threading.Lock()
        # Acknowledged writes waiting for their mark: (table, slots), for the marker thread.
        self._unmarked: list[tuple[WriteMarks, np.ndarray]] = []
        self._unmarked_pid = os.getpid()
        self._unmarked_lock = threading.Lock()

    # --- connection ---------------------------------------------------------------------
    def describe(self) -> str:
        """Where the data lives, for /health; never the token."""
        if self._settings.embedded_milvus:
            return f"{self._settings.milvus_backend} at {self._settings.effective_milvus_uri}"
        return self._settings.milvus_uri.split("@")[-1]

    def _connect(self, load_wait_s: float) -> Any:
        from pymilvus import MilvusClient

        from shared.milvus_server import client_token

        client = MilvusClient(
            uri=self._settings.effective_milvus_uri,
            # Read at every connection: the embedded Milvus's secret appears at its first start,
            # which a server started beside it may be waiting for.
            token=client_token(self._settings),
            timeout=self._timeout,
        )
        try:
            # Taken before the Strong query of the load below, which the query nodes answer
            # only once they are past it: reads at this floor then do not wait.
            floor = self._timestamp(client) if self._marks is not None else 0
            self._ensure_collection(client, load_wait_s)
        except BaseException:
            client.close()
            raise
        marks = self._marks
        if marks is not None and not floor:
            log.warning(
                "Milvus at %s allocates no timestamps (milvus-lite does not): point reads "
                "use Strong consistency",
                self.describe(),
            )
            self._marks = self._recent = None
        elif marks is not None:
            try:
                marks.latest()  # opens (or creates) the table now rather than at a write
            except OSError as exc:
                self._marks_broke(marks, exc)
        self._floor = max(self._floor, floor)
        return client

    def _timestamp(self, client: Any) -> int:
        """A fresh Milvus timestamp, later than that of every write acknowledged so far.

        ``AllocTimestamp`` (Milvus's hybrid clock, ~1 ms). pymilvus 3.0 has it on its
        connection only, not on ``MilvusClient``; it answers 0 where the server lacks it.
        """
        connection = client._get_connection()
        return int(
            connection.alloc_timestamp(
                timeout=self._timeout, context=client._generate_call_context()
            )
        )

    def _mark_all(self, client: Any) -> None:
        """Record an acknowledged write of unknown ids (a delete by filter) for point reads."""
        marks = self._marks
        if marks is None:
            return
        timestamp = self._timestamp(client)
        if not timestamp:
            raise BackendUnavailable("Milvus did not allocate a timestamp; try again shortly")
        try:
            marks.mark_all(timestamp)
        except OSError as exc:
            # The table opened at connect, so this is unexpected. Another worker may read this
            # delete's previous state for a tick or two; no later write goes unmarked.
            self._marks_broke(marks, exc)

    def _marks_broke(self, marks: WriteMarks, exc: OSError) -> None:
        """The table cannot be used: read Strong here, and refuse writes from now on."""
        self._marks_error = f"the write marks at {marks.path} cannot be used ({exc})"
        log.error("%s: point reads use Strong, writes answer 503", self._marks_error)
        self._marks = self._recent = None

    def _refuse_unmarked_writes(self) -> None:
        if self._marks_error:
            # A write this process cannot mark would be invisible to the point reads of the
            # other processes sharing the table (they trust the marks): refuse it instead.
            raise BackendUnavailable(
                f"{self._marks_error}; writes are refused until a restart can use it, so "
                "that no worker reads a stale document"
            )

    def _write(
        self,
        what: str,
        doc_ids: Sequence[str],
        operation: Callable[[Any], None],
        *,
        timeout: float | None = None,
        rows: Sequence[tuple[str, dict[str, Any] | None]] = (),
    ) -> None:
        """Run the write ``operation(client)`` of ``doc_ids`` and mark it for point reads.

        The ids count as in flight (their point reads read Strong) from before the write until
        their mark is recorded, which happens after this returns, on the marker thread: the
        caller is answered without waiting for ``AllocTimestamp``. ``rows`` (id, the row as
        Milvus will return it, or None for a delete) go to this process's recent writes.
        """
        marks = self._marks
        if marks is None:
            self._refuse_unmarked_writes()
            self._call(what, operation)
            return
        # In flight for at most: the lock or a reconnect, the write, the marker's retries.
        hold_s = 2 * self._timeout + (timeout or self._timeout) + MARK_RETRY_S + HOLD_MARGIN_S
        recent = self._recent
        try:
            if recent is not None:
                write = recent.begin(doc_ids, hold_s)
                in_flight = write.slots
            else:
                in_flight = marks.begin(doc_ids, hold_s)
        except OSError as exc:
            self._marks_broke(marks, exc)
            self._refuse_unmarked_writes()
        acknowledged: Sequence[tuple[str, dict[str, Any] | None]] | None = None
        try:
            self._call(what, operation)
            acknowledged = rows
        finally:
            if recent is not None:
                recent.acknowledged(write, acknowledged)
            # Marked even when the write failed: it may have been applied all the same.
            with self._unmarked_lock:
                if self._unmarked_pid != os.getpid():  # forked: the parent's list is not ours
                    self._unmarked, self._unmarked_pid = [], os.getpid()
                self._unmarked.append((marks, in_flight))
                first = len(self._unmarked) == 1
            if first:
                try:
                    self._marker().submit(self._finish_marks)
                except RuntimeError:  # the store is closing (the pool shut down): mark here
                    self._finish_marks()

    def _marker(self) -> ThreadPoolExecutor:
        """One thread per process that records marks (made again in a forked child)."""
        with self._marker_lock:
            if self._marker_pool is None or self._marker_pid != os.getpid():
                self._marker_pool = ThreadPoolExecutor(1, thread_name_prefix="write-marks")
                self._marker_pid = os.getpid()
            return self._marker_pool

    def _finish_marks(self) -> None:
        """Mark every write acknowledged so far with one fresh timestamp."""
        # Let the answer of the write that asked for this leave first (on one core the two
        # compete), and let the writes of the next few milliseconds share the timestamp.
        time.sleep(MARK_DELAY_S)
        with self._unmarked_lock:
            unmarked, self._unmarked = self._unmarked, []
        give_up = time.monotonic() + MARK_RETRY_S
        pause = 0.2
        while True:
            try:
                timestamp = self._call("timestamp", self._timestamp)
                if not timestamp:
                    raise BackendUnavailable("Milvus did not allocate a timestamp")
                for marks, in_flight in unmarked:
                    marks.finish(in_flight, timestamp)
                    if self._recent is not None:
                        self._recent.finished(in_flight)
                return
            except Exception as exc:  # noqa: BLE001 - a thread of our own: log, never raise
                if time.monotonic() + pause > give_up:
                    # The slots stay in flight, read Strong, until their hold ends; Milvus
                    # has long applied the writes by then.
                    log.warning("could not mark writes for point reads (%s); they read Strong", exc)
                    return
                time.sleep(pause)
                pause = min(pause * 2, 2.0)

    def _guarantee(self, doc_id: str | None) -> dict[str, Any]:
        """Consistency arguments of a point read of ``doc_id`` (None: of any document)."""
        marks = self._marks
        if marks is not None and self._floor:
            try:
                mark = marks.of(doc_id) if doc_id is not None else marks.latest()
            except OSError as exc:
                log.error("write marks at %s failed (%s); reading Strong", marks.path, exc)
            else:
                if mark is None:  # a write of this id is in flight: its timestamp is unknown
                    return {"consistency_level": "Strong"}
                # Customized: Milvus waits for exactly this timestamp (Session would be
                # replaced by pymilvus's own per-process one).
                return {
                    "consistency_level": "Customized",
                    "guarantee_timestamp": max(mark, self._floor),
                }
        return {"consistency_level": "Strong"}

    def _ensure_collection(self, client: Any, load_wait_s: float) -> None:
        if not client.has_collection(self._collection, timeout=self._timeout):
            if not self._create_missing:
                return
            self._create_collection(client)
        elif not client.list_indexes(self._collection, timeout=self._timeout):
            # Creating a collection and its index are two calls: a process that stopped (or
            # timed out) between them left a collection that can never load. Finish the job.
            index = vector_index(client, self._settings.index_type)
            client.create_index(self._collection, index, timeout=max(self._timeout, 30.0))
            log.warning("collection %s had no vector index; created it", self._collection)
        # Load on every start, not only after an insert: this is what keeps search working
        # after a Milvus restart. Loading a loaded collection is a cheap no-op.
        _load_and_wait(client, self._collection, wait_s=load_wait_s, timeout=self._timeout)

    def _create_collection(self, client: Any) -> None:
        assert self._dimension is not None, "checked in __init__"
        schema = collection_schema(
            client, dimension=self._dimension, max_tags=max(self._settings.max_tags, 1)
        )
        index = vector_index(client, self._settings.index_type)
        client.create_collection(
            self._collection, schema=schema, index_params=index, timeout=max(self._timeout, 30.0)
        )

    def _call(self, what: str, operation: Callable[[Any], T]) -> T:
        """Run ``operation(client)``; an outage becomes BackendUnavailable, fast.

        Only the operation's own refusals can be malformed requests: any failure to connect
        (a bad URI included) is an outage of the backend as the apps see it.
        """
        connected = False
        # While one request reconnects (up to one timeout), the others wait for it no longer
        # than one timeout either: a burst during a Milvus restart gets its 503s together,
        # not one timeout after another.
        if not self._lock.acquire(timeout=self._timeout):
            raise BackendUnavailable(
                f"Milvus is being reconnected and the {what} could not wait; try again shortly"
            )
        try:
            try:
                if self._client is None:
                    # Inside a request, wait no longer than one call's timeout (a fast 503).
                    self._client = self._connect(load_wait_s=self._timeout)
                client = self._client
            finally:
                self._lock.release()
            connected = True
            return operation(client)
        except BackendUnavailable:
            raise
        except Exception as exc:
            if connected and is_malformed_request(exc):
                raise  # our bug, not an outage: the apps log it and answer 500
            if "not loaded" in str(exc).lower() and self._client is not None:
                # Milvus restarted without restoring the Loaded state (milvus-lite does
                # this): ask it to load, without waiting (a fast 503); the next request
                # reconnects and waits for it within its own timeout.
                with contextlib.suppress(Exception):
                    self._client.load_collection(
                        self._collection, timeout=self._timeout, _async=True
                    )
            log.warning("Milvus %s failed: %s", what, exc, exc_info=log.isEnabledFor(logging.DEBUG))
            if connected and _is_deadline(exc):
                # Milvus is up but slower than the timeout (overloaded, or hung): keep the
                # connection. Dropping it made every request arriving during the reconnect
                # wait for it and fail too (measured: 20 of ~300 searches, Flask with 64
                # threads and no batching); a hung Milvus still costs each call one timeout.
                raise BackendUnavailable(
                    f"Milvus did not answer the {what} in time; try again shortly"
                ) from exc
            self._drop_client()
            raise BackendUnavailable(
                f"Milvus did not answer the {what} in time or is unreachable; try again shortly"
            ) from exc

    def _drop_client(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - the connection is already broken
                pass

    def connect(self, *, load_wait_s: float = 120.0) -> None:
        """Connect, create the collection if missing and wait until it is loaded.

        At start-up a worker may wait for a restarted Milvus to finish loading; raises
        BackendUnavailable when Milvus cannot be reached.
        """
        with self._lock:
            if self._client is not None:
                return
        try:
            client = self._connect(load_wait_s=load_wait_s)
        except BackendUnavailable:
            raise
        except Exception as exc:
            raise BackendUnavailable(
                f"Milvus at {self.describe()} cannot be reached or refused the collection"
            ) from exc
        with self._lock:
            self._client = client

    def close(self) -> None:
        with self._marker_lock:
            marker, self._marker_pool = self._marker_pool, None
        if marker is not None and self._marker_pid == os.getpid():
            marker.shutdown(wait=True)  # every acknowledged write is marked before we go
        self._drop_client()
        if self._marks is not None:
            self._marks.close()

    # --- operations ---------------------------------------------------------------------
    def exists(self) -> bool:
        """Whether the collection exists (always, once connected, unless ``create_missing``
        was False)."""
        return bool(
            self._call(
                "collection check",
                lambda client: client.has_collection(self._collection, timeout=self._timeout),
            )
        )

    def upsert(self, documents: Sequence[NewDocument], vectors: Vectors) -> None:
        if not documents:
            return
        now_ms = int(time.time() * 1000)
        rows = [
            {
                "id": doc.id,
                "vector": vector.tolist(),
                "title": doc.title,
                "text": doc.text,
                "tags": list(doc.tags),
                "created_at": now_ms,
            }
            for doc, vector in zip(documents, np.asarray(vectors, dtype=np.float32), strict=True)
        ]
        ids = [doc.id for doc in documents]

        # One document gets the same timeout as every call (a fast 503 when Milvus hangs); a
        # batch gets more, in proportion: 256 rows take several times one row's time.
        timeout = self._timeout * max(1.0, len(rows) / UPSERT_ROWS_PER_TIMEOUT)

        self._write(
            "upsert",
            ids,
            lambda client: client.upsert(self._collection, data=rows, timeout=timeout),
            timeout=timeout,
            rows=[(row["id"], {k: v for k, v in row.items() if k != "vector"}) for row in rows],
        )

    def get(self, doc_id: str) -> Document | None:
        # Sees every write of this id acknowledged before, through any worker (the marks).
        row = self._get_row(doc_id)
        if row is None:
            return None
        return Document(
            id=row["id"],
            title=row["title"],
            text=row["text"],
            tags=list(row["tags"]),
            created_at=int(row["created_at"]),
        )

    def _get_row(
        self, doc_id: str, output_fields: Sequence[str] = _OUTPUT_FIELDS
    ) -> dict[str, Any] | None:
        if self._recent is not None:
            known, row = self._recent.lookup(doc_id)
            if known:  # this process wrote it a moment ago, and nobody wrote it since
                return None if row is None else {k: row[k] for k in output_fields}
        rows = self._call(
            "read",
            lambda client: client.get(
                self._collection,
                ids=[doc_id],
                output_fields=list(output_fields),
                timeout=self._timeout,
                **self._guarantee(doc_id),
            ),
        )
        return dict(rows[0]) if rows else None

    def delete(self, doc_id: str) -> bool:
        # Milvus reports the number of ids asked for, not of rows removed: look first. The
        # look is a point read (fast unless this id was written a moment ago).
        if self._get_row(doc_id, ["id"]) is None:
            return False

        self._write(
            "delete",
            [doc_id],
            lambda client: client.delete(self._collection, ids=[doc_id], timeout=self._timeout),
            rows=[(doc_id, None)],
        )
        return True

    def delete_id_prefix(self, prefix: str) -> int:
        """Delete every document whose id starts with ``prefix``; returns how many there were.

        For tidying up after a run that wrote documents of its own (the benchmark's). The
        prefix may hold only letters, digits, '.' and '-': in a LIKE pattern '_' and '%'
        are wildcards, and no other character can start an id.
        """
        if not _LIKE_SAFE.fullmatch(prefix):
            raise ValueError(f"an id prefix may hold only [A-Za-z0-9.-], got {prefix!r}")
        where = f'id like "{prefix}%"'
        rows = self._call(
            "count",
            lambda client: client.query(
                self._collection,
                filter=where,
                output_fields=["count(*)"],
                timeout=self._timeout,
                **self._guarantee(None),
            ),
        )
        found = int(rows[0]["count(*)"]) if rows else 0
        if found:
            self._refuse_unmarked_writes()

            def delete(client: Any) -> None:
                client.delete(self._collection, filter=where, timeout=self._timeout)
                self._mark_all(client)

            self._call("delete", delete)
        return found

    def wait_visible(self) -> None:
        """Return once every write acknowledged so far is applied by the query nodes.

        One Strong query waits for them to pass the current time tick (about 200 ms).
        """
        self.count(strong=True)

    def count(self, *, strong: bool = False) -> int:
        """Rows in the collection; ``strong`` waits for every acknowledged write (~200 ms)."""
        rows = self._call(
            "count",
            lambda client: client.query(
                self._collection,
                filter="",
                output_fields=["count(*)"],
                timeout=self._timeout,
                consistency_level="Strong" if strong else self._settings.read_consistency,
            ),
        )
        return int(rows[0]["count(*)"]) if rows else 0

    def search(
        self, vector: Sequence[float], *, top_k: int, tags: Sequence[str] | None = None
    ) -> list[SearchHit]:
        return self.search_many([vector], top_k=top_k, tags=tags)[0]

    def search_many(
        self, vectors: Sequence[Sequence[float]], *, top_k: int, tags: Sequence[str] | None = None
    ) -> list[list[SearchHit]]:
        """The hits of each vector, in order, from one Milvus request (the batcher sends many).

        Milvus answers each query vector of a request on its own, as if it had been sent
        alone with the same limit, filter and parameters.
        """
        params: dict[str, Any] = {"metric_type": "COSINE", "params": {}}
        if self._settings.index_type == "HNSW":
            params["params"] = {"ef": max(64, top_k)}
        elif self._settings.index_type == "IVF_FLAT":
            params["params"] = {"nprobe": 16}
        results = self._call(
            "search",
            lambda client: client.search(
                self._collection,
                data=[list(map(float, vector)) for vector in vectors],
                limit=top_k,
                filter=tag_filter(tags),
                output_fields=["title", "text"],
                search_params=params,
                timeout=self._timeout,
                consistency_level=self._settings.read_consistency,
            ),
        )
        return [
            [
                SearchHit(
                    id=str(hit["id"]),
                    score=round(float(hit["distance"]), 6),
                    title=hit["entity"]["title"],
                    text=hit["entity"]["text"],
                )
                for hit in hits
            ]
            for hits in results
        ]

    def flush(self) -> None:
        """Seal what was written (after a bulk load), so searches no longer scan a memtable."""
        self._call("flush", lambda client: client.flush(self._collection, timeout=60.0))


def collection_schema(client: Any, *, dimension: int, max_tags: int) -> Any:
    """The documents' schema: what every collection of this project holds."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("title", DataType.VARCHAR, max_length=_TITLE_BYTES)
    schema.add_field("text", DataType.VARCHAR, max_length=_TEXT_BYTES)
    schema.add_field(
        "tags",
        DataType.ARRAY,
        element_type=DataType.VARCHAR,
        max_capacity=max_tags,
        max_length=_TAG_BYTES,
    )
    schema.add_field("created_at", DataType.INT64)
    return schema


def vector_index(client: Any, index_type: str) -> Any:
    """The vector index (COSINE) with the build parameters this project uses for each type."""
    params: dict[str, Any] = {}
    if index_type == "HNSW":
        params = {"M": 16, "efConstruction": 200}
    elif index_type == "IVF_FLAT":
        params = {"nlist": 128}
    index = client.prepare_index_params()
    index.add_index(field_name="vector", index_type=index_type, metric_type="COSINE", params=params)
    return index


def _is_deadline(exc: BaseException) -> bool:
    """Whether a call failed only by running past its timeout on a live connection.

    Two forms, both measured: the client's own deadline (gRPC DEADLINE_EXCEEDED, which
    pymilvus passes on as it is) and the proxy's (a MilvusException "... message=proxy
    TaskCondition context Done", or "context deadline exceeded"). A refused or broken
    connection reads differently ("Fail connecting", UNAVAILABLE) and is an outage.
    """
    import grpc

    if isinstance(exc, grpc.RpcError):
        return bool(exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED)
    text = str(exc).lower()
    return "context done" in text or "context deadline exceeded" in text


def is_malformed_request(exc: BaseException) -> bool:
    """Whether Milvus (or pymilvus, before sending) refused the request itself as invalid.

    Such a request fails the same way on every retry and on every Milvus, so answering 503
    ("try again shortly") would hide a bug behind an outage. Anything that may be an outage
    (a connection made or remade inside the call, a retriable error, a gRPC status) is not.
    """
    import grpc
    from pymilvus.exceptions import (
        ConnectError,
        DataNotMatchException,
        DataTypeNotMatchException,
        MilvusException,
        MilvusUnavailableException,
        ParamError,
    )

    if isinstance(exc, grpc.RpcError | ConnectError | MilvusUnavailableException):
        return False
    if isinstance(exc, MilvusException):
        if exc.retriable or exc.code == _CONNECT_FAILED:
            return False
        if exc.is_input_error:
            return True
    if isinstance(exc, ParamError | DataNotMatchException | DataTypeNotMatchException):
        return True
    return any(pattern.search(str(exc)) for pattern in _MALFORMED_PATTERNS)


def _load_and_wait(client: Any, collection: str, *, wait_s: float, timeout: float) -> None:
    """Have the collection loaded and wait, at most ``wait_s``, until a Strong query succeeds.

    After a restart Milvus restores the collection by itself and says "Loading" for a while
    (measured after a SIGKILL; docs/failure-behaviour.md keeps the figures), during which
    searches fail. It
    answers searches about a second before ``get_load_state`` says Loaded, and pymilvus's
    own ``load_collection`` polls that state (in 0.5 s steps, up to its timeout): so the
    load is only asked for, when Milvus says NotLoad, and never waited for. What is waited
    for is a Strong query: until one succeeds, reads stall or miss rows (the log replay);
    it costs a time tick (~200 ms) once it can.
    """
    deadline = time.monotonic() + wait_s
    state = str(client.get_load_state(collection, timeout=timeout).get("state", ""))
    if "NotLoad" in state:
        client.load_collection(collection, timeout=timeout, _async=True)
    while True:
        try:
            client.query(
                collection,
                filter="",
                output_fields=["count(*)"],
                consistency_level="Strong",
                timeout=max(0.5, min(timeout, deadline - time.monotonic())),
            )
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise BackendUnavailable(
                    "Milvus is loading the collection after a restart; try again shortly"
                ) from exc
            time.sleep(0.2)
