"""Both twins, same request, same answer (the contract, issue 3), over the real core and Milvus.

Each case of a list is sent to both twins, and their statuses and bodies are compared with
what the case expects and with each other. The contract's other tests sit beside this file,
one per resource; every one takes ``client`` and so runs as ``[flask]`` and ``[fastapi]``.
Tests share one collection, so each writes documents under ids and tags of its own.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from contract_support import DIM, ID_PATTERN, JSON, LIMIT, error
from support import unique

from shared.service import SearchService, build_document

if TYPE_CHECKING:
    from conftest import AppClient


# --- both twins, same request, same answer ------------------------------------------------------
# Each case states the status and body both twins must give, and builds the data it reads
# (ids and tags of its own, written through the core both twins share), so no case depends
# on another or on the order they run in. Where a value cannot be known in advance (a score,
# a count, a generated id) the body says what kind of value it is.
class Like:
    """Equals any value of ``kind`` (not a bool); a string must also match ``pattern``."""

    def __init__(self, kind: type | tuple[type, ...], pattern: str | None = None) -> None:
        self.kind = kind
        self.pattern = pattern

    def __eq__(self, other: object) -> bool:
        if isinstance(other, bool) or not isinstance(other, self.kind):
            return False
        return self.pattern is None or bool(re.fullmatch(self.pattern, str(other)))

    def __repr__(self) -> str:
        return f"Like({self.kind}, {self.pattern!r})"


NUMBER = Like((int, float))
JOB_ID = Like(str, r"[0-9a-f]{32}")
PARITY_VECTOR = [1.0] + [0.0] * (DIM - 1)
Expected = tuple[str, str, dict[str, Any], int, Any]  # method, path, request, status, body


def stored(service: SearchService, *documents: dict[str, Any]) -> list[str]:
    """Documents written through the core both twins share; their ids."""
    return service.add_documents([build_document(**{"id": None, **doc}) for doc in documents])


def hit(doc_id: str, title: str, text: str) -> dict[str, Any]:
    return {"id": doc_id, "score": NUMBER, "title": title, "text": text}


FOX = "The quick brown fox jumps over the lazy dog"
TURTLE = "A slow green turtle"
MISSING = "Milvus did not answer the {} in time or is unreachable; try again shortly"


def case_health(service: SearchService) -> Expected:
    body = {
        "status": "ok",
        "documents": Like(int),
        "model": "all-MiniLM-L6-v2",
        "runtime": "onnx",
        "milvus": service.store.describe(),
    }
    return "GET", "/health", {}, 200, body


def case_create(service: SearchService) -> Expected:
    doc_id = unique("parity-create")
    document = {"id": doc_id, "title": "Fox", "text": FOX, "tags": [unique("parity")]}
    return "POST", "/documents", {"json": document}, 201, {"id": doc_id}


def case_batch(service: SearchService) -> Expected:
    doc_id = unique("parity-batch")
    body = {"documents": [{"id": doc_id, "text": TURTLE}]}
    return "POST", "/documents/batch", {"json": body}, 201, {"ids": [doc_id]}


def case_get(service: SearchService) -> Expected:
    tag = unique("parity")
    [doc_id] = stored(
        service, {"id": unique("parity-get"), "title": "Fox", "text": FOX, "tags": [tag]}
    )
    body = {"id": doc_id, "title": "Fox", "text": FOX, "tags": [tag], "created_at": Like(int)}
    return "GET", f"/documents/{doc_id}", {}, 200, body


def case_get_missing(service: SearchService) -> Expected:
    doc_id = unique("parity-missing")
    return "GET", f"/documents/{doc_id}", {}, 404, {"detail": f"document '{doc_id}' not found"}


def case_delete_missing(service: SearchService) -> Expected:
    doc_id = unique("parity-never")
    return "DELETE", f"/documents/{doc_id}", {}, 404, {"detail": f"document '{doc_id}' not found"}


def case_search(service: SearchService) -> Expected:
    tag = unique("parity")
    fox, turtle = stored(
        service,
        {"title": "Fox", "text": FOX, "tags": [tag]},
        {"title": "Turtle", "text": TURTLE, "tags": [tag]},
    )
    request = {"json": {"query": "a fast fox leaping", "tags": [tag]}}
    body = {"results": [hit(fox, "Fox", FOX), hit(turtle, "Turtle", TURTLE)], "took_ms": NUMBER}
    return "POST", "/search", request, 200, body


def case_search_top_1(service: SearchService) -> Expected:
    tag = unique("parity")
    _, turtle = stored(
        service, {"text": FOX, "tags": [tag]}, {"title": "Turtle", "text": TURTLE, "tags": [tag]}
    )
    request = {"json": {"query": "turtle", "top_k": 1, "tags": [tag]}}
    return (
        "POST",
        "/search",
        request,
        200,
        {"results": [hit(turtle, "Turtle", TURTLE)], "took_ms": NUMBER},
    )


def case_search_no_match(service: SearchService) -> Expected:
    request = {"json": {"query": "fox", "tags": [unique("none")]}}
    return "POST", "/search", request, 200, {"results": [], "took_ms": NUMBER}


def case_vector(service: SearchService) -> Expected:
    tag = unique("parity")
    [doc_id] = stored(service, {"title": "Fox", "text": FOX, "tags": [tag]})
    request = {"json": {"vector": PARITY_VECTOR, "tags": [tag]}}
    return (
        "POST",
        "/search/vector",
        request,
        200,
        {"results": [hit(doc_id, "Fox", FOX)], "took_ms": NUMBER},
    )


def case_job_missing(service: SearchService) -> Expected:
    job_id = uuid.uuid4().hex
    return "GET", f"/ingest/{job_id}", {}, 404, {"detail": f"ingest job '{job_id}' not found"}


def static(method: str, path: str, request: dict[str, Any], status: int, body: Any) -> Any:
    return lambda service: (method, path, request, status, body)


def invalid(*errors: tuple[list[Any], str, str]) -> dict[str, Any]:
    return {"detail": [error(*item) for item in errors]}


ACCEPTED = {"job_id": JOB_ID, "status_url": Like(str, r"/ingest/[0-9a-f]{32}")}
NOT_AN_OBJECT = (
    ["body"],
    "Input should be a valid dictionary or object to extract fields from",
    "model_attributes_type",
)
PATTERN = f"String should match pattern '{ID_PATTERN}'"
PARITY_CASES: dict[str, Any] = {
    "health": case_health,
    "echo": static(
        "POST",
        "/echo",
        {"json": {"query": " hi ", "top_k": 3}},
        200,
        {"query": "hi", "top_k": 3, "tags": []},
    ),
    "echo-defaults": static(
        "POST",
        "/echo",
        {"json": {"query": "x", "tags": ["a", "b"]}},
        200,
        {"query": "x", "top_k": 10, "tags": ["a", "b"]},
    ),
    "echo-integral-top-k": static(
        "POST",
        "/echo",
        {"content": b'{"query": "x", "top_k": 14.0}', "headers": JSON},
        200,
        {"query": "x", "top_k": 14, "tags": []},
    ),
    "echo-many-errors": static(
        "POST",
        "/echo",
        {"json": {"query": "  ", "top_k": "3", "x": 1, "tags": ["a" * 40, 5, ""]}},
        422,
        invalid(
            (["body", "query"], "String should have at least 1 character", "string_too_short"),
            (["body", "top_k"], "Input should be a valid integer", "int_type"),
            (["body", "tags", 0], "String should have at most 32 characters", "string_too_long"),
            (["body", "tags", 1], "Input should be a valid string", "string_type"),
            (["body", "tags", 2], "String should have at least 1 character", "string_too_short"),
            (["body", "x"], "Extra inputs are not permitted", "extra_forbidden"),
        ),
    ),
    "echo-blank-tag": static(
        "POST",
        "/echo",
        {"json": {"query": "x", "tags": ["\u00a0"]}},
        422,
        invalid(
            (["body", "tags", 0], "String should have at least 1 character", "string_too_short")
        ),
    ),
    "echo-null-fields": static(
        "POST",
        "/echo",
        {"json": {"query": None, "top_k": None, "tags": None}},
        422,
        invalid(
            (["body", "query"], "Input should be a valid string", "string_type"),
            (["body", "top_k"], "Input should be a valid integer", "int_type"),
            (["body", "tags"], "Input should be a valid list", "list_type"),
        ),
    ),
    "malformed-json": static(
        "POST",
        "/echo",
        {"content": b"{bad", "headers": JSON},
        422,
        invalid((["body", 1], "JSON decode error", "json_invalid")),
    ),
    "trailing-garbage": static(
        "POST",
        "/echo",
        {"content": b'{"query":"x"} x', "headers": JSON},
        422,
        invalid((["body", 14], "JSON decode error", "json_invalid")),
    ),
    "list-body": static(
        "POST", "/echo", {"content": b"[1,2]", "headers": JSON}, 422, invalid(NOT_AN_OBJECT)
    ),
    "form-body": static(
        "POST",
        "/echo",
        {"content": b"query=x", "headers": {"content-type": "application/x-www-form-urlencoded"}},
        422,
        invalid(NOT_AN_OBJECT),
    ),
    "no-content-type": static(
        "POST", "/echo", {"content": b'{"query": "x"}'}, 422, invalid(NOT_AN_OBJECT)
    ),
    "json-suffix-type": static(
        "POST",
        "/echo",
        {"content": b'{"query": "x"}', "headers": {"content-type": "application/vnd.api+json"}},
        200,
        {"query": "x", "top_k": 10, "tags": []},
    ),
    "empty-body": static(
        "POST",
        "/echo",
        {"content": b"", "headers": JSON},
        422,
        invalid((["body"], "Field required", "missing")),
    ),
    "bad-utf8": static(
        "POST",
        "/echo",
        {"content": b'{"query": "\xff"}', "headers": JSON},
        400,
        {"detail": "There was an error parsing the body"},
    ),
    "nan-top-k": static(
        "POST",
        "/echo",
        {"content": b'{"query": "x", "top_k": NaN}', "headers": JSON},
        422,
        invalid((["body", "top_k"], "Input should be a valid integer", "int_type")),
    ),
    "bool-top-k": static(
        "POST",
        "/echo",
        {"json": {"query": "x", "top_k": True}},
        422,
        invalid((["body", "top_k"], "Input should be a valid integer", "int_type")),
    ),
    "top-k-0": static(
        "POST",
        "/echo",
        {"json": {"query": "x", "top_k": 0}},
        422,
        invalid(
            (["body", "top_k"], "Input should be greater than or equal to 1", "greater_than_equal")
        ),
    ),
    "top-k-101": static(
        "POST",
        "/echo",
        {"json": {"query": "x", "top_k": 101}},
        422,
        invalid(
            (["body", "top_k"], "Input should be less than or equal to 100", "less_than_equal")
        ),
    ),
    "too-large": static(
        "POST",
        "/echo",
        {"content": b"x" * (LIMIT + 1), "headers": JSON},
        413,
        {"detail": f"request body is larger than the limit of {LIMIT} bytes"},
    ),
    "create": case_create,
    "create-invalid": static(
        "POST",
        "/documents",
        {"json": {"id": "bad id", "text": "", "title": "t" * 201, "tags": ["t"] * 11}},
        422,
        invalid(
            (["body", "id"], PATTERN, "string_pattern_mismatch"),
            (["body", "title"], "String should have at most 200 characters", "string_too_long"),
            (["body", "text"], "String should have at least 1 character", "string_too_short"),
            (
                ["body", "tags"],
                "List should have at most 10 items after validation, not 11",
                "too_long",
            ),
        ),
    ),
    "create-null-id": static(
        "POST",
        "/documents",
        {"json": {"id": None, "text": ""}},
        422,
        invalid((["body", "text"], "String should have at least 1 character", "string_too_short")),
    ),
    "batch": case_batch,
    "batch-invalid": static(
        "POST",
        "/documents/batch",
        {"json": {"documents": [{"text": "a"}, {"tex": "b"}, 5]}},
        422,
        invalid(
            (["body", "documents", 1, "text"], "Field required", "missing"),
            (["body", "documents", 1, "tex"], "Extra inputs are not permitted", "extra_forbidden"),
            (["body", "documents", 2], *NOT_AN_OBJECT[1:]),
        ),
    ),
    "batch-empty": static(
        "POST",
        "/documents/batch",
        {"json": {"documents": []}},
        422,
        invalid(
            (
                ["body", "documents"],
                "List should have at least 1 item after validation, not 0",
                "too_short",
            )
        ),
    ),
    "batch-not-list": static(
        "POST",
        "/documents/batch",
        {"json": {"documents": {"text": "a"}}},
        422,
        invalid((["body", "documents"], "Input should be a valid list", "list_type")),
    ),
    "get": case_get,
    "get-missing": case_get_missing,
    "get-bad-id": static(
        "GET",
        "/documents/bad$id",
        {},
        422,
        invalid((["path", "doc_id"], PATTERN, "string_pattern_mismatch")),
    ),
    "search": case_search,
    "search-top-1": case_search_top_1,
    "search-no-match": case_search_no_match,
    "vector": case_vector,
    "vector-short": static(
        "POST",
        "/search/vector",
        {"json": {"vector": [0.1] * 3}},
        422,
        invalid(
            (
                ["body", "vector"],
                f"List should have at least {DIM} items after validation, not 3",
                "too_short",
            )
        ),
    ),
    "vector-infinity": static(
        "POST",
        "/search/vector",
        {
            "content": ('{"vector":[' + ",".join(["0.1"] * (DIM - 1)) + ",Infinity]}").encode(),
            "headers": JSON,
        },
        422,
        invalid((["body", "vector", DIM - 1], "Input should be a finite number", "finite_number")),
    ),
    "vector-strings": static(
        "POST",
        "/search/vector",
        {"json": {"vector": ["1"] * DIM}},
        422,
        invalid(
            *[
                (["body", "vector", n], "Input should be a valid number", "float_type")
                for n in range(DIM)
            ]
        ),
    ),
    "vector-zero": static(
        "POST",
        "/search/vector",
        {"json": {"vector": [0] * DIM}},
        422,
        invalid(
            (
                ["body", "vector"],
                "vector must have a non-zero component "
                "(cosine similarity is undefined for a zero vector)",
                "value_error",
            )
        ),
    ),
    "ingest-object": static(
        "POST",
        "/ingest",
        {"json": {"a": 1}},
        422,
        invalid((["body"], "Input should be a valid list", "list_type")),
    ),
    "ingest-empty-list": static(
        "POST",
        "/ingest",
        {"json": []},
        422,
        invalid(
            (["body"], "List should have at least 1 item after validation, not 0", "too_short")
        ),
    ),
    "ingest-empty-body": static(
        "POST",
        "/ingest",
        {"content": b"", "headers": JSON},
        422,
        invalid((["body"], "Field required", "missing")),
    ),
    "ingest-null": static(
        "POST",
        "/ingest",
        {"content": b"null", "headers": JSON},
        422,
        invalid((["body"], "Input should be a valid list", "list_type")),
    ),
    "ingest-malformed": static(
        "POST",
        "/ingest",
        {"content": b"[{", "headers": JSON},
        422,
        invalid((["body", 2], "JSON decode error", "json_invalid")),
    ),
    "ingest-any-items": static("POST", "/ingest", {"json": [None, 5, "x", [1]]}, 202, ACCEPTED),
    "ingest-no-file": static(
        "POST",
        "/ingest",
        {"files": {"other": ("a.csv", b"text\nx\n", "text/csv")}},
        422,
        invalid(
            (["body", "file"], "Field required", "missing"),
            (["body", "other"], "Extra inputs are not permitted", "extra_forbidden"),
        ),
    ),
    "ingest-extra-fields": static(
        "POST",
        "/ingest",
        {
            "content": b"--x\r\n"
            b'Content-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n'
            b'{"text": "x"}\r\n'
            + b"".join(
                b'--x\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nv\r\n' % n
                for n in range(12)
            )
            + b"--x--\r\n",
            "headers": {"content-type": "multipart/form-data; boundary=x"},
        },
        422,
        invalid(
            *[
                (["body", name], "Extra inputs are not permitted", "extra_forbidden")
                for name in sorted(f"f{n}" for n in range(12))
            ]
        ),
    ),
    "ingest-not-utf8": static(
        "POST",
        "/ingest",
        {"files": {"file": ("a.csv", b"text\n\xff\n", "text/csv")}},
        202,
        ACCEPTED,
    ),
    "ingest-no-text-column": static(
        "POST", "/ingest", {"files": {"file": ("a.csv", b"title\nx\n", "text/csv")}}, 202, ACCEPTED
    ),
    "ingest-malformed-form": static(
        "POST",
        "/ingest",
        {"content": b"--x\r\n\r\n", "headers": {"content-type": "multipart/form-data; boundary=x"}},
        400,
        {"detail": "There was an error parsing the body"},
    ),
    "job-missing": case_job_missing,
    "job-bad-id": static("GET", "/ingest/nope", {}, 404, {"detail": "ingest job 'nope' not found"}),
    "delete-missing": case_delete_missing,
    "delete-bad-id": static(
        "DELETE",
        "/documents/bad$id",
        {},
        422,
        invalid((["path", "doc_id"], PATTERN, "string_pattern_mismatch")),
    ),
    "not-found": static("GET", "/nothing/here", {}, 404, {"detail": "Not Found"}),
    "method-not-allowed": static("PUT", "/search", {}, 405, {"detail": "Method Not Allowed"}),
    "options": static("OPTIONS", "/documents/some-id", {}, 405, {"detail": "Method Not Allowed"}),
    "docs-asset-missing": static("GET", "/docs-static/nope.js", {}, 404, {"detail": "Not Found"}),
}


def without_generated(body: Any) -> Any:
    """The body minus what differs between any two calls (a timing, a new job's id)."""
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if k not in ("took_ms", "job_id", "status_url")}
    return body


@pytest.mark.parametrize("case", list(PARITY_CASES))
def test_both_apps_answer_the_case_with_its_expected_status_and_body(
    both: tuple[AppClient, AppClient], service: SearchService, case: str
) -> None:
    method, path, request, status, body = PARITY_CASES[case](service)
    replies = {client.name: client.request(method, path, **request) for client in both}
    for name, reply in replies.items():
        assert reply.status_code == status, f"{name}: {reply.status_code} {reply.content[:300]!r}"
        assert reply.headers["content-type"].startswith("application/json"), name
        assert reply.json() == body, f"{name}: {reply.json()!r}"
    flask, fastapi = (without_generated(reply.json()) for reply in replies.values())
    assert flask == fastapi  # what the placeholders let through (scores) is the same too
