"""How the report writes numbers, intervals, percentiles, outcomes: one way, everywhere."""

from __future__ import annotations

import math

from bench.stats import MIN_SAMPLES, Interval, Outcome

__all__ = ["num", "interval_text", "pct", "outcome_word", "mib", "verdict_word"]


def num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def interval_text(interval: Interval, digits: int = 1) -> str:
    """ "[low, high] (what the interval is)", or what there is instead of one."""
    if not interval.exists:
        return f"– ({interval.method})"
    return f"[{num(interval.low, digits)}, {num(interval.high, digits)}] ({interval.method})"


def pct(value: float, samples: int, q: float, digits: int = 1) -> str:
    """A percentile, or "–" with the sample count when too few samples carry it."""
    needed = MIN_SAMPLES.get(q, 0)
    if samples < needed:
        return f"– (n={samples:,})"
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
