"""The claims table: each row of the well-known FastAPI-vs-Flask comparison, with a verdict
computed from this run's results ("holds", "holds only when ...", "does not hold").

Each verdict function reads only what the run recorded (runs, probes, the dev-cost count),
and says which figures, so a reader can check the verdict against the tables below it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from bench.analysis.aggregate import compared, shared_config
from bench.analysis.ingest import ingest_effect
from bench.analysis.ratios import Decomposition, decompose
from bench.results import AppCost, BenchResults

__all__ = ["Claim", "evaluate_claims"]


@dataclass(frozen=True)
class Claim:
    topic: str
    claim: str
    verdict: str
    evidence: str


def _shared_median_rps(results: BenchResults, scenario: str, app: str) -> float:
    agg = compared(results, scenario, shared_config(results, app))
    return agg.throughput.median if agg is not None and agg.valid_runs else math.nan


def _asgi_wsgi(results: BenchResults, cost: dict[str, AppCost]) -> Claim:
    wsgi = _shared_median_rps(results, "health", "floor-wsgi")
    asgi = _shared_median_rps(results, "health", "floor-asgi")
    if math.isnan(wsgi) or math.isnan(asgi):
        evidence = "the bare floors on one server were not both measured"
        verdict = "holds (by construction); its cost not measured"
    else:
        ratio = asgi / wsgi
        shared = results.topology["shared_server"]
        evidence = (
            f"bare ASGI vs bare WSGI app on {shared}: {asgi:,.0f} vs {wsgi:,.0f} req/s "
            f"(x{ratio:.2f}) — the interface alone"
        )
        verdict = "holds: FastAPI speaks ASGI, Flask WSGI; the interface itself costs " + (
            "little" if 0.8 <= ratio <= 1.25 else f"x{ratio:.2f}"
        )
    return Claim("ASGI vs WSGI", "FastAPI is ASGI (async), Flask is WSGI (sync)", verdict, evidence)


def _async(results: BenchResults, cost: dict[str, AppCost]) -> Claim:
    effects = {}
    for run in results.runs:
        if run.step.scenario == "ingest_under_load":
            effect = ingest_effect(run)
            if effect is not None:
                effects[run.step.config.split("/")[0]] = effect
    if len(effects) < 2:
        return Claim(
            "Async support",
            "FastAPI handles concurrent I/O natively; Flask cannot",
            "not measured",
            "no ingest_under_load run for both twins",
        )
    growth = {
        app: e.p99_during / e.p99_before if e.p99_before else math.nan for app, e in effects.items()
    }
    evidence = "; ".join(
        f"{app}: search p99 {e.p99_before:.0f} ms before, {e.p99_during:.0f} ms during a "
        f"{e.ingest_s:.1f} s ingest (x{growth[app]:.1f}), job {e.status}"
        for app, e in effects.items()
    )
    flask_g, fastapi_g = growth.get("flask", math.nan), growth.get("fastapi", math.nan)
    if fastapi_g < 0.67 * flask_g:
        verdict = "holds: searches on FastAPI suffered less while a job ran"
    elif flask_g < 0.67 * fastapi_g:
        verdict = "does not hold here: Flask's threads kept searches faster during the job"
    else:
        verdict = (
            "holds only in style: both twins keep serving during an ingest job "
            "(each hands the job to the core's runner thread; FastAPI's event loop and "
            "Flask's worker threads keep answering)"
        )
    return Claim(
        "Async support", "FastAPI handles concurrent I/O natively; Flask cannot", verdict, evidence
    )


def _performance(results: BenchResults, cost: dict[str, AppCost]) -> Claim:
    parts = {d.scenario: d for d in decompose(results)}
    if not parts:
        return Claim(
            "Performance",
            "FastAPI is much faster than Flask",
            "not measured",
            "the four-way comparison (usual / same server x both twins) is missing",
        )
    bits = []
    for scenario, d in parts.items():
        ci = (
            ""
            if math.isnan(d.total_ci.low)
            else (f" [{d.total_ci.low:.2f}, {d.total_ci.high:.2f}]")
        )
        bits.append(
            f"{scenario}: FastAPI/Flask x{d.total:.2f}{ci} on usual servers = server "
            f"x{d.server:.2f} * framework x{d.framework:.2f}"
        )

    def clearly_faster(d: Decomposition, value: float, low: float) -> bool:
        # With an interval, its lower end must clear 1.1; a single repeat must clear 1.25.
        return low > 1.1 if not math.isnan(low) else value > 1.25

    trivial = [parts[s] for s in ("health", "echo") if s in parts]
    faster = [d for d in trivial if clearly_faster(d, d.total, d.total_ci.low)]
    by_framework = [d for d in faster if clearly_faster(d, d.framework, d.framework_ci.low)]
    search = parts.get("search_text")
    search_note = ""
    if search is not None:
        spans = (
            not math.isnan(search.total_ci.low) and search.total_ci.low <= 1 <= search.total_ci.high
        )
        search_note = (
            f"; on text search no clear gap (x{search.total:.2f}, interval spans 1)"
            if spans
            else f"; on text search x{search.total:.2f}"
        )

    def named(ds: list[Decomposition]) -> str:
        # Say when a verdict rests on a single repeat (no interval to check it against).
        return ", ".join(
            d.scenario + (" — one repeat" if math.isnan(d.total_ci.low) else "") for d in ds
        )

    if by_framework:
        verdict = (
            "holds on trivial endpoints even on one server ("
            + named(by_framework)
            + ")"
            + search_note
        )
    elif faster:
        verdict = (
            "holds only when each twin runs on its usual server and the endpoint is "
            "trivial (" + named(faster) + "): on one server "
            "the frameworks are not clearly apart" + search_note
        )
    else:
        verdict = "does not hold at equal CPU on this machine" + search_note
    return Claim("Performance", "FastAPI is much faster than Flask", verdict, "; ".join(bits))


def _docs(results: BenchResults, cost: dict[str, AppCost]) -> Claim:
    probes = results.environment.get("probes", {})
    served = {label.split("/")[0]: p.get("GET /docs") for label, p in probes.items()}
    evidence = (
        f"GET /docs: {served}; docs code lines: flask {cost['flask'].docs}, "
        f"fastapi {cost['fastapi'].docs}"
    )
    if served.get("fastapi") == 200 and served.get("flask") == 200:
        verdict = (
            "holds only in effort: both serve interactive docs, Flask's by "
            f"{cost['flask'].docs} lines of hand-written apispec code"
        )
    elif served.get("fastapi") == 200:
        verdict = "holds: FastAPI serves them built in; the Flask twin does not"
    else:
        verdict = "not measured (no docs probe answered)"
    return Claim(
        "Interactive docs", "FastAPI generates interactive API docs for free", verdict, evidence
    )


def _validation(results: BenchResults, cost: dict[str, AppCost]) -> Claim:
    probes = results.environment.get("probes", {})
    bad = {label.split("/")[0]: p.get("bad echo status") for label, p in probes.items()}
    same = len(set(bad.values())) == 1 and 422 in bad.values()
    evidence = (
        f"top_k=500 on /echo answered {bad}; validation lines: flask "
        f"{cost['flask'].validation}, fastapi {cost['fastapi'].validation}"
    )
    verdict = (
        "holds only in effort: both twins refuse bad input with the same 422, FastAPI "
        "declares it on the signature, Flask wires marshmallow by hand"
        if same
        else "does not hold: the twins answered bad input differently"
    )
    return Claim(
        "Data validation", "FastAPI validates requests automatically (pydantic)", verdict, evidence
    )


def _devcost(results: BenchResults, cost: dict[str, AppCost]) -> Claim:
    f, a = cost["flask"], cost["fastapi"]
    evidence = (
        f"validation + serialisation + docs lines: flask {f.contract_code} "
        f"({f.validation}+{f.serialisation}+{f.docs}) of {f.total}, fastapi "
        f"{a.contract_code} ({a.validation}+{a.serialisation}+{a.docs}) of {a.total}"
    )
    if not f.total or not a.total:
        verdict = "not measured (the run recorded no dev-cost count for a twin)"
    elif a.contract_code < 0.8 * f.contract_code:
        verdict = (
            f"holds: the FastAPI twin needs {1 - a.contract_code / f.contract_code:.0%} "
            "fewer lines for the same contract"
        )
    else:
        verdict = "does not hold: the two twins need about as much contract code"
    return Claim("Development cost", "FastAPI needs less code for the same API", verdict, evidence)


def _ease(results: BenchResults, cost: dict[str, AppCost]) -> Claim:
    f, a = cost["flask"], cost["fastapi"]
    evidence = f"total code lines for the same contract: flask {f.total}, fastapi {a.total}"
    if not f.total or not a.total:
        return Claim("Ease of use", "Flask is simpler to learn and use", "not measured", evidence)
    verdict = (
        "holds only for a tiny app: for this contract Flask needed more code"
        if f.total > 1.1 * a.total
        else "holds: Flask needed no more code than FastAPI for this contract"
    )
    return Claim("Ease of use", "Flask is simpler to learn and use", verdict, evidence)


def _flexibility(results: BenchResults, cost: dict[str, AppCost]) -> Claim:
    servers = sorted({c.server for c in results.configs if c.role == "twin"})
    probes = results.environment.get("probes", {})
    bodies = {str(p.get("good echo body")) for p in probes.values()}
    evidence = (
        f"both twins served by {servers}; identical /echo answers: "
        f"{len(bodies) == 1 and bool(probes)}"
    )
    return Claim(
        "Flexibility",
        "Flask is more flexible (bring your own parts)",
        "does not hold as a difference here: both twins meet one contract over one "
        "core and run on the same server",
        evidence,
    )


def _community(results: BenchResults, cost: dict[str, AppCost]) -> Claim:
    return Claim(
        "Community",
        "Flask has the larger, older community",
        "not settled by a benchmark",
        "outside what measurements of this code can show; see the projects' own statistics",
    )


CLAIMS: list[Callable[[BenchResults, dict[str, AppCost]], Claim]] = [
    _asgi_wsgi,
    _async,
    _performance,
    _docs,
    _validation,
    _devcost,
    _ease,
    _flexibility,
    _community,
]


def evaluate_claims(results: BenchResults) -> list[Claim]:
    """The nine rows, from ``results`` alone (its dev-cost counts included)."""
    cost = {app: results.devcost.get(app, AppCost(app)) for app in ("flask", "fastapi")}
    return [claim(results, cost) for claim in CLAIMS]
