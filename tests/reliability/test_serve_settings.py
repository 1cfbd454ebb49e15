"""``make serve-*`` (``python -m shared.serve``) under the settings of docs/settings.md, as a
user runs it.

External mode: with ``MILVUS_URI`` (and ``MILVUS_TOKEN``) naming a Milvus that is already
running, the command starts no Milvus of its own, serves from that one, and leaves it running
when it stops; the same run sets the serving knobs (blocking threads, access log, body
and upload limits, model path) and each is seen to act (the model: a copy of the default
one at another path, its runtime cached only under the copy's key). Workers: with
``TWINBENCH_WORKERS=2`` the twin runs in two real worker processes, and an ingest job one
worker ran is read through the other while the first is frozen (SIGSTOP): job records are
shared across processes. The three commands start at once, at the first of these tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from support import wait_for_job

from shared.config import PROJECT_ROOT, Settings
from shared.embedder import default_model_path
from shared.launcher import TWIN_STOP_GRACE_S, OwnedProcess, free_port, wait_until_healthy
from shared.milvus_server import client_token, server_status
from shared.onnx_export import export_folder, exported_model
from shared.servers import served_env

BODY_LIMIT = 4096
UPLOAD_LIMIT = 8192
MODEL_COPY = "model-copy"
CACHE = "cache"


@dataclass
class Served:
    """One ``python -m shared.serve`` process, its port, and its output so far."""

    process: OwnedProcess
    port: int
    root: Path  # its own folder: its log, and what the test made for it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def returncode(self) -> int | None:
        return self.process.proc.returncode

    def log(self) -> str:
        return self.process.log_tail(None)


def session_milvus_env(settings: Settings, collection: str, **extra: str) -> dict[str, str]:
    """The environment of a command served from the session's own Milvus and data dir."""
    return served_env(
        TWINBENCH_DATA_DIR=str(settings.data_dir),
        TWINBENCH_MILVUS_PORT=str(settings.milvus_port),
        TWINBENCH_COLLECTION=collection,
        **extra,
    )


def launch(app: str, env: dict[str, str], root: Path) -> Served:
    """``python -m shared.serve APP`` started (not yet healthy), its log in ``root``."""
    port = free_port()
    argv = [sys.executable, "-m", "shared.serve", app, "--no-demo-data", "--port", str(port)]
    process = OwnedProcess(argv, log_path=root / "serve.log", env=env, cwd=PROJECT_ROOT)
    return Served(process, port, root)


@contextlib.contextmanager
def serving(served: Served) -> Iterator[Served]:
    """The command until healthy; SIGTERM (its own clean-up) at the end."""
    try:
        wait_until_healthy(f"{served.url}/health", served.process, what="shared.serve")
        yield served
    finally:
        served.process.stop(grace_s=TWIN_STOP_GRACE_S + 10)


def model_copy_with_its_runtime(settings: Settings, root: Path) -> tuple[Path, Path]:
    """A copy of the default model at another path, and a new cache that holds the ONNX
    export only under the copy's key (the copy's own, made without a 10-20 s export): a
    server that ignored ``TWINBENCH_MODEL_PATH`` would export the default model into it."""
    model = root / MODEL_COPY
    shutil.copytree(default_model_path(), model)
    cache = root / CACHE
    default_export = exported_model(
        model_path=default_model_path(),
        model_name=settings.model_name,
        cache_dir=settings.cache_dir,
        runtime="onnx",
    ).parent.parent
    copy_export = export_folder(model_path=model, model_name=settings.model_name, cache_dir=cache)
    assert copy_export.name != default_export.name
    shutil.copytree(default_export, copy_export)
    return model, cache


def external_env(settings: Settings, root: Path) -> dict[str, str]:
    """The session's Milvus as an external one, and every serving knob set."""
    model, cache = model_copy_with_its_runtime(settings, root)
    return served_env(
        MILVUS_URI=settings.effective_milvus_uri,
        # The session's Milvus asks for a password (root's, a secret in its data directory):
        # the twin must pass on the token it is given.
        MILVUS_TOKEN=client_token(settings),
        TWINBENCH_DATA_DIR=str(root / "data"),
        TWINBENCH_COLLECTION="serve_external",
        TWINBENCH_BLOCKING_THREADS="3",
        TWINBENCH_ACCESS_LOG="true",
        TWINBENCH_MAX_BODY_BYTES=str(BODY_LIMIT),
        TWINBENCH_MAX_UPLOAD_BYTES=str(UPLOAD_LIMIT),
        TWINBENCH_MODEL_PATH=str(model),
        TWINBENCH_CACHE_DIR=str(cache),
        TWINBENCH_EMBED_BACKEND="onnx",
    )


@pytest.fixture(scope="module")
def launched(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Served]]:
    """The three commands of the tests below, started at once (each loads the model, for
    seconds; two cores load two at a time); each test waits for its own and stops it."""
    roots = {
        name: tmp_path_factory.mktemp(f"serve-{name}") for name in ("external", "workers", "sync")
    }
    commands = {
        "external": ("flask", external_env(settings, roots["external"])),
        # The session's embedded Milvus is running in its data dir: these must reuse it.
        "workers": (
            "fastapi",
            session_milvus_env(settings, "serve_workers", TWINBENCH_WORKERS="2"),
        ),
        "sync": (
            "flask",
            session_milvus_env(settings, "serve_sync", TWINBENCH_FLASK_SERVER="gunicorn-sync"),
        ),
    }
    started: dict[str, Served] = {}
    try:
        for name, (app, env) in commands.items():
            started[name] = launch(app, env, roots[name])
        yield started
    finally:
        for served in started.values():
            served.process.stop(grace_s=TWIN_STOP_GRACE_S + 10)


def test_external_milvus_mode_starts_nothing_and_the_serving_settings_act(
    settings: Settings, launched: dict[str, Served]
) -> None:
    uri = settings.effective_milvus_uri  # the session's Milvus, "external" to this command
    root = launched["external"].root
    model, cache = root / MODEL_COPY, root / CACHE
    with serving(launched["external"]) as served:
        health = httpx.get(f"{served.url}/health", timeout=30).json()
        assert health["milvus"] == uri, health  # the external one, named without its token
        too_big = httpx.post(
            f"{served.url}/echo",
            content=b'{"query": "' + b"q" * BODY_LIMIT + b'"}',
            headers={"content-type": "application/json"},
            timeout=30,
        )
        assert too_big.status_code == 413, too_big.text
        assert too_big.json()["detail"].endswith(f"limit of {BODY_LIMIT} bytes")
        upload = b'{"text": "a row"}\n' * (UPLOAD_LIMIT // 18 + 1)
        too_big = httpx.post(
            f"{served.url}/ingest", files={"file": ("rows.jsonl", upload)}, timeout=30
        )
        assert too_big.status_code == 413, too_big.text
        assert too_big.json()["detail"].endswith(f"limit of {UPLOAD_LIMIT} bytes")
        search = httpx.post(f"{served.url}/search", json={"query": "tea"}, timeout=30)
        assert search.status_code == 200, search.text
        time.sleep(0.5)  # the access log line is written after the response
        command = next(line for line in served.log().splitlines() if line.startswith("$ "))
        assert "--threads 3" in command and "--access-logfile -" in command, command
        assert '"POST /search HTTP/1.1" 200' in served.log(), served.log()[-2000:]
    assert served.returncode == 0, served.log()[-2000:]
    assert not (root / "data" / "milvus").exists()  # no embedded Milvus was started
    assert "started milvus" not in served.log()
    assert server_status(settings)["running"]  # and the external one was left running
    # The copy was served: nothing was exported for another model path (the default's).
    exports = [path.name for path in (cache / "onnx").iterdir() if path.is_dir()]
    copy_export = export_folder(model_path=model, model_name=settings.model_name, cache_dir=cache)
    assert exports == [copy_export.name], f"a model other than the copy was loaded: {exports}"


def owner_pid(record: Path) -> int:
    return int(json.loads(record.read_text())["owner"].partition(":")[0])


def test_two_worker_processes_share_their_ingest_job_records(
    settings: Settings, launched: dict[str, Served]
) -> None:
    jobs_dir = settings.data_dir / "jobs" / "serve_workers"
    with serving(launched["workers"]) as served:
        assert "started milvus" not in served.log()
        jobs: dict[int, str] = {}  # owner pid -> one job it ran
        for n in range(40):  # new connections, until each worker has taken one
            with httpx.Client(base_url=served.url, timeout=30) as http:
                reply = http.post("/ingest", json=[{"id": f"worker-row-{n}", "text": "a row"}])
            assert reply.status_code == 202, reply.text
            job_id = reply.json()["job_id"]
            jobs.setdefault(owner_pid(jobs_dir / f"{job_id}.json"), job_id)
            if len(jobs) == 2:
                break
        assert len(jobs) == 2, f"one worker took every connection: {jobs}"
        with httpx.Client(base_url=served.url, timeout=30) as http:
            for job_id in jobs.values():
                assert wait_for_job(http, job_id)["status"] == "done", job_id
        for pid, job_id in jobs.items():
            # With its owner frozen, only the other worker can answer: it reads the record.
            os.kill(pid, signal.SIGSTOP)
            try:
                reply = httpx.get(f"{served.url}/ingest/{job_id}", timeout=10)
            finally:
                os.kill(pid, signal.SIGCONT)
            assert reply.status_code == 200, reply.text
            assert (reply.json()["job_id"], reply.json()["status"]) == (job_id, "done")


def test_flask_server_setting_serves_the_twin_on_gunicorns_sync_worker(
    launched: dict[str, Served],
) -> None:
    # The workshop's pitfall: the sync worker serves one request at a time and closes every
    # connection (no keep-alive); the usual gthread worker keeps it open.
    with serving(launched["sync"]) as served:
        command = next(line for line in served.log().splitlines() if line.startswith("$ "))
        assert "--worker-class sync" in command, command
        reply = httpx.get(f"{served.url}/health", timeout=30)
        assert reply.status_code == 200, reply.text
        assert reply.headers["connection"] == "close", reply.headers
