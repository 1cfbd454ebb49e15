"""The demo corpus: built offline, deterministically, and every document valid."""

from __future__ import annotations

import re

import pytest

from shared.config import get_settings
from shared.corpus import MIN_DOCS, build_corpus, corpus_digest
from shared.documents import ID_PATTERN, NewDocument, validate_row


@pytest.fixture(scope="module")
def corpus() -> list[NewDocument]:
    return build_corpus()


def test_corpus_builder_is_deterministic() -> None:
    first = build_corpus(limit=400)
    second = build_corpus(limit=400)
    assert len(first) == 400
    assert first == second
    assert corpus_digest(first, "m") == corpus_digest(second, "m")


def test_a_limited_build_is_a_prefix_of_the_full_one(corpus: list[NewDocument]) -> None:
    assert build_corpus(limit=400) == corpus[:400]


def test_full_corpus_has_at_least_ten_thousand_documents_with_unique_ids(
    corpus: list[NewDocument],
) -> None:
    assert len(corpus) >= MIN_DOCS
    ids = [document.id for document in corpus]
    assert len(set(ids)) == len(ids)
    pattern = re.compile(ID_PATTERN)
    assert [doc_id for doc_id in ids if not pattern.match(doc_id)] == []


def test_every_corpus_document_passes_the_row_rules(corpus: list[NewDocument]) -> None:
    settings = get_settings()
    for document in corpus:
        raw = {
            "id": document.id,
            "title": document.title,
            "text": document.text,
            "tags": list(document.tags),
        }
        assert validate_row(raw, settings) == document
        assert len(document.text.strip()) >= 50


def test_corpus_digest_depends_on_model_and_content(corpus: list[NewDocument]) -> None:
    sample = corpus[:50]
    assert corpus_digest(sample, "model-a") != corpus_digest(sample, "model-b")
    changed = [*sample[:-1], NewDocument(id=sample[-1].id, text=sample[-1].text + "!")]
    assert corpus_digest(sample, "model-a") != corpus_digest(changed, "model-a")
