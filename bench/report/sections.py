"""The report's sections: the summary (figure and sentences), the headline ratios, the three
costs of a /health request, the decomposition, and the uploads."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from bench.analysis.aggregate import Aggregate
from bench.analysis.batching import (
    BATCHED,
    LOW_LOAD_P50_MS,
    SPEEDUP_TARGET,
    BatchingPair,
    batching_pairs,
    mean_batch,
)
from bench.analysis.claims import SCENARIO_NAMES, direction
from bench.analysis.curves import CURVE_PERCENTILES, load_curves
from bench.analysis.ingest import IngestEffect, ingest_effect
from bench.analysis.ratios import (
    INTERACTION_BAND,
    Decomposition,
    Ratio,
    cost_rows,
    decompose,
    headline_ratios,
)
from bench.analysis.recompute import recheck
from bench.report import plots
from bench.report.blocks import Block, Figure, Paragraph, Table
from bench.report.formatting import (
    interval_text,
    load_text,
    num,
    outcome_word,
    pct,
    run_length,
)
from bench.results import SAMPLES_FILE, BenchResults
from bench.stats import MIN_SAMPLES, Interval, Outcome, judge_at_most, median_ci

__all__ = [
    "batching_blocks",
    "point_read_blocks",
    "summary_blocks",
    "headline_table",
    "cost_blocks",
    "curve_blocks",
    "samples_paragraph",
    "decomposition_blocks",
    "upload_blocks",
]

SCENARIO_WORDS = {
    "health": "/health (CPU per request)",
    "echo": "/echo (validation only)",
    "search_vector": "vector search (Milvus, no model)",
    "search_text": "text search (model + Milvus)",
}


def _x(ratio: Ratio) -> str:
    return f"x{ratio.value:.2f}" if ratio.pairs else "–"


def summary_blocks(results: BenchResults, plot_dir: Path) -> list[Block]:
    """The first screen: FastAPI ÷ Flask per scenario, and three sentences from the data."""
    parts = decompose(results)
    blocks: list[Block] = []
    png = plots.summary_ratios(
        [(SCENARIO_WORDS.get(d.scenario, d.scenario), d.gap, d.framework) for d in parts],
        plot_dir / "summary.png",
    )
    if png is not None:
        blocks.append(Figure("FastAPI ÷ Flask per scenario", "plots/summary", png))
    if not parts:
        blocks.append(
            Paragraph(
                "No scenario ran both twins on their usual and on the shared "
                "server, so there is no FastAPI-vs-Flask summary."
            )
        )
        return blocks
    blocks.append(Paragraph(" ".join(_summary_sentences(results, parts))))
    blocks.append(Paragraph(context_text(results, parts)))
    return blocks


CELL_WORDS = {
    "flask_usual": "Flask usual",
    "fastapi_usual": "FastAPI usual",
    "flask_same": "Flask shared",
    "fastapi_same": "FastAPI shared",
}


def context_text(results: BenchResults, parts: list[Decomposition]) -> str:
    """The machine, the quota, the run's length and the absolute rates behind the ratios;
    and, where a quota capped the servers, that a saturated throughput is the quota over
    the CPU each request took (so a ratio of throughputs is a ratio of CPU per request)."""
    env = results.environment
    plan = env.get("cpu_plan", {}) or {}
    quota = plan.get("server_quota_cores")
    machine = (
        f"Measured on {env.get('cpu_model', 'an unrecorded CPU')}, "
        f"{env.get('logical_cpus', '?')} logical CPUs: servers and Milvus on CPUs "
        f"{plan.get('server_cpus', '?')}, the load generator on {plan.get('generator_cpus', '?')}; "
        + (f"each server capped at {quota:g} core" if quota else "no CPU quota per server")
        + f"; the run took {run_length(results)}."
    )
    rates = []
    for d in parts:
        if d.measure != "throughput":
            continue
        cells = ", ".join(
            f"{CELL_WORDS[k]} {num(d.cells[k].throughput.median, 0)}" for k in CELL_WORDS
        )
        rates.append(f"{SCENARIO_WORDS.get(d.scenario, d.scenario)}: {cells} req/s")
    text = machine + (" Absolute rates (medians): " + "; ".join(rates) + "." if rates else "")
    if quota:
        implied = [
            f"{SCENARIO_NAMES.get(d.scenario, d.scenario)} {d.cells[k].config} "
            f"{num(quota * 1e6 / d.cells[k].cost_us.median, 0)} "
            f"({num(d.cells[k].cost_us.median, 0)} µs) against "
            f"{num(d.cells[k].throughput.median, 0)} measured"
            for d in parts
            if d.measure == "throughput"
            for k in ("flask_usual", "fastapi_usual")
            if d.cells[k].cost_us.median
        ]
        text += (
            f" Every saturated throughput here is the {quota:g}-core quota divided by the "
            "server CPU each request took, so a throughput ratio is a ratio of CPU per "
            "request at this quota, not of what a free machine would serve"
            + (f" (quota / CPU per request: {'; '.join(implied)} req/s)" if implied else "")
            + "."
        )
    return text


DIRECTION_WORDS = {
    "faster": "FastAPI clearly faster",
    "slower": "Flask clearly faster",
    "not apart": "not apart",
    "inconclusive": "inconclusive",
    "none": "not measured",
}


def _xi(ratio: Ratio) -> str:
    """A ratio with its bare interval: x1.03 [1.01, 1.05]."""
    i = ratio.interval
    return _x(ratio) + (f" [{i.low:.2f}, {i.high:.2f}]" if ratio.pairs and i.exists else "")


def _summary_sentences(results: BenchResults, parts: list[Decomposition]) -> list[str]:
    """What the framework gives on one server, what the choice of server gives, and how text
    search through the twins compares with the core: each figure with its interval, so no
    sentence credits the framework with a server's gain."""
    topology = results.topology
    shared = topology.get("shared_server", "the shared server")
    usual = topology.get("usual_server", {})
    framework = "; ".join(
        f"{SCENARIO_WORDS.get(d.scenario, d.scenario)} {_xi(d.framework)} "
        f"({DIRECTION_WORDS[direction(d.framework)]})"
        for d in parts
    )
    first = (
        f"What the framework gives, both twins on one shared server ({shared}), FastAPI ÷ "
        f"Flask: {framework}."
    )
    servers = "; ".join(
        f"{SCENARIO_WORDS.get(d.scenario, d.scenario)}: Flask {_xi(d.flask_server)}, FastAPI "
        f"{_xi(d.fastapi_server)}, so FastAPI ÷ Flask reads {_xi(d.gap)} on the usual servers"
        for d in parts
    )
    second = (
        f"What the choice of server gives, each twin's usual server ({usual.get('flask', '?')} "
        f"for Flask, {usual.get('fastapi', '?')} for FastAPI) over {shared}: {servers}."
    )
    cores = [
        r for r in headline_ratios(results) if r.name.endswith("vs in-process core") and r.pairs
    ]
    core = next((c for c in results.configs if c.label == results.in_process_label), None)
    if cores and core is not None:
        third = (
            "Text search through each twin runs at "
            + " and ".join(f"{_xi(r)} ({r.name.split()[0]})" for r in cores)
            + f" of the throughput of the core called in-process from {core.threads} threads "
            "under the same CPU quota."
        )
    else:
        third = "Text search through the twins was not compared with the in-process core."
    return [first, second, third]


def headline_table(results: BenchResults) -> tuple[Table, list[str]]:
    """The headline ratios with interval, target and three-valued outcome; the misses."""
    rows, misses = [], []
    for r in headline_ratios(results):
        cross = ""
        if r.cross_check is not None:
            cross = (
                f"; at saturation {_x(r.cross_check)} "
                f"{interval_text(r.cross_check.interval, 2)} — "
                + ("agrees within 10 %" if r.agrees else "**differs by more than 10 %**")
            )
        measure = "CPU per request" if r.measure == "cost" else "throughput"
        rows.append(
            [
                r.name,
                num(r.value, 2),
                interval_text(r.interval, 2),
                f">= {r.target}" if r.target is not None else "–",
                outcome_word(r.outcome),
                f"{measure}: {r.detail}" + cross + ("; " + "; ".join(r.notes) if r.notes else ""),
            ]
        )
        if r.outcome == "missed":
            why = f" Why: {r.why}." if r.why else ""
            misses.append(f"{r.name}: {r.value:.2f}, its whole interval below {r.target}.{why}")
    table = Table(
        ["figure", "value (median of pairs)", "interval", "target", "outcome", "from"], rows
    )
    return table, misses


def cost_blocks(results: BenchResults, plot_dir: Path) -> list[Block]:
    rows = cost_rows(results)
    if not rows:
        return [
            Paragraph(
                "The three costs need each twin, its bare framework and the raw "
                "callable on the same server at a fixed rate; this run lacks one."
            )
        ]
    table = Table(
        [
            "twin on server",
            "server (raw) µs",
            "framework µs",
            "our code µs",
            "twin total µs",
            "runs (fewest of the three)",
        ],
        [
            [
                f"{r.twin} on {r.server}",
                num(r.raw_us, 0),
                num(r.framework_us, 0),
                num(r.ours_us, 0),
                num(r.twin_us, 0),
                str(r.runs),
            ]
            for r in rows
        ],
    )
    blocks: list[Block] = [
        Paragraph(
            "Server CPU per /health request at a fixed rate far below saturation, "
            "medians over repeats (the configurations on one server kind measured at the "
            "same time, where the profile says so): the raw callable is the server alone; "
            "the bare "
            "framework app (one route, the same JSON) minus the raw callable is the "
            "framework; the twin minus its bare framework is our own code."
        ),
        table,
    ]
    png = plots.cost_stack(rows, plot_dir / "health-costs.png")
    if png is not None:
        blocks.append(Figure("Where a /health request's CPU goes", "plots/health-costs", png))
    return blocks


def _decomposition_words(d: Decomposition) -> str:
    """What the interaction lets one say about a scenario's gap, from its interval alone."""
    scenario = SCENARIO_WORDS.get(d.scenario, d.scenario)
    interaction = f"interaction {_x(d.interaction)} {interval_text(d.interaction.interval, 2)}"
    if d.interaction_small is None:
        return (
            f"on {scenario} the interaction has no interval (too few repeats), so the gap "
            f"({_x(d.gap)}) is not split"
        )
    if d.interaction_small:
        return (
            f"on {scenario} both twins gain alike from their usual servers ({interaction}), "
            f"so the framework accounts for the gap: {_x(d.framework)} on one server against "
            f"{_x(d.gap)} on the usual ones"
        )
    if d.interaction_apart:
        return (
            f"on {scenario} the twins gain differently from their usual servers (Flask "
            f"{_x(d.flask_server)}, FastAPI {_x(d.fastapi_server)}; {interaction}, all beyond "
            f"±{INTERACTION_BAND - 1:.0%}), "
            f"so the usual-server gap ({_x(d.gap)}) mixes the framework with the choice of "
            f"server; on one server the frameworks compare at {_x(d.framework)}"
        )
    return (
        f"on {scenario} this run cannot tell whether the twins gain alike or differently from "
        f"their usual servers ({interaction}: neither within nor wholly beyond "
        f"±{INTERACTION_BAND - 1:.0%}), so the usual-server gap ({_x(d.gap)}) is not "
        f"credited to the framework or to the server; on one server the frameworks compare "
        f"at {_x(d.framework)}"
    )


def _cell(agg: Aggregate, measure: str) -> str:
    if measure == "throughput":
        return f"{num(agg.throughput.median, 0)} req/s {interval_text(agg.throughput.ci, 0)}"
    median = agg.cost_us.median
    return f"{num(1e6 / median if median else float('nan'), 0)} req per CPU-s"


def _product_words(parts: list[Decomposition]) -> str:
    """Where the medians shown do not multiply (by more than 1 %), the arithmetic, so no
    reader checks gap = framework x interaction on them and finds it false."""
    off = [
        f"{SCENARIO_WORDS.get(d.scenario, d.scenario)}: framework {_x(d.framework)} x "
        f"interaction {_x(d.interaction)} = x{d.framework.value * d.interaction.value:.2f} "
        f"against the gap's {_x(d.gap)}"
        for d in parts
        if d.gap.pairs
        and d.framework.pairs
        and d.interaction.pairs
        and abs(d.framework.value * d.interaction.value / d.gap.value - 1) > 0.01
    ]
    return f" ({'; '.join(off)})" if off else ""


def decomposition_blocks(results: BenchResults) -> list[Block]:
    parts = decompose(results)
    if not parts:
        return [
            Paragraph(
                "The decomposition needs both twins on their usual server and on "
                "the shared one; this run lacks one of them."
            )
        ]
    rows = []
    for d in parts:
        cells = [
            _cell(d.cells[k], d.measure)
            for k in ("flask_usual", "fastapi_usual", "flask_same", "fastapi_same")
        ]
        rows.append(
            [
                SCENARIO_WORDS.get(d.scenario, d.scenario),
                *cells,
                f"{_x(d.gap)} {interval_text(d.gap.interval, 2)}",
                f"{_x(d.framework)} {interval_text(d.framework.interval, 2)}",
                f"Flask {_x(d.flask_server)}, FastAPI {_x(d.fastapi_server)}",
                f"{_x(d.interaction)} {interval_text(d.interaction.interval, 2)}",
            ]
        )
    return [
        Table(
            [
                "scenario",
                "Flask usual",
                "FastAPI usual",
                "Flask shared",
                "FastAPI shared",
                "gap FastAPI/Flask (usual servers)",
                "framework (one shared server)",
                "server effect (usual / shared)",
                "interaction",
            ],
            rows,
        ),
        Paragraph(
            "Cells are requests/s at saturation (median over repeats, with its interval) "
            "or, for /health, requests per CPU-second of the server. Every ratio is the "
            "median of per-repeat pairs. Within each repeat, gap = framework x interaction "
            "exactly, where the interaction is FastAPI's server effect over Flask's; the "
            "medians of pairs shown need not multiply so"
            + _product_words(parts)
            + ". Only when the interaction is small (interval within ±10 %) is the gap the "
            "framework's alone; only when it lies wholly beyond ±10 % do the twins gain "
            "differently from their servers."
        ),
        Paragraph("On this machine, " + "; ".join(_decomposition_words(d) for d in parts) + "."),
    ]


def _job_text(e: IngestEffect) -> str:
    if not e.finished:
        return f"{e.job.get('status', '?')} within the step (not judged)"
    return (
        f"done: {e.rows} rows in {num(e.job_s, 1)} s "
        f"({num(e.job.get('rows_per_s', float('nan')), 1)} rows/s)"
    )


def upload_blocks(results: BenchResults, plot_dir: Path) -> list[Block]:
    effects = [e for e in (ingest_effect(r) for r in results.runs) if e is not None]
    if not effects:
        return []
    rows = []
    repeated = any(e.repeat for e in effects)
    for e in effects:
        for name, phase in (("before", e.before), ("during", e.during), ("after", e.after)):
            rows.append(
                [
                    f"{e.config} (run {e.repeat + 1})" if repeated else e.config,
                    e.kind,
                    name,
                    num(phase.seconds, 1),
                    str(phase.n),
                    num(phase.rps, 1),
                    pct(phase.p50, phase.n, 50.0, 1),
                    pct(phase.p95, phase.n, 95.0, 1),
                    pct(phase.p99, phase.n, 99.0, 1),
                    (
                        f"{e.job.get('status')}: {e.rows} rows in {num(e.job_s, 1)} s "
                        f"({num(e.job.get('rows_per_s', float('nan')), 1)} rows/s)"
                    )
                    if name == "during"
                    else "",
                ]
            )
    blocks: list[Block] = [
        Paragraph(
            "Text searches at a fixed rate before, during and after one upload of the "
            "same rows, sent either as an ingest job (202 at once, then polled) or as one "
            "blocking POST /documents/batch. Figures are the searches' alone (the polls "
            "and the batch request are a separate series), with their counts."
        ),
        Table(
            [
                "config",
                "upload",
                "phase",
                "seconds",
                "searches",
                "searches/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "upload",
            ],
            rows,
        ),
    ]
    png = plots.upload_timeline(results.runs, plot_dir / "upload-timeline.png")
    if png is not None:
        blocks.append(Figure("Search latency beside each upload", "plots/upload-timeline", png))
    return blocks


# Point reads at low load: the service's promise for GET and DELETE of one document.
POINT_READ_TARGETS = {"p50": 10.0, "p99": 30.0}
POINT_READ_NAMES = (
    "/documents/{id} GET",
    "/documents/{id} GET missing",
    "/documents/{id} GET after write",  # at once after its own POST: a read of a fresh write
    "/documents/{id} DELETE",
)


def point_read_verdict(runs: list[dict[str, float]]) -> str:
    """The verdict on one request kind's p50 and p99 targets over the point-read runs of one
    configuration (``runs``: each run's n, p50, p99 for it).

    As the Method says, a target is met only when an interval over repeats clears it and
    missed only when the interval falls wholly short: one run is not judged, whatever it
    shows, and a percentile counts only from runs with the samples to carry it.
    """
    if len(runs) < 2:
        n = int(runs[0]["n"]) if runs else 0
        return f"not judged: one run (n={n:,}); met or missed needs an interval over repeats"
    outcomes: dict[str, Outcome] = {}
    why = []
    for key, q in (("p50", 50.0), ("p99", 99.0)):
        values = [r[key] for r in runs if r["n"] >= MIN_SAMPLES[q] and not math.isnan(r[key])]
        if len(values) < 2:
            why.append(f"{len(values)} runs with the {MIN_SAMPLES[q]:,} samples a {key} needs")
            outcomes[key] = "inconclusive"
            continue
        interval = median_ci(values)
        outcomes[key] = judge_at_most(statistics.median(values), interval, POINT_READ_TARGETS[key])
        why.append(f"{key} {interval_text(interval, 1)}")
    evidence = "; ".join(why)
    if "missed" in outcomes.values():
        missed = " and ".join(k for k, o in outcomes.items() if o == "missed")
        return f"**missed** on {missed} ({evidence})"
    if all(o == "met" for o in outcomes.values()):
        return f"met ({evidence})"
    return f"inconclusive ({evidence})"


def point_read_blocks(results: BenchResults) -> list[Block]:
    """GET and DELETE of one document, from the point-read and mixed runs."""
    judged: dict[tuple[str, str], list[dict[str, float]]] = {}
    for run in results.runs:
        if run.step.scenario == "point_reads" and run.valid:
            for name, kind in run.latency_by_name.items():
                judged.setdefault((run.step.config, name), []).append(kind)
    rows = []
    for run in results.runs:
        if run.step.scenario not in ("point_reads", "mixed"):
            continue
        for name in POINT_READ_NAMES:
            stats = run.latency_by_name.get(name)
            if stats is None:
                continue
            n = int(stats["n"])
            target = (
                point_read_verdict(judged.get((run.step.config, name), []))
                if run.step.scenario == "point_reads"
                else "–"
            )
            load = load_text(results, run.step)
            rows.append(
                [
                    run.step.config,
                    run.step.scenario,
                    load,
                    name,
                    str(n),
                    pct(stats["p50"], n, 50.0, 1),
                    pct(stats["p95"], n, 95.0, 1),
                    pct(stats["p99"], n, 99.0, 1),
                    target,
                ]
            )
    if not rows:
        return []
    return [
        Paragraph(
            "A point read (GET of one document by id) and a delete, at low load: the "
            "point-read scenario at a fixed rate, and the realistic blend (mixed) at "
            "saturation. 'GET after write' reads a document the same client created a "
            "moment before (create, then view). "
            f"Target at low load: p50 < {POINT_READ_TARGETS['p50']:g} ms and "
            f"p99 < {POINT_READ_TARGETS['p99']:g} ms."
        ),
        Table(
            ["config", "scenario", "load", "request", "n", "p50 ms", "p95 ms", "p99 ms", "target"],
            rows,
        ),
    ]


def _sizes_text(sizes: dict[int, int]) -> str:
    if not sizes:
        return "–"
    shown = ", ".join(f"{size}: {n:,}" for size, n in sorted(sizes.items()))
    return f"mean {mean_batch(sizes):.2f}, largest {max(sizes)} (batches per size: {shown})"


_LOW_LOAD_WORDS: dict[Outcome, str] = {
    "met": f"within the {LOW_LOAD_P50_MS:g} ms allowed",
    "missed": f"**more than the {LOW_LOAD_P50_MS:g} ms allowed**",
    "inconclusive": f"inconclusive against the {LOW_LOAD_P50_MS:g} ms allowed",
    "not measured": "not measured (no valid pair)",
}


def _signed_interval(interval: Interval) -> str:
    if not interval.exists:
        return f"({interval.method})"
    return f"[{interval.low:+.1f}, {interval.high:+.1f}] ({interval.method})"


def batching_blocks(results: BenchResults) -> list[Block]:
    """Text search with micro-batching off and on, and what it teaches."""
    pairs = batching_pairs(results)
    if not pairs:
        return []
    rows = []
    for p in pairs:
        config = p.on.config.removesuffix(BATCHED)
        target = (
            outcome_word(p.speedup_outcome()) + f" (>= {SPEEDUP_TARGET:g})"
            if config.startswith("fastapi/") and p.users == max(q.users for q in pairs)
            else ""
        )
        rows.append(
            [
                config,
                str(p.users),
                f"{num(p.off.throughput.median)} → {num(p.on.throughput.median)}",
                "– (no valid pair)"
                if math.isnan(p.speedup)
                else f"x{p.speedup:.2f} {interval_text(p.interval, 2)}",
                target,
                f"{num(p.off.p50.median)} → {num(p.on.p50.median)}",
                _sizes_text(p.sizes),
            ]
        )
    low = [p for p in pairs if p.users == min(q.users for q in pairs)]
    low_words = "; ".join(
        f"{p.on.config.removesuffix(BATCHED)}: "
        + (
            _LOW_LOAD_WORDS["not measured"]
            if math.isnan(p.p50_added_ms)
            else f"p50 {p.p50_added_ms:+.1f} ms {_signed_interval(p.p50_added_interval)}, "
            + _LOW_LOAD_WORDS[p.p50_outcome()]
        )
        for p in low
    )
    top = [p for p in pairs if p.users == max(q.users for q in pairs)]
    held = "; ".join(
        f"{p.on.config.removesuffix(BATCHED)} formed batches of up to {p.largest_batch} "
        f"(mean {mean_batch(p.sizes):.2f}) and went x{p.speedup:.2f}"
        for p in top
    )
    return [
        Paragraph(
            "Text search at saturation with the search batcher off and on (the same "
            "twin, server and threads; pairs by repeat). With it on, every search in "
            "flight when the model is free goes into one model call and one Milvus "
            "request. Batch sizes are what the servers counted."
        ),
        Table(
            [
                "config",
                "users",
                "req/s off → on",
                "on / off (pairs)",
                "target",
                "p50 ms off → on (medians of runs)",
                "batches formed (on)",
            ],
            rows,
        ),
        Paragraph(
            f"What it teaches: a batch can only hold the requests a server has waiting. At "
            f"{top[0].users} users, {held}. {_capacity_words(results, pairs)}At one user there "
            "is nothing to gather; the p50 a batched run adds over its naive partner, median "
            f"over pairs: {low_words}."
        ),
        *_excluded_runs(pairs),
    ]


def _capacity_words(results: BenchResults, pairs: list[BatchingPair]) -> str:
    """What the batch sizes say about who can hold a batch, from the sizes and each
    configuration's threads: a WSGI worker holds at most as many requests as it has
    threads, and the sentence says so only where the counted batches bear it out."""
    threads = {c.label: c.threads for c in results.configs}
    wsgi = [p for p in pairs if p.on.config.startswith("flask/") and p.sizes]
    if not wsgi:
        return ""
    capped = all(p.largest_batch <= threads.get(p.on.config, 0) for p in wsgi)
    by_config = "; ".join(
        f"{p.on.config.removesuffix(BATCHED)} at {p.users} users: largest {p.largest_batch} "
        f"with {threads.get(p.on.config, 0)} threads"
        for p in wsgi
        if p.users == max(q.users for q in wsgi)
    )
    if capped:
        return (
            f"No Flask batch was larger than its worker's thread count ({by_config}): a WSGI "
            "worker holds at most as many requests as it has threads. "
        )
    return f"Flask batches against thread counts: {by_config}. "


def _excluded_runs(pairs: list[BatchingPair]) -> list[Block]:
    """Which runs fell out of the pairs, and why: a pair needs both of its runs valid."""
    excluded = []
    for p in pairs:
        for side, other in ((p.off, p.on), (p.on, p.off)):
            partners = {run.step.repeat for run in other.runs}
            for run in side.runs:
                if not run.valid:
                    why = "; ".join(run.invalid_reasons) or "invalid"
                elif run.step.repeat not in partners:
                    why = "its partner did not run"
                else:
                    continue
                excluded.append(
                    f"{run.step.config} at {run.step.users} users, "
                    f"repeat {run.step.repeat + 1} ({why})"
                )
    if not excluded:
        return []
    return [
        Paragraph(
            "Runs left out of the pairs above (a pair needs both of its runs valid, so each "
            f"takes its partner's run with it): {'; '.join(excluded)}."
        )
    ]


def curve_blocks(results: BenchResults, plot_dir: Path) -> list[Block]:
    """Throughput and latency against closed users, per twin on its usual server: the
    table of every point (percentiles too few samples carry hidden, with the count) and the
    plot."""
    curves = load_curves(results)
    if not curves:
        return []
    rows = [
        [
            SCENARIO_NAMES.get(curve.scenario, curve.scenario),
            curve.config,
            str(point.users),
            str(point.runs),
            num(point.rps, 1),
            *(pct(point.latency_ms[q], point.fewest, q, 1) for q in CURVE_PERCENTILES),
        ]
        for curve in curves
        for point in curve.points
    ]
    blocks: list[Block] = [
        Paragraph(
            "Closed users against each twin on its usual server, one configuration at a "
            "time, each point after its own warm-up. Throughput is over the whole server, "
            "whose half-core quota (Environment) caps it: a flat line is the quota spent, "
            "and latency then grows with the users in the queue. A point is the median of "
            "its runs: the sweep runs each once, and a point the compared steps also run "
            "(the same users on the same servers) takes their repeats too. A percentile is "
            "shown only where every run of the point has the samples it needs "
            f"({MIN_SAMPLES[50.0]} for a p50, {MIN_SAMPLES[95.0]} for a p95, "
            f"{MIN_SAMPLES[99.0]:,} for a p99); '–' gives the fewest a run had."
        ),
        Table(
            ["scenario", "config", "users", "runs", "req/s", "p50 ms", "p95 ms", "p99 ms"],
            rows,
        ),
    ]
    png = plots.load_curves(curves, plot_dir / "load-curves.png")
    if png is not None:
        blocks.append(Figure("Latency and throughput against load", "plots/load-curves", png))
    return blocks


def samples_paragraph(results: BenchResults) -> Paragraph:
    """Where the raw latencies are, and whether every figure recomputed from them matched
    (recomputed each time the report is written)."""
    check = recheck(results)
    if not check.runs:
        return Paragraph(
            f"Raw latencies: this folder keeps none ({SAMPLES_FILE} is missing or the run "
            "predates it), so its percentiles cannot be recomputed from its own files."
        )
    found = (
        "every one matched"
        if not check.mismatches
        else f"{len(check.mismatches)} did not match: " + "; ".join(check.mismatches[:5])
    )
    without = f" ({check.runs_without} runs kept none)" if check.runs_without else ""
    return Paragraph(
        f"Raw latencies: {SAMPLES_FILE} keeps every run's latencies in whole microseconds "
        "(each request name, the open model's corrected series, each upload phase), the "
        "values every percentile here was computed from. Writing this report recomputed "
        f"{check.figures:,} figures of {check.runs} runs from it{without}: {found}."
    )
