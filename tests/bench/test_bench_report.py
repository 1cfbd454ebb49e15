"""Analysis, decomposition arithmetic and the report, from a small fixture results directory."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bench.analysis.aggregate import aggregate
from bench.analysis.claims import evaluate_claims
from bench.analysis.ratios import cost_rows, decompose, headline_ratios
from bench.plan import topology
from bench.plan.profiles import PROFILES
from bench.report import ReportPaths, write_report
from bench.report.sections import point_read_verdict
from bench.results import MemorySeries, read_results, write_results
from bench.run import devcost
from shared.config import PROJECT_ROOT
from tests.bench.conftest import FASTAPI, fixture_results


def test_results_round_trip_through_json(results_dir: Path) -> None:
    results = read_results(results_dir)
    assert len(results.configs) == 13
    assert results.runs[0].latency.count == 200
    assert results.devcost["flask"].lines("docs") == 262


def test_invalid_runs_are_excluded_from_throughput_but_keep_their_cost(results_dir: Path) -> None:
    results = read_results(results_dir)
    echo = next(a for a in aggregate(results) if a.config == FASTAPI and a.scenario == "echo")
    assert echo.valid_runs == 5 and len(echo.runs) == 6
    assert echo.throughput.median == pytest.approx(2500)  # the 9000 invalid run is ignored
    assert 123.0 in echo.cost_us.values  # a saturated generator still measures the cost


def test_headline_ratios_are_paired_and_three_valued(results_dir: Path) -> None:
    ratios = {r.name: r for r in headline_ratios(read_results(results_dir))}
    flask = ratios["flask /health vs bare-flask on gunicorn-gthread"]
    assert flask.measure == "cost" and flask.value == pytest.approx(450 / 500)
    assert len(flask.pairs) == 5 and flask.interval.method.startswith("range of 5 pairs")
    assert flask.outcome == "met"
    fastapi = ratios["fastapi /health vs bare-fastapi on uvicorn"]
    assert fastapi.value == pytest.approx(150 / 250) and fastapi.outcome == "missed"
    floor = ratios["bare-flask vs raw-wsgi on gunicorn-gthread"]
    assert floor.target is None and floor.outcome is None  # shown, not targeted
    search = ratios["fastapi text search vs in-process core"]
    assert search.value == pytest.approx(31 / 32) and search.outcome == "met"


def test_the_three_costs_of_a_health_request(results_dir: Path) -> None:
    rows = {(r.twin, r.server): r for r in cost_rows(read_results(results_dir))}
    flask = rows[("flask", "gunicorn-gthread")]
    assert (flask.raw_us, flask.framework_us, flask.ours_us) == pytest.approx((300, 150, 50))
    fastapi = rows[("fastapi", "uvicorn")]
    assert (fastapi.raw_us, fastapi.framework_us, fastapi.ours_us) == pytest.approx((60, 90, 100))
    assert len(rows) == 4 and all(r.runs == 5 for r in rows.values())


def test_decomposition_reports_the_interaction(results_dir: Path) -> None:
    parts = {d.scenario: d for d in decompose(read_results(results_dir))}
    echo = parts["echo"]
    assert echo.gap.value == pytest.approx(2.5)
    assert echo.framework.value == pytest.approx(2100 / 2000)
    assert echo.flask_server.value == pytest.approx(0.5)
    assert echo.interaction.value == pytest.approx((2500 / 2100) / 0.5)
    assert echo.interaction_small is False
    health = parts["health"]
    assert health.measure == "cost" and health.gap.value == pytest.approx(500 / 250)


def test_nine_claims_each_with_a_rule_and_a_verdict(results_dir: Path) -> None:
    claims = evaluate_claims(read_results(results_dir))
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
    assert all(c.rule and c.text for c in claims)
    performance = claims[2]
    assert performance.verdict == "holds only"
    assert "not apart on text search" in performance.text
    assert claims[5].verdict == "holds"


def test_report_is_written_and_self_contained(rendered_report: ReportPaths) -> None:
    paths = rendered_report
    results_dir = paths.markdown.parent
    markdown = paths.markdown.read_text()
    page = paths.html.read_text()
    # The first screen is the summary figure and its sentences, then the verdicts.
    sections = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert sections[:3] == ["## Summary", "## The claims, checked", "## Headline ratios"]
    assert markdown.index("![FastAPI ÷ Flask per scenario]") < markdown.index("## The claims")
    assert "What the framework gives, both twins on one shared server" in markdown
    assert "Target missed" in markdown  # fastapi /health at 0.6 of its bare framework
    assert "95 %" not in markdown  # no interval from five runs is called 95 %
    assert "data:image/png;base64," in page
    assert "<nav><b>Contents</b>" in page
    assert "src='http" not in page and 'src="http' not in page
    assert (results_dir / "plots" / "summary.png").exists()
    assert (results_dir / "plots" / "health-costs.png").exists()
    assert "headline ratios" in paths.headline_text


def test_point_reads_from_one_run_are_not_judged(rendered: str) -> None:
    section = rendered[rendered.index("## Point reads") :].split("\n## ")[0]
    flask_get = next(line for line in section.splitlines() if "flask/" in line and "GET" in line)
    assert flask_get.endswith(
        "| not judged: one run (n=160); met or missed needs an interval over repeats |"
    )
    assert "met (" not in section and "**missed**" not in section
    assert "– (n=40, too few for a p95)" in section  # the 40 deletes


def test_point_reads_are_judged_by_an_interval_over_runs_with_the_samples() -> None:
    fast = [{"n": 1200.0, "p50": 3.0 + k, "p95": 6.0, "p99": 20.0 + k} for k in range(5)]
    assert point_read_verdict(fast).startswith("met (p50 [3.0, 7.0]")
    slow = [{**r, "p50": 12.0 + r["p50"]} for r in fast]
    assert point_read_verdict(slow).startswith("**missed** on p50")
    # Runs too small for a p99 leave the p99 unjudged: never met.
    small = [{**r, "n": 150.0} for r in fast]
    assert point_read_verdict(small).startswith("inconclusive (p50 [3.0, 7.0]")
    assert "0 runs with the 1,000 samples a p99 needs" in point_read_verdict(small)


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


def test_a_pitfall_switch_that_was_on_is_named_in_the_first_line_and_environment(
    tmp_path: Path,
) -> None:
    as_built = fixture_results()
    as_built.environment["settings"] = {"pitfall_sync_handlers": False, "workers": 1}
    switched = fixture_results()
    switched.environment["settings"] = {"pitfall_sync_handlers": True, "workers": 1}
    firsts, environments = [], []
    for name, results in (("as-built", as_built), ("switched", switched)):
        (tmp_path / name).mkdir()
        write_results(results, tmp_path / name / "results.json")
        markdown = write_report(tmp_path / name).markdown.read_text()
        firsts.append(markdown.splitlines()[0])
        environments.append(markdown[markdown.index("## Environment") :])
    assert "PITFALL" not in firsts[0]
    assert firsts[1].endswith("WITH PITFALL SWITCHES ON: TWINBENCH_PITFALL_SYNC_HANDLERS")
    assert "| pitfall switches (workshop) | none on (as built) |" in environments[0]
    assert "| pitfall switches (workshop) | TWINBENCH_PITFALL_SYNC_HANDLERS |" in environments[1]


@pytest.mark.parametrize(
    ("metric", "said"),
    [
        ("rss", "memory (the summed RSS of its whole process tree)"),
        ("pss", "memory (the PSS of its whole process tree)"),
        ("off", "Server memory was not sampled."),
    ],
)
def test_the_method_names_the_memory_this_run_sampled(
    tmp_path: Path, metric: str, said: str
) -> None:
    results = fixture_results()
    results.environment["memory_sampling"] = metric
    for run in results.runs:
        run.memory = None if metric == "off" else MemorySeries(metric, 5.0, [0.0], [1 << 20])
    write_results(results, tmp_path / "results.json")
    method = write_report(tmp_path).markdown.read_text().split("## Method")[1]
    assert said in method and "{memory}" not in method


def test_the_method_names_what_the_samplers_really_read(tmp_path: Path) -> None:
    # Asked for PSS, but smaps was unreadable for some servers: they fell back to RSS.
    results = fixture_results()
    results.environment["memory_sampling"] = "pss"
    for run in results.runs:
        run.memory = MemorySeries("pss", 5.0, [0.0], [1 << 20])
    results.runs[0].memory = MemorySeries("rss", 5.0, [0.0], [1 << 20])
    write_results(results, tmp_path / "results.json")
    method = write_report(tmp_path).markdown.read_text().split("## Method")[1]
    assert "or its summed RSS where PSS was unreadable" in method
