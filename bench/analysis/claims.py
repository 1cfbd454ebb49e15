"""The claims table: each row of the well-known FastAPI-vs-Flask comparison, judged by a rule.

Every row has a rule in code, printed beside its verdict: which recorded figures it reads,
which thresholds it applies, how many runs it needs. The verdict's words are composed from
the rule's outcome and the figures, never a fixed sentence, and every outcome is reachable:
holds, holds only when..., does not hold, not apart, inconclusive, not measured (and why).
A row that no measurement of this code can settle says so, and what would settle it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bench.analysis.aggregate import shared_config, usual_config
from bench.analysis.ingest import (
    GROWTH_PERCENTILES,
    MIN_PHASE_SAMPLES,
    IngestEffect,
    upload_effects,
)
from bench.analysis.ratios import Decomposition, Ratio, decompose, paired_ratio
from bench.analysis.runtimes import runtime_factor
from bench.results import AppCost, BenchResults
from bench.stats import MIN_SAMPLES, Interval, summarize_repeats

__all__ = [
    "Claim",
    "Verdict",
    "evaluate_claims",
    "direction",
    "CLEARLY",
    "CODE_APART",
    "EVIDENCE_KINDS",
]

Verdict = Literal[
    "holds", "holds only", "does not hold", "not apart", "inconclusive", "not measured"
]
# A speed ratio is clearly apart from 1 when its whole interval lies beyond ±10 %.
CLEARLY = 1.10
SCENARIO_NAMES = {
    "health": "/health",
    "echo": "/echo",
    "search_vector": "vector search",
    "search_text": "text search",
}
# Code sizes are apart when one is under 80 % of the other.
CODE_APART = 0.80
# The during/before growth of search latency beside an ingest job: one twin suffers clearly
# less when its growth is under two thirds of the other's, the whole interval over repeats.
GROWTH_APART = 2 / 3


@dataclass(frozen=True)
class Claim:
    topic: str
    claim: str
    verdict: Verdict
    text: str  # the verdict in words, composed from the figures
    rule: str
    evidence: str

    @property
    def kind(self) -> str:
        """What the verdict rests on (EVIDENCE_KINDS): a verdict read from the run's own
        configuration or from code cannot come out otherwise by measuring, and says so."""
        return EVIDENCE_KINDS.get(self.topic, "measured")


def direction(ratio: Ratio) -> Literal["faster", "slower", "not apart", "inconclusive", "none"]:
    """Where a FastAPI/Flask ratio's interval lies against 1 ± 10 %."""
    if not ratio.pairs:
        return "none"
    i = ratio.interval
    if not i.exists:
        return "inconclusive"
    if i.low > CLEARLY:
        return "faster"
    if i.high < 1 / CLEARLY:
        return "slower"
    if 1 / CLEARLY <= i.low and i.high <= CLEARLY:
        return "not apart"
    return "inconclusive"


def _ratio_text(ratio: Ratio) -> str:
    if not ratio.pairs:
        return "–"
    i = ratio.interval
    interval = f" [{i.low:.2f}, {i.high:.2f}], {i.method}" if i.exists else f", {i.method}"
    return f"x{ratio.value:.2f}{interval}"


def _asgi_wsgi(results: BenchResults) -> Claim:
    topic, claim = "ASGI vs WSGI", "FastAPI is ASGI (async), Flask is WSGI (sync)"
    rule = (
        "Holds when the run served the FastAPI twin over ASGI and the Flask twin over WSGI "
        "(the recorded configurations). The interface's own cost: the raw ASGI against the "
        "raw WSGI callable on the shared server, by server CPU per request, paired; it "
        f"'costs little' when the interval lies within ±{CLEARLY - 1:.0%}."
    )
    interfaces = {c.app: c.interface for c in results.configs if c.role == "twin"}
    if not {"flask", "fastapi"} <= set(interfaces):
        return Claim(
            topic,
            claim,
            "not measured",
            "not measured: a twin did not run",
            rule,
            f"interfaces served: {interfaces}",
        )
    if interfaces != {"flask": "wsgi", "fastapi": "asgi"}:
        return Claim(
            topic,
            claim,
            "does not hold",
            f"does not hold: served as {interfaces}",
            rule,
            f"interfaces served: {interfaces}",
        )
    raw = results.topology["raw_floor_of"]
    cost = paired_ratio(
        results,
        "raw ASGI / raw WSGI",
        "health",
        shared_config(results, raw.get("fastapi", "")),
        shared_config(results, raw.get("flask", "")),
        "cost",
    )
    found = direction(cost)
    cost_words = {
        "none": "its own cost was not measured (no usable raw-floor runs on the shared server)",
        "inconclusive": f"its own cost is inconclusive ({_ratio_text(cost)})",
        "not apart": f"the interface itself costs little ({_ratio_text(cost)})",
        "faster": f"a raw ASGI callable costs less than a raw WSGI one ({_ratio_text(cost)})",
        "slower": f"a raw ASGI callable costs more than a raw WSGI one ({_ratio_text(cost)})",
    }[found]
    return Claim(
        topic,
        claim,
        "holds",
        f"holds: FastAPI is served over ASGI, Flask over WSGI; {cost_words}",
        rule,
        f"interfaces: {interfaces}; raw ASGI/WSGI speed by "
        f"CPU per request on the shared server: {_ratio_text(cost)}",
    )


def _growth_side(ratios: Interval) -> str:
    """Where the interval of FastAPI-over-Flask growth ratios lies against the margin."""
    if not ratios.exists:
        return "inconclusive"
    if ratios.high < GROWTH_APART:
        return "fastapi"
    if ratios.low > 1 / GROWTH_APART:
        return "flask"
    if GROWTH_APART <= ratios.low and ratios.high <= 1 / GROWTH_APART:
        return "not apart"
    return "inconclusive"


def _async(results: BenchResults) -> Claim:
    topic, claim = "Async support", "FastAPI handles concurrent work natively; Flask cannot"
    rule = (
        "From the ingest-under-load runs of each twin on its usual server (an upload "
        "accepted at once, searches at a fixed rate beside the job), repeated and "
        "interleaved between the twins: per repeat, each twin's search p50 and p95 during "
        f"the job over before it, a p50 from at least {MIN_SAMPLES[50.0]} searches in each "
        f"phase, a p95 from at least {MIN_PHASE_SAMPLES} searches; per repeat, FastAPI's "
        "growth over Flask's (a pair); the median of the pairs with its order-statistic "
        "interval, for p50 and for p95. One twin keeps searches clearly better when both "
        f"intervals lie wholly beyond the margin (under {GROWTH_APART:.2f}: FastAPI; over "
        f"{1 / GROWTH_APART:.2f}: Flask); not apart when both lie within "
        f"[{GROWTH_APART:.2f}, {1 / GROWTH_APART:.2f}]; inconclusive otherwise, and with one "
        "pair (no interval). Jobs must have finished."
    )
    usual = {usual_config(results, app) for app in ("flask", "fastapi")}
    effects = upload_effects(results.runs, {label for label in usual if label})
    if not {"flask", "fastapi"} <= set(effects):
        return Claim(
            topic,
            claim,
            "not measured",
            "not measured: no finished ingest job under load for both twins",
            rule,
            f"finished jobs: {sorted(effects)}",
        )
    repeats = sorted(set(effects["flask"]) & set(effects["fastapi"]))
    pairs: dict[float, Interval] = {}
    medians: dict[float, float] = {}
    for q in GROWTH_PERCENTILES:
        ratios = [
            effects["fastapi"][r].growth_at(q) / effects["flask"][r].growth_at(q) for r in repeats
        ]
        summary = summarize_repeats(ratios, unit="pairs")
        pairs[q], medians[q] = summary.ci, summary.median
    sides = {q: _growth_side(pairs[q]) for q in GROWTH_PERCENTILES}
    evidence = "; ".join(
        [_async_twin_evidence(app, effects[app]) for app in ("fastapi", "flask")]
        + [
            f"FastAPI/Flask growth of the p{q:.0f}: "
            + (
                f"x{medians[q]:.2f} [{pairs[q].low:.2f}, {pairs[q].high:.2f}], "
                if pairs[q].exists
                else ""
            )
            + pairs[q].method
            for q in GROWTH_PERCENTILES
        ]
    )
    p50, p95 = sides[50.0], sides[95.0]
    if p50 != p95 or p95 == "inconclusive":
        words = ", ".join(f"p{q:.0f}: {_SIDE_WORDS[sides[q]]}" for q in GROWTH_PERCENTILES)
        return Claim(topic, claim, "inconclusive", f"inconclusive ({words})", rule, evidence)
    figures = " and ".join(
        f"p{q:.0f} x{medians[q]:.2f} [{pairs[q].low:.2f}, {pairs[q].high:.2f}]"
        for q in GROWTH_PERCENTILES
    )
    if p95 == "fastapi":
        return Claim(
            topic,
            claim,
            "holds",
            f"holds: searches on FastAPI grew clearly less while the job ran "
            f"(FastAPI's growth over Flask's: {figures})",
            rule,
            evidence,
        )
    if p95 == "flask":
        return Claim(
            topic,
            claim,
            "does not hold",
            f"does not hold: searches on Flask grew clearly less while the job ran "
            f"(FastAPI's growth over Flask's: {figures})",
            rule,
            evidence,
        )
    return Claim(
        topic,
        claim,
        "not apart",
        f"not apart: FastAPI's growth over Flask's, {figures}, lies within "
        f"[{GROWTH_APART:.2f}, {1 / GROWTH_APART:.2f}]",
        rule,
        evidence,
    )


_SIDE_WORDS = {
    "fastapi": "FastAPI grew clearly less",
    "flask": "Flask grew clearly less",
    "not apart": "not apart",
    "inconclusive": "the interval straddles the margin or is missing",
}


def _async_twin_evidence(app: str, by_repeat: dict[int, IngestEffect]) -> str:
    """One twin's growth of the p50 and the p95 over its repeats, with the searches and the
    jobs they came from."""
    effects = [by_repeat[r] for r in sorted(by_repeat)]
    parts = []
    for q in GROWTH_PERCENTILES:
        values = [e.growth_at(q) for e in effects]
        growth = summarize_repeats(values)
        shown = (
            f"x{growth.median:.2f} (runs: {', '.join(f'{v:.2f}' for v in growth.values)})"
            if growth.values
            else "–"
        )
        short = sum(math.isnan(v) for v in values)
        if short:
            shown += f", {short} run{'s' if short > 1 else ''} with too few searches for it"
        parts.append(f"p{q:.0f} {shown}")
    before = sum(e.before.n for e in effects)
    during = sum(e.during.n for e in effects)
    small = min(min(e.before.n, e.during.n) for e in effects)
    jobs = ", ".join(f"{e.rows} rows in {e.job_s:.1f} s" for e in effects)
    return (
        f"{app}: search growth during/before {' '.join(parts)}; {len(effects)} runs, "
        f"{before} searches before and {during} during in all (fewest in one phase: {small}); "
        f"jobs: {jobs}"
    )


def _performance(results: BenchResults) -> Claim:
    topic, claim = "Performance", "FastAPI is much faster than Flask"
    rule = (
        "Per compared scenario, FastAPI/Flask on their usual servers, paired by repeat (CPU "
        "per request for /health, throughput otherwise): FastAPI clearly faster when the "
        f"whole interval lies above x{CLEARLY:.2f}, clearly slower below x{1 / CLEARLY:.2f}, "
        "not apart when it lies between; one run or a wider interval is inconclusive. Holds "
        "when clearly faster on every scenario, holds only on those where it is. The "
        "evidence sets the framework beside the other factors on text search, each where "
        "measured: the model runtime (default ÷ torch, paired), the server, the framework."
    )
    parts = decompose(results)
    factors = _text_search_factors(results, parts)
    if not parts:
        return Claim(
            topic,
            claim,
            "not measured",
            "not measured: no scenario ran both twins on their usual and on the shared server",
            rule,
            factors,
        )
    by = {SCENARIO_NAMES.get(d.scenario, d.scenario): direction(d.gap) for d in parts}
    evidence = (
        "; ".join(
            f"{d.scenario}: usual servers {_ratio_text(d.gap)}, shared server "
            f"{_ratio_text(d.framework)}"
            for d in parts
        )
        + f". {factors}"
    )

    def named(kind: str) -> list[str]:
        return [s for s, v in by.items() if v == kind]

    faster, slower, level = named("faster"), named("slower"), named("not apart")
    tail = "; ".join(
        f"{word} on {', '.join(names)}"
        for word, names in (
            ("Flask clearly faster", slower),
            ("not apart", level),
            ("inconclusive", named("inconclusive")),
        )
        if names
    )
    if faster and len(faster) == len(by):
        return Claim(
            topic, claim, "holds", f"holds on every scenario ({', '.join(faster)})", rule, evidence
        )
    if faster:
        return Claim(
            topic,
            claim,
            "holds only",
            f"holds only on {', '.join(faster)}" + (f"; {tail}" if tail else ""),
            rule,
            evidence,
        )
    if slower:
        return Claim(topic, claim, "does not hold", f"does not hold: {tail}", rule, evidence)
    if level:
        return Claim(topic, claim, "not apart", f"not apart: {tail}", rule, evidence)
    return Claim(topic, claim, "inconclusive", f"inconclusive: {tail}", rule, evidence)


def _text_search_factors(results: BenchResults, parts: list[Decomposition]) -> str:
    """What moved text search in this run, each factor where it was measured: the model
    runtime (each twin on the default runtime ÷ on torch, naive at saturation), the server
    (each twin's usual server ÷ the shared one) and the framework (FastAPI ÷ Flask on the
    shared server). The runtime is the largest lever on text search; the verdict is on the
    framework, so the evidence puts the three side by side."""
    moved = runtime_factor(results)
    runtime = (
        "the runtime moved text search "
        + ", ".join(
            f"{_figure_text(p.throughput, p.throughput_interval)} ({twin}, "
            f"{p.default_runtime} ÷ {p.runtime}, naive at {p.users} users)"
            for twin, p in sorted(moved.items())
        )
        if moved
        else "the runtime comparison did not run (the batching profile runs it)"
    )
    text = next((d for d in parts if d.scenario == "search_text"), None)
    if text is None:
        rest = (
            "the server and the framework were not measured on text search (it needs both "
            "twins on their usual and on the shared server)"
        )
    else:
        rest = (
            f"the server {_ratio_text(text.flask_server)} (Flask), "
            f"{_ratio_text(text.fastapi_server)} (FastAPI), the framework "
            f"{_ratio_text(text.framework)}"
        )
    return f"Text search: {runtime}; {rest}"


def _figure_text(value: float, interval: Interval) -> str:
    if math.isnan(value):
        return "–"
    bounds = f" [{interval.low:.2f}, {interval.high:.2f}]" if interval.exists else ""
    return f"x{value:.2f}{bounds}, {interval.method}"


def _probe(results: BenchResults, key: str) -> dict[str, object]:
    probes = results.environment.get("probes", {})
    return {label.split("/")[0]: p.get(key) for label, p in sorted(probes.items())}


def _docs(results: BenchResults, cost: dict[str, AppCost]) -> Claim:
    topic, claim = "Interactive docs", "FastAPI generates interactive API docs (OpenAPI, ReDoc)"
    rule = (
        "Each twin asked for /docs, /redoc and /openapi.json during the run; lines of "
        "hand-written API-docs code counted from each twin's source (openapi.py). Holds when "
        "FastAPI serves all three with no hand-written docs module; holds only in effort when "
        "Flask serves them too, by code of its own; does not hold when FastAPI does not."
    )
    served = {path: _probe(results, f"GET {path}") for path in ("/docs", "/redoc", "/openapi.json")}
    evidence = "; ".join(f"GET {p}: {v}" for p, v in served.items()) + (
        f"; hand-written docs lines: flask {cost['flask'].lines('docs')}, fastapi "
        f"{cost['fastapi'].lines('docs')}"
    )

    def serves(app: str) -> bool:
        return all(v.get(app) == 200 for v in served.values())

    if not any(served["/docs"].values()):
        return Claim(
            topic, claim, "not measured", "not measured: no twin was asked", rule, evidence
        )
    if not serves("fastapi"):
        return Claim(
            topic,
            claim,
            "does not hold",
            "does not hold: the FastAPI twin did not serve all three",
            rule,
            evidence,
        )
    if serves("flask"):
        return Claim(
            topic,
            claim,
            "holds only",
            "holds only in effort: both serve "
            f"interactive docs; Flask's take {cost['flask'].lines('docs')} lines of "
            "hand-written docs code",
            rule,
            evidence,
        )
    return Claim(
        topic, claim, "holds", "holds: FastAPI serves them, the Flask twin does not", rule, evidence
    )


def _validation(results: BenchResults, cost: dict[str, AppCost]) -> Claim:
    topic, claim = "Data validation", "FastAPI validates requests by itself (pydantic)"
    rule = (
        "Each twin sent an invalid /echo body (top_k=500) during the run. Holds only in "
        "effort when both answer the same 422 body (FastAPI declares the rules, Flask calls "
        "its schemas by hand: validation lines counted from schemas.py); holds when only "
        "FastAPI answers 422; does not hold when FastAPI does not."
    )
    status, body = _probe(results, "bad echo status"), _probe(results, "bad echo body")
    evidence = f"invalid /echo answered {status}; validation lines (schemas.py): flask " + (
        f"{cost['flask'].lines('validation')}, fastapi {cost['fastapi'].lines('validation')}"
    )
    if not status:
        return Claim(
            topic, claim, "not measured", "not measured: no twin was asked", rule, evidence
        )
    if status.get("fastapi") != 422:
        return Claim(
            topic,
            claim,
            "does not hold",
            f"does not hold: FastAPI answered {status.get('fastapi')}",
            rule,
            evidence,
        )
    if status.get("flask") == 422 and body.get("flask") == body.get("fastapi"):
        return Claim(
            topic,
            claim,
            "holds only",
            "holds only in effort: both twins refuse "
            "bad input with the same 422; FastAPI declares it, Flask takes "
            f"{cost['flask'].lines('validation')} lines of hand-written schemas",
            rule,
            evidence,
        )
    return Claim(
        topic,
        claim,
        "holds",
        "holds: only FastAPI answered the invalid body with the contract's 422",
        rule,
        evidence,
    )


def _code_verdict(small: int, large: int) -> Literal["apart", "not apart"]:
    return "apart" if small < CODE_APART * large else "not apart"


def _devcost(results: BenchResults, cost: dict[str, AppCost]) -> Claim:
    topic, claim = "Development cost", "FastAPI costs less to develop"
    rules = results.environment.get("devcost_rules", "not recorded")
    rule = (
        "Contract code (validation + errors + API docs) of each twin for the same contract, "
        f"counted at run time ({rules}). Holds when FastAPI's is under {CODE_APART:.0%} of "
        "Flask's, does not hold when Flask's is under that share of FastAPI's, not apart "
        "otherwise; the figure without the docs module is given beside it."
    )
    f, a = cost["flask"], cost["fastapi"]
    if not f.total or not a.total:
        return Claim(
            topic,
            claim,
            "not measured",
            "not measured: the run recorded no dev-cost count",
            rule,
            "–",
        )
    without_f = f.contract_code - f.lines("docs")
    without_a = a.contract_code - a.lines("docs")
    evidence = (
        f"contract code: flask {f.contract_code} (validation {f.lines('validation')}, errors "
        f"{f.lines('errors')}, docs {f.lines('docs')}), fastapi {a.contract_code} (validation "
        f"{a.lines('validation')}, errors {a.lines('errors')}, docs {a.lines('docs')}); "
        f"without docs: flask {without_f}, fastapi {without_a}; all code: flask {f.total}, "
        f"fastapi {a.total}"
    )
    docs_share = (
        f" ({(f.lines('docs') - a.lines('docs')) / (f.contract_code - a.contract_code):.0%} of "
        "the difference is the hand-wired API docs)"
        if f.contract_code > a.contract_code
        else ""
    )
    if _code_verdict(a.contract_code, f.contract_code) == "apart":
        return Claim(
            topic,
            claim,
            "holds",
            f"holds: the FastAPI twin needs "
            f"{1 - a.contract_code / f.contract_code:.0%} fewer contract lines"
            f"{docs_share}",
            rule,
            evidence,
        )
    if _code_verdict(f.contract_code, a.contract_code) == "apart":
        return Claim(
            topic,
            claim,
            "does not hold",
            "does not hold: the Flask twin needs "
            f"{1 - f.contract_code / a.contract_code:.0%} fewer contract lines",
            rule,
            evidence,
        )
    return Claim(
        topic,
        claim,
        "not apart",
        "not apart: both twins need about as much contract code",
        rule,
        evidence,
    )


def _ease(results: BenchResults, cost: dict[str, AppCost]) -> Claim:
    topic, claim = "Ease of use", "Flask is simpler to learn and use"
    rule = (
        "No benchmark measures learning. The proxy used here: all the code a reader of each "
        f"twin must read for the same contract. Flask simpler when its total is under "
        f"{CODE_APART:.0%} of FastAPI's, FastAPI simpler when the reverse, not apart "
        "otherwise. What would settle the claim: timed tasks by newcomers on both twins."
    )
    f, a = cost["flask"], cost["fastapi"]
    if not f.total or not a.total:
        return Claim(
            topic,
            claim,
            "not measured",
            "not measured: the run recorded no dev-cost count",
            rule,
            "–",
        )
    evidence = f"all code lines for the same contract: flask {f.total}, fastapi {a.total}"
    if _code_verdict(f.total, a.total) == "apart":
        return Claim(
            topic,
            claim,
            "holds",
            f"holds by the proxy: the Flask twin is {1 - f.total / a.total:.0%} shorter",
            rule,
            evidence,
        )
    if _code_verdict(a.total, f.total) == "apart":
        return Claim(
            topic,
            claim,
            "does not hold",
            f"does not hold by the proxy: the Flask "
            f"twin needs {f.total / a.total:.1f}x the code of the FastAPI twin for "
            "the same contract",
            rule,
            evidence,
        )
    return Claim(
        topic,
        claim,
        "not apart",
        "not apart by the proxy: both twins are about as long",
        rule,
        evidence,
    )


def _flexibility(results: BenchResults) -> Claim:
    topic, claim = "Flexibility", "Flask is more flexible (bring your own parts)"
    rule = (
        "Read from this run's configurations, per twin: the servers each twin really ran on "
        "(a valid run each), and whether both gave the same answers. Holds when Flask ran "
        "on more servers than FastAPI, does not hold when FastAPI ran on more, not apart "
        "when they ran on as many. What would settle the wider claim: swapping parts "
        "(ORM, templates, auth) in both, which this service does not do."
    )
    ran: dict[str, set[str]] = {"flask": set(), "fastapi": set()}
    for run in results.runs:
        app, server = run.step.config.split("/")[:2]
        if app in ran and run.valid:
            ran[app].add(server)
    bodies = _probe(results, "good echo body")
    same = len({str(b) for b in bodies.values()}) == 1 and len(bodies) == 2
    evidence = (
        f"flask ran on {sorted(ran['flask'])}, fastapi on {sorted(ran['fastapi'])}; "
        f"identical /echo answers: {same}"
    )
    if not ran["flask"] or not ran["fastapi"]:
        return Claim(
            topic, claim, "not measured", "not measured: a twin has no valid run", rule, evidence
        )
    if len(ran["flask"]) > len(ran["fastapi"]):
        return Claim(topic, claim, "holds", "holds here: Flask ran on more servers", rule, evidence)
    if len(ran["fastapi"]) > len(ran["flask"]):
        return Claim(
            topic,
            claim,
            "does not hold",
            "does not hold here: FastAPI ran on more servers",
            rule,
            evidence,
        )
    count = len(ran["flask"])
    shared = len(ran["flask"] & ran["fastapi"])
    servers = f"{count} server{'s' if count != 1 else ''}"
    both = {0: "", 1: ", one of them shared" if count > 1 else ", the same one"}.get(
        shared, f", {shared} of them shared"
    )
    return Claim(
        topic,
        claim,
        "not apart",
        f"not apart: each twin ran on {servers}{both}"
        + (", with the same answers" if same else ""),
        rule,
        evidence,
    )


def _community(results: BenchResults) -> Claim:
    return Claim(
        "Community",
        "Flask has the larger, older community",
        "not measured",
        "not measured: no measurement of this code can settle it",
        "Outside what a benchmark of this service can show. What would settle it: the "
        "projects' public statistics over time (downloads, contributors, questions answered).",
        "–",
    )


CLAIMS: list[Callable[[BenchResults, dict[str, AppCost]], Claim]] = [
    lambda r, c: _asgi_wsgi(r),
    lambda r, c: _async(r),
    lambda r, c: _performance(r),
    _docs,
    _validation,
    _devcost,
    _ease,
    lambda r, c: _flexibility(r),
    lambda r, c: _community(r),
]


# What each row's verdict rests on. "static": read from the run's configuration or from the
# twins' code, the same in every run of this code; "measured": from load runs, so another
# run could read otherwise.
EVIDENCE_KINDS = {
    "ASGI vs WSGI": "static: the interfaces are the configurations' labels; only the raw "
    "callables' cost is measured",
    "Async support": "measured",
    "Performance": "measured",
    "Interactive docs": "static: code line counts, with an HTTP probe of the three pages",
    "Data validation": "static: code line counts, with an HTTP probe of one invalid body",
    "Development cost": "static: code line counts",
    "Ease of use": "static: code line counts (a proxy)",
    "Flexibility": "static: the servers the profile itself lists for each twin",
    "Community": "none",
}


def evaluate_claims(results: BenchResults) -> list[Claim]:
    """The nine rows, from ``results`` alone (its dev-cost counts included)."""
    cost = {app: results.devcost.get(app, AppCost(app)) for app in ("flask", "fastapi")}
    return [claim(results, cost) for claim in CLAIMS]
