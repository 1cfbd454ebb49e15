"""Analysis, decomposition arithmetic and the report, from a small fixture results directory."""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bench.analysis.aggregate import aggregate
from bench.analysis.claims import evaluate_claims
from bench.analysis.ratios import decompose, headline_ratios, split_gap
from bench.plan import topology
from bench.plan.profiles import PROFILES
from bench.report import write_report
from bench.results import AppCost, read_results
from bench.run import devcost
from shared.config import PROJECT_ROOT


def test_split_gap_parts_multiply_to_the_total() -> None:
    total, framework, server, share = split_gap(1000, 3000, 2000, 3000)
    assert total == pytest.approx(3.0)
    assert framework == pytest.approx(1.5)
    assert server == pytest.approx(2.0)
    assert share == pytest.approx(math.log(1.5) / math.log(3))


def test_split_gap_has_no_share_without_a_gap() -> None:
    assert math.isnan(split_gap(100, 100.5, 100, 100)[3])


def test_results_round_trip_through_json(results_dir: Path) -> None:
    results = read_results(results_dir)
    assert len(results.configs) == 9
    assert results.runs[0].latency.count == 200


def test_invalid_runs_are_excluded_from_aggregates(results_dir: Path) -> None:
    results = read_results(results_dir)
    floor = next(a for a in aggregate(results) if a.config == "floor-asgi/uvicorn/1w")
    assert floor.valid_runs == 3 and len(floor.runs) == 4
    assert floor.throughput.median == pytest.approx(6000)  # the 9000 invalid run is ignored


def test_decomposition_on_fixture(results_dir: Path) -> None:
    health = next(d for d in decompose(read_results(results_dir)) if d.scenario == "health")
    assert health.total == pytest.approx(3.0)
    assert health.framework == pytest.approx(1.05)
    assert health.server == pytest.approx(3.0 / 1.05)
    assert health.total_ci.low <= 3.0 <= health.total_ci.high


def test_headline_ratios(results_dir: Path) -> None:
    ratios = {r.name: r for r in headline_ratios(read_results(results_dir))}
    flask = ratios["flask /health vs bare floor-wsgi on gunicorn-gthread"]
    assert flask.value == pytest.approx(0.5) and flask.meets is False
    search = ratios["fastapi text search vs in-process core"]
    assert search.value == pytest.approx(31 / 32) and search.meets is True


def test_nine_claims_each_with_a_verdict(results_dir: Path) -> None:
    results = read_results(results_dir)
    results.devcost = {
        "flask": AppCost("flask", 3, 400, 90, 30, 60),
        "fastapi": AppCost("fastapi", 3, 300, 60, 20, 5),
    }
    claims = evaluate_claims(results)
    assert [c.topic for c in claims] == [
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
    performance = claims[2]
    # The gap is clear on usual servers but small on one server: the server's doing.
    assert performance.verdict.startswith("holds only when each twin runs on its usual server")
    assert claims[5].verdict.startswith("holds")


def test_report_is_written_and_self_contained(results_dir: Path) -> None:
    paths = write_report(results_dir)
    markdown = paths.markdown.read_text()
    page = paths.html.read_text()
    assert "## The claims, checked" in markdown
    assert "Target missed" in markdown  # flask /health at 0.5 of its floor
    assert "data:image/png;base64," in page
    assert "src='http" not in page and 'src="http' not in page
    assert (results_dir / "plots" / "cdf-health.png").exists()
    assert "headline ratios" in paths.headline_text


def test_a_report_is_a_function_of_its_results_folder_alone(
    results_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_report(results_dir)
    markdown, page = first.markdown.read_text(), first.html.read_text()
    # Today's code changes after the run: another profile definition, another shared
    # server, other dev-cost rules. None of it may reach the re-rendered report.
    monkeypatch.setitem(PROFILES, "quick", replace(PROFILES["quick"], duration_s=99))
    monkeypatch.setattr(topology, "SHARED_SERVER", "uvicorn")
    monkeypatch.setattr(devcost, "count_devcost", lambda *a, **k: {})
    opened: list[str] = []
    watching = True

    def hook(event: str, args: tuple[object, ...]) -> None:
        if watching and event == "open" and isinstance(args[0], str | Path):
            opened.append(str(Path(args[0]).resolve()))

    sys.addaudithook(hook)
    try:
        again = write_report(results_dir)
    finally:
        watching = False
    assert again.markdown.read_text() == markdown
    assert again.html.read_text() == page
    source_tree = str(PROJECT_ROOT)
    assert not [p for p in opened if p.startswith(source_tree)], "rendering read the source tree"
    assert any(p.endswith("results.json") for p in opened)  # the hook did see the reads
