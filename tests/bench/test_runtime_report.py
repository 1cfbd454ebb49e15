"""The runtime comparison in the analysis and the report: pairs by repeat, the runtime's
targets (met, missed by how much, not measured), and the runtime named beside the server
and the framework in the Performance verdict."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bench.analysis.claims import evaluate_claims
from bench.analysis.runtimes import runtime_factor, runtime_pairs
from bench.analysis.targets import runtime_targets
from bench.report import write_report
from bench.results import BenchResults, ServerConfig, Step, write_results
from tests.bench.conftest import FASTAPI, FLASK, fixture_results, make_run

STATS = "TWINBENCH_SEARCH_BATCH_STATS_DIR"
BATCHING = {"TWINBENCH_SEARCH_BATCHING": "1"}
TORCH = {"TWINBENCH_EMBED_BACKEND": "torch"}
# suffix -> (variant, settings, {users: req/s}, p50 ms at one user)
SIDES = {
    "": ("", {}, {1: 100.0, 16: 120.0, 64: 120.0}, 9.0),
    "+batched": ("batched", BATCHING, {1: 99.0, 16: 190.0, 64: 200.0}, 9.5),
    "+torch": ("torch", TORCH, {1: 50.0, 16: 55.0}, 19.0),
    "+batched+torch": ("batched+torch", {**BATCHING, **TORCH}, {64: 160.0}, 0.0),
}


def runtime_results(*, torch_naive: float = 55.0, quota: float = 1.0) -> BenchResults:
    """The fixture run plus a batching comparison with each twin on torch beside it."""
    results = fixture_results()
    results.environment["settings"] = {"embed_backend": "onnx"}
    results.environment["model_runtimes"] = {}
    for twin in (FLASK, FASTAPI):
        app, server = twin.split("/")[:2]
        for suffix, (variant, settings, speeds, p50) in SIDES.items():
            label = twin + suffix
            results.environment["model_runtimes"][label] = "torch" if "torch" in suffix else "onnx"
            if suffix:
                env = {**settings, STATS: f"/logs/{label}"}
                results.configs.append(
                    ServerConfig(
                        label,
                        app,
                        server,
                        1,
                        4,
                        "?",
                        [server],
                        False,
                        "on",
                        [0],
                        quota,
                        "twin",
                        variant,
                        env,
                    )
                )
            for repeat in range(5):
                wobble = 1 + 0.02 * (repeat - 2) * (1 if "torch" in suffix else -1)
                for users, rps in speeds.items():
                    if (suffix, users) == ("+torch", 16):
                        rps = torch_naive
                    step = Step("search_text", label, users, 0.0, 3, 1, repeat, "batching")
                    run = make_run(step, rps * wobble)
                    if users == 1:
                        run.latency = dataclasses.replace(run.latency, p50=p50 / wobble)
                    results.runs.append(run)
    return results


def test_each_torch_configuration_is_paired_with_its_default_runtime_partner() -> None:
    pairs = {(p.other.config, p.users): p for p in runtime_pairs(runtime_results())}
    assert set(pairs) == {
        (twin + suffix, users)
        for twin in (FLASK, FASTAPI)
        for suffix, users in (("+torch", 1), ("+torch", 16), ("+batched+torch", 64))
    }
    naive = pairs[(FASTAPI + "+torch", 16)]
    assert naive.default.config == FASTAPI and not naive.batched
    assert naive.throughput == pytest.approx(120 / 55) and naive.throughput_interval.exists
    assert naive.default_runtime == "onnx" and naive.runtime == "torch"
    batched = pairs[(FLASK + "+batched+torch", 64)]
    assert batched.default.config == FLASK + "+batched" and batched.batched
    assert batched.throughput == pytest.approx(200 / 160)
    assert pairs[(FLASK + "+torch", 1)].p50 == pytest.approx(9 / 19)
    assert {t: p.users for t, p in runtime_factor(runtime_results()).items()} == {
        "flask": 16,
        "fastapi": 16,
    }


def _targets(results: BenchResults) -> dict[str, tuple[str, str]]:
    return {line.figure: (line.outcome, line.words) for line in runtime_targets(results)}


def test_targets_met_missed_by_how_much_or_inconclusive() -> None:
    found = _targets(runtime_results())
    assert found["fastapi naive text search, onnx ÷ torch"] == ("met", "met")
    assert found["flask p50 at one user, onnx ÷ torch"] == ("met", "met")
    assert found["fastapi batched text search on one core, searches/s"] == ("met", "met")
    # The fixture's core serves 32 searches/s, the Flask twin 30: 0.94 against 0.95.
    outcome, words = found["flask text search ÷ the in-process core"]
    assert outcome == "missed" and words.startswith("missed by 0.01 (1 % of the target); why:")
    assert found["fastapi text search ÷ the in-process core"][0] == "met"
    slow = _targets(runtime_results(torch_naive=100.0))
    assert slow["flask naive text search, onnx ÷ torch"] == (
        "missed",
        "missed by 0.50 (29 % of the target)",
    )
    close = _targets(runtime_results(torch_naive=70.0))
    assert close["flask naive text search, onnx ÷ torch"] == (
        "inconclusive",
        "inconclusive: its interval spans 1.7",
    )


def test_targets_not_measured_say_why() -> None:
    results = fixture_results()
    results.environment["settings"] = {"embed_backend": "onnx"}
    found = _targets(results)
    assert found["flask naive text search, onnx ÷ torch"] == (
        "not measured",
        "not measured: the runtime comparison did not run (the batching profile runs it)",
    )
    outcome, words = found["fastapi batched text search on one core, searches/s"]
    assert outcome == "not measured" and "did not run with batching on" in words
    # The fixture's twins and core ran on one runtime; a twin on another is not compared.
    results.environment["model_runtimes"] = {FLASK: "torch"}
    assert _targets(results)["flask text search ÷ the in-process core"] == (
        "not measured",
        "not measured: the twin ran torch, the core onnx",
    )
    outcome, words = _targets(runtime_results(quota=0.5))[
        "fastapi batched text search on one core, searches/s"
    ]
    assert (outcome, words) == (
        "not measured",
        "not measured: the server was not held to one core (quota: 0.5)",
    )


def _performance(results: BenchResults) -> tuple[str, str]:
    claim = next(c for c in evaluate_claims(results) if c.topic == "Performance")
    return claim.verdict, claim.evidence


def test_the_performance_evidence_names_the_runtime_beside_server_and_framework() -> None:
    _, evidence = _performance(runtime_results())
    assert "Text search: the runtime moved text search x2.18 [" in evidence
    assert "(fastapi, onnx ÷ torch, naive at 16 users)" in evidence
    assert "the server x1.00 " in evidence and "(FastAPI), the framework x1.00 " in evidence


def test_the_performance_evidence_says_when_the_runtime_comparison_did_not_run() -> None:
    _, evidence = _performance(fixture_results())
    assert "Text search: the runtime comparison did not run" in evidence
    assert "the framework x" in evidence


def test_a_run_with_only_the_runtime_comparison_still_names_it() -> None:
    results = runtime_results()
    results.runs = [r for r in results.runs if r.step.group == "batching"]
    verdict, evidence = _performance(results)
    assert verdict == "not measured"
    assert evidence.startswith("Text search: the runtime moved text search x2.")
    assert "the server and the framework were not measured on text search" in evidence


def test_the_report_shows_the_runtime_section_targets_and_pool(tmp_path: Path) -> None:
    results = runtime_results()
    results.pool = {
        "name": "questions",
        "queries": 200,
        "seed": 7,
        "query_words": {"min": 5, "median": 7, "mean": 7.2, "max": 10},
        "query_tokens": {"min": 7, "median": 10, "mean": 10.4, "max": 17},
    }
    write_results(results, tmp_path / "results.json")
    paths = write_report(tmp_path)
    text = paths.markdown.read_text()
    assert "fastapi batched text search on one core, searches/s: 200.00 (target >= 185: met)" in (
        paths.headline_text
    )
    assert "## The model runtime: the default against torch" in text
    assert "## Targets of the model runtime" in text
    assert "| fastapi/uvicorn/1wx4t | naive | 16 | 120.0 → 55.0 | x2.18 [" in text
    assert "missed by 0.01 (1 % of the target)" in text
    assert "query pool questions: short questions of 5-10 words" in text
    assert "model tokens with the two special ones median 10, mean 10.4, 7-17" in text
    assert "the other pool, first-sentences (--pool first-sentences): the first sentence" in text
