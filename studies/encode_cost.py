"""What one text-search query costs the model, alone and in batches: the figures behind
``TWINBENCH_ENCODE_BATCH_SIZE`` (docs/settings.md, shared/config.py, shared/batcher.py).

Run: ``python -m studies.encode_cost [--calls 4] [--queries 32] [--rounds 3] [--threads 1]
[--words N] [--pool questions|first-sentences]``
(under a minute on ONNX, two on torch, on 2 cores; run it alone). It takes the
benchmark's own text-search queries (a seeded request pool of bench/load/pool.py:
``questions`` by default, short questions of 5-10 words; ``first-sentences``, the first
sentence of sampled corpus documents), ``--calls`` groups of ``--queries`` each, as a
batcher would hand them to the model (``--words N``: each query cut to its first N words,
to see what the query's length does to the gain of batching); loads the project's model on
the configured runtime (``TWINBENCH_EMBED_BACKEND``, ONNX by default) with ``--threads``
threads and warms it up; then times every way of encoding once per round, the ways taking
turns, for ``--rounds`` rounds, and prints each way's median cost per query:

* ``alone``: one model call per query, as a search without batching encodes;
* ``one pass of N``: one call per group, padded to its longest query in one forward pass;
* ``passes of B``: one call per group, in forward passes of B (sentence-transformers sorts a
  call's texts by length first, so a short query is padded only to its neighbours).

Nothing is written; no Milvus is needed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.load.pool import DEFAULT_POOL, POOLS, build_pool
from shared.config import get_settings
from shared.embed_runtime import load_embedder

__all__ = ["main", "per_query_ms", "shortened"]


def per_query_ms(
    ways: dict[str, Callable[[], object]], queries: int, rounds: int
) -> dict[str, float]:
    """Each way's median over ``rounds`` of one call's wall time, divided by ``queries``.

    The ways take turns within each round, so a drift of the machine (frequency, caches,
    another process) spreads over all of them instead of favouring the first.
    """
    times: dict[str, list[float]] = {label: [] for label in ways}
    for _ in range(rounds):
        for label, encode in ways.items():
            started = time.perf_counter()
            encode()
            times[label].append((time.perf_counter() - started) * 1000 / queries)
    return {label: statistics.median(values) for label, values in times.items()}


def shortened(query: str, words: int) -> str:
    """The query's first ``words`` words (all of it when ``words`` is 0)."""
    return " ".join(query.split()[:words]) if words > 0 else query


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m studies.encode_cost", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--calls", type=int, default=4, help="groups of queries (default 4)")
    parser.add_argument("--queries", type=int, default=32, help="queries a group (default 32)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds a way (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="model threads (default 1)")
    parser.add_argument("--pool", choices=sorted(POOLS), default=DEFAULT_POOL, help="query pool")
    parser.add_argument(
        "--words", type=int, default=0, help="cut each query to its first N words (default: not)"
    )
    args = parser.parse_args(argv)

    settings = get_settings()
    print("building the request pool (embeds its 200 queries once) ...", flush=True)
    built = build_pool(name=args.pool)
    pool = [shortened(query, args.words) for query in built.queries]
    size = args.queries
    groups = [pool[i * size : (i + 1) * size] for i in range(args.calls)]
    groups = [group for group in groups if len(group) == size]
    if not groups:
        parser.error(f"the pool has {len(pool)} queries: fewer than one group of {size}")
    queries = [query for group in groups for query in group]
    # Both runtimes' embedders encode in passes of their ``batch_size``, set below per way.
    embedder: Any = load_embedder(settings, threads=args.threads)
    tokens = built.query_tokens[: len(queries)]
    print(
        f"{len(groups)} x {size} queries of the bench's {args.pool} pool: "
        f"{statistics.mean(tokens):.0f} tokens on average, {max(tokens)} at most"
        f"{' (before the cut)' if args.words else ''}; runtime {embedder.runtime}, "
        f"{args.threads} thread(s), median of {args.rounds} rounds"
    )
    embedder.batch_size = size
    embedder.encode(groups[0])  # warm-up: the first calls allocate the model's buffers

    def alone() -> None:
        embedder.batch_size = 1
        for query in queries:
            embedder.encode([query])

    def grouped(batch: int) -> Callable[[], None]:
        def encode() -> None:
            embedder.batch_size = batch
            for group in groups:
                embedder.encode(group)

        return encode

    ways: dict[str, Callable[[], object]] = {"alone": alone, f"one pass of {size}": grouped(size)}
    ways.update({f"passes of {batch}": grouped(batch) for batch in (4, 8, 16) if batch < size})
    for label, cost in per_query_ms(ways, len(queries), args.rounds).items():
        print(f"  {label:<16} {cost:6.1f} ms a query")


if __name__ == "__main__":
    main()
