"""The report's detail tables: every configuration, the open model, the environment, the
configurations' command lines and threads, and every run with why it is (in)valid."""

from __future__ import annotations

import math
from pathlib import Path

from bench.analysis.aggregate import aggregate
from bench.analysis.soak import memory_growth
from bench.report.blocks import Table
from bench.report.formatting import interval_text, load_text, num, pct
from bench.report.runtime import pool_words
from bench.results import BenchResults, RunResult

__all__ = [
    "scenario_table",
    "open_table",
    "env_table",
    "config_table",
    "runs_table",
    "pitfalls_on",
]


def scenario_table(results: BenchResults) -> Table:
    """One row per compared, swept or single group; only valid runs make its figures."""
    rows = []
    for a in sorted(aggregate(results), key=lambda a: (a.group, a.scenario, a.config, a.users)):
        samples = min((r.latency.count for r in a.runs if r.valid), default=0)
        shown = a.valid_runs > 0
        rows.append(
            [
                a.group,
                a.scenario,
                a.config,
                load_text(results, a.runs[0].step),
                num(a.throughput.median) if shown else "–",
                interval_text(a.throughput.ci) if shown else "–",
                pct(a.p50.median, samples, 50.0, 2) if shown else "–",
                pct(a.p99.median, samples, 99.0, 2) if shown else "–",
                pct(a.p999.median, samples, 99.9, 2) if shown else "–",
                f"{a.failures}/{a.requests}",
                num(a.cost_us.median, 0),
                num(1e6 / a.cost_us.median, 0) if a.cost_us.median else "–",
                num(a.generator_cpu_max * 100, 0),
                f"{a.valid_runs}/{len(a.runs)}",
            ]
        )
    return Table(
        [
            "group",
            "scenario",
            "config",
            "load",
            "req/s (median)",
            "interval",
            "p50 ms",
            "p99 ms",
            "p99.9 ms",
            "errors",
            "server CPU µs/req",
            "req/s per core (implied)",
            "gen CPU %",
            "valid runs",
        ],
        rows,
    )


def open_table(results: BenchResults) -> Table | None:
    """Fixed-rate runs: what was asked, what completed, and latency from the intended time."""
    rows = []
    for run in results.runs:
        if not run.step.rate or run.step.group != "open":
            continue
        corrected = run.latency_corrected
        n = run.latency.count
        rows.append(
            [
                run.step.config,
                num(run.step.rate),
                str(run.step.users),
                num(run.throughput_rps),
                str(run.in_flight_at_end),
                str(run.late_sends),
                pct(run.latency.p50, n, 50.0, 1),
                pct(run.latency.p99, n, 99.0, 1),
                pct(corrected.p50 if corrected else math.nan, n, 50.0, 1),
                pct(corrected.p99 if corrected else math.nan, n, 99.0, 1),
                f"{run.failures}/{run.requests}",
                "yes" if run.valid else "no",
            ]
        )
    if not rows:
        return None
    return Table(
        [
            "config",
            "target req/s",
            "users",
            "completed req/s",
            "in flight at the end",
            "sent > 10 ms late",
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


def pitfalls_on(results: BenchResults) -> list[str]:
    """The workshop's pitfall switches the servers of this run had on (from its settings)."""
    settings = results.environment.get("settings", {})
    return [
        f"TWINBENCH_{name.upper()}"
        for name, value in sorted(settings.items())
        if name.startswith("pitfall_") and value
    ]


def env_table(results: BenchResults) -> Table:
    env = results.environment
    plan = env.get("cpu_plan", {})
    disturbed = [
        r for r in results.runs if any(w.startswith("disturbed") for w in r.invalid_reasons)
    ]
    rows = [
        ["profile", results.profile],
        ["started / finished", f"{results.started_at} / {results.finished_at}"],
        ["CPU", f"{env.get('cpu_model')} x {env.get('logical_cpus')}"],
        ["memory", f"{env.get('memory_gib')} GiB"],
        [
            "pitfall switches (workshop)",
            ", ".join(pitfalls_on(results)) or "none on (as built)",
        ],
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
        ["server CPU accounting", str(env.get("cpu_accounting", "not recorded"))],
        [
            "quiet-machine check at start",
            f"other processes used {env.get('background_cores', '?')} cores (limit "
            f"{env.get('disturbed_cores_limit', '?')}); per CPU % "
            f"{env.get('background_cpu_percent')}"
            + (" — started anyway (--allow-busy)" if env.get("allowed_busy") else ""),
        ],
        [
            "quiet-machine check per step",
            f"{len(disturbed)} of {len(results.runs)} runs still disturbed after one rerun "
            "(excluded)"
            if disturbed
            else f"no run disturbed ({len(results.runs)} runs)",
        ],
        ["load generator's ceiling (calibration)", _calibration(env.get("generator_calibration"))],
        ["server memory sampled", str(env.get("memory_sampling", "pss"))],
        ["load average at start", str(env.get("load_average"))],
        ["keep-alive", str(env.get("keep_alive"))],
        ["access log", str(env.get("access_log"))],
        ["Milvus", str(env.get("milvus"))],
        ["request pool", pool_words(results.pool)],
        ["git commit", f"{env.get('git_commit')}{' (dirty)' if env.get('git_dirty') else ''}"],
    ]
    rows += [[f"version: {k}", str(v)] for k, v in env.get("versions", {}).items()]
    return Table(["what", "value"], rows)


def _calibration(found: dict[str, object] | None) -> str:
    if not found:
        return "not recorded"
    listener = f"; the raw-sample listener costs {found.get('listener_us_per_request')} µs/request"
    if found.get("ceiling_rps") is None:
        return f"{found.get('note')}{listener}"
    return (
        f"{found['ceiling_rps']:,} req/s per Locust process"
        + (" (extrapolated: it was not saturated)" if found.get("estimated") else "")
        + f", from {found['rps']:,} req/s against {found['config']} at "
        f"{float(str(found['generator_share'])):.0%} of its core "
        f"({found.get('generator_us_per_request')} µs of generator CPU per request)"
        + listener
        + "; closed-model runs above 70 % of it are excluded from throughput"
    )


def config_table(results: BenchResults) -> Table:
    return Table(
        [
            "label",
            "role",
            "workers",
            "threads for blocking work",
            "keep-alive",
            "CPUs",
            "quota",
            "argv",
        ],
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
    )


def runs_table(results: BenchResults) -> Table:
    return Table(
        [
            "run",
            "scenario",
            "config",
            "load",
            "repeat",
            "req/s",
            "p99 ms",
            "server CPU µs/req",
            "errors",
            "gen CPU %",
            "other processes (cores)",
            "server memory MiB (growth)",
            "valid / why not",
        ],
        [
            [
                r.run_id,
                r.step.scenario,
                r.step.config,
                load_text(results, r.step),
                str(r.step.repeat + 1),
                num(r.throughput_rps),
                pct(r.latency.p99, r.latency.count, 99.0, 2),
                num(r.server_cpu_us_per_request, 0),
                f"{r.failures}/{r.requests}",
                num(r.generator_cpu * 100, 0),
                num(r.foreign_cores, 2),
                memory_cell(r),
                ("yes" if r.valid else "no: " + "; ".join(r.invalid_reasons))
                + "".join(f" ({n})" for n in r.notes),
            ]
            for r in results.runs
        ],
    )
