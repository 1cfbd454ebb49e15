"""From runs to aggregates: each step group over its repeats, and the run-wide checks.

Only valid runs count towards a figure; a group with no valid run is shown but flagged.
Which configuration is which (a twin on its usual or on the shared server) is read from
the topology the run recorded, never from today's code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.results import BenchResults, RunResult
from bench.stats import RepeatSummary, summarize_repeats

__all__ = [
    "Aggregate",
    "aggregate",
    "find_config",
    "usual_config",
    "shared_config",
    "compared",
    "valid_throughputs",
    "valid_for_cost",
    "generator_check",
    "spread_check",
]


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
    # The server's CPU per request (µs) over the runs that can carry it: a run the
    # generator limited still measures what each request cost the server.
    cost_us: RepeatSummary

    @property
    def all_invalid(self) -> bool:
        return self.valid_runs == 0


def valid_for_cost(run: RunResult) -> bool:
    """A run whose only fault (if any) was a saturated generator still measures the cost."""
    return not math.isnan(run.server_cpu_us_per_request) and all(
        "load generator" in why for why in run.invalid_reasons
    )


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
        out.append(
            Aggregate(
                scenario=step.scenario,
                config=step.config,
                users=step.users,
                rate=step.rate,
                group=step.group,
                runs=runs,
                throughput=summarize_repeats([r.throughput_rps for r in use]),
                p50=summarize_repeats([r.latency.p50 for r in use]),
                p99=summarize_repeats([r.latency.p99 for r in use]),
                p999=summarize_repeats([r.latency.p999 for r in use]),
                requests=sum(r.requests for r in runs),
                failures=sum(r.failures for r in runs),
                valid_runs=len(valid),
                generator_cpu_max=max(cpus, default=math.nan),
                cost_us=summarize_repeats(
                    [r.server_cpu_us_per_request for r in runs if valid_for_cost(r)]
                ),
            )
        )
    return out


def find_config(
    results: BenchResults,
    app: str,
    server: str,
    workers: int = 1,
    *,
    threads: int | None = None,
    variant: str = "",
) -> str | None:
    """The label of ``app`` on ``server`` (default settings unless ``variant`` is named)."""
    for config in results.configs:
        if (
            config.app == app
            and config.server == server
            and config.workers == workers
            and config.variant == variant
            and (threads is None or config.threads == threads)
        ):
            return config.label
    return None


def usual_config(results: BenchResults, app: str) -> str | None:
    """The label of ``app`` (a twin or a floor) on its usual server, one worker."""
    return find_config(results, app, results.topology["usual_server"][app])


def shared_config(results: BenchResults, app: str) -> str | None:
    """The label of ``app`` on the server both twins share, one worker."""
    return find_config(results, app, results.topology["shared_server"])


def compared(
    results: BenchResults, scenario: str, label: str | None, *, open_model: bool | None = None
) -> Aggregate | None:
    """The compared (repeated) group of ``scenario`` on configuration ``label``; with
    ``open_model``, only a fixed-rate (True) or a closed-model (False) one."""
    for agg in aggregate(results):
        if (
            agg.group == "compare"
            and agg.scenario == scenario
            and agg.config == label
            and (open_model is None or bool(agg.rate) == open_model)
        ):
            return agg
    return None


def valid_throughputs(agg: Aggregate) -> list[float]:
    return [r.throughput_rps for r in agg.runs if r.valid]


def generator_check(results: BenchResults) -> tuple[float, int, int]:
    """(highest generator CPU share in a valid run, runs invalid for CPU, runs total)."""
    shares = [r.generator_cpu for r in results.runs if r.valid and not math.isnan(r.generator_cpu)]
    invalid = sum(any("generator" in why for why in r.invalid_reasons) for r in results.runs)
    return max(shares, default=math.nan), invalid, len(results.runs)


def spread_check(results: BenchResults) -> list[tuple[str, str, float]]:
    """(scenario, config, CV) of every compared group with at least two valid repeats."""
    return [
        (a.scenario, a.config, a.throughput.cv)
        for a in aggregate(results)
        if a.group == "compare" and a.valid_runs >= 2
    ]
