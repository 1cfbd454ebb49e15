"""Each lab's judge holds on the figures its lesson predicts and fails on the figures its
switch reversed (or a wrong lesson) would give.

The judges are pure functions of a check's figures (workshop/checks.py,
workshop/pitfall_checks.py), so this runs without Milvus or a server: the samples here are
drawn with the shapes the labs measure, the lesson's and its reversal's.
"""

from __future__ import annotations

import numpy as np

from shared.config import PROJECT_ROOT
from workshop.checks import (
    SEARCHES_CLOSE,
    judge_lab1,
    judge_lab2,
    judge_lab3,
    judge_lab4,
    judge_lab5,
    judge_lab8,
    judge_lab9,
    judge_lab10,
    judge_lab11,
)
from workshop.judge import Ratio, mean_ratio, percentile_ratio
from workshop.lab_runs import Loaded
from workshop.labs import LABS
from workshop.pitfall_checks import judge_6a, judge_6b, judge_6c, judge_6d, judge_6e, judge_6f

RNG = np.random.default_rng(29)


def _latencies(median_ms: float, n: int = 300, spread: float = 0.15) -> np.ndarray:
    return median_ms * RNG.lognormal(0.0, spread, n)


def test_ratio_sides() -> None:
    ratio = Ratio(1.0, 0.95, 1.04)
    assert ratio.not_apart() and not ratio.at_least(1.0) and not ratio.at_most(0.9)
    assert not Ratio(1.3, 1.2, 1.4).not_apart()
    assert str(ratio) == "x1.00 [0.95, 1.04]"


def test_lab1_needs_the_same_operations_and_handlers_and_mostly_other_lines() -> None:
    flask = (PROJECT_ROOT / "flask_app" / "routes.py").read_text()
    fastapi = (PROJECT_ROOT / "fastapi_app" / "routes.py").read_text()
    ops = {("/health", "get"), ("/search", "post")}
    assert judge_lab1(flask, fastapi, ops, set(ops)).holds
    # Reversed: one twin lacks an operation; the files are the same file; a handler renamed.
    assert not judge_lab1(flask, fastapi, ops, {("/health", "get")}).holds
    assert not judge_lab1(flask, flask, ops, set(ops)).holds
    renamed = fastapi.replace("async def health(", "async def status(")
    assert not judge_lab1(flask, renamed, ops, set(ops)).holds


def test_lab4_judges_the_searches_not_the_floor() -> None:
    health = percentile_ratio(_latencies(1.6), _latencies(1.0), 50)
    same_work = percentile_ratio(_latencies(27.0), _latencies(27.0), 50)
    assert judge_lab4(health, same_work).holds
    # What this VM measured: Flask's search a tenth slower, one search at a time.
    assert judge_lab4(health, Ratio(1.11, 1.10, 1.12)).holds
    # Reversed: the twins' searches do different work (a third more each).
    assert not judge_lab4(health, percentile_ratio(_latencies(36.0), _latencies(27.0), 50)).holds


def test_lab4_predicts_the_band_its_judge_applies() -> None:
    """The band is written twice, in the prediction (labs.py) and the judge's constant."""
    low, high = SEARCHES_CLOSE
    prediction = next(lab.prediction for lab in LABS if lab.number == 4)
    assert f"x{low:.2f}..x{high:.2f}" in prediction


def test_lab5_needs_the_job_to_answer_at_once_under_load() -> None:
    assert judge_lab5(0.015, 5.6, "done", 40, 0).holds
    # Reversed: the upload blocks as long as the batch; the job fails; a search failed.
    assert not judge_lab5(5.0, 5.6, "done", 40, 0).holds
    assert not judge_lab5(0.015, 5.6, "failed", 40, 0).holds
    assert not judge_lab5(0.015, 5.6, "done", 40, 1).holds


def test_lab8_needs_whole_locust_figures_beside_finer_exact_ones() -> None:
    exact = _latencies(2.4)
    assert judge_lab8(True, 2.0, exact, 0).holds
    # Whatever the exact p50's fraction is: a whole exact p50 is no failure.
    assert judge_lab8(True, 2.0, np.append(exact, []), 0).holds
    # Reversed: Locust not rounded; the exact samples rounded too; far from the exact p50.
    assert not judge_lab8(True, 2.37, exact, 0).holds
    assert not judge_lab8(True, 2.0, np.round(exact), 0).holds
    assert not judge_lab8(True, 9.0, exact, 0).holds


def test_lab9_needs_the_gap_to_shrink_on_one_server() -> None:
    usual = [310.0, 290.0, 330.0, 305.0, 280.0, 300.0, 315.0]
    assert judge_lab9(usual, [10.0, -5.0, 20.0, 3.0, 0.0, 12.0, -8.0]).holds
    # Reversed: the framework carried the gap (it stays on one server), or there was none.
    assert not judge_lab9(usual, [250.0, 270.0, 260.0, 240.0, 255.0, 265.0, 245.0]).holds
    assert not judge_lab9([5.0, -3.0, 8.0, 1.0, 2.0, -1.0, 4.0], [1.0] * 7).holds


def _split(client_ms: float, took_ms: float) -> dict[str, np.ndarray]:
    return {"client_ms": _latencies(client_ms, 60), "took_ms": _latencies(took_ms, 60)}


def test_lab10_needs_the_core_to_be_most_of_a_search_and_the_runtime_to_move_it() -> None:
    twins = {"flask": _split(24.0, 20.0), "fastapi": _split(23.0, 20.0)}
    torch = _latencies(45.0, 60)
    assert judge_lab10(twins, torch, twins["fastapi"]["took_ms"]).holds
    # Reversed: the runtime switch off (ONNX on both sides).
    assert not judge_lab10(twins, _latencies(20.0, 60), twins["fastapi"]["took_ms"]).holds
    # Wrong lesson: most of the wait outside the core (a framework that costs more than it).
    heavy = {"flask": _split(60.0, 20.0), "fastapi": _split(23.0, 20.0)}
    assert not judge_lab10(heavy, torch, heavy["fastapi"]["took_ms"]).holds


def _searches(answered_ms: float, refused_ms: float, refused: int) -> Loaded:
    return Loaded(
        latencies={"/search": _latencies(answered_ms, 200)},
        rates={},
        failures=refused,
        output="",
        per_second={},
        failed={"/search": _latencies(refused_ms, refused) if refused else np.array([])},
    )


def test_lab11_needs_fast_refusals_only_when_bounded() -> None:
    busy = "HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\n\r\n{}"
    unbounded = _searches(900.0, 0.0, 0)
    assert judge_lab11(unbounded, _searches(300.0, 3.0, 150), busy).holds
    # Reversed: the bound at its default on both sides (nothing refused, the queue grows).
    assert not judge_lab11(unbounded, _searches(900.0, 0.0, 0), "HTTP/1.1 200 OK\r\n").holds
    # Wrong lesson: refusals that wait as long as answers, or a 503 without Retry-After.
    assert not judge_lab11(unbounded, _searches(300.0, 290.0, 150), busy).holds
    no_header = "HTTP/1.1 503 Service Unavailable\r\n\r\n{}"
    assert not judge_lab11(unbounded, _searches(300.0, 3.0, 150), no_header).holds


def test_6a_needs_a_threefold_stall_and_the_warning() -> None:
    stalled = percentile_ratio(_latencies(20.0), _latencies(2.0), 50)
    assert judge_6a(stalled, True).holds
    # Reversed: the switch off (the same /health), or debug mode silent.
    assert not judge_6a(percentile_ratio(_latencies(2.0), _latencies(2.0), 50), True).holds
    assert not judge_6a(stalled, False).holds


def test_6b_needs_both_hops_dearer() -> None:
    assert judge_6b({"as built": 88.0, "sync handlers": 201.0, "sync dependency": 140.0}).holds
    assert not judge_6b({"as built": 88.0, "sync handlers": 90.0, "sync dependency": 140.0}).holds


def test_6c_needs_the_extra_threads_to_buy_vector_searches() -> None:
    bounded = RNG.normal(120.0, 8.0, 5)
    assert judge_6c(9, 41, mean_ratio(RNG.normal(165.0, 8.0, 5), bounded)).holds
    # Reversed: the switch off (no extra threads), or the threads bought nothing.
    assert not judge_6c(9, 9, mean_ratio(RNG.normal(165.0, 8.0, 5), bounded)).holds
    assert not judge_6c(9, 41, mean_ratio(RNG.normal(120.0, 8.0, 5), bounded)).holds


def test_6d_needs_only_the_sync_worker_to_close() -> None:
    assert judge_6d(False, True).holds
    assert not judge_6d(False, False).holds
    assert not judge_6d(True, True).holds


def test_6e_needs_gevent_a_fifth_slower_or_more() -> None:
    gthread = RNG.normal(250.0, 6.0, 7)
    assert judge_6e(mean_ratio(RNG.normal(162.0, 6.0, 7), gthread)).holds
    # Reversed: gthread on both sides.
    assert not judge_6e(mean_ratio(RNG.normal(250.0, 6.0, 7), gthread)).holds
    # A fifth lower is the line: a tenth lower does not hold.
    assert not judge_6e(mean_ratio(RNG.normal(225.0, 6.0, 7), gthread)).holds


def test_6f_needs_a_quarter_of_the_rate_lost() -> None:
    alone = RNG.normal(900.0, 40.0, 4)
    assert judge_6f(mean_ratio(RNG.normal(500.0, 40.0, 4), alone)).holds
    # Reversed: Locust on its own core both times.
    assert not judge_6f(mean_ratio(RNG.normal(900.0, 40.0, 4), alone)).holds


def test_lab2_needs_the_same_422_from_both_and_validation_by_hand_in_flask() -> None:
    assert judge_lab2(["422", "422"], True, 219, 122).holds
    # Reversed: a twin that lets the bad body through, answers differently, or no hand work.
    assert not judge_lab2(["200", "422"], True, 219, 122).holds
    assert not judge_lab2(["422", "422"], False, 219, 122).holds
    assert not judge_lab2(["422", "422"], True, 100, 122).holds


def test_lab3_needs_every_page_offline_and_docs_code_only_in_flask() -> None:
    assert judge_lab3([True] * 4, 292, 0).holds
    # Reversed: a page that loads its script from a CDN, or docs code in the FastAPI twin.
    assert not judge_lab3([True, True, False, True], 292, 0).holds
    assert not judge_lab3([True] * 4, 292, 40).holds
    assert not judge_lab3([], 292, 0).holds
