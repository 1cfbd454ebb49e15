"""CPU budgets: pin servers and the load generator to disjoint CPUs, optionally cap servers.

Pinning uses ``os.sched_setaffinity`` (inherited by children and their threads). A cap uses
the cgroup v1 ``cpu`` controller at /sys/fs/cgroup/cpu, one group per server with the same
quota, a short period (10 ms) so throttling stalls are short, and every group removed at the
end. Without root or without the controller, the cap is skipped and the run says so.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CpuPlan",
    "plan_cpus",
    "CgroupCap",
    "pin_current",
    "pin_process",
    "preexec_for",
    "remove_group",
]

CGROUP_ROOT = Path("/sys/fs/cgroup/cpu")
PERIOD_US = 10_000


@dataclass(frozen=True)
class CpuPlan:
    """Which CPUs serve and which generate load, and the quota (in cores) on each server."""

    server_cpus: tuple[int, ...]
    generator_cpus: tuple[int, ...]
    server_quota_cores: float | None = None
    generator_processes: int = 1
    notes: list[str] = field(default_factory=list)


def available_cpus() -> tuple[int, ...]:
    return tuple(sorted(os.sched_getaffinity(0)))


def plan_cpus(
    quota: float | None | str = "auto",
    cpus: tuple[int, ...] | None = None,
    *,
    processes: int | None = None,
) -> CpuPlan:
    """Split the CPUs in two halves: servers + Milvus on the first, the generator on the rest.

    ``quota="auto"`` caps each server at half a core when the generator has a single CPU:
    one Locust process saturates near 9-10k requests/s on this 2-core machine kind, less
    than an uncapped server serves on a whole core with a trivial endpoint, so without a
    cap such runs would measure the generator.
    """
    cpus = cpus or available_cpus()
    notes: list[str] = []
    if len(cpus) < 2:
        notes.append("one CPU only: server and generator share it; no pinning possible")
        server, generator = cpus, cpus
    else:
        half = len(cpus) // 2
        server, generator = cpus[:half], cpus[half:]
    if quota == "auto":
        quota = 0.5 if len(generator) <= 1 else None
    quota_value = float(quota) if quota else None
    if quota_value and not cgroup_available():
        notes.append("cgroup v1 cpu controller not writable here: no CPU quota applied")
        quota_value = None
    # One Locust process per generator CPU, at most 8: each process is single-threaded.
    return CpuPlan(server, generator, quota_value, processes or min(len(generator), 8), notes)


def cgroup_available() -> bool:
    return (CGROUP_ROOT / "cgroup.procs").exists() and os.access(CGROUP_ROOT, os.W_OK)


def pin_current(cpus: tuple[int, ...]) -> None:
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, cpus)


def pin_process(pid: int, cpus: tuple[int, ...]) -> None:
    """Pin every thread of a running process (sched_setaffinity acts on one thread only)."""
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(tid), cpus)


class CgroupCap:
    """One cgroup v1 cpu group with a fixed quota; :meth:`remove` tidies it away."""

    def __init__(self, name: str, cores: float) -> None:
        self.path = CGROUP_ROOT / f"twinbench-{os.getpid()}-{name}"
        self.cores = cores
        self.path.mkdir(exist_ok=True)
        (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (self.path / "cpu.cfs_quota_us").write_text(str(max(int(cores * PERIOD_US), 1000)))

    def add_self(self) -> None:
        self.add_pid(os.getpid())

    def add_pid(self, pid: int) -> None:
        """Move a whole process (all its threads) into the group; its children follow."""
        (self.path / "cgroup.procs").write_text(str(pid))

    def remove(self) -> None:
        remove_group(self.path, CGROUP_ROOT)


def remove_group(path: Path, root: Path) -> None:
    """Remove a cgroup v1 group; a group with tasks cannot be removed, so any leftovers go
    back to the hierarchy's root group first."""
    with contextlib.suppress(OSError):
        for pid in (path / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                (root / "cgroup.procs").write_text(pid)
    for _ in range(20):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)


def preexec_for(cpus: tuple[int, ...], cap: CgroupCap | None) -> Callable[[], None]:
    """What a child runs before exec: join the cap's group, then pin itself."""

    def setup() -> None:
        if cap is not None:
            cap.add_self()
        pin_current(cpus)

    return setup
