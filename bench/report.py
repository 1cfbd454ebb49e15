"""``python -m bench report DIR``: report.md and a self-contained report.html from results.json.

Both files are rendered from one list of blocks (headings, paragraphs, tables, figures), so
they always say the same thing; the HTML embeds its PNGs as base64 and needs no network.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import plots
from bench.analysis import (
    Decomposition,
    SoakCheck,
    aggregate,
    decompose,
    generator_check,
    headline_ratios,
    ingest_effect,
    soak_checks,
    spread_check,
)
from bench.claims import evaluate_claims
from bench.devcost import count_devcost
from bench.measure import GENERATOR_CPU_LIMIT
from bench.memory import GROWTH_LIMIT, memory_growth
from bench.profiles import PROFILES
from bench.results import BenchResults, RunResult, read_results
from bench.stats import Interval

__all__ = ["write_report", "ReportPaths", "build_blocks"]

CV_TARGET = 0.05
# ("h1"|"h2"|"p", text), ("table", headers, rows), ("img", title, path stem, png bytes)
Block = tuple[Any, ...]


@dataclass(frozen=True)
class ReportPaths:
    markdown: Path
    html: Path
    headline_text: str


def _f(value: float, digits: int = 1) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def _ci(ci: Interval, digits: int = 1) -> str:
    if math.isnan(ci.low):
        return "– (one repeat)"
    return f"[{_f(ci.low, digits)}, {_f(ci.high, digits)}] ({ci.coverage:.0%})"


def _headline(results: BenchResults) -> tuple[list[str], list[list[str]], list[str]]:
    rows, misses = [], []
    for ratio in headline_ratios(results):
        met = {True: "yes", False: "**no**", None: "–"}[ratio.meets]
        rows.append([ratio.name, _f(ratio.value, 2), _ci(ratio.ci, 2), ratio.target, met,
                     ratio.detail + ("; " + "; ".join(ratio.notes) if ratio.notes else "")])
        if ratio.meets is False:
            why = ("on a trivial endpoint the framework's own work (routing, request and "
                   "response objects, JSON) is of the same order as the server's, so any "
                   "framework costs a large share" if "/health" in ratio.name else
                   "HTTP parsing, JSON and the server's concurrency model (threads or an "
                   "event loop sharing the GIL and the capped CPU with the model) cost more "
                   "than a tenth of a text search here")
            misses.append(f"{ratio.name}: {ratio.value:.2f} misses {ratio.target} — {why}.")
    top, invalid, total = generator_check(results)
    rows.append(["generator CPU, busiest process in a valid run", _f(top * 100, 0) + " %", "",
                 f"< {GENERATOR_CPU_LIMIT:.0%}", "yes" if invalid == 0 else f"**{invalid} of "
                 f"{total} runs over** (marked invalid)", "sampled twice a second with psutil"])
    if invalid:
        misses.append(f"{invalid} runs had the load generator above {GENERATOR_CPU_LIMIT:.0%} "
                      "of its core: one Locust process tops out near the rate these servers "
                      "reach on trivial endpoints, so those runs measured Locust; they are "
                      "excluded from every figure (a bigger machine gives Locust more "
                      "processes).")
    spreads = spread_check(results)
    over = [(s, c, cv) for s, c, cv in spreads if not math.isnan(cv) and cv > CV_TARGET]
    worst = max((cv for _, _, cv in spreads if not math.isnan(cv)), default=math.nan)
    rows.append(["throughput spread over repeats (CV), worst group", _f(worst * 100, 1) + " %",
                 "", f"<= {CV_TARGET:.0%}", "yes" if not over else
                 f"**{len(over)} of {len(spreads)} groups over**", "sample stdev / mean"])
    if over:
        listed = ", ".join(f"{s} on {c} ({cv:.0%})" for s, c, cv in over[:6])
        misses.append(f"spread above {CV_TARGET:.0%}: {listed}. Steps are short "
                      f"({results.environment.get('profile', {}).get('duration_s', '?')} s) "
                      "on a small shared VM where run-to-run spread of 4-15 % was measured "
                      "before; the full profile's longer steps and more repeats narrow it.")
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
        return (f"on {d.scenario} there is no clear gap to split (x{d.total:.2f}"
                + (f", interval {_ci(d.total_ci, 2)}" if spans_one else "") + ")")
    share = _clipped_share(d)
    if math.isnan(share):
        return (f"on {d.scenario} the x{d.total:.2f} gap is the net of two parts pulling in "
                f"opposite directions: the server x{d.server:.2f}, the framework "
                f"x{d.framework:.2f}")
    return (f"of the x{d.total:.2f} gap on {d.scenario}, the server accounts for "
            f"x{d.server:.2f} and the framework for x{d.framework:.2f} (about "
            f"{share:.0%} of the gap, in log terms)"
            + ("" if not math.isnan(d.total_ci.low) else ", from a single repeat"))


def _decomposition_blocks(results: BenchResults) -> list[Block]:
    parts = decompose(results)
    if not parts:
        return [("p", "The decomposition needs both twins on their usual server and on "
                      "granian; this run lacks one of them.")]
    rows = []
    for d in parts:
        m = d.medians
        share = "–" if math.isnan(_clipped_share(d)) else f"{_clipped_share(d):.0%}"
        rows.append([d.scenario, _f(m["flask_usual"]), _f(m["fastapi_usual"]),
                     _f(m["flask_same"]), _f(m["fastapi_same"]),
                     f"x{d.total:.2f} {_ci(d.total_ci, 2)}",
                     f"x{d.server:.2f} {_ci(d.server_ci, 2)}",
                     f"x{d.framework:.2f} {_ci(d.framework_ci, 2)}", share])
    words = [_decomposition_words(d) for d in parts]
    search = next((a for a in aggregate(results) if a.scenario == "search_text"
                   and a.group == "compare" and a.config.startswith("core/")), None)
    tail = ""
    if search is not None and search.throughput.median:
        tail = (f" On text search the model dominates: the in-process core alone manages "
                f"{search.throughput.median:,.0f} searches/s at this CPU budget.")
    return [
        ("table", ["scenario", "Flask usual", "FastAPI usual", "Flask granian",
                   "FastAPI granian", "gap (usual)", "server part", "framework part",
                   "framework share"], rows),
        ("p", "Requests/s are medians over repeats; intervals are seeded percentile-bootstrap "
              "95 % intervals over repeats. gap = FastAPI/Flask on their usual servers; "
              "framework part = FastAPI/Flask both on granian; server part = gap / framework "
              "part."),
        ("p", "On this machine, " + "; ".join(words) + "." + tail),
    ]


def _scenario_table(results: BenchResults) -> tuple[list[str], list[list[str]]]:
    rows = []
    for a in sorted(aggregate(results), key=lambda a: (a.group, a.scenario, a.config, a.users,
                                                       a.rate)):
        if a.rate:
            continue
        rows.append([
            a.group, a.scenario, a.config, str(a.users), _f(a.throughput.median),
            _ci(a.throughput.ci), _f(a.throughput.cv * 100, 1), _f(a.p50.median, 2),
            _f(a.p99.median, 2), _f(a.p999.median, 2), f"{a.failures}/{a.requests}",
            _f(a.server_cpu_ms, 2), _f(a.generator_cpu_max * 100, 0),
            f"{a.valid_runs}/{len(a.runs)}",
        ])
    headers = ["group", "scenario", "config", "users", "req/s", "95 % CI (coverage)", "CV %",
               "p50 ms", "p99 ms", "p99.9 ms", "errors", "server CPU ms/req", "gen CPU %",
               "valid"]
    return headers, rows


def _open_table(results: BenchResults) -> tuple[list[str], list[list[str]]]:
    rows = []
    for run in results.runs:
        if not run.step.rate:
            continue
        corrected = run.latency_corrected
        rows.append([run.step.config, _f(run.step.rate), str(run.step.users),
                     _f(run.throughput_rps), _f(run.latency.p50, 1), _f(run.latency.p99, 1),
                     _f(corrected.p50 if corrected else math.nan, 1),
                     _f(corrected.p99 if corrected else math.nan, 1),
                     f"{run.failures}/{run.requests}", "yes" if run.valid else "no"])
    return (["config", "target req/s", "users", "achieved req/s", "service p50", "service p99",
             "intended-time p50", "intended-time p99", "errors", "valid"], rows)


def _mib(value: float) -> str:
    return "–" if math.isnan(value) else f"{value / 2**20:,.1f} MiB"


def _verdict(ok: bool | None) -> str:
    return {True: "pass", False: "**fail**", None: "inconclusive"}[ok]


def _soak_misses(check: SoakCheck) -> list[str]:
    """The targets a twin missed (a failing soak), in words."""
    misses = []
    if check.memory_ok is False and check.memory is not None:
        misses.append(f"memory grew {check.memory.growth:+.1%} after the warm-up (target "
                      f"< {GROWTH_LIMIT:.0%})")
    if not check.failures_ok:
        misses.append(f"{check.run.failures:,} of {check.run.requests:,} requests failed "
                      f"({', '.join(f'{n}: {c}' for n, c in check.run.failures_by_name.items())})"
                      "; target 0")
    return misses


def _soak_blocks(checks: list[SoakCheck], plot_dir: Path) -> list[Block]:
    """The soak's table, verdict and memory plot: what a long run did to each twin."""
    rows = []
    for c in checks:
        m = c.memory
        rows.append([
            c.config, f"{c.run.step.duration_s / 60:.1f} min", f"{c.run.requests:,}",
            str(c.run.failures), _mib(m.start_bytes) if m else "–",
            _mib(m.end_bytes) if m else "–",
            f"{m.growth:+.1%}" if m and not math.isnan(m.growth) else "–",
            _verdict(c.memory_ok), _verdict(c.failures_ok), _verdict(c.passed),
        ])
    metrics = sorted({c.run.memory.metric for c in checks if c.run.memory})
    metric = "/".join(metrics).upper() or "PSS"
    intervals = sorted({c.run.memory.interval_s for c in checks if c.run.memory})
    edges = sorted({c.memory.edge for c in checks if c.memory and c.memory.edge})
    failing = [(c, _soak_misses(c)) for c in checks if c.passed is False]
    unsure = [(c, c.inconclusive) for c in checks if c.passed is None]
    if failing:
        verdict = "**fail**: " + "; ".join(f"{c.config}: {', '.join(why)}"
                                           for c, why in failing)
    elif unsure:
        verdict = "**inconclusive**: " + "; ".join(f"{c.config}: {', '.join(why)}"
                                                   for c, why in unsure)
    else:
        verdict = "**pass**: every twin stayed within both targets"
    blocks: list[Block] = [
        ("h2", "Soak: memory and failures over a long run"),
        ("table", ["server", "measured", "requests", "failed requests",
                   f"{metric} after warm-up", f"{metric} at end", "growth",
                   f"growth < {GROWTH_LIMIT:.0%}", "no failed request", "verdict"], rows),
        ("p", f"Soak verdict: {verdict}."),
        ("p", f"Memory is the {metric} of the server's whole process tree (master and "
              "workers), sampled every " + "/".join(f"{i:g}" for i in intervals)
              + " s with psutil while the step ran; "
              + ("PSS splits each page a forked worker shares with its master between them, "
                 "so the sum is not inflated the way summed RSS would be. " if metric == "PSS"
                 else "PSS was not readable, so pages a forked worker shares with its master "
                 "count once per process. ")
              + "'After warm-up' and 'at end' are the medians of the first and last "
              + "/".join(map(str, edges)) + " samples of the measured window, so one sample "
              "taken mid-batch sets neither; growth = (end - start) / start. Failed requests "
              "are those of the measured window that Locust counted as failed: a wrong status "
              "or body, a timeout or a connection error."),
    ]
    planned = PROFILES["soak"].duration_s
    short = [c for c in checks if c.run.step.duration_s < planned]
    if short:
        blocks.append(("p", f"Note: this soak measured {short[0].run.step.duration_s / 60:.1f} "
                            f"min per twin, not the profile's {planned / 60:.0f}: a leak slower "
                            "than that would not show."))
    png = plots.memory_over_time(
        [(c.run, c.memory.start_bytes if c.memory else math.nan) for c in checks],
        plot_dir / "soak-memory.png", metric.lower())
    if png is not None:
        blocks.append(("img", "Server memory over the soak", "plots/soak-memory", png))
    return blocks


def _memory_cell(run: RunResult) -> str:
    if run.memory is None:
        return "–"
    m = memory_growth(run.memory, run.step.duration_s)
    if math.isnan(m.growth):
        return "–"
    return (f"{m.start_bytes / 2**20:,.0f} → {m.end_bytes / 2**20:,.0f} "
            f"({m.growth:+.1%})")


def _env_rows(results: BenchResults) -> list[list[str]]:
    env = results.environment
    plan = env.get("cpu_plan", {})
    rows = [
        ["profile", results.profile], ["started / finished",
                                      f"{results.started_at} / {results.finished_at}"],
        ["CPU", f"{env.get('cpu_model')} x {env.get('logical_cpus')}"],
        ["memory", f"{env.get('memory_gib')} GiB"], ["platform", str(env.get("platform"))],
        ["python", str(env.get("python"))],
        ["server + Milvus CPUs", str(plan.get("server_cpus"))],
        ["load generator CPUs", f"{plan.get('generator_cpus')} "
                                f"({plan.get('generator_processes')} Locust process(es))"],
        ["server CPU quota", f"{plan.get('server_quota_cores')} core per server (cgroup v1, "
                             "10 ms period)" if plan.get("server_quota_cores") else "none"],
        ["load average at start", str(env.get("load_average"))],
        ["other load at start (% per CPU)", str(env.get("background_cpu_percent"))],
        ["keep-alive", str(env.get("keep_alive"))], ["access log", str(env.get("access_log"))],
        ["Milvus", str(env.get("milvus"))], ["request pool", str(results.pool)],
        ["git commit", f"{env.get('git_commit')}{' (dirty)' if env.get('git_dirty') else ''}"],
    ]
    rows += [[f"version: {k}", str(v)] for k, v in env.get("versions", {}).items()]
    return rows


def build_blocks(results: BenchResults, out: Path) -> tuple[list[Block], str]:
    """Every block of the report, and the headline as plain text for the terminal."""
    aggs = aggregate(results)
    cost = count_devcost()
    blocks: list[Block] = [("h1", f"twinbench report — {results.profile} profile")]
    profile = results.environment.get("profile", {})
    intro = (f"{len(results.runs)} measured steps, {len(results.configs)} configurations, "
             f"{profile.get('duration_s', '?')} s measured per step after "
             f"{profile.get('warmup_s', '?')} s of warm-up, "
             + ("one run of each compared step." if profile.get("repeats") == 1 else
                f"{profile.get('repeats', '?')} repeats of the compared steps, interleaved "
                "(ABAB)."))
    if results.profile == "quick":
        intro += (" The quick profile uses fewer than 5 repeats to fit its 10-minute budget: "
                  "with 3 repeats the widest interval (min..max) covers the median only "
                  "75 % of the time, and the table says so; use the full profile for 95 %.")
    blocks.append(("p", intro))
    for note in results.notes:
        blocks.append(("p", f"Note: {note}"))
    disturbed = sum(any("other processes" in n for n in r.notes) for r in results.runs)
    if disturbed:
        blocks.append(("p", f"**Note: in {disturbed} of {len(results.runs)} steps other "
                            "processes used more than a quarter of a core**. Figures from a "
                            "machine shared with other work are noisy; rerun on a quiet "
                            "machine before quoting them."))
    shared = results.environment.get("milvus", {}).get("shared_milvus")
    if shared:
        blocks.append(("p", f"Note: {shared}."))
    plot_dir = out / "plots"
    plot_dir.mkdir(exist_ok=True)
    # A soak exists to answer its two targets: they come first.
    checks = soak_checks(results)
    if checks:
        blocks += _soak_blocks(checks, plot_dir)
    headers, rows, misses = _headline(results)
    blocks += [("h2", "Headline ratios"), ("table", headers, rows)]
    blocks += [("p", f"Target missed — {m}") for m in misses]
    text = "\n".join(
        [f"  soak {c.config}: memory "
         + (f"{c.memory.growth:+.1%}" if c.memory and not math.isnan(c.memory.growth) else "–")
         + f" (target < {GROWTH_LIMIT:.0%}, {_verdict(c.memory_ok)}), failed requests "
         f"{c.run.failures} (target 0, {_verdict(c.failures_ok)})" for c in checks]
        + [f"  {r[0]}: {r[1]} (target {r[3]}, met: {r[4]})" for r in rows]
    ).replace("**", "")
    claims = evaluate_claims(results, cost)
    blocks += [("h2", "The claims, checked"), ("table", ["topic", "claim", "verdict",
                                                         "evidence"],
                                               [[c.topic, c.claim, c.verdict, c.evidence]
                                                for c in claims])]
    blocks += [("h2", "Server or framework? (same-server decomposition)"),
               *_decomposition_blocks(results)]
    headers, rows = _scenario_table(results)
    blocks += [("h2", "Every configuration, every scenario"), ("table", headers, rows)]
    headers, rows = _open_table(results)
    if rows:
        blocks += [("h2", "Open model: fixed rate, latency from the intended send time"),
                   ("p", "A request that waits behind a stalled one is counted from when it "
                         "should have been sent (coordinated-omission correction), so a "
                         "queue cannot hide."), ("table", headers, rows)]
    effects = [e for e in (ingest_effect(r) for r in results.runs
                           if r.step.scenario == "ingest_under_load") if e is not None]
    if effects:
        blocks += [("h2", "Searching while an ingest job runs"), ("table", [
            "config", "p50 before", "p99 before", "p50 during", "p99 during", "job seconds",
            "job status"], [[e.config, _f(e.p50_before), _f(e.p99_before), _f(e.p50_during),
                             _f(e.p99_during), _f(e.ingest_s), e.status] for e in effects])]
    blocks.append(("h2", "Figures"))
    figures = [
        ("Throughput against concurrency: text search", plots.throughput_vs_users(
            aggs, "search_text", plot_dir / "throughput-search_text.png")),
        ("Latency percentiles: /health", plots.percentile_bars(
            aggs, "health", plot_dir / "percentiles-health.png")),
        ("Latency percentiles: text search", plots.percentile_bars(
            aggs, "search_text", plot_dir / "percentiles-search_text.png")),
        ("Latency CDF: /health", plots.latency_cdf(results.runs, "health",
                                                   plot_dir / "cdf-health.png")),
        ("Latency CDF: text search", plots.latency_cdf(results.runs, "search_text",
                                                       plot_dir / "cdf-search_text.png")),
        ("Search latency over time during an ingest job", plots.ingest_timeline(
            results.runs, plot_dir / "ingest-timeline.png")),
    ]
    for title, png in figures:
        if png is not None:
            name = title.lower().replace(":", "").replace(" ", "-")
            blocks.append(("img", title, f"plots/{name}", png))
    blocks += [("h2", "Environment"), ("table", ["what", "value"], _env_rows(results))]
    blocks += [("h2", "Configurations (exact command lines)"), ("table", [
        "label", "role", "workers", "threads", "keep-alive", "CPUs", "quota", "argv"],
        [[c.label, c.role, str(c.workers), str(c.threads), c.keep_alive, str(c.cpus),
          str(c.cpu_quota_cores), " ".join(Path(c.argv[0]).name.split()) + " "
          + " ".join(c.argv[1:])] for c in results.configs])]
    blocks += [("h2", "Every run"), ("table", [
        "run", "scenario", "config", "load", "repeat", "req/s", "p99 ms", "errors",
        "gen CPU %", "server memory MiB (growth)", "valid / why not"],
        [[r.run_id, r.step.scenario, r.step.config,
          f"{r.step.rate:g} req/s" if r.step.rate else f"{r.step.users} users",
          str(r.step.repeat + 1), _f(r.throughput_rps), _f(r.latency.p99, 2),
          f"{r.failures}/{r.requests}", _f(r.generator_cpu * 100, 0), _memory_cell(r),
          ("yes" if r.valid else "no: " + "; ".join(r.invalid_reasons))
          + "".join(f" ({n})" for n in r.notes)] for r in results.runs])]
    blocks += [("h2", "Method"), ("p", (
        "Percentiles are nearest-rank over every request of the measured window (raw samples "
        "kept in raw/, gzipped), never Locust's rounded statistics. Medians over repeats carry "
        "a distribution-free order-statistic interval with its real coverage; ratios carry a "
        "seeded percentile-bootstrap 95 % interval. Each server's memory (the PSS of its "
        "whole process tree) is sampled throughout every step; 'Every run' shows it at the "
        "start and end of the measured window. A run whose busiest load-generator "
        "process passed 80 % of a core, or with more than 1 % errors, is invalid and excluded. "
        "Servers and Milvus run on their own CPUs, the generator on the others; every server "
        "gets the same CPU quota when one is set. Development cost counts lines by the rules "
        "in bench/devcost.py."))]
    return blocks, text


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2"):
            out.append(("# " if kind == "h1" else "## ") + str(block[1]))
        elif kind == "p":
            out.append(str(block[1]))
        elif kind == "table":
            headers, rows = block[1], block[2]
            assert isinstance(headers, list) and isinstance(rows, list)
            out.append("| " + " | ".join(headers) + " |")
            out.append("|" + "---|" * len(headers))
            out += ["| " + " | ".join(_md_cell(str(c)) for c in row) + " |" for row in rows]
        elif kind == "img":
            out.append(f"![{block[1]}]({block[2]}.png)")
        out.append("")
    return "\n".join(out)


def _inline_md(text: str) -> str:
    escaped = html.escape(text)
    parts = escaped.split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))


def render_html(blocks: list[Block], title: str) -> str:
    body: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2"):
            body.append(f"<{kind}>{html.escape(str(block[1]))}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{_inline_md(str(block[1]))}</p>")
        elif kind == "table":
            headers, rows = block[1], block[2]
            assert isinstance(headers, list) and isinstance(rows, list)
            head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
            lines = "".join("<tr>" + "".join(f"<td>{_inline_md(str(c))}</td>" for c in row)
                            + "</tr>" for row in rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{lines}</tbody></table>")
        elif kind == "img":
            data = block[3]
            assert isinstance(data, bytes)
            encoded = base64.b64encode(data).decode()
            body.append(f"<figure><img alt='{html.escape(str(block[1]))}' "
                        f"src='data:image/png;base64,{encoded}'><figcaption>"
                        f"{html.escape(str(block[1]))}</figcaption></figure>")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;font-size:12px;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}"
             "th{background:#f3f3f3}img{max-width:100%}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{style}</style></head><body>{''.join(body)}</body></html>\n")


def write_report(directory: Path) -> ReportPaths:
    results = read_results(directory)
    blocks, text = build_blocks(results, directory)
    markdown = directory / "report.md"
    page = directory / "report.html"
    markdown.write_text(render_markdown(blocks), encoding="utf-8")
    page.write_text(render_html(blocks, f"twinbench {results.profile}"), encoding="utf-8")
    return ReportPaths(markdown, page, "headline ratios:\n" + text)
