"""Reading a process tree's CPU and memory, and background threads that sample them.

The bench samples its children while a step runs: the load generator's CPU (is it
saturated?) and the server's memory (does it leak?). Both are trees (a gunicorn master and
its workers, a Locust master and its processes), and both samplers share one loop.

Memory is the **PSS** (proportional set size) of the server's whole process tree (the
gunicorn master and its workers, or the one uvicorn/granian process). RSS summed over a
tree counts every page a forked worker still shares with its master once per process, so
adding a worker would look like a leak; PSS splits each shared page between the processes
that map it, so the sum is what the tree really holds. USS (private pages only) would miss
the shared model weights altogether. PSS needs ``/proc/<pid>/smaps_rollup``, readable for
our own children (about 5 ms per 600 MB process here); where it is not readable the series
falls back to RSS and says so in ``metric``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Generic, Self, TypeVar

import psutil

from bench.results import MemorySeries

__all__ = [
    "PeriodicSampler",
    "CpuSampler",
    "MemorySampler",
    "process_tree",
    "process_tree_cpu_s",
    "process_tree_memory_bytes",
    "memory_metric",
    "sample_interval_s",
]

MAX_INTERVAL_S = 5.0
MIN_INTERVAL_S = 1.0  # reading smaps costs ~5 ms per process, on the generator's CPU

T = TypeVar("T")


def process_tree(pid: int) -> list[psutil.Process]:
    """The process and its live descendants; empty once it is gone."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def process_tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its live descendants."""
    total = 0.0
    for proc in process_tree(pid):
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


class PeriodicSampler(Generic[T]):
    """Calls ``take()`` every ``interval_s`` from entry to exit, keeping (time.time(), value).

    A ``take()`` that returns None (nothing to read) adds no sample.
    """

    def __init__(self, pid: int, interval_s: float) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.samples: list[tuple[float, T]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def take(self) -> T | None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            value = self.take()
            if value is not None:
                self.samples.append((time.time(), value))
            self._stop.wait(self.interval_s)


class CpuSampler(PeriodicSampler[dict[int, float]]):
    """Samples (time, {pid: cpu seconds}) for a process and its descendants."""

    def __init__(self, pid: int, interval_s: float = 0.5) -> None:
        super().__init__(pid, interval_s)

    def take(self) -> dict[int, float]:
        out: dict[int, float] = {}
        for proc in process_tree(self.pid):
            try:
                times = proc.cpu_times()
                out[proc.pid] = times.user + times.system
            except psutil.Error:
                continue
        return out

    def total_cpu_s(self) -> float:
        """CPU seconds all generator processes used between the first and last sample."""
        if len(self.samples) < 2:
            return 0.0
        first, last = self.samples[0][1], self.samples[-1][1]
        return sum(v - first.get(pid, 0.0) for pid, v in last.items())

    def busiest_share(self, begin: float, end: float) -> float:
        """Highest CPU share (1.0 = one full core) of any one process within [begin, end]."""
        inside = [s for s in self.samples if begin <= s[0] <= end]
        if len(inside) < 2:
            return float("nan")
        (t0, first), (t1, last) = inside[0], inside[-1]
        shares = [(last[pid] - first.get(pid, last[pid])) / (t1 - t0) for pid in last]
        return max(shares, default=float("nan"))


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

    def __init__(self, pid: int, interval_s: float, metric: str = "pss") -> None:
        """``metric``: "pss" (falls back to "rss" where smaps is unreadable) or "rss"."""
        super().__init__(pid, interval_s)
        self.metric = memory_metric(pid) if metric == "pss" else "rss"

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
