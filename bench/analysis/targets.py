"""The model runtime's targets (issue 26) as report lines: each met, missed by how much,
inconclusive, or not measured and why. Figures, never timed tests: a run reports what it
measured against them.

* naive text search through each twin on the default runtime at least x1.7 the same twin
  on torch (the whole paired interval above), and its p50 at one user at most 60 % of
  torch's;
* the FastAPI twin with batching on, on one server core, at least 185 searches/s;
* text search through each twin at least 0.95x the in-process core on the same runtime.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.analysis.aggregate import aggregate, usual_config
from bench.analysis.core_gap import CORE_SHARE_TARGET, core_gap
from bench.analysis.ratios import paired_ratio
from bench.analysis.runtimes import RuntimePair, default_runtime, runtime_pairs
from bench.results import BenchResults
from bench.stats import Interval, Outcome, judge_at_least, judge_at_most

__all__ = [
    "TargetLine",
    "runtime_targets",
    "SPEEDUP_TARGET",
    "P50_SHARE_LIMIT",
    "BATCHED_RPS_TARGET",
    "CORE_SHARE_TARGET",
]

SPEEDUP_TARGET = 1.7  # naive text search, default runtime ÷ torch
P50_SHARE_LIMIT = 0.60  # p50 at one user, default runtime ÷ torch
BATCHED_RPS_TARGET = 185.0  # FastAPI batched, one core (4x the Bootcamp server's 46/s)
NOT_RUN = "the runtime comparison did not run (the batching profile runs it)"


@dataclass(frozen=True)
class TargetLine:
    """One target, the figure measured against it, and the verdict."""

    figure: str
    target: str
    value: float
    interval: Interval
    outcome: Outcome
    detail: str  # where the figure comes from, or why it is not measured
    at_least: float | None = None  # the bound the value must reach ...
    at_most: float | None = None  # ... or stay under
    why: str = ""  # why it falls short, from the run's evidence, where the run can say

    @property
    def words(self) -> str:
        """The verdict: met, missed by how much, inconclusive, not measured and why."""
        if self.outcome == "not measured":
            return f"not measured: {self.detail}"
        if self.outcome == "met":
            return "met"
        bound = self.at_least if self.at_least is not None else self.at_most
        assert bound is not None
        if self.outcome == "inconclusive":
            return (
                "inconclusive: no interval (too few pairs or runs)"
                if not self.interval.exists
                else f"inconclusive: its interval spans {bound:g}"
            )
        gap = bound - self.value if self.at_least is not None else self.value - bound
        why = f"; why: {self.why}" if self.why else ""
        return f"missed by {gap:,.2f} ({abs(gap) / bound * 100:.0f} % of the target){why}"


def _pair_line(figure: str, pair: RuntimePair | None, why: str, *, p50: bool) -> TargetLine:
    """A runtime target: default ÷ torch requests/s at least SPEEDUP_TARGET, or the p50
    at one user at most P50_SHARE_LIMIT of torch's (``p50``)."""
    bound = P50_SHARE_LIMIT if p50 else SPEEDUP_TARGET
    at_least, at_most = (None, bound) if p50 else (bound, None)
    target = f"<= {bound:g}" if p50 else f">= {bound:g}"
    if pair is None:
        nothing = Interval(math.nan, math.nan, 0.0)
        return TargetLine(figure, target, math.nan, nothing, "not measured", why, at_least, at_most)
    value, interval = (
        (pair.p50, pair.p50_interval) if p50 else (pair.throughput, pair.throughput_interval)
    )
    judged = (
        judge_at_most(value, interval, bound) if p50 else judge_at_least(value, interval, bound)
    )
    source = (
        f"{'p50' if p50 else 'req/s'} {pair.default.config} ÷ {pair.other.config} at "
        f"{pair.users} user{'s' if pair.users != 1 else ''}, {interval.n} pairs by repeat"
    )
    detail = "no valid pair" if math.isnan(value) else source
    return TargetLine(figure, target, value, interval, judged, detail, at_least, at_most)


def _runtime_lines(results: BenchResults, twins: list[str]) -> list[TargetLine]:
    pairs = [p for p in runtime_pairs(results) if not p.batched and p.runtime == "torch"]
    lines = []
    for twin in twins:
        mine = [p for p in pairs if p.twin == twin]
        top = max(mine, key=lambda p: p.users, default=None)
        low = next((p for p in mine if p.users == 1), None)
        name = top.default_runtime if top else default_runtime(results)
        lines.append(
            _pair_line(f"{twin} naive text search, {name} ÷ torch", top, NOT_RUN, p50=False)
        )
        lines.append(
            _pair_line(
                f"{twin} p50 at one user, {name} ÷ torch",
                low,
                NOT_RUN if not mine else "the runtime comparison did not run at one user",
                p50=True,
            )
        )
    return lines


def _batched_line(results: BenchResults) -> TargetLine:
    figure = "fastapi batched text search on one core, searches/s"
    target = f">= {BATCHED_RPS_TARGET:g}"
    config = next(
        (c for c in results.configs if c.app == "fastapi" and c.variant == "batched"), None
    )
    groups = [
        a
        for a in aggregate(results)
        if config is not None and a.group == "batching" and a.config == config.label
    ]
    nothing = Interval(math.nan, math.nan, 0.0)
    if config is None or not groups:
        why = "the FastAPI twin did not run with batching on (the batching profile runs it)"
        return TargetLine(figure, target, math.nan, nothing, "not measured", why)
    if config.cpu_quota_cores != 1.0:
        quota = "no quota" if config.cpu_quota_cores is None else f"{config.cpu_quota_cores:g}"
        why = f"the server was not held to one core (quota: {quota})"
        return TargetLine(figure, target, math.nan, nothing, "not measured", why)
    top = max(groups, key=lambda a: a.users)
    value, interval = top.throughput.median, top.throughput.ci
    return TargetLine(
        figure,
        target,
        value,
        interval,
        judge_at_least(value, interval, BATCHED_RPS_TARGET),
        f"{top.config} at {top.users} users on {default_runtime(results, top.config)}, "
        f"median of {top.valid_runs} valid runs",
        at_least=BATCHED_RPS_TARGET,
    )


def _core_lines(results: BenchResults, twins: list[str]) -> list[TargetLine]:
    core = results.in_process_label
    core_runtime = default_runtime(results)
    lines = []
    for twin in twins:
        label = usual_config(results, twin)
        figure = f"{twin} text search ÷ the in-process core"
        ratio = paired_ratio(
            results, figure, "search_text", label, core, "throughput", CORE_SHARE_TARGET
        )
        runtime = default_runtime(results, label)
        gap = core_gap(results, twin)
        if runtime != core_runtime:
            why = f"the twin ran {runtime}, the core {core_runtime}"
            outcome: Outcome = "not measured"
        elif not ratio.pairs:
            why = (
                "no compared text search of both the twin and the core "
                "(the quick and full profiles run it)"
            )
            outcome = "not measured"
        else:
            why = f"throughput, both on {runtime}, {ratio.detail}"
            outcome = judge_at_least(ratio.value, ratio.interval, CORE_SHARE_TARGET)
        lines.append(
            TargetLine(
                figure,
                f">= {CORE_SHARE_TARGET:g}",
                ratio.value,
                ratio.interval,
                outcome,
                why,
                at_least=CORE_SHARE_TARGET,
                why=gap.words if gap is not None and outcome != "not measured" else "",
            )
        )
    return lines


def runtime_targets(results: BenchResults) -> list[TargetLine]:
    """Every target line, whether or not this run measured it."""
    twins = list(results.topology.get("twins", ["flask", "fastapi"]))
    return [
        *_runtime_lines(results, twins),
        _batched_line(results),
        *_core_lines(results, twins),
    ]
