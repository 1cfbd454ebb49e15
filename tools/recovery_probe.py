"""Measure the recovery after a Milvus crash, phase by phase, with pymilvus alone as reference.

Run: ``python -m tools.recovery_probe [--rows 3000] [--graceful] [--json out.json]`` (about
two minutes). It starts its own embedded Milvus (free port, temporary data directory; never
19530, never ``.data``), fills a collection through the core with random unit vectors
(384-d), starts both twins on it with their usual servers, SIGKILLs Milvus's process group
and starts it again on the same port and data. Meanwhile one thread per phase polls every
0.2 s and records when it first succeeds, in seconds after the kill (``--graceful``: after a clean
stop, as the outage test does):

* ``milvus_up``: ``start_server`` returned (it waits until the server answers a call);
* ``grpc_answers``: a fresh ``MilvusClient`` lists the collections;
* ``collection_loaded``: ``get_load_state`` says Loaded;
* ``pymilvus_search``: a fresh ``MilvusClient`` searches (limit 3) — what Milvus allows;
* ``core_search``: a ``MilvusVectorStore`` opened before the kill searches — the core;
* ``flask_search`` / ``fastapi_search``: ``POST /search/vector`` answers 200 on each twin.

Everything it started is stopped in ``finally`` and the temporary directory is deleted.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from shared.config import PROJECT_ROOT, Settings, get_settings
from shared.documents import NewDocument
from shared.milvus_server import MilvusProcess, free_port, start_server, stop_server
from shared.servers import DEFAULT_SERVER, ServerSpec, served_env, server_argv
from shared.vector_store import MilvusVectorStore

DIM = 384
POLL_S = 0.2
GIVE_UP_S = 180.0
TWINS = ("flask", "fastapi")
PHASES = (
    "milvus_up",
    "grpc_answers",
    "collection_loaded",
    "pymilvus_search",
    "core_search",
    *(f"{app}_search" for app in TWINS),
)


def unit_vectors(count: int, rng: np.random.Generator) -> np.ndarray:
    vectors = rng.standard_normal((count, DIM)).astype(np.float32)
    unit: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return unit


def fill(store: MilvusVectorStore, rows: int, rng: np.random.Generator) -> None:
    batch = 256
    for start in range(0, rows, batch):
        count = min(batch, rows - start)
        documents = [
            NewDocument(id=f"probe-{start + n}", text=f"row {start + n}") for n in range(count)
        ]
        store.upsert(documents, unit_vectors(count, rng))
    store.flush()


def twin_env(settings: Settings) -> dict[str, str]:
    return served_env(
        TWINBENCH_MILVUS_PORT=str(settings.milvus_port),
        TWINBENCH_DATA_DIR=str(settings.data_dir),
        TWINBENCH_COLLECTION=settings.collection,
        PYTHONPATH=str(PROJECT_ROOT),
    )


def start_twin(app: str, settings: Settings, log_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    spec = ServerSpec(app=app, server=DEFAULT_SERVER[app], port=port)
    with open(log_dir / f"{app}.log", "ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - the project's own command line
            server_argv(spec),
            cwd=PROJECT_ROOT,
            env={**twin_env(settings), **spec.env()},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc, f"http://127.0.0.1:{port}"


def stop_twin(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=25)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def twin_search(url: str, vector: list[float]) -> bool:
    reply = httpx.post(f"{url}/search/vector", json={"vector": vector, "top_k": 3}, timeout=10)
    return reply.status_code == 200


def wait_for(what: str, check: Callable[[], bool], timeout_s: float = GIVE_UP_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(POLL_S)
    raise RuntimeError(f"{what} did not succeed within {timeout_s:.0f} s")


class Phases:
    """When each phase first succeeded, in seconds after the kill (``perf_counter``)."""

    def __init__(self, killed_at: float) -> None:
        self.killed_at = killed_at
        self.seconds: dict[str, float | None] = dict.fromkeys(PHASES)
        self.attempts: dict[str, int] = dict.fromkeys(PHASES, 0)
        self._stop = threading.Event()

    def poll(self, phase: str, check: Callable[[], bool]) -> threading.Thread:
        def run() -> None:
            while not self._stop.is_set():
                self.attempts[phase] += 1
                ok = False
                with contextlib.suppress(Exception):
                    ok = check()
                if ok:
                    self.seconds[phase] = time.perf_counter() - self.killed_at
                    return
                time.sleep(POLL_S)

        thread = threading.Thread(target=run, name=phase, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


def fresh_client(settings: Settings) -> Any:
    from pymilvus import MilvusClient

    return MilvusClient(uri=settings.effective_milvus_uri, timeout=2.0)


def measure(
    settings: Settings, store: MilvusVectorStore, twins: dict[str, str], *, graceful: bool
) -> Phases:
    rng = np.random.default_rng(7)
    vector = unit_vectors(1, rng)[0].tolist()
    collection = settings.collection
    state = json.loads((Path(settings.data_dir) / "milvus" / "state.json").read_text())
    pid = int(state["pid"])

    def with_client(operation: Callable[[Any], bool]) -> bool:
        client = fresh_client(settings)
        try:
            return operation(client)
        finally:
            client.close()

    def grpc_answers() -> bool:
        return with_client(lambda client: isinstance(client.list_collections(timeout=2.0), list))

    def loaded() -> bool:
        return with_client(
            lambda client: "Loaded" in str(client.get_load_state(collection).get("state", ""))
        )

    def pymilvus_search() -> bool:
        return with_client(
            lambda client: (
                len(client.search(collection, data=[vector], limit=3, timeout=2.0)[0]) > 0
            )
        )

    def core_search() -> bool:
        return len(store.search(vector, top_k=3)) > 0

    up: list[MilvusProcess] = []
    if graceful:
        stop_server(settings)  # SIGTERM, and time to shut down cleanly
        phases = Phases(time.perf_counter())
    else:
        os.killpg(pid, signal.SIGKILL)
        phases = Phases(time.perf_counter())
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        while Path(f"/proc/{pid}").exists():
            time.sleep(0.01)

    def restart() -> bool:
        up.append(start_server(settings, port=settings.milvus_port))
        return True

    threads = [
        phases.poll("milvus_up", restart),
        phases.poll("grpc_answers", grpc_answers),
        phases.poll("collection_loaded", loaded),
        phases.poll("pymilvus_search", pymilvus_search),
        phases.poll("core_search", core_search),
    ]
    for app, url in twins.items():
        threads.append(phases.poll(f"{app}_search", functools.partial(twin_search, url, vector)))
    deadline = time.monotonic() + GIVE_UP_S
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    phases.stop()
    return phases


def report(phases: Phases, *, graceful: bool) -> str:
    since = "the stop" if graceful else "the kill"
    lines = [f"phase                seconds after {since:<8}   attempts"]
    for phase in PHASES:
        seconds = phases.seconds[phase]
        shown = f"{seconds:8.1f}" if seconds is not None else "   never"
        lines.append(f"{phase:<20} {shown:>22}   {phases.attempts[phase]:>8}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.recovery_probe", description=__doc__)
    parser.add_argument("--rows", type=int, default=3000, help="rows in the collection")
    parser.add_argument("--json", type=Path, default=None, help="write the phases here")
    parser.add_argument(
        "--graceful",
        action="store_true",
        help="stop Milvus cleanly (SIGTERM, as stop_server does) instead of SIGKILL; "
        "seconds then count from when it has stopped",
    )
    args = parser.parse_args(argv)

    data_dir = Path(tempfile.mkdtemp(prefix="recovery-probe-"))
    settings = get_settings(data_dir=data_dir, milvus_port=free_port(), collection="recovery_probe")
    twins: dict[str, subprocess.Popen[bytes]] = {}
    store: MilvusVectorStore | None = None
    try:
        print(f"Milvus on port {settings.milvus_port}, data in {data_dir}", file=sys.stderr)
        start_server(settings, port=settings.milvus_port)
        store = MilvusVectorStore(settings=settings, dimension=DIM)
        store.connect()
        fill(store, args.rows, np.random.default_rng(1))
        urls: dict[str, str] = {}
        for app in TWINS:
            twins[app], urls[app] = start_twin(app, settings, data_dir)
        probe = unit_vectors(1, np.random.default_rng(2))[0].tolist()
        for app, url in urls.items():
            wait_for(f"the {app} twin's search", functools.partial(twin_search, url, probe))
        print(f"all serving; {'stopping' if args.graceful else 'killing'} Milvus", file=sys.stderr)
        phases = measure(settings, store, urls, graceful=args.graceful)
        print(report(phases, graceful=args.graceful))
        if args.json is not None:
            args.json.write_text(
                json.dumps(
                    {"rows": args.rows, "graceful": args.graceful, "seconds": phases.seconds},
                    indent=2,
                )
                + "\n"
            )
        return 0 if all(seconds is not None for seconds in phases.seconds.values()) else 1
    finally:
        for proc in twins.values():
            stop_twin(proc)
        if store is not None:
            store.close()
        stop_server(settings)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
