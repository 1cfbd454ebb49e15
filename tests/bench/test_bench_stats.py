"""Statistics against data with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.report.formatting import pct
from bench.stats import (
    Interval,
    coefficient_of_variation,
    correct_expected_interval,
    correct_open_model,
    judge_at_least,
    judge_at_most,
    median_ci,
    percentile,
    summarize_latencies,
    summarize_repeats,
)


def test_percentiles_are_nearest_rank_on_1_to_1000() -> None:
    summary = summarize_latencies(list(range(1000, 0, -1)))  # unsorted on purpose
    assert (summary.p50, summary.p90, summary.p99, summary.p999, summary.max) == (
        500,
        900,
        990,
        999,
        1000,
    )
    assert summary.count == 1000 and summary.mean == pytest.approx(500.5)


def test_percentile_of_a_few_samples_is_a_real_sample() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0])
    assert percentile(values, 50) == 2.0
    assert percentile(values, 99.9) == 4.0
    assert percentile(values, 0.1) == 1.0


def test_percentile_rejects_q_out_of_range() -> None:
    with pytest.raises(ValueError, match="percentile q"):
        percentile(np.array([1.0]), 0)


def test_empty_latencies_give_nan_not_an_error() -> None:
    assert math.isnan(summarize_latencies([]).p99)


def test_median_ci_of_five_repeats_is_the_range_with_its_true_coverage() -> None:
    ci = median_ci([5, 1, 4, 2, 3])
    assert (ci.low, ci.high) == (1, 5)
    assert ci.coverage == pytest.approx(1 - 2 / 32)  # 93.75 %: 95 % is out of reach at n=5


def test_median_ci_of_ten_repeats_uses_second_order_statistics() -> None:
    ci = median_ci(list(range(1, 11)))
    assert (ci.low, ci.high) == (2, 9)
    assert ci.coverage == pytest.approx(1 - 2 * 11 / 1024)


def test_coefficient_of_variation() -> None:
    assert coefficient_of_variation([9, 10, 11]) == pytest.approx(0.1)
    assert math.isnan(coefficient_of_variation([3]))
    assert summarize_repeats([9, 10, 11]).median == 10


def test_expected_interval_correction_matches_hdrhistogram() -> None:
    corrected = correct_expected_interval([1, 1, 100], interval_ms=10)
    # 100 ms with a 10 ms interval hid nine requests: 90, 80, ..., 10.
    assert sorted(corrected.tolist()) == [1, 1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]


def test_expected_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval_ms"):
        correct_expected_interval([1.0], 0)


def test_open_model_latency_counts_from_the_intended_send_time() -> None:
    service = np.array([5.0, 5.0, 5.0])
    late = np.array([0.0, 95.0, -1.0])  # a negative delay (clock jitter) is clamped to 0
    assert correct_open_model(service, late).tolist() == [5.0, 100.0, 5.0]


def test_coordinated_omission_shows_in_the_tail() -> None:
    # 99 fast requests and one 1 s stall, at an intended 10 ms interval.
    raw = [1.0] * 99 + [1000.0]
    assert summarize_latencies(raw).p99 == 1.0
    assert summarize_latencies(correct_expected_interval(raw, 10)).p99 > 500


def test_an_interval_says_what_it_is() -> None:
    assert median_ci([3, 1, 2]).method == "range of 3 runs, 75% coverage"
    assert median_ci([5, 1, 4, 2, 3], unit="pairs").method == "range of 5 pairs, 94% coverage"
    assert median_ci(list(range(1, 11))).method == "97.9% order-statistic interval over 10 runs"
    assert median_ci([7]).method == "one run: no interval" and not median_ci([7]).exists
    assert median_ci([]).method == "not measured"


@pytest.mark.parametrize(
    ("low", "high", "outcome"),
    [(0.85, 0.95, "met"), (0.6, 0.75, "missed"), (0.7, 0.9, "inconclusive")],
)
def test_a_target_is_three_valued(low: float, high: float, outcome: str) -> None:
    interval = Interval(low, high, 0.9375, 5, True)
    assert judge_at_least((low + high) / 2, interval, 0.8) == outcome


@pytest.mark.parametrize(
    ("low", "high", "outcome"),
    [(-1.0, 1.5, "met"), (2.5, 7.0, "missed"), (0.5, 3.0, "inconclusive"), (-3.0, 2.0, "met")],
)
def test_a_limit_is_three_valued(low: float, high: float, outcome: str) -> None:
    interval = Interval(low, high, 0.75, 3, True)
    assert judge_at_most((low + high) / 2, interval, 2.0) == outcome
    assert judge_at_most(math.nan, median_ci([]), 2.0) == "not measured"
    assert judge_at_most(1.0, median_ci([1.0]), 2.0) == "inconclusive"


def test_a_target_without_an_interval_is_inconclusive_and_without_a_value_not_measured() -> None:
    assert judge_at_least(0.95, median_ci([0.95]), 0.8) == "inconclusive"
    assert judge_at_least(math.nan, median_ci([]), 0.8) == "not measured"


def test_percentiles_are_printed_only_where_the_samples_carry_them() -> None:
    # Ten samples beyond the percentile: n >= 10 / (1 - q).
    assert pct(12.5, 999, 99.0) == "– (n=999, too few for a p99)"
    assert pct(12.5, 1000, 99.0) == "12.5"
    assert pct(30.0, 9999, 99.9) == "– (n=9,999, too few for a p99.9)"
    assert pct(30.0, 10000, 99.9) == "30.0"
    assert pct(8.0, 19, 50.0) == "– (n=19, too few for a p50)"
    assert pct(8.0, 199, 95.0).startswith("–") and pct(8.0, 200, 95.0) == "8.0"
