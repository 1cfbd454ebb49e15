"""What an ingest job does to the text searches beside it, in one process, batched or not.

Run: ``python -m studies.ingest_beside [--rounds 2] [--rows 80] [--rate 20]
[--consistency Session Bounded]`` (about three minutes on 2 cores; run it alone).

The bench's ``ingest_under_load`` step measures this over HTTP, through each twin, one run
each; this probe takes HTTP, the servers and their spread away to see the core alone. It
starts its own Milvus (a free port, a temporary data directory, pinned to the second CPU,
stopped and deleted afterwards) and runs the service in this process on the first CPU, one
torch thread, as a bench server does. Each round, for each way of searching, it sends the
bench's text-search queries at ``--rate`` per second (open model: latency counts from the
intended send time) and, three seconds in, submits one ingest job of ``--rows`` of the
bench's documents, then keeps searching two seconds past the job's end. Ways:

* ``naive``: each search encodes alone on its own thread (batching off);
* ``batched``: the search batcher, ingest chunks sized to its time slice (the default);
* ``batched, 8 a chunk``: the batcher with a slice so long that every chunk after the first
  takes 8 texts, as the batcher did before its chunks were sized by time.

It prints, per read consistency and way, the medians over rounds of the searches' p50 and
p95 during the job, the job's seconds, and the ingest chunks the batcher formed. The read
consistency matters because a search in the process that wrote waits, under Session, for
Milvus to apply that write (a time tick, 200-400 ms); Bounded does not wait.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.load.pool import build_pool
from bench.run.cpu import pin_current
from bench.stats import percentile
from shared.config import Settings, get_settings
from shared.embedder import SentenceTransformerEmbedder
from shared.jobs import JobRegistry
from shared.launcher import own_milvus
from shared.service import SearchService
from shared.vector_store import MilvusVectorStore

__all__ = ["main", "Phase", "during_the_job"]

JOB_AFTER_S = 3.0
TAIL_S = 2.0
# The batcher's chunks before they were sized by time: a slice no chunk of 8 reaches.
COUNT_SLICE_S = 10.0
WAYS = {"naive": None, "batched": None, "batched, 8 a chunk": COUNT_SLICE_S}


@dataclass(frozen=True)
class Phase:
    """The searches sent while the job ran."""

    n: int
    p50_ms: float
    p95_ms: float


def during_the_job(sent: Sequence[tuple[float, float]], start_s: float, end_s: float) -> Phase:
    """``sent``: (intended send time, latency ms) per search; the ones sent during the job."""
    latencies = np.sort([ms for at, ms in sent if start_s <= at <= end_s])
    # The report's own nearest-rank percentiles, so the figures read alike.
    return Phase(len(latencies), percentile(latencies, 50), percentile(latencies, 95))


def one_round(
    service: SearchService, queries: list[str], rows: list[dict[str, object]], rate: float
) -> tuple[Phase, float, int]:
    """Searches at ``rate`` beside one ingest job; the phase, the job's seconds, its chunks."""
    sent: list[tuple[float, float]] = []
    job: dict[str, float] = {}
    origin = time.perf_counter()

    def search(index: int) -> None:
        intended = origin + index / rate
        time.sleep(max(0.0, intended - time.perf_counter()))
        service.search_text(query=queries[index % len(queries)], top_k=10)
        sent.append((intended - origin, (time.perf_counter() - intended) * 1000))

    def ingest() -> None:
        time.sleep(JOB_AFTER_S)
        job["start"] = time.perf_counter() - origin
        service.submit_documents(rows)
        service.jobs.wait_idle()
        job["end"] = time.perf_counter() - origin

    chunks_before = service.batcher.stats().ingest_chunks if service.batcher else 0
    uploader = threading.Thread(target=ingest)
    uploader.start()
    # Enough threads that no search waits for one: the open model's latency is the server's.
    with ThreadPoolExecutor(max_workers=64) as pool:
        for index in itertools.count():
            if "end" in job and index / rate > job["end"] + TAIL_S:
                break
            pool.submit(search, index)
            time.sleep(max(0.0, origin + (index + 1) / rate - time.perf_counter() - 0.05))
    uploader.join()
    chunks = service.batcher.stats().ingest_chunks - chunks_before if service.batcher else 0
    return during_the_job(sent, job["start"], job["end"]), job["end"] - job["start"], chunks


def _service(
    base: Settings, embedder: SentenceTransformerEmbedder, way: str, consistency: str
) -> SearchService:
    slice_s = WAYS[way]
    overrides: dict[str, object] = {
        "search_batching": way != "naive",
        "read_consistency": consistency,
    }
    if slice_s is not None:
        overrides["search_batch_ingest_slice_s"] = slice_s
    settings = get_settings(**{**base.model_dump(), **overrides})
    store = MilvusVectorStore(settings=settings, dimension=embedder.dimension)
    store.connect()
    jobs = JobRegistry(Path(tempfile.mkdtemp(prefix="ingest-beside-jobs-")))
    return SearchService(settings=settings, embedder=embedder, store=store, jobs=jobs)


def _rows(documents: list[dict[str, object]], count: int) -> list[dict[str, object]]:
    """``count`` of the bench's documents under fresh ids (so each job writes new rows)."""
    prefix = uuid.uuid4().hex[:8]
    cycle = itertools.islice(itertools.cycle(documents), count)
    return [{**doc, "id": f"beside-{prefix}-{i}"} for i, doc in enumerate(cycle)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studies.ingest_beside", description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rows", type=int, default=80, help="rows in each ingest job")
    parser.add_argument("--rate", type=float, default=20.0, help="searches per second")
    parser.add_argument(
        "--consistency", nargs="+", default=["Session", "Bounded"], help="read consistencies"
    )
    args = parser.parse_args(argv)

    pool = build_pool()
    # Milvus on the second CPU (it inherits the affinity it starts with), the service on the
    # first, as the bench gives a server one core.
    pin_current((1,))
    with own_milvus(collection="ingest_beside", torch_threads=1) as base:
        pin_current((0,))
        embedder = SentenceTransformerEmbedder(
            name=base.model_name, torch_threads=1, batch_size=base.encode_batch_size
        )
        found: dict[tuple[str, str], list[tuple[Phase, float, int]]] = {}
        for round_ in range(args.rounds):
            for consistency in args.consistency:
                for way in WAYS:
                    service = _service(base, embedder, way, consistency)
                    rows = _rows(pool.documents, args.rows)
                    try:
                        result = one_round(service, pool.queries, rows, args.rate)
                    finally:
                        service.close()
                    found.setdefault((consistency, way), []).append(result)
                    phase, job_s, chunks = result
                    print(
                        f"round {round_ + 1}, {consistency}, {way}: p95 {phase.p95_ms:.0f} ms "
                        f"(n={phase.n}), job {job_s:.1f} s, {chunks} chunks",
                        file=sys.stderr,
                    )

    print(f"searches at {args.rate:g}/s beside an ingest job of {args.rows} rows, one process,")
    print(f"one core, medians of {args.rounds} rounds:")
    print("| consistency | searching | p50 ms during | p95 ms during | job s | chunks |")
    print("|---|---|---|---|---|---|")
    for (consistency, way), results in found.items():
        print(
            f"| {consistency} | {way} "
            f"| {statistics.median(r[0].p50_ms for r in results):.0f} "
            f"| {statistics.median(r[0].p95_ms for r in results):.0f} "
            f"| {statistics.median(r[1] for r in results):.1f} "
            f"| {statistics.median(r[2] for r in results):.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
