"""The HTTP contract (issue 3), once, run against both twins over the real core and Milvus.

Every test takes ``client`` and so runs as ``[flask]`` and ``[fastapi]``; the parity test at
the end sends each request of a list to both twins and compares status and body. Tests share
one collection, so each writes documents under ids and tags of its own.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from shared.config import Settings
from shared.service import SearchService, build_document

if TYPE_CHECKING:
    from conftest import AppClient, Reply

JOB_TIMEOUT_S = 60.0
ID_PATTERN = "^[A-Za-z0-9_.-]{1,64}$"
JSON = {"content-type": "application/json"}
DIM = 384
LIMIT = 1_048_576


def unique(prefix: str) -> str:
    """An id or tag that no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def error(loc: list[Any], msg: str, type_: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": type_}


def assert_422(reply: Reply, *errors: dict[str, Any]) -> None:
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json() == {"detail": list(errors)}


def wait_for_job(client: AppClient, job_id: str, timeout_s: float = JOB_TIMEOUT_S) -> Any:
    """Poll ``GET /ingest/{job_id}`` until the job is no longer queued or running."""
    deadline = time.monotonic() + timeout_s
    while True:
        reply = client.get(f"/ingest/{job_id}")
        assert reply.status_code == 200, reply.text
        body = reply.json()
        if body["status"] not in ("queued", "running"):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"ingest job {job_id} still {body['status']} after {timeout_s} s")
        time.sleep(0.1)


def submit(client: AppClient, **kwargs: Any) -> str:
    """POST /ingest, check the 202 body, return the job id."""
    reply = client.post("/ingest", **kwargs)
    assert reply.status_code == 202, reply.text
    body = reply.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["job_id"])
    assert body == {"job_id": body["job_id"], "status_url": f"/ingest/{body['job_id']}"}
    return str(body["job_id"])


def search_ids(client: AppClient, query: str, *, tags: list[str], top_k: int = 100) -> list[str]:
    reply = client.post("/search", json={"query": query, "top_k": top_k, "tags": tags})
    assert reply.status_code == 200, reply.text
    return [hit["id"] for hit in reply.json()["results"]]


# --- GET /health ----------------------------------------------------------------------------
def test_health_reports_status_document_count_model_and_milvus(
    client: AppClient, settings: Settings
) -> None:
    reply = client.get("/health")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    assert body == {
        "status": "ok",
        "documents": body["documents"],
        "model": "all-MiniLM-L6-v2",
        "milvus": f"{settings.milvus_backend} at http://127.0.0.1:{settings.milvus_port}",
    }
    assert isinstance(body["documents"], int) and body["documents"] >= 0


def test_health_counts_a_new_document(client: AppClient, service: SearchService) -> None:
    client.post("/documents", json={"id": unique("health"), "text": "counted by health"})
    expected = service.store.count(strong=True)
    time.sleep(1.1)  # /health caches its count for one second (HEALTH_TTL_S)
    assert client.get("/health").json()["documents"] == expected


# --- POST /echo: parsing and validation only --------------------------------------------------
def test_echo_returns_the_normalised_body(client: AppClient) -> None:
    reply = client.post("/echo", json={"query": "  what is a context manager?  "})
    assert reply.status_code == 200
    assert reply.json() == {"query": "what is a context manager?", "top_k": 10, "tags": []}


def test_echo_keeps_given_top_k_and_tags(client: AppClient) -> None:
    body = {"query": "asyncio", "top_k": 100, "tags": ["asyncio", "x" * 32]}
    reply = client.post("/echo", json=body)
    assert reply.status_code == 200
    assert reply.json() == body


def test_echo_keeps_unicode_as_is(client: AppClient) -> None:
    reply = client.post("/echo", json={"query": "café 東京 ✓", "top_k": 1})
    assert reply.status_code == 200
    assert reply.json() == {"query": "café 東京 ✓", "top_k": 1, "tags": []}


# --- 422: the shape of every validation error --------------------------------------------------
def test_search_rejects_missing_query(client: AppClient) -> None:
    assert_422(
        client.post("/search", json={"top_k": 3}),
        error(["body", "query"], "Field required", "missing"),
    )


def test_search_rejects_missing_body(client: AppClient) -> None:
    assert_422(
        client.post("/search", content=b"", headers=JSON),
        error(["body"], "Field required", "missing"),
    )


def test_search_rejects_extra_field(client: AppClient) -> None:
    assert_422(
        client.post("/search", json={"query": "x", "colour": "red"}),
        error(["body", "colour"], "Extra inputs are not permitted", "extra_forbidden"),
    )


def test_search_rejects_query_of_wrong_type(client: AppClient) -> None:
    assert_422(
        client.post("/search", json={"query": 5}),
        error(["body", "query"], "Input should be a valid string", "string_type"),
    )


@pytest.mark.parametrize("top_k", ["5", 2.5, True, None], ids=repr)
def test_search_rejects_top_k_that_is_not_a_strict_integer(client: AppClient, top_k: Any) -> None:
    assert_422(
        client.post("/search", json={"query": "x", "top_k": top_k}),
        error(["body", "top_k"], "Input should be a valid integer", "int_type"),
    )


@pytest.mark.parametrize("literal", ["14.0", "1.4e1"])
def test_echo_reads_an_integer_valued_number_as_top_k(client: AppClient, literal: str) -> None:
    # JSON Schema counts 14.0 as an integer, and the documents say "integer".
    raw = '{"query": "x", "top_k": ' + literal + "}"
    reply = client.post("/echo", content=raw.encode(), headers=JSON)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"query": "x", "top_k": 14, "tags": []}
    assert b'"top_k":14,' in reply.content  # an integer, not 14.0


def test_search_rejects_top_k_above_limit(client: AppClient) -> None:
    assert_422(
        client.post("/search", json={"query": "x", "top_k": 101}),
        error(["body", "top_k"], "Input should be less than or equal to 100", "less_than_equal"),
    )


def test_search_rejects_top_k_below_one(client: AppClient) -> None:
    assert_422(
        client.post("/search", json={"query": "x", "top_k": 0}),
        error(
            ["body", "top_k"], "Input should be greater than or equal to 1", "greater_than_equal"
        ),
    )


def test_search_rejects_blank_query(client: AppClient) -> None:
    assert_422(
        client.post("/search", json={"query": " \t\n "}),
        error(["body", "query"], "String should have at least 1 character", "string_too_short"),
    )


def test_search_rejects_query_too_long(client: AppClient) -> None:
    assert_422(
        client.post("/search", json={"query": "q" * 1001}),
        error(["body", "query"], "String should have at most 1000 characters", "string_too_long"),
    )


def test_search_rejects_too_many_tags(client: AppClient) -> None:
    assert_422(
        client.post("/search", json={"query": "x", "tags": [f"t{i}" for i in range(11)]}),
        error(
            ["body", "tags"],
            "List should have at most 10 items after validation, not 11",
            "too_long",
        ),
    )


def test_search_rejects_tag_too_long(client: AppClient) -> None:
    assert_422(
        client.post("/search", json={"query": "x", "tags": ["ok", "t" * 33]}),
        error(["body", "tags", 1], "String should have at most 32 characters", "string_too_long"),
    )


def test_search_rejects_empty_tag(client: AppClient) -> None:
    assert_422(
        client.post("/search", json={"query": "x", "tags": [""]}),
        error(["body", "tags", 0], "String should have at least 1 character", "string_too_short"),
    )


@pytest.mark.parametrize("blank", ["\u00a0", "\u3000 \u2028", "\t"], ids=repr)
def test_search_rejects_tag_that_is_blank_after_stripping(client: AppClient, blank: str) -> None:
    assert_422(
        client.post("/search", json={"query": "x", "tags": [blank]}),
        error(["body", "tags", 0], "String should have at least 1 character", "string_too_short"),
    )


def test_search_rejects_tags_that_are_not_a_list(client: AppClient) -> None:
    assert_422(
        client.post("/search", json={"query": "x", "tags": "python"}),
        error(["body", "tags"], "Input should be a valid list", "list_type"),
    )


def test_search_reports_every_error_at_once(client: AppClient) -> None:
    assert_422(
        client.post("/search", json={"query": "  ", "top_k": "3", "tags": [7], "x": 1}),
        error(["body", "query"], "String should have at least 1 character", "string_too_short"),
        error(["body", "top_k"], "Input should be a valid integer", "int_type"),
        error(["body", "tags", 0], "Input should be a valid string", "string_type"),
        error(["body", "x"], "Extra inputs are not permitted", "extra_forbidden"),
    )


def test_search_rejects_malformed_json(client: AppClient) -> None:
    assert_422(
        client.post("/search", content=b'{"query": "x",', headers=JSON),
        error(["body", 14], "JSON decode error", "json_invalid"),
    )


@pytest.mark.parametrize("body", [[1, 2], "a query", 42], ids=["list", "string", "number"])
def test_search_rejects_body_that_is_not_an_object(client: AppClient, body: Any) -> None:
    assert_422(
        client.post("/search", json=body),
        error(
            ["body"],
            "Input should be a valid dictionary or object to extract fields from",
            "model_attributes_type",
        ),
    )


def test_search_rejects_body_that_is_not_json(client: AppClient) -> None:
    assert_422(
        client.post("/search", content=b"query=x", headers={"content-type": "text/plain"}),
        error(
            ["body"],
            "Input should be a valid dictionary or object to extract fields from",
            "model_attributes_type",
        ),
    )


def test_search_rejects_json_body_without_content_type(client: AppClient) -> None:
    # FastAPI (strict content type, the contract) reads a body without a JSON content type
    # as bytes, not as JSON.
    assert_422(
        client.post("/search", content=b'{"query": "x"}'),
        error(
            ["body"],
            "Input should be a valid dictionary or object to extract fields from",
            "model_attributes_type",
        ),
    )


def test_search_answers_400_to_a_body_that_is_not_utf8(client: AppClient) -> None:
    reply = client.post("/search", content=b'{"query": "\xff"}', headers=JSON)
    assert reply.status_code == 400
    assert reply.json() == {"detail": "There was an error parsing the body"}


def test_create_document_rejects_bad_id_pattern(client: AppClient) -> None:
    assert_422(
        client.post("/documents", json={"id": "no spaces/allowed", "text": "ok"}),
        error(
            ["body", "id"],
            f"String should match pattern '{ID_PATTERN}'",
            "string_pattern_mismatch",
        ),
    )


def test_create_document_rejects_id_too_long(client: AppClient) -> None:
    assert_422(
        client.post("/documents", json={"id": "a" * 65, "text": "ok"}),
        error(
            ["body", "id"],
            f"String should match pattern '{ID_PATTERN}'",
            "string_pattern_mismatch",
        ),
    )


def test_create_document_rejects_missing_text(client: AppClient) -> None:
    assert_422(
        client.post("/documents", json={"title": "no text"}),
        error(["body", "text"], "Field required", "missing"),
    )


def test_create_document_rejects_blank_text(client: AppClient) -> None:
    assert_422(
        client.post("/documents", json={"text": "   "}),
        error(["body", "text"], "String should have at least 1 character", "string_too_short"),
    )


def test_create_document_rejects_text_too_long(client: AppClient) -> None:
    assert_422(
        client.post("/documents", json={"text": "t" * 10_001}),
        error(["body", "text"], "String should have at most 10000 characters", "string_too_long"),
    )


def test_create_document_rejects_too_long_title(client: AppClient) -> None:
    assert_422(
        client.post("/documents", json={"text": "ok", "title": "t" * 201}),
        error(["body", "title"], "String should have at most 200 characters", "string_too_long"),
    )


def test_create_document_rejects_too_many_tags(client: AppClient) -> None:
    assert_422(
        client.post("/documents", json={"text": "ok", "tags": ["t"] * 11}),
        error(
            ["body", "tags"],
            "List should have at most 10 items after validation, not 11",
            "too_long",
        ),
    )


def test_create_document_rejects_tag_too_long(client: AppClient) -> None:
    assert_422(
        client.post("/documents", json={"text": "ok", "tags": ["t" * 33]}),
        error(["body", "tags", 0], "String should have at most 32 characters", "string_too_long"),
    )


def test_batch_rejects_empty_list(client: AppClient) -> None:
    assert_422(
        client.post("/documents/batch", json={"documents": []}),
        error(
            ["body", "documents"],
            "List should have at least 1 item after validation, not 0",
            "too_short",
        ),
    )


def test_batch_rejects_more_than_max_batch(client: AppClient) -> None:
    assert_422(
        client.post("/documents/batch", json={"documents": [{"text": "t"}] * 257}),
        error(
            ["body", "documents"],
            "List should have at most 256 items after validation, not 257",
            "too_long",
        ),
    )


def test_batch_reports_errors_with_the_index_of_each_document(client: AppClient) -> None:
    body = {"documents": [{"text": "fine"}, {"txt": "typo"}, 5]}
    assert_422(
        client.post("/documents/batch", json=body),
        error(["body", "documents", 1, "text"], "Field required", "missing"),
        error(["body", "documents", 1, "txt"], "Extra inputs are not permitted", "extra_forbidden"),
        error(
            ["body", "documents", 2],
            "Input should be a valid dictionary or object to extract fields from",
            "model_attributes_type",
        ),
    )


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("doc_id", ["bad$id", "a" * 65])
def test_document_path_rejects_bad_id_pattern(client: AppClient, method: str, doc_id: str) -> None:
    assert_422(
        client.request(method, f"/documents/{doc_id}"),
        error(
            ["path", "doc_id"],
            f"String should match pattern '{ID_PATTERN}'",
            "string_pattern_mismatch",
        ),
    )


def test_vector_search_rejects_wrong_vector_length(client: AppClient) -> None:
    assert_422(
        client.post("/search/vector", json={"vector": [0.1] * 3}),
        error(
            ["body", "vector"],
            f"List should have at least {DIM} items after validation, not 3",
            "too_short",
        ),
    )
    assert_422(
        client.post("/search/vector", json={"vector": [0.1] * (DIM + 1)}),
        error(
            ["body", "vector"],
            f"List should have at most {DIM} items after validation, not {DIM + 1}",
            "too_long",
        ),
    )


def test_vector_search_rejects_missing_vector(client: AppClient) -> None:
    assert_422(
        client.post("/search/vector", json={"top_k": 3}),
        error(["body", "vector"], "Field required", "missing"),
    )


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN"])
def test_vector_search_rejects_non_finite_number(client: AppClient, literal: str) -> None:
    raw = '{"vector": [' + ", ".join(["0.1"] * (DIM - 1) + [literal]) + "]}"
    assert_422(
        client.post("/search/vector", content=raw.encode(), headers=JSON),
        error(["body", "vector", DIM - 1], "Input should be a finite number", "finite_number"),
    )


@pytest.mark.parametrize("item", ["0.5", True, None], ids=repr)
def test_vector_search_rejects_items_that_are_not_numbers(client: AppClient, item: Any) -> None:
    assert_422(
        client.post("/search/vector", json={"vector": [item] + [0.1] * (DIM - 1)}),
        error(["body", "vector", 0], "Input should be a valid number", "float_type"),
    )


def test_vector_search_rejects_top_k_above_limit(client: AppClient) -> None:
    assert_422(
        client.post("/search/vector", json={"vector": [0.1] * DIM, "top_k": 101}),
        error(["body", "top_k"], "Input should be less than or equal to 100", "less_than_equal"),
    )


# --- 413, 404, 405 ----------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/search", "/echo", "/documents", "/documents/batch"])
def test_body_over_one_mebibyte_is_refused_with_413(client: AppClient, path: str) -> None:
    reply = client.post(path, content=b"x" * (LIMIT + 1), headers=JSON)
    assert reply.status_code == 413
    assert reply.json() == {"detail": f"request body is larger than the limit of {LIMIT} bytes"}


def test_body_of_exactly_the_limit_is_read(client: AppClient) -> None:
    query = "q" * (LIMIT - len('{"query": ""}'))
    reply = client.post("/echo", content=json.dumps({"query": query}).encode(), headers=JSON)
    assert len(json.dumps({"query": query})) == LIMIT
    assert_422(
        reply,
        error(["body", "query"], "String should have at most 1000 characters", "string_too_long"),
    )


def test_unknown_path_answers_404_json(client: AppClient) -> None:
    reply = client.get("/no/such/path")
    assert reply.status_code == 404
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json() == {"detail": "Not Found"}


# RFC 9110: a 405 lists every method the resource supports; HEAD with every GET (Werkzeug
# answers it for Flask, fastapi_app/head.py for FastAPI).


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/search", {"POST"}),
        ("GET", "/echo", {"POST"}),
        ("PATCH", "/documents/x", {"GET", "DELETE"}),
        ("OPTIONS", "/documents/x", {"GET", "DELETE"}),
        ("OPTIONS", "/search", {"POST"}),
        # The concrete path is the batch's own, as in the OpenAPI documents, not doc_id's.
        ("PUT", "/documents/batch", {"POST"}),
        ("OPTIONS", "/documents/batch", {"POST"}),
        ("DELETE", "/ingest/x", {"GET"}),
    ],
)
def test_wrong_method_answers_405_json_allowing_every_method_of_the_path(
    client: AppClient, method: str, path: str, allowed: set[str]
) -> None:
    reply = client.request(method, path)
    assert reply.status_code == 405
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json() == {"detail": "Method Not Allowed"}
    listed = {name.strip() for name in reply.headers["allow"].split(",")}
    head = {"HEAD"} if "GET" in allowed else set()
    assert listed == allowed | head, reply.headers["allow"]


@pytest.mark.parametrize(("path", "status"), [("/health", 200), ("/documents/no-such-doc", 404)])
def test_head_answers_as_get_without_a_body(client: AppClient, path: str, status: int) -> None:
    got, head = client.get(path), client.request("HEAD", path)
    assert (head.status_code, head.text) == (status, "")
    assert got.status_code == status
    assert head.headers["content-type"] == got.headers["content-type"]


# --- documents --------------------------------------------------------------------------------
def test_create_document_returns_201_and_get_returns_it(client: AppClient) -> None:
    doc_id = unique("doc")
    before_ms = int(time.time() * 1000)
    body = {"id": doc_id, "title": "Sets", "text": "  A set holds unique items.  ", "tags": ["py"]}
    reply = client.post("/documents", json=body)
    assert reply.status_code == 201
    assert reply.json() == {"id": doc_id}

    got = client.get(f"/documents/{doc_id}")
    assert got.status_code == 200
    document = got.json()
    assert document == {
        "id": doc_id,
        "title": "Sets",
        "text": "A set holds unique items.",
        "tags": ["py"],
        "created_at": document["created_at"],
    }
    assert before_ms <= document["created_at"] <= int(time.time() * 1000)


def test_create_document_generates_an_id_when_absent(client: AppClient) -> None:
    reply = client.post("/documents", json={"text": "a document without an id"})
    assert reply.status_code == 201
    doc_id = reply.json()["id"]
    assert re.fullmatch(ID_PATTERN, doc_id)
    document = client.get(f"/documents/{doc_id}").json()
    assert document["id"] == doc_id
    assert (document["title"], document["text"], document["tags"]) == (
        "",
        "a document without an id",
        [],
    )


def test_create_document_with_existing_id_replaces_it(
    client: AppClient, service: SearchService
) -> None:
    doc_id = unique("upsert")
    first = client.post("/documents", json={"id": doc_id, "text": "first version"})
    assert first.status_code == 201
    count = service.store.count(strong=True)
    second = client.post("/documents", json={"id": doc_id, "text": "second version", "title": "v2"})
    assert second.status_code == 201
    assert second.json() == {"id": doc_id}
    document = client.get(f"/documents/{doc_id}").json()
    assert (document["text"], document["title"]) == ("second version", "v2")
    assert service.store.count(strong=True) == count


def test_get_unknown_document_answers_404(client: AppClient) -> None:
    doc_id = unique("missing")
    reply = client.get(f"/documents/{doc_id}")
    assert reply.status_code == 404
    assert reply.json() == {"detail": f"document '{doc_id}' not found"}


def test_delete_document_answers_204_then_404(client: AppClient) -> None:
    doc_id = unique("delete")
    created = client.post("/documents", json={"id": doc_id, "text": "to be deleted"})
    assert created.status_code == 201
    reply = client.delete(f"/documents/{doc_id}")
    assert reply.status_code == 204
    assert reply.content == b""
    assert client.get(f"/documents/{doc_id}").status_code == 404
    again = client.delete(f"/documents/{doc_id}")
    assert again.status_code == 404
    assert again.json() == {"detail": f"document '{doc_id}' not found"}


def test_batch_create_returns_ids_in_request_order(client: AppClient) -> None:
    tag = unique("batch")
    given = unique("batch-doc")
    documents = [
        {"text": "generated id one", "tags": [tag]},
        {"id": given, "title": "Given", "text": "a given id", "tags": [tag]},
        {"text": "generated id two", "tags": [tag]},
    ]
    reply = client.post("/documents/batch", json={"documents": documents})
    assert reply.status_code == 201
    ids = reply.json()["ids"]
    assert reply.json() == {"ids": ids}
    assert len(ids) == 3 and ids[1] == given and len(set(ids)) == 3
    for doc_id, sent in zip(ids, documents, strict=True):
        document = client.get(f"/documents/{doc_id}").json()
        assert (document["text"], document["tags"]) == (sent["text"], [tag])
    assert sorted(search_ids(client, "generated id", tags=[tag])) == sorted(ids)


def test_batch_with_a_repeated_id_keeps_the_later_document(client: AppClient) -> None:
    doc_id = unique("batch-dup")
    documents = [{"id": doc_id, "text": "earlier"}, {"id": doc_id, "text": "later"}]
    reply = client.post("/documents/batch", json={"documents": documents})
    assert reply.status_code == 201
    assert reply.json() == {"ids": [doc_id, doc_id]}
    assert client.get(f"/documents/{doc_id}").json()["text"] == "later"


# --- search -----------------------------------------------------------------------------------
ANIMALS = [
    "The cheetah is the fastest land animal and can sprint at over one hundred km per hour.",
    "Elephants live in matriarchal herds and can remember watering holes for decades.",
    "Octopuses have three hearts and blue blood and can change colour to hide.",
]


def add_documents(client: AppClient, texts: list[str], tags: list[str]) -> list[str]:
    documents = [{"id": unique("doc"), "text": text, "tags": tags} for text in texts]
    reply = client.post("/documents/batch", json={"documents": documents})
    assert reply.status_code == 201, reply.text
    return [doc["id"] for doc in documents]


def test_search_returns_results_best_first(client: AppClient) -> None:
    tag = unique("animals")
    ids = add_documents(client, ANIMALS, [tag])
    reply = client.post("/search", json={"query": "which animal runs fastest?", "tags": [tag]})
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) == {"results", "took_ms"}
    assert isinstance(body["took_ms"], int | float) and body["took_ms"] >= 0
    results = body["results"]
    assert sorted(hit["id"] for hit in results) == sorted(ids)
    for hit in results:
        assert set(hit) == {"id", "score", "title", "text"}
        assert -1.0 <= hit["score"] <= 1.0
    scores = [hit["score"] for hit in results]
    assert scores == sorted(scores, reverse=True)
    assert results[0]["id"] == ids[0]
    assert results[0]["text"] == ANIMALS[0]


def test_search_respects_top_k(client: AppClient) -> None:
    tag = unique("topk")
    add_documents(client, ANIMALS, [tag])
    assert len(search_ids(client, "animals", tags=[tag], top_k=2)) == 2
    assert len(search_ids(client, "animals", tags=[tag], top_k=1)) == 1


def test_search_tag_filter_restricts_results(client: AppClient) -> None:
    wanted, other = unique("wanted"), unique("other")
    wanted_ids = add_documents(client, ANIMALS[:2], [wanted, "shared-tag"])
    other_ids = add_documents(client, ANIMALS, [other, "shared-tag"])
    assert sorted(search_ids(client, "cheetah", tags=[wanted])) == sorted(wanted_ids)
    assert sorted(search_ids(client, "cheetah", tags=[other])) == sorted(other_ids)
    # Several tags: documents carrying any of them.
    both = search_ids(client, "cheetah", tags=[wanted, other])
    assert sorted(both) == sorted(wanted_ids + other_ids)
    assert search_ids(client, "cheetah", tags=[unique("nobody")]) == []


@pytest.mark.parametrize("hostile", ['"', "\\", "'", '" or id != "', 'x") or (1==1', 'a\\"b'])
def test_search_tag_filter_treats_hostile_values_as_plain_text(
    client: AppClient, hostile: str
) -> None:
    tag = unique("hostile")
    ids = add_documents(client, ANIMALS[:1], [tag])
    assert search_ids(client, "cheetah", tags=[hostile + tag]) == []
    marked = add_documents(client, ANIMALS[1:2], [hostile + tag])
    assert search_ids(client, "elephants", tags=[hostile + tag]) == marked
    assert search_ids(client, "cheetah", tags=[tag]) == ids


PARAPHRASE_DOCUMENTS = [
    (
        "The lighthouse keeper climbed the spiral staircase every evening to light the great "
        "lamp that warned passing ships away from the rocks.",
        "someone who tends a coastal beacon tower so that boats avoid the reef at night",
    ),
    (
        "Sourdough bread rises thanks to a starter of flour and water that ferments with wild "
        "yeast for several days before baking.",
        "making a loaf with naturally fermented leaven instead of packet yeast",
    ),
    (
        "The central bank raised interest rates again to slow inflation, and share prices "
        "fell sharply.",
        "monetary policy tightening made the stock market drop",
    ),
    (
        "Green plants capture sunlight in their leaves and turn water and carbon dioxide into "
        "sugar and oxygen.",
        "how vegetation converts light energy into food",
    ),
]


def test_relevance_paraphrase_finds_the_distinctive_document_first(client: AppClient) -> None:
    tag = unique("relevance")
    texts = [text for text, _ in PARAPHRASE_DOCUMENTS]
    ids = add_documents(client, texts, [tag])
    for (text, paraphrase), doc_id in zip(PARAPHRASE_DOCUMENTS, ids, strict=True):
        assert search_ids(client, paraphrase, tags=[tag])[0] == doc_id, paraphrase
        # Across the whole collection too (the other twin's run may hold the same text).
        reply = client.post("/search", json={"query": paraphrase, "top_k": 1})
        assert reply.json()["results"][0]["text"] == text, paraphrase


def test_vector_search_with_a_documents_own_vector_finds_it_first(
    client: AppClient, service: SearchService
) -> None:
    tag = unique("vector")
    ids = add_documents(client, ANIMALS, [tag])
    for doc_id, text in zip(ids, ANIMALS, strict=True):
        vector = [float(x) for x in service.embedder.encode([text])[0]]
        reply = client.post("/search/vector", json={"vector": vector, "top_k": 3, "tags": [tag]})
        assert reply.status_code == 200
        body = reply.json()
        assert set(body) == {"results", "took_ms"}
        assert [hit["id"] for hit in body["results"]][0] == doc_id
        assert body["results"][0]["score"] == pytest.approx(1.0, abs=1e-3)
        assert len(body["results"]) == 3
        unfiltered = client.post("/search/vector", json={"vector": vector, "top_k": 1}).json()
        assert unfiltered["results"][0]["text"] == text


@pytest.mark.parametrize("zero", [0, 0.0, -0.0], ids=repr)
def test_vector_search_rejects_a_vector_with_no_non_zero_component(
    client: AppClient, zero: float
) -> None:
    assert_422(
        client.post("/search/vector", json={"vector": [zero] * DIM}),
        error(
            ["body", "vector"],
            "vector must have a non-zero component "
            "(cosine similarity is undefined for a zero vector)",
            "value_error",
        ),
    )


def test_vector_search_finds_by_a_vector_whose_norm_underflows(client: AppClient) -> None:
    # 1e-200 squared is 0.0 in float64: the direction must not depend on the length.
    tag = unique("tiny")
    add_documents(client, ANIMALS[:1], [tag])
    reply = client.post("/search/vector", json={"vector": [1e-200] * DIM, "tags": [tag]})
    assert reply.status_code == 200, reply.text
    assert len(reply.json()["results"]) == 1


def test_vector_search_accepts_integers(client: AppClient) -> None:
    tag = unique("ints")
    add_documents(client, ANIMALS[:1], [tag])
    reply = client.post("/search/vector", json={"vector": [1] + [0] * (DIM - 1), "tags": [tag]})
    assert reply.status_code == 200
    assert len(reply.json()["results"]) == 1


# --- ingest -----------------------------------------------------------------------------------
def test_ingest_json_list_loads_valid_rows_and_reports_invalid_ones(client: AppClient) -> None:
    tag = unique("ingest-json")
    good = [unique("json-a"), unique("json-b")]
    rows = [
        {"id": good[0], "title": "First", "text": "a valid row about tea", "tags": [tag]},
        {"text": "   "},
        {"id": good[1], "text": "another valid row about coffee", "tags": [tag]},
        5,
        {"text": "has an unknown field", "colour": "red"},
        {"id": "bad id", "text": "id with a space"},
    ]
    job_id = submit(client, json=rows)
    assert wait_for_job(client, job_id) == {
        "job_id": job_id,
        "status": "done",
        "total": 6,
        "processed": 2,
        "failed": 4,
        "errors": [
            {"line": 2, "reason": "text is required and must not be blank"},
            {"line": 4, "reason": "each document must be a JSON object"},
            {"line": 5, "reason": "unknown fields ['colour']; allowed: id, title, text, tags"},
            {"line": 6, "reason": "id must be 1-64 characters of A-Z a-z 0-9 _ . -"},
        ],
    }
    document = client.get(f"/documents/{good[0]}").json()
    assert (document["title"], document["text"], document["tags"]) == (
        "First",
        "a valid row about tea",
        [tag],
    )
    assert sorted(search_ids(client, "tea or coffee", tags=[tag])) == sorted(good)


def test_ingest_jsonl_file_reports_invalid_lines_by_number(client: AppClient) -> None:
    tag = unique("ingest-jsonl")
    good = [unique("jsonl-a"), unique("jsonl-b")]
    lines = [
        json.dumps({"id": good[0], "text": "rivers flow into the sea", "tags": [tag]}),
        "",
        "{not json",
        "[1, 2]",
        json.dumps({"id": good[1], "text": "mountains are high", "tags": [tag]}),
        json.dumps({"text": ""}),
    ]
    data = ("\n".join(lines) + "\n").encode()
    job_id = submit(client, files={"file": ("rows.jsonl", data, "application/x-ndjson")})
    assert wait_for_job(client, job_id) == {
        "job_id": job_id,
        "status": "done",
        "total": 5,
        "processed": 2,
        "failed": 3,
        "errors": [
            {
                "line": 3,
                "reason": "not valid JSON (Expecting property name enclosed in double quotes)",
            },
            {"line": 4, "reason": "each line must be a JSON object"},
            {"line": 6, "reason": "text is required and must not be blank"},
        ],
    }
    assert client.get(f"/documents/{good[1]}").json()["text"] == "mountains are high"
    assert sorted(search_ids(client, "geography", tags=[tag])) == sorted(good)


def test_ingest_csv_file_reports_invalid_rows_by_line(client: AppClient) -> None:
    tag = unique("ingest-csv")
    good = [unique("csv-a"), unique("csv-b")]
    data = (
        "id,title,text,tags\n"
        f'{good[0]},Violin,"A violin has four strings, tuned in fifths.",{tag}|music\n'
        "blank,Empty,   ,x\n"
        "surplus,Too,many,cells,here\n"
        f"{good[1]},,The trumpet is a brass instrument.,{tag}\n"
    ).encode()
    job_id = submit(client, files={"file": ("rows.csv", data, "text/csv")})
    assert wait_for_job(client, job_id) == {
        "job_id": job_id,
        "status": "done",
        "total": 4,
        "processed": 2,
        "failed": 2,
        "errors": [
            {"line": 3, "reason": "text is required and must not be blank"},
            {"line": 4, "reason": "more cells than header columns"},
        ],
    }
    document = client.get(f"/documents/{good[0]}").json()
    assert document == {
        "id": good[0],
        "title": "Violin",
        "text": "A violin has four strings, tuned in fifths.",
        "tags": [tag, "music"],
        "created_at": document["created_at"],
    }
    assert client.get(f"/documents/{good[1]}").json()["title"] == ""
    assert sorted(search_ids(client, "musical instruments", tags=[tag])) == sorted(good)


def test_ingest_accepts_an_upload_larger_than_the_json_body_limit(client: AppClient) -> None:
    # Uploads have their own, larger limit; this one row is refused by the core, not by 413.
    data = json.dumps({"text": "w" * (LIMIT + 10)}).encode() + b"\n"
    job_id = submit(client, files={"file": ("big.jsonl", data, "application/x-ndjson")})
    job = wait_for_job(client, job_id)
    assert (job["status"], job["total"], job["processed"], job["failed"]) == ("done", 1, 0, 1)
    assert job["errors"] == [{"line": 1, "reason": "text must be at most 10000 characters"}]


def test_search_is_served_while_an_ingest_job_runs(client: AppClient) -> None:
    tag = unique("busy")
    rows = [
        {"text": f"note number {i} about gardening and tomatoes", "tags": [tag]} for i in range(200)
    ]
    job_id = submit(client, json=rows)
    while client.get(f"/ingest/{job_id}").json()["status"] in ("queued", "running"):
        reply = client.post("/search", json={"query": "tomatoes", "top_k": 5})
        assert reply.status_code == 200, reply.text
    job = wait_for_job(client, job_id)
    assert (job["status"], job["processed"], job["failed"], job["errors"]) == ("done", 200, 0, [])
    assert len(search_ids(client, "tomatoes", tags=[tag])) == 100


def test_ingest_rejects_empty_list(client: AppClient) -> None:
    assert_422(
        client.post("/ingest", json=[]),
        error(["body"], "List should have at least 1 item after validation, not 0", "too_short"),
    )


def test_ingest_rejects_json_body_that_is_not_a_list(client: AppClient) -> None:
    assert_422(
        client.post("/ingest", json={"documents": [{"text": "x"}]}),
        error(["body"], "Input should be a valid list", "list_type"),
    )


def test_ingest_rejects_malformed_json(client: AppClient) -> None:
    assert_422(
        client.post("/ingest", content=b"[{", headers=JSON),
        error(["body", 2], "JSON decode error", "json_invalid"),
    )


def test_ingest_rejects_missing_body(client: AppClient) -> None:
    # The same answer as every other endpoint gives a request without a body.
    assert_422(
        client.post("/ingest", content=b"", headers=JSON),
        error(["body"], "Field required", "missing"),
    )


def test_ingest_rejects_multipart_without_a_file_field(client: AppClient) -> None:
    assert_422(
        client.post("/ingest", files={"upload": ("rows.jsonl", b'{"text": "x"}', "text/plain")}),
        error(["body", "file"], "Field required", "missing"),
        error(["body", "upload"], "Extra inputs are not permitted", "extra_forbidden"),
    )


def test_ingest_rejects_a_multipart_field_other_than_the_file(client: AppClient) -> None:
    files = {
        "file": ("rows.jsonl", b'{"text": "x"}', "text/plain"),
        "tags": ("", b"a|b", "text/plain"),
    }
    assert_422(
        client.post("/ingest", files=files),
        error(["body", "tags"], "Extra inputs are not permitted", "extra_forbidden"),
    )


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        (
            "rows.jsonl",
            b'{"text": "caf\xe9"}\n',
            "the file is not valid UTF-8 (byte 13); upload UTF-8 JSONL or CSV",
        ),
        (
            "rows.csv",
            b"  \n\n",
            "the file is empty; upload JSONL (one JSON object per line) or CSV",
        ),
        (
            "rows.csv",
            b"title,body\nt,b\n",
            "the CSV header must name a 'text' column (found ['title', 'body']); optional "
            "columns: id, title, tags (separated by '|')",
        ),
    ],
    ids=["not-utf8", "empty", "no-text-column"],
)
def test_unreadable_file_is_accepted_and_its_job_fails_saying_why(
    client: AppClient, filename: str, data: bytes, message: str
) -> None:
    # The documents type the file as any bytes: the job reads it, and reports what it cannot.
    job_id = submit(client, files={"file": (filename, data, "application/octet-stream")})
    assert wait_for_job(client, job_id) == {
        "job_id": job_id,
        "status": "failed",
        "total": 0,
        "processed": 0,
        "failed": 0,
        "errors": [],
        "message": message,
    }


@pytest.mark.parametrize("job_id", [uuid.uuid4().hex, "nope", "z" * 32, "..."])
def test_unknown_ingest_job_answers_404(client: AppClient, job_id: str) -> None:
    reply = client.get(f"/ingest/{job_id}")
    assert reply.status_code == 404
    assert reply.json() == {"detail": f"ingest job '{job_id}' not found"}


# --- docs: they must work with no internet ----------------------------------------------------
URL_ATTRIBUTE = re.compile(r'(?:src|href|spec-url)="([^"]*)"|url:\s*"([^"]*)"')


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_page_loads_only_assets_served_by_the_app(client: AppClient, page: str) -> None:
    reply = client.get(page)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/html")
    html = reply.text
    assert "://" not in html, "the page must not reference any external URL"
    urls = [a or b for a, b in URL_ATTRIBUTE.findall(html)]
    assert "/openapi.json" in urls
    assets = [url for url in urls if url != "/openapi.json"]
    assert assets, "the page loads its JavaScript from the app"
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
    for url in assets:
        media = client.get(url).headers["content-type"]
        assert media.startswith(("text/javascript", "text/css")), (url, media)


def test_unknown_docs_asset_answers_404(client: AppClient) -> None:
    reply = client.get("/docs-static/evil.js")
    assert reply.status_code == 404
    assert reply.json() == {"detail": "Not Found"}


def test_openapi_json_is_served(client: AppClient) -> None:
    reply = client.get("/openapi.json")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json()["openapi"].startswith("3.")


# --- 503 when Milvus cannot be reached ----------------------------------------------------------
def unavailable(what: str) -> dict[str, str]:
    return {
        "detail": f"Milvus did not answer the {what} in time or is unreachable; try again shortly"
    }


def test_health_answers_503_when_milvus_is_unreachable(unreachable_client: AppClient) -> None:
    reply = unreachable_client.get("/health")
    assert reply.status_code == 503
    assert reply.json() == {
        "status": "unavailable",
        **unavailable("health check"),
        "model": "all-MiniLM-L6-v2",
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "what"),
    [
        ("POST", "/search", {"query": "x"}, "search"),
        ("POST", "/search/vector", {"vector": [0.1] * DIM}, "search"),
        ("POST", "/documents", {"text": "x"}, "upsert"),
        ("POST", "/documents/batch", {"documents": [{"text": "x"}]}, "upsert"),
        ("GET", "/documents/some-id", None, "read"),
        ("DELETE", "/documents/some-id", None, "read"),
    ],
)
def test_endpoints_answer_503_when_milvus_is_unreachable(
    unreachable_client: AppClient, method: str, path: str, body: Any, what: str
) -> None:
    kwargs = {} if body is None else {"json": body}
    reply = unreachable_client.request(method, path, **kwargs)
    assert reply.status_code == 503
    assert reply.json() == unavailable(what)


def test_echo_needs_neither_model_nor_milvus(unreachable_client: AppClient) -> None:
    reply = unreachable_client.post("/echo", json={"query": "still fine"})
    assert reply.status_code == 200
    assert reply.json() == {"query": "still fine", "top_k": 10, "tags": []}


# --- the optional API key on write endpoints ---------------------------------------------------
API_KEY_REQUIRED = "this endpoint writes data: send the API key in the X-API-Key header"
WRITES = [
    ("POST", "/documents", {"json": {"text": "needs a key"}}),
    ("POST", "/documents/batch", {"json": {"documents": [{"text": "needs a key"}]}}),
    ("DELETE", "/documents/some-id", {}),
    ("POST", "/ingest", {"json": [{"text": "needs a key"}]}),
    ("POST", "/ingest", {"files": {"file": ("a.csv", b"text\nx\n", "text/csv")}}),
    ("POST", "/documents", {"json": {"text": ""}}),  # 401 before any 422
]


@pytest.mark.parametrize(("method", "path", "kwargs"), WRITES)
@pytest.mark.parametrize("key", [None, "wrong-key", "TEST-KEY-5B1F", ""], ids=repr)
def test_write_without_the_right_api_key_answers_401(
    keyed_client: AppClient, method: str, path: str, kwargs: dict[str, Any], key: str | None
) -> None:
    headers = {} if key is None else {"X-API-Key": key}
    reply = keyed_client.request(method, path, headers=headers, **kwargs)
    assert reply.status_code == 401, reply.text
    assert reply.json() == {"detail": API_KEY_REQUIRED}
    assert reply.headers["www-authenticate"] == "ApiKey"


def test_write_with_the_right_api_key_is_served(keyed_client: AppClient) -> None:
    key = {"X-API-Key": "test-key-5b1f"}
    doc_id = unique("keyed")
    created = keyed_client.post("/documents", json={"id": doc_id, "text": "keyed"}, headers=key)
    assert created.status_code == 201
    assert created.json() == {"id": doc_id}
    assert keyed_client.delete(f"/documents/{doc_id}", headers=key).status_code == 204
    invalid = keyed_client.post("/documents", json={"text": ""}, headers=key)
    assert invalid.status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/health", {}, 200),
        ("POST", "/echo", {"json": {"query": "x"}}, 200),
        ("POST", "/search", {"json": {"query": "x", "top_k": 1}}, 200),
        ("POST", "/search/vector", {"json": {"vector": [0.1] * DIM, "top_k": 1}}, 200),
        ("GET", "/documents/no-such-document", {}, 404),
        ("GET", f"/ingest/{uuid.uuid4().hex}", {}, 404),
    ],
)
def test_reads_need_no_api_key(
    keyed_client: AppClient, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    assert keyed_client.request(method, path, **kwargs).status_code == status


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
