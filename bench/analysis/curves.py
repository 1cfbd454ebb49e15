"""Curves: throughput and latency against load, per twin on its usual server.

A point is one number of closed users: the sweep's runs at it, and the compared runs where
the profile compares that scenario at those users (the same load on the same servers). Its
throughput and each percentile are medians over its valid runs; a percentile is given only
where every run's samples carry it (bench.stats.MIN_SAMPLES), else NaN with the count.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from bench.analysis.aggregate import usual_config
from bench.results import BenchResults, RunResult
from bench.stats import MIN_SAMPLES

__all__ = ["CurvePoint", "Curve", "load_curves", "CURVE_SCENARIOS", "CURVE_PERCENTILES"]

CURVE_SCENARIOS = ("search_text", "echo")
CURVE_PERCENTILES = (50.0, 95.0, 99.0)


@dataclass(frozen=True)
class CurvePoint:
    users: int
    runs: int
    rps: float  # median over the runs
    fewest: int  # the fewest requests one run measured: what a percentile stands on
    latency_ms: dict[float, float]  # percentile -> median over the runs; NaN: too few

    def shown(self, q: float) -> bool:
        return not math.isnan(self.latency_ms[q])


@dataclass(frozen=True)
class Curve:
    scenario: str
    config: str
    points: list[CurvePoint]

    @property
    def app(self) -> str:
        return self.config.split("/")[0]


def _percentile(run: RunResult, q: float) -> float:
    summary = run.latency
    return {50.0: summary.p50, 95.0: summary.p95, 99.0: summary.p99}[q]


def _point(users: int, runs: list[RunResult]) -> CurvePoint:
    fewest = min(r.latency.count for r in runs)
    latency = {
        q: statistics.median(_percentile(r, q) for r in runs)
        if fewest >= MIN_SAMPLES[q]
        else math.nan
        for q in CURVE_PERCENTILES
    }
    rps = statistics.median(r.throughput_rps for r in runs)
    return CurvePoint(users, len(runs), rps, fewest, latency)


def load_curves(results: BenchResults) -> list[Curve]:
    """One curve per scenario of CURVE_SCENARIOS and twin, where a sweep ran it at two or
    more loads; closed-model runs only, valid runs only."""
    curves = []
    for scenario in CURVE_SCENARIOS:
        for app in ("flask", "fastapi"):
            config = usual_config(results, app)
            chosen = [
                r
                for r in results.runs
                if r.step.scenario == scenario
                and r.step.config == config
                and r.step.group in ("sweep", "compare")
                and not r.step.rate
                and r.valid
            ]
            if config is None or not any(r.step.group == "sweep" for r in chosen):
                continue
            by_users: dict[int, list[RunResult]] = {}
            for run in chosen:
                by_users.setdefault(run.step.users, []).append(run)
            points = [_point(users, runs) for users, runs in sorted(by_users.items())]
            if len(points) >= 2:
                curves.append(Curve(scenario, config, points))
    return curves
