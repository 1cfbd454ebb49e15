"""What an ingest job does to the searches that run beside it, on one twin."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.results import RunResult

__all__ = ["IngestEffect", "ingest_effect"]


@dataclass
class IngestEffect:
    """Search latency before vs during an ingest job, on one twin."""

    config: str
    p50_before: float
    p99_before: float
    p50_during: float
    p99_during: float
    ingest_s: float
    status: str


def ingest_effect(run: RunResult) -> IngestEffect | None:
    starts = [e["t"] for e in run.events if e["event"] == "ingest_start"]
    ends = [e for e in run.events if e["event"] == "ingest_end"]
    if not starts or not run.timeline:
        return None
    t0 = float(starts[0])
    t1 = float(ends[0]["t"]) if ends else run.timeline[-1]["t"]
    before = [b for b in run.timeline if b["t"] < t0]
    during = [b for b in run.timeline if t0 <= b["t"] <= t1]

    def weighted(bins: list[dict[str, float]], key: str) -> float:
        total = sum(b["count"] for b in bins)
        return sum(b[key] * b["count"] for b in bins) / total if total else math.nan

    return IngestEffect(
        run.step.config,
        weighted(before, "p50"),
        weighted(before, "p99"),
        weighted(during, "p50"),
        weighted(during, "p99"),
        t1 - t0,
        f"{ends[0].get('status')}: {ends[0].get('processed')} rows stored, "
        f"{ends[0].get('failed')} refused"
        if ends
        else "not finished within the run",
    )
