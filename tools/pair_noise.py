"""Is a /health cost pair steadier when both sides run at once? Sequential against
simultaneous pairs of two servers, by CPU per request: the evidence behind the bench's
``together`` steps, which now run each /health block at once (each configuration at the full
rate, where this probe halves it).

Run: ``python -m tools.pair_noise [--rounds 6] [--seconds 6] [--rate 300]`` (about two
minutes; run it alone; no Milvus needed). It starts the bench's raw ASGI floor and its bare
FastAPI app under uvicorn, both pinned to CPU 0, and drives them from this process, pinned to
CPU 1, with keep-alive connections at a fixed rate. Each round measures one pair twice:

* ``sequential``: the raw floor alone at ``--rate`` for ``--seconds``, then the bare app alone,
  as the bench's compare steps did before 2026-12-01 (echo and text search still do);
* ``simultaneous``: both at once, each at half the rate, over the same window.

A server's CPU is the sum of its threads' time on a CPU (/proc/<pid>/task/*/schedstat,
nanoseconds) over the window, divided by the requests it answered. Per mode it prints each
round's ratio raw ÷ bare and the spread (largest − smallest). Measured on this 2-core VM on
2026-12-01, two runs of six rounds: sequential ratios 0.41–0.70 and 0.34–0.69 (spreads 0.29
and 0.35), simultaneous 0.56–0.59 and 0.56–0.62 (spreads 0.04 and 0.06). Time-varying
slowness of the host hits both sides of a simultaneous pair alike. The absolute costs differ
between the modes (half the rate each means more wake-ups per request); only ratios at one
mode are comparable.
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from shared.config import PROJECT_ROOT
from shared.milvus_server import free_port

__all__ = ["main"]

APPS = {"raw": "bench.run.floors.raw:asgi_app", "bare": "bench.run.floors.bare_fastapi:app"}
CONNECTIONS = 4  # per server


def _cpu_ns(pid: int) -> int:
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0])
    return total


def _drive(port: int, rate: float, seconds: float, answered: list[int]) -> list[threading.Thread]:
    """Keep-alive connections sending GET /health at ``rate`` in all, evenly spaced."""
    began = time.perf_counter()
    period = CONNECTIONS / rate

    def connection(slot: int) -> None:
        client = http.client.HTTPConnection("127.0.0.1", port)
        sent = 0
        while (due := began + slot / rate + sent * period) - began <= seconds:
            if (wait := due - time.perf_counter()) > 0:
                time.sleep(wait)
            client.request("GET", "/health")
            reply = client.getresponse()
            reply.read()
            if reply.status != 200:
                raise RuntimeError(f"port {port} answered {reply.status}")
            sent += 1
        client.close()
        answered.append(sent)

    threads = [threading.Thread(target=connection, args=(i,)) for i in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    return threads


def _cost_us(servers: dict[str, tuple[int, int]], rate: float, seconds: float) -> dict[str, float]:
    """CPU µs per request of each server (name -> (pid, port)), all driven at once."""
    before = {name: _cpu_ns(pid) for name, (pid, _port) in servers.items()}
    answered: dict[str, list[int]] = {name: [] for name in servers}
    threads = [
        thread
        for name, (_pid, port) in servers.items()
        for thread in _drive(port, rate, seconds, answered[name])
    ]
    for thread in threads:
        thread.join()
    return {
        name: (_cpu_ns(pid) - before[name]) / 1e3 / max(sum(answered[name]), 1)
        for name, (pid, _port) in servers.items()
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rate", type=float, default=300.0, help="requests/s of a pair")
    args = parser.parse_args(argv)

    uvicorn = str(Path(sys.executable).parent / "uvicorn")
    ports = {name: free_port() for name in APPS}
    procs = {
        name: subprocess.Popen(
            ["taskset", "-c", "0", uvicorn, target, "--host", "127.0.0.1"]
            + ["--port", str(ports[name]), "--no-access-log", "--log-level", "warning"],
            cwd=PROJECT_ROOT,
        )
        for name, target in APPS.items()
    }
    try:
        os.sched_setaffinity(0, {1})
        time.sleep(4)  # uvicorn's start
        servers = {name: (proc.pid, ports[name]) for name, proc in procs.items()}
        _cost_us(servers, args.rate / 2, 3.0)  # warm-up
        ratios: dict[str, list[float]] = {"sequential": [], "simultaneous": []}
        for round_ in range(args.rounds):
            raw = _cost_us({"raw": servers["raw"]}, args.rate, args.seconds)["raw"]
            bare = _cost_us({"bare": servers["bare"]}, args.rate, args.seconds)["bare"]
            ratios["sequential"].append(raw / bare)
            both = _cost_us(servers, args.rate / 2, args.seconds)
            ratios["simultaneous"].append(both["raw"] / both["bare"])
            print(
                f"round {round_ + 1}: sequential raw {raw:.0f} µs, bare {bare:.0f} µs | "
                f"simultaneous raw {both['raw']:.0f} µs, bare {both['bare']:.0f} µs",
                flush=True,
            )
        for mode, values in ratios.items():
            shown = ", ".join(f"{value:.2f}" for value in values)
            print(f"{mode:12} raw ÷ bare: {shown}  (spread {max(values) - min(values):.2f})")
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(10)


if __name__ == "__main__":
    main()
