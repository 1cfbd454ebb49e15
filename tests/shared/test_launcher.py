"""The one launcher: processes stop as a group, readiness fails fast, our Milvus goes away."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.config import get_settings
from shared.launcher import (
    OwnedProcess,
    free_port,
    group_alive,
    milvus_for,
    own_milvus,
    wait_until_healthy,
)
from shared.milvus_server import pid_alive, server_status, stop_server

# A parent that forks a child which ignores SIGTERM, as a server's worker that hangs would;
# both print their pids so the test can look for them afterwards.
FORKING = """
import os, signal, sys, time
child = os.fork()
if child == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(600)
    sys.exit(0)
print(os.getpid(), child, flush=True)
time.sleep(600)
"""


def _started_pair(tmp_path: Path) -> tuple[OwnedProcess, int]:
    process = OwnedProcess([sys.executable, "-c", FORKING], log_path=tmp_path / "fork.log")
    deadline = time.monotonic() + 30
    while not process.log_tail().strip():
        assert time.monotonic() < deadline, "the forking process never printed its pids"
        time.sleep(0.05)
    parent, child = map(int, process.log_tail().split())
    assert parent == process.pid and pid_alive(child)
    return process, child


def test_stop_reaches_a_worker_that_ignores_sigterm(tmp_path: Path) -> None:
    process, child = _started_pair(tmp_path)
    began = time.monotonic()
    process.stop(grace_s=0.5)
    assert not process.alive()
    assert not pid_alive(child), "a forked worker outlived the stop"
    assert not group_alive(process.pid)
    assert time.monotonic() - began < 15


def test_kill_takes_the_whole_group_at_once(tmp_path: Path) -> None:
    process, child = _started_pair(tmp_path)
    process.kill()
    assert process.proc.returncode == -9
    assert not pid_alive(child)


def test_a_child_in_our_group_is_signalled_alone(tmp_path: Path) -> None:
    process = OwnedProcess(
        [sys.executable, "-c", "import time; time.sleep(600)"],
        log_path=tmp_path / "sleep.log",
        own_group=False,
    )
    assert os.getpgid(process.pid) == os.getpgid(0)
    process.stop(grace_s=5)
    assert process.proc.returncode == -15  # SIGTERM reached it, and not us


def test_waiting_for_health_fails_fast_with_the_log_when_the_process_exits(
    tmp_path: Path,
) -> None:
    process = OwnedProcess(
        [sys.executable, "-c", "print('bad config: no app'); raise SystemExit(3)"],
        log_path=tmp_path / "dies.log",
    )
    began = time.monotonic()
    with pytest.raises(RuntimeError, match=r"(?s)exited with code 3.*bad config: no app"):
        wait_until_healthy("http://127.0.0.1:9/health", process, timeout_s=60, what="twin")
    assert time.monotonic() - began < 10


def test_own_milvus_serves_then_leaves_neither_process_nor_data() -> None:
    with own_milvus(collection="launcher_test") as settings:
        status = server_status(settings)
        assert status["running"] is True and status["port"] == settings.milvus_port
        pid, data_dir = int(status["pid"]), Path(settings.data_dir)
        assert data_dir.is_dir() and settings.collection == "launcher_test"
        # A server not started on demand (as make milvus-up starts one) is joined and left
        # running by a command that shares it.
        with milvus_for(settings, grace_s=0.0) as started:
            assert started is False
        assert server_status(settings)["running"] is True
    assert not pid_alive(pid)
    assert not data_dir.exists()


def test_milvus_for_is_shared_and_the_last_user_stops_what_a_user_started(tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path / "data", milvus_port=free_port(), milvus_uri="")
    users = tmp_path / "data" / "milvus" / "users"
    # Another command using the same Milvus: a live process, registered as a user.
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        with milvus_for(settings, grace_s=0.0) as started:
            assert started is True
            pid = server_status(settings)["pid"]
            (users / str(other.pid)).touch()
        assert server_status(settings)["running"] is True, "stopped under another user"
        with milvus_for(settings, grace_s=0.0) as started:
            assert started is False  # joined the one running
            assert server_status(settings)["pid"] == pid
        assert server_status(settings)["running"] is True
        other.kill()
        other.wait()
        with milvus_for(settings, grace_s=0.0) as started:
            assert started is False
        # The other user's record was stale: we were the last, and a user had started it.
        assert server_status(settings)["running"] is False
        assert not pid_alive(int(pid))
    finally:
        other.kill()
        stop_server(settings, grace_s=0.0)
