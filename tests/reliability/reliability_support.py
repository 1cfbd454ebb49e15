"""Live twin servers and checks shared by the reliability tests (fixtures: conftest.py).

``LiveServer`` runs one twin through the project's launcher (``shared.launcher``: the server's
own command line, its own process group), so a test can SIGKILL or SIGTERM it the way a crash
or a supervisor would, and teardown can always stop it. The other helpers read ingest jobs,
read Milvus directly (the ground truth of what survived), and look for internals leaking
into response bodies.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import httpx

from shared.config import PROJECT_ROOT, Settings
from shared.launcher import TwinProcess
from shared.milvus_server import client_token
from shared.servers import DEFAULT_SERVER, ServerSpec, served_env

DIM = 384
# The live twins' TWINBENCH_MILVUS_TIMEOUT_S, set explicitly (the default) for the outage
# tests that time their 503s against it.
MILVUS_TIMEOUT_S = 2.0
# What a 503 may take on top of that one Milvus call: the model, the framework, this busy
# 2-core machine. docs/failure-behaviour.md says "503 within about that time".
TIMEOUT_SLACK_S = 0.5


def collection_of(app: str) -> str:
    """Each twin writes to its own collection, so one twin's writes never count in the other's."""
    return f"reliability_{app}"


def server_env(milvus: Settings, *, app: str) -> dict[str, str]:
    """The environment of a twin server on the session's Milvus, in its own collection."""
    return served_env(
        TWINBENCH_MILVUS_PORT=str(milvus.milvus_port),
        TWINBENCH_DATA_DIR=str(milvus.data_dir),
        TWINBENCH_COLLECTION=collection_of(app),
        TWINBENCH_MILVUS_TIMEOUT_S=str(MILVUS_TIMEOUT_S),
    )


class LiveServer(TwinProcess):
    """One twin on its usual server (one worker) on 127.0.0.1, started by the project's
    launcher in its own process group, with an HTTP client for the tests."""

    def __init__(self, *, app: str, port: int, env: dict[str, str], log_path: Path) -> None:
        spec = ServerSpec(app=app, server=DEFAULT_SERVER[app], workers=1, port=port)
        super().__init__(spec=spec, env=env, log_path=log_path)

    @property
    def proc(self) -> subprocess.Popen[str] | None:
        """The server's master process, for a test that waits on its exit code."""
        return self.process.proc if self.process is not None else None

    def http(self, timeout: float = 60.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def assert_serving(self) -> None:
        """Health answers 200 on a *new* connection.

        After refusing a body it did not read (413 mid-stream), a server may close the
        connection, which HTTP allows at any time; gunicorn's gthread worker sometimes does.
        Whether the server is still up is a question for a fresh connection.
        """
        reply = httpx.get(f"{self.url}/health", timeout=10)
        assert reply.status_code == 200, reply.text[:300]


def stored_ids(milvus: Settings, *, collection: str, prefix: str) -> list[str]:
    """Every id starting with ``prefix`` in ``collection``, read straight from Milvus (Strong),
    duplicates included: the ground truth of what survived, whatever the apps say."""
    from pymilvus import MilvusClient

    assert re.fullmatch(r"[A-Za-z0-9_-]+", prefix)
    client = MilvusClient(uri=milvus.effective_milvus_uri, token=client_token(milvus), timeout=30)
    try:
        rows = client.query(
            collection,
            filter=f'id like "{prefix}%"',
            output_fields=["id"],
            limit=16_384,
            consistency_level="Strong",
            timeout=30,
        )
    finally:
        client.close()
    return [str(row["id"]) for row in rows]


# Markers of an internal leak in a response body: a stack trace or a path of the installation.
LEAK_PATTERNS = [
    re.compile(r"Traceback \(most recent call last\)"),
    re.compile(r'File "[^"]+", line \d+'),
    re.compile(re.escape(str(PROJECT_ROOT))),
    re.compile(r"/work/"),
    re.compile(r"site-packages"),
    re.compile(r"[\w/]+\.py\b"),
]


def leaks(body: bytes | str, *, sent: Iterable[bytes | str] = ()) -> list[str]:
    """The leak markers found in ``body`` that were not in what the client itself sent."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    echoed = " ".join(
        item.decode("utf-8", "replace") if isinstance(item, bytes) else item for item in sent
    )
    found = []
    for pattern in LEAK_PATTERNS:
        for match in pattern.finditer(text):
            if match.group(0) not in echoed:
                found.append(match.group(0))
    return found
