"""Both OpenAPI documents are valid and describe the same operations and the same bodies.

FastAPI derives its document from the pydantic models; the Flask twin's is generated from
the marshmallow schemas. A route or a field added to one twin only shows up here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openapi_spec_validator import validate

if TYPE_CHECKING:
    from conftest import AppClient

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def openapi(client: AppClient) -> dict[str, Any]:
    reply = client.get("/openapi.json")
    assert reply.status_code == 200
    document: dict[str, Any] = reply.json()
    return document


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = document["components"]["schemas"][name]
    return schema


def shape(document: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """The field names (and which are required) of a body schema, nested objects included."""
    schema = resolve(document, schema)
    if depth > 5:
        return "..."
    if schema.get("type") == "array" and "items" in schema:
        return [shape(document, schema["items"], depth + 1)]
    if "properties" in schema:
        return {
            "properties": {
                name: shape(document, prop, depth + 1)
                for name, prop in sorted(schema["properties"].items())
            },
            "required": sorted(schema.get("required", [])),
        }
    if "anyOf" in schema or "oneOf" in schema:
        # pydantic says anyOf [string, null]; apispec says type [string, null].
        options = [shape(document, option, depth + 1) for option in schema.get("anyOf", [])]
        options += [shape(document, option, depth + 1) for option in schema.get("oneOf", [])]
        return sorted(map(str, options))
    kind = schema.get("type", "any")
    return sorted(kind) if isinstance(kind, list) else kind


def request_bodies(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    bodies = {}
    for key, operation in operations(document).items():
        content = operation.get("requestBody", {}).get("content", {})
        bodies[key] = {media: shape(document, body["schema"]) for media, body in content.items()}
    return bodies


def test_openapi_document_is_valid(client: AppClient) -> None:
    document = openapi(client)
    validate(document)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"]


def test_openapi_documents_describe_the_same_operations(
    both: tuple[AppClient, AppClient],
) -> None:
    flask, fastapi = (openapi(client) for client in both)
    assert sorted(operations(flask)) == sorted(operations(fastapi))
    assert sorted(operations(fastapi)) == [
        ("/documents", "post"),
        ("/documents/batch", "post"),
        ("/documents/{doc_id}", "delete"),
        ("/documents/{doc_id}", "get"),
        ("/echo", "post"),
        ("/health", "get"),
        ("/ingest", "post"),
        ("/ingest/{job_id}", "get"),
        ("/search", "post"),
        ("/search/vector", "post"),
    ]


def test_openapi_documents_describe_the_same_request_bodies(
    both: tuple[AppClient, AppClient],
) -> None:
    flask, fastapi = (request_bodies(openapi(client)) for client in both)
    assert flask == fastapi
    search = fastapi[("/search", "post")]["application/json"]
    assert search == {
        "properties": {"query": "string", "tags": ["string"], "top_k": "integer"},
        "required": ["query"],
    }
    assert set(fastapi[("/ingest", "post")]) == {"application/json", "multipart/form-data"}


def parameters(document: dict[str, Any]) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    return {
        key: sorted(
            (p["name"].lower(), p["in"], p.get("required", False), p["schema"].get("pattern"))
            for p in operation.get("parameters", [])
        )
        for key, operation in operations(document).items()
    }


def test_openapi_documents_describe_the_same_parameters(
    both: tuple[AppClient, AppClient],
) -> None:
    flask, fastapi = (parameters(openapi(client)) for client in both)
    assert flask == fastapi
    assert fastapi[("/documents/{doc_id}", "get")] == [
        ("doc_id", "path", True, "^[A-Za-z0-9_.-]{1,64}$")
    ]
