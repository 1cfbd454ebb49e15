"""A hung Milvus (SIGSTOP: connections open, nothing answers): 503 within the timeout.

docs/failure-behaviour.md promises a 503 "within about" ``TWINBENCH_MILVUS_TIMEOUT_S`` when
Milvus is down
*or slower than the timeout*; a stopped Milvus (test_outage.py) refuses connections at once,
a hung one does not. Both in-process twins run over the real model and this folder's Milvus
with the timeout set here, each on a connection of its own, made and used before the hang.
For each kind of request, in turn: Milvus is frozen, both twins get that request at once (so
it is the first call each makes on a live connection, which a real hang meets first), Milvus
is thawed, and both must search again before the next kind. Each answer is timed. The
freezes are short: Milvus, frozen for ~30 s, finds its own etcd sessions expired and exits.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from reliability_support import DIM
from support import TWINS

import fastapi_app
import flask_app
from shared.config import get_settings
from shared.jobs import JobRegistry
from shared.milvus_server import server_status
from shared.service import SearchService
from shared.vector_store import MilvusVectorStore

if TYPE_CHECKING:
    from conftest import AppClient

TIMEOUT_S = 1.0  # TWINBENCH_MILVUS_TIMEOUT_S of these twins
# On top of the one Milvus call that times out: the model (a search embeds its query), the
# framework, and a busy 2-core machine. docs/failure-behaviour.md says "within about that time".
SLACK_S = 0.5
RECOVERY_S = 60.0
SEARCH = {"query": "what happens when the database hangs", "top_k": 3}
KINDS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "search": ("POST", "/search", {"json": SEARCH}),
    "vector search": ("POST", "/search/vector", {"json": {"vector": [0.1] * DIM, "top_k": 3}}),
    "read": ("GET", "/documents/hung-document", {}),
    "delete": ("DELETE", "/documents/hung-document", {}),
    "create": ("POST", "/documents", {"json": {"text": "written while Milvus hangs"}}),
    "batch": ("POST", "/documents/batch", {"json": {"documents": [{"text": "hung batch"}]}}),
    "health": ("GET", "/health", {}),
}


@dataclass(frozen=True)
class Seen:
    status: int
    elapsed_s: float
    body: Any

    def __str__(self) -> str:
        return f"{self.status} after {self.elapsed_s:.2f} s: {self.body!r}"


def timed(client: AppClient, method: str, path: str, kwargs: dict[str, Any]) -> Seen:
    started = time.perf_counter()
    reply = client.request(method, path, **kwargs)
    elapsed = time.perf_counter() - started
    try:
        body: Any = reply.json()
    except ValueError:
        body = reply.content[:300]
    return Seen(reply.status_code, elapsed, body)


@contextmanager
def frozen(pid: int) -> Iterator[None]:
    """Milvus's whole process group stopped: its sockets stay open, nothing answers."""
    os.killpg(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(pid, signal.SIGCONT)


def searches_again(clients: dict[str, AppClient]) -> bool:
    deadline = time.monotonic() + RECOVERY_S
    pending = set(clients)
    while pending and time.monotonic() < deadline:
        for twin in sorted(pending):
            if clients[twin].post("/search", json=SEARCH).status_code == 200:
                pending.discard(twin)
        time.sleep(0.2)
    return not pending


@pytest.fixture(scope="module")
def hung(
    live_stack: Any,
    service: SearchService,
    pytestconfig: pytest.Config,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[str, str], Seen]:
    """Every kind of request, sent to both twins while Milvus hangs; what came back."""
    root = pytestconfig.pluginmanager.get_plugin(
        str(Path(__file__).resolve().parent.parent / "conftest.py")
    )
    settings = get_settings(
        **{
            **live_stack.milvus.model_dump(),
            "collection": "hung",
            "milvus_timeout_s": TIMEOUT_S,
        }
    )
    seen: dict[tuple[str, str], Seen] = {}
    with ExitStack() as stack:
        clients: dict[str, AppClient] = {}
        for twin in TWINS:
            # One store (one Milvus connection) per twin: each twin meets the hang first-hand.
            own = SearchService(
                settings=settings,
                embedder=service.embedder,
                store=MilvusVectorStore(settings=settings, dimension=service.embedder.dimension),
                jobs=JobRegistry(tmp_path_factory.mktemp(f"hung-jobs-{twin}")),
            )
            stack.callback(own.close)
            if twin == "flask":
                clients[twin] = root.flask_client(flask_app.create_app(settings, own))
            else:
                test_client = stack.enter_context(
                    TestClient(fastapi_app.create_app(settings, own), raise_server_exceptions=False)
                )
                clients[twin] = root.fastapi_client(test_client)
        assert searches_again(clients), "the twins could not search before the hang"
        pid = int(server_status(live_stack.milvus)["pid"])
        with ThreadPoolExecutor(len(clients)) as pool:
            for kind, (method, path, kwargs) in KINDS.items():
                with frozen(pid):
                    futures = {
                        twin: pool.submit(timed, client, method, path, kwargs)
                        for twin, client in clients.items()
                    }
                    for twin, future in futures.items():
                        seen[(twin, kind)] = future.result(timeout=120)
                if not searches_again(clients):
                    # Leave a working Milvus to the tests that follow, then say what happened.
                    live_stack.stop_milvus()
                    live_stack.start_milvus()
                    pytest.fail(f"no search succeeded {RECOVERY_S:.0f} s after the '{kind}' hang")
    return seen


# Writes of one document (and the one-document batch here) get the same timeout as any
# call; only a batch of more than 64 documents gets more (shared/vector_store.py).
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("twin", TWINS)
def test_request_to_a_hung_milvus_answers_503_within_about_the_timeout(
    hung: dict[tuple[str, str], Seen], twin: str, kind: str
) -> None:
    reply = hung[(twin, kind)]
    assert reply.status == 503, str(reply)
    assert "Milvus" in reply.body["detail"], str(reply)
    assert reply.elapsed_s < TIMEOUT_S + SLACK_S, str(reply)
