"""The core's error types: the only exceptions the apps need to map to HTTP statuses."""

from __future__ import annotations

__all__ = ["CoreError", "BackendUnavailable", "InvalidRequest", "IngestError", "API_KEY_REQUIRED"]

API_KEY_REQUIRED = "this endpoint writes data: send the API key in the X-API-Key header"


class CoreError(Exception):
    """Base class of every error the core raises on purpose."""


class BackendUnavailable(CoreError):
    """Milvus could not be reached or did not answer in time; the apps answer 503.

    The message is safe to show to a client: it never holds a stack trace or a path.
    """


class InvalidRequest(CoreError):
    """A request that passed the app's schema but that the core cannot serve (apps: 422).

    ``field`` names the body field at fault, for the 422's ``loc``.
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class IngestError(CoreError):
    """An uploaded file that cannot be read at all (not a single row); apps: 422."""
