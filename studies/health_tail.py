"""The /health tail under a burst of connections: p50, p99 and p99.9 of each twin's
``GET /health`` with 64 Locust users, the figures behind the health cache's comments
(shared/health.py) and the twins' ``gc.freeze()`` (``SearchService.for_server``).

Run: ``python -m studies.health_tail [--seconds 13] [--warmup 3]`` on a quiet 2-core machine
(about two minutes; Milvus is started if none runs). Each twin runs on its usual server, one
worker pinned to core 0 with no quota; Locust (one process, FastHttpUser, 64 users) is
pinned to core 1; the first ``--warmup`` seconds of samples are dropped. Locust on one core
may saturate before the FastAPI twin does: the tail is then the server's answer to 64 open
connections at the rate Locust reaches, which is what the tail question is about.
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.load.config import LoadConfig, locust_environment
from bench.load.samples import read_samples
from workshop.room import Room, lab_environment, run_line, samples_dir

__all__ = ["main"]

USERS = 64


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m studies.health_tail", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=13.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    args = parser.parse_args(argv)
    with Room() as room:
        for app in ("flask", "fastapi"):
            with room.twin(app, {}, pinned="0") as twin:
                folder = samples_dir(f"health-tail-{app}")
                line = (
                    "taskset -c 1 .venv/bin/locust -f bench/load/locustfile.py --headless "
                    f"--only-summary -u {USERS} -r {USERS} -t {args.seconds:g}s "
                    f"--host {twin.url} HealthUser"
                )
                env = locust_environment(LoadConfig(samples_dir=folder).write(folder))
                output = run_line(line, lab_environment(**env), timeout_s=120)
                samples = read_samples(folder)
                health = samples.select(np.array([n == "/health" for n in samples.names]))
                if not len(health):
                    raise SystemExit(f"no /health request completed:\n{output[-1500:]}")
                # The warm-up's samples are dropped by their start time.
                kept_samples = health.window(
                    float(health.start[0]) + args.warmup, float(health.start[-1]) + 1
                )
                kept = kept_samples.latency_ms[kept_samples.ok]
                failed = int((~kept_samples.ok).sum())
                span = float(kept_samples.start[-1] - kept_samples.start[0])
                p50, p99, p999 = np.percentile(kept, [50, 99, 99.9])
                print(
                    f"{app:<8} {len(kept):>7} requests, {len(kept) / span:>6.0f} req/s: "
                    f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, p99.9 {p999:.1f} ms, "
                    f"max {kept.max():.1f} ms, failed {failed}"
                )


if __name__ == "__main__":
    main()
