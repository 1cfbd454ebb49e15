"""The fixed, seeded request pool: queries, query vectors and documents for the scenarios.

Built once per results directory and saved there (``pool.json``), so both twins get the
same requests in the same order, and a run can be repeated with the very same pool.
Queries and documents come from the demo corpus (``shared.corpus``, the documents Milvus
holds), query vectors from the project's model: never a stand-in, so a pool is always the
real workload.

Two named query pools (``POOLS``): ``questions``, the default, short questions of 5-10 words
such as users send, made by seeded templates over the corpus's titles and the verb phrases
its docstrings open with; and ``first-sentences``, the first sentence of each sampled
paragraph (about 23 tokens, up to 82), kept because it teaches something: long, uneven
queries pad a batch to its longest, which eats most of what batching gains. A pool file
records its format (``POOL_FORMAT``) and the token count of every query; a cached pool of
another format is rebuilt.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import statistics
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.results import slug
from shared.config import PROJECT_ROOT

__all__ = [
    "Pool",
    "POOLS",
    "DEFAULT_POOL",
    "build_pool",
    "load_pool",
    "save_pool",
    "pool_for_run",
    "cached_pool",
    "describe_pool",
    "questions",
    "first_sentences",
    "POOL_SEED",
    "POOL_FORMAT",
    "POOL_CACHE",
]

DIMENSION = 384
POOL_SEED = 20261125
# 2: named pools (short questions by default) and the token count of every query.
POOL_FORMAT = 2
# Where the pool is cached between runs (beside the bench's own Milvus data).
POOL_CACHE = PROJECT_ROOT / ".data" / "bench"


@dataclass
class Pool:
    """Everything the scenarios send. ``vectors[i]`` is the embedding of ``queries[i]``,
    ``query_tokens[i]`` its length in the model's tokens (with the two special tokens)."""

    seed: int
    source: str
    vector_source: str
    queries: list[str] = field(default_factory=list)
    vectors: list[list[float]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    # Format 1 files have neither: they read back as the unnamed first-sentence pool.
    name: str = ""
    query_tokens: list[int] = field(default_factory=list)
    format: int = 1


def _first_sentence(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return sentence[:limit].strip()


def first_sentences(docs: list[dict[str, Any]], rng: random.Random) -> list[str]:
    """The first sentence of each document's text: long, uneven queries (the old pool)."""
    del rng  # nothing to draw: each document gives its one first sentence
    return [q for q in (_first_sentence(d["text"]) for d in docs) if q]


# Words a docstring's first sentence opens with when it says what a call does ("Return the
# ..."): "how do I" + that phrase is a question a user would type.
_VERBS = frozenset(
    "return create get set read write convert open close add remove make build find check "
    "compute parse format send receive start stop run call wait raise encode decode load "
    "dump copy delete update register split join compare sort print test generate "
    "initialize initialise iterate search replace match apply count insert append extend "
    "change show list".split()
)
_OPENERS = ("how do I", "how to", "how can I", "python")
# Templates over a document's title (a qualified name): {name} its last part in words,
# {where} its module (or "python" for the language reference).
_TITLE_TEMPLATES = (
    "how do I use {name} in {where}",
    "what does {name} do in {where}",
    "{where} {name} example with arguments",
    "why does {name} raise an error in {where}",
    "when should I use {where} {name}",
    "what is the difference between {name} and {other}",
    "how does {where} {name} work",
)
# Words a cut phrase must not end on.
_DANGLING = frozenset("a an the to of and or with in for from by on as at is are be if".split())
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
MIN_WORDS, MAX_WORDS = 5, 10


def _words(identifier: str) -> str:
    """``move_to_end`` -> "move to end", ``OrderedDict`` -> "ordered dict"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", identifier.replace("_", " "))
    return " ".join(w.lower() for w in _WORD.findall(spaced))


def _subject(title: str) -> tuple[str, str]:
    """(where, name) of a title: its module in words (or "python" for the language reference
    and for a module alone), and its last part in words. A dunder names its class
    ("Thread.__init__" -> "thread")."""
    parts = [p for p in title.split(".") if not p.startswith("__")] or ["python"]
    where = "python" if parts[0] == "reference" or len(parts) == 1 else _words(parts[0])
    return where, _words(parts[-1]) or where


def _from_title(doc: dict[str, Any], other: dict[str, Any], rng: random.Random) -> str:
    where, name = _subject(str(doc["title"]))
    template = rng.choice(_TITLE_TEMPLATES)
    return template.format(name=name, where=where, other=_subject(str(other["title"]))[1])


def _from_sentence(doc: dict[str, Any], rng: random.Random) -> str:
    """ "how do I" + the verb phrase a first sentence opens with, cut to a seeded length;
    "" when the sentence does not open with a verb."""
    words = _WORD.findall(_first_sentence(doc["text"]))
    if not words or words[0].lower() not in _VERBS:
        return ""
    opener = rng.choice(_OPENERS)
    room = rng.randint(MIN_WORDS, MAX_WORDS) - len(opener.split())
    phrase = [words[0].lower(), *words[1:room]]
    while len(phrase) > 1 and phrase[-1].lower() in _DANGLING:
        phrase.pop()
    return f"{opener} {' '.join(phrase)}"


def questions(docs: list[dict[str, Any]], rng: random.Random) -> list[str]:
    """Short questions of 5-10 words, one per document: from the verb phrase its first
    sentence opens with where it has one, else from a template over its title."""
    out = []
    for doc in docs:
        query = _from_sentence(doc, rng) or _from_title(doc, rng.choice(docs), rng)
        words = query.split()
        if len(words) >= MIN_WORDS:
            out.append(" ".join(words[:MAX_WORDS]))
    return out


POOLS = {"questions": questions, "first-sentences": first_sentences}
DEFAULT_POOL = "questions"


def _corpus_docs() -> list[dict[str, Any]]:
    """The demo corpus (the same documents Milvus holds), as plain dicts."""
    from shared.corpus import build_corpus

    return [
        {"id": d.id, "title": d.title, "text": d.text, "tags": list(d.tags)} for d in build_corpus()
    ]


def _embed(queries: list[str]) -> tuple[str, list[list[float]], list[int]]:
    """The queries embedded by the project's model (what /search/vector is sent), and each
    query's length in the model's tokens."""
    from transformers import AutoTokenizer

    from shared.config import get_settings
    from shared.embedder import SentenceTransformerEmbedder, default_model_path

    settings = get_settings()
    embedder = SentenceTransformerEmbedder(
        name=settings.model_name, model_path=settings.model_path, torch_threads=1
    )
    matrix = embedder.encode(queries)
    path = settings.model_path or default_model_path()
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    tokens = [len(ids) for ids in tokenizer(queries, truncation=True)["input_ids"]]
    return settings.model_name, [[round(float(x), 6) for x in row] for row in matrix], tokens


def build_pool(
    *, name: str = DEFAULT_POOL, seed: int = POOL_SEED, size: int = 200, documents: int = 600
) -> Pool:
    """A seeded sample: ``size`` queries of the named pool (with vectors and token counts)
    and ``documents`` docs to write. The same seed picks the same documents for every pool."""
    make = POOLS.get(name)
    if make is None:
        raise ValueError(f"unknown query pool {name!r}; choose one of {sorted(POOLS)}")
    rng = random.Random(seed)
    docs = _corpus_docs()
    picked = rng.sample(docs, min(size, len(docs)))
    queries = make(picked, random.Random(seed + 1)) or ["search"]
    vector_source, vectors, tokens = _embed(queries)
    to_write = [
        {"title": d["title"][:200], "text": d["text"][:2000], "tags": d["tags"][:10]}
        for d in rng.sample(docs, min(documents, len(docs)))
    ]
    tags = sorted({t for d in picked for t in d["tags"] if 1 <= len(t) <= 32})[:50]
    return Pool(
        seed,
        "shared.corpus",
        vector_source,
        queries,
        vectors,
        to_write,
        tags,
        name=name,
        query_tokens=tokens,
        format=POOL_FORMAT,
    )


def save_pool(pool: Pool, path: Path) -> None:
    path.write_text(json.dumps(asdict(pool)), encoding="utf-8")


def load_pool(path: Path) -> Pool:
    return Pool(**json.loads(path.read_text(encoding="utf-8")))


def _current(path: Path, name: str) -> bool:
    """Whether ``path`` holds a readable pool of today's format and of that name."""
    try:
        pool = load_pool(path)
    except (OSError, ValueError, TypeError):
        return False
    return pool.format == POOL_FORMAT and pool.name == name


def cached_pool(
    cache_dir: Path = POOL_CACHE, model_name: str | None = None, *, name: str = DEFAULT_POOL
) -> Path:
    """The seeded pool, built once per machine, model and pool name (embedding it costs
    ~15 s); a file of an older format, or one that does not read, is rebuilt.

    Keyed by the model too: another model's query vectors would not fit the collection.
    """
    if model_name is None:
        from shared.config import get_settings

        model_name = get_settings().model_name
    cached = cache_dir / f"pool-v{POOL_FORMAT}-{name}-{POOL_SEED}-{slug(model_name)}.json"
    if not _current(cached, name):
        print(f"building the {name} request pool (once per machine): {cached}", file=sys.stderr)
        cached.parent.mkdir(parents=True, exist_ok=True)
        save_pool(build_pool(name=name, seed=POOL_SEED), cached)
    return cached


def pool_for_run(
    results_dir: Path, *, cache_dir: Path = POOL_CACHE, name: str = DEFAULT_POOL
) -> Path:
    """The cached pool, copied into the run's folder (the run keeps what it sent)."""
    target = results_dir / "pool.json"
    shutil.copy2(cached_pool(cache_dir, name=name), target)
    return target


def describe_pool(pool: Pool, file: str = "pool.json") -> dict[str, Any]:
    """What results.json records of the pool a run sent: its name and query lengths."""
    tokens = pool.query_tokens
    words = [len(q.split()) for q in pool.queries]
    return {
        "name": pool.name or "first-sentences (unnamed, format 1)",
        "format": pool.format,
        "seed": pool.seed,
        "source": pool.source,
        "queries": len(pool.queries),
        "vector_source": pool.vector_source,
        "documents": len(pool.documents),
        "file": file,
        "query_words": _spread(words),
        "query_tokens": _spread(tokens),
    }


def _spread(values: list[int]) -> dict[str, float]:
    """min, median, mean and max of a list of lengths ({} when there is none)."""
    if not values:
        return {}
    return {
        "min": min(values),
        "median": statistics.median(values),
        "mean": round(statistics.fmean(values), 1),
        "max": max(values),
    }
