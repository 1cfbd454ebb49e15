"""The Locust scenarios: one FastHttpUser class per scenario, run by ``bench.run.generator``.

Configured by one :class:`bench.load.config.LoadConfig` (the pool, where the raw samples go,
the open model's rate, the run's id prefix, the upload, the targets), which the runner writes
as JSON and names in ``TWINBENCH_LOAD_CONFIG``; see that module for each field and for why
it is handed over that way. Without it (``make locust-ui``, the workshop's labs), every field
takes its default: the cached pool, samples under ``.data/locust-samples``, the closed model.

Every request lands in the raw sample file through the request event, with its exact
latency; Locust's own (bucketed) stats are never read. Each task checks the body, so a fast
wrong answer is a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent
from locust import FastHttpUser, events, task
from locust.contrib.fasthttp import ResponseContextManager
from locust.runners import LocalRunner

from bench.load.config import load_config
from bench.load.pool import Pool, cached_pool, load_pool
from bench.load.samples import SampleWriter, target_tag
from bench.load.schedule import documents_for_deletes, first_send_index, intended_time

# Read as Locust imports this file: the per-target classes at its end are made from it.
_CONFIG = load_config()
_TOP_K = 10

_pool: Pool | None = None
_writer: SampleWriter | None = None
_user_numbers = itertools.count()
# Per user class (only one class's users share a rate): the open model's first intended
# send time, and each user's place on the schedule.
_origins: dict[str, float] = {}
_slots: dict[str, itertools.count[int]] = {}


def pool() -> Pool:
    global _pool
    if _pool is None:
        # Run by hand (`locust -f bench/load/locustfile.py --host URL`), it builds the pool
        # the bench uses, once per machine, and says so.
        _pool = load_pool(_CONFIG.pool or cached_pool())
    return _pool


def _record(
    request_type: str,
    name: str,
    response_time: float,
    exception: BaseException | None,
    context: dict[str, Any],
    start_time: float = 0.0,
    **_: Any,
) -> None:
    global _writer
    if _writer is None:
        _writer = SampleWriter(_CONFIG.samples_dir)
    _writer.add(start_time, response_time, context.get("delay_ms", 0.0), name, exception is None)


def _flush(**_: Any) -> None:
    if _writer is not None:
        _writer.flush()


def _close(**_: Any) -> None:
    if _writer is not None:
        _writer.close()


# Registered by call, not as decorators: Locust's hooks are untyped, and this keeps mypy strict.
events.request.add_listener(_record)  # type: ignore[no-untyped-call]
events.test_stop.add_listener(_flush)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_close)  # type: ignore[no-untyped-call]


def _event(event: str, **fields: Any) -> None:
    """A timeline marker (an upload's start, acceptance and end) for the measured phases."""
    _CONFIG.samples_dir.mkdir(parents=True, exist_ok=True)
    with open(_CONFIG.samples_dir / f"events-{os.getpid()}.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"event": event, "t": time.time(), **fields}) + "\n")


def _fail(response: ResponseContextManager, why: str) -> None:
    message = f"{why}: HTTP {response.status_code} {str(response.text)[:200]}"
    response.failure(message)  # type: ignore[no-untyped-call]


class BenchUser(FastHttpUser):
    """Shared plumbing: the pool, the open-model pacing, body checks for search answers."""

    abstract = True
    # Closed model: no think time, so the sweep over users finds saturation.
    wait_time = staticmethod(lambda: 0.0)
    # Keep-alive on, as real clients do; the servers' own keep-alive behaviour is recorded.
    connection_timeout = 10.0
    network_timeout = 30.0
    # Prefix of every request's name: set on the copies that drive one of several targets.
    tag = ""

    def on_start(self) -> None:
        self.number = next(_user_numbers)
        self.rng = random.Random(pool().seed + self.number)
        self.sent = 0
        self.slot = next(_slots.setdefault(type(self).__name__, itertools.count()))
        self.paced = False

    def pace(self) -> dict[str, float]:
        """Open model: wait for this user's next intended send time; return how late we are.

        The schedule is :mod:`bench.load.schedule`'s: the class's users send ``rate``
        requests/s evenly spaced from the class's first paced request; a user joining late
        (the point reads store documents first) starts at its next slot instead of sending
        the ones it missed (counted as a backlog, setup made the users send at full speed
        into the measured window: 40 req/s of a 25 req/s plan, measured). A user held up by
        a slow answer sends its backlog at once, and each request's latency is counted from
        when it *should* have gone out.
        """
        if _CONFIG.rate <= 0:
            return {}
        # Only this class's users share the rate (an upload user beside them is not paced).
        runner = self.environment.runner
        counts = runner.user_classes_count if runner else {}
        users = max(counts.get(type(self).__name__, 0), 1)
        now = time.perf_counter()
        origin = _origins.setdefault(type(self).__name__, now)
        if not self.paced:
            self.paced = True
            self.sent = first_send_index(
                origin=origin, now=now, slot=self.slot, users=users, rate=_CONFIG.rate
            )
        intended = intended_time(
            origin=origin, slot=self.slot, index=self.sent, users=users, rate=_CONFIG.rate
        )
        self.sent += 1
        wait = intended - now
        if wait > 0:
            gevent.sleep(wait)
        return {"delay_ms": max(time.perf_counter() - intended, 0.0) * 1000}

    def call(
        self,
        method: str,
        path: str,
        *,
        name: str,
        status: int,
        why: str,
        body_ok: Callable[[Any], bool] | None = None,
        json: Any = None,
        paced: bool = True,
    ) -> Any:
        """One request, failed (with ``why``) unless it answers ``status`` and a body that
        ``body_ok`` accepts. Returns the parsed body (True when no body check was asked
        for), or None when the request failed."""
        context = self.pace() if paced else {}
        with self.client.request(
            method, path, json=json, name=self.tag + name, catch_response=True, context=context
        ) as response:
            if response.status_code != status:
                return _fail(response, why)
            # The expected answer, even a 404: Locust would count a 4xx as a failure.
            response.success()
            if body_ok is None:
                return True
            try:
                body = response.json()
                ok = body_ok(body)
            except (ValueError, KeyError, TypeError):
                ok = False
            return body if ok else _fail(response, why)

    def search_text(self) -> None:
        query = {"query": self.rng.choice(pool().queries), "top_k": _TOP_K}
        self.call(
            "POST",
            "/search",
            json=query,
            name="/search",
            status=200,
            why="search failed or its body is not {results: [...], took_ms}",
            body_ok=_search_body_ok,
        )

    def search_vector(self) -> None:
        query = {"vector": self.rng.choice(pool().vectors), "top_k": _TOP_K}
        self.call(
            "POST",
            "/search/vector",
            json=query,
            name="/search/vector",
            status=200,
            why="search failed or its body is not {results: [...], took_ms}",
            body_ok=_search_body_ok,
        )

    def new_document(self) -> dict[str, Any]:
        doc = dict(self.rng.choice(pool().documents) or {"text": "benchmark document"})
        doc["id"] = f"bench-{_CONFIG.run_id}-{self.number}-{self.sent}-{self.rng.randrange(10**9)}"
        return doc


def _search_body_ok(body: Any) -> bool:
    results = body["results"]
    return (
        isinstance(results, list)
        and 0 < len(results) <= _TOP_K
        and all("id" in r and "score" in r for r in results)
        and isinstance(body["took_ms"], int | float)
    )


class HealthUser(BenchUser):
    """The framework floor: GET /health."""

    @task
    def health(self) -> None:
        self.call(
            "GET",
            "/health",
            name="/health",
            status=200,
            why="health is not {status: ok}",
            body_ok=lambda b: b["status"] == "ok",
        )


class EchoUser(BenchUser):
    """Parsing, validation and serialisation only: POST /echo returns the normalised body."""

    @task
    def echo(self) -> None:
        tags = self.rng.sample(pool().tags, min(2, len(pool().tags)))
        sent = {
            "query": self.rng.choice(pool().queries),
            "top_k": self.rng.randint(1, 100),
            "tags": tags,
        }
        self.call(
            "POST",
            "/echo",
            json=sent,
            name="/echo",
            status=200,
            why="echo did not return the body it was sent",
            body_ok=lambda b: all(b[k] == v for k, v in sent.items()),
        )


class SearchVectorUser(BenchUser):
    """Framework + Milvus, no model: POST /search/vector."""

    @task
    def vector(self) -> None:
        self.search_vector()


class SearchTextUser(BenchUser):
    """The full path: embed the query, search Milvus, serialise the hits."""

    @task
    def text(self) -> None:
        self.search_text()


class WriteUser(BenchUser):
    """POST /documents, read it back, delete it: leaves the collection as it found it."""

    @task
    def write(self) -> None:
        doc = self.new_document()
        if (
            self.call(
                "POST",
                "/documents",
                json=doc,
                name="/documents",
                status=201,
                why="create did not answer 201 {id}",
                body_ok=lambda b: b["id"] == doc["id"],
            )
            is None
        ):
            return
        self.call(
            "GET",
            f"/documents/{doc['id']}",
            name="/documents/{id} GET",
            status=200,
            why="a created document could not be read back",
            body_ok=lambda b: b.get("id") == doc["id"],
            paced=False,
        )
        self.call(
            "DELETE",
            f"/documents/{doc['id']}",
            name="/documents/{id} DELETE",
            status=204,
            why="delete did not answer 204",
            paced=False,
        )


class MixedUser(BenchUser):
    """A realistic blend: mostly text search, some vector search, reads and writes."""

    def on_start(self) -> None:
        super().on_start()
        # Reads pick among the latest writes. What the users write, the orchestrator deletes
        # after the step (by the run's id prefix), off the clock.
        self.mine: deque[str] = deque(maxlen=20)

    @task(12)
    def text(self) -> None:
        self.search_text()

    @task(4)
    def vector(self) -> None:
        self.search_vector()

    @task(3)
    def read(self) -> None:
        if not self.mine:
            return self.search_text()
        self.call(
            "GET",
            f"/documents/{self.rng.choice(list(self.mine))}",
            name="/documents/{id} GET",
            status=200,
            why="reading back our own document failed",
        )

    @task(1)
    def write(self) -> None:
        doc = self.new_document()
        if (
            self.call(
                "POST",
                "/documents",
                json=doc,
                name="/documents",
                status=201,
                why="create did not answer 201",
            )
            is not None
        ):
            self.mine.append(doc["id"])


class PointReadUser(BenchUser):
    """Point reads: GET one document by id (two paced requests in thirteen ask for an id
    never written: 404), create one and GET it at once (two in thirteen; the GET, unpaced,
    is a read of a write a moment old, measured on a name of its own), or DELETE one, each
    at most once (two in thirteen): enough deletes and
    missing ids for their p99 in the quick profile's window, few enough deletes that they
    do not load Milvus for the twin measured next (with four in ten, that twin's GET p50
    rose by 1-2 ms). Run at a low fixed rate: what one read costs, not how many fit. The
    documents are written once, at the start, in one batch: a read of a document written in the
    last half second waits for Milvus's next time tick (see docs/milvus-backends.md), which is
    the write's cost, not the read's, and the warm-up keeps those out of the measured window.
    """

    # The task weights below: two paced requests in thirteen are deletes.
    DELETE_SHARE = 2 / 13

    def pool_size(self) -> int:
        """Documents this user stores, from its share of the rate and the run's length."""
        # From the runner, not Locust's options: a forked worker process has no run time.
        return documents_for_deletes(
            user_rate=_CONFIG.user_rate, run_s=_CONFIG.run_s, delete_share=self.DELETE_SHARE
        )

    def on_start(self) -> None:
        super().on_start()
        # One short sentence each, not the corpus's paragraphs: what a point read costs does
        # not depend on the text, and embedding 4 x 15 corpus paragraphs under the 0.5-core
        # quota took longer than the warm-up (measured: the window's first 4 s ran beside the
        # setup, at half the rate and three times the latency).
        docs = [
            {
                "id": f"bench-{_CONFIG.run_id}-{os.getpid()}-{self.number}-point-{i}",
                "title": f"point read {i}",
                "text": f"A short document number {i} for the point-read step.",
                "tags": ["bench"],
            }
            for i in range(self.pool_size())
        ]
        done = self.call(
            "POST",
            "/documents/batch",
            json={"documents": docs},
            name="/documents/batch (setup)",
            status=201,
            why="the setup batch was not stored",
            paced=False,
        )
        self.mine = [doc["id"] for doc in docs] if done is not None else []

    @task(7)
    def read(self) -> None:
        if self.mine:
            self.call(
                "GET",
                f"/documents/{self.rng.choice(self.mine)}",
                name="/documents/{id} GET",
                status=200,
                why="reading a document failed",
            )

    @task(2)
    def read_missing(self) -> None:
        self.call(
            "GET",
            f"/documents/bench-{_CONFIG.run_id}-missing-{self.rng.randrange(10**9)}",
            name="/documents/{id} GET missing",
            status=404,
            why="a missing id was found",
        )

    @task(2)
    def read_after_write(self) -> None:
        """Create, then view at once: the commonest CRUD pattern. The GET is measured on its
        own name, so a read of a document written a moment ago is never mixed with the
        reads of older ones."""
        self.written = getattr(self, "written", 0) + 1
        doc_id = f"bench-{_CONFIG.run_id}-{os.getpid()}-{self.number}-raw-{self.written}"
        created = self.call(
            "POST",
            "/documents",
            json={"id": doc_id, "text": f"Written then read at once, number {self.written}."},
            name="/documents POST (read after write)",
            status=201,
            why="a document to read back was not stored",
        )
        if created is not None:
            self.call(
                "GET",
                f"/documents/{doc_id}",
                name="/documents/{id} GET after write",
                status=200,
                why="a document just written was not read back",
                paced=False,  # at once after its write: that is the point
            )

    @task(2)
    def delete(self) -> None:
        if len(self.mine) > 1:
            doc_id = self.mine.pop(self.rng.randrange(len(self.mine)))
            self.call(
                "DELETE",
                f"/documents/{doc_id}",
                name="/documents/{id} DELETE",
                status=204,
                why="delete did not answer 204",
            )


class IngestSearchUser(BenchUser):
    """The searchers beside an upload: text search at the step's fixed rate."""

    @task
    def text(self) -> None:
        self.search_text()


class UploadUser(FastHttpUser):
    """Sends one upload a little into the run, then ends the run a while after it is done.

    The upload is the same rows either way: an ingest job (accepted at once, followed by
    polls) or one blocking ``POST /documents/batch``. The job's start and end are events on
    the timeline; the searches before, during and after it are the measured phases.
    """

    abstract = True
    fixed_count = 1
    wait_time = staticmethod(lambda: 3600.0)

    def rows(self) -> list[dict[str, Any]]:
        # Ids under the step's prefix: the orchestrator deletes them after the step, so every
        # step (and every later run) searches the corpus as it was built. Fixed ids kept
        # their rows for good: the first run searched 11,572 documents, every later one 11,652.
        cycle = itertools.cycle(pool().documents)
        return [
            {**doc, "id": f"bench-{_CONFIG.run_id}-ingest-{i}"}
            for i, doc in enumerate(itertools.islice(cycle, _CONFIG.ingest_docs))
        ]

    @task
    def upload(self) -> None:
        gevent.sleep(_CONFIG.ingest_before_s)
        rows = self.rows()
        _event("job_start", kind=self.kind, rows=len(rows))
        end = self.send(rows)
        _event("job_end", kind=self.kind, rows=len(rows), **end)
        # Searches go on for a while after the job, then the run ends: its length follows
        # the job's, up to the step's cap (Locust's -t).
        gevent.sleep(_CONFIG.ingest_after_s)
        if isinstance(self.environment.runner, LocalRunner):
            # From a greenlet of its own: quit() stops every user first, this one included,
            # and called from here it died with this greenlet before it stopped the runner
            # (measured: each ingest step ran to its 60 s cap with the job done at 18 s).
            # Return rather than sleep: a user waiting between tasks is stopped at once, one
            # inside a task only after Locust's stop timeout.
            gevent.spawn(self.environment.runner.quit)

    kind = "upload"

    def send(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        raise NotImplementedError


class IngestJobUser(UploadUser):
    """The upload as an ingest job: 202 at once, then polled until it is done."""

    kind = "job"

    def send(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        with self.client.post("/ingest", json=rows, name="/ingest", catch_response=True) as r:
            if r.status_code != 202:
                _fail(r, "ingest was not accepted with 202")
                return {"status": f"HTTP {r.status_code}"}
            job_id = r.json()["job_id"]
        # The orchestrator waits for this job before it removes the job's documents.
        _event("job_accepted", job_id=job_id)
        status: dict[str, Any] = {}
        while status.get("status") not in ("done", "failed", "interrupted"):
            gevent.sleep(0.2)
            with self.client.get(
                f"/ingest/{job_id}", name="/ingest/{job_id}", catch_response=True
            ) as answer:
                status = answer.json() if answer.status_code == 200 else {"status": "failed"}
                if status.get("status") in ("failed", "interrupted") or status.get("failed"):
                    # A job that "finished" by refusing its rows is not a fast ingest.
                    _fail(
                        answer,
                        f"ingest ended {status.get('status')} with "
                        f"{status.get('failed')} failed rows",
                    )
        return {
            "status": status.get("status"),
            "processed": status.get("processed"),
            "failed": status.get("failed"),
        }


class BatchUploadUser(UploadUser):
    """The same rows as one blocking POST /documents/batch: answered when all are stored."""

    kind = "blocking batch"

    def send(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        with self.client.post(
            "/documents/batch",
            json={"documents": rows},
            name="/documents/batch",
            catch_response=True,
        ) as r:
            if r.status_code != 201:
                _fail(r, "the batch was not stored with 201")
                return {"status": f"HTTP {r.status_code}"}
        return {"status": "done", "processed": len(rows), "failed": 0}


def _copies_per_target() -> None:
    """``HealthUser0``, ``HealthUser1``, ...: one copy of every scenario class per target in
    the configuration's ``targets``, with its own host and name tag. Locust paces each class on
    its own, so every target gets the step's full rate, in the same seconds as the others."""
    scenarios = [
        cls
        for cls in list(globals().values())
        if isinstance(cls, type) and issubclass(cls, BenchUser) and not cls.__dict__.get("abstract")
    ]
    for index, url in enumerate(_CONFIG.targets):
        for cls in scenarios:
            name = f"{cls.__name__}{index}"
            globals()[name] = type(name, (cls,), {"host": url, "tag": target_tag(index)})


_copies_per_target()
