"""A write without the right API key answers 401 before its body is read, from both twins.

The key decides first, whatever the body: a malformed or oversized body sent without the key
gets the 401, not the 422, 400 or 413 its body would get. FastAPI reads and parses a route's
body before it solves the route's dependencies, so a key check declared only as a dependency
answers those bodies first; the Flask views check the key before they read a byte. With the
key, the same bodies get their own answers: what is tested is the order, not a 401 for
everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from shared.errors import API_KEY_REQUIRED
from shared.service import SearchService

if TYPE_CHECKING:
    from conftest import AppClient

# Each write with a body the key must come before, and the status that body gets with the key.
CASES = [
    ("/documents", "malformed JSON", 422),
    ("/documents/batch", "malformed JSON", 422),
    ("/ingest", "malformed JSON", 422),
    ("/ingest", "malformed form", 400),
    ("/documents", "oversized", 413),
    ("/documents/batch", "oversized", 413),
    ("/ingest", "oversized", 413),
]


def body_of(kind: str, path: str, service: SearchService) -> tuple[bytes, dict[str, str]]:
    """The body of ``kind`` for ``path`` and its Content-Type; oversized is one byte past the
    limit of ``path`` in ``service``'s settings."""
    json = {"content-type": "application/json"}
    if kind == "malformed JSON":
        return b'{"text": "cut off', json
    if kind == "malformed form":
        return b"--edge\r\nno end", {"content-type": "multipart/form-data; boundary=edge"}
    settings = service.settings
    limit = settings.max_upload_bytes if path == "/ingest" else settings.max_body_bytes
    return b"x" * (limit + 1), json


@pytest.mark.parametrize(("path", "kind", "status"), CASES)
@pytest.mark.parametrize("key", [None, "wrong-key"], ids=["no key", "wrong key"])
def test_the_key_is_checked_before_the_body(
    keyed_client: AppClient,
    keyed_service: SearchService,
    path: str,
    kind: str,
    status: int,
    key: str | None,
) -> None:
    body, headers = body_of(kind, path, keyed_service)
    if key is not None:
        headers["X-API-Key"] = key
    reply = keyed_client.post(path, content=body, headers=headers)
    assert reply.status_code == 401, reply.text[:300]
    assert reply.json() == {"detail": API_KEY_REQUIRED}
    assert reply.headers["www-authenticate"] == "ApiKey"


@pytest.mark.parametrize(("path", "kind", "status"), CASES)
def test_with_the_key_the_body_gets_its_own_answer(
    keyed_client: AppClient, keyed_service: SearchService, path: str, kind: str, status: int
) -> None:
    body, headers = body_of(kind, path, keyed_service)
    key = keyed_service.settings.api_key
    assert key, "the keyed service sets an API key"
    reply = keyed_client.post(path, content=body, headers={**headers, "X-API-Key": key})
    assert reply.status_code == status, reply.text[:300]
    assert reply.json()["detail"], reply.text[:300]
