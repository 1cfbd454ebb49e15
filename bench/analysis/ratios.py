"""Headline ratios and the same-server decomposition: the numbers the verdicts stand on.

A ratio compares median throughputs over repeats, with a seeded bootstrap interval. The
decomposition splits the FastAPI/Flask gap on the usual servers into a server part and a
framework part, by running both twins on the one server that speaks WSGI and ASGI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bench.analysis.aggregate import (
    Aggregate,
    aggregate,
    compared,
    shared_config,
    usual_config,
    valid_throughputs,
)
from bench.results import BenchResults
from bench.stats import Interval, bootstrap_ratio_ci

__all__ = ["Ratio", "headline_ratios", "Decomposition", "split_gap", "decompose"]


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


def _ratio(
    name: str, num: Aggregate | None, den: Aggregate | None, target: float, detail: str
) -> Ratio:
    if num is None or den is None or not valid_throughputs(num) or not valid_throughputs(den):
        return Ratio(
            name,
            math.nan,
            Interval(math.nan, math.nan, 0),
            f">= {target}",
            None,
            detail,
            ["not measured (no valid runs for one side)"],
        )
    value = num.throughput.median / den.throughput.median
    ci = bootstrap_ratio_ci([valid_throughputs(num), valid_throughputs(den)], lambda m: m[0] / m[1])
    return Ratio(
        name,
        value,
        ci,
        f">= {target}",
        value >= target,
        f"{detail}: {num.throughput.median:,.0f} / {den.throughput.median:,.0f} req/s",
    )


def headline_ratios(results: BenchResults) -> list[Ratio]:
    ratios: list[Ratio] = []
    topology = results.topology
    for app, floor in topology["floor_of"].items():
        for where in (usual_config, shared_config):
            twin = where(results, app)
            if twin is None:
                continue
            server = twin.split("/")[1]
            ratios.append(
                _ratio(
                    f"{app} /health vs bare {floor} on {server}",
                    compared(results, "health", twin),
                    compared(results, "health", where(results, floor)),
                    0.8,
                    "twin / floor throughput",
                )
            )
    inproc = compared(results, "search_text", results.in_process_label)
    for app in topology["twins"]:
        twin = usual_config(results, app)
        if twin is not None:
            ratios.append(
                _ratio(
                    f"{app} text search vs in-process core",
                    compared(results, "search_text", twin),
                    inproc,
                    0.9,
                    "twin / in-process throughput at equal CPU",
                )
            )
    return ratios


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


def split_gap(
    flask_usual: float, fastapi_usual: float, flask_same: float, fastapi_same: float
) -> tuple[float, float, float, float]:
    """(total, framework, server, framework share of the log gap; NaN when no gap)."""
    total = fastapi_usual / flask_usual
    framework = fastapi_same / flask_same
    server = total / framework
    share = math.log(framework) / math.log(total) if abs(math.log(total)) > 0.02 else math.nan
    return total, framework, server, share


def decompose(results: BenchResults) -> list[Decomposition]:
    out = []
    scenarios = sorted({a.scenario for a in aggregate(results) if a.group == "compare"})
    for scenario in scenarios:
        cells: dict[str, Aggregate | None] = {
            "flask_usual": compared(results, scenario, usual_config(results, "flask")),
            "fastapi_usual": compared(results, scenario, usual_config(results, "fastapi")),
            "flask_same": compared(results, scenario, shared_config(results, "flask")),
            "fastapi_same": compared(results, scenario, shared_config(results, "fastapi")),
        }
        if any(c is None or not valid_throughputs(c) for c in cells.values()):
            continue
        groups = [valid_throughputs(c) for c in cells.values() if c is not None]
        medians = {k: c.throughput.median for k, c in cells.items() if c is not None}
        total, framework, server, share = split_gap(
            medians["flask_usual"],
            medians["fastapi_usual"],
            medians["flask_same"],
            medians["fastapi_same"],
        )
        out.append(
            Decomposition(
                scenario,
                medians,
                total,
                framework,
                server,
                share,
                bootstrap_ratio_ci(groups, lambda m: m[1] / m[0]),
                bootstrap_ratio_ci(groups, lambda m: m[3] / m[2]),
                bootstrap_ratio_ci(groups, lambda m: (m[1] / m[0]) / (m[3] / m[2])),
            )
        )
    return out
