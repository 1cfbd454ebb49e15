"""/ingest (the contract, issue 3): JSON, JSONL and CSV jobs, their reports and refusals."""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING

import pytest
from contract_support import JSON, LIMIT, assert_422, error, search_ids, submit
from support import unique, wait_for_job

if TYPE_CHECKING:
    from conftest import AppClient


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
    deadline = time.monotonic() + 120  # a job that never ends fails here, not hangs
    while client.get(f"/ingest/{job_id}").json()["status"] in ("queued", "running"):
        reply = client.post("/search", json={"query": "tomatoes", "top_k": 5})
        assert reply.status_code == 200, reply.text
        assert time.monotonic() < deadline, f"ingest job {job_id} still running after 120 s"
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
