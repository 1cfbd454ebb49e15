"""POST /echo (the contract, issue 3): parsing and validation only, no model, no Milvus."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import AppClient


# --- POST /echo: parsing and validation only --------------------------------------------------
def test_echo_returns_the_normalised_body(client: AppClient) -> None:
    reply = client.post("/echo", json={"query": "  what is a context manager?  "})
    assert reply.status_code == 200
    assert reply.json() == {"query": "what is a context manager?", "top_k": 10, "tags": []}


def test_echo_keeps_given_top_k_and_tags(client: AppClient) -> None:
    body = {"query": "asyncio", "top_k": 100, "tags": ["asyncio", "x" * 32]}
    reply = client.post("/echo", json=body)
    assert reply.status_code == 200
    assert reply.json() == body


def test_echo_keeps_unicode_as_is(client: AppClient) -> None:
    reply = client.post("/echo", json={"query": "café 東京 ✓", "top_k": 1})
    assert reply.status_code == 200
    assert reply.json() == {"query": "café 東京 ✓", "top_k": 1, "tags": []}
