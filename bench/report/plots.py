"""The report's figures (matplotlib, Agg backend), each saved as a PNG and returned as bytes."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: the bench runs headless

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from bench.analysis.aggregate import Aggregate  # noqa: E402
from bench.analysis.soak import GROWTH_LIMIT  # noqa: E402
from bench.results import RunResult  # noqa: E402

__all__ = [
    "throughput_vs_users",
    "percentile_bars",
    "latency_cdf",
    "ingest_timeline",
    "memory_over_time",
]


def _save(fig: Figure, path: Path) -> bytes:
    buffer = io.BytesIO()
    # Fixed margins, not tight_layout: measuring every tick label cost seconds per figure.
    fig.subplots_adjust(
        left=0.3
        if fig.axes
        and fig.axes[0].get_yticklabels()
        and len(fig.axes[0].get_yticklabels()[0].get_text()) > 12
        else 0.1,
        right=0.97,
        top=0.9,
        bottom=0.15,
        hspace=0.6,
    )
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    data = buffer.getvalue()
    path.write_bytes(data)
    return data


def throughput_vs_users(aggs: Sequence[Aggregate], scenario: str, path: Path) -> bytes | None:
    closed = [a for a in aggs if a.scenario == scenario and not a.rate]
    configs = sorted({a.config for a in closed})
    if not configs:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for config in configs:
        points = sorted((a.users, a.throughput.median) for a in closed if a.config == config)
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=config)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("concurrent users (closed model)")
    ax.set_ylabel("requests/s (median of repeats)")
    ax.set_title(f"{scenario}: throughput against concurrency")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def percentile_bars(aggs: Sequence[Aggregate], scenario: str, path: Path) -> bytes | None:
    rows = [a for a in aggs if a.scenario == scenario and a.group == "compare"]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(rows)))
    names = ("p50", "p99", "p999")
    height = 0.8 / len(names)
    for i, name in enumerate(names):
        values = [getattr(a, name).median for a in rows]
        ax.barh(
            [j + i * height for j in range(len(rows))],
            values,
            height=height,
            label=name.replace("p999", "p99.9"),
        )
    ax.set_yticks([j + height for j in range(len(rows))], [a.config for a in rows], fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("latency, ms (median over repeats; log scale)")
    ax.set_title(f"{scenario}: latency percentiles")
    ax.legend(fontsize=7)
    return _save(fig, path)


def latency_cdf(runs: Sequence[RunResult], scenario: str, path: Path) -> bytes | None:
    chosen: dict[str, RunResult] = {}
    for run in runs:
        if run.step.scenario == scenario and run.step.group == "compare" and run.cdf_ms:
            chosen.setdefault(run.step.config, run)  # the first repeat of each
    if not chosen:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for config, run in chosen.items():
        n = len(run.cdf_ms)
        ax.plot(run.cdf_ms, [(i + 1) / n for i in range(n)], label=config)
    ax.set_xscale("log")
    ax.set_xlabel("latency, ms (log scale)")
    ax.set_ylabel("fraction of requests")
    ax.set_title(f"{scenario}: latency CDF (first repeat)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def ingest_timeline(runs: Sequence[RunResult], path: Path) -> bytes | None:
    chosen = [r for r in runs if r.step.scenario == "ingest_under_load" and r.timeline]
    if not chosen:
        return None
    fig, axes = plt.subplots(len(chosen), 1, figsize=(7, 2.6 * len(chosen)), squeeze=False)
    for ax, run in zip(axes[:, 0], chosen, strict=True):
        t = [b["t"] for b in run.timeline]
        ax.plot(t, [b["p50"] for b in run.timeline], label="p50")
        ax.plot(t, [b["p99"] for b in run.timeline], label="p99")
        for event in run.events:
            if event["event"] in ("ingest_start", "ingest_end"):
                ax.axvline(float(event["t"]), color="grey", linestyle="--")
        ax.set_yscale("log")
        ax.set_title(f"{run.step.config}: search latency; dashed = ingest start/end", fontsize=9)
        ax.set_xlabel("seconds since the measured window began")
        ax.set_ylabel("ms")
        ax.legend(fontsize=7)
    return _save(fig, path)


def memory_over_time(
    runs: Sequence[tuple[RunResult, float]], path: Path, metric: str
) -> bytes | None:
    """Each run's server memory, with its start figure plus the growth limit dotted.

    ``runs`` pairs each run with its memory after the warm-up (bytes) as the report
    computed it, so the dotted line is exactly the limit the verdict used.
    """
    chosen = [(r, start) for r, start in runs if r.memory is not None and r.memory.t_s]
    if not chosen:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for run, start in chosen:
        assert run.memory is not None
        line = ax.plot(
            [t / 60 for t in run.memory.t_s],
            [b / 2**20 for b in run.memory.mem_bytes],
            label=run.step.config,
        )
        if not math.isnan(start):
            ax.axhline(
                start * (1 + GROWTH_LIMIT) / 2**20,
                color=line[0].get_color(),
                linestyle=":",
                linewidth=1,
            )
    ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("minutes since the warm-up ended (dashed)")
    ax.set_ylabel(f"{metric.upper()}, MiB (whole process tree)")
    ax.set_title(f"server memory; dotted = {GROWTH_LIMIT:.0%} above the start (the limit)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, path)
