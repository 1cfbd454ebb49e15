"""503 (the contract, issue 3): every route that needs Milvus, when it cannot be reached."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from contract_support import DIM

if TYPE_CHECKING:
    from conftest import AppClient


# --- 503 when Milvus cannot be reached ----------------------------------------------------------
def unavailable(what: str) -> dict[str, str]:
    return {
        "detail": f"Milvus did not answer the {what} in time or is unreachable; try again shortly"
    }


def test_health_answers_503_when_milvus_is_unreachable(unreachable_client: AppClient) -> None:
    reply = unreachable_client.get("/health")
    assert reply.status_code == 503
    assert reply.json() == {
        "status": "unavailable",
        **unavailable("health check"),
        "model": "all-MiniLM-L6-v2",
        "runtime": "onnx",
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "what"),
    [
        ("POST", "/search", {"query": "x"}, "search"),
        ("POST", "/search/vector", {"vector": [0.1] * DIM}, "search"),
        ("POST", "/documents", {"text": "x"}, "upsert"),
        ("POST", "/documents/batch", {"documents": [{"text": "x"}]}, "upsert"),
        ("GET", "/documents/some-id", None, "read"),
        ("DELETE", "/documents/some-id", None, "read"),
    ],
)
def test_endpoints_answer_503_when_milvus_is_unreachable(
    unreachable_client: AppClient, method: str, path: str, body: Any, what: str
) -> None:
    kwargs = {} if body is None else {"json": body}
    reply = unreachable_client.request(method, path, **kwargs)
    assert reply.status_code == 503
    assert reply.json() == unavailable(what)


def test_echo_needs_neither_model_nor_milvus(unreachable_client: AppClient) -> None:
    reply = unreachable_client.post("/echo", json={"query": "still fine"})
    assert reply.status_code == 200
    assert reply.json() == {"query": "still fine", "top_k": 10, "tags": []}
