"""Both OpenAPI documents are valid and describe the same operations, bodies and answers.

FastAPI derives its document from the pydantic models; the Flask twin's is generated from
the marshmallow schemas, with the constraints written out by hand. A route, a field, a
constraint (length, pattern, range, default) or a status code that one twin's document
has and the other's lacks shows up here.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openapi_spec_validator import validate

from shared.documents import NOT_BLANK_PATTERN

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


# What a schema asserts about a value; annotations (title, description, examples) are words.
ASSERTIONS = {
    "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
    "uniqueItems", "contains", "minLength", "maxLength", "pattern", "format", "minimum",
    "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "enum", "const", "not",
    "anyOf", "oneOf", "allOf", "contentMediaType", "default",
}  # fmt: skip
NULL = {"type": "null"}


def canonical(document: dict[str, Any], schema: Any, *, parameter: bool = False) -> Any:
    """What ``schema`` asserts, in one spelling: references resolved, annotations dropped.

    The spellings that differ between the generators and mean the same are made one:
    pydantic's ``anyOf: [X, {type: null}]`` is apispec's ``type: [X, null]``;
    ``additionalProperties: {}`` (or true) asserts nothing; a ``default`` of null is what an
    optional field that may be null means anyway. A parameter is text on the wire and
    cannot be null, so "or null" is dropped from a parameter's type.
    """
    if not isinstance(schema, dict):
        return schema
    schema = resolve(document, schema)
    options = schema.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and NULL in options:
        [other] = [option for option in options if option != NULL]
        other = resolve(document, other)
        rest = {key: value for key, value in schema.items() if key != "anyOf"}
        kinds = other.get("type", [])
        schema = {
            **other,
            **rest,
            "type": [*([kinds] if isinstance(kinds, str) else kinds), "null"],
        }
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in ASSERTIONS or (key == "default" and value is None):
            continue
        if key == "additionalProperties" and value in ({}, True):
            continue
        if key == "properties":
            out[key] = {name: canonical(document, prop) for name, prop in sorted(value.items())}
        elif key in ("items", "not", "contains", "additionalProperties"):
            out[key] = canonical(document, value)
        elif key in ("anyOf", "oneOf", "allOf"):
            out[key] = sorted((canonical(document, option) for option in value), key=repr)
        elif key in ("required", "enum") or (key == "type" and isinstance(value, list)):
            out[key] = sorted(value, key=repr)
        else:
            out[key] = value
    if parameter and isinstance(out.get("type"), list):
        kinds = [kind for kind in out["type"] if kind != "null"]
        out["type"] = kinds[0] if len(kinds) == 1 else kinds
    return out


def request_bodies(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each operation's request body: every media type's schema, constraints included."""
    bodies = {}
    for key, operation in operations(document).items():
        body = operation.get("requestBody", {})
        bodies[key] = {
            "required": body.get("required", False),
            **{
                media: canonical(document, content["schema"])
                for media, content in body.get("content", {}).items()
            },
        }
    return bodies


def responses(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each operation's documented status codes, with each one's body schema (if any)."""
    return {
        key: {
            code: {
                media: canonical(document, content.get("schema", {}))
                for media, content in response.get("content", {}).items()
            }
            for code, response in operation["responses"].items()
        }
        for key, operation in operations(document).items()
    }


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


def test_openapi_documents_describe_the_same_request_bodies_and_constraints(
    both: tuple[AppClient, AppClient],
) -> None:
    flask, fastapi = (request_bodies(openapi(client)) for client in both)
    assert flask == fastapi
    search = fastapi[("/search", "post")]["application/json"]
    assert search["properties"]["query"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 1000,
        "pattern": NOT_BLANK_PATTERN,
    }
    assert search["properties"]["top_k"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 10,
    }
    assert search["required"] == ["query"] and search["additionalProperties"] is False
    vector = fastapi[("/search/vector", "post")]["application/json"]["properties"]["vector"]
    assert vector["contains"] == {"not": {"const": 0}}
    ingest = fastapi[("/ingest", "post")]
    assert set(ingest) == {"required", "application/json", "multipart/form-data"}
    assert ingest["application/json"]["items"] == {}  # any value: the job checks each one


def test_openapi_documents_describe_the_same_responses(
    both: tuple[AppClient, AppClient],
) -> None:
    flask, fastapi = (responses(openapi(client)) for client in both)
    assert flask == fastapi
    assert sorted(fastapi[("/documents/{doc_id}", "delete")]) == [
        "204", "400", "401", "404", "413", "422", "503",
    ]  # fmt: skip
    assert sorted(fastapi[("/health", "get")]) == ["200", "400", "413", "503"]


def parameters(document: dict[str, Any]) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    return {
        key: sorted(
            (
                p["name"].lower(),
                p["in"],
                p.get("required", False),
                repr(canonical(document, p["schema"], parameter=True)),
            )
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
        ("doc_id", "path", True, repr({"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"}))
    ]


def test_both_documents_state_the_project_version(both: tuple[AppClient, AppClient]) -> None:
    # One version, the project's (shared.VERSION), in both twins' documents.
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    version = tomllib.loads(pyproject.read_text())["project"]["version"]
    assert [openapi(client)["info"]["version"] for client in both] == [version, version]
