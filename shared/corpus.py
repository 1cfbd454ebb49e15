"""The demo corpus: Python's own documentation, built offline and deterministically.

One document per paragraph (at least 50 characters) of every docstring in the standard
library's source, plus the language-reference help topics that ship with Python
(``pydoc_data.topics``): about 11,500 real, meaningful paragraphs that programmers search,
present on every machine that runs Python, so nothing is downloaded. Sources are parsed with
:mod:`ast` (never imported), files and definitions are visited in sorted order, and the
result depends only on the Python version. Embeddings are cached under ``.data/cache/``
(``Settings.cache_dir``, the same for every command) keyed by the model and a hash of the
corpus content, so a second load, by any command, does not re-embed.

``python -m shared.corpus load`` embeds (or reads the cache) and loads the corpus into the
configured Milvus collection, with progress; ``python -m shared.corpus info`` describes it.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import inspect
import re
import sys
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.config import Settings, get_settings
from shared.documents import NewDocument

__all__ = [
    "build_corpus",
    "corpus_digest",
    "load_corpus",
    "ensure_corpus_loaded",
    "model_key",
    "MIN_DOCS",
]

MIN_DOCS = 10_000
MIN_PARAGRAPH_CHARS = 50
_SKIP_DIRS = {"test", "tests", "idlelib", "site-packages", "lib2to3", "turtledemo", "__pycache__"}
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class _Found:
    qualname: str
    kind: str
    text: str


def _stdlib_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        parts = set(path.relative_to(root).parts[:-1])
        if not parts & _SKIP_DIRS:
            yield path


def _docstrings(path: Path, module: str) -> Iterator[_Found]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return
    doc = ast.get_docstring(tree, clean=True)
    if doc:
        yield _Found(module, "module", doc)
    stack: list[tuple[ast.AST, str]] = [(tree, module)]
    while stack:
        node, prefix = stack.pop(0)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}.{child.name}"
                doc = ast.get_docstring(child, clean=True)
                if doc:
                    kind = "class" if isinstance(child, ast.ClassDef) else "function"
                    yield _Found(name, kind, doc)
                if isinstance(child, ast.ClassDef):
                    stack.append((child, name))


def _document_id(qualname: str) -> str:
    clean = _ID_UNSAFE.sub("_", qualname)
    if len(clean) <= 64:
        return clean
    digest = hashlib.sha1(qualname.encode()).hexdigest()[:10]
    return f"{clean[:53]}-{digest}"


def _paragraphs(text: str) -> list[str]:
    return [part.strip() for part in text.split("\n\n") if len(part.strip()) >= MIN_PARAGRAPH_CHARS]


def _sources() -> Iterator[_Found]:
    root = Path(sysconfig.get_paths()["stdlib"])
    for path in _stdlib_files(root):
        module = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        yield from _docstrings(path, module)
    from pydoc_data.topics import topics  # the text behind help("TOPIC"), in the stdlib

    for name in sorted(topics):
        yield _Found(f"reference.{name}", "reference", topics[name])


def build_corpus(
    settings: Settings | None = None, *, limit: int | None = None
) -> list[NewDocument]:
    """Every documentation paragraph of at least 50 characters, in a stable order."""
    settings = settings or get_settings()
    documents: dict[str, NewDocument] = {}
    for found in _sources():
        top = found.qualname.split(".")[0][: settings.max_tag_chars]
        for number, paragraph in enumerate(_paragraphs(inspect.cleandoc(found.text)), start=1):
            doc_id = _document_id(f"{found.qualname}-p{number}")
            if doc_id in documents:
                continue  # e.g. a function defined twice: the first one wins, deterministically
            documents[doc_id] = NewDocument(
                id=doc_id,
                title=found.qualname[: settings.max_title_chars],
                text=paragraph[: settings.max_text_chars],
                tags=(top, found.kind),
            )
            if limit is not None and len(documents) >= limit:
                return list(documents.values())
    return list(documents.values())


def corpus_digest(documents: list[NewDocument], model_key: str) -> str:
    """A key for the embedding cache: the model (:func:`model_key`) and every document's id
    and text."""
    digest = hashlib.sha256(model_key.encode())
    for doc in documents:
        digest.update(doc.id.encode())
        digest.update(b"\0")
        digest.update(doc.text.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:20]


def _progress(label: str, done: int, total: int, started: float) -> None:
    elapsed = time.monotonic() - started
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else 0.0
    print(
        f"\r{label}: {done:,}/{total:,} ({100 * done / max(total, 1):.0f} %, {rate:,.0f}/s, "
        f"~{eta:.0f} s left)   ",
        end="",
        file=sys.stderr,
        flush=True,
    )


def model_key(settings: Settings) -> str:
    """The model the corpus is embedded with: its name, what its folder holds, the runtime
    (always torch here)."""
    from shared.embedder import model_fingerprint

    return f"{settings.model_name}:{model_fingerprint(settings.model_path)}:torch"


def _embed_with_cache(documents: list[NewDocument], settings: Settings) -> np.ndarray:
    from shared.embedder import SentenceTransformerEmbedder

    cache_dir = settings.cache_dir
    digest = corpus_digest(documents, model_key(settings))
    cache = cache_dir / f"embeddings-{settings.model_name}-{digest}.npy"
    if cache.exists():
        vectors = np.load(cache)
        if vectors.shape[0] == len(documents):
            print(f"embeddings: read from cache {cache.name}", file=sys.stderr)
            return np.asarray(vectors, dtype=np.float32)
    embedder = SentenceTransformerEmbedder(
        name=settings.model_name,
        model_path=settings.model_path,
        torch_threads=max(settings.torch_threads, 2),
        # Small passes pad less: on sampled corpus documents, passes of 8 cost about two
        # thirds of what passes of 64 cost each, a minute saved on the corpus's first
        # embedding (measured with two torch threads; docs/settings.md keeps the figures).
        batch_size=8,
    )
    chunks: list[np.ndarray] = []
    started = time.monotonic()
    for start in range(0, len(documents), 512):
        chunk = documents[start : start + 512]
        chunks.append(embedder.encode([doc.text for doc in chunk]))
        _progress("embedding", start + len(chunk), len(documents), started)
    print(file=sys.stderr)
    vectors = np.concatenate(chunks).astype(np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(cache)
    return vectors


def load_corpus(settings: Settings | None = None, *, limit: int | None = None) -> int:
    """Embed (or read cached vectors) and upsert the corpus; returns the number of documents."""
    from shared.vector_store import MilvusVectorStore

    settings = settings or get_settings()
    documents = build_corpus(settings, limit=limit)
    vectors = _embed_with_cache(documents, settings)
    store = MilvusVectorStore(settings=settings, dimension=int(vectors.shape[1]))
    try:
        store.connect()
        started = time.monotonic()
        for start in range(0, len(documents), 500):
            store.upsert(documents[start : start + 500], vectors[start : start + 500])
            _progress(
                "loading into Milvus", min(start + 500, len(documents)), len(documents), started
            )
        print(file=sys.stderr)
        store.flush()
    finally:
        store.close()
    return len(documents)


def ensure_corpus_loaded(settings: Settings | None = None) -> int:
    """Load the demo corpus unless the collection already holds at least that many rows."""
    from shared.vector_store import MilvusVectorStore

    settings = settings or get_settings()
    # No model needed to ask: the store opens the collection only if it exists. A patient
    # timeout: this runs while servers load their models beside it on a small machine.
    patient = settings.model_copy(update={"milvus_timeout_s": max(settings.milvus_timeout_s, 30)})
    store = MilvusVectorStore(settings=patient, dimension=None, create_missing=False)
    try:
        store.connect()
        present = 0
        if store.exists():
            # A starting server may have created it after connect() looked: connect again,
            # so that it is loaded and caught up before it is counted.
            store.close()
            store.connect()
            present = store.count(strong=True)
    finally:
        store.close()
    if present >= MIN_DOCS:
        print(
            f"demo corpus present: {present:,} documents in '{settings.collection}'",
            file=sys.stderr,
        )
        return present
    return load_corpus(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.corpus", description=__doc__)
    parser.add_argument("action", choices=["load", "info"])
    parser.add_argument("--limit", type=int, default=None, help="load only the first N documents")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.action == "info":
        documents = build_corpus(settings)
        print(
            f"{len(documents):,} documents, digest {corpus_digest(documents, model_key(settings))}"
        )
        return 0
    from shared.milvus_server import start_server

    if settings.embedded_milvus:
        start_server(settings)
    count = load_corpus(settings, limit=args.limit)
    print(f"loaded {count:,} documents into '{settings.collection}'")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
