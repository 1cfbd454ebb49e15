"""The raw latencies a results folder keeps: every percentile in results.json is recomputed
from ``samples.json.gz`` alone and matches to the last digit; the form is compact."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np

from bench.analysis.recompute import recheck
from bench.load.samples import SampleWriter, read_samples
from bench.report.sections import samples_paragraph
from bench.results import SAMPLES_FILE, BenchResults, RunResult, Step, read_results, write_results
from bench.run.summarize import summarize_run
from bench.stats import Histogram, percentile
from tests.bench.conftest import fixture_results

NAMES = ("/documents/{id} GET", "/documents/{id} DELETE")


def _run(
    tmp: Path, step: Step, names: tuple[str, ...], events: list[dict[str, object]]
) -> RunResult:
    """A run summarised from raw samples written as Locust writes them (0.1 µs digits)."""
    rng = random.Random(7)
    writer = SampleWriter(tmp / step.scenario)
    for i in range(3000):  # 300 requests/s for 10 s
        latency = rng.lognormvariate(1.0, 0.6)
        delay = max(rng.gauss(0.0, 3.0), 0.0) if step.rate else 0.0
        writer.add(1000.0 + i / 300, latency, delay, names[i % len(names)], i % 97 != 0)
    writer.close()
    return summarize_run(
        step,
        read_samples(tmp / step.scenario),
        run_id=f"run-{step.scenario}",
        generator_cpu=0.3,
        server_cpu_between=lambda a, b: 0.5 * (b - a),
        server_idle_cores=0.0,
        foreign_cores=0.0,
        idle_servers_cpu_s=0.0,
        events=events,
        notes=[],
    )


def _written(tmp: Path) -> BenchResults:
    results = fixture_results()
    results.runs = [
        _run(
            tmp,
            Step("point_reads", "flask/gunicorn-gthread/1wx4t", 4, 300.0, 8, 1, 0, "single"),
            NAMES,
            [],
        ),
        _run(
            tmp,
            Step("ingest_under_load", "fastapi/uvicorn/1wx4t", 8, 300.0, 8, 1, 0, "single"),
            ("/search",),
            [
                {"event": "job_start", "t": 1003.0, "kind": "job", "rows": 10},
                {"event": "job_end", "t": 1006.0, "status": "done", "processed": 10},
            ],
        ),
    ]
    out = tmp / "results"
    out.mkdir()
    write_results(results, out / "results.json")
    return results


def test_a_percentile_recomputed_from_the_kept_latencies_matches_results_json(
    tmp_path: Path,
) -> None:
    _written(tmp_path)
    folder = tmp_path / "results"
    stored = json.loads((folder / "results.json").read_text())["runs"][0]
    assert "latency_us" not in stored  # kept beside results.json, not in it
    with gzip.open(folder / SAMPLES_FILE, "rt") as handle:
        kept = json.load(handle)["runs"][stored["run_id"]]
    # By hand, from the file alone: the GETs' p95 and the whole window's p99.
    get = Histogram.from_json(kept[f"name:{NAMES[0]}"]).latencies_ms()
    assert percentile(get, 95) == stored["latency_by_name"][NAMES[0]]["p95"]
    every = [
        Histogram.from_json(h).latencies_ms() for key, h in kept.items() if key.startswith("name:")
    ]
    merged = np.sort(np.concatenate(every))
    assert percentile(merged, 99) == stored["latency"]["p99"]
    assert len(merged) == stored["latency"]["count"]
    assert (
        percentile(Histogram.from_json(kept["corrected"]).latencies_ms(), 99)
        == stored["latency_corrected"]["p99"]
    )


def test_every_figure_of_a_folder_is_recomputed_by_the_report(tmp_path: Path) -> None:
    _written(tmp_path)
    results = read_results(tmp_path / "results")
    check = recheck(results)
    assert check.runs == 2 and not check.mismatches
    # latency (7) + corrected (7) for both runs, 4 per request name, 4 per upload phase.
    assert check.figures == 2 * 14 + 2 * 4 + 1 * 4 + 3 * 4
    assert "every one matched" in samples_paragraph(results).text


def test_a_figure_that_does_not_match_its_latencies_is_named(tmp_path: Path) -> None:
    _written(tmp_path)
    results = read_results(tmp_path / "results")
    results.runs[1].phases["during"]["p95"] += 0.001
    check = recheck(results)
    assert check.mismatches == [
        f"run-ingest_under_load during the upload p95: {results.runs[1].phases['during']['p95']:g} "
        f"kept as {results.runs[1].phases['during']['p95'] - 0.001:g}"
    ]


def test_a_folder_without_kept_latencies_says_so() -> None:
    assert "keeps none" in samples_paragraph(fixture_results()).text


def test_the_kept_form_is_compact(tmp_path: Path) -> None:
    _written(tmp_path)
    size = (tmp_path / "results" / SAMPLES_FILE).stat().st_size
    # 6,000 requests, some kept twice (the corrected series, the upload's phases): a few
    # bytes each, where the CSV Locust writes takes about 50 a line before gzip.
    assert size < 6000 * 4
