"""The optional API key on write endpoints (the contract, issue 3)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest
from contract_support import DIM
from support import unique

if TYPE_CHECKING:
    from conftest import AppClient


# --- the optional API key on write endpoints ---------------------------------------------------
API_KEY_REQUIRED = "this endpoint writes data: send the API key in the X-API-Key header"
WRITES = [
    ("POST", "/documents", {"json": {"text": "needs a key"}}),
    ("POST", "/documents/batch", {"json": {"documents": [{"text": "needs a key"}]}}),
    ("DELETE", "/documents/some-id", {}),
    ("POST", "/ingest", {"json": [{"text": "needs a key"}]}),
    ("POST", "/ingest", {"files": {"file": ("a.csv", b"text\nx\n", "text/csv")}}),
    ("POST", "/documents", {"json": {"text": ""}}),  # 401 before any 422
]


@pytest.mark.parametrize(("method", "path", "kwargs"), WRITES)
@pytest.mark.parametrize("key", [None, "wrong-key", "TEST-KEY-5B1F", ""], ids=repr)
def test_write_without_the_right_api_key_answers_401(
    keyed_client: AppClient, method: str, path: str, kwargs: dict[str, Any], key: str | None
) -> None:
    headers = {} if key is None else {"X-API-Key": key}
    reply = keyed_client.request(method, path, headers=headers, **kwargs)
    assert reply.status_code == 401, reply.text
    assert reply.json() == {"detail": API_KEY_REQUIRED}
    assert reply.headers["www-authenticate"] == "ApiKey"


def test_write_with_the_right_api_key_is_served(keyed_client: AppClient) -> None:
    key = {"X-API-Key": "test-key-5b1f"}
    doc_id = unique("keyed")
    created = keyed_client.post("/documents", json={"id": doc_id, "text": "keyed"}, headers=key)
    assert created.status_code == 201
    assert created.json() == {"id": doc_id}
    assert keyed_client.delete(f"/documents/{doc_id}", headers=key).status_code == 204
    invalid = keyed_client.post("/documents", json={"text": ""}, headers=key)
    assert invalid.status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/health", {}, 200),
        ("POST", "/echo", {"json": {"query": "x"}}, 200),
        ("POST", "/search", {"json": {"query": "x", "top_k": 1}}, 200),
        ("POST", "/search/vector", {"json": {"vector": [0.1] * DIM, "top_k": 1}}, 200),
        ("GET", "/documents/no-such-document", {}, 404),
        ("GET", f"/ingest/{uuid.uuid4().hex}", {}, 404),
    ],
)
def test_reads_need_no_api_key(
    keyed_client: AppClient, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    assert keyed_client.request(method, path, **kwargs).status_code == status
