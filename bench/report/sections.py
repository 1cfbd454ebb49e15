"""The report's sections: headline ratios, the decomposition, the tables, the environment."""

from __future__ import annotations

import math

from bench.analysis.aggregate import aggregate, generator_check, spread_check
from bench.analysis.ratios import Decomposition, decompose, headline_ratios
from bench.analysis.soak import memory_growth
from bench.report.blocks import Block, Paragraph, Table
from bench.report.formatting import ci_text, num
from bench.results import BenchResults, RunResult

__all__ = [
    "headline",
    "decomposition_blocks",
    "scenario_table",
    "open_table",
    "memory_cell",
    "env_rows",
    "CV_TARGET",
]

CV_TARGET = 0.05


def headline(results: BenchResults) -> tuple[list[str], list[list[str]], list[str]]:
    rows, misses = [], []
    limit = float(results.environment.get("generator_cpu_limit", math.nan))
    for ratio in headline_ratios(results):
        met = {True: "yes", False: "**no**", None: "–"}[ratio.meets]
        rows.append(
            [
                ratio.name,
                num(ratio.value, 2),
                ci_text(ratio.ci, 2),
                ratio.target,
                met,
                ratio.detail + ("; " + "; ".join(ratio.notes) if ratio.notes else ""),
            ]
        )
        if ratio.meets is False:
            why = (
                "on a trivial endpoint the framework's own work (routing, request and "
                "response objects, JSON) is of the same order as the server's, so any "
                "framework costs a large share"
                if "/health" in ratio.name
                else "HTTP parsing, JSON and the server's concurrency model (threads or an "
                "event loop sharing the GIL and the capped CPU with the model) cost more "
                "than a tenth of a text search here"
            )
            misses.append(f"{ratio.name}: {ratio.value:.2f} misses {ratio.target} — {why}.")
    top, invalid, total = generator_check(results)
    rows.append(
        [
            "generator CPU, busiest process in a valid run",
            num(top * 100, 0) + " %",
            "",
            f"< {limit:.0%}",
            "yes" if invalid == 0 else f"**{invalid} of {total} runs over** (marked invalid)",
            "sampled twice a second with psutil",
        ]
    )
    if invalid:
        misses.append(
            f"{invalid} runs had the load generator above {limit:.0%} "
            "of its core: one Locust process tops out near the rate these servers "
            "reach on trivial endpoints, so those runs measured Locust; they are "
            "excluded from every figure (a bigger machine gives Locust more "
            "processes)."
        )
    spreads = spread_check(results)
    over = [(s, c, cv) for s, c, cv in spreads if not math.isnan(cv) and cv > CV_TARGET]
    worst = max((cv for _, _, cv in spreads if not math.isnan(cv)), default=math.nan)
    rows.append(
        [
            "throughput spread over repeats (CV), worst group",
            num(worst * 100, 1) + " %",
            "",
            f"<= {CV_TARGET:.0%}",
            "yes" if not over else f"**{len(over)} of {len(spreads)} groups over**",
            "sample stdev / mean",
        ]
    )
    if over:
        listed = ", ".join(f"{s} on {c} ({cv:.0%})" for s, c, cv in over[:6])
        misses.append(
            f"spread above {CV_TARGET:.0%}: {listed}. Steps are short "
            f"({results.environment.get('profile', {}).get('duration_s', '?')} s) "
            "on a small shared VM where run-to-run spread of 4-15 % was measured "
            "before; the full profile's longer steps and more repeats narrow it."
        )
    return ["figure", "value", "95 % CI (coverage)", "target", "met", "from"], rows, misses


def _clipped_share(d: Decomposition) -> float:
    """The framework's share of the log gap, in [0, 1]; NaN when the parts truly oppose.

    A part within 3 % of x1.00 counts as no part at all, so a server part of x1.01 next to
    a framework part of x0.79 reads "all framework", not "opposite directions".
    """
    share = d.framework_share
    if math.isnan(share) or 0 <= share <= 1:
        return share
    if abs(math.log(d.server)) < 0.03:
        return 1.0
    if abs(math.log(d.framework)) < 0.03:
        return 0.0
    return math.nan


def _decomposition_words(d: Decomposition) -> str:
    """One plain sentence per scenario; honest when parts oppose or intervals span 1."""
    spans_one = not math.isnan(d.total_ci.low) and d.total_ci.low <= 1 <= d.total_ci.high
    if math.isnan(d.framework_share) or spans_one:
        return (
            f"on {d.scenario} there is no clear gap to split (x{d.total:.2f}"
            + (f", interval {ci_text(d.total_ci, 2)}" if spans_one else "")
            + ")"
        )
    share = _clipped_share(d)
    if math.isnan(share):
        return (
            f"on {d.scenario} the x{d.total:.2f} gap is the net of two parts pulling in "
            f"opposite directions: the server x{d.server:.2f}, the framework "
            f"x{d.framework:.2f}"
        )
    return (
        f"of the x{d.total:.2f} gap on {d.scenario}, the server accounts for "
        f"x{d.server:.2f} and the framework for x{d.framework:.2f} (about "
        f"{share:.0%} of the gap, in log terms)"
        + ("" if not math.isnan(d.total_ci.low) else ", from a single repeat")
    )


def decomposition_blocks(results: BenchResults) -> list[Block]:
    parts = decompose(results)
    if not parts:
        return [
            Paragraph(
                "The decomposition needs both twins on their usual server and on "
                "granian; this run lacks one of them."
            )
        ]
    rows = []
    for d in parts:
        m = d.medians
        share = "–" if math.isnan(_clipped_share(d)) else f"{_clipped_share(d):.0%}"
        rows.append(
            [
                d.scenario,
                num(m["flask_usual"]),
                num(m["fastapi_usual"]),
                num(m["flask_same"]),
                num(m["fastapi_same"]),
                f"x{d.total:.2f} {ci_text(d.total_ci, 2)}",
                f"x{d.server:.2f} {ci_text(d.server_ci, 2)}",
                f"x{d.framework:.2f} {ci_text(d.framework_ci, 2)}",
                share,
            ]
        )
    words = [_decomposition_words(d) for d in parts]
    search = next(
        (
            a
            for a in aggregate(results)
            if a.scenario == "search_text" and a.group == "compare" and a.config.startswith("core/")
        ),
        None,
    )
    tail = ""
    if search is not None and search.throughput.median:
        tail = (
            f" On text search the model dominates: the in-process core alone manages "
            f"{search.throughput.median:,.0f} searches/s at this CPU budget."
        )
    return [
        Table(
            [
                "scenario",
                "Flask usual",
                "FastAPI usual",
                "Flask granian",
                "FastAPI granian",
                "gap (usual)",
                "server part",
                "framework part",
                "framework share",
            ],
            rows,
        ),
        Paragraph(
            "Requests/s are medians over repeats; intervals are seeded percentile-bootstrap "
            "95 % intervals over repeats. gap = FastAPI/Flask on their usual servers; "
            "framework part = FastAPI/Flask both on granian; server part = gap / framework "
            "part."
        ),
        Paragraph("On this machine, " + "; ".join(words) + "." + tail),
    ]


def scenario_table(results: BenchResults) -> tuple[list[str], list[list[str]]]:
    rows = []
    for a in sorted(
        aggregate(results), key=lambda a: (a.group, a.scenario, a.config, a.users, a.rate)
    ):
        if a.rate:
            continue
        rows.append(
            [
                a.group,
                a.scenario,
                a.config,
                str(a.users),
                num(a.throughput.median),
                ci_text(a.throughput.ci),
                num(a.throughput.cv * 100, 1),
                num(a.p50.median, 2),
                num(a.p99.median, 2),
                num(a.p999.median, 2),
                f"{a.failures}/{a.requests}",
                num(a.cost_us.median, 0),
                num(a.generator_cpu_max * 100, 0),
                f"{a.valid_runs}/{len(a.runs)}",
            ]
        )
    headers = [
        "group",
        "scenario",
        "config",
        "users",
        "req/s",
        "95 % CI (coverage)",
        "CV %",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "errors",
        "server CPU µs/req",
        "gen CPU %",
        "valid",
    ]
    return headers, rows


def open_table(results: BenchResults) -> tuple[list[str], list[list[str]]]:
    rows = []
    for run in results.runs:
        if not run.step.rate:
            continue
        corrected = run.latency_corrected
        rows.append(
            [
                run.step.config,
                num(run.step.rate),
                str(run.step.users),
                num(run.throughput_rps),
                num(run.latency.p50, 1),
                num(run.latency.p99, 1),
                num(corrected.p50 if corrected else math.nan, 1),
                num(corrected.p99 if corrected else math.nan, 1),
                f"{run.failures}/{run.requests}",
                "yes" if run.valid else "no",
            ]
        )
    return (
        [
            "config",
            "target req/s",
            "users",
            "achieved req/s",
            "service p50",
            "service p99",
            "intended-time p50",
            "intended-time p99",
            "errors",
            "valid",
        ],
        rows,
    )


def memory_cell(run: RunResult) -> str:
    if run.memory is None:
        return "–"
    m = memory_growth(run.memory, run.step.duration_s)
    if math.isnan(m.growth):
        return "–"
    return f"{m.start_bytes / 2**20:,.0f} → {m.end_bytes / 2**20:,.0f} ({m.growth:+.1%})"


def env_rows(results: BenchResults) -> list[list[str]]:
    env = results.environment
    plan = env.get("cpu_plan", {})
    rows = [
        ["profile", results.profile],
        ["started / finished", f"{results.started_at} / {results.finished_at}"],
        ["CPU", f"{env.get('cpu_model')} x {env.get('logical_cpus')}"],
        ["memory", f"{env.get('memory_gib')} GiB"],
        ["platform", str(env.get("platform"))],
        ["python", str(env.get("python"))],
        ["server + Milvus CPUs", str(plan.get("server_cpus"))],
        [
            "load generator CPUs",
            f"{plan.get('generator_cpus')} ({plan.get('generator_processes')} Locust process(es))",
        ],
        [
            "server CPU quota",
            f"{plan.get('server_quota_cores')} core per server (cgroup v1, 10 ms period)"
            if plan.get("server_quota_cores")
            else "none",
        ],
        ["load average at start", str(env.get("load_average"))],
        ["other load at start (% per CPU)", str(env.get("background_cpu_percent"))],
        ["keep-alive", str(env.get("keep_alive"))],
        ["access log", str(env.get("access_log"))],
        ["Milvus", str(env.get("milvus"))],
        ["request pool", str(results.pool)],
        ["git commit", f"{env.get('git_commit')}{' (dirty)' if env.get('git_dirty') else ''}"],
    ]
    rows += [[f"version: {k}", str(v)] for k, v in env.get("versions", {}).items()]
    return rows
