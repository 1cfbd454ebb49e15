"""``python -m bench report DIR``: report.md and a self-contained report.html from results.json.

A report is a function of its results folder alone: everything it shows (figures, the
profile, the topology, dev-cost counts, versions, the commit) was recorded when the run
happened, so re-rendering an old folder after the code changed gives the same report.

Its order is the reader's: the summary figure and three sentences, the nine verdicts with
their rules, the headline ratios, then the details.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from bench.analysis.aggregate import aggregate
from bench.analysis.claims import evaluate_claims
from bench.analysis.soak import GROWTH_LIMIT, SoakCheck, soak_checks
from bench.analysis.targets import runtime_targets
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
from bench.report.formatting import run_length, verdict_word
from bench.report.runtime import pool_words, runtime_blocks, target_blocks
from bench.report.sections import (
    batching_blocks,
    cost_blocks,
    curve_blocks,
    decomposition_blocks,
    headline_table,
    point_read_blocks,
    samples_paragraph,
    summary_blocks,
    upload_blocks,
)
from bench.report.soak import soak_blocks
from bench.report.tables import (
    config_table,
    env_table,
    open_table,
    pitfalls_on,
    runs_table,
    scenario_table,
)
from bench.results import BenchResults, read_results
from bench.stats import MIN_SAMPLES, SAMPLES_BEYOND

__all__ = ["write_report", "ReportPaths", "build_blocks"]


@dataclass(frozen=True)
class ReportPaths:
    markdown: Path
    html: Path
    headline_text: str


def _intro(results: BenchResults) -> list[Block]:
    env = results.environment
    blocks: list[Block] = []
    if env.get("allowed_busy"):
        blocks.append(
            Paragraph(
                f"**This run was told to start on a busy machine** (--allow-busy): other "
                f"processes used {env.get('background_cores')} cores before it began "
                f"({'; '.join(env.get('busiest_processes', [])) or 'no single process'}). "
                "Its figures are not comparable with a quiet run's; do not quote them."
            )
        )
    profile = env.get("profile", {})
    repeats = int(profile.get("repeats", 0) or 0)
    fewer: dict[str, int] = profile.get("compare_repeats", {}) or {}
    intro = (
        f"{len(results.runs)} measured steps over {len(results.configs)} configurations, "
        f"{run_length(results)}. Measured per step, after its warm-up: "
        f"{step_durations_text(results)}. "
        + (
            "one run of each compared step, so no figure has an interval: every ratio is "
            "indicative only."
            if repeats == 1
            else f"{repeats} repeats of each comparison"
            + "".join(f" ({n} of {scenario})" for scenario, n in sorted(fewer.items()))
            + ", interleaved (ABBA...). "
        )
    )
    together = profile.get("together") or ()
    if together:
        intro += (
            f"{', '.join(together)}: the one-worker configurations on their usual servers "
            "run at the same time, then those on the shared server, each at the step's full "
            "rate and each read from its own CPU account, so the machine's drift falls on "
            "every side of a ratio alike. "
        )
    fewest = min([repeats, *fewer.values()]) if repeats else 0
    if 1 < fewest < 5:
        intro += (
            f"With {fewest} repeats an interval is the range of {fewest} runs (or "
            f"pairs) and covers the median only {1 - 2 / 2**fewest:.0%} of the time: "
            "those ratios are indicative; five repeats give 94 %."
        )
    blocks.append(Paragraph(intro))
    blocks += [Paragraph(f"Note: {note}") for note in results.notes]
    shared = env.get("milvus", {}).get("shared_milvus")
    if shared:
        blocks.append(Paragraph(f"Note: {shared}."))
    return blocks


SCENARIO_NAMES = {
    "health": "/health",
    "echo": "/echo",
    "search_text": "text search",
    "search_vector": "vector search",
    "point_reads": "point reads",
    "mixed": "mixed",
    "ingest_under_load": "searches beside an upload job",
    "ingest_blocking_under_load": "searches beside a blocking upload",
    "soak": "soak",
}


def step_durations_text(results: BenchResults) -> str:
    """What each scenario's steps really measured, from the steps' own durations (a profile
    gives different scenarios different windows: one figure for all would be wrong)."""
    windows: dict[str, set[tuple[float, float]]] = {}
    for run in results.runs:
        if run.step.group == "calibration":
            continue
        name = SCENARIO_NAMES.get(run.step.scenario, run.step.scenario)
        if run.step.group == "batching":
            name += " (batching)"
        windows.setdefault(name, set()).add((run.step.duration_s, run.step.warmup_s))
    return "; ".join(
        f"{name} "
        + " or ".join(f"{duration:g} s after {warmup:g} s" for duration, warmup in sorted(pairs))
        for name, pairs in windows.items()
    )


def build_blocks(results: BenchResults, out: Path) -> tuple[list[Block], str]:
    """Every block of the report, and the headline as plain text for the terminal."""
    plot_dir = out / "plots"
    plot_dir.mkdir(exist_ok=True)
    busy = " — MEASURED ON A BUSY MACHINE" if results.environment.get("allowed_busy") else ""
    pitfalls = pitfalls_on(results)
    if pitfalls:
        busy += " — WITH PITFALL SWITCHES ON: " + ", ".join(pitfalls)
    blocks: list[Block] = [Heading(f"twinbench report — {results.profile} profile{busy}", 1)]
    blocks += _intro(results)
    # A soak exists to answer its two targets: they come first.
    checks = soak_checks(results)
    if checks:
        blocks += soak_blocks(checks, plot_dir, results.environment.get("profile_as_defined", {}))
    blocks += [Heading("Summary"), *summary_blocks(results, plot_dir)]
    claims = evaluate_claims(results)
    blocks += [
        Heading("The claims, checked"),
        Table(
            ["topic", "claim", "verdict", "evidence kind", "rule", "evidence"],
            [[c.topic, c.claim, c.text, c.kind, c.rule, c.evidence] for c in claims],
        ),
    ]
    table, misses = headline_table(results)
    blocks += [Heading("Headline ratios"), table]
    blocks += [Paragraph(f"Target missed — {m}") for m in misses]
    blocks += [Heading("Where a /health request's CPU goes"), *cost_blocks(results, plot_dir)]
    blocks += [
        Heading("Server or framework? (same-server decomposition)"),
        *decomposition_blocks(results),
    ]
    curves = curve_blocks(results, plot_dir)
    if curves:
        blocks += [Heading("Latency and throughput against load"), *curves]
    batching = batching_blocks(results)
    if batching:
        blocks += [Heading("Micro-batching: who can hold a batch"), *batching]
    runtimes = runtime_blocks(results)
    if runtimes:
        blocks += [Heading("The model runtime: the default against torch"), *runtimes]
    blocks += [Heading("Targets of the model runtime"), *target_blocks(results)]
    reads = point_read_blocks(results)
    if reads:
        blocks += [Heading("Point reads: GET and DELETE of one document"), *reads]
    uploads = upload_blocks(results, plot_dir)
    if uploads:
        blocks += [Heading("Searching beside an upload: async job or blocking batch"), *uploads]
    blocks += [
        Heading("Every configuration, every scenario"),
        Paragraph(
            "Only valid runs make a figure: a run with more than 1 % errors, a "
            "disturbed machine or a window cut short is excluded everywhere; a run "
            "whose only fault was a saturated load generator is excluded from "
            "throughput and latency but still measures CPU per request. A percentile is "
            f"shown only from {MIN_SAMPLES[50.0]} samples for a p50, {MIN_SAMPLES[95.0]} for "
            f"a p95, {MIN_SAMPLES[99.0]:,} for a p99, {MIN_SAMPLES[99.9]:,} for a p99.9 "
            "(see Method); below that, '–' with the count."
        ),
        scenario_table(results),
        samples_paragraph(results),
    ]
    opened = open_table(results)
    if opened is not None:
        blocks += [
            Heading("Open model: fixed rate, latency from the intended send time"),
            Paragraph(
                "Throughput counts responses completed in the window, so a saturated "
                "server cannot show the rate it was merely offered; a request that "
                "waited behind a stalled one is counted from when it should have been "
                "sent, so a queue cannot hide."
            ),
            opened,
        ]
    blocks += _figures(results, plot_dir)
    blocks += [Heading("Environment"), env_table(results)]
    blocks += [Heading("Configurations (exact command lines)"), config_table(results)]
    blocks += [Heading("Every run"), runs_table(results)]
    blocks += [Heading("Method"), Paragraph(method_text(results))]
    blocks += [Paragraph(f"Text search sent the query pool {pool_words(results.pool)}.")]
    return blocks, _terminal_text(results, checks)


METHOD = (
    "Percentiles are nearest-rank over every request of the measured window (raw samples "
    "kept in raw/, gzipped), never Locust's rounded statistics. A percentile q is shown only "
    "when at least {beyond} samples lie beyond it, n >= {beyond} / (1 - q): a p50 needs "
    "{p50} samples, a p95 {p95}, a p99 {p99:,}, a p99.9 {p999:,}; with fewer it is one of "
    "the run's few largest values, so the report shows the count instead. A median over "
    "repeats carries a distribution-free order-statistic interval with its real coverage; "
    "a ratio of two configurations is the median of per-repeat pairs ({pairs}) "
    "with the same kind of interval over the pairs. A target is met when the whole interval "
    "clears it, missed when the whole interval falls short, inconclusive otherwise. Server "
    "CPU per request is the server's CPU during the window (its own cgroup cpuacct group), "
    "less its idle baseline measured just before, over the responses completed in the "
    "window. {memory}Servers and Milvus run on their own CPUs, the generator on the others; "
    "every server gets the same CPU quota when one is set. Development cost counts code "
    "lines by the rules recorded with the run. Each verdict names its evidence kind: "
    "'static' when it is read from the run's configuration or the twins' code (the same in "
    "every run of this code, so no measurement could turn it), 'measured' when it comes "
    "from load runs."
)
MEMORY_METRICS = {
    "pss": "the PSS of its whole process tree",
    "rss": "the summed RSS of its whole process tree",
    "pss/rss": "the PSS of its whole process tree, or its summed RSS where PSS was unreadable",
}


def method_text(results: BenchResults) -> str:
    """The method paragraph, naming the memory metric this run sampled."""
    # What the samplers really read (PSS falls back to RSS where smaps is unreadable), else
    # what the run asked for.
    sampled = sorted({run.memory.metric for run in results.runs if run.memory})
    metric = "/".join(sampled) or str(results.environment.get("memory_sampling", "pss"))
    described = MEMORY_METRICS.get(metric)
    memory = (
        f"Each server's memory ({described}) is sampled throughout every step. "
        if described
        else "Server memory was not sampled. "
    )
    together = (results.environment.get("profile", {}) or {}).get("together") or ()
    one_by_one = (
        "run close together in the interleaved order: a twin right beside its bare "
        "framework, the two twins beside each other, a batched run beside its naive one"
    )
    pairs = (
        f"{', '.join(together)}: measured in the same seconds, the one-worker "
        f"configurations on their usual servers at once, then those on the shared server; "
        f"other scenarios {one_by_one}"
        if together
        else one_by_one
    )
    return METHOD.format(
        memory=memory,
        pairs=pairs,
        beyond=SAMPLES_BEYOND,
        p50=MIN_SAMPLES[50.0],
        p95=MIN_SAMPLES[95.0],
        p99=MIN_SAMPLES[99.0],
        p999=MIN_SAMPLES[99.9],
    )


def _figures(results: BenchResults, plot_dir: Path) -> list[Block]:
    aggs = aggregate(results)
    figures = [
        (
            "Text search: throughput against concurrency",
            "throughput-search_text",
            plots.throughput_vs_users(aggs, "search_text", plot_dir / "throughput-search_text.png"),
        ),
        (
            "/health: latency distribution",
            "cdf-health",
            plots.latency_cdf(results.runs, "health", plot_dir / "cdf-health.png"),
        ),
        (
            "Text search: latency distribution",
            "cdf-search_text",
            plots.latency_cdf(results.runs, "search_text", plot_dir / "cdf-search_text.png"),
        ),
    ]
    shown: list[Block] = [
        Figure(title, f"plots/{stem}", png) for title, stem, png in figures if png is not None
    ]
    return [Heading("Figures"), *shown] if shown else []


def _terminal_text(results: BenchResults, checks: list[SoakCheck]) -> str:
    lines = [
        f"  soak {c.config}: memory "
        + (f"{c.memory.growth:+.1%}" if c.memory and not math.isnan(c.memory.growth) else "–")
        + f" (target < {GROWTH_LIMIT:.0%}, {verdict_word(c.memory_ok)}), failed requests "
        f"{c.run.failures} (target 0, {verdict_word(c.failures_ok)})"
        for c in checks
    ]
    table, _ = headline_table(results)
    lines += [f"  {row[0]}: {row[1]} {row[2]} (target {row[3]}: {row[4]})" for row in table.rows]
    lines += [f"  {c.topic}: {c.text}" for c in evaluate_claims(results)]
    lines += [
        f"  {t.figure}: {t.value:.2f} (target {t.target}: {t.words})"
        for t in runtime_targets(results)
        if t.outcome != "not measured"
    ]
    return "\n".join(lines).replace("**", "")


def write_report(directory: Path) -> ReportPaths:
    results = read_results(directory)
    blocks, text = build_blocks(results, directory)
    markdown = directory / "report.md"
    page = directory / "report.html"
    markdown.write_text(render_markdown(blocks), encoding="utf-8")
    page.write_text(render_html(blocks, f"twinbench {results.profile}"), encoding="utf-8")
    return ReportPaths(markdown, page, "headline ratios:\n" + text)
