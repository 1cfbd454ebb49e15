"""Why text search through a twin falls short of the core called in-process, in CPU.

Both sides run the same core call (the same model, runtime, Milvus, pool and threads) under
the same CPU quota, so whatever CPU a search through the twin costs beyond the core's is
what the twin adds to each request: its server, its framework and its view. The target
"through a twin at least 0.95x the core" allows that addition to be
``core_us * (1 / 0.95 - 1)``, about 5 % of a search; the twin's /echo request, measured in
the same run, is the floor every request through it pays (parsing, validation, a JSON
answer). Where /echo alone costs more than the target allows, no search through that twin
on that server can meet it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.analysis.aggregate import compared, usual_config
from bench.results import BenchResults

__all__ = ["CoreGap", "core_gap", "CORE_SHARE_TARGET"]

CORE_SHARE_TARGET = 0.95  # text search through a twin ÷ the in-process core (issue 26)


@dataclass(frozen=True)
class CoreGap:
    """One twin's CPU per search against the core's, with its /echo floor (µs, medians
    over the compared repeats)."""

    twin: str
    twin_us: float
    core_us: float
    echo_us: float  # nan where the run measured no /echo through this twin
    share: float  # the target: the twin's throughput at least this share of the core's

    @property
    def added_us(self) -> float:
        return self.twin_us - self.core_us

    @property
    def allowed_us(self) -> float:
        """The most CPU per search the twin may add and still reach ``share``."""
        return self.core_us * (1 / self.share - 1)

    @property
    def words(self) -> str:
        """What the twin adds to a search, against what the target allows, in one sentence."""
        added = (
            f"the twin spent {self.twin_us:,.0f} µs of CPU per search against the core's "
            f"{self.core_us:,.0f} µs in-process ({self.added_us:+,.0f} µs, "
            f"{self.added_us / self.core_us:+.0%}): what its server, framework and view add "
            f"to each request, on the same core call; the target allows "
            f"{self.allowed_us:+,.0f} µs"
        )
        if self.added_us <= self.allowed_us:
            return (
                added + ", and the twin stays within it: its CPU per search does not explain "
                "the shortfall, which is CPU of its quota the twin left unused"
            )
        if math.isnan(self.echo_us):
            return added + " (no /echo through this twin was measured to split it further)"
        if self.echo_us >= self.allowed_us:
            return (
                added + f", less than the {self.echo_us:,.0f} µs an /echo request alone costs "
                "this twin: no search through it on this server can meet the target"
            )
        return (
            added + f"; an /echo request costs this twin {self.echo_us:,.0f} µs, so "
            f"{self.added_us - self.echo_us:,.0f} µs of it are not the parsing, validation and "
            "JSON answer that /echo pays as well"
        )


def _median_cost(results: BenchResults, scenario: str, label: str | None) -> float:
    """The median µs of server CPU per request of the closed-model compared group."""
    group = compared(results, scenario, label, open_model=False)
    return group.cost_us.median if group is not None and group.cost_us.values else math.nan


def core_gap(results: BenchResults, twin: str, share: float = CORE_SHARE_TARGET) -> CoreGap | None:
    """The twin (on its usual server) against the in-process core; None where either side's
    text search cost is missing."""
    label = usual_config(results, twin)
    twin_us = _median_cost(results, "search_text", label)
    core_us = _median_cost(results, "search_text", results.in_process_label)
    if math.isnan(twin_us) or math.isnan(core_us) or core_us <= 0:
        return None
    return CoreGap(twin, twin_us, core_us, _median_cost(results, "echo", label), share)
