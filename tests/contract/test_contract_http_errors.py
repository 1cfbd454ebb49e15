"""413, 404, 405 and HEAD (the contract, issue 3): what HTTP itself answers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from contract_support import JSON, LIMIT, assert_422, error

if TYPE_CHECKING:
    from conftest import AppClient


# --- 413, 404, 405 ----------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/search", "/echo", "/documents", "/documents/batch"])
def test_body_over_one_mebibyte_is_refused_with_413(client: AppClient, path: str) -> None:
    reply = client.post(path, content=b"x" * (LIMIT + 1), headers=JSON)
    assert reply.status_code == 413
    assert reply.json() == {"detail": f"request body is larger than the limit of {LIMIT} bytes"}


def test_body_of_exactly_the_limit_is_read(client: AppClient) -> None:
    query = "q" * (LIMIT - len('{"query": ""}'))
    reply = client.post("/echo", content=json.dumps({"query": query}).encode(), headers=JSON)
    assert len(json.dumps({"query": query})) == LIMIT
    assert_422(
        reply,
        error(["body", "query"], "String should have at most 1000 characters", "string_too_long"),
    )


def test_unknown_path_answers_404_json(client: AppClient) -> None:
    reply = client.get("/no/such/path")
    assert reply.status_code == 404
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json() == {"detail": "Not Found"}


# RFC 9110: a 405 lists every method the resource supports; HEAD with every GET (Werkzeug
# answers it for Flask, fastapi_app/head.py for FastAPI).


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/search", {"POST"}),
        ("GET", "/echo", {"POST"}),
        ("PATCH", "/documents/x", {"GET", "DELETE"}),
        ("OPTIONS", "/documents/x", {"GET", "DELETE"}),
        ("OPTIONS", "/search", {"POST"}),
        # The concrete path is the batch's own, as in the OpenAPI documents, not doc_id's.
        ("PUT", "/documents/batch", {"POST"}),
        ("OPTIONS", "/documents/batch", {"POST"}),
        ("DELETE", "/ingest/x", {"GET"}),
    ],
)
def test_wrong_method_answers_405_json_allowing_every_method_of_the_path(
    client: AppClient, method: str, path: str, allowed: set[str]
) -> None:
    reply = client.request(method, path)
    assert reply.status_code == 405
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json() == {"detail": "Method Not Allowed"}
    listed = {name.strip() for name in reply.headers["allow"].split(",")}
    head = {"HEAD"} if "GET" in allowed else set()
    assert listed == allowed | head, reply.headers["allow"]


@pytest.mark.parametrize(("path", "status"), [("/health", 200), ("/documents/no-such-doc", 404)])
def test_head_answers_as_get_without_a_body(client: AppClient, path: str, status: int) -> None:
    got, head = client.get(path), client.request("HEAD", path)
    assert (head.status_code, head.text) == (status, "")
    assert got.status_code == status
    assert head.headers["content-type"] == got.headers["content-type"]
