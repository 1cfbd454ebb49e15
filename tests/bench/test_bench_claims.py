"""Every verdict branch of the nine claim rows, driven by fixture data.

Each test bends the fixture (tests/bench/conftest.py) just enough to reach one outcome of one
row's rule, so a rule that could not reach an outcome it promises fails here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from bench.analysis.claims import Claim, evaluate_claims
from bench.results import AppCost, BenchResults, RunResult
from tests.bench.conftest import (
    FASTAPI,
    FASTAPI_SHARED,
    FLASK,
    FLASK_SHARED,
    fixture_results,
    upload_run,
)

TOPICS = [
    "ASGI vs WSGI",
    "Async support",
    "Performance",
    "Interactive docs",
    "Data validation",
    "Development cost",
    "Ease of use",
    "Flexibility",
    "Community",
]


def claim(results: BenchResults, topic: str) -> Claim:
    return evaluate_claims(results)[TOPICS.index(topic)]


def scaled(results: BenchResults, label: str, scenario: str, factor: float) -> None:
    """Multiply one configuration's speed in one scenario (throughput up, or cost down)."""
    for i, run in enumerate(results.runs):
        if run.step.config == label and run.step.scenario == scenario:
            results.runs[i] = dataclasses.replace(
                run,
                throughput_rps=run.throughput_rps * (1 if run.step.rate else factor),
                server_cpu_us_per_request=run.server_cpu_us_per_request / factor,
            )


def only(results: BenchResults, keep: Callable[[RunResult], bool]) -> None:
    results.runs = [r for r in results.runs if keep(r)]


# --- ASGI vs WSGI ---------------------------------------------------------------------


def test_asgi_wsgi_holds_and_prices_the_interface() -> None:
    c = claim(fixture_results(), "ASGI vs WSGI")
    assert c.verdict == "holds" and "costs little" in c.text


def test_asgi_wsgi_prices_a_cheaper_asgi_callable() -> None:
    results = fixture_results()
    scaled(results, "raw-asgi/granian/1wx4t", "health", 1.5)
    c = claim(results, "ASGI vs WSGI")
    assert c.verdict == "holds" and "raw ASGI callable costs less" in c.text


def test_asgi_wsgi_does_not_hold_when_the_interfaces_are_swapped() -> None:
    results = fixture_results()
    results.configs = [
        dataclasses.replace(c, interface="asgi" if c.interface == "wsgi" else "wsgi")
        for c in results.configs
    ]
    assert claim(results, "ASGI vs WSGI").verdict == "does not hold"


def test_asgi_wsgi_is_not_measured_without_twins() -> None:
    results = fixture_results()
    results.configs = [c for c in results.configs if c.role != "twin"]
    assert claim(results, "ASGI vs WSGI").verdict == "not measured"


# --- Async support ----------------------------------------------------------------------


def test_async_not_apart_when_both_suffer_alike() -> None:
    c = claim(fixture_results(), "Async support")
    assert c.verdict == "not apart"
    # The fixture's three pairs of p95 growth (600/580, 620/560, 590/600 over 300 ms).
    assert "range of 3 pairs, 75% coverage" in c.evidence


def _uploads(growths: list[tuple[float, float]]) -> list[RunResult]:
    """Interleaved ingest runs, one (Flask, FastAPI) p95 growth per repeat, 300 searches a
    phase (p50 grows alike: conftest.phases keeps it at a third of the p95)."""
    return [
        upload_run(label, 300, 300 * growth, repeat=r)
        for r, (flask, fastapi) in enumerate(growths)
        for label, growth in ((FLASK, flask), (FASTAPI, fastapi))
    ]


@pytest.mark.parametrize(
    ("growths", "verdict"),
    [
        ([(2.0, 1.1), (2.2, 1.0), (1.9, 1.2)], "holds"),
        ([(1.1, 2.0), (1.0, 2.2), (1.2, 1.9)], "does not hold"),
        # One repeat each is one pair: no interval, whatever its size (issue 27 item 1).
        ([(2.0, 1.1)], "inconclusive"),
        # Two pairs clear the margin, one goes the other way: the interval straddles it.
        ([(2.0, 1.1), (2.2, 1.0), (1.0, 1.9)], "inconclusive"),
    ],
)
def test_async_is_decisive_only_when_the_interval_over_repeats_clears_the_margin(
    growths: list[tuple[float, float]], verdict: str
) -> None:
    results = fixture_results()
    only(results, lambda r: not r.phases)
    results.runs += _uploads(growths)
    assert claim(results, "Async support").verdict == verdict


def test_async_is_inconclusive_when_the_p50_and_the_p95_disagree() -> None:
    results = fixture_results()
    only(results, lambda r: not r.phases)
    results.runs += _uploads([(2.0, 1.1), (2.2, 1.0), (1.9, 1.2)])
    for run in results.runs:
        if run.phases and run.step.config == FLASK:
            # Flask's median grows no more than FastAPI's: only its tail grew.
            run.phases["during"]["p50"] = run.phases["before"]["p50"] * 1.1
    c = claim(results, "Async support")
    assert c.verdict == "inconclusive"
    assert "p50: not apart" in c.text and "p95: FastAPI grew clearly less" in c.text


def test_an_outlier_before_phase_from_few_searches_decides_nothing() -> None:
    """The batching example: FastAPI's p95 before the job was 184 ms from 78 searches
    (usually 35-60), which made one run read "holds"."""
    results = fixture_results()
    only(results, lambda r: not r.phases)
    results.runs += _uploads([(3.3, 1.7)] * 3)
    for run in results.runs:
        if run.phases and run.step.config == FASTAPI:
            run.phases["before"]["n"] = 78
    c = claim(results, "Async support")
    assert c.verdict == "inconclusive"
    assert "3 runs with too few searches for it" in c.evidence


def test_async_is_not_measured_when_a_job_did_not_finish() -> None:
    results = fixture_results()
    only(results, lambda r: not (r.phases and r.step.config == FASTAPI))
    results.runs.append(upload_run(FASTAPI, 300, 600, status="not finished"))
    c = claim(results, "Async support")
    assert c.verdict == "not measured" and "no finished ingest job" in c.text


def test_async_is_inconclusive_without_searches_in_a_phase() -> None:
    results = fixture_results()
    for run in results.runs:
        if run.phases:
            run.phases["during"]["n"] = 0
    assert claim(results, "Async support").verdict == "inconclusive"


# --- Performance ----------------------------------------------------------------------


def test_performance_holds_only_where_fastapi_is_clearly_faster() -> None:
    c = claim(fixture_results(), "Performance")
    assert c.verdict == "holds only" and c.text.startswith("holds only on /health, /echo")


def test_performance_holds_when_faster_everywhere() -> None:
    results = fixture_results()
    scaled(results, FASTAPI, "search_text", 1.5)
    assert claim(results, "Performance").verdict == "holds"


def test_performance_does_not_hold_when_flask_is_clearly_faster() -> None:
    results = fixture_results()
    for scenario in ("health", "echo"):
        scaled(results, FASTAPI, scenario, 0.2)
    c = claim(results, "Performance")
    assert c.verdict == "does not hold" and "Flask clearly faster on /health, /echo" in c.text


def test_performance_not_apart_when_every_interval_sits_near_one() -> None:
    results = fixture_results()
    scaled(results, FASTAPI, "health", 0.5)
    scaled(results, FASTAPI, "echo", 0.4)
    assert claim(results, "Performance").verdict == "not apart"


def test_performance_is_inconclusive_from_one_repeat() -> None:
    results = fixture_results()
    only(results, lambda r: r.step.repeat == 0)
    assert claim(results, "Performance").verdict == "inconclusive"


def test_performance_is_not_measured_without_the_shared_server() -> None:
    results = fixture_results()
    only(results, lambda r: r.step.config not in (FLASK_SHARED, FASTAPI_SHARED))
    assert claim(results, "Performance").verdict == "not measured"


# --- Interactive docs and validation ----------------------------------------------------


def probe(results: BenchResults, label: str, key: str, value: object) -> None:
    results.environment["probes"][label][key] = value


def test_docs_holds_only_in_effort_when_both_serve_them() -> None:
    assert claim(fixture_results(), "Interactive docs").verdict == "holds only"


def test_docs_hold_when_only_fastapi_serves_them() -> None:
    results = fixture_results()
    probe(results, FLASK, "GET /redoc", 404)
    assert claim(results, "Interactive docs").verdict == "holds"


def test_docs_do_not_hold_when_fastapi_does_not_serve_them() -> None:
    results = fixture_results()
    probe(results, FASTAPI, "GET /docs", 404)
    assert claim(results, "Interactive docs").verdict == "does not hold"


def test_docs_and_validation_are_not_measured_without_probes() -> None:
    results = fixture_results()
    results.environment["probes"] = {}
    assert claim(results, "Interactive docs").verdict == "not measured"
    assert claim(results, "Data validation").verdict == "not measured"


def test_validation_holds_only_in_effort_when_both_answer_the_same_422() -> None:
    assert claim(fixture_results(), "Data validation").verdict == "holds only"


def test_validation_holds_when_only_fastapi_refuses() -> None:
    results = fixture_results()
    probe(results, FLASK, "bad echo status", 200)
    assert claim(results, "Data validation").verdict == "holds"


def test_validation_does_not_hold_when_fastapi_accepts_bad_input() -> None:
    results = fixture_results()
    probe(results, FASTAPI, "bad echo status", 200)
    assert claim(results, "Data validation").verdict == "does not hold"


# --- Development cost and ease of use -------------------------------------------------


def costs(flask: dict[str, int], fastapi: dict[str, int]) -> dict[str, AppCost]:
    return {
        "flask": AppCost("flask", 5, sum(flask.values()), flask),
        "fastapi": AppCost("fastapi", 5, sum(fastapi.values()), fastapi),
    }


@pytest.mark.parametrize(
    ("flask", "fastapi", "devcost", "ease"),
    [
        (
            {"validation": 200, "routing": 100},
            {"validation": 100, "routing": 250},
            "holds",
            "not apart",
        ),
        (
            {"validation": 100, "routing": 100},
            {"validation": 200, "routing": 200},
            "does not hold",
            "holds",
        ),
        (
            {"validation": 100, "routing": 300},
            {"validation": 110, "routing": 100},
            "not apart",
            "does not hold",
        ),
    ],
)
def test_code_verdicts_follow_the_counts(
    flask: dict[str, int], fastapi: dict[str, int], devcost: str, ease: str
) -> None:
    results = fixture_results()
    results.devcost = costs(flask, fastapi)
    assert claim(results, "Development cost").verdict == devcost
    assert claim(results, "Ease of use").verdict == ease


def test_code_verdicts_are_not_measured_without_counts() -> None:
    results = fixture_results()
    results.devcost = {}
    assert claim(results, "Development cost").verdict == "not measured"
    assert claim(results, "Ease of use").verdict == "not measured"


def test_development_cost_says_how_much_of_the_gap_is_docs() -> None:
    c = claim(fixture_results(), "Development cost")
    assert "of the difference is the hand-wired API docs" in c.text
    assert "without docs: flask 266, fastapi 150" in c.evidence


# --- Flexibility and community --------------------------------------------------------


def test_flexibility_not_apart_on_as_many_servers() -> None:
    c = claim(fixture_results(), "Flexibility")
    assert c.verdict == "not apart"
    assert "each twin ran on 2 servers, one of them shared" in c.text


def test_flexibility_counts_no_shared_server_when_none_ran() -> None:
    # The soak runs each twin on its usual server only: nothing shared to speak of.
    results = fixture_results()
    only(results, lambda r: r.step.config not in (FLASK_SHARED, FASTAPI_SHARED))
    c = claim(results, "Flexibility")
    assert c.verdict == "not apart"
    assert "each twin ran on 1 server" in c.text and "shared" not in c.text


def test_flexibility_names_one_server_both_twins_shared() -> None:
    results = fixture_results()
    only(results, lambda r: r.step.config in (FLASK_SHARED, FASTAPI_SHARED))
    c = claim(results, "Flexibility")
    assert c.verdict == "not apart"
    assert "each twin ran on 1 server, the same one" in c.text


def test_flexibility_holds_when_flask_ran_on_more_servers() -> None:
    results = fixture_results()
    only(results, lambda r: r.step.config != FASTAPI_SHARED)
    assert claim(results, "Flexibility").verdict == "holds"


def test_flexibility_does_not_hold_when_fastapi_ran_on_more_servers() -> None:
    results = fixture_results()
    only(results, lambda r: r.step.config != FLASK_SHARED)
    assert claim(results, "Flexibility").verdict == "does not hold"


def test_flexibility_is_not_measured_when_a_twin_has_no_valid_run() -> None:
    results = fixture_results()
    only(results, lambda r: not r.step.config.startswith("flask/"))
    assert claim(results, "Flexibility").verdict == "not measured"


def test_community_says_what_would_settle_it() -> None:
    c = claim(fixture_results(), "Community")
    assert c.verdict == "not measured" and "What would settle it" in c.rule
