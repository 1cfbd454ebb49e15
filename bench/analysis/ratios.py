"""Paired ratios: the headline figures, the three costs of a /health request, the decomposition.

A ratio of configuration A to configuration B comes from pairs: A's and B's runs of the same
repeat, close together in the interleaved order (``bench.plan.steps`` puts a twin right beside
its bare framework and the two twins side by side; a twin's usual and shared server are six
steps apart), so most of the machine's drift cancels inside each pair. Where the profile runs
a scenario's configurations together (/health), A and B of one server kind were measured in
the same seconds, and the pair shares all of the drift.
Its value is the median of the per-pair ratios, with an order-statistic interval over the
pairs (``bench.stats``). Two measures of speed exist:

* ``throughput``: successful responses per second at saturation (closed model), from valid
  runs only;
* ``cost``: requests per CPU-second of the server, 1e6 / (µs of server CPU per request),
  from runs at a fixed rate well below saturation, where the generator never limits.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, replace
from typing import Literal

from bench.analysis.aggregate import (
    Aggregate,
    compared,
    shared_config,
    usual_config,
    valid_for_cost,
)
from bench.analysis.core_gap import CORE_SHARE_TARGET, core_gap
from bench.results import BenchResults, RunResult
from bench.stats import Interval, Outcome, judge_at_least, median_ci

__all__ = [
    "Measure",
    "Ratio",
    "headline_ratios",
    "paired_ratio",
    "speed",
    "CostRow",
    "cost_rows",
    "Decomposition",
    "decompose",
    "AGREEMENT",
    "INTERACTION_BAND",
]

Measure = Literal["throughput", "cost"]
# Saturation and cost-per-request ratios agree when within 10 % of each other.
AGREEMENT = 1.10
# The twins gain alike from their usual servers when the interaction lies within this band.
INTERACTION_BAND = 1.10


def speed(run: RunResult, measure: Measure) -> float:
    """One run's speed by ``measure``; NaN when the run cannot carry it."""
    if measure == "throughput":
        return run.throughput_rps if run.valid and not run.step.rate else math.nan
    if valid_for_cost(run) and run.server_cpu_us_per_request > 0:
        return 1e6 / run.server_cpu_us_per_request
    return math.nan


def _by_repeat(agg: Aggregate | None, measure: Measure) -> dict[int, float]:
    if agg is None:
        return {}
    values = {r.step.repeat: speed(r, measure) for r in agg.runs}
    return {k: v for k, v in values.items() if not math.isnan(v)}


def _group(
    results: BenchResults, scenario: str, label: str | None, measure: Measure
) -> Aggregate | None:
    """The compared group that carries ``measure``: closed-model for throughput, and for
    cost the fixed-rate group where there is one (saturated runs cost less per request)."""
    groups = [
        a
        for a in (compared(results, scenario, label, open_model=o) for o in (True, False))
        if a is not None
    ]
    if measure == "throughput":
        return next((a for a in groups if not a.rate), None)
    return groups[0] if groups else None


@dataclass(frozen=True)
class Ratio:
    """A (paired) ratio of two configurations' speeds, judged against a target if it has one."""

    name: str
    measure: Measure
    value: float
    interval: Interval
    pairs: list[float]
    target: float | None  # None: shown, not targeted
    detail: str
    notes: list[str] = field(default_factory=list)
    cross_check: Ratio | None = None  # the other measure, where both exist
    why: str = ""  # why it falls short, from the run's evidence (the twins against the core)

    @property
    def outcome(self) -> Outcome | None:
        if self.target is None:
            return None if not math.isnan(self.value) else "not measured"
        return judge_at_least(self.value, self.interval, self.target)

    @property
    def agrees(self) -> bool | None:
        """Whether the cross-check lies within 10 % of this ratio (None: no cross-check)."""
        if self.cross_check is None or math.isnan(self.cross_check.value):
            return None
        return abs(math.log(self.cross_check.value / self.value)) <= math.log(AGREEMENT)


def paired_ratio(
    results: BenchResults,
    name: str,
    scenario: str,
    num: str | None,
    den: str | None,
    measure: Measure,
    target: float | None = None,
) -> Ratio:
    """num / den by ``measure``, from the repeats both configurations have."""
    a = _by_repeat(_group(results, scenario, num, measure), measure)
    b = _by_repeat(_group(results, scenario, den, measure), measure)
    common = sorted(set(a) & set(b))
    pairs = [a[r] / b[r] for r in common]
    interval = median_ci(pairs, unit="pairs")
    value = statistics.median(pairs) if pairs else math.nan
    what = "req/s" if measure == "throughput" else "req per CPU-second"
    notes = [] if pairs else [f"not measured: no repeat has a usable {measure} run on both sides"]
    detail = (
        "pairs " + ", ".join(f"{a[r]:,.0f}/{b[r]:,.0f}" for r in common) + f" {what}"
        if pairs
        else f"{measure}: –"
    )
    return Ratio(name, measure, value, interval, pairs, target, detail, notes)


def _both_measures(
    results: BenchResults,
    name: str,
    scenario: str,
    num: str | None,
    den: str | None,
    target: float | None,
) -> Ratio:
    """The cost ratio, with the saturation ratio beside it where both were measured."""
    cost = paired_ratio(results, name, scenario, num, den, "cost", target)
    saturation = paired_ratio(results, name, scenario, num, den, "throughput", target)
    if not saturation.pairs:
        return cost
    if not cost.pairs:
        return saturation
    return Ratio(
        cost.name,
        cost.measure,
        cost.value,
        cost.interval,
        cost.pairs,
        target,
        cost.detail,
        cost.notes,
        saturation,
    )


def headline_ratios(results: BenchResults) -> list[Ratio]:
    """Each twin against its bare framework (target 0.8) and each framework against the raw
    server (shown), on the twin's usual server and on the shared one; text search through
    each twin against the in-process core (target 0.95, the runtime issue's)."""
    ratios: list[Ratio] = []
    topology = results.topology
    for twin in topology["twins"]:
        bare = topology["framework_floor_of"].get(twin)
        raw = topology["raw_floor_of"].get(twin)
        for where in (usual_config, shared_config):
            label = where(results, twin)
            if label is None:
                continue
            server = label.split("/")[1]
            if bare is not None:
                ratios.append(
                    _both_measures(
                        results,
                        f"{twin} /health vs {bare} on {server}",
                        "health",
                        label,
                        where(results, bare),
                        0.8,
                    )
                )
                if raw is not None:
                    ratios.append(
                        _both_measures(
                            results,
                            f"{bare} vs {raw} on {server}",
                            "health",
                            where(results, bare),
                            where(results, raw),
                            None,
                        )
                    )
            elif raw is not None:  # results from before the framework floors existed
                ratios.append(
                    _both_measures(
                        results,
                        f"{twin} /health vs {raw} on {server}",
                        "health",
                        label,
                        where(results, raw),
                        0.8,
                    )
                )
    core = results.in_process_label
    for twin in topology["twins"]:
        label = usual_config(results, twin)
        if label is not None:
            ratio = paired_ratio(
                results,
                f"{twin} text search vs in-process core",
                "search_text",
                label,
                core,
                "throughput",
                CORE_SHARE_TARGET,
            )
            gap = core_gap(results, twin)
            ratios.append(
                replace(
                    ratio,
                    notes=[*ratio.notes, *_core_load_note(results, label)],
                    why=gap.words if gap is not None else "",
                )
            )
    return ratios


def _core_load_note(results: BenchResults, twin: str) -> list[str]:
    """The in-process core runs its configuration's threads whatever users the step names:
    say so where they differ from the twin's users, so only throughput is compared."""
    threads = {c.label: c.threads for c in results.configs}
    core = results.in_process_label
    users = {r.step.users for r in results.runs if r.step.config == twin}
    users &= {r.step.users for r in results.runs if r.step.config == core}
    if core not in threads or not users or users == {threads[core]}:
        return []
    return [
        f"the core ran from {threads[core]} threads, the twin at "
        f"{', '.join(str(u) for u in sorted(users))} users: throughput at saturation compares, "
        "latency does not"
    ]


@dataclass(frozen=True)
class CostRow:
    """Where a twin's /health CPU goes on one server: the server, the framework, our code."""

    twin: str
    server: str
    raw_us: float  # the raw callable: the server alone
    framework_us: float  # the bare framework minus the raw callable
    ours_us: float  # the twin minus the bare framework
    twin_us: float
    runs: int  # repeats behind the medians (the fewest of the three configurations)


def _median_cost(results: BenchResults, label: str | None) -> tuple[float, int]:
    agg = _group(results, "health", label, "cost")
    if agg is None or not agg.cost_us.values:
        return math.nan, 0
    return agg.cost_us.median, len(agg.cost_us.values)


def cost_rows(results: BenchResults) -> list[CostRow]:
    """Per twin and server, the µs of CPU each layer adds to one /health request."""
    rows = []
    topology = results.topology
    for twin in topology["twins"]:
        bare = topology["framework_floor_of"].get(twin)
        raw = topology["raw_floor_of"].get(twin)
        if bare is None or raw is None:
            continue
        for where in (usual_config, shared_config):
            label = where(results, twin)
            if label is None:
                continue
            twin_us, n1 = _median_cost(results, label)
            bare_us, n2 = _median_cost(results, where(results, bare))
            raw_us, n3 = _median_cost(results, where(results, raw))
            if math.isnan(twin_us) or math.isnan(bare_us) or math.isnan(raw_us):
                continue
            rows.append(
                CostRow(
                    twin,
                    label.split("/")[1],
                    raw_us,
                    bare_us - raw_us,
                    twin_us - bare_us,
                    twin_us,
                    min(n1, n2, n3),
                )
            )
    return rows


@dataclass(frozen=True)
class Decomposition:
    """The four cells (each twin on its usual server and on the shared one) and what they say.

    gap = FastAPI/Flask on their usual servers; framework = FastAPI/Flask both on the shared
    server; each twin's server effect = its usual server / the shared one; interaction =
    FastAPI's server effect / Flask's (within each repeat gap = framework x interaction; the
    medians of pairs need not multiply so). Only when the
    interaction is small does the gap split into "the framework's" and "the servers'".
    """

    scenario: str
    measure: Measure
    cells: dict[str, Aggregate]
    gap: Ratio
    framework: Ratio
    flask_server: Ratio
    fastapi_server: Ratio
    interaction: Ratio

    @property
    def interaction_small(self) -> bool | None:
        """True when the interaction's interval lies within ±10 %; None without one."""
        i = self.interaction.interval
        if not i.exists:
            return None
        return 1 / INTERACTION_BAND <= i.low and i.high <= INTERACTION_BAND

    @property
    def interaction_apart(self) -> bool | None:
        """True when the interaction's whole interval lies beyond ±10 % (so it excludes 1,
        by as clear a margin as "alike" needs): the twins gain differently from their usual
        servers; None without an interval."""
        i = self.interaction.interval
        if not i.exists:
            return None
        return i.low > INTERACTION_BAND or i.high < 1 / INTERACTION_BAND


def decompose(results: BenchResults) -> list[Decomposition]:
    """The decomposition of every compared scenario that has all four cells."""
    out = []
    for scenario in ("health", "echo", "search_vector", "search_text"):
        found = _decompose(results, scenario, "cost" if scenario == "health" else "throughput")
        if found is not None:
            out.append(found)
    return out


def _decompose(results: BenchResults, scenario: str, measure: Measure) -> Decomposition | None:
    labels = {
        "flask_usual": usual_config(results, "flask"),
        "fastapi_usual": usual_config(results, "fastapi"),
        "flask_same": shared_config(results, "flask"),
        "fastapi_same": shared_config(results, "fastapi"),
    }
    cells = {k: _group(results, scenario, v, measure) for k, v in labels.items()}
    per_repeat = {k: _by_repeat(c, measure) for k, c in cells.items()}
    if any(not v for v in per_repeat.values()):
        return None

    def ratio(name: str, num: str, den: str) -> Ratio:
        return paired_ratio(results, name, scenario, labels[num], labels[den], measure)

    repeats = sorted(set.intersection(*(set(v) for v in per_repeat.values())))
    pairs = [
        (per_repeat["fastapi_usual"][r] / per_repeat["fastapi_same"][r])
        / (per_repeat["flask_usual"][r] / per_repeat["flask_same"][r])
        for r in repeats
    ]
    interaction = Ratio(
        "interaction",
        measure,
        statistics.median(pairs) if pairs else math.nan,
        median_ci(pairs, unit="pairs"),
        pairs,
        None,
        f"{len(pairs)} repeats with all four cells",
    )
    return Decomposition(
        scenario,
        measure,
        {k: v for k, v in cells.items() if v is not None},
        ratio("gap", "fastapi_usual", "flask_usual"),
        ratio("framework", "fastapi_same", "flask_same"),
        ratio("flask server effect", "flask_usual", "flask_same"),
        ratio("fastapi server effect", "fastapi_usual", "fastapi_same"),
        interaction,
    )
