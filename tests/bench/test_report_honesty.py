"""The report says what really ran and shows only what its samples carry (issue 27).

Each test fails on the report as it was: a label, a duration or a percentile that overstated
its data.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bench.analysis.claims import evaluate_claims
from bench.analysis.ratios import headline_ratios
from bench.report import write_report
from bench.report.formatting import load_text
from bench.results import write_results
from bench.stats import MIN_SAMPLES, min_samples
from tests.bench.conftest import batching_results, fixture_results


def _markdown(tmp_path: Path, results: object) -> str:
    tmp_path.mkdir(exist_ok=True)
    write_results(results, tmp_path / "results.json")  # type: ignore[arg-type]
    return write_report(tmp_path).markdown.read_text()


def test_the_in_process_core_is_labelled_with_the_threads_it_ran(rendered: str) -> None:
    results = fixture_results()
    core = next(r for r in results.runs if r.step.config == results.in_process_label)
    # The step asks 8 users; the core is called from its configuration's 4 threads.
    assert load_text(results, core.step) == "4 threads in-process (not the 8 users of the twins)"
    table = rendered.split("## Every configuration, every scenario")[1]
    core_row = next(line for line in table.splitlines() if "core/in-process" in line)
    assert "| 8 users |" not in core_row and "4 threads in-process" in core_row


def test_the_header_says_what_each_scenario_measured(tmp_path: Path) -> None:
    results = fixture_results()
    # The fixture's /health steps run 2 s after 0.5 s, its echo 3 s after 1 s, its uploads
    # 40 s after 1 s: the profile's one duration (3 s after 1 s) fits none but echo.
    results.runs = [
        dataclasses.replace(r, step=dataclasses.replace(r.step, duration_s=4.0))
        if r.step.scenario == "health"
        else r
        for r in results.runs
    ]
    intro = _markdown(tmp_path, results).split("## Summary")[0]
    assert "3 s measured per step after 1 s" not in intro
    assert "/health 4 s after 0.5 s" in intro
    assert "/echo 3 s after 1 s" in intro
    assert "searches beside an upload job 40 s after 1 s" in intro
    assert "9 minutes in all" in intro


def test_the_percentile_minimum_is_ten_samples_beyond_it_and_stated(rendered: str) -> None:
    assert [min_samples(q) for q in (50, 95, 99, 99.9)] == [20, 200, 1000, 10000]
    assert MIN_SAMPLES[95.0] == 200
    method = rendered.split("## Method")[1]
    assert "n >= 10 / (1 - q)" in method and "a p95 200" in method
    # The fixture's runs hold 200 samples: a p99 from them is hidden with the count.
    table = rendered.split("## Every configuration, every scenario")[1].split("\n## ")[0]
    assert "– (n=200, too few for a p99)" in table


def _summary(markdown: str) -> str:
    return markdown.split("## Summary")[1].split("\n## ")[0]


def test_the_summary_credits_the_framework_only_with_its_one_server_figure(
    rendered: str,
) -> None:
    summary = _summary(rendered)
    first = summary.split("What the choice of server gives")[0]
    # The fixture's /echo: x2.50 on the usual servers, x1.05 on the shared one.
    assert "/echo (validation only) x1.05 [1.05, 1.05]" in first
    assert "x2.50" not in first and "leads clearly" not in first
    assert "Flask x0.50 [0.50, 0.50], FastAPI x1.19" in summary
    assert "reads x2.50 [2.50, 2.50] on the usual servers" in summary
    assert "the model decides" not in summary
    assert "core called in-process from 4 threads" in summary


def test_the_context_under_the_summary_names_the_machine_rates_and_quota(
    tmp_path: Path,
) -> None:
    results = fixture_results()
    results.environment["cpu_plan"] = {
        "server_cpus": [0],
        "generator_cpus": [1],
        "server_quota_cores": 0.5,
    }
    summary = _summary(_markdown(tmp_path, results))
    assert "Measured on test, 2 logical CPUs" in summary
    assert "each server capped at 0.5 core" in summary and "9 minutes in all" in summary
    assert "Flask usual 1,000, FastAPI usual 2,500, Flask shared 2,000" in summary
    # The fixture's echo runs took 400 µs of server CPU each: 0.5 core / 400 µs = 1,250/s.
    assert "quota divided by the server CPU each request took" in summary
    assert "/echo flask/gunicorn-gthread/1wx4t 1,250 (400 µs)" in summary


def test_every_verdict_says_what_kind_of_evidence_it_rests_on(rendered: str) -> None:
    table = rendered.split("## The claims, checked")[1].split("\n## ")[0]
    assert "| evidence kind |" in table
    rows = {line.split(" | ")[0].strip("| "): line for line in table.splitlines()[2:]}
    assert "| static: the servers the profile itself lists" in rows["Flexibility"]
    assert "| static: the interfaces are the configurations' labels" in rows["ASGI vs WSGI"]
    assert "| static: code line counts" in rows["Interactive docs"]
    assert "| static: code line counts" in rows["Data validation"]
    assert "| measured |" in rows["Performance"]


def _decomposition(markdown: str) -> str:
    return markdown.split("## Server or framework?")[1].split("\n## ")[0]


def test_the_decomposition_says_differently_only_when_the_interaction_is_clear(
    tmp_path: Path,
) -> None:
    results = fixture_results()
    # FastAPI's echo on its usual server moves from repeat to repeat: the interaction's
    # interval [0.71, 1.43] holds 1, so the twins are neither alike nor clearly apart.
    factors = [0.3, 0.4, 0.42, 0.5, 0.6]
    for run in results.runs:
        if run.step.scenario == "echo" and run.step.config == "fastapi/uvicorn/1wx4t":
            if run.step.repeat < len(factors):
                run.throughput_rps *= factors[run.step.repeat]
    words = _decomposition(_markdown(tmp_path, results))
    echo = words.split("on /echo (validation only)")[1].split("; on ")[0]
    assert "gain differently" not in echo
    assert "cannot tell whether the twins gain alike or differently" in echo
    # Text search (x1.03, every repeat alike) still reads "alike".
    assert "on text search (model + Milvus) both twins gain alike" in words


def test_the_decomposition_states_the_arithmetic_that_holds(rendered: str) -> None:
    words = _decomposition(rendered)
    assert "gap = framework x interaction, where" not in words
    assert "Within each repeat, gap = framework x interaction exactly" in words
    assert "the medians of pairs shown need not multiply so" in words


def test_the_async_verdict_is_composed_from_its_growth_figures(rendered: str) -> None:
    row = next(line for line in rendered.splitlines() if line.startswith("| Async support"))
    assert "the job runs on the core's own thread" not in row
    # The fixture's three repeats: p95 before 300 ms, during 600/620/590 ms (Flask) and
    # 580/560/600 (FastAPI): pair ratios 0.97, 0.90 and 1.02.
    assert "p95 x0.97 [0.90, 1.02]" in row
    assert "grew x1.93 on FastAPI" not in row  # one run's figure, no longer a verdict


def test_the_async_verdict_needs_the_samples_a_p95_needs() -> None:
    results = fixture_results()
    for run in results.runs:
        if run.step.scenario == "ingest_under_load":
            # 120 searches a phase (the examples had 40): too few for a p95 by the rule.
            run.phases = {k: {**v, "n": 120.0} for k, v in run.phases.items()}
            if run.step.config.startswith("fastapi/"):
                run.phases["during"]["p95"] = 310.0  # growth x1.03 against Flask's x2.00
    claim = next(c for c in evaluate_claims(results) if c.topic == "Async support")
    assert claim.verdict == "inconclusive"
    assert "at least 200 searches" in claim.rule
    assert "p95 –, 3 runs with too few searches for it" in claim.evidence
    assert "310" not in claim.evidence


def test_the_batching_lesson_is_said_only_where_the_batch_sizes_bear_it_out(
    tmp_path: Path,
) -> None:
    results = batching_results()
    lesson = _markdown(tmp_path / "capped", results).split("What it teaches")[1]
    assert "No Flask batch was larger than its worker's thread count" in lesson
    assert "largest 4 with 4 threads" in lesson
    # A Flask batch larger than its threads: the sentence would be false, so it is not said.
    for run in results.runs:
        if run.step.config == "flask/gunicorn-gthread/1wx4t+batched" and run.step.users == 64:
            run.batch_sizes = {8: 50}
    lesson = _markdown(tmp_path / "uncapped", results).split("What it teaches")[1]
    assert "holds at most as many requests as it has threads" not in lesson
    assert "Flask batches against thread counts" in lesson


def test_the_batching_table_shows_searches_per_batch(tmp_path: Path) -> None:
    # FastAPI at 64 users formed 1,600 batches of 32 and 100 of 20 per run: 53,200
    # searches in 1,700 batches, 31.29 a batch (read as searches per size it was 30.91).
    section = _markdown(tmp_path, batching_results()).split("## Micro-batching")[1]
    row = next(
        line for line in section.splitlines() if line.startswith("| fastapi/") and "| 64 |" in line
    )
    assert "mean 31.29, largest 32 (batches per size: 20: 500, 32: 8,000)" in row


def test_the_core_ratio_says_the_core_ran_at_another_concurrency() -> None:
    ratios = {r.name: r for r in headline_ratios(fixture_results())}
    note = ratios["flask text search vs in-process core"].notes[-1]
    assert note.startswith("the core ran from 4 threads, the twin at 8 users")


def test_the_method_says_what_a_static_verdict_is(rendered: str) -> None:
    method = rendered.split("## Method")[1]
    assert "'static' when it is read from the run's configuration or the twins' code" in method
