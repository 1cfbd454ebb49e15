"""Reading the request body in the Flask twin: what FastAPI does before a handler runs.

Flask hands a view the raw request; each view reads its body itself, through these.
``read_json`` reads the JSON body the way FastAPI does (missing body, wrong content type,
malformed JSON: the core's :func:`~shared.json_body.decode_json_body`), ``load_body`` runs a
marshmallow schema on it, and ``read_form`` parses /ingest's multipart form strictly. Each
failure is a core error (``ValidationFailed``, ``BodyUnreadable``) or Werkzeug's 413, which
:mod:`flask_app.errors` turns into the contract's response. A view reads its body only
after its API key is checked, so a write without the key never gets this far.
"""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, ValidationError
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from flask_app.errors import detail_from
from shared.errors import BodyUnreadable, ValidationFailed
from shared.json_body import decode_json_body

__all__ = ["load_body", "read_json", "read_form"]


def read_json() -> Any:
    """The request's JSON body, read as FastAPI reads one (same errors for the same input)."""
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A chunked body has no Content-Length to refuse up front, and Werkzeug silently
        # stops reading at the limit: a full buffer means the body was cut, so refuse it.
        raise RequestEntityTooLarge()
    return decode_json_body(raw, request.headers.get("Content-Type"))


def read_form() -> tuple[MultiDict[str, str], MultiDict[str, FileStorage]]:
    """The multipart form's plain fields and files; a form that cannot be parsed is a 400.

    Werkzeug's own parser is silent: a malformed form reads as empty, and the client would
    be told its file is missing. Parsed strictly, it gets FastAPI's answer to the same body.
    """
    parser = request.make_form_data_parser()
    parser.silent = False
    try:
        _, fields, files = parser.parse(
            request.stream, request.mimetype, request.content_length, request.mimetype_params
        )
    except ValueError as exc:
        raise BodyUnreadable() from exc
    return fields, files


def load_body(schema: Schema) -> dict[str, Any]:
    """Read the JSON body and validate it with ``schema``: the Flask twin's hand-wired step."""
    try:
        loaded: dict[str, Any] = schema.load(read_json())
    except ValidationError as exc:
        raise ValidationFailed(detail_from(exc.messages, ("body",))) from exc
    return loaded
