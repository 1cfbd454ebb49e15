"""The in-process floor: the core's text search called directly from N threads, no HTTP.

Started once by the orchestrator, pinned and capped exactly like a server, so "text search
through a twin / in-process core at equal CPU" compares like with like. It loads the model
once, then runs one measurement per JSON line on stdin
(``{"users": N, "run_time": S, "samples": DIR}``), writes raw samples in the same format as
the Locust workers, and answers each with one JSON line on stdout (its CPU seconds).

Usage: ``python -m bench.run.inprocess --pool pool.json`` (then commands on stdin).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.load.pool import Pool, load_pool
from bench.load.samples import SampleWriter

__all__ = ["main", "measure"]


def measure(
    service: Any, pool: Pool, *, users: int, run_time: float, samples: Path, top_k: int = 10
) -> float:
    """Closed-model text search from ``users`` threads; returns the CPU seconds it used."""
    writer = SampleWriter(samples)
    lock = threading.Lock()
    stop_at = time.time() + run_time

    def user(number: int) -> None:
        rng = random.Random(pool.seed + number)
        while time.time() < stop_at:
            query = rng.choice(pool.queries)
            start = time.time()
            began = time.perf_counter()
            try:
                ok = bool(service.search_text(query=query, top_k=top_k).hits)
            except Exception:  # noqa: BLE001 - a failed call is a failed sample, as over HTTP
                ok = False
            latency_ms = (time.perf_counter() - began) * 1000
            with lock:
                writer.add(start, latency_ms, 0.0, "/search", ok)

    cpu_started = time.process_time()
    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    return time.process_time() - cpu_started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__)
    parser.add_argument("--pool", type=Path, required=True)
    args = parser.parse_args(argv)

    from shared.service import SearchService

    pool = load_pool(args.pool)
    service = SearchService.from_settings()
    # The same warm start a server gets before its first measured request.
    service.search_text(query=pool.queries[0], top_k=10)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        cpu_s = measure(
            service,
            pool,
            users=int(command["users"]),
            run_time=float(command["run_time"]),
            samples=Path(command["samples"]),
        )
        print(json.dumps({"cpu_s": cpu_s}), flush=True)
    service.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
