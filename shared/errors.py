"""The core's error types: the only exceptions the apps need to map to HTTP statuses."""

from __future__ import annotations

from typing import Any

__all__ = [
    "CoreError",
    "BackendUnavailable",
    "ServiceBusy",
    "ValidationFailed",
    "BodyUnreadable",
    "UnservableRequest",
    "IngestError",
    "API_KEY_REQUIRED",
]

API_KEY_REQUIRED = "this endpoint writes data: send the API key in the X-API-Key header"


class CoreError(Exception):
    """Base class of every error the core raises on purpose."""


class BackendUnavailable(CoreError):
    """Milvus could not be reached or did not answer in time; the apps answer 503.

    The message is safe to show to a client: it never holds a stack trace or a path.
    """


class ServiceBusy(CoreError):
    """Too many searches are waiting for the model, or one waited too long, or the service
    is shutting down (only with search batching on); the apps answer 503 with Retry-After.

    ``retry_after_s`` is the Retry-After header: whole seconds, at least 1.
    """

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)


class ValidationFailed(CoreError):
    """A request that breaks the contract's rules (apps: 422).

    ``detail`` is the 422's list of ``{"loc", "msg", "type"}``, in FastAPI's words, so both
    apps send it as it is.
    """

    def __init__(self, detail: list[dict[str, Any]]) -> None:
        super().__init__(detail)
        self.detail = detail


class BodyUnreadable(CoreError):
    """A body no JSON can be decoded from: not UTF-8, or nested absurdly deep (apps: 400).

    The message is FastAPI's own for such a body.
    """

    def __init__(self, message: str = "There was an error parsing the body") -> None:
        super().__init__(message)


class UnservableRequest(CoreError):
    """A request that passed the app's validation but that the core cannot serve (apps: 422).

    ``field`` names the body field at fault, for the 422's ``loc``.
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class IngestError(CoreError):
    """An uploaded file that cannot be read at all (not a single row).

    Raised by the ingest job, which then ends ``failed`` with this message: the upload
    itself was accepted (202), as the OpenAPI documents type a file as any bytes.
    """
