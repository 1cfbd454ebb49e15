"""The soak's verdicts: does a twin's memory grow over a long run, does any request fail?

Memory is the PSS of the server's whole process tree, sampled while each step runs
(``bench.run.sampling``). Growth is judged only after the warm-up, from the medians of a few
samples at each end of the measured window, so start-up growth is not taken for a leak.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from bench.results import BenchResults, MemorySeries, RunResult

__all__ = [
    "MemoryGrowth",
    "memory_growth",
    "SoakCheck",
    "soak_checks",
    "GROWTH_LIMIT",
    "EDGE_SAMPLES",
    "SOAK_MIN_COVERAGE",
]

# The soak's target: memory after the warm-up may grow by less than this fraction.
GROWTH_LIMIT = 0.10
# Start and end are medians of up to this many samples each (25 s at the soak's 5 s
# interval), so one sample taken mid-batch (the model's activations are freed right after)
# sets neither; never more than a quarter of the window's samples, so short runs still
# compare their beginning with their end.
EDGE_SAMPLES = 5
# A soak's memory verdict needs samples over at least this share of its measured window.
SOAK_MIN_COVERAGE = 0.9


@dataclass(frozen=True)
class MemoryGrowth:
    """Memory at the start and end of a measured window, and the growth between them."""

    start_bytes: float  # median of the first ``edge`` samples of the window
    end_bytes: float  # median of the last ``edge`` samples
    growth: float  # (end - start) / start; NaN with fewer than 2 samples
    samples: int  # samples inside the window
    edge: int

    @property
    def meets_target(self) -> bool | None:
        return None if math.isnan(self.growth) else self.growth < GROWTH_LIMIT


def memory_growth(series: MemorySeries, window_s: float) -> MemoryGrowth:
    """Growth over the measured window [0, window_s]: the warm-up is left out."""
    values = [v for t, v in zip(series.t_s, series.mem_bytes, strict=True) if 0 <= t <= window_s]
    if len(values) < 2:
        return MemoryGrowth(math.nan, math.nan, math.nan, len(values), 0)
    edge = max(1, min(EDGE_SAMPLES, len(values) // 4))
    start = float(statistics.median(values[:edge]))
    end = float(statistics.median(values[-edge:]))
    return MemoryGrowth(start, end, (end - start) / start, len(values), edge)


@dataclass
class SoakCheck:
    """One twin's soak step against its targets: memory growth < 10 %, no failed request.

    ``passed`` is False when a target is missed, None (inconclusive) when memory could not
    be judged or the run was not valid, True otherwise.
    """

    run: RunResult
    memory: MemoryGrowth | None  # None: no memory was sampled (results from older code)
    coverage: float  # share of the measured window the memory samples reach (0..1)

    @property
    def config(self) -> str:
        return self.run.step.config

    @property
    def memory_ok(self) -> bool | None:
        if self.memory is None or self.coverage < SOAK_MIN_COVERAGE:
            return None
        return self.memory.meets_target

    @property
    def failures_ok(self) -> bool:
        return self.run.failures == 0

    @property
    def inconclusive(self) -> list[str]:
        """Why a verdict cannot be given (empty when it can)."""
        reasons = []
        if self.memory is None:
            reasons.append("no memory was sampled (results written before sampling existed)")
        elif math.isnan(self.memory.growth):
            reasons.append("fewer than 2 memory samples in the measured window")
        elif self.coverage < SOAK_MIN_COVERAGE:
            reasons.append(f"memory samples cover only {self.coverage:.0%} of the window")
        if not self.run.valid:
            reasons.append("the run is invalid: " + "; ".join(self.run.invalid_reasons))
        return reasons

    @property
    def passed(self) -> bool | None:
        if self.memory_ok is False or not self.failures_ok:
            return False
        return None if self.inconclusive else True


def soak_checks(results: BenchResults) -> list[SoakCheck]:
    """The soak profile's verdicts, one per soaked twin; empty for the other profiles.

    The soaked steps are those of the scenarios the run's own profile compared, as
    results.json recorded it (never today's profile definition).
    """
    if results.profile != "soak":
        return []
    scenarios = set(results.environment.get("profile", {}).get("compare", {}))
    checks = []
    for run in results.runs:
        if run.step.scenario not in scenarios:
            continue
        window = run.step.duration_s
        growth = memory_growth(run.memory, window) if run.memory else None
        reached = (
            max((t for t in run.memory.t_s if t <= window), default=0.0) if run.memory else 0.0
        )
        checks.append(SoakCheck(run, growth, min(max(reached, 0.0) / window, 1.0)))
    return checks
