"""Hostile input against both in-process twins: each gets a 4xx that says what was wrong.

Oversized bodies, non-finite and out-of-range vectors, absurd nesting, enormous arrays,
invalid UTF-8 and lone surrogates, wrong content types, control characters, very long
strings, and tag values written to break a Milvus filter expression. After every request the
twin must still answer ``GET /health`` with 200. A crash shows up as the 500 a user would get.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from reliability_support import DIM, leaks
from support import unique, wait_for_job

if TYPE_CHECKING:
    from conftest import AppClient, Reply

LIMIT = 1_048_576
UPLOAD_LIMIT = 32 * LIMIT
JSON_ENDPOINTS = ["/echo", "/search", "/search/vector", "/documents", "/documents/batch", "/ingest"]
NESTED = b"[" * 100_000 + b"]" * 100_000


def assert_refused(reply: Reply, *statuses: int, sent: bytes = b"") -> Any:
    """A 4xx among ``statuses`` whose JSON body says what was wrong, and nothing internal."""
    assert reply.status_code in statuses, f"{reply.status_code} {reply.content[:500]!r}"
    assert reply.headers["content-type"].startswith("application/json"), reply.headers
    body = reply.json()
    detail = body["detail"]
    assert detail, body
    if isinstance(detail, list):
        for item in detail:
            assert set(item) == {"loc", "msg", "type"} and item["msg"], item
    else:
        assert isinstance(detail, str) and len(detail) > 10, body
    assert not leaks(reply.content, sent=[sent]), reply.content[:500]
    return body


def assert_healthy(client: AppClient) -> None:
    reply = client.get("/health")
    assert reply.status_code == 200, reply.content[:500]


def post_raw(client: AppClient, path: str, body: bytes, content_type: str) -> Reply:
    return client.post(path, content=body, headers={"content-type": content_type})


# --- size limits ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", JSON_ENDPOINTS[:-1])
def test_json_body_over_the_limit_answers_413(twin: AppClient, path: str) -> None:
    body = b'{"query": "' + b"a" * LIMIT + b'"}'
    detail = assert_refused(post_raw(twin, path, body, "application/json"), 413)["detail"]
    assert f"limit of {LIMIT} bytes" in detail
    assert_healthy(twin)


def test_upload_over_the_upload_limit_answers_413(twin: AppClient) -> None:
    data = b'{"text": "x"}\n' * (UPLOAD_LIMIT // 14 + 1)
    reply = twin.post("/ingest", files={"file": ("big.jsonl", data, "application/jsonl")})
    assert f"limit of {UPLOAD_LIMIT} bytes" in assert_refused(reply, 413)["detail"]
    assert_healthy(twin)


# --- vectors ----------------------------------------------------------------------------------
def vector_body(item: bytes, count: int = DIM) -> bytes:
    return b'{"vector": [' + b", ".join([item] * count) + b"]}"


@pytest.mark.parametrize(
    "item",
    [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e999"],
    ids=["nan", "infinity", "minus-infinity", "overflowing-float", "overflowing-negative"],
)
def test_vector_of_non_finite_numbers_answers_422(twin: AppClient, item: bytes) -> None:
    body = vector_body(item)
    detail = assert_refused(post_raw(twin, "/search/vector", body, "application/json"), 422)
    assert detail["detail"][0] == {
        "loc": ["body", "vector", 0],
        "msg": "Input should be a finite number",
        "type": "finite_number",
    }
    assert_healthy(twin)


def test_vector_of_integers_too_large_for_a_float_answers_422(twin: AppClient) -> None:
    # A JSON integer literal of 400 digits: valid JSON, not representable as a float.
    body = vector_body(b"1" + b"0" * 400)
    assert_refused(post_raw(twin, "/search/vector", body, "application/json"), 422)
    assert_healthy(twin)


def test_vector_beyond_float32_range_answers_422(twin: AppClient) -> None:
    # 1e39 is finite in JSON but infinite once stored as the float32 Milvus searches with: a
    # search with it can only match nothing, so it must be refused like Infinity, not
    # answered 200 with no results.
    reply = twin.post("/search/vector", json={"vector": [1e39] * DIM})
    assert_refused(reply, 422)
    assert_healthy(twin)


@pytest.mark.parametrize("length", [0, 1, DIM - 1, DIM + 1, 200_000])
def test_vector_of_the_wrong_length_answers_422(twin: AppClient, length: int) -> None:
    reply = twin.post("/search/vector", json={"vector": [0.5] * length})
    detail = assert_refused(reply, 422)["detail"]
    assert detail[0]["loc"] == ["body", "vector"]
    assert str(DIM) in detail[0]["msg"] and str(length) in detail[0]["msg"]
    assert_healthy(twin)


@pytest.mark.parametrize(
    "item", [[0.1], "0.1", True, None, {"x": 1}], ids=["list", "string", "bool", "null", "object"]
)
def test_vector_of_things_that_are_not_numbers_answers_422(twin: AppClient, item: Any) -> None:
    assert_refused(twin.post("/search/vector", json={"vector": [item] * DIM}), 422)
    assert_healthy(twin)


# --- nesting, enormous arrays, encodings ----------------------------------------------------
@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_deeply_nested_json_answers_400(twin: AppClient, path: str) -> None:
    assert_refused(post_raw(twin, path, NESTED, "application/json"), 400, 422)
    assert_healthy(twin)


def test_deeply_nested_jsonl_line_is_a_row_error(twin: AppClient) -> None:
    data = NESTED + b'\n{"id": "' + unique("nest").encode() + b'", "text": "fine"}\n'
    reply = twin.post("/ingest", files={"file": ("nested.jsonl", data, "application/jsonl")})
    assert reply.status_code == 202, reply.content[:500]
    job = wait_for_job(twin, reply.json()["job_id"])
    assert (job["status"], job["processed"], job["failed"]) == ("done", 1, 1), job
    assert job["errors"] == [{"line": 1, "reason": "not valid JSON"}]
    assert_healthy(twin)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/search", {"query": "x", "tags": ["a"] * 200_000}, "tags"),
        ("/search/vector", {"vector": [0.0] * 200_000}, "vector"),
        ("/documents", {"text": "x", "tags": ["t"] * 200_000}, "tags"),
        ("/documents/batch", {"documents": [{"text": "x"}] * 20_000}, "documents"),
    ],
    ids=["search-tags", "vector", "document-tags", "batch"],
)
def test_enormous_array_answers_422_naming_the_limit(
    twin: AppClient, path: str, body: dict[str, Any], field: str
) -> None:
    detail = assert_refused(twin.post(path, json=body), 422)["detail"]
    assert detail[0]["loc"] == ["body", field] and detail[0]["type"] == "too_long", detail
    assert_healthy(twin)


def test_enormous_ingest_list_answers_422(twin: AppClient) -> None:
    detail = assert_refused(twin.post("/ingest", json=[{"text": "x"}] * 10_001), 422)["detail"]
    assert detail[0]["type"] == "too_long" and "10000" in detail[0]["msg"], detail
    assert_healthy(twin)


# Each endpoint gets a body of its own shape whose one string holds bytes that are not UTF-8.
NOT_UTF8 = {
    "/echo": b'{"query": "caf\xe9 \xff"}',
    "/search": b'{"query": "caf\xe9 \xff"}',
    "/search/vector": b'{"vector": [0.1], "tags": ["\xc3\x28"]}',
    "/documents": b'{"text": "caf\xe9 \xff"}',
    "/documents/batch": b'{"documents": [{"text": "\xc3\x28"}]}',
    "/ingest": b'[{"text": "caf\xe9 \xff"}]',
}


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_json_body_that_is_not_utf8_answers_400(twin: AppClient, path: str) -> None:
    assert_refused(post_raw(twin, path, NOT_UTF8[path], "application/json"), 400)
    assert_healthy(twin)


def test_uploaded_file_that_is_not_utf8_fails_its_job_and_loads_nothing(twin: AppClient) -> None:
    doc_id = unique("latin1")
    data = b'{"id": "' + doc_id.encode() + b'", "text": "ok"}\n{"text": "\xff"}\n'
    reply = twin.post("/ingest", files={"file": ("latin1.jsonl", data, "application/jsonl")})
    assert reply.status_code == 202, reply.content[:500]
    job = wait_for_job(twin, reply.json()["job_id"])
    assert (job["status"], job["processed"]) == ("failed", 0), job
    assert "not valid UTF-8" in job["message"] and not leaks(job["message"]), job
    assert twin.get(f"/documents/{doc_id}").status_code == 404
    assert_healthy(twin)


# A JSON escape of half a surrogate pair: valid JSON, not a valid Unicode string.
LONE_SURROGATE = "\\ud800"


SURROGATE_CASES = {
    "echo query": ("/echo", '{"query": "a%sb"}'),
    "search query": ("/search", '{"query": "a%sb"}'),
    "search tag": ("/search", '{"query": "x", "tags": ["%s"]}'),
    "vector search tag": ("/search/vector", '{"vector": %s, "tags": ["%%s"]}' % ([0.5] * DIM)),
    "document text": ("/documents", '{"text": "a%sb"}'),
    "document title": ("/documents", '{"text": "ok", "title": "%s"}'),
    "document tag": ("/documents", '{"text": "ok", "tags": ["%s"]}'),
    "batch text": ("/documents/batch", '{"documents": [{"text": "a%sb"}]}'),
}


def test_lone_surrogate_in_any_string_field_answers_422(twin: AppClient) -> None:
    wrong = {}
    for case, (path, template) in SURROGATE_CASES.items():
        reply = post_raw(twin, path, (template % LONE_SURROGATE).encode(), "application/json")
        if reply.status_code != 422:
            wrong[case] = (reply.status_code, reply.content[:120])
    assert not wrong, wrong
    assert_healthy(twin)


def test_ingest_row_with_a_lone_surrogate_is_a_row_error(twin: AppClient) -> None:
    good = [unique("surrogate-ok"), unique("surrogate-ok")]
    body = (
        f'[{{"id": "{good[0]}", "text": "fine"}}, {{"text": "bad {LONE_SURROGATE} row"}}, '
        f'{{"id": "{good[1]}", "text": "also fine"}}]'
    ).encode()
    reply = post_raw(twin, "/ingest", body, "application/json")
    assert reply.status_code == 202, reply.content[:500]
    job = wait_for_job(twin, reply.json()["job_id"])
    assert (job["status"], job["processed"], job["failed"]) == ("done", 2, 1), job
    assert [error["line"] for error in job["errors"]] == [2], job
    for doc_id in good:
        assert twin.get(f"/documents/{doc_id}").status_code == 200
    assert_healthy(twin)


# --- content types ----------------------------------------------------------------------------
WRONG_CONTENT_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/xml",
    "application/octet-stream",
]


# Valid JSON for each endpoint: only the declared content type is wrong.
VALID_BODIES = {
    "/echo": {"query": "x"},
    "/search": {"query": "x"},
    "/search/vector": {"vector": [0.1] * DIM},
    "/documents": {"text": "x"},
    "/documents/batch": {"documents": [{"text": "x"}]},
    "/ingest": [{"text": "x"}],
}


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_json_sent_with_a_wrong_content_type_is_refused(twin: AppClient, path: str) -> None:
    body = json.dumps(VALID_BODIES[path]).encode()
    accepted = {}
    for content_type in WRONG_CONTENT_TYPES:
        reply = post_raw(twin, path, body, content_type)
        if reply.status_code in (415, 422):
            assert_refused(reply, 415, 422)
        else:
            accepted[content_type] = (reply.status_code, reply.content[:120])
    assert not accepted, accepted
    assert_healthy(twin)


@pytest.mark.parametrize("path", JSON_ENDPOINTS[:-1])
def test_multipart_sent_to_a_json_endpoint_answers_422(twin: AppClient, path: str) -> None:
    files = {"file": ("body.json", b'{"query": "x"}', "application/json")}
    assert_refused(twin.post(path, files=files), 422)
    assert_healthy(twin)


# --- control characters and very long strings, every field ------------------------------------
CONTROL = "a\x00b\x01c\x1b[31md\x7fe\u202ef\u200bg\ufeffh\x85i"


def test_control_characters_in_every_field_round_trip_unchanged(twin: AppClient) -> None:
    doc_id = unique("control")
    tags = ["\x00", f"\x1b[0m{doc_id[-10:]}", "\u202e\u200b"]
    reply = twin.post(
        "/documents", json={"id": doc_id, "text": CONTROL, "title": CONTROL, "tags": tags}
    )
    assert reply.status_code == 201, reply.content[:500]
    stored = twin.get(f"/documents/{doc_id}").json()
    assert (stored["text"], stored["title"], stored["tags"]) == (CONTROL, CONTROL, tags)
    search = twin.post("/search", json={"query": CONTROL, "top_k": 5, "tags": [tags[1]]})
    assert search.status_code == 200, search.content[:500]
    assert [hit["id"] for hit in search.json()["results"]] == [doc_id]
    assert_healthy(twin)


def test_separator_control_characters_are_kept_like_the_other_twin_keeps_them(
    twin: AppClient,
) -> None:
    # U+001C-U+001F are not white space in Unicode (pydantic keeps them), but Python's
    # str.strip() removes them: the twins must agree on what "stripped" means.
    changed = {}
    for char in "\x1c\x1d\x1e\x1f":
        reply = twin.post("/echo", json={"query": f"{char}q{char}", "tags": [char]})
        if reply.status_code != 200 or reply.json()["query"] != f"{char}q{char}":
            changed[repr(char)] = (reply.status_code, reply.content[:120])
    assert not changed, changed


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/search", {"query": "q" * 200_000}, ["body", "query"]),
        ("/echo", {"query": "q" * 1_001}, ["body", "query"]),
        ("/search", {"query": "x", "tags": ["t" * 50_000]}, ["body", "tags", 0]),
        ("/documents", {"text": "t" * 10_001}, ["body", "text"]),
        ("/documents", {"text": "x", "title": "t" * 100_000}, ["body", "title"]),
        ("/documents", {"text": "x", "tags": ["t" * 33]}, ["body", "tags", 0]),
        ("/documents", {"id": "i" * 65, "text": "x"}, ["body", "id"]),
        ("/documents", {"id": "i" * 500_000, "text": "x"}, ["body", "id"]),
        ("/documents/batch", {"documents": [{"text": "t" * 10_001}]}, None),
    ],
    ids=["query", "query-1001", "tag", "text", "title", "tag-33", "id-65", "id-huge", "batch"],
)
def test_very_long_string_answers_422_at_its_field(
    twin: AppClient, path: str, body: dict[str, Any], loc: list[Any] | None
) -> None:
    detail = assert_refused(twin.post(path, json=body), 422)["detail"]
    expected = loc or ["body", "documents", 0, "text"]
    assert [item["loc"] for item in detail] == [expected], detail
    assert_healthy(twin)


def test_longest_strings_of_four_byte_characters_are_stored_whole(twin: AppClient) -> None:
    # Limits count characters; Milvus counts bytes. The longest allowed values, in 4-byte
    # UTF-8, must fit the collection's VARCHAR sizes.
    doc_id = unique("wide")
    doc = {"id": doc_id, "text": "😀" * 10_000, "title": "𝄞" * 200, "tags": ["🎉" * 32] * 10}
    reply = twin.post("/documents", json=doc)
    assert reply.status_code == 201, reply.content[:500]
    stored = twin.get(f"/documents/{doc_id}").json()
    assert {key: stored[key] for key in doc} == doc
    assert_healthy(twin)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize(
    "doc_id",
    ["abc%0A", "abc%0D", "abc%00", "%FF%FE", "a" * 5_000, "abc%22%5D%29%20or%20true"],
    ids=["trailing-newline", "trailing-cr", "nul", "invalid-utf8", "very-long", "quote"],
)
def test_document_path_with_hostile_id_answers_422(
    twin: AppClient, method: str, doc_id: str
) -> None:
    reply = twin.request(method, f"/documents/{doc_id}")
    detail = assert_refused(reply, 422)["detail"]
    assert detail[0]["loc"] == ["path", "doc_id"], detail
    assert_healthy(twin)


def test_ingest_row_whose_id_ends_in_a_newline_is_a_row_error(twin: AppClient) -> None:
    doc_id = unique("newline")
    reply = twin.post("/ingest", json=[{"id": f"{doc_id}\n", "text": "x"}])
    assert reply.status_code == 202, reply.content[:500]
    job = wait_for_job(twin, reply.json()["job_id"])
    assert (job["status"], job["processed"], job["failed"]) == ("done", 0, 1), job
    assert_healthy(twin)


# --- tag values written to break a Milvus filter expression -------------------------------------
HOSTILE_TAGS = [
    '"',
    "'",
    "\\",
    "x\\",
    '\\"',
    '"]) or true or (["',
    'x"]) or not (["x',
    "a\\'b",
    "\\u0041",
    "\\x41",
    "\\n",
    "a\nb",
    "a\tb",
    "\x00",
    "%",
    "_%",
    "]",
    "))",
    "${x}",
    "😀",
    "\ufeff",
]


def test_hostile_tags_match_exactly_the_documents_that_carry_them(twin: AppClient) -> None:
    run = unique("hostile")
    docs = [
        {"id": f"{run}-{index}", "text": f"tagged document {run}", "tags": [tag, run]}
        for index, tag in enumerate(HOSTILE_TAGS)
    ]
    docs.append({"id": f"{run}-plain", "text": f"tagged document {run}", "tags": [run]})
    reply = twin.post("/documents/batch", json={"documents": docs})
    assert reply.status_code == 201, reply.content[:500]
    wrong = {}
    for index, tag in enumerate(HOSTILE_TAGS):
        search = twin.post("/search", json={"query": run, "top_k": 100, "tags": [tag]})
        ids = [hit["id"] for hit in search.json().get("results", [])]
        mine = [doc_id for doc_id in ids if doc_id.startswith(run)]
        if search.status_code != 200 or mine != [f"{run}-{index}"]:
            wrong[tag] = (search.status_code, mine or search.content[:200])
    assert not wrong, wrong
    assert_healthy(twin)


def test_filter_injection_longer_than_a_tag_is_refused(twin: AppClient) -> None:
    tag = '"]) or not array_contains_any(tags, ["x'
    reply = twin.post("/search", json={"query": "x", "tags": [tag]})
    assert assert_refused(reply, 422)["detail"][0]["loc"] == ["body", "tags", 0]
    assert_healthy(twin)
