"""`make examples`: the stability rule, the README composed from results, and the refusals.

The runs themselves are benchmarks (an hour on a quiet machine) and are never started here;
what is tested is everything around them that decides what a reader is told.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

from bench import examples
from bench.analysis.claims import Claim, evaluate_claims
from bench.analysis.stability import agreement, all_agree
from bench.report.blocks import render_markdown
from bench.report.example_readme import example_readme, stability_blocks
from bench.run import environment
from tests.bench.conftest import fixture_results


def _claim(topic: str, verdict: str) -> Claim:
    return Claim(topic, "claim", verdict, verdict, "rule", "evidence")  # type: ignore[arg-type]


def test_runs_that_settle_a_row_in_opposite_directions_do_not_agree() -> None:
    rows = agreement(
        [
            [_claim("Async support", "holds"), _claim("Performance", "not apart")],
            [_claim("Async support", "does not hold"), _claim("Performance", "not apart")],
            [_claim("Async support", "holds"), _claim("Performance", "not apart")],
        ]
    )
    assert [r.topic for r in rows] == ["Async support", "Performance"]
    assert rows[0].verdicts == ("holds", "does not hold", "holds")
    assert not rows[0].agrees
    assert rows[1].agrees and rows[1].identical
    assert not all_agree(rows)


def test_a_cautious_verdict_beside_a_decisive_one_agrees_but_is_not_identical() -> None:
    rows = agreement(
        [
            [_claim("Async support", "inconclusive")],
            [_claim("Async support", "not apart")],
            [],  # a run without the row counts as not measured
        ]
    )
    assert rows[0].verdicts == ("inconclusive", "not apart", "not measured")
    assert rows[0].agrees and not rows[0].identical
    assert all_agree(rows)
    table = render_markdown(stability_blocks(rows, ["a", "b", "c"], ["cmd", "cmd"]))
    assert "yes (some cautious)" in table and "They agree on every row" in table


def test_a_disagreement_is_said_in_the_stability_table() -> None:
    rows = agreement([[_claim("Performance", "holds")], [_claim("Performance", "does not hold")]])
    table = render_markdown(stability_blocks(rows, ["a", "b"], ["cmd"]))
    assert "| Performance | holds | does not hold | differ |" in table
    assert "do not agree on every row" in table


def test_the_readme_quotes_its_own_results() -> None:
    results = fixture_results()
    results.environment.update(
        git_commit="abc1234",
        git_dirty=False,
        cpu_model="Test CPU",
        logical_cpus=2,
        memory_gib=23.6,
        background_cores=0.03,
        disturbed_cores_limit=0.1,
        model_runtimes={"flask": "onnx", "fastapi": "onnx"},
    )
    text = example_readme(
        results, title="Example", folder="docs/report-example", command="python -m bench run"
    )
    assert "commit `abc1234`" in text and "Test CPU with 2 logical CPUs" in text
    assert "0.03 cores of other work (limit 0.10)" in text
    assert "model runtime onnx" in text
    assert "make bench-report DIR=docs/report-example" in text
    for claim in evaluate_claims(results):
        assert f"| {claim.topic} | {claim.verdict} |" in text


def test_a_busy_or_dirty_run_says_so_in_its_readme() -> None:
    results = fixture_results()
    results.environment.update(
        git_dirty=True, git_changed=["shared/core.py"], allowed_busy=True, background_cores=0.8
    )
    text = example_readme(results, title="Example", folder="x", command="c")
    assert "changed from it: shared/core.py: not a clean example" in text
    assert "told to run on a busy machine" in text
    assert "the code beside this folder" in text
    # A record from before runs named what differed says only that something did.
    del results.environment["git_changed"]
    text = example_readme(results, title="Example", folder="x", command="c")
    assert "this record does not say where" in text


def test_an_example_of_older_code_says_so() -> None:
    text = example_readme(
        fixture_results(),
        title="Example",
        folder="x",
        command="c",
        changed_since=["bench/run/orchestrator.py"],
    )
    assert "the bench, core or twins have changed since** (bench/run/orchestrator.py)" in text
    assert "the code beside this folder" not in text


def test_the_code_since_an_unknown_commit_counts_as_all_changed() -> None:
    assert environment.code_changed_since("") == list(environment.CODE_PATHS)
    assert environment.code_changed_since("0" * 40) == list(environment.CODE_PATHS)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    # HEAD against this working tree: only what is uncommitted under the code paths.
    assert set(environment.code_changed_since(head)) <= set(environment.changed_code())


def test_only_code_that_differs_from_the_commit_makes_a_run_dirty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    monkeypatch.setattr(environment, "PROJECT_ROOT", tmp_path)
    git("init", "-q")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "note.md").write_text("x")
    # docs/ are what the examples write: the next run of the same code is not dirty.
    assert environment.changed_code() == []
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "core.py").write_text("x = 1\n")
    assert environment.changed_code() == ["shared/"]


def test_every_example_run_is_a_known_profile_and_estimated() -> None:
    from bench.plan.profiles import PROFILES

    assert {r.profile for r in examples.EXAMPLE_RUNS} <= set(PROFILES)
    quick = [r for r in examples.EXAMPLE_RUNS if r.profile == "quick"]
    assert len(quick) == 3 and quick[0].folder == "docs/report-example"
    # Every run costs its load plus start-up, so the estimate exceeds the quick load thrice.
    assert examples.estimate_s(examples.EXAMPLE_RUNS) > 3 * examples.STARTUP_S


def test_readmes_only_rewrites_each_readme_from_its_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench.results import write_results

    runs = (
        examples.ExampleRun("quick", "a", "A"),
        examples.ExampleRun("quick", "b", "B"),
    )
    for run, commit in zip(runs, ("1111111", "2222222"), strict=True):
        results = fixture_results()
        results.environment["git_commit"] = commit
        (tmp_path / run.folder).mkdir()
        write_results(dataclasses.replace(results), tmp_path / run.folder / "results.json")
    monkeypatch.setattr(examples, "PROJECT_ROOT", tmp_path)
    assert examples._write_readmes(runs)
    first = (tmp_path / "a" / "README.md").read_text()
    second = (tmp_path / "b" / "README.md").read_text()
    assert "`1111111`" in first and "Stability: three quiet runs" in first
    assert "`2222222`" in second and "Stability" not in second
    assert json.loads((tmp_path / "a" / "results.json").read_text())["profile"]
