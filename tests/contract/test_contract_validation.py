"""422 (the contract, issue 3): the shape of every validation error, on every route."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from contract_support import DIM, ID_PATTERN, JSON, assert_422, error

if TYPE_CHECKING:
    from conftest import AppClient


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
