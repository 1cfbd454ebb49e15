"""The report's plots draw what they name (issue 27 item 7): batched apart from naive, axes
that start at 0, ratio ticks a reader can read, and intervals of different coverage apart."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from bench.analysis.aggregate import aggregate
from bench.analysis.ratios import decompose
from bench.report.plots import latency_cdf_figure, summary_figure, throughput_figure
from tests.bench.conftest import batching_results, fixture_results


def test_the_throughput_plot_tells_batched_from_naive_and_starts_at_zero() -> None:
    fig = throughput_figure(aggregate(batching_results()), "search_text")
    assert fig is not None
    ax = fig.axes[0]
    assert ax.get_ylim()[0] == 0
    styles = {line.get_label(): line.get_linestyle() for line in ax.get_lines()}
    assert styles["fastapi/uvicorn/1wx4t (batched)"] == "--"
    assert styles["fastapi/uvicorn/1wx4t (naive)"] == "-"
    legend = ax.get_legend()
    assert legend is not None
    assert "fastapi/uvicorn/1wx4t (batched)" in [t.get_text() for t in legend.get_texts()]
    plt.close(fig)


def test_the_summary_axis_labels_its_ticks_with_the_ratios() -> None:
    parts = decompose(batching_results())
    fig = summary_figure([(d.scenario, d.gap, d.framework) for d in parts])
    assert fig is not None
    ax = fig.axes[0]
    fig.canvas.draw()
    low, high = ax.get_xlim()
    major = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    minor = [t.get_text() for t in ax.get_xticklabels(minor=True) if t.get_text()]
    # The fixture's echo gap is x2.5: ticks on both sides of it, each with its ratio.
    assert "2" in major and ("4" in major or high < 4)
    assert {"1.5", "3"} & set(minor)
    assert low < 1 < high
    plt.close(fig)


@pytest.mark.parametrize("repeats", [3, 5])
def test_intervals_of_different_coverage_are_drawn_apart_and_named(repeats: int) -> None:
    results = batching_results()
    results.runs = [r for r in results.runs if r.step.repeat < repeats]
    parts = decompose(results)
    fig = summary_figure([(d.scenario, d.gap, d.framework) for d in parts])
    assert fig is not None
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert legend is not None
    coverage = "75%" if repeats == 3 else "94%"
    assert all(coverage in t.get_text() for t in legend.get_texts())
    dashed = {
        style
        for collection in ax.collections
        for style in [collection.get_linestyle()[0][1] is not None]
    }
    assert dashed == {repeats == 3}
    plt.close(fig)


def test_the_latency_plot_does_not_set_the_core_beside_the_twins() -> None:
    fig = latency_cdf_figure(fixture_results().runs, "search_text")
    assert fig is not None
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert "flask/gunicorn-gthread/1wx4t (8 users)" in labels
    assert not any("core" in label for label in labels)
    plt.close(fig)
