"""The runtime comparison: text search through each twin on another model runtime (torch)
against the same twin on the run's default runtime, naive and batched, paired by repeat.

A configuration told a runtime carries it in its recorded settings (``app_env``); its
partner is the same twin, server, workers and threads with every other setting equal. The
two run back to back in the batching steps (the order reversed on odd repeats), so each
ratio is the median of per-repeat pairs with an interval over the pairs, as every other
ratio in the report. Ratios read default ÷ other: x2 in requests/s means the default
runtime served twice as many searches; x0.5 in p50, that it answered in half the time.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from bench.analysis.aggregate import Aggregate, aggregate
from bench.results import BenchResults, RunResult, ServerConfig
from bench.stats import Interval, median_ci

__all__ = ["EMBED_BACKEND", "RuntimePair", "runtime_pairs", "default_runtime", "runtime_factor"]

# The setting a configuration of the runtime comparison was told (bench.plan.topology).
EMBED_BACKEND = "TWINBENCH_EMBED_BACKEND"


@dataclass(frozen=True)
class RuntimePair:
    """One twin configuration at one load: on the default runtime and on another one."""

    default: Aggregate
    other: Aggregate
    default_runtime: str
    runtime: str
    batched: bool
    throughput: float  # median over pairs of default / other requests/s
    throughput_interval: Interval
    p50: float  # median over pairs of default / other p50
    p50_interval: Interval

    @property
    def users(self) -> int:
        return self.default.users

    @property
    def twin(self) -> str:
        return self.default.config.split("/")[0]

    @property
    def kind(self) -> str:
        return "batched" if self.batched else "naive"


def default_runtime(results: BenchResults, label: str | None = None) -> str:
    """The runtime a configuration said it ran (/health), else the run's settings'."""
    said = results.environment.get("model_runtimes", {}) or {}
    if label is not None and label in said:
        return str(said[label])
    settings = results.environment.get("settings", {}) or {}
    return str(settings.get("embed_backend", "the default runtime"))


def _partner(results: BenchResults, config: ServerConfig) -> ServerConfig | None:
    """The same configuration on the default runtime: every other setting equal."""
    for other in results.configs:
        if (
            (other.app, other.server, other.workers, other.threads)
            == (config.app, config.server, config.workers, config.threads)
            and EMBED_BACKEND not in other.app_env
            and _settings(other) == _settings(config)
        ):
            return other
    return None


def _settings(config: ServerConfig) -> dict[str, str]:
    """What a configuration was told besides its runtime (where a server writes its batch
    sizes differs per configuration: not a setting)."""
    skip = (EMBED_BACKEND, "TWINBENCH_SEARCH_BATCH_STATS_DIR")
    return {k: v for k, v in config.app_env.items() if k not in skip}


def _paired(a: dict[int, RunResult], b: dict[int, RunResult], field: str) -> list[float]:
    values = []
    for repeat in sorted(set(a) & set(b)):
        x = a[repeat].throughput_rps if field == "throughput" else a[repeat].latency.p50
        y = b[repeat].throughput_rps if field == "throughput" else b[repeat].latency.p50
        if y and not math.isnan(x) and not math.isnan(y):
            values.append(x / y)
    return values


def runtime_pairs(results: BenchResults) -> list[RuntimePair]:
    """Every configuration told another runtime, beside its default-runtime partner, at
    every load both ran (ordered by twin, naive before batched, load)."""
    groups = {(a.config, a.users): a for a in aggregate(results) if a.group == "batching"}
    pairs = []
    for config in results.configs:
        runtime = config.app_env.get(EMBED_BACKEND)
        partner = _partner(results, config) if runtime else None
        if runtime is None or partner is None:
            continue
        for (label, users), other in sorted(groups.items()):
            default = groups.get((partner.label, users))
            if label != config.label or default is None:
                continue
            a = {r.step.repeat: r for r in default.runs if r.valid}
            b = {r.step.repeat: r for r in other.runs if r.valid}
            speed, p50 = _paired(a, b, "throughput"), _paired(a, b, "p50")
            pairs.append(
                RuntimePair(
                    default,
                    other,
                    default_runtime(results, partner.label),
                    runtime,
                    partner.variant == "batched",
                    statistics.median(speed) if speed else math.nan,
                    median_ci(speed, unit="pairs"),
                    statistics.median(p50) if p50 else math.nan,
                    median_ci(p50, unit="pairs"),
                )
            )
    return sorted(pairs, key=lambda p: (p.twin, p.batched, p.users))


def runtime_factor(results: BenchResults) -> dict[str, RuntimePair]:
    """Per twin, what the runtime does to naive text search at saturation: the pair at the
    highest load the naive comparison ran ({} when the runtime comparison did not run)."""
    found: dict[str, RuntimePair] = {}
    for pair in runtime_pairs(results):
        if not pair.batched and (pair.twin not in found or pair.users > found[pair.twin].users):
            found[pair.twin] = pair
    return found
