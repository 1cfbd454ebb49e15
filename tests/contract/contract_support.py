"""What the contract tests share (tests/contract): the limits they test, and the checks and
requests that more than one of them makes.

Imported as ``contract_support``, the way tests/reliability imports ``reliability_support``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import AppClient, Reply

ID_PATTERN = "^[A-Za-z0-9_.-]{1,64}$"
JSON = {"content-type": "application/json"}
DIM = 384
LIMIT = 1_048_576


def error(loc: list[Any], msg: str, type_: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": type_}


def assert_422(reply: Reply, *errors: dict[str, Any]) -> None:
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json() == {"detail": list(errors)}


def submit(client: AppClient, **kwargs: Any) -> str:
    """POST /ingest, check the 202 body, return the job id."""
    reply = client.post("/ingest", **kwargs)
    assert reply.status_code == 202, reply.text
    body = reply.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["job_id"])
    assert body == {"job_id": body["job_id"], "status_url": f"/ingest/{body['job_id']}"}
    return str(body["job_id"])


def search_ids(client: AppClient, query: str, *, tags: list[str], top_k: int = 100) -> list[str]:
    reply = client.post("/search", json={"query": query, "top_k": top_k, "tags": tags})
    assert reply.status_code == 200, reply.text
    return [hit["id"] for hit in reply.json()["results"]]
