"""A server's memory during a step: sampled in a background thread, summarised as growth.

What is measured is the **PSS** (proportional set size) of the server's whole process tree
(the gunicorn master and its workers, or the one uvicorn/granian process). RSS summed over
a tree counts every page a forked worker still shares with its master once per process,
so adding a worker would look like a leak; PSS splits each shared page between the
processes that map it, so the sum is what the tree really holds. USS (private pages only)
would miss the shared model weights altogether. PSS needs ``/proc/<pid>/smaps_rollup``,
readable for our own children (about 5 ms per 600 MB process here); where it is not
readable the series falls back to RSS and says so in ``metric``.
"""

from __future__ import annotations

import contextlib
import math
import statistics
from dataclasses import dataclass

import psutil

from bench.results import MemorySeries
from bench.sampling import PeriodicSampler, process_tree

__all__ = [
    "MemorySampler",
    "MemoryGrowth",
    "memory_growth",
    "process_tree_memory_bytes",
    "memory_metric",
    "sample_interval_s",
    "GROWTH_LIMIT",
    "EDGE_SAMPLES",
]

# The soak's target: memory after the warm-up may grow by less than this fraction.
GROWTH_LIMIT = 0.10
# Start and end are medians of up to this many samples each (25 s at the soak's 5 s
# interval), so one sample taken mid-batch (the model's activations are freed right after)
# sets neither; never more than a quarter of the window's samples, so short runs still
# compare their beginning with their end.
EDGE_SAMPLES = 5
MAX_INTERVAL_S = 5.0
MIN_INTERVAL_S = 1.0  # reading smaps costs ~5 ms per process, on the generator's CPU


def sample_interval_s(duration_s: float) -> float:
    """About 20 samples per measured window, between one a second and one every 5 s."""
    return min(max(duration_s / 20, MIN_INTERVAL_S), MAX_INTERVAL_S)


def memory_metric(pid: int) -> str:
    """The metric to sample: "pss" when this process may read the server's smaps, else "rss"."""
    try:
        psutil.Process(pid).memory_full_info()
    except psutil.AccessDenied:
        return "rss"
    except psutil.Error:
        pass  # already gone: nothing will be sampled anyway
    return "pss"


def process_tree_memory_bytes(pid: int, metric: str = "pss") -> int:
    """PSS (or RSS) bytes of a process and its live descendants; 0 when it is gone."""
    total = 0
    for proc in process_tree(pid):
        with contextlib.suppress(psutil.Error):
            if metric == "pss":
                total += int(proc.memory_full_info().pss)
            else:
                total += int(proc.memory_info().rss)
    return total


class MemorySampler(PeriodicSampler[int]):
    """Samples (time.time(), bytes) of a process tree every ``interval_s``, from entry on."""

    def __init__(self, pid: int, interval_s: float) -> None:
        super().__init__(pid, interval_s)
        self.metric = memory_metric(pid)

    def take(self) -> int | None:
        return process_tree_memory_bytes(self.pid, self.metric) or None

    def series(self, begin: float) -> MemorySeries:
        """The samples with times relative to ``begin`` (the measured window's start)."""
        return MemorySeries(
            metric=self.metric,
            interval_s=self.interval_s,
            t_s=[round(t - begin, 3) for t, _ in self.samples],
            mem_bytes=[value for _, value in self.samples],
        )


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
