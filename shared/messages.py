"""The words both twins answer with, written once: each twin wraps them in its own response.

A message a client reads in a ``detail`` belongs here when both twins send it and neither
framework writes it for them (their own phrases, such as "Not Found", stay theirs). The API
key's 401 message is :data:`shared.errors.API_KEY_REQUIRED`; /health's 503 body is the
service's (:meth:`shared.service.SearchService.unavailable_health`).
"""

from __future__ import annotations

from typing import Any

from shared.errors import UnservableRequest

__all__ = [
    "INTERNAL_ERROR",
    "body_too_large",
    "document_not_found",
    "job_not_found",
    "unservable_detail",
]

# Starlette's phrase for a 500, which the Flask twin sends too; nothing of the error itself.
INTERNAL_ERROR = "Internal Server Error"


def document_not_found(doc_id: str) -> str:
    """The 404 of a document id with no document."""
    return f"document '{doc_id}' not found"


def job_not_found(job_id: str) -> str:
    """The 404 of an ingest job id with no job."""
    return f"ingest job '{job_id}' not found"


def body_too_large(limit: int | None) -> str:
    """The 413 of a body over ``limit`` bytes (the route's: uploads have a larger one)."""
    return f"request body is larger than the limit of {limit} bytes"


def unservable_detail(exc: UnservableRequest) -> list[dict[str, Any]]:
    """The 422 ``detail`` of a request the core refused: one error, at the field at fault."""
    return [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}]
