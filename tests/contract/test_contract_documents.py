"""/documents (the contract, issue 3): create, read, replace, delete, batch."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from contract_support import ID_PATTERN, search_ids
from support import unique

from shared.service import SearchService

if TYPE_CHECKING:
    from conftest import AppClient


# --- documents --------------------------------------------------------------------------------
def test_create_document_returns_201_and_get_returns_it(client: AppClient) -> None:
    doc_id = unique("doc")
    before_ms = int(time.time() * 1000)
    body = {"id": doc_id, "title": "Sets", "text": "  A set holds unique items.  ", "tags": ["py"]}
    reply = client.post("/documents", json=body)
    assert reply.status_code == 201
    assert reply.json() == {"id": doc_id}

    got = client.get(f"/documents/{doc_id}")
    assert got.status_code == 200
    document = got.json()
    assert document == {
        "id": doc_id,
        "title": "Sets",
        "text": "A set holds unique items.",
        "tags": ["py"],
        "created_at": document["created_at"],
    }
    assert before_ms <= document["created_at"] <= int(time.time() * 1000)


def test_create_document_generates_an_id_when_absent(client: AppClient) -> None:
    reply = client.post("/documents", json={"text": "a document without an id"})
    assert reply.status_code == 201
    doc_id = reply.json()["id"]
    assert re.fullmatch(ID_PATTERN, doc_id)
    document = client.get(f"/documents/{doc_id}").json()
    assert document["id"] == doc_id
    assert (document["title"], document["text"], document["tags"]) == (
        "",
        "a document without an id",
        [],
    )


def test_create_document_with_existing_id_replaces_it(
    client: AppClient, service: SearchService
) -> None:
    doc_id = unique("upsert")
    first = client.post("/documents", json={"id": doc_id, "text": "first version"})
    assert first.status_code == 201
    count = service.store.count(strong=True)
    second = client.post("/documents", json={"id": doc_id, "text": "second version", "title": "v2"})
    assert second.status_code == 201
    assert second.json() == {"id": doc_id}
    document = client.get(f"/documents/{doc_id}").json()
    assert (document["text"], document["title"]) == ("second version", "v2")
    assert service.store.count(strong=True) == count


def test_get_unknown_document_answers_404(client: AppClient) -> None:
    doc_id = unique("missing")
    reply = client.get(f"/documents/{doc_id}")
    assert reply.status_code == 404
    assert reply.json() == {"detail": f"document '{doc_id}' not found"}


def test_delete_document_answers_204_then_404(client: AppClient) -> None:
    doc_id = unique("delete")
    created = client.post("/documents", json={"id": doc_id, "text": "to be deleted"})
    assert created.status_code == 201
    reply = client.delete(f"/documents/{doc_id}")
    assert reply.status_code == 204
    assert reply.content == b""
    assert client.get(f"/documents/{doc_id}").status_code == 404
    again = client.delete(f"/documents/{doc_id}")
    assert again.status_code == 404
    assert again.json() == {"detail": f"document '{doc_id}' not found"}


def test_batch_create_returns_ids_in_request_order(client: AppClient) -> None:
    tag = unique("batch")
    given = unique("batch-doc")
    documents = [
        {"text": "generated id one", "tags": [tag]},
        {"id": given, "title": "Given", "text": "a given id", "tags": [tag]},
        {"text": "generated id two", "tags": [tag]},
    ]
    reply = client.post("/documents/batch", json={"documents": documents})
    assert reply.status_code == 201
    ids = reply.json()["ids"]
    assert reply.json() == {"ids": ids}
    assert len(ids) == 3 and ids[1] == given and len(set(ids)) == 3
    for doc_id, sent in zip(ids, documents, strict=True):
        document = client.get(f"/documents/{doc_id}").json()
        assert (document["text"], document["tags"]) == (sent["text"], [tag])
    assert sorted(search_ids(client, "generated id", tags=[tag])) == sorted(ids)


def test_batch_with_a_repeated_id_keeps_the_later_document(client: AppClient) -> None:
    doc_id = unique("batch-dup")
    documents = [{"id": doc_id, "text": "earlier"}, {"id": doc_id, "text": "later"}]
    reply = client.post("/documents/batch", json={"documents": documents})
    assert reply.status_code == 201
    assert reply.json() == {"ids": [doc_id, doc_id]}
    assert client.get(f"/documents/{doc_id}").json()["text"] == "later"
