"""The demo corpus: built offline, deterministically, and every document valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.config import get_settings
from shared.corpus import MIN_DOCS, _embed_with_cache, build_corpus, corpus_digest
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


def test_commands_with_other_data_dirs_share_one_embedding_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # make bench keeps its Milvus data under .data/bench, make serve-* under .data: the
    # corpus's embeddings are found by both, not computed again.
    documents = build_corpus(limit=3)
    bench = get_settings(data_dir=tmp_path / "bench", cache_dir=tmp_path / "cache")
    serve = get_settings(data_dir=tmp_path / "serve", cache_dir=tmp_path / "cache")
    first = _embed_with_cache(documents, bench)
    assert [p.name for p in (tmp_path / "cache").iterdir()] != []

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cache was not found: the corpus was embedded again")

    monkeypatch.setattr("shared.embedder.SentenceTransformerEmbedder", no_model)
    assert (_embed_with_cache(documents, serve) == first).all()


def test_the_cache_is_one_place_by_default() -> None:
    assert get_settings(data_dir=Path("/x")).cache_dir == get_settings().cache_dir


def test_the_cache_key_follows_what_the_model_folder_holds_not_where_it_lies(
    tmp_path: Path,
) -> None:
    import shutil

    from shared.config import get_settings
    from shared.corpus import model_key
    from shared.embedder import default_model_path, model_fingerprint

    packaged = default_model_path()
    copy = tmp_path / "copy"
    shutil.copytree(packaged, copy)
    assert model_fingerprint(copy) == model_fingerprint(packaged) == model_fingerprint(None)
    # Another model, even under the same name: another key, so its cache is never read.
    (copy / "config.json").write_text((copy / "config.json").read_text() + " ")
    other = tmp_path / "other"
    shutil.copytree(copy, other)
    assert model_fingerprint(other) != model_fingerprint(packaged)
    assert model_key(get_settings(model_path=str(other))) != model_key(get_settings())
