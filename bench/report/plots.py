"""The report's figures (matplotlib, Agg backend), each saved as a PNG and returned as bytes.

One colour per twin in every figure (Flask blue, FastAPI green; their floors in lighter
shades of the same), 150 dpi, log axes with plain-number ticks, and titles that say what
to look for.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: the bench runs headless

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator  # noqa: E402

from bench.analysis.aggregate import Aggregate  # noqa: E402
from bench.analysis.batching import BATCHED  # noqa: E402
from bench.analysis.curves import CURVE_PERCENTILES, Curve  # noqa: E402
from bench.analysis.ratios import CostRow, Ratio  # noqa: E402
from bench.analysis.soak import GROWTH_LIMIT  # noqa: E402
from bench.results import RunResult  # noqa: E402
from bench.stats import Interval  # noqa: E402

__all__ = [
    "summary_figure",
    "summary_ratios",
    "throughput_figure",
    "cost_stack",
    "throughput_vs_users",
    "latency_cdf",
    "latency_cdf_figure",
    "upload_timeline",
    "memory_over_time",
    "colour",
    "load_curves_figure",
    "load_curves",
]

DPI = 150
COLOURS = {
    "flask": "#1f5fa8",
    "bare-flask": "#7aa6d6",
    "raw-wsgi": "#b9cde6",
    "fastapi": "#1e8a3a",
    "bare-fastapi": "#72c287",
    "raw-asgi": "#bfe3c8",
    "core": "#6b6b6b",
}


def colour(label: str) -> str:
    """The colour of a configuration, by its app (the label's first part)."""
    return COLOURS.get(label.split("/")[0], "#999999")


def _plain(value: float, _: object) -> str:
    return f"{value:g}"


def _log_axis(ax: Axes, which: str = "x") -> None:
    """Log scale with ticks at 1, 2, 5 x 10^k written as plain numbers."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(_plain))
    axis.set_minor_formatter(FuncFormatter(lambda v, p: ""))


def _save(fig: Figure, path: Path) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    data = buffer.getvalue()
    path.write_bytes(data)
    return data


def _ratio_axis(ax: Axes) -> None:
    """Log scale in powers of two, every tick labelled with the ratio it stands for (0.5, 1,
    2, 4 and the 0.75, 1.5, 3 between them), so x3.47 reads as 3.47 and not as about 3."""
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(LogLocator(base=2))
    ax.xaxis.set_major_formatter(FuncFormatter(_plain))
    ax.xaxis.set_minor_locator(LogLocator(base=2, subs=(1.25, 1.5, 1.75)))
    ax.xaxis.set_minor_formatter(FuncFormatter(_plain))
    ax.tick_params(axis="x", which="minor", labelsize=7)


def _coverage_words(interval: Interval) -> str:
    """How sure an interval is, for a legend: its coverage and what it stands on."""
    return f"{interval.coverage:.0%} interval ({interval.n} {interval.unit})"


# An interval that covers the median at least this often is drawn solid; below, dashed.
SURE_COVERAGE = 0.9


def summary_figure(rows: Sequence[tuple[str, Ratio, Ratio]]) -> Figure | None:
    """Per scenario, FastAPI ÷ Flask on the usual servers and on one shared server; an
    interval below 90 % coverage (three repeats: 75 %) dashed and named in the legend apart
    from a 94 % one (five repeats)."""
    shown = [(s, u, x) for s, u, x in rows if u.pairs or x.pairs]
    if not shown:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.75 * len(shown)))
    named: set[str] = set()
    for i, (_, usual, shared) in enumerate(shown):
        for offset, ratio, where, marker in (
            (0.15, usual, "each twin on its usual server", "o"),
            (-0.15, shared, "both twins on one shared server", "s"),
        ):
            if not ratio.pairs:
                continue
            sure = ratio.interval.exists and ratio.interval.coverage >= SURE_COVERAGE
            low = ratio.interval.low if ratio.interval.exists else ratio.value
            high = ratio.interval.high if ratio.interval.exists else ratio.value
            label = f"{where}, " + (
                _coverage_words(ratio.interval) if ratio.interval.exists else "no interval"
            )
            bars = ax.errorbar(
                [ratio.value],
                [i + offset],
                xerr=[[ratio.value - low], [high - ratio.value]],
                fmt=marker,
                color="#333333" if marker == "o" else "#999999",
                capsize=4,
                label=None if label in named else label,
            )
            named.add(label)
            if not sure:
                for line in bars[2]:
                    line.set_linestyle("--")
    ax.axvline(1.0, color="#c0392b", linewidth=1)
    ax.set_yticks(range(len(shown)), [s for s, _, _ in shown])
    _ratio_axis(ax)
    ax.set_xlabel("FastAPI ÷ Flask speed (right of the red line: FastAPI faster)")
    ax.set_title(
        "Where FastAPI leads and where it does not (median of pairs, with interval; "
        "dashed: under 90 % coverage)",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3, axis="x", which="both")
    return fig


def summary_ratios(rows: Sequence[tuple[str, Ratio, Ratio]], path: Path) -> bytes | None:
    fig = summary_figure(rows)
    return None if fig is None else _save(fig, path)


def cost_stack(rows: Sequence[CostRow], path: Path) -> bytes | None:
    """Server, framework and our code, stacked: the µs of CPU of one /health request."""
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.6 * len(rows)))
    names = [f"{r.twin} on {r.server}" for r in rows]
    left = [0.0] * len(rows)
    for part, attr, shade in (
        ("server (raw callable)", "raw_us", "#b0b0b0"),
        ("framework (bare app − raw)", "framework_us", "#7aa6d6"),
        ("our code (twin − bare app)", "ours_us", "#e08e3c"),
    ):
        values = [max(getattr(r, attr), 0.0) for r in rows]
        ax.barh(names, values, left=left, color=shade, label=part)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_xlabel("server CPU per /health request, µs (medians over repeats)")
    ax.set_title("Where a /health request's CPU goes: the server, the framework, our code")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


MARKERS = ("o", "^", "D", "v")


def throughput_figure(aggs: Sequence[Aggregate], scenario: str) -> Figure | None:
    """Throughput against concurrency per configuration: colour by twin, a batched
    configuration dashed with square markers beside its naive partner's solid line and
    circles, named so in the legend; the y axis starts at 0, so heights compare."""
    closed = [a for a in aggs if a.scenario == scenario and not a.rate and a.valid_runs]
    configs = sorted({a.config for a in closed})
    if len({a.users for a in closed}) < 2:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 4))
    # One colour per twin; a marker per server and threads of the same twin; batched dashed
    # with hollow markers.
    shapes: dict[str, list[str]] = {}
    for config in configs:
        kinds = shapes.setdefault(config.split("/")[0], [])
        if config.removesuffix(BATCHED) not in kinds:
            kinds.append(config.removesuffix(BATCHED))
    for config in configs:
        points = sorted((a.users, a.throughput.median) for a in closed if a.config == config)
        batched = config.endswith(BATCHED)
        kinds = shapes[config.split("/")[0]]
        ax.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            marker=MARKERS[kinds.index(config.removesuffix(BATCHED)) % len(MARKERS)],
            markerfacecolor="white" if batched else colour(config),
            linestyle="--" if batched else "-",
            label=config.removesuffix(BATCHED) + (" (batched)" if batched else " (naive)"),
            color=colour(config),
        )
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(FuncFormatter(_plain))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("concurrent users (closed model)")
    ax.set_ylabel("requests/s (median of repeats)")
    ax.set_title(f"{scenario}: where throughput stops growing with concurrency")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return fig


def throughput_vs_users(aggs: Sequence[Aggregate], scenario: str, path: Path) -> bytes | None:
    fig = throughput_figure(aggs, scenario)
    return None if fig is None else _save(fig, path)


def latency_cdf_figure(runs: Sequence[RunResult], scenario: str) -> Figure | None:
    """The twins' latency distributions, first valid repeat of each. The in-process core is
    left out: it runs its configuration's threads, not the twins' users, so its latency
    would sit beside theirs at another concurrency."""
    chosen: dict[str, RunResult] = {}
    for run in runs:
        if run.step.scenario == scenario and run.step.group == "compare" and run.cdf_ms:
            if run.step.config.split("/")[0] in ("flask", "fastapi") and run.valid:
                chosen.setdefault(run.step.config, run)  # the first valid repeat of each
    if not chosen:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for config, run in sorted(chosen.items()):
        n = len(run.cdf_ms)
        shared = "granian" in config
        ax.plot(
            run.cdf_ms,
            [(i + 1) / n for i in range(n)],
            label=f"{config} ({run.step.users} users)",
            color=colour(config),
            linestyle="--" if shared else "-",
        )
    _log_axis(ax, "x")
    ax.set_xlabel("latency, ms")
    ax.set_ylabel("fraction of requests at or below")
    ax.set_title(f"{scenario}: latency distribution (further left is faster; first repeat)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return fig


def latency_cdf(runs: Sequence[RunResult], scenario: str, path: Path) -> bytes | None:
    fig = latency_cdf_figure(runs, scenario)
    return None if fig is None else _save(fig, path)


def upload_timeline(runs: Sequence[RunResult], path: Path) -> bytes | None:
    """Search latency over time beside each upload, the upload shaded from start to end."""
    chosen = [r for r in runs if r.phases and r.timeline]
    if not chosen:
        return None
    fig, axes = plt.subplots(
        len(chosen), 1, figsize=(7.5, 2.3 * len(chosen)), squeeze=False, sharex=True
    )
    for ax, run in zip(axes[:, 0], chosen, strict=True):
        t = [b["t"] for b in run.timeline]
        c = colour(run.step.config)
        ax.plot(t, [b["p50"] for b in run.timeline], color=c, label="search p50")
        ax.plot(
            t,
            [b["p99"] for b in run.timeline],
            color=c,
            linestyle=":",
            label="search p99 (the slowest where a 0.5 s bin has < 100)",
        )
        start = next((float(e["t"]) for e in run.events if e["event"] == "job_start"), None)
        end = next((float(e["t"]) for e in run.events if e["event"] == "job_end"), None)
        if start is not None:
            ax.axvspan(
                start,
                end if end is not None else t[-1],
                color="#f3d9b1",
                alpha=0.6,
                label=f"{run.job.get('kind', 'upload')} running",
            )
        _log_axis(ax, "y")
        ax.set_title(
            f"{run.step.config}: {run.job.get('kind', 'upload')} of "
            f"{run.job.get('rows', '?')} rows",
            fontsize=9,
        )
        ax.set_ylabel("ms")
        ax.legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("seconds since the measured window began")
    fig.suptitle("Do searches keep flowing while an upload runs? (shaded: the upload)")
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
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for run, start in chosen:
        assert run.memory is not None
        c = colour(run.step.config)
        ax.plot(
            [t / 60 for t in run.memory.t_s],
            [b / 2**20 for b in run.memory.mem_bytes],
            label=run.step.config,
            color=c,
        )
        if not math.isnan(start):
            ax.axhline(start * (1 + GROWTH_LIMIT) / 2**20, color=c, linestyle=":", linewidth=1)
    ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("minutes since the warm-up ended (dashed)")
    ax.set_ylabel(f"{metric.upper()}, MiB (whole process tree)")
    ax.set_title(f"Does memory stay under its limit? (dotted: {GROWTH_LIMIT:.0%} above the start)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, path)


# One line style per percentile in the curves: the twin is the colour, the percentile the dash.
PERCENTILE_STYLES = {50.0: "-", 95.0: "--", 99.0: ":"}
CURVE_TITLES = {"search_text": "text search", "echo": "/echo"}


def load_curves_figure(curves: Sequence[Curve]) -> Figure | None:
    """Per scenario, latency (p50, p95, p99) and throughput against closed users, each twin
    on its usual server. A percentile too few samples carry is not drawn (the table beside
    says so, with the count)."""
    scenarios = [s for s in CURVE_TITLES if any(c.scenario == s for c in curves)]
    if not scenarios:
        return None
    fig, axes = plt.subplots(len(scenarios), 2, figsize=(10, 3.6 * len(scenarios)), squeeze=False)
    for row, scenario in enumerate(scenarios):
        latency_ax, rate_ax = axes[row]
        users: set[int] = set()
        for curve in (c for c in curves if c.scenario == scenario):
            xs = [p.users for p in curve.points]
            users.update(xs)
            for q in CURVE_PERCENTILES:
                ys = [p.latency_ms[q] for p in curve.points]
                if any(not math.isnan(y) for y in ys):
                    latency_ax.plot(
                        xs,
                        ys,
                        marker="o",
                        markersize=3,
                        color=colour(curve.config),
                        linestyle=PERCENTILE_STYLES[q],
                        label=f"{curve.config} p{q:g}",
                    )
            rate_ax.plot(
                xs,
                [p.rps for p in curve.points],
                marker="o",
                color=colour(curve.config),
                label=curve.config,
            )
        title = CURVE_TITLES[scenario]
        for ax in (latency_ax, rate_ax):
            ax.set_xscale("log", base=2)
            ax.set_xticks(sorted(users), [str(u) for u in sorted(users)])
            ax.minorticks_off()
            ax.set_xlabel("closed users")
            ax.grid(alpha=0.3)
        _log_axis(latency_ax, "y")
        latency_ax.set_ylabel("latency, ms")
        latency_ax.set_title(f"{title}: latency against load (lower is faster)")
        latency_ax.legend(fontsize=6)
        rate_ax.set_ylim(bottom=0)
        rate_ax.set_ylabel("requests/s")
        rate_ax.set_title(f"{title}: throughput against load (flat: saturated)")
        rate_ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def load_curves(curves: Sequence[Curve], path: Path) -> bytes | None:
    fig = load_curves_figure(curves)
    return None if fig is None else _save(fig, path)
