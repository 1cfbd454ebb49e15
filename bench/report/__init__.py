"""``python -m bench report DIR``: report.md and a self-contained report.html from results.json.

A report is a function of its results folder alone: everything it shows (figures, the
profile, the topology, dev-cost counts, versions, the commit) was recorded when the run
happened, so re-rendering an old folder after the code changed gives the same report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from bench.analysis.aggregate import aggregate
from bench.analysis.claims import evaluate_claims
from bench.analysis.ingest import ingest_effect
from bench.analysis.soak import GROWTH_LIMIT, soak_checks
from bench.report import plots
from bench.report.blocks import (
    Block,
    Figure,
    Heading,
    Paragraph,
    Table,
    render_html,
    render_markdown,
)
from bench.report.formatting import num, verdict_word
from bench.report.sections import (
    decomposition_blocks,
    env_rows,
    headline,
    memory_cell,
    open_table,
    scenario_table,
)
from bench.report.soak import soak_blocks
from bench.results import BenchResults, read_results

__all__ = ["write_report", "ReportPaths", "build_blocks"]


@dataclass(frozen=True)
class ReportPaths:
    markdown: Path
    html: Path
    headline_text: str


def build_blocks(results: BenchResults, out: Path) -> tuple[list[Block], str]:
    """Every block of the report, and the headline as plain text for the terminal."""
    aggs = aggregate(results)
    env = results.environment
    busy = bool(env.get("allowed_busy"))
    title = f"twinbench report — {results.profile} profile"
    blocks: list[Block] = [Heading(title + (" — MEASURED ON A BUSY MACHINE" if busy else ""), 1)]
    if busy:
        blocks.append(
            Paragraph(
                f"**This run was told to start on a busy machine** (--allow-busy): other "
                f"processes used {env.get('background_cores')} cores before it began "
                f"({'; '.join(env.get('busiest_processes', [])) or 'no single process'}). "
                "Its figures are not comparable with a quiet run's; do not quote them."
            )
        )
    profile = results.environment.get("profile", {})
    intro = (
        f"{len(results.runs)} measured steps, {len(results.configs)} configurations, "
        f"{profile.get('duration_s', '?')} s measured per step after "
        f"{profile.get('warmup_s', '?')} s of warm-up, "
        + (
            "one run of each compared step."
            if profile.get("repeats") == 1
            else f"{profile.get('repeats', '?')} repeats of the compared steps, interleaved (ABAB)."
        )
    )
    if results.profile == "quick":
        intro += (
            " The quick profile uses fewer than 5 repeats to fit its 10-minute budget: "
            "with 3 repeats the widest interval (min..max) covers the median only "
            "75 % of the time, and the table says so; use the full profile for 95 %."
        )
    blocks.append(Paragraph(intro))
    for note in results.notes:
        blocks.append(Paragraph(f"Note: {note}"))
    disturbed = sum(any("other processes" in n for n in r.notes) for r in results.runs)
    if disturbed:
        blocks.append(
            Paragraph(
                f"**Note: in {disturbed} of {len(results.runs)} steps other "
                "processes used more than a quarter of a core**. Figures from a "
                "machine shared with other work are noisy; rerun on a quiet "
                "machine before quoting them."
            )
        )
    shared = results.environment.get("milvus", {}).get("shared_milvus")
    if shared:
        blocks.append(Paragraph(f"Note: {shared}."))
    plot_dir = out / "plots"
    plot_dir.mkdir(exist_ok=True)
    # A soak exists to answer its two targets: they come first.
    checks = soak_checks(results)
    if checks:
        blocks += soak_blocks(checks, plot_dir, results.environment.get("profile_as_defined", {}))
    headers, rows, misses = headline(results)
    blocks += [Heading("Headline ratios"), Table(headers, rows)]
    blocks += [Paragraph(f"Target missed — {m}") for m in misses]
    text = "\n".join(
        [
            f"  soak {c.config}: memory "
            + (f"{c.memory.growth:+.1%}" if c.memory and not math.isnan(c.memory.growth) else "–")
            + f" (target < {GROWTH_LIMIT:.0%}, {verdict_word(c.memory_ok)}), failed requests "
            f"{c.run.failures} (target 0, {verdict_word(c.failures_ok)})"
            for c in checks
        ]
        + [f"  {r[0]}: {r[1]} (target {r[3]}, met: {r[4]})" for r in rows]
    ).replace("**", "")
    claims = evaluate_claims(results)
    blocks += [
        Heading("The claims, checked"),
        Table(
            ["topic", "claim", "verdict", "evidence"],
            [[c.topic, c.claim, c.verdict, c.evidence] for c in claims],
        ),
    ]
    blocks += [
        Heading("Server or framework? (same-server decomposition)"),
        *decomposition_blocks(results),
    ]
    headers, rows = scenario_table(results)
    blocks += [Heading("Every configuration, every scenario"), Table(headers, rows)]
    headers, rows = open_table(results)
    if rows:
        blocks += [
            Heading("Open model: fixed rate, latency from the intended send time"),
            Paragraph(
                "A request that waits behind a stalled one is counted from when it "
                "should have been sent (coordinated-omission correction), so a "
                "queue cannot hide."
            ),
            Table(headers, rows),
        ]
    effects = [
        e
        for e in (ingest_effect(r) for r in results.runs if r.step.scenario == "ingest_under_load")
        if e is not None
    ]
    if effects:
        blocks += [
            Heading("Searching while an ingest job runs"),
            Table(
                [
                    "config",
                    "p50 before",
                    "p99 before",
                    "p50 during",
                    "p99 during",
                    "job seconds",
                    "job status",
                ],
                [
                    [
                        e.config,
                        num(e.p50_before),
                        num(e.p99_before),
                        num(e.p50_during),
                        num(e.p99_during),
                        num(e.ingest_s),
                        e.status,
                    ]
                    for e in effects
                ],
            ),
        ]
    blocks.append(Heading("Figures"))
    figures = [
        (
            "Throughput against concurrency: text search",
            plots.throughput_vs_users(aggs, "search_text", plot_dir / "throughput-search_text.png"),
        ),
        (
            "Latency percentiles: /health",
            plots.percentile_bars(aggs, "health", plot_dir / "percentiles-health.png"),
        ),
        (
            "Latency percentiles: text search",
            plots.percentile_bars(aggs, "search_text", plot_dir / "percentiles-search_text.png"),
        ),
        (
            "Latency CDF: /health",
            plots.latency_cdf(results.runs, "health", plot_dir / "cdf-health.png"),
        ),
        (
            "Latency CDF: text search",
            plots.latency_cdf(results.runs, "search_text", plot_dir / "cdf-search_text.png"),
        ),
        (
            "Search latency over time during an ingest job",
            plots.ingest_timeline(results.runs, plot_dir / "ingest-timeline.png"),
        ),
    ]
    for title, png in figures:
        if png is not None:
            name = title.lower().replace(":", "").replace(" ", "-")
            blocks.append(Figure(title, f"plots/{name}", png))
    blocks += [Heading("Environment"), Table(["what", "value"], env_rows(results))]
    blocks += [
        Heading("Configurations (exact command lines)"),
        Table(
            ["label", "role", "workers", "threads", "keep-alive", "CPUs", "quota", "argv"],
            [
                [
                    c.label,
                    c.role,
                    str(c.workers),
                    str(c.threads),
                    c.keep_alive,
                    str(c.cpus),
                    str(c.cpu_quota_cores),
                    " ".join(Path(c.argv[0]).name.split()) + " " + " ".join(c.argv[1:]),
                ]
                for c in results.configs
            ],
        ),
    ]
    blocks += [
        Heading("Every run"),
        Table(
            [
                "run",
                "scenario",
                "config",
                "load",
                "repeat",
                "req/s",
                "p99 ms",
                "errors",
                "gen CPU %",
                "server memory MiB (growth)",
                "valid / why not",
            ],
            [
                [
                    r.run_id,
                    r.step.scenario,
                    r.step.config,
                    f"{r.step.rate:g} req/s" if r.step.rate else f"{r.step.users} users",
                    str(r.step.repeat + 1),
                    num(r.throughput_rps),
                    num(r.latency.p99, 2),
                    f"{r.failures}/{r.requests}",
                    num(r.generator_cpu * 100, 0),
                    memory_cell(r),
                    ("yes" if r.valid else "no: " + "; ".join(r.invalid_reasons))
                    + "".join(f" ({n})" for n in r.notes),
                ]
                for r in results.runs
            ],
        ),
    ]
    blocks += [
        Heading("Method"),
        Paragraph(
            "Percentiles are nearest-rank over every request of the measured window (raw samples "
            "kept in raw/, gzipped), never Locust's rounded statistics. Medians over repeats carry "
            "a distribution-free order-statistic interval with its real coverage; ratios carry a "
            "seeded percentile-bootstrap 95 % interval. Each server's memory (the PSS of its "
            "whole process tree) is sampled throughout every step; 'Every run' shows it at the "
            "start and end of the measured window. A run whose busiest load-generator "
            "process passed 80 % of a core, or with more than 1 % errors, is invalid and excluded. "
            "Servers and Milvus run on their own CPUs, the generator on the others; every server "
            "gets the same CPU quota when one is set. Development cost counts lines by the rules "
            "in bench/run/devcost.py, at the time of the run."
        ),
    ]
    return blocks, text


def write_report(directory: Path) -> ReportPaths:
    results = read_results(directory)
    blocks, text = build_blocks(results, directory)
    markdown = directory / "report.md"
    page = directory / "report.html"
    markdown.write_text(render_markdown(blocks), encoding="utf-8")
    page.write_text(render_html(blocks, f"twinbench {results.profile}"), encoding="utf-8")
    return ReportPaths(markdown, page, "headline ratios:\n" + text)
