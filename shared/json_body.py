"""Reading a raw JSON request body as FastAPI reads one, for handlers that read their own.

Both twins read ``/ingest``'s body themselves (one route takes a JSON list or a file), and
the Flask twin reads every body itself, so the same input must get the same error from
both: this module holds that reading once. It knows nothing of Flask or FastAPI: it raises
:class:`~shared.errors.ValidationFailed` (422) or :class:`~shared.errors.BodyUnreadable`
(400), which each twin maps to its own response.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from shared.errors import BodyUnreadable, ValidationFailed

__all__ = ["decode_json_body", "field_required", "is_json", "form_problems"]

# What FastAPI says of a body that is not JSON: it hands it to the model as it is, which is
# not an object.
NOT_AN_OBJECT = {
    "loc": ["body"],
    "msg": "Input should be a valid dictionary or object to extract fields from",
    "type": "model_attributes_type",
}


def field_required(*loc: str | int) -> dict[str, Any]:
    """The 422 detail of a missing field (or of a missing body: ``loc`` is just "body")."""
    return {"loc": list(loc), "msg": "Field required", "type": "missing"}


def form_problems(names: Iterable[str], *, has_file: bool) -> list[dict[str, Any]]:
    """The 422 detail of /ingest's multipart form: its ``file`` missing, any other field.

    ``names`` are the form's field names, files and plain fields alike. Unknown fields are
    errors, as in a JSON body (the OpenAPI documents close the form to other fields).
    """
    problems = [] if has_file else [field_required("body", "file")]
    return problems + [
        {"loc": ["body", name], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
        for name in sorted(set(names) - {"file"})
    ]


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type header declares JSON (``application/json`` or ``...+json``)."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def decode_json_body(raw: bytes, content_type: str | None) -> Any:
    """The JSON value of a request body, given its bytes and its Content-Type header.

    Raises ValidationFailed for an empty body (missing), a body not declared as JSON
    (not an object) and malformed JSON (json_invalid, at the position of the error), and
    BodyUnreadable for a body that is not UTF-8 or is nested too deep to decode.
    """
    if not raw:
        raise ValidationFailed([field_required("body")])
    if not is_json(content_type):
        raise ValidationFailed([dict(NOT_AN_OBJECT)])
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            [{"loc": ["body", exc.pos], "msg": "JSON decode error", "type": "json_invalid"}]
        ) from exc
    except (ValueError, RecursionError) as exc:  # not UTF-8 (a ValueError), absurd nesting
        raise BodyUnreadable() from exc
