"""/search and /search/vector (the contract, issue 3): order, top_k, tags, relevance."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from contract_support import DIM, assert_422, error, search_ids
from support import unique

from shared.service import SearchService

if TYPE_CHECKING:
    from conftest import AppClient


# --- search -----------------------------------------------------------------------------------
ANIMALS = [
    "The cheetah is the fastest land animal and can sprint at over one hundred km per hour.",
    "Elephants live in matriarchal herds and can remember watering holes for decades.",
    "Octopuses have three hearts and blue blood and can change colour to hide.",
]


def add_documents(client: AppClient, texts: list[str], tags: list[str]) -> list[str]:
    documents = [{"id": unique("doc"), "text": text, "tags": tags} for text in texts]
    reply = client.post("/documents/batch", json={"documents": documents})
    assert reply.status_code == 201, reply.text
    return [doc["id"] for doc in documents]


def test_search_returns_results_best_first(client: AppClient) -> None:
    tag = unique("animals")
    ids = add_documents(client, ANIMALS, [tag])
    reply = client.post("/search", json={"query": "which animal runs fastest?", "tags": [tag]})
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) == {"results", "took_ms"}
    assert isinstance(body["took_ms"], int | float) and body["took_ms"] >= 0
    results = body["results"]
    assert sorted(hit["id"] for hit in results) == sorted(ids)
    for hit in results:
        assert set(hit) == {"id", "score", "title", "text"}
        assert -1.0 <= hit["score"] <= 1.0
    scores = [hit["score"] for hit in results]
    assert scores == sorted(scores, reverse=True)
    assert results[0]["id"] == ids[0]
    assert results[0]["text"] == ANIMALS[0]


def test_search_respects_top_k(client: AppClient) -> None:
    tag = unique("topk")
    add_documents(client, ANIMALS, [tag])
    assert len(search_ids(client, "animals", tags=[tag], top_k=2)) == 2
    assert len(search_ids(client, "animals", tags=[tag], top_k=1)) == 1


def test_search_tag_filter_restricts_results(client: AppClient) -> None:
    wanted, other = unique("wanted"), unique("other")
    wanted_ids = add_documents(client, ANIMALS[:2], [wanted, "shared-tag"])
    other_ids = add_documents(client, ANIMALS, [other, "shared-tag"])
    assert sorted(search_ids(client, "cheetah", tags=[wanted])) == sorted(wanted_ids)
    assert sorted(search_ids(client, "cheetah", tags=[other])) == sorted(other_ids)
    # Several tags: documents carrying any of them.
    both = search_ids(client, "cheetah", tags=[wanted, other])
    assert sorted(both) == sorted(wanted_ids + other_ids)
    assert search_ids(client, "cheetah", tags=[unique("nobody")]) == []


@pytest.mark.parametrize("hostile", ['"', "\\", "'", '" or id != "', 'x") or (1==1', 'a\\"b'])
def test_search_tag_filter_treats_hostile_values_as_plain_text(
    client: AppClient, hostile: str
) -> None:
    tag = unique("hostile")
    ids = add_documents(client, ANIMALS[:1], [tag])
    assert search_ids(client, "cheetah", tags=[hostile + tag]) == []
    marked = add_documents(client, ANIMALS[1:2], [hostile + tag])
    assert search_ids(client, "elephants", tags=[hostile + tag]) == marked
    assert search_ids(client, "cheetah", tags=[tag]) == ids


PARAPHRASE_DOCUMENTS = [
    (
        "The lighthouse keeper climbed the spiral staircase every evening to light the great "
        "lamp that warned passing ships away from the rocks.",
        "someone who tends a coastal beacon tower so that boats avoid the reef at night",
    ),
    (
        "Sourdough bread rises thanks to a starter of flour and water that ferments with wild "
        "yeast for several days before baking.",
        "making a loaf with naturally fermented leaven instead of packet yeast",
    ),
    (
        "The central bank raised interest rates again to slow inflation, and share prices "
        "fell sharply.",
        "monetary policy tightening made the stock market drop",
    ),
    (
        "Green plants capture sunlight in their leaves and turn water and carbon dioxide into "
        "sugar and oxygen.",
        "how vegetation converts light energy into food",
    ),
]


def test_relevance_paraphrase_finds_the_distinctive_document_first(client: AppClient) -> None:
    tag = unique("relevance")
    texts = [text for text, _ in PARAPHRASE_DOCUMENTS]
    ids = add_documents(client, texts, [tag])
    for (text, paraphrase), doc_id in zip(PARAPHRASE_DOCUMENTS, ids, strict=True):
        assert search_ids(client, paraphrase, tags=[tag])[0] == doc_id, paraphrase
        # Across the whole collection too (the other twin's run may hold the same text).
        reply = client.post("/search", json={"query": paraphrase, "top_k": 1})
        assert reply.json()["results"][0]["text"] == text, paraphrase


def test_vector_search_with_a_documents_own_vector_finds_it_first(
    client: AppClient, service: SearchService
) -> None:
    tag = unique("vector")
    ids = add_documents(client, ANIMALS, [tag])
    for doc_id, text in zip(ids, ANIMALS, strict=True):
        vector = [float(x) for x in service.embedder.encode([text])[0]]
        reply = client.post("/search/vector", json={"vector": vector, "top_k": 3, "tags": [tag]})
        assert reply.status_code == 200
        body = reply.json()
        assert set(body) == {"results", "took_ms"}
        assert [hit["id"] for hit in body["results"]][0] == doc_id
        assert body["results"][0]["score"] == pytest.approx(1.0, abs=1e-3)
        assert len(body["results"]) == 3
        unfiltered = client.post("/search/vector", json={"vector": vector, "top_k": 1}).json()
        assert unfiltered["results"][0]["text"] == text


@pytest.mark.parametrize("zero", [0, 0.0, -0.0], ids=repr)
def test_vector_search_rejects_a_vector_with_no_non_zero_component(
    client: AppClient, zero: float
) -> None:
    assert_422(
        client.post("/search/vector", json={"vector": [zero] * DIM}),
        error(
            ["body", "vector"],
            "vector must have a non-zero component "
            "(cosine similarity is undefined for a zero vector)",
            "value_error",
        ),
    )


def test_vector_search_finds_by_a_vector_whose_norm_underflows(client: AppClient) -> None:
    # 1e-200 squared is 0.0 in float64: the direction must not depend on the length.
    tag = unique("tiny")
    add_documents(client, ANIMALS[:1], [tag])
    reply = client.post("/search/vector", json={"vector": [1e-200] * DIM, "tags": [tag]})
    assert reply.status_code == 200, reply.text
    assert len(reply.json()["results"]) == 1


def test_vector_search_accepts_integers(client: AppClient) -> None:
    tag = unique("ints")
    add_documents(client, ANIMALS[:1], [tag])
    reply = client.post("/search/vector", json={"vector": [1] + [0] * (DIM - 1), "tags": [tag]})
    assert reply.status_code == 200
    assert len(reply.json()["results"]) == 1
