"""Security defaults: loopback only, an API key from the environment, no leaks, no CORS.

Servers bind 127.0.0.1 unless told otherwise (the command lines, and the sockets the live
twins really listen on); ``TWINBENCH_API_KEY`` in the environment guards every write on both
twins while reads stay open; no response of a live twin, malformed HTTP included, carries a
stack trace or a path of the installation; no response carries CORS headers by default.
"""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi.testclient import TestClient
from reliability_support import DIM, LiveServer, leaks
from support import TWIN_PARAMS, TWINS

import fastapi_app
import flask_app
from shared.config import Settings
from shared.servers import DEFAULT_SERVER, ServerSpec, server_argv
from shared.service import SearchService

if TYPE_CHECKING:
    from conftest import AppClient

API_KEY = "reliability-key-7d41"
CORS_HEADERS = ("access-control-allow-origin", "access-control-allow-credentials")


# --- binding ----------------------------------------------------------------------------------
@pytest.mark.parametrize("app", TWINS)
def test_default_command_line_binds_loopback_only(app: str) -> None:
    argv = server_argv(ServerSpec(app=app, server=DEFAULT_SERVER[app]))
    if "--bind" in argv:
        assert argv[argv.index("--bind") + 1] == "127.0.0.1:8000", argv
    else:
        assert argv[argv.index("--host") + 1] == "127.0.0.1", argv
    assert "0.0.0.0" not in " ".join(argv)


def test_default_settings_serve_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWINBENCH_HOST", raising=False)
    assert Settings().host == "127.0.0.1"


def listening_addresses(port: int) -> list[str]:
    """Local addresses of the sockets in LISTEN state on ``port`` (from /proc/net/tcp*)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:
                found.append(address)
    return found


def test_live_server_listens_on_loopback_only(live: LiveServer) -> None:
    addresses = listening_addresses(live.port)
    # 0100007F is 127.0.0.1 in /proc's little-endian hex; anything else would be reachable
    # from outside (00000000 is 0.0.0.0, all zeros in tcp6 is ::).
    assert addresses and set(addresses) == {"0100007F"}, addresses


# --- the API key, from the environment ----------------------------------------------------------
@pytest.fixture(params=TWIN_PARAMS)
def keyed(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    service: SearchService,
    pytestconfig: pytest.Config,
) -> Iterator[AppClient]:
    """A twin whose settings read TWINBENCH_API_KEY from the environment, as a server would."""
    monkeypatch.setenv("TWINBENCH_API_KEY", API_KEY)
    keyed_settings = Settings(
        **{name: value for name, value in settings.model_dump().items() if name != "api_key"}
    )
    assert keyed_settings.api_key == API_KEY
    keyed_service = SearchService(
        settings=keyed_settings, embedder=service.embedder, store=service.store, jobs=service.jobs
    )
    root = pytestconfig.pluginmanager.get_plugin(
        str(Path(__file__).resolve().parent.parent / "conftest.py")
    )
    if request.param == "flask":
        yield root.flask_client(flask_app.create_app(keyed_settings, keyed_service))
    else:
        app = fastapi_app.create_app(keyed_settings, keyed_service)
        with TestClient(app, raise_server_exceptions=False) as test_client:
            yield root.fastapi_client(test_client)


def writes(doc_id: str) -> list[tuple[str, str, dict[str, Any], int]]:
    return [
        ("POST", "/documents", {"json": {"id": doc_id, "text": "keyed write"}}, 201),
        ("POST", "/documents/batch", {"json": {"documents": [{"text": "keyed batch"}]}}, 201),
        ("POST", "/ingest", {"json": [{"text": "keyed ingest"}]}, 202),
        ("POST", "/ingest", {"files": {"file": ("k.csv", b"text\nkeyed csv\n", "text/csv")}}, 202),
        ("DELETE", f"/documents/{doc_id}", {}, 204),
    ]


def test_every_write_needs_the_api_key_from_the_environment(keyed: AppClient) -> None:
    doc_id = f"keyed-{uuid.uuid4().hex[:10]}"
    wrong = {}
    for method, path, kwargs, success in writes(doc_id):
        for headers in ({}, {"X-API-Key": "not-the-key"}, {"X-API-Key": API_KEY.upper()}):
            reply = keyed.request(method, path, headers=headers, **kwargs)
            if reply.status_code != 401 or "X-API-Key" not in reply.json()["detail"]:
                wrong[f"{method} {path} {headers}"] = (reply.status_code, reply.content[:120])
        reply = keyed.request(method, path, headers={"X-API-Key": API_KEY}, **kwargs)
        if reply.status_code != success:
            wrong[f"{method} {path} with the key"] = (reply.status_code, reply.content[:120])
    assert not wrong, wrong


def test_reads_need_no_api_key(keyed: AppClient) -> None:
    doc_id = f"keyed-read-{uuid.uuid4().hex[:10]}"
    key = {"X-API-Key": API_KEY}
    assert (
        keyed.post("/documents", json={"id": doc_id, "text": "readable"}, headers=key).status_code
        == 201
    )
    job = keyed.post("/ingest", json=[{"text": "readable job"}], headers=key).json()["job_id"]
    reads = [
        ("GET", "/health", {}),
        ("POST", "/echo", {"json": {"query": "x"}}),
        ("POST", "/search", {"json": {"query": "readable", "top_k": 1}}),
        ("POST", "/search/vector", {"json": {"vector": [0.1] * DIM, "top_k": 1}}),
        ("GET", f"/documents/{doc_id}", {}),
        ("GET", f"/ingest/{job}", {}),
        ("GET", "/openapi.json", {}),
    ]
    for method, path, kwargs in reads:
        reply = keyed.request(method, path, **kwargs)
        assert reply.status_code == 200, (method, path, reply.status_code, reply.content[:200])


# --- what live responses never carry ------------------------------------------------------------
ORIGIN = {"Origin": "https://elsewhere.example"}
JSON = {"content-type": "application/json"}
# Each request with the status both twins answer it with: a 500 must not pass for "no leak".
REQUESTS: list[tuple[str, str, dict[str, Any], int]] = [
    ("GET", "/health", {}, 200),
    ("GET", "/openapi.json", {}, 200),
    ("GET", "/docs", {}, 200),
    ("GET", "/no/such/path", {}, 404),
    ("DELETE", "/health", {}, 405),
    ("GET", "/documents/no-such-document", {}, 404),
    ("GET", "/documents/bad%0Aid", {}, 422),
    ("GET", "/ingest/not-a-job", {}, 404),
    ("POST", "/search", {"json": {"query": "x", "top_k": 1}}, 200),
    ("POST", "/search", {"json": {"query": ""}}, 422),
    ("POST", "/search", {"content": b"{bad json", "headers": JSON}, 422),
    ("POST", "/search", {"content": b'{"query": "\xff"}', "headers": JSON}, 400),
    ("POST", "/search", {"content": b"[" * 100_000, "headers": JSON}, 400),
    (
        "POST",
        "/ingest",
        {"content": b"--x\r\n\r\n", "headers": {"content-type": "multipart/form-data; boundary=x"}},
        400,
    ),
    ("POST", "/search/vector", {"json": {"vector": [10**400] * DIM}}, 422),
    ("OPTIONS", "/search", {"headers": {"Access-Control-Request-Method": "POST"}}, 405),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    REQUESTS,
    ids=[f"{m} {p} {i}" for i, (m, p, _, _) in enumerate(REQUESTS)],
)
def test_live_responses_have_the_expected_status_no_internals_and_no_cors_headers(
    live: LiveServer, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    kwargs = dict(kwargs)  # the parameter is shared by both twins' runs
    headers = {**ORIGIN, **kwargs.pop("headers", {})}
    with live.http() as http:
        try:
            reply = http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            pytest.fail(f"{method} {path}: no HTTP answer ({exc!r})")
    live.assert_serving()
    assert reply.status_code == status, reply.text[:500]
    assert not [name for name in CORS_HEADERS if name in reply.headers], dict(reply.headers)
    assert not leaks(reply.content, sent=[path]), reply.text[:500]


def test_chunked_body_over_the_limit_answers_413(live: LiveServer) -> None:
    # No Content-Length: the limit must hold while the body streams in.
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "'
        for _ in range(40):
            yield b"a" * 65_536
        yield b'"}'

    with live.http() as http:
        reply = http.post("/search", content=chunks(), headers={"content-type": "application/json"})
        assert reply.status_code == 413, reply.text[:300]
        assert "limit of 1048576 bytes" in reply.json()["detail"]
    live.assert_serving()


# Each malformed request with the statuses a server may answer it with; the first line of an
# answer must arrive within ANSWER_TIMEOUT_S: a server that says nothing on that connection
# (or only closes it much later) fails. The huge header is valid HTTP: uvicorn serves it.
MALFORMED: list[tuple[bytes, set[int]]] = [
    (b"NOT HTTP AT ALL\r\n\r\n", {400}),
    (b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n", {400, 505}),
    (b"POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}", {400}),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * 200_000 + b"\r\n\r\n", {200, 431}),
    (b"GET /" + b"p" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", {400, 414}),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header\x00: y\r\n\r\n", {400}),
]
ANSWER_TIMEOUT_S = 10.0


def prompt_answer(port: int, raw: bytes) -> bytes:
    """The server's answer: its head must come within ANSWER_TIMEOUT_S (else TimeoutError);
    then whatever follows within a second (a kept-alive connection stays open)."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT_S) as sock:
        try:
            sock.sendall(raw)
        except (ConnectionResetError, BrokenPipeError):
            pass  # it may answer and close before reading all of a huge request
        try:
            while b"\r\n\r\n" not in answer and (chunk := sock.recv(65_536)):
                answer += chunk
            sock.settimeout(1.0)
            while chunk := sock.recv(65_536):
                answer += chunk
        except (ConnectionResetError, TimeoutError) as exc:
            # Closed after answering, or kept open: what it sent is in ``answer``.
            if not answer:
                raise TimeoutError("no answer") from exc
    return answer


@pytest.mark.parametrize(
    ("raw", "statuses"), MALFORMED, ids=["garbage", "version", "length", "header", "url", "nul"]
)
def test_malformed_http_is_answered_promptly_with_an_expected_status_and_no_internals(
    live: LiveServer, raw: bytes, statuses: set[int]
) -> None:
    try:
        answer = prompt_answer(live.port, raw)
    except TimeoutError:
        pytest.fail(f"no answer within {ANSWER_TIMEOUT_S} s: the server hung on this connection")
    status_line = answer.split(b"\r\n", 1)[0]
    assert re.fullmatch(rb"HTTP/1\.[01] \d{3}( .*)?", status_line), answer[:300]
    assert int(status_line.split()[1]) in statuses, status_line
    assert not leaks(answer, sent=[raw[:300]]), answer[:500]
    live.assert_serving()
