"""Live twin servers and checks shared by the reliability tests (fixtures: conftest.py).

``LiveServer`` runs one twin with the project's own command line (``server_argv``) in its own
process group, so a test can SIGKILL or SIGTERM it the way a crash or a supervisor would, and
teardown can always stop it. The other helpers read ingest jobs, read Milvus directly (the
ground truth of what survived), and look for internals leaking into response bodies.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.config import PROJECT_ROOT, Settings
from shared.servers import DEFAULT_SERVER, ServerSpec, served_env, server_argv

# Model loading takes 5-15 s per start on a busy 2-core machine; Milvus may still be starting.
READY_TIMEOUT_S = 180.0
# gunicorn and uvicorn are given 20 s of graceful shutdown by server_argv; past that, SIGKILL.
STOP_TIMEOUT_S = 25.0
DIM = 384
# The live twins' TWINBENCH_MILVUS_TIMEOUT_S, set explicitly (the default) for the outage
# tests that time their 503s against it.
MILVUS_TIMEOUT_S = 2.0
# What a 503 may take on top of that one Milvus call: the model, the framework, this busy
# 2-core machine. The README says "503 within about that time".
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


@dataclass
class LiveServer:
    """One twin served by its usual server in its own process group, on 127.0.0.1."""

    app: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def spec(self) -> ServerSpec:
        return ServerSpec(app=self.app, server=DEFAULT_SERVER[self.app], workers=1, port=self.port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"the {self.app} server was never started"
        return self.proc.pid

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

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Spawn the server (its own session, so a signal to the group reaches its workers)."""
        assert not self.running(), f"the {self.app} server is already running"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - the project's own command line
                server_argv(self.spec),
                cwd=PROJECT_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Block until GET /health answers 200 (model loaded, Milvus reachable)."""
        deadline = time.monotonic() + timeout_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(
                    f"the {self.app} server exited while starting:\n{self.log_tail()}"
                )
            try:
                reply = httpx.get(f"{self.url}/health", timeout=5.0)
                if reply.status_code == 200:
                    return
                last = f"{reply.status_code} {reply.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise RuntimeError(
            f"the {self.app} server was not healthy within {timeout_s:.0f} s ({last}):\n"
            + self.log_tail()
        )

    def ensure_running(self) -> None:
        if not self.running():
            self.start()
            self.wait_ready()

    def kill(self) -> None:
        """SIGKILL the whole process group (master and workers), as a crash would."""
        self._signal_group(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        self._reap_group()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM the process group; SIGKILL what is left after ``timeout_s``."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(timeout=timeout_s)
        self._reap_group()

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    def _reap_group(self) -> None:
        # A worker that outlived its master (it should not) is killed too: nothing stays behind.
        deadline = time.monotonic() + 5.0
        while _group_alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._signal_group(signal.SIGKILL)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    # Zombies of the group still answer signal 0; count only members that are not zombies.
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def stored_ids(milvus: Settings, *, collection: str, prefix: str) -> list[str]:
    """Every id starting with ``prefix`` in ``collection``, read straight from Milvus (Strong),
    duplicates included: the ground truth of what survived, whatever the apps say."""
    from pymilvus import MilvusClient

    assert re.fullmatch(r"[A-Za-z0-9_-]+", prefix)
    client = MilvusClient(uri=milvus.effective_milvus_uri, timeout=30)
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
