"""The typed results of a benchmark: configurations, steps, runs; written to and read from JSON.

``results/<timestamp>/results.json`` holds one :class:`BenchResults`. Every number in the
report comes from here (computed from raw samples), never from a log.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from bench.stats import LatencySummary

__all__ = [
    "ServerConfig", "Step", "MemorySeries", "RunResult", "BenchResults", "write_results",
    "read_results", "IN_PROCESS",
]

# The label of the in-process floor (the core called directly, no HTTP).
IN_PROCESS = "core/in-process"


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """One served configuration, exactly as it was started."""

    label: str
    app: str
    server: str
    workers: int
    threads: int
    interface: str
    argv: list[str]
    access_log: bool
    keep_alive: str
    cpus: list[int]
    cpu_quota_cores: float | None
    role: str  # "twin", "floor" or "in-process"


@dataclasses.dataclass(frozen=True)
class Step:
    """One measurement: a scenario against a configuration at a load, for one repeat."""

    scenario: str
    config: str
    users: int
    rate: float  # requests/s for the open model; 0 for the closed model
    duration_s: float
    warmup_s: float
    repeat: int
    group: str  # "compare", "sweep", "open" or "single"

    @property
    def key(self) -> str:
        load = f"r{self.rate:g}" if self.rate else f"u{self.users}"
        return f"{self.scenario}|{self.config}|{load}|{self.group}"


@dataclasses.dataclass
class MemorySeries:
    """The server's memory during one step, sampled by ``bench.memory.MemorySampler``."""

    metric: str  # "pss" (the whole process tree's PSS) or "rss" where smaps was unreadable
    interval_s: float
    t_s: list[float]  # seconds since the measured window began (negative: warm-up)
    mem_bytes: list[int]


@dataclasses.dataclass
class RunResult:
    """What one step measured, from its raw samples (warm-up excluded)."""

    step: Step
    run_id: str
    started_at: float
    requests: int
    failures: int
    throughput_rps: float
    latency: LatencySummary
    latency_corrected: LatencySummary | None  # open model: from the intended send time
    generator_cpu: float  # busiest generator process, share of one core (NaN: none used)
    server_cpu_ms_per_request: float
    idle_servers_cpu_s: float  # CPU used meanwhile by the configurations not under load
    valid: bool
    invalid_reasons: list[str]
    failures_by_name: dict[str, int]
    by_name: dict[str, int]
    cdf_ms: list[float]  # latency at quantiles 0.5 %, 1 %, ..., 100 % (200 points)
    timeline: list[dict[str, float]]  # per 0.5 s: t, count, p50, p99 (ms)
    events: list[dict[str, Any]]
    notes: list[str] = dataclasses.field(default_factory=list)
    memory: MemorySeries | None = None  # None in results written before it was sampled


@dataclasses.dataclass
class BenchResults:
    profile: str
    started_at: str
    finished_at: str
    environment: dict[str, Any]
    configs: list[ServerConfig]
    runs: list[RunResult]
    pool: dict[str, Any]
    notes: list[str] = dataclasses.field(default_factory=list)


def _clean(value: Any) -> Any:
    # JSON has no NaN: write null, so any JSON reader can open the file.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write_results(results: BenchResults, path: Path) -> None:
    path.write_text(json.dumps(_clean(dataclasses.asdict(results)), indent=1), encoding="utf-8")


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def _latency(data: dict[str, Any] | None) -> LatencySummary | None:
    if data is None:
        return None
    return LatencySummary(
        count=int(data["count"]), **{k: _num(data[k]) for k in
                                     ("mean", "p50", "p90", "p99", "p999", "max")}
    )


def _run(data: dict[str, Any]) -> RunResult:
    fields = dict(data)
    fields["step"] = Step(**data["step"])
    latency = _latency(data["latency"])
    assert latency is not None
    fields["latency"] = latency
    fields["latency_corrected"] = _latency(data.get("latency_corrected"))
    for name in ("throughput_rps", "generator_cpu", "server_cpu_ms_per_request",
                 "idle_servers_cpu_s"):
        fields[name] = _num(data.get(name))
    fields["cdf_ms"] = [_num(v) for v in data.get("cdf_ms", [])]
    memory = data.get("memory")
    fields["memory"] = MemorySeries(**memory) if memory else None
    return RunResult(**fields)


def read_results(path: Path) -> BenchResults:
    """Read ``results.json`` (a file, or the directory holding it)."""
    if path.is_dir():
        path = path / "results.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return BenchResults(
        profile=data["profile"], started_at=data["started_at"], finished_at=data["finished_at"],
        environment=data["environment"],
        configs=[ServerConfig(**c) for c in data["configs"]],
        runs=[_run(r) for r in data["runs"]], pool=data.get("pool", {}),
        notes=data.get("notes", []),
    )
