"""Micro-batching: text search with the batcher off and on, per twin, thread count and load.

Each batched configuration is paired with the same twin, server and threads unbatched, run
by run (the batching steps are interleaved like the compared ones), so the on/off ratio's
interval is over pairs. The batch sizes are what the servers themselves counted.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from bench.analysis.aggregate import Aggregate, aggregate
from bench.results import BenchResults, ServerConfig
from bench.stats import Interval, Outcome, judge_at_least, median_ci

__all__ = [
    "BatchingPair",
    "batching_pairs",
    "SPEEDUP_TARGET",
    "LOW_LOAD_P50_MS",
    "mean_batch",
]

# The FastAPI twin's throughput at saturation, batched over naive (issue's target).
SPEEDUP_TARGET = 2.5
# At one user the batcher must not add latency: p50 within this of naive.
LOW_LOAD_P50_MS = 2.0


def mean_batch(sizes: dict[int, int]) -> float:
    """Searches per batch: ``sizes`` counts searches per batch size."""
    batches = sum(n / size for size, n in sizes.items())
    return sum(sizes.values()) / batches if batches else math.nan


@dataclass(frozen=True)
class BatchingPair:
    """One twin, server and thread count at one load: unbatched and batched."""

    off: Aggregate
    on: Aggregate
    speedup: float  # median of per-repeat throughput ratios on/off
    interval: Interval
    p50_added_ms: float  # median p50 on minus off
    sizes: dict[int, int]  # searches per batch size, over the batched runs

    @property
    def users(self) -> int:
        return self.on.users

    @property
    def largest_batch(self) -> int:
        return max(self.sizes, default=0)

    def speedup_outcome(self, target: float = SPEEDUP_TARGET) -> Outcome:
        return judge_at_least(self.speedup, self.interval, target)


def _partner(results: BenchResults, config: ServerConfig) -> str | None:
    for other in results.configs:
        if (other.app, other.server, other.workers, other.threads) == (
            config.app,
            config.server,
            config.workers,
            config.threads,
        ) and other.variant == "":
            return other.label
    return None


def batching_pairs(results: BenchResults) -> list[BatchingPair]:
    groups = {(a.config, a.users): a for a in aggregate(results) if a.group == "batching"}
    pairs = []
    for config in results.configs:
        if config.variant != "batched":
            continue
        partner = _partner(results, config)
        for (label, users), on in sorted(groups.items()):
            off = groups.get((partner or "", users))
            if label != config.label or off is None:
                continue
            a = {r.step.repeat: r.throughput_rps for r in on.runs if r.valid}
            b = {r.step.repeat: r.throughput_rps for r in off.runs if r.valid}
            ratios = [a[k] / b[k] for k in sorted(set(a) & set(b)) if b[k]]
            sizes: dict[int, int] = {}
            for run in on.runs:
                for size, n in run.batch_sizes.items():
                    sizes[size] = sizes.get(size, 0) + n
            pairs.append(
                BatchingPair(
                    off,
                    on,
                    statistics.median(ratios) if ratios else math.nan,
                    median_ci(ratios, unit="pairs"),
                    on.p50.median - off.p50.median,
                    sizes,
                )
            )
    return pairs
