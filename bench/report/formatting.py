"""How the report writes numbers, intervals, percentiles, outcomes: one way, everywhere."""

from __future__ import annotations

import math
from datetime import datetime

from bench.results import BenchResults, Step
from bench.stats import Interval, Outcome, min_samples

__all__ = [
    "num",
    "interval_text",
    "pct",
    "outcome_word",
    "mib",
    "verdict_word",
    "load_text",
    "run_length",
]


def num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def interval_text(interval: Interval, digits: int = 1) -> str:
    """ "[low, high] (what the interval is)", or what there is instead of one."""
    if not interval.exists:
        return f"– ({interval.method})"
    return f"[{num(interval.low, digits)}, {num(interval.high, digits)}] ({interval.method})"


def pct(value: float, samples: int, q: float, digits: int = 1) -> str:
    """A percentile, or "–" with the sample count when too few samples carry it
    (``bench.stats.min_samples``: 10 samples beyond the percentile)."""
    if samples < min_samples(q):
        return f"– (n={samples:,}, too few for a p{q:g})"
    return num(value, digits)


def outcome_word(outcome: Outcome | None) -> str:
    if outcome is None:
        return "shown, not targeted"
    return {
        "met": "met",
        "missed": "**missed**",
        "inconclusive": "inconclusive",
        "not measured": "not measured",
    }[outcome]


def mib(value: float) -> str:
    return "–" if math.isnan(value) else f"{value / 2**20:,.1f} MiB"


def verdict_word(ok: bool | None) -> str:
    return {True: "pass", False: "**fail**", None: "inconclusive"}[ok]


def load_text(results: BenchResults, step: Step) -> str:
    """The load a step really ran at: its rate or users, but for the in-process core the
    threads it called the core from (it runs ``threads`` of its configuration, whatever
    users the step names), so its latency is never read as if at the twins' concurrency."""
    if step.rate:
        return f"{step.rate:g} req/s"
    config = next((c for c in results.configs if c.label == step.config), None)
    if config is not None and config.role == "in-process":
        return f"{config.threads} threads in-process (not the {step.users} users of the twins)"
    return f"{step.users} users"


def run_length(results: BenchResults) -> str:
    """How long the whole run took, from its recorded start and end."""
    try:
        began = datetime.fromisoformat(results.started_at)
        ended = datetime.fromisoformat(results.finished_at)
    except ValueError:
        return f"from {results.started_at} to {results.finished_at}"
    minutes = (ended - began).total_seconds() / 60
    return f"{minutes:.0f} minutes in all ({results.started_at} to {results.finished_at})"
