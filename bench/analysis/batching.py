"""Micro-batching: text search with the batcher off and on, per twin, thread count and load.

Each batched configuration is paired with the same twin, server and threads unbatched, run
by run: the two run back to back (the batching steps put each batched configuration right
after its partner and reverse the order on odd repeats), so the on/off ratio and the p50
added at low load are medians over pairs, with intervals over pairs. The batch sizes are
what the servers themselves counted.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from bench.analysis.aggregate import Aggregate, aggregate
from bench.results import BATCHED_VARIANT, BenchResults, ServerConfig
from bench.stats import Interval, Outcome, judge_at_least, judge_at_most, median_ci

__all__ = [
    "BatchingPair",
    "batching_pairs",
    "SPEEDUP_TARGET",
    "LOW_LOAD_P50_MS",
    "mean_batch",
    "BATCHED",
]

# The suffix of a batched configuration's label (its naive partner's label without it).
BATCHED = f"+{BATCHED_VARIANT}"
# The FastAPI twin's throughput at saturation, batched over naive (issue's target).
SPEEDUP_TARGET = 2.5
# At one user the batcher must not add latency: p50 at most this much above naive's.
LOW_LOAD_P50_MS = 2.0


def mean_batch(sizes: dict[int, int]) -> float:
    """Searches per batch, the mean batch size: ``sizes`` counts batches per batch size (as
    the batcher writes them, shared/batcher.py), so each size weighs by its searches."""
    batches = sum(sizes.values())
    return sum(size * n for size, n in sizes.items()) / batches if batches else math.nan


@dataclass(frozen=True)
class BatchingPair:
    """One twin, server and thread count at one load: unbatched and batched."""

    off: Aggregate
    on: Aggregate
    speedup: float  # median of per-repeat throughput ratios on/off
    interval: Interval
    p50_added_ms: float  # median over pairs of the batched run's p50 minus the naive one's
    p50_added_interval: Interval
    sizes: dict[int, int]  # batches per batch size, over the batched runs

    @property
    def users(self) -> int:
        return self.on.users

    @property
    def largest_batch(self) -> int:
        return max(self.sizes, default=0)

    def speedup_outcome(self, target: float = SPEEDUP_TARGET) -> Outcome:
        return judge_at_least(self.speedup, self.interval, target)

    def p50_outcome(self, limit_ms: float = LOW_LOAD_P50_MS) -> Outcome:
        """Does batching leave the p50 at most ``limit_ms`` above naive (judged over pairs)?"""
        return judge_at_most(self.p50_added_ms, self.p50_added_interval, limit_ms)


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
            a = {r.step.repeat: r for r in on.runs if r.valid}
            b = {r.step.repeat: r for r in off.runs if r.valid}
            repeats = sorted(set(a) & set(b))
            ratios = [
                a[k].throughput_rps / b[k].throughput_rps
                for k in repeats
                if b[k].throughput_rps and not math.isnan(a[k].throughput_rps)
            ]
            added = [
                a[k].latency.p50 - b[k].latency.p50
                for k in repeats
                if not math.isnan(a[k].latency.p50 - b[k].latency.p50)
            ]
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
                    statistics.median(added) if added else math.nan,
                    median_ci(added, unit="pairs"),
                    sizes,
                )
            )
    return pairs
