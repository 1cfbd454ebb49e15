"""What an upload does to the searches beside it, on one twin: before, during and after.

The phases were computed from the run's raw search samples when it ran (the job's polls and
the batch request are a separate series), with their sample counts, so a p99 from too few
searches is shown as such. The job runs several times per twin (interleaved): each repeat's
growth is one value, and the twins' growths of one repeat make one pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.results import RunResult
from bench.stats import MIN_SAMPLES

__all__ = [
    "Phase",
    "IngestEffect",
    "ingest_effect",
    "upload_effects",
    "MIN_PHASE_SAMPLES",
    "GROWTH_PERCENTILES",
]

# The fewest searches in a phase for its p95 to count: the report's one rule for every
# percentile (bench.stats.min_samples), 200 for a p95.
MIN_PHASE_SAMPLES = MIN_SAMPLES[95.0]
# The percentiles whose growth the Async claim reads.
GROWTH_PERCENTILES = (50.0, 95.0)


@dataclass(frozen=True)
class Phase:
    n: int
    seconds: float
    p50: float
    p95: float
    p99: float
    rps: float

    def at(self, q: float) -> float:
        """The phase's ``q``-th percentile (50 or 95); NaN with fewer searches than it needs."""
        if self.n < MIN_SAMPLES[q]:
            return math.nan
        return {50.0: self.p50, 95.0: self.p95}[q]


@dataclass(frozen=True)
class IngestEffect:
    """Searches before, during and after one upload (an ingest job or a blocking batch)."""

    config: str
    kind: str
    before: Phase
    during: Phase
    after: Phase
    job: dict[str, Any]
    repeat: int = 0

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
        return self.growth_at(95.0)

    def growth_at(self, q: float) -> float:
        """Search ``q``-th percentile during the upload over before it; NaN when a phase has
        too few searches for it (bench.stats.MIN_SAMPLES: p50 20, p95 200)."""
        before, during = self.before.at(q), self.during.at(q)
        return during / before if before else math.nan


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
        run.step.repeat,
    )


def upload_effects(
    runs: list[RunResult], configs: set[str], scenario: str = "ingest_under_load"
) -> dict[str, dict[int, IngestEffect]]:
    """Per twin (the label's first part), per repeat: the finished uploads of ``scenario`` on
    ``configs``. A twin's own upload steps (group "single") are used where it has any; the
    batching comparison's naive partners stand in only where it has none."""
    found: dict[str, dict[bool, dict[int, IngestEffect]]] = {}
    for run in runs:
        if run.step.scenario != scenario or run.step.config not in configs:
            continue
        effect = ingest_effect(run)
        if effect is None or not effect.finished:
            continue
        app = run.step.config.split("/")[0]
        own = run.step.group == "single"
        found.setdefault(app, {}).setdefault(own, {})[run.step.repeat] = effect
    return {app: by_own.get(True) or by_own.get(False, {}) for app, by_own in found.items()}
