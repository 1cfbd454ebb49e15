"""The report's figures (matplotlib, Agg backend), each saved as a PNG and returned as bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: the bench runs headless

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from bench.analysis import Aggregate  # noqa: E402
from bench.results import RunResult  # noqa: E402

__all__ = ["throughput_vs_users", "percentile_bars", "latency_cdf", "ingest_timeline"]


def _save(fig: Figure, path: Path) -> bytes:
    buffer = io.BytesIO()
    # Fixed margins, not tight_layout: measuring every tick label cost seconds per figure.
    fig.subplots_adjust(left=0.3 if fig.axes and fig.axes[0].get_yticklabels()
                        and len(fig.axes[0].get_yticklabels()[0].get_text()) > 12 else 0.1,
                        right=0.97, top=0.9, bottom=0.15, hspace=0.6)
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
        ax.barh([j + i * height for j in range(len(rows))], values, height=height,
                label=name.replace("p999", "p99.9"))
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
        ax.set_title(f"{run.step.config}: search latency; dashed = ingest start/end",
                     fontsize=9)
        ax.set_xlabel("seconds since the measured window began")
        ax.set_ylabel("ms")
        ax.legend(fontsize=7)
    return _save(fig, path)
