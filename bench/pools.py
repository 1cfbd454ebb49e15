"""The fixed, seeded request pool: queries, query vectors and documents for the scenarios.

Built once per results directory and saved there (``pool.json``), so both twins get the
same requests in the same order, and a run can be repeated with the very same pool.
Queries come from the demo corpus (``shared.corpus``) when it is available, else from a
small sample of stdlib docstrings gathered here.
"""

from __future__ import annotations

import importlib
import inspect
import json
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Pool", "build_pool", "load_pool", "save_pool"]

DIMENSION = 384
_FALLBACK_MODULES = (
    "json", "os", "re", "collections", "itertools", "functools", "pathlib", "string",
    "textwrap", "datetime", "statistics", "random", "heapq", "bisect", "csv", "argparse",
)


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


def _corpus_docs() -> tuple[str, list[dict[str, Any]]]:
    """The demo corpus as plain dicts, or a stdlib fallback when shared.corpus is absent."""
    try:
        corpus = importlib.import_module("shared.corpus")
        docs = [
            {"id": str(d.id), "title": str(d.title), "text": str(d.text), "tags": list(d.tags)}
            for d in corpus.build_corpus()
        ]
        if docs:
            return "shared.corpus", docs
    except ImportError:
        pass
    docs = []
    for module_name in _FALLBACK_MODULES:
        module = importlib.import_module(module_name)
        for name, obj in sorted(vars(module).items()):
            doc = inspect.getdoc(obj) if not name.startswith("_") else None
            if doc and len(doc) > 40:
                docs.append(
                    {"id": f"{module_name}.{name}", "title": f"{module_name}.{name}",
                     "text": doc[:2000], "tags": [module_name]}
                )
    return "stdlib-fallback", docs


def _embed(queries: list[str], rng: random.Random) -> tuple[str, list[list[float]]]:
    """Embed the queries with the project's model; seeded unit vectors if it is missing."""
    try:
        from shared.config import get_settings
        from shared.embedder import SentenceTransformerEmbedder

        settings = get_settings()
        embedder = SentenceTransformerEmbedder(
            name=settings.model_name, model_path=settings.model_path, torch_threads=1
        )
        matrix = embedder.encode(queries)
        return settings.model_name, [[round(float(x), 6) for x in row] for row in matrix]
    except ImportError:
        vectors = []
        for _ in queries:
            row = [rng.gauss(0.0, 1.0) for _ in range(DIMENSION)]
            norm = sum(x * x for x in row) ** 0.5
            vectors.append([round(x / norm, 6) for x in row])
        return "seeded-random-unit", vectors


def build_pool(*, seed: int = 20261125, size: int = 200, documents: int = 600) -> Pool:
    """A seeded sample: ``size`` queries (with vectors) and ``documents`` docs to write."""
    rng = random.Random(seed)
    source, docs = _corpus_docs()
    picked = rng.sample(docs, min(size, len(docs)))
    queries = [q for q in (_first_sentence(d["text"]) for d in picked) if q] or ["search"]
    vector_source, vectors = _embed(queries, rng)
    to_write = [
        {"title": d["title"][:200], "text": d["text"][:2000], "tags": d["tags"][:10]}
        for d in rng.sample(docs, min(documents, len(docs)))
    ]
    tags = sorted({t for d in picked for t in d["tags"] if 1 <= len(t) <= 32})[:50]
    return Pool(seed, source, vector_source, queries, vectors, to_write, tags)


def save_pool(pool: Pool, path: Path) -> None:
    path.write_text(json.dumps(asdict(pool)), encoding="utf-8")


def load_pool(path: Path) -> Pool:
    return Pool(**json.loads(path.read_text(encoding="utf-8")))
