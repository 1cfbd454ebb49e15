"""Request schemas of the Flask twin: marshmallow, plus the rules pydantic gives FastAPI free.

Compare with fastapi_app/schemas.py. Both twins answer bad input with the same 422 body
(FastAPI's shape), so every rule here carries the exact ``type`` and ``msg`` pydantic would
report: each error message is a ``{"type", "msg"}`` dict, which flask_app/errors.py turns
into the contract's ``detail`` list. Writing (and keeping) this by hand is the cost the
comparison report counts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

from marshmallow import RAISE, Schema, ValidationError, fields

from shared.config import Settings
from shared.documents import FLOAT32_MAX, ID_PATTERN, OUT_OF_FLOAT32, WHITE_SPACE

__all__ = ["RequestSchemas", "request_schemas", "ID_PATTERN", "error", "matches"]


def error(type_: str, msg: str) -> dict[str, str]:
    """An error in pydantic's vocabulary, so both twins report the same thing."""
    return {"type": type_, "msg": msg}


def _messages(type_name: str, kind: str) -> dict[str, Any]:
    wrong_type = error(type_name, f"Input should be a valid {kind}")
    return {
        "required": error("missing", "Field required"),
        "null": wrong_type,
        "invalid": wrong_type,
    }


# --- the rules pydantic declares with Field(...) ------------------------------------------
Validator = Callable[[Any], None]


def string_length(*, min_length: int | None = None, max_length: int | None = None) -> Validator:
    def check(value: str) -> None:
        if min_length is not None and len(value) < min_length:
            plural = "character" if min_length == 1 else "characters"
            raise ValidationError(
                error("string_too_short", f"String should have at least {min_length} {plural}")
            )
        if max_length is not None and len(value) > max_length:
            raise ValidationError(
                error("string_too_long", f"String should have at most {max_length} characters")
            )

    return check


def list_length(*, min_length: int | None = None, max_length: int | None = None) -> Validator:
    def check(value: list[Any]) -> None:
        if min_length is not None and len(value) < min_length:
            item = "item" if min_length == 1 else "items"
            raise ValidationError(
                error(
                    "too_short",
                    f"List should have at least {min_length} {item} after validation, "
                    f"not {len(value)}",
                )
            )
        if max_length is not None and len(value) > max_length:
            raise ValidationError(
                error(
                    "too_long",
                    f"List should have at most {max_length} items after validation, "
                    f"not {len(value)}",
                )
            )

    return check


def int_range(*, ge: int, le: int) -> Validator:
    def check(value: int) -> None:
        if value < ge:
            raise ValidationError(
                error("greater_than_equal", f"Input should be greater than or equal to {ge}")
            )
        if value > le:
            raise ValidationError(
                error("less_than_equal", f"Input should be less than or equal to {le}")
            )

    return check


def matches(pattern: str) -> Validator:
    compiled = re.compile(pattern)

    def check(value: str) -> None:
        if not compiled.fullmatch(value):  # search() would let "abc\n" through "$"
            raise ValidationError(
                error("string_pattern_mismatch", f"String should match pattern '{pattern}'")
            )

    return check


# --- strict fields: marshmallow converts "5" to 5 and True to 1; pydantic strict does not ---
class StrictString(fields.String):
    """A string, stripped of surrounding white space (pydantic: str_strip_whitespace)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(error_messages=_messages("string_type", "string"), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, from a JSON "\ud800" escape
            raise ValidationError(
                error(
                    "string_unicode",
                    "Input should be a valid string, unable to parse raw data as a unicode string",
                )
            ) from None
        return value.strip(WHITE_SPACE)


class StrictInteger(fields.Integer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, error_messages=_messages("int_type", "integer"), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        # JSON Schema counts 14.0 as an integer, and the OpenAPI document says "integer".
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return value


class FiniteFloat(fields.Float):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(error_messages=_messages("float_type", "number"), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        try:
            number = float(value)  # a 400-digit JSON integer overflows
        except OverflowError:
            raise self.make_error("invalid") from None
        if not math.isfinite(number):
            raise ValidationError(error("finite_number", "Input should be a finite number"))
        if abs(number) > FLOAT32_MAX:
            raise ValidationError(error(*OUT_OF_FLOAT32))
        return number


class StrictList(fields.List):  # type: ignore[type-arg]
    def __init__(self, item: fields.Field, **kwargs: Any) -> None:  # type: ignore[type-arg]
        super().__init__(item, error_messages=_messages("list_type", "list"), **kwargs)


class StrictSchema(Schema):
    """Unknown fields are errors (pydantic: extra="forbid"), reported in pydantic's words."""

    class Meta:
        unknown = RAISE

    error_messages: dict[str, Any] = {
        "unknown": error("extra_forbidden", "Extra inputs are not permitted"),
        "type": error(
            "model_attributes_type",
            "Input should be a valid dictionary or object to extract fields from",
        ),
    }


# --- the schemas: twins of fastapi_app/schemas.py ------------------------------------------
class RequestSchemas(NamedTuple):
    """The request schema classes of one app, in fastapi_app/schemas.py's order."""

    SearchRequestSchema: type[Schema]
    VectorSearchRequestSchema: type[Schema]
    DocumentInSchema: type[Schema]
    DocumentBatchInSchema: type[Schema]
    IngestDocumentsSchema: type[Schema]


@lru_cache(maxsize=8)
def request_schemas(limits: Settings) -> RequestSchemas:
    """The request schemas that enforce the limits of ``limits`` (an app's settings).

    A marshmallow field's validators are fixed when its schema class is made, so each set
    of limits gets classes of its own (cached: settings are frozen, hence hashable).
    """

    def tags_field() -> StrictList:
        return StrictList(
            StrictString(validate=string_length(min_length=1, max_length=limits.max_tag_chars)),
            validate=list_length(max_length=limits.max_tags),
            load_default=list,
        )

    def top_k_field() -> StrictInteger:
        return StrictInteger(
            validate=int_range(ge=1, le=limits.max_top_k), load_default=limits.default_top_k
        )

    class SearchRequestSchema(StrictSchema):
        query = StrictString(
            required=True,
            validate=string_length(min_length=1, max_length=limits.max_query_chars),
        )
        top_k = top_k_field()
        tags = tags_field()

    class VectorSearchRequestSchema(StrictSchema):
        vector = StrictList(
            FiniteFloat(),
            required=True,
            validate=list_length(
                min_length=limits.embedding_dimension, max_length=limits.embedding_dimension
            ),
        )
        top_k = top_k_field()
        tags = tags_field()

    class DocumentInSchema(StrictSchema):
        id = StrictString(allow_none=True, load_default=None, validate=matches(ID_PATTERN))
        title = StrictString(
            load_default="", validate=string_length(max_length=limits.max_title_chars)
        )
        text = StrictString(
            required=True, validate=string_length(min_length=1, max_length=limits.max_text_chars)
        )
        tags = tags_field()

    class DocumentBatchInSchema(StrictSchema):
        documents = StrictList(
            fields.Nested(DocumentInSchema),
            required=True,
            validate=list_length(min_length=1, max_length=limits.max_batch),
        )

    class IngestDocumentsSchema(StrictSchema):
        """A JSON list body for /ingest; its rows are checked by the core, like a file's."""

        documents = StrictList(
            fields.Raw(allow_none=True),  # any item, null included (the document says so)
            required=True,
            validate=list_length(min_length=1, max_length=limits.max_ingest_documents),
        )

    return RequestSchemas(
        SearchRequestSchema,
        VectorSearchRequestSchema,
        DocumentInSchema,
        DocumentBatchInSchema,
        IngestDocumentsSchema,
    )
