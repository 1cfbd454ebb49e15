"""The Flask twin's OpenAPI document, assembled by hand with apispec from the marshmallow schemas.

FastAPI writes its document from the handlers' signatures; Flask knows nothing of its
routes' bodies, so each operation is described here, once more. The response schemas exist
only for this document. The field constraints are copied into ``metadata`` because apispec
cannot read our pydantic-worded validators. This file is part of the "development cost" the
report counts.
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import EXCLUDE, Schema, fields

from flask_app.schemas import request_schemas
from shared.config import Settings
from shared.docs_ui import SEARCH_UNAVAILABLE, ingest_request_body
from shared.documents import FLOAT32_MAX, ID_PATTERN, NOT_ALL_ZERO, NOT_BLANK_PATTERN

__all__ = ["build_openapi"]


class ResponseSchema(Schema):
    """A response body. Not closed to more fields (no ``additionalProperties: false``), as
    FastAPI's response models are not: a client must not break on a field added later."""

    class Meta:
        unknown = EXCLUDE


class HitSchema(ResponseSchema):
    id = fields.String(required=True)
    score = fields.Float(required=True)
    title = fields.String(required=True)
    text = fields.String(required=True)


class SearchResponseSchema(ResponseSchema):
    results = fields.List(fields.Nested(HitSchema), required=True)
    took_ms = fields.Float(required=True)


class DocumentOutSchema(ResponseSchema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    text = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)
    created_at = fields.Integer(required=True)


class CreatedOutSchema(ResponseSchema):
    id = fields.String(required=True)


class BatchCreatedOutSchema(ResponseSchema):
    ids = fields.List(fields.String(), required=True)


class HealthOutSchema(ResponseSchema):
    status = fields.String(required=True)
    documents = fields.Integer(required=True)
    model = fields.String(required=True)
    runtime = fields.String(required=True)
    milvus = fields.String(required=True)


class JobAcceptedOutSchema(ResponseSchema):
    job_id = fields.String(required=True)
    status_url = fields.String(required=True)


class RowErrorOutSchema(ResponseSchema):
    line = fields.Integer(required=True)
    reason = fields.String(required=True)


class JobStatusOutSchema(ResponseSchema):
    job_id = fields.String(required=True)
    status = fields.String(
        required=True,
        metadata={"enum": ["queued", "running", "done", "failed", "interrupted"]},
    )
    total = fields.Integer(required=True)
    processed = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    errors = fields.List(fields.Nested(RowErrorOutSchema), required=True)
    message = fields.String(allow_none=True)  # absent when empty (FastAPI: str | None)


class ValidationErrorSchema(ResponseSchema):
    """FastAPI's own description of a 422 item, field for field (``input`` and ``ctx`` are
    never sent by either twin, but FastAPI's document names them)."""

    loc = fields.List(
        fields.Raw(metadata={"anyOf": [{"type": "string"}, {"type": "integer"}]}), required=True
    )
    msg = fields.String(required=True)
    type = fields.String(required=True)
    input = fields.Raw()
    ctx = fields.Dict()


class HTTPValidationErrorSchema(ResponseSchema):
    detail = fields.List(fields.Nested(ValidationErrorSchema))


def constraints(limits: Settings) -> dict[str, dict[str, dict[str, Any]]]:
    """The constraints apispec cannot see inside our validators, written out again.

    ``pattern: NOT_BLANK_PATTERN`` is "not blank": strings are stripped, then counted.
    """
    tags = {
        "default": [],
        "maxItems": limits.max_tags,
        "items": {
            "type": "string",
            "minLength": 1,
            "maxLength": limits.max_tag_chars,
            "pattern": NOT_BLANK_PATTERN,
        },
    }
    top_k = {"minimum": 1, "maximum": limits.max_top_k}
    return {
        "SearchRequest": {
            "query": {
                "minLength": 1,
                "maxLength": limits.max_query_chars,
                "pattern": NOT_BLANK_PATTERN,
            },
            "top_k": top_k,
            "tags": tags,
        },
        "VectorSearchRequest": {
            "vector": {
                "minItems": limits.embedding_dimension,
                "maxItems": limits.embedding_dimension,
                "items": {"type": "number", "minimum": -FLOAT32_MAX, "maximum": FLOAT32_MAX},
                **NOT_ALL_ZERO,
            },
            "top_k": top_k,
            "tags": tags,
        },
        "DocumentIn": {
            "id": {"pattern": ID_PATTERN},
            "title": {"maxLength": limits.max_title_chars},
            "text": {
                "minLength": 1,
                "maxLength": limits.max_text_chars,
                "pattern": NOT_BLANK_PATTERN,
            },
            "tags": tags,
        },
        "DocumentBatchIn": {"documents": {"minItems": 1, "maxItems": limits.max_batch}},
    }


def _schema_name(schema: type[Schema] | Schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__.removesuffix("Schema")


def _json_body(name: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }


def _response(description: str, name: str | None = None) -> dict[str, Any]:
    if name is None:
        return {"description": description}
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }


WRITE_OPERATIONS = [
    ("/documents", "post"),
    ("/documents/batch", "post"),
    ("/documents/{doc_id}", "delete"),
    ("/ingest", "post"),
]
INVALID = _response("Validation Error", "HTTPValidationError")
UNAVAILABLE = _response("Milvus is unreachable or did not answer in time")
NOT_FOUND = _response("Not found")


def build_openapi(*, title: str, version: str, settings: Settings) -> dict[str, Any]:
    """The document of an app created with ``settings`` (its limits are the schemas')."""
    schemas = request_schemas(settings)
    spec = APISpec(
        title=title,
        version=version,
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
    )
    for schema in (
        schemas.SearchRequestSchema,
        schemas.VectorSearchRequestSchema,
        schemas.DocumentInSchema,
        schemas.DocumentBatchInSchema,
        HitSchema,
        SearchResponseSchema,
        DocumentOutSchema,
        CreatedOutSchema,
        BatchCreatedOutSchema,
        HealthOutSchema,
        JobAcceptedOutSchema,
        RowErrorOutSchema,
        JobStatusOutSchema,
        ValidationErrorSchema,
        HTTPValidationErrorSchema,
    ):
        spec.components.schema(_schema_name(schema), schema=schema)
    document = spec.to_dict()
    for name, properties in constraints(settings).items():
        for prop, constraint in properties.items():
            document["components"]["schemas"][name]["properties"][prop].update(constraint)

    doc_id = [
        {
            "name": "doc_id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": ID_PATTERN},
        }
    ]
    job_id = [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    document["paths"] = {
        "/health": {
            "get": {
                "operationId": "health",
                "responses": {
                    "200": _response("Successful Response", "HealthOut"),
                    "503": UNAVAILABLE,
                },
            }
        },
        "/echo": {
            "post": {
                "operationId": "echo",
                "requestBody": _json_body("SearchRequest"),
                "responses": {
                    "200": _response("Successful Response", "SearchRequest"),
                    "422": INVALID,
                },
            }
        },
        "/search": {
            "post": {
                "operationId": "search",
                "requestBody": _json_body("SearchRequest"),
                "responses": {
                    "200": _response("Successful Response", "SearchResponse"),
                    "422": INVALID,
                    "503": dict(SEARCH_UNAVAILABLE),
                },
            }
        },
        "/search/vector": {
            "post": {
                "operationId": "search_vector",
                "requestBody": _json_body("VectorSearchRequest"),
                "responses": {
                    "200": _response("Successful Response", "SearchResponse"),
                    "422": INVALID,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/documents": {
            "post": {
                "operationId": "create_document",
                "requestBody": _json_body("DocumentIn"),
                "responses": {
                    "201": _response("Successful Response", "CreatedOut"),
                    "422": INVALID,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/documents/batch": {
            "post": {
                "operationId": "create_documents",
                "requestBody": _json_body("DocumentBatchIn"),
                "responses": {
                    "201": _response("Successful Response", "BatchCreatedOut"),
                    "422": INVALID,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/documents/{doc_id}": {
            "get": {
                "operationId": "get_document",
                "parameters": doc_id,
                "responses": {
                    "200": _response("Successful Response", "DocumentOut"),
                    "404": NOT_FOUND,
                    "422": INVALID,
                    "503": UNAVAILABLE,
                },
            },
            "delete": {
                "operationId": "delete_document",
                "parameters": doc_id,
                "responses": {
                    "204": _response("Successful Response"),
                    "404": NOT_FOUND,
                    "422": INVALID,
                    "503": UNAVAILABLE,
                },
            },
        },
        "/ingest": {
            "post": {
                "operationId": "ingest",
                "requestBody": ingest_request_body(settings.max_ingest_documents),
                "responses": {
                    "202": _response("Successful Response", "JobAcceptedOut"),
                    "422": INVALID,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/ingest/{job_id}": {
            "get": {
                "operationId": "ingest_status",
                "parameters": job_id,
                "responses": {
                    "200": _response("Successful Response", "JobStatusOut"),
                    "404": NOT_FOUND,
                    "422": INVALID,
                },
            }
        },
    }
    # The write endpoints take the optional API key header (FastAPI: @require_api_key).
    api_key = {"name": "x-api-key", "in": "header", "required": False, "schema": {"type": "string"}}
    for path, method in WRITE_OPERATIONS:
        operation = document["paths"][path][method]
        operation["parameters"] = [*operation.get("parameters", []), api_key]
        operation["responses"]["401"] = _response("Missing or wrong API key")
    # Answers any operation can give before its view runs (FastAPI: responses= on the app).
    for operations in document["paths"].values():
        for operation in operations.values():
            operation["responses"]["400"] = _response(
                "The body could not be parsed (not UTF-8, or nested too deep)"
            )
            operation["responses"]["413"] = _response("The body is larger than the limit")
    return document
