"""The typed results of a benchmark: configurations, steps, runs; written to and read from JSON.

``results/<timestamp>/results.json`` holds one :class:`BenchResults`. Every number in the
report comes from here (computed from raw samples), never from a log, and so does every
fact the report states about the run (its profile, topology, dev-cost counts, commit): a
report is a function of its results folder alone.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
import re
from pathlib import Path
from typing import Any

from bench.stats import Histogram, LatencySummary

__all__ = [
    "ServerConfig",
    "Step",
    "AppCost",
    "MemorySeries",
    "RunResult",
    "BenchResults",
    "write_results",
    "read_results",
    "FORMAT_VERSION",
    "SAMPLES_FILE",
    "slug",
]

# 2: the run records its topology, dev-cost counts and per-request CPU (see _upgrade_v1).
FORMAT_VERSION = 2
# What format 1 left implicit, as the code that wrote it defined it (frozen, not today's).
_V1_TOPOLOGY: dict[str, Any] = {
    "twins": ["flask", "fastapi"],
    "framework_floor_of": {},  # format 1 had no framework floors
    "raw_floor_of": {"flask": "floor-wsgi", "fastapi": "floor-asgi"},
    "usual_server": {
        "flask": "gunicorn-gthread",
        "fastapi": "uvicorn",
        "floor-wsgi": "gunicorn-gthread",
        "floor-asgi": "uvicorn",
    },
    "shared_server": "granian",
    "in_process": "core/in-process",
}
_V1_STEP_S = {"quick": 4, "full": 10, "soak": 600}
# Beside results.json: every run's latencies, whole microseconds, per series (RunResult.
# latency_us), from which each of its percentiles can be recomputed exactly.
SAMPLES_FILE = "samples.json.gz"
# The variant of a configuration with search micro-batching on: its label ends "+batched".
BATCHED_VARIANT = "batched"


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
    variant: str = ""  # a named setting the app ran with (e.g. "batch"); "" for the default
    app_env: dict[str, str] = dataclasses.field(default_factory=dict)  # what it was told


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
    # The configurations driven at the same time in this step, each at the full load
    # (``config`` among them); empty: ``config`` alone.
    together: tuple[str, ...] = ()
    # Upload steps: rows in the upload and seconds of searches alone before it (after the
    # warm-up); 0: the runner's defaults (bench.run.runner.INGEST_DOCS, UPLOAD_MARGIN_S).
    upload_rows: int = 0
    upload_lead_s: float = 0.0

    @property
    def shown(self) -> str:
        """What the step drives, for a progress line: its configuration, or how many at once."""
        return f"{len(self.together)} configs at once" if self.together else self.config

    @property
    def key(self) -> str:
        load = f"r{self.rate:g}" if self.rate else f"u{self.users}"
        return f"{self.scenario}|{self.config}|{load}|{self.group}"


@dataclasses.dataclass
class MemorySeries:
    """The server's memory during one step, sampled by ``bench.run.sampling.MemorySampler``."""

    # "pss" (the whole process tree's PSS) or "rss" (its summed RSS: asked for, or where
    # smaps was unreadable)
    metric: str
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
    # Successful responses that completed inside the window (throughput counts these).
    completed: int = 0
    in_flight_at_end: int = 0  # started before the window's end, answered after it
    late_sends: int = 0  # open model: sent more than 10 ms behind the intended time
    # The server's CPU during the window, less its idle baseline, per response completed
    # in the window (microseconds); NaN when not measured.
    server_cpu_us_per_request: float = math.nan
    server_idle_cores: float = math.nan  # the server's CPU just before the step, idle
    foreign_cores: float = math.nan  # what processes not ours used during the step
    # Batching servers: batches formed during the step, per batch size ({size: batches}).
    batch_sizes: dict[int, int] = dataclasses.field(default_factory=dict)
    # Per request name: n, p50, p95, p99 (ms) of the successful requests in the window.
    latency_by_name: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    # Upload steps: searches before/during/after the upload (n, seconds, p50/p95/p99, rps)
    # and the upload itself (kind, rows, status, seconds, rows_per_s).
    phases: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    job: dict[str, Any] = dataclasses.field(default_factory=dict)
    # The latencies every percentile above was computed from, per series: "name:<request
    # name>" (the successful requests of the window, together all of them), "corrected"
    # (open model, from the intended send time), "phase:<before|during|after>" (uploads).
    # Kept in SAMPLES_FILE, not in results.json; empty where the folder has none.
    latency_us: dict[str, Histogram] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class AppCost:
    """Code lines of one twin, by what each module does (counted by bench.run.devcost)."""

    app: str
    files: int = 0
    total: int = 0
    by_category: dict[str, int] = dataclasses.field(default_factory=dict)
    by_file: dict[str, int] = dataclasses.field(default_factory=dict)

    def lines(self, category: str) -> int:
        return self.by_category.get(category, 0)

    @property
    def contract_code(self) -> int:
        """Validation + errors + API docs: what a framework can declare for you."""
        return self.lines("validation") + self.lines("errors") + self.lines("docs")


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
    # twins, floors, usual and shared servers, as bench.plan.topology.record() wrote them
    topology: dict[str, Any] = dataclasses.field(default_factory=dict)
    # dev-cost counts of both twins' source at run time ({} when they were not counted);
    # the rules they were counted by are in environment["devcost_rules"]
    devcost: dict[str, AppCost] = dataclasses.field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def in_process_label(self) -> str:
        return str(self.topology.get("in_process", ""))


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
    """``results.json`` at ``path``, and beside it every run's kept latencies (SAMPLES_FILE)."""
    data = dataclasses.asdict(results)
    for run in data["runs"]:
        del run["latency_us"]
    path.write_text(json.dumps(_clean(data), indent=1), encoding="utf-8")
    kept = {
        run.run_id: {key: h.to_json() for key, h in run.latency_us.items()}
        for run in results.runs
        if run.latency_us
    }
    if kept:
        document = {"unit": "microseconds", "runs": kept}
        with gzip.open(path.parent / SAMPLES_FILE, "wt", encoding="utf-8") as handle:
            json.dump(document, handle, separators=(",", ":"))


def _kept_latencies(directory: Path) -> dict[str, dict[str, Histogram]]:
    path = directory / SAMPLES_FILE
    if not path.is_file():
        return {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        document = json.load(handle)
    return {
        run_id: {key: Histogram.from_json(h) for key, h in series.items()}
        for run_id, series in document["runs"].items()
    }


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def _latency(data: dict[str, Any] | None) -> LatencySummary | None:
    if data is None:
        return None
    return LatencySummary(
        count=int(data["count"]),
        **{k: _num(data[k]) for k in ("mean", "p50", "p90", "p99", "p999", "max")},
        p95=_num(data.get("p95")),
    )


def _run(data: dict[str, Any]) -> RunResult:
    fields = dict(data)
    fields["step"] = Step(**{**data["step"], "together": tuple(data["step"].get("together", ()))})
    latency = _latency(data["latency"])
    assert latency is not None
    fields["latency"] = latency
    fields["latency_corrected"] = _latency(data.get("latency_corrected"))
    for name in (
        "throughput_rps",
        "generator_cpu",
        "idle_servers_cpu_s",
        "server_cpu_us_per_request",
        "server_idle_cores",
        "foreign_cores",
    ):
        fields[name] = _num(data.get(name))
    fields["cdf_ms"] = [_num(v) for v in data.get("cdf_ms", [])]
    # JSON has no NaN (written as null): nested figures come back as NaN, not None.
    for name in ("phases", "latency_by_name"):
        fields[name] = {
            key: {k: _num(v) for k, v in stats.items()} for key, stats in data.get(name, {}).items()
        }
    fields["batch_sizes"] = {int(k): int(v) for k, v in data.get("batch_sizes", {}).items()}
    memory = data.get("memory")
    fields["memory"] = MemorySeries(**memory) if memory else None
    return RunResult(**fields)


def read_results(path: Path) -> BenchResults:
    """Read ``results.json`` (a file, or the directory holding it)."""
    if path.is_dir():
        path = path / "results.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format_version", 1) == 1:
        data = _upgrade_v1(data)
    kept = _kept_latencies(path.parent)
    runs = [_run(r) for r in data["runs"]]
    for run in runs:
        run.latency_us = kept.get(run.run_id, {})
    return BenchResults(
        profile=data["profile"],
        started_at=data["started_at"],
        finished_at=data["finished_at"],
        environment=data["environment"],
        configs=[ServerConfig(**c) for c in data["configs"]],
        runs=runs,
        pool=data.get("pool", {}),
        notes=data.get("notes", []),
        topology=data["topology"],
        devcost={app: AppCost(**cost) for app, cost in data["devcost"].items()},
        format_version=FORMAT_VERSION,
    )


def _upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Format 1 recorded no topology, no dev-cost counts, no validity limit and no profile
    definition: they were fixed in the code that wrote it, and are filled in as it had them."""
    environment = {
        "generator_cpu_limit": 0.80,
        "profile_as_defined": {"duration_s": _V1_STEP_S.get(data["profile"], 0)},
        **data["environment"],
    }
    # Format 1's CPU per request was over the whole Locust run and every request: dropped.
    runs = [
        {k: v for k, v in run.items() if k != "server_cpu_ms_per_request"} for run in data["runs"]
    ]
    return {
        **data,
        "environment": environment,
        "topology": _V1_TOPOLOGY,
        "devcost": {},
        "runs": runs,
    }


def slug(text: str) -> str:
    """``text`` as a file-name-safe word (a label, a step, a model): how a results folder
    names its raw samples, logs and cached pools."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")
