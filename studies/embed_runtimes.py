"""What the model's runtime does to one short query's cost: the figures behind the default of
``TWINBENCH_EMBED_BACKEND`` (shared/config.py).

Run: ``python -m studies.embed_runtimes [--queries 200] [--rounds 5] [--threads 1]
[--batch 1] [--runtimes torch onnx onnx-int8]``
(about a minute on 2 cores after the first export; run it alone). It makes ``--queries``
short queries of 5-10 words from the demo corpus (the first sentence of seeded corpus
paragraphs, cut to a seeded word count: what users type, unlike the bench's long
first-sentence pool), loads each runtime through ``shared.embed_runtime.load_embedder`` with
``--threads`` threads (exporting to ONNX on first use), warms each up, then encodes all the
queries in calls of ``--batch``, the runtimes taking turns within each of ``--rounds`` rounds,
and prints each runtime's median sentences/s, its ratio to torch, and its lowest cosine
against torch's vectors. Nothing is written but the export cache; no Milvus is needed.
"""

from __future__ import annotations

import argparse
import random
from functools import partial

import numpy as np

from bench.load.pool import _first_sentence
from shared.config import EMBED_BACKENDS, get_settings
from shared.corpus import build_corpus
from shared.embed_runtime import load_embedder
from shared.embedder import Embedder
from studies.encode_cost import per_query_ms

__all__ = ["main", "short_queries"]

SEED = 20261204


def short_queries(count: int, *, seed: int = SEED) -> list[str]:
    """``count`` queries of 5-10 words: seeded corpus first sentences, cut to a seeded length."""
    rng = random.Random(seed)
    sentences = [_first_sentence(doc.text) for doc in build_corpus(limit=5_000)]
    long_enough = [sentence.split() for sentence in sentences if len(sentence.split()) >= 5]
    picked = rng.sample(long_enough, min(count, len(long_enough)))
    return [" ".join(words[: rng.randint(5, 10)]) for words in picked]


def _in_calls(embedder: Embedder, queries: list[str], batch: int) -> None:
    for start in range(0, len(queries), batch):
        embedder.encode(queries[start : start + batch])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m studies.embed_runtimes", description=__doc__)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1, help="queries per encode call")
    parser.add_argument(
        "--runtimes", nargs="+", choices=EMBED_BACKENDS, default=list(EMBED_BACKENDS)
    )
    args = parser.parse_args(argv)
    runtimes = ["torch", *[r for r in args.runtimes if r != "torch"]]

    queries = short_queries(args.queries)
    words = [len(query.split()) for query in queries]
    print(f"{len(queries)} queries, {min(words)}-{max(words)} words, batch {args.batch}")
    embedders = {
        runtime: load_embedder(
            get_settings(embed_backend=runtime), threads=args.threads, batch_size=args.batch
        )
        for runtime in runtimes
    }
    reference = embedders["torch"].encode(queries)
    for embedder in embedders.values():
        _in_calls(embedder, queries[:20], args.batch)  # warm-up
    ms = per_query_ms(
        {
            runtime: partial(_in_calls, embedder, queries, args.batch)
            for runtime, embedder in embedders.items()
        },
        queries=len(queries),
        rounds=args.rounds,
    )
    print(f"{'runtime':<10} {'sentences/s':>12} {'vs torch':>9} {'min cosine':>11}")
    for runtime, embedder in embedders.items():
        cosine = float(np.min(np.sum(embedder.encode(queries) * reference, axis=1)))
        print(
            f"{runtime:<10} {1000 / ms[runtime]:>12.1f} "
            f"{ms['torch'] / ms[runtime]:>8.2f}x {cosine:>11.5f}"
        )


if __name__ == "__main__":
    main()
