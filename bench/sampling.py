"""Reading a process tree, and a background thread that does so at a fixed interval.

The bench samples its children while a step runs: the load generator's CPU (is it
saturated?) and the server's memory (does it leak?). Both are trees (a gunicorn master and
its workers, a Locust master and its processes), and both samplers share this loop.
"""

from __future__ import annotations

import threading
import time
from typing import Generic, Self, TypeVar

import psutil

__all__ = ["PeriodicSampler", "process_tree"]

T = TypeVar("T")


def process_tree(pid: int) -> list[psutil.Process]:
    """The process and its live descendants; empty once it is gone."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


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
