"""The micro-batching section: on/off pairs per twin, batch sizes, the low-load check."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bench.analysis.batching import batching_pairs, mean_batch
from bench.report import write_report
from bench.results import BenchResults, write_results
from tests.bench.conftest import FASTAPI, FLASK, batching_results


def test_each_batched_configuration_is_paired_with_its_unbatched_twin() -> None:
    pairs = {(p.on.config, p.users): p for p in batching_pairs(batching_results())}
    fastapi = pairs[(FASTAPI + "+batched", 64)]
    assert fastapi.off.config == FASTAPI
    assert fastapi.speedup == pytest.approx(180 / 61) and fastapi.speedup_outcome() == "met"
    assert fastapi.largest_batch == 32
    flask = pairs[(FLASK + "+batched", 64)]
    assert flask.speedup == pytest.approx(1.5) and flask.largest_batch == 4
    assert pairs[(FLASK + "+batched", 1)].p50_added_ms == pytest.approx(1.0)


# The naive run's p50 at one user, per repeat: it drifts, as the machine does, so a
# difference of the two sides' medians would not be the median of the pairs' differences.
NAIVE_P50 = [17.0, 25.0, 14.0, 30.0, 20.0]


def _with_low_load_p50(added_by_repeat: list[float]) -> BenchResults:
    """The fixture with FastAPI's p50s at one user set per repeat, naive and batched."""
    results = batching_results()
    for run in results.runs:
        step = run.step
        if step.users == 1 and step.config.startswith(FASTAPI):
            p50 = NAIVE_P50[step.repeat]
            if step.config.endswith("+batched"):
                p50 += added_by_repeat[step.repeat]
            run.latency = dataclasses.replace(run.latency, p50=p50)
    return results


@pytest.mark.parametrize(
    ("added", "outcome"),
    [
        ([0.5, 1.5, -0.5, 1.0, 1.9], "met"),
        ([2.5, 6.0, 3.1, 2.2, 9.0], "missed"),
        ([0.5, 1.5, 4.0, 1.0, 3.0], "inconclusive"),
        ([-5.0, -3.0, -4.0, -3.5, -4.5], "met"),  # faster batched: nothing added
    ],
)
def test_the_p50_added_at_low_load_is_judged_over_pairs(added: list[float], outcome: str) -> None:
    pairs = {(p.on.config, p.users): p for p in batching_pairs(_with_low_load_p50(added))}
    pair = pairs[(FASTAPI + "+batched", 1)]
    assert pair.p50_added_ms == pytest.approx(sorted(added)[2])  # median of the pairs
    medians = pair.on.p50.median - pair.off.p50.median
    assert medians != pytest.approx(pair.p50_added_ms)  # not the difference of medians
    assert pair.p50_outcome() == outcome


def test_a_low_load_check_without_a_valid_pair_is_not_measured(tmp_path: Path) -> None:
    results = batching_results()
    for run in results.runs:
        if run.step.config == FASTAPI and run.step.users == 1:
            run.valid = False
    pairs = {(p.on.config, p.users): p for p in batching_pairs(results)}
    assert pairs[(FASTAPI + "+batched", 1)].p50_outcome() == "not measured"
    out = tmp_path / "run"
    out.mkdir()
    write_results(results, out / "results.json")
    markdown = write_report(out).markdown.read_text()
    assert "fastapi/uvicorn/1wx4t: not measured (no valid pair)" in markdown
    assert "nan" not in markdown.split("## Micro-batching")[1].split("##")[0]


def test_mean_batch_is_searches_per_batch_from_batches_per_size() -> None:
    assert mean_batch({4: 400}) == 4.0  # 400 batches of 4
    # 36 batches of 32 and one of 10 (the batching example's FastAPI at 64 users): 1,162
    # searches in 37 batches; reading the counts as searches gave 30.2.
    assert mean_batch({32: 36, 10: 1}) == pytest.approx(1162 / 37)


def test_the_report_explains_who_can_hold_a_batch(tmp_path: Path) -> None:
    write_results(batching_results(), tmp_path / "results.json")
    markdown = write_report(tmp_path).markdown.read_text()
    assert "## Micro-batching: who can hold a batch" in markdown
    assert "fastapi/uvicorn/1wx4t formed batches of up to 32" in markdown
    assert "flask/gunicorn-gthread/1wx4t formed batches of up to 4" in markdown
    assert "p50 +1.0 ms [+1.0, +1.0] (range of 5 pairs, 94% coverage), within the 2 ms" in markdown


def test_the_report_says_which_runs_fell_out_of_the_pairs_and_why(tmp_path: Path) -> None:
    results = batching_results()
    for run in results.runs:
        if run.step.config == FLASK and run.step.users == 64 and run.step.repeat == 2:
            run.valid, run.invalid_reasons = False, ["18 of 230 requests failed"]
    pairs = {(p.on.config, p.users): p for p in batching_pairs(results)}
    assert pairs[(FLASK + "+batched", 64)].interval.n == 4  # the pair of repeat 3 is gone
    write_results(results, tmp_path / "results.json")
    markdown = write_report(tmp_path).markdown.read_text()
    assert (
        "Runs left out of the pairs above (a pair needs both of its runs valid, so each takes "
        "its partner's run with it): flask/gunicorn-gthread/1wx4t at 64 users, repeat 3 "
        "(18 of 230 requests failed)." in markdown
    )
    assert "Runs left out of the pairs" not in write_report_of(batching_results(), tmp_path)


def test_a_run_whose_partner_never_ran_is_said_to_be_left_out(tmp_path: Path) -> None:
    results = batching_results()
    results.runs = [
        run
        for run in results.runs
        if not (run.step.config == FASTAPI and run.step.users == 64 and run.step.repeat == 4)
    ]
    assert "fastapi/uvicorn/1wx4t+batched at 64 users, repeat 5 (its partner did not run)" in (
        write_report_of(results, tmp_path)
    )


def write_report_of(results: BenchResults, tmp_path: Path) -> str:
    out = tmp_path / "clean"
    out.mkdir()
    write_results(results, out / "results.json")
    return write_report(out).markdown.read_text()
