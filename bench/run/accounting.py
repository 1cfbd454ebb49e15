"""CPU accounting: what a server used during a measured window, and what everyone else did.

A server's CPU is read from its own cgroup v1 ``cpuacct`` group (nanoseconds, every thread
and process that ever ran in it, exited ones included); where that controller is not
writable, from its live process tree's utime+stime (10 ms ticks, exited threads lost), and
the run says which. Sampled a few times a second during a step, the series gives the CPU
between any two instants by linear interpolation, so a request's cost is the CPU of the
measured window divided by the requests completed in it: a figure that needs no saturation.

The rest of the machine is accounted too, process by process: the CPU of every process that
is not this one or one of its descendants (kernel threads included, and the children such a
process reaped), so other tenants show up as "foreign" cores before and during each step.
Not the machine's busy time minus ours: /proc/stat's per-CPU counters are sampled at each
tick, a process's own times are not, and the two disagree by a tenth of a core and more under
a loopback load of many short wake-ups (measured on this 2-core machine: a socket ping-pong
of two of our processes read 0.56 cores busy against 0.78 used by them, with 0.28 cores of
softirq, the kernel's packet work for our own traffic, on top). Softirq and irq time run in
interrupt context belongs to no process and is left out: on a loopback benchmark it is
mostly our own traffic's. What the kernel defers to its ksoftirqd threads does count as
foreign (measured during the echo steps: at most 0.005 cores). Blind spots: processes this
one cannot see in /proc (another PID namespace, or other users' under ``hidepid``), and a
descendant of ours orphaned during a step (its whole life then counts as foreign).
"""

from __future__ import annotations

import bisect
import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.run.cpu import remove_group
from bench.run.sampling import PeriodicSampler, process_tree, process_tree_cpu_s

__all__ = [
    "CpuAccount",
    "CpuSeries",
    "Quiet",
    "measure_quiet",
    "foreign_cpu_s",
    "own_cpu_s",
    "cpuacct_available",
]

CPUACCT_ROOT = Path("/sys/fs/cgroup/cpuacct")


def cpuacct_available() -> bool:
    return (CPUACCT_ROOT / "cgroup.procs").exists() and os.access(CPUACCT_ROOT, os.W_OK)


class CpuAccount:
    """The CPU seconds one server used: its own cpuacct group, or its process tree."""

    def __init__(self, name: str, pid: int, *, own: bool = True) -> None:
        """``own=False``: a process we did not start; it is read, never moved into a group."""
        self.pid = pid
        self.path: Path | None = None
        if own and cpuacct_available():
            path = CPUACCT_ROOT / f"twinbench-{os.getpid()}-{name}"
            with contextlib.suppress(OSError):
                path.mkdir(exist_ok=True)
                self.path = path

    @property
    def method(self) -> str:
        return "cgroup cpuacct (ns)" if self.path else "process tree utime+stime (10 ms ticks)"

    def add_tree(self) -> None:
        """Move the server's processes into the group; processes they start follow."""
        if self.path is None:
            return
        for proc in process_tree(self.pid):
            with contextlib.suppress(OSError):
                (self.path / "cgroup.procs").write_text(str(proc.pid))

    def read_s(self) -> float:
        if self.path is not None:
            with contextlib.suppress(OSError, ValueError):
                return int((self.path / "cpuacct.usage").read_text()) / 1e9
        return process_tree_cpu_s(self.pid)

    def remove(self) -> None:
        if self.path is not None:
            remove_group(self.path, CPUACCT_ROOT)


class CpuSeries(PeriodicSampler[float]):
    """(time.time(), CPU seconds) of one account, several times a second."""

    def __init__(self, account: CpuAccount, interval_s: float = 0.2) -> None:
        super().__init__(account.pid, interval_s)
        self.account = account

    def take(self) -> float:
        return self.account.read_s()

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.samples.append((time.time(), self.take()))  # one at the very end

    def at(self, t: float) -> float:
        """CPU seconds at instant ``t``, interpolated between the nearest samples."""
        times = [s[0] for s in self.samples]
        if not times:
            return float("nan")
        i = bisect.bisect_left(times, t)
        if i == 0:
            return self.samples[0][1]
        if i == len(times):
            return self.samples[-1][1]
        (t0, v0), (t1, v1) = self.samples[i - 1], self.samples[i]
        return v0 + (v1 - v0) * (t - t0) / (t1 - t0) if t1 > t0 else v1

    def between(self, begin: float, end: float) -> float:
        """CPU seconds used in [begin, end]; NaN when the samples do not cover it."""
        if not self.samples or begin < self.samples[0][0] or end > self.samples[-1][0]:
            return float("nan")
        return self.at(end) - self.at(begin)


def own_cpu_s() -> float:
    """CPU seconds of this process and all its descendants, the exited ones included."""
    total = 0.0
    me = psutil.Process()
    with contextlib.suppress(psutil.Error):
        times = me.cpu_times()
        # Reaped children (a finished Locust, its worker processes) count here.
        total += times.children_user + times.children_system
    return total + process_tree_cpu_s(me.pid)


_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def foreign_cpu_s() -> float:
    """CPU seconds used so far by every process that is not this one or its descendant.

    Each one's own user and system time plus that of the children it reaped: a tenant's
    build whose compilers come and go is counted through their parent, and a process
    started and reaped within a window adds exactly what it used there.
    """
    parents: dict[int, int] = {}
    used: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        used[pid] = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    ours = {os.getpid()}
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    stack = [os.getpid()]
    while stack:
        for child in children.get(stack.pop(), ()):
            ours.add(child)
            stack.append(child)
    return sum(ticks for pid, ticks in used.items() if pid not in ours) * _TICK_S


@dataclass(frozen=True)
class Quiet:
    """One short look at the machine before a step."""

    foreign_cores: float  # what processes that are not ours used, in cores
    # What each idle server asked about used (its baseline), in the order given.
    idle_cores: tuple[float, ...] = ()


def measure_quiet(*accounts: CpuAccount | None, seconds: float = 0.5) -> Quiet:
    """Sleep ``seconds`` and see who used the CPU meanwhile: the foreign processes, and
    each of ``accounts`` (one look for all, so servers measured together share it)."""
    began = time.monotonic()
    others = foreign_cpu_s()
    before = [account.read_s() if account else 0.0 for account in accounts]
    time.sleep(seconds)
    elapsed = time.monotonic() - began
    foreign = foreign_cpu_s() - others
    idle = [
        (account.read_s() - start) if account else 0.0
        for account, start in zip(accounts, before, strict=True)
    ]
    return Quiet(max(foreign, 0.0) / elapsed, tuple(max(i, 0.0) / elapsed for i in idle))
