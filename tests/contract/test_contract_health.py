"""GET /health (the contract, issue 3): status, document count, model and Milvus."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from support import unique

from shared.config import Settings
from shared.service import SearchService

if TYPE_CHECKING:
    from conftest import AppClient


# --- GET /health ----------------------------------------------------------------------------
def test_health_reports_status_document_count_model_and_milvus(
    client: AppClient, settings: Settings
) -> None:
    reply = client.get("/health")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    assert body == {
        "status": "ok",
        "documents": body["documents"],
        "model": "all-MiniLM-L6-v2",
        "runtime": "onnx",
        "milvus": f"{settings.milvus_backend} at http://127.0.0.1:{settings.milvus_port}",
    }
    assert isinstance(body["documents"], int) and body["documents"] >= 0


def test_health_counts_a_new_document(client: AppClient, service: SearchService) -> None:
    client.post("/documents", json={"id": unique("health"), "text": "counted by health"})
    expected = service.store.count(strong=True)
    time.sleep(1.1)  # /health caches its count for one second (HEALTH_TTL_S)
    assert client.get("/health").json()["documents"] == expected
