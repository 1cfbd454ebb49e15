"""Raw per-request samples: the file format that Locust workers write and the bench reads.

One CSV file per generator process (``samples-<pid>.csv``), one line per request:
``start_epoch_s,latency_ms,delay_ms,name,ok``. ``delay_ms`` is how late the request went out
behind its intended send time (open model; 0 in closed-model runs). Plain CSV keeps the
writer cheap inside the load generator, where every microsecond is taken from the load.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
from numpy.typing import NDArray

__all__ = ["SampleWriter", "Samples", "read_samples", "target_tag"]

HEADER = "start_epoch_s,latency_ms,delay_ms,name,ok\n"


def target_tag(index: int) -> str:
    """The prefix of a request's name when one run drives several servers at once: the
    samples of all of them land in one file, and the tag says whose each one is."""
    return f"@{index} "


class SampleWriter:
    """Appends samples to this process's file, buffered; call :meth:`close` at the end."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"samples-{os.getpid()}.csv"
        self._file: IO[str] | None = None
        self._lines: list[str] = []

    def add(self, start: float, latency_ms: float, delay_ms: float, name: str, ok: bool) -> None:
        self._lines.append(f"{start:.6f},{latency_ms:.4f},{delay_ms:.4f},{name},{int(ok)}\n")
        if len(self._lines) >= 5000:
            self.flush()

    def flush(self) -> None:
        if not self._lines:
            return
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
            if self._file.tell() == 0:
                self._file.write(HEADER)
        self._file.writelines(self._lines)
        self._file.flush()
        self._lines.clear()

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass
class Samples:
    """Columns of every sample of one run, sorted by start time."""

    start: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    latency_ms: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    delay_ms: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    ok: NDArray[np.bool_] = field(default_factory=lambda: np.empty(0, dtype=bool))
    names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.start)

    def select(self, mask: NDArray[np.bool_]) -> Samples:
        idx = np.flatnonzero(mask)
        return Samples(
            self.start[idx],
            self.latency_ms[idx],
            self.delay_ms[idx],
            self.ok[idx],
            [self.names[i] for i in idx],
        )

    def of_target(self, index: int) -> Samples:
        """The samples of the ``index``-th server of a run that drove several, their names
        without the tag."""
        tag = target_tag(index)
        mine = self.select(np.array([n.startswith(tag) for n in self.names], dtype=bool))
        mine.names = [n[len(tag) :] for n in mine.names]
        return mine

    def window(self, begin: float, end: float) -> Samples:
        """The samples whose request started in [begin, end)."""
        return self.select((self.start >= begin) & (self.start < end))


def read_samples(directory: Path) -> Samples:
    """Every ``samples-*.csv`` in ``directory``, merged and sorted by start time."""
    start: list[float] = []
    latency: list[float] = []
    delay: list[float] = []
    ok: list[bool] = []
    names: list[str] = []
    for path in sorted(directory.glob("samples-*.csv")):
        with open(path, encoding="utf-8") as handle:
            next(handle, None)
            for line in handle:
                parts = line.rstrip("\n").split(",")
                if len(parts) != 5:
                    continue  # a line cut short by a killed worker
                start.append(float(parts[0]))
                latency.append(float(parts[1]))
                delay.append(float(parts[2]))
                names.append(parts[3])
                ok.append(parts[4] == "1")
    order = np.argsort(np.asarray(start), kind="stable")
    return Samples(
        np.asarray(start, dtype=np.float64)[order],
        np.asarray(latency, dtype=np.float64)[order],
        np.asarray(delay, dtype=np.float64)[order],
        np.asarray(ok, dtype=bool)[order],
        [names[i] for i in order],
    )
