"""What an upload does to the searches beside it, on one twin: before, during and after.

The phases were computed from the run's raw search samples when it ran (the job's polls and
the batch request are a separate series), with their sample counts, so a p99 from too few
searches is shown as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.results import RunResult
from bench.stats import MIN_SAMPLES

__all__ = ["Phase", "IngestEffect", "ingest_effect", "MIN_PHASE_SAMPLES"]

# The fewest searches in a phase for its p95 to count: the report's one rule for every
# percentile (bench.stats.min_samples), 200 for a p95.
MIN_PHASE_SAMPLES = MIN_SAMPLES[95.0]


@dataclass(frozen=True)
class Phase:
    n: int
    seconds: float
    p50: float
    p95: float
    p99: float
    rps: float


@dataclass(frozen=True)
class IngestEffect:
    """Searches before, during and after one upload (an ingest job or a blocking batch)."""

    config: str
    kind: str
    before: Phase
    during: Phase
    after: Phase
    job: dict[str, Any]

    @property
    def finished(self) -> bool:
        return self.job.get("status") == "done"

    @property
    def rows(self) -> int:
        return int(self.job.get("processed") or 0)

    @property
    def job_s(self) -> float:
        return float(self.job.get("seconds", math.nan))

    @property
    def growth(self) -> float:
        """Search p95 during the upload over p95 before it; NaN when a phase has fewer than
        MIN_PHASE_SAMPLES searches (a p95 from fewer is little more than the maximum)."""
        if min(self.before.n, self.during.n) < MIN_PHASE_SAMPLES or not self.before.p95:
            return math.nan
        return self.during.p95 / self.before.p95


def _phase(data: dict[str, float] | None) -> Phase:
    data = data or {}
    nan = math.nan
    return Phase(
        int(data.get("n", 0)),
        float(data.get("seconds", nan)),
        *(float(data.get(k, nan)) for k in ("p50", "p95", "p99", "rps")),
    )


def ingest_effect(run: RunResult) -> IngestEffect | None:
    """The upload's effect, from the phases the run recorded; None for other runs."""
    if not run.phases:
        return None
    return IngestEffect(
        run.step.config,
        str(run.job.get("kind", "?")),
        _phase(run.phases.get("before")),
        _phase(run.phases.get("during")),
        _phase(run.phases.get("after")),
        dict(run.job),
    )
