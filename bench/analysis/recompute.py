"""Every percentile of a results folder, recomputed from the latencies it keeps.

``samples.json.gz`` (bench.results.SAMPLES_FILE) holds each run's latencies in whole
microseconds, per series; the figures in results.json were computed from exactly those
values, so recomputing them must give them back to the last digit. A figure that differs
says the folder's files do not belong together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bench.results import BenchResults, RunResult
from bench.stats import Histogram, LatencySummary, percentile, summarize_latencies

__all__ = ["Recheck", "recheck", "run_figures"]

_SUMMARY_FIELDS = ("count", "p50", "p90", "p95", "p99", "p999", "max")


@dataclass
class Recheck:
    runs: int = 0  # runs whose latencies the folder keeps
    runs_without: int = 0  # runs with none kept (results written before they were)
    figures: int = 0
    mismatches: list[str] = field(default_factory=list)


def _merged(histograms: list[Histogram]) -> Histogram:
    if not histograms:
        return Histogram()
    return Histogram.of(np.concatenate([h.latencies_ms() for h in histograms]))


def _summary_pairs(
    name: str, stored: LatencySummary, kept: Histogram
) -> list[tuple[str, float, float]]:
    again = summarize_latencies(kept.latencies_ms())
    return [
        (f"{name} {f}", float(getattr(stored, f)), float(getattr(again, f)))
        for f in _SUMMARY_FIELDS
    ]


def _stats_pairs(
    name: str, stored: dict[str, float], kept: Histogram
) -> list[tuple[str, float, float]]:
    values = kept.latencies_ms()
    pairs = [(f"{name} n", stored.get("n", math.nan), float(len(values)))]
    for key, q in (("p50", 50.0), ("p95", 95.0), ("p99", 99.0)):
        again = percentile(values, q) if len(values) else math.nan
        pairs.append((f"{name} {key}", stored.get(key, math.nan), again))
    return pairs


def run_figures(run: RunResult) -> list[tuple[str, float, float]]:
    """(figure, as results.json has it, as the kept latencies give it) for every latency
    figure of ``run``."""
    kept = run.latency_us
    names = [h for key, h in sorted(kept.items()) if key.startswith("name:")]
    pairs = _summary_pairs("latency", run.latency, _merged(names))
    if run.latency_corrected is not None and "corrected" in kept:
        pairs += _summary_pairs("corrected latency", run.latency_corrected, kept["corrected"])
    for name, stored in run.latency_by_name.items():
        pairs += _stats_pairs(name, stored, kept.get(f"name:{name}", Histogram()))
    for phase, stored in run.phases.items():
        pairs += _stats_pairs(
            f"{phase} the upload", stored, kept.get(f"phase:{phase}", Histogram())
        )
    return pairs


def _same(stored: float, again: float) -> bool:
    # A figure written before it was kept (NaN, read from null) has nothing to match.
    return math.isnan(stored) or stored == again


def recheck(results: BenchResults) -> Recheck:
    out = Recheck()
    for run in results.runs:
        if not run.latency_us:
            out.runs_without += 1
            continue
        out.runs += 1
        for figure, stored, again in run_figures(run):
            out.figures += 1
            if not _same(stored, again):
                out.mismatches.append(f"{run.run_id} {figure}: {stored:g} kept as {again:g}")
    return out
