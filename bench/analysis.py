"""From runs to answers: aggregates over repeats, headline ratios, the server/framework
decomposition (issue 6) — the numbers the claims table and the report stand on.

Only valid runs count towards a figure; a group with no valid run is shown but flagged.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from bench.memory import MemoryGrowth, memory_growth
from bench.profiles import PROFILES
from bench.results import IN_PROCESS, BenchResults, RunResult, ServerConfig
from bench.stats import (
    Interval,
    RepeatSummary,
    bootstrap_ratio_ci,
    summarize_repeats,
)

__all__ = [
    "Aggregate", "Ratio", "Decomposition", "aggregate", "headline_ratios", "decompose",
    "split_gap", "find_config", "ingest_effect", "IngestEffect", "SoakCheck", "soak_checks",
]

USUAL = {"flask": "gunicorn-gthread", "fastapi": "uvicorn",
         "floor-wsgi": "gunicorn-gthread", "floor-asgi": "uvicorn"}
SAME = "granian"
# A soak's memory verdict needs samples over at least this share of its measured window.
SOAK_MIN_COVERAGE = 0.9


@dataclass
class Aggregate:
    """One (scenario, configuration, load, group) over its repeats."""

    scenario: str
    config: str
    users: int
    rate: float
    group: str
    runs: list[RunResult]
    throughput: RepeatSummary
    p50: RepeatSummary
    p99: RepeatSummary
    p999: RepeatSummary
    requests: int
    failures: int
    valid_runs: int
    generator_cpu_max: float
    server_cpu_ms: float

    @property
    def all_invalid(self) -> bool:
        return self.valid_runs == 0


_AGGREGATES: dict[int, tuple[BenchResults, list[Aggregate]]] = {}


def aggregate(results: BenchResults) -> list[Aggregate]:
    """Aggregates of every step group (memoised per results object: the report asks often)."""
    cached = _AGGREGATES.get(id(results))
    if cached is not None and cached[0] is results:
        return cached[1]
    _AGGREGATES.clear()
    out = _aggregate(results)
    _AGGREGATES[id(results)] = (results, out)
    return out


def _aggregate(results: BenchResults) -> list[Aggregate]:
    groups: dict[str, list[RunResult]] = {}
    for run in results.runs:
        groups.setdefault(run.step.key, []).append(run)
    out = []
    for runs in groups.values():
        valid = [r for r in runs if r.valid]
        use = valid or runs
        step = runs[0].step
        cpus = [r.generator_cpu for r in runs if not math.isnan(r.generator_cpu)]
        out.append(Aggregate(
            scenario=step.scenario, config=step.config, users=step.users, rate=step.rate,
            group=step.group, runs=runs,
            throughput=summarize_repeats([r.throughput_rps for r in use]),
            p50=summarize_repeats([r.latency.p50 for r in use]),
            p99=summarize_repeats([r.latency.p99 for r in use]),
            p999=summarize_repeats([r.latency.p999 for r in use]),
            requests=sum(r.requests for r in runs), failures=sum(r.failures for r in runs),
            valid_runs=len(valid), generator_cpu_max=max(cpus, default=math.nan),
            server_cpu_ms=statistics.median(r.server_cpu_ms_per_request for r in use),
        ))
    return out


def find_config(results: BenchResults, app: str, server: str, workers: int = 1) -> str | None:
    for config in results.configs:
        if config.app == app and config.server == server and config.workers == workers:
            return config.label
    return None


def _compare(aggs: list[Aggregate], scenario: str, label: str | None) -> Aggregate | None:
    for agg in aggs:
        if agg.group == "compare" and agg.scenario == scenario and agg.config == label:
            return agg
    return None


def _values(agg: Aggregate) -> list[float]:
    return [r.throughput_rps for r in agg.runs if r.valid]


@dataclass
class Ratio:
    """A headline ratio with its bootstrap interval and whether it meets its target."""

    name: str
    value: float
    ci: Interval
    target: str
    meets: bool | None
    detail: str
    notes: list[str] = field(default_factory=list)


def _ratio(name: str, num: Aggregate | None, den: Aggregate | None, target: float,
           detail: str) -> Ratio:
    if num is None or den is None or not _values(num) or not _values(den):
        return Ratio(name, math.nan, Interval(math.nan, math.nan, 0), f">= {target}", None,
                     detail, ["not measured (no valid runs for one side)"])
    value = num.throughput.median / den.throughput.median
    ci = bootstrap_ratio_ci([_values(num), _values(den)], lambda m: m[0] / m[1])
    return Ratio(name, value, ci, f">= {target}", value >= target,
                 f"{detail}: {num.throughput.median:,.0f} / {den.throughput.median:,.0f} req/s")


def headline_ratios(results: BenchResults) -> list[Ratio]:
    aggs = aggregate(results)
    ratios: list[Ratio] = []
    floors = {"flask": "floor-wsgi", "fastapi": "floor-asgi"}
    for app, floor in floors.items():
        for server in (USUAL[app], SAME):
            twin = find_config(results, app, server)
            if twin is None:
                continue
            ratios.append(_ratio(
                f"{app} /health vs bare {floor} on {server}",
                _compare(aggs, "health", twin), _compare(aggs, "health",
                                                        find_config(results, floor, server)),
                0.8, "twin / floor throughput"))
    inproc = _compare(aggs, "search_text", IN_PROCESS)
    for app in floors:
        twin = find_config(results, app, USUAL[app])
        if twin is not None:
            ratios.append(_ratio(f"{app} text search vs in-process core",
                                 _compare(aggs, "search_text", twin), inproc, 0.9,
                                 "twin / in-process throughput at equal CPU"))
    return ratios


def generator_check(results: BenchResults) -> tuple[float, int, int]:
    """(highest generator CPU share in a valid run, runs invalid for CPU, runs total)."""
    shares = [r.generator_cpu for r in results.runs
              if r.valid and not math.isnan(r.generator_cpu)]
    invalid = sum(any("generator" in why for why in r.invalid_reasons) for r in results.runs)
    return max(shares, default=math.nan), invalid, len(results.runs)


def spread_check(results: BenchResults) -> list[tuple[str, str, float]]:
    """(scenario, config, CV) of every compared group with at least two valid repeats."""
    return [(a.scenario, a.config, a.throughput.cv) for a in aggregate(results)
            if a.group == "compare" and a.valid_runs >= 2]


@dataclass
class Decomposition:
    """Throughput gap FastAPI/Flask on their usual servers, split into server and framework.

    total = A_usual / F_usual; framework = A_same / F_same (both on one server);
    server = total / framework. In log terms the two parts add up to the total, which is
    how ``framework_share`` is defined.
    """

    scenario: str
    medians: dict[str, float]
    total: float
    framework: float
    server: float
    framework_share: float
    total_ci: Interval
    framework_ci: Interval
    server_ci: Interval


def split_gap(flask_usual: float, fastapi_usual: float, flask_same: float,
              fastapi_same: float) -> tuple[float, float, float, float]:
    """(total, framework, server, framework share of the log gap; NaN when no gap)."""
    total = fastapi_usual / flask_usual
    framework = fastapi_same / flask_same
    server = total / framework
    share = math.log(framework) / math.log(total) if abs(math.log(total)) > 0.02 else math.nan
    return total, framework, server, share


def decompose(results: BenchResults) -> list[Decomposition]:
    aggs = aggregate(results)
    out = []
    scenarios = sorted({a.scenario for a in aggs if a.group == "compare"})
    for scenario in scenarios:
        cells = {
            "flask_usual": _compare(aggs, scenario, find_config(results, "flask", USUAL["flask"])),
            "fastapi_usual": _compare(aggs, scenario,
                                      find_config(results, "fastapi", USUAL["fastapi"])),
            "flask_same": _compare(aggs, scenario, find_config(results, "flask", SAME)),
            "fastapi_same": _compare(aggs, scenario, find_config(results, "fastapi", SAME)),
        }
        if any(c is None or not _values(c) for c in cells.values()):
            continue
        groups = [_values(c) for c in cells.values() if c is not None]
        medians = {k: c.throughput.median for k, c in cells.items() if c is not None}
        total, framework, server, share = split_gap(
            medians["flask_usual"], medians["fastapi_usual"], medians["flask_same"],
            medians["fastapi_same"])
        out.append(Decomposition(
            scenario, medians, total, framework, server, share,
            bootstrap_ratio_ci(groups, lambda m: m[1] / m[0]),
            bootstrap_ratio_ci(groups, lambda m: m[3] / m[2]),
            bootstrap_ratio_ci(groups, lambda m: (m[1] / m[0]) / (m[3] / m[2])),
        ))
    return out


@dataclass
class IngestEffect:
    """Search latency before vs during an ingest job, on one twin."""

    config: str
    p50_before: float
    p99_before: float
    p50_during: float
    p99_during: float
    ingest_s: float
    status: str


def ingest_effect(run: RunResult) -> IngestEffect | None:
    starts = [e["t"] for e in run.events if e["event"] == "ingest_start"]
    ends = [e for e in run.events if e["event"] == "ingest_end"]
    if not starts or not run.timeline:
        return None
    t0 = float(starts[0])
    t1 = float(ends[0]["t"]) if ends else run.timeline[-1]["t"]
    before = [b for b in run.timeline if b["t"] < t0]
    during = [b for b in run.timeline if t0 <= b["t"] <= t1]

    def weighted(bins: list[dict[str, float]], key: str) -> float:
        total = sum(b["count"] for b in bins)
        return sum(b[key] * b["count"] for b in bins) / total if total else math.nan

    return IngestEffect(run.step.config, weighted(before, "p50"), weighted(before, "p99"),
                        weighted(during, "p50"), weighted(during, "p99"), t1 - t0,
                        f"{ends[0].get('status')}: {ends[0].get('processed')} rows stored, "
                        f"{ends[0].get('failed')} refused" if ends else
                        "not finished within the run")


@dataclass
class SoakCheck:
    """One twin's soak step against its targets: memory growth < 10 %, no failed request.

    ``passed`` is False when a target is missed, None (inconclusive) when memory could not
    be judged or the run was not valid, True otherwise.
    """

    run: RunResult
    memory: MemoryGrowth | None  # None: no memory was sampled (results from older code)
    coverage: float  # share of the measured window the memory samples reach (0..1)

    @property
    def config(self) -> str:
        return self.run.step.config

    @property
    def memory_ok(self) -> bool | None:
        if self.memory is None or self.coverage < SOAK_MIN_COVERAGE:
            return None
        return self.memory.meets_target

    @property
    def failures_ok(self) -> bool:
        return self.run.failures == 0

    @property
    def inconclusive(self) -> list[str]:
        """Why a verdict cannot be given (empty when it can)."""
        reasons = []
        if self.memory is None:
            reasons.append("no memory was sampled (results written before sampling existed)")
        elif math.isnan(self.memory.growth):
            reasons.append("fewer than 2 memory samples in the measured window")
        elif self.coverage < SOAK_MIN_COVERAGE:
            reasons.append(f"memory samples cover only {self.coverage:.0%} of the window")
        if not self.run.valid:
            reasons.append("the run is invalid: " + "; ".join(self.run.invalid_reasons))
        return reasons

    @property
    def passed(self) -> bool | None:
        if self.memory_ok is False or not self.failures_ok:
            return False
        return None if self.inconclusive else True


def soak_checks(results: BenchResults) -> list[SoakCheck]:
    """The soak profile's verdicts, one per soaked twin; empty for the other profiles.

    The soaked steps are those of the scenarios the run's own profile compared (recorded
    in results.json), not of today's profile definition.
    """
    if results.profile != "soak":
        return []
    recorded = results.environment.get("profile", {}).get("compare")
    scenarios = set(recorded or PROFILES["soak"].compare)
    checks = []
    for run in results.runs:
        if run.step.scenario not in scenarios:
            continue
        window = run.step.duration_s
        growth = memory_growth(run.memory, window) if run.memory else None
        reached = max((t for t in run.memory.t_s if t <= window), default=0.0) \
            if run.memory else 0.0
        checks.append(SoakCheck(run, growth, min(max(reached, 0.0) / window, 1.0)))
    return checks


def config_by_label(results: BenchResults) -> dict[str, ServerConfig]:
    return {c.label: c for c in results.configs}
