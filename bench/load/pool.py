"""The fixed, seeded request pool: queries, query vectors and documents for the scenarios.

Built once per results directory and saved there (``pool.json``), so both twins get the
same requests in the same order, and a run can be repeated with the very same pool.
Queries and documents come from the demo corpus (``shared.corpus``, the documents Milvus
holds), query vectors from the project's model: never a stand-in, so a pool is always the
real workload.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.results import slug
from shared.config import PROJECT_ROOT

__all__ = [
    "Pool",
    "build_pool",
    "load_pool",
    "save_pool",
    "pool_for_run",
    "cached_pool",
    "POOL_SEED",
    "POOL_CACHE",
]

DIMENSION = 384
POOL_SEED = 20261125
# Where the pool is cached between runs (beside the bench's own Milvus data).
POOL_CACHE = PROJECT_ROOT / ".data" / "bench"


@dataclass
class Pool:
    """Everything the scenarios send. ``vectors[i]`` is the embedding of ``queries[i]``."""

    seed: int
    source: str
    vector_source: str
    queries: list[str] = field(default_factory=list)
    vectors: list[list[float]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def _first_sentence(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return sentence[:limit].strip()


def _corpus_docs() -> list[dict[str, Any]]:
    """The demo corpus (the same documents Milvus holds), as plain dicts."""
    from shared.corpus import build_corpus

    return [
        {"id": d.id, "title": d.title, "text": d.text, "tags": list(d.tags)} for d in build_corpus()
    ]


def _embed(queries: list[str]) -> tuple[str, list[list[float]]]:
    """The queries embedded by the project's model: what /search/vector is sent."""
    from shared.config import get_settings
    from shared.embedder import SentenceTransformerEmbedder

    settings = get_settings()
    embedder = SentenceTransformerEmbedder(
        name=settings.model_name, model_path=settings.model_path, torch_threads=1
    )
    matrix = embedder.encode(queries)
    return settings.model_name, [[round(float(x), 6) for x in row] for row in matrix]


def build_pool(*, seed: int = POOL_SEED, size: int = 200, documents: int = 600) -> Pool:
    """A seeded sample: ``size`` queries (with vectors) and ``documents`` docs to write."""
    rng = random.Random(seed)
    docs = _corpus_docs()
    picked = rng.sample(docs, min(size, len(docs)))
    queries = [q for q in (_first_sentence(d["text"]) for d in picked) if q] or ["search"]
    vector_source, vectors = _embed(queries)
    to_write = [
        {"title": d["title"][:200], "text": d["text"][:2000], "tags": d["tags"][:10]}
        for d in rng.sample(docs, min(documents, len(docs)))
    ]
    tags = sorted({t for d in picked for t in d["tags"] if 1 <= len(t) <= 32})[:50]
    return Pool(seed, "shared.corpus", vector_source, queries, vectors, to_write, tags)


def save_pool(pool: Pool, path: Path) -> None:
    path.write_text(json.dumps(asdict(pool)), encoding="utf-8")


def load_pool(path: Path) -> Pool:
    return Pool(**json.loads(path.read_text(encoding="utf-8")))


def cached_pool(cache_dir: Path = POOL_CACHE, model_name: str | None = None) -> Path:
    """The seeded pool, built once per machine and model (embedding it costs ~15 s).

    Keyed by the model too: another model's query vectors would not fit the collection.
    """
    if model_name is None:
        from shared.config import get_settings

        model_name = get_settings().model_name
    cached = cache_dir / f"pool-{POOL_SEED}-{slug(model_name)}.json"
    if not cached.exists():
        print(f"building the request pool (once per machine): {cached}", file=sys.stderr)
        cached.parent.mkdir(parents=True, exist_ok=True)
        save_pool(build_pool(seed=POOL_SEED), cached)
    return cached


def pool_for_run(results_dir: Path, *, cache_dir: Path = POOL_CACHE) -> Path:
    """The cached pool, copied into the run's folder (the run keeps what it sent)."""
    target = results_dir / "pool.json"
    shutil.copy2(cached_pool(cache_dir), target)
    return target
