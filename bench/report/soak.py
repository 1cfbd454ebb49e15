"""The soak section: per twin, memory growth after the warm-up and failed requests, judged."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from bench.analysis.soak import GROWTH_LIMIT, SoakCheck
from bench.report import plots
from bench.report.blocks import Block, Figure, Heading, Paragraph, Table
from bench.report.formatting import mib, verdict_word

__all__ = ["soak_blocks"]


def _soak_misses(check: SoakCheck) -> list[str]:
    """The targets a twin missed (a failing soak), in words."""
    misses = []
    if check.memory_ok is False and check.memory is not None:
        misses.append(
            f"memory grew {check.memory.growth:+.1%} after the warm-up (target "
            f"< {GROWTH_LIMIT:.0%})"
        )
    if not check.failures_ok:
        misses.append(
            f"{check.run.failures:,} of {check.run.requests:,} requests failed "
            f"({', '.join(f'{n}: {c}' for n, c in check.run.failures_by_name.items())})"
            "; target 0"
        )
    return misses


def soak_blocks(
    checks: list[SoakCheck], plot_dir: Path, defined_profile: dict[str, Any]
) -> list[Block]:
    """The soak's table, verdict and memory plot: what a long run did to each twin."""
    rows = []
    for c in checks:
        m = c.memory
        rows.append(
            [
                c.config,
                f"{c.run.step.duration_s / 60:.1f} min",
                f"{c.run.requests:,}",
                str(c.run.failures),
                mib(m.start_bytes) if m else "–",
                mib(m.end_bytes) if m else "–",
                f"{m.growth:+.1%}" if m and not math.isnan(m.growth) else "–",
                verdict_word(c.memory_ok),
                verdict_word(c.failures_ok),
                verdict_word(c.passed),
            ]
        )
    metrics = sorted({c.run.memory.metric for c in checks if c.run.memory})
    metric = "/".join(metrics).upper() or "PSS"
    intervals = sorted({c.run.memory.interval_s for c in checks if c.run.memory})
    edges = sorted({c.memory.edge for c in checks if c.memory and c.memory.edge})
    failing = [(c, _soak_misses(c)) for c in checks if c.passed is False]
    unsure = [(c, c.inconclusive) for c in checks if c.passed is None]
    if failing:
        verdict = "**fail**: " + "; ".join(f"{c.config}: {', '.join(why)}" for c, why in failing)
    elif unsure:
        verdict = "**inconclusive**: " + "; ".join(
            f"{c.config}: {', '.join(why)}" for c, why in unsure
        )
    else:
        verdict = "**pass**: every twin stayed within both targets"
    blocks: list[Block] = [
        Heading("Soak: memory and failures over a long run"),
        Table(
            [
                "server",
                "measured",
                "requests",
                "failed requests",
                f"{metric} after warm-up",
                f"{metric} at end",
                "growth",
                f"growth < {GROWTH_LIMIT:.0%}",
                "no failed request",
                "verdict",
            ],
            rows,
        ),
        Paragraph(f"Soak verdict: {verdict}."),
        Paragraph(
            f"Memory is the {metric} of the server's whole process tree (master and "
            "workers), sampled every "
            + "/".join(f"{i:g}" for i in intervals)
            + " s with psutil while the step ran; "
            + (
                "PSS splits each page a forked worker shares with its master between them, "
                "so the sum is not inflated the way summed RSS would be. "
                if metric == "PSS"
                else "PSS was not readable, so pages a forked worker shares with its master "
                "count once per process. "
            )
            + "'After warm-up' and 'at end' are the medians of the first and last "
            + "/".join(map(str, edges))
            + " samples of the measured window, so one sample "
            "taken mid-batch sets neither; growth = (end - start) / start. Failed requests "
            "are those of the measured window that Locust counted as failed: a wrong status "
            "or body, a timeout or a connection error."
        ),
    ]
    planned = float(defined_profile.get("duration_s", 0))
    short = [c for c in checks if c.run.step.duration_s < planned]
    if short:
        blocks.append(
            Paragraph(
                f"Note: this soak measured {short[0].run.step.duration_s / 60:.1f} "
                f"min per twin, not the profile's {planned / 60:.0f}: a leak slower "
                "than that would not show."
            )
        )
    png = plots.memory_over_time(
        [(c.run, c.memory.start_bytes if c.memory else math.nan) for c in checks],
        plot_dir / "soak-memory.png",
        metric.lower(),
    )
    if png is not None:
        blocks.append(Figure("Server memory over the soak", "plots/soak-memory", png))
    return blocks
