"""The quiet-machine gate: a busy machine is seen before the run and before each step."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from bench.run.accounting import measure_quiet, own_cpu_s
from bench.run.milvus import SETTLED_CORES, wait_until_settled
from bench.run.orchestrator import BusyMachine, _check_quiet
from bench.run.sampling import process_tree_cpu_s

QUIET = {"background_cores": 0.02, "busiest_processes": []}
BUSY = {"background_cores": 0.95, "busiest_processes": ["pid 42 (95 %): yes"]}


def test_a_quiet_machine_starts() -> None:
    _check_quiet(QUIET, allow_busy=False)


def test_a_busy_machine_refuses_to_start_and_says_who() -> None:
    with pytest.raises(BusyMachine, match=r"0\.95 cores.*pid 42.*--allow-busy"):
        _check_quiet(BUSY, allow_busy=False)


def test_a_busy_machine_starts_when_told_to() -> None:
    _check_quiet(BUSY, allow_busy=True)


def _busy_loop(seconds: float) -> str:
    return f"import time\nend = time.time() + {seconds}\nwhile time.time() < end: pass"


def test_a_process_that_is_not_ours_shows_up_as_foreign_load() -> None:
    # The busy loop is orphaned (its shell exits at once), so it is not in our process tree:
    # exactly like another tenant's work. It stops by itself after 3 s.
    shell = f"{sys.executable} -c '{_busy_loop(3)}' >/dev/null 2>&1 & echo $!"
    pid = int(subprocess.run(["sh", "-c", shell], capture_output=True, text=True).stdout)
    tenant = psutil.Process(pid)
    time.sleep(0.3)
    before, began = sum(tenant.cpu_times()[:2]), time.monotonic()
    quiet = measure_quiet(None, seconds=1.0)
    used = (sum(tenant.cpu_times()[:2]) - before) / (time.monotonic() - began)
    tenant.wait(10)
    assert used > 0.05, "the busy loop did not run"
    assert quiet.foreign_cores >= 0.7 * used, (quiet, used)


def test_our_children_count_as_ours_even_after_they_exit() -> None:
    before = own_cpu_s()
    # One second of CPU, however long the machine takes to give it.
    spin = "import time\nwhile time.process_time() < 1.0: pass"
    subprocess.run([sys.executable, "-c", spin], check=True)
    assert own_cpu_s() - before >= 0.95  # CPU times come in 10 ms ticks


ECHO_SERVER = """
import socket
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
connection, _ = listener.accept()
while data := connection.recv(4096):
    connection.sendall(data)
"""
PING_PONG = """
import socket, sys, time
client = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
end = time.time() + 3
while time.time() < end:
    client.sendall(b"x" * 200)
    client.recv(4096)
"""


def test_our_own_loopback_traffic_is_not_foreign_load() -> None:
    # Many short wake-ups over a loopback socket, between two of our children: the kernel's
    # packet work for them (softirq) and the tick-sampled machine counters once made a
    # quarter of a core of our own work look like another tenant's.
    server = subprocess.Popen(
        [sys.executable, "-c", ECHO_SERVER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        client = subprocess.Popen([sys.executable, "-c", PING_PONG, port])
        time.sleep(0.5)
        quiet = measure_quiet(None, seconds=2.0)
        client.wait(10)
    finally:
        server.kill()
        server.wait(10)
    assert quiet.foreign_cores < 0.05, quiet


# --- Milvus settles after a load before the first step ----------------------------------------
BUSY_THEN_IDLE = (
    "import time\nend = time.time() + {busy_s}\nwhile time.time() < end: pass\ntime.sleep(60)"
)


def _spinner(busy_s: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", BUSY_THEN_IDLE.format(busy_s=busy_s)])


def test_the_run_waits_until_a_busy_process_is_idle() -> None:
    proc = _spinner(busy_s=2.0)
    try:
        waited_s, cores = wait_until_settled(
            lambda: process_tree_cpu_s(proc.pid), window_s=0.5, limit_s=30.0
        )
        assert waited_s >= 1.5  # it saw the busy seconds and waited them out
        assert cores <= SETTLED_CORES
    finally:
        proc.kill()
        proc.wait()


def test_the_run_gives_up_on_a_process_that_stays_busy() -> None:
    proc = _spinner(busy_s=60.0)
    try:
        started = time.monotonic()
        waited_s, cores = wait_until_settled(
            lambda: process_tree_cpu_s(proc.pid), window_s=0.5, limit_s=1.5
        )
        assert cores > SETTLED_CORES and 1.5 <= waited_s < 10
        assert time.monotonic() - started < 10
    finally:
        proc.kill()
        proc.wait()
