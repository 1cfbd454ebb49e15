"""The query pools: short questions by default, the long first sentences by name, both
seeded and built from the demo corpus alone; pool files carry their format."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from bench.load.pool import (
    POOL_FORMAT,
    POOL_SEED,
    Pool,
    _corpus_docs,
    _current,
    build_pool,
    describe_pool,
    first_sentences,
    load_pool,
    questions,
    save_pool,
)


@pytest.fixture(scope="module")
def sample() -> list[dict[str, Any]]:
    """200 documents of the real demo corpus, drawn as the pool draws them."""
    return random.Random(POOL_SEED).sample(_corpus_docs(), 200)


def test_questions_are_five_to_ten_words_and_seeded(sample: list[dict[str, Any]]) -> None:
    asked = questions(sample, random.Random(1))
    assert len(asked) >= 190
    assert all(5 <= len(q.split()) <= 10 for q in asked)
    assert asked == questions(sample, random.Random(1))
    assert asked != questions(sample, random.Random(2))


def test_questions_are_shorter_than_first_sentences(sample: list[dict[str, Any]]) -> None:
    asked = questions(sample, random.Random(1))
    long = first_sentences(sample, random.Random(1))
    assert sum(len(q) for q in asked) / len(asked) < 0.6 * sum(len(q) for q in long) / len(long)


def test_a_dunder_title_asks_about_its_class() -> None:
    doc = {"title": "threading.Thread.__init__", "text": "This constructor sets things up."}
    asked = questions([doc] * 20, random.Random(3))
    assert asked and all("init" not in q and "thread" in q for q in asked)


def test_a_verb_phrase_becomes_a_question_without_a_dangling_word() -> None:
    doc = {"title": "m.f", "text": "Return the number of items in the queue. More text."}
    asked = {q for q in questions([doc] * 40, random.Random(4)) if "number" in q}
    assert asked and all(q.split()[-1] not in ("of", "in", "the") for q in asked)
    assert all(q.split()[-1] in ("number", "items", "queue") for q in asked)


def test_an_unknown_pool_name_is_refused_before_anything_loads() -> None:
    with pytest.raises(ValueError, match="unknown query pool 'tweets'.*first-sentences"):
        build_pool(name="tweets")


def _pool(name: str, fmt: int) -> Pool:
    queries = ["how do I open a file", "what does json dumps do in python"]
    return Pool(1, "shared.corpus", "m", queries, [[0.0]] * 2, [], [], name, [8, 11], fmt)


def test_only_a_readable_pool_of_this_format_and_name_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "pool.json"
    save_pool(_pool("questions", POOL_FORMAT), path)
    assert _current(path, "questions")
    assert not _current(path, "first-sentences")
    save_pool(_pool("questions", POOL_FORMAT - 1), path)
    assert not _current(path, "questions")
    path.write_text("{not json", encoding="utf-8")
    assert not _current(path, "questions")


def test_a_format_one_pool_reads_back_as_the_unnamed_first_sentences(tmp_path: Path) -> None:
    path = tmp_path / "pool.json"
    old = {"seed": 1, "source": "s", "vector_source": "m", "queries": ["A long sentence."]}
    path.write_text(json.dumps(old), encoding="utf-8")
    described = describe_pool(load_pool(path))
    assert described["format"] == 1 and described["name"].startswith("first-sentences")
    assert described["query_tokens"] == {}


def test_the_record_names_the_pool_and_its_lengths() -> None:
    described = describe_pool(_pool("questions", POOL_FORMAT))
    assert described["name"] == "questions" and described["queries"] == 2
    assert described["query_words"] == {"min": 6, "median": 6.5, "mean": 6.5, "max": 7}
    assert described["query_tokens"] == {"min": 8, "median": 9.5, "mean": 9.5, "max": 11}
