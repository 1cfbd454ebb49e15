"""The load generator's own ceiling, measured at the start of a run.

One Locust process drives the fastest floor (the raw ASGI callable) as hard as it can for a
couple of seconds; the requests/s it reaches, divided by the share of its core it used, is
its ceiling on this machine. A closed-model step whose throughput comes within 30 % of that
ceiling measured the generator, not the server, and its throughput is excluded (its CPU per
request still counts). The cost of the raw-sample listener each request passes through is
timed here too, in process, so the report can say what the measuring itself costs.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench.load.samples import SampleWriter
from bench.results import RunResult, Step

__all__ = ["CEILING_SHARE", "calibration_step", "ceiling", "listener_cost_us"]

# A closed-model step above this share of the generator's ceiling measured the generator.
CEILING_SHARE = 0.70


def calibration_step(label: str) -> Step:
    return Step("health", label, 16, 0.0, 2.0, 0.5, 0, "calibration")


def ceiling(run: RunResult) -> dict[str, Any]:
    """The generator's ceiling from a calibration run (its throughput per core of its own)."""
    share = run.generator_cpu
    saturated = share >= 0.9
    rps = run.throughput_rps
    ceiling_rps = rps if saturated or not share else rps / share
    return {
        "config": run.step.config,
        "rps": round(rps, 1),
        "generator_share": round(share, 3),
        "ceiling_rps": round(ceiling_rps, 1),
        "estimated": not saturated,  # the generator was not saturated: extrapolated
        "generator_us_per_request": round(share * 1e6 / rps, 1) if rps else None,
    }


def listener_cost_us(calls: int = 50_000) -> float:
    """Microseconds of CPU one raw sample costs the generator (the CSV line, buffered)."""
    with tempfile.TemporaryDirectory() as tmp:
        writer = SampleWriter(Path(tmp))
        began = time.process_time()
        for i in range(calls):
            writer.add(1_700_000_000.0 + i / 1000, 1.2345, 0.0, "/health", True)
        writer.close()
        return (time.process_time() - began) * 1e6 / calls
