"""Exact statistics from raw samples: percentiles, medians with confidence intervals, spread.

Method choices (the report quotes them):

* Percentiles are *nearest-rank* over every sample (the smallest sample with at least q % of
  samples at or below it), so p99.9 is a latency some request really had. Nothing is
  bucketed or rounded, unlike Locust's own stats.
* A median over repeats gets a *distribution-free* confidence interval from order statistics
  (binomial, no normality assumed). With few repeats the nominal 95 % is unreachable (five
  repeats give at most 93.75 %, three 75 %), so the interval carries the coverage it really
  has, and one that is the whole range says so ("range of 3 runs"), never "95 %".
* A ratio of two configurations comes from *pairs*: the runs of one repeat, close together
  in the interleaved (ABBA...) order, so slow drift of the machine cancels inside each pair. Its
  point estimate is the median of the per-pair ratios, with the same order-statistic
  interval over the pairs.
* A target is met only when the whole interval clears it, missed when the whole interval
  misses it, and inconclusive otherwise (or without an interval).
* Percentiles of one run are printed only where the samples carry them: at least
  ``SAMPLES_BEYOND`` (10) samples beyond the percentile, n >= 10 / (1 - q): p50 from 20,
  p90 from 100, p95 from 200, p99 from 1,000, p99.9 from 10,000 (:func:`min_samples`).
* Coordinated omission: open-model runs add each request's wait behind its intended send
  time; closed-model runs can be corrected HdrHistogram-style with an expected interval.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "LatencySummary",
    "RepeatSummary",
    "Interval",
    "Outcome",
    "percentile",
    "summarize_latencies",
    "median_ci",
    "summarize_repeats",
    "coefficient_of_variation",
    "correct_open_model",
    "correct_expected_interval",
    "judge_at_least",
    "judge_at_most",
    "MIN_SAMPLES",
    "SAMPLES_BEYOND",
    "min_samples",
    "Histogram",
    "to_whole_us",
]

# A percentile is shown only with this many samples beyond it: with fewer, the q-th
# percentile of a run is one of its few largest values and moves with any one of them.
SAMPLES_BEYOND = 10


def min_samples(q: float) -> int:
    """The fewest samples that carry the ``q``-th percentile (0 < q < 100): n >= 10 / (1 - q)."""
    # Rounded first: 1 - 0.999 is not exactly 0.001 in floating point.
    return math.ceil(round(SAMPLES_BEYOND / (1 - q / 100), 6))


# The percentiles the report shows, each with the fewest samples it needs.
MIN_SAMPLES = {q: min_samples(q) for q in (50.0, 90.0, 95.0, 99.0, 99.9)}

FloatArray = NDArray[np.float64]


def _sorted(values: Sequence[float] | FloatArray) -> FloatArray:
    return np.sort(np.asarray(values, dtype=np.float64))


def percentile(sorted_values: FloatArray, q: float) -> float:
    """Nearest-rank ``q``-th percentile (0 < q <= 100) of already sorted values."""
    if not 0 < q <= 100:
        raise ValueError(f"percentile q must be in (0, 100] (got {q})")
    n = len(sorted_values)
    if n == 0:
        return math.nan
    # The epsilon keeps q * n / 100 exact for values like 99.9 * 1000 (= 99900.00000000001).
    rank = math.ceil(q * n / 100 - 1e-9)
    return float(sorted_values[min(max(rank, 1), n) - 1])


def to_whole_us(latencies_ms: Sequence[float] | FloatArray) -> FloatArray:
    """Latencies rounded to whole microseconds, still in ms: the resolution every figure is
    computed at, so the raw samples a run keeps (:class:`Histogram`) give them back exactly."""
    return np.round(np.asarray(latencies_ms, dtype=np.float64) * 1000) / 1000


@dataclass(frozen=True)
class Histogram:
    """Latencies in whole microseconds, lossless at that resolution: each distinct value once,
    ascending, with how many requests had it. Written as JSON with the values as steps from
    the one before (small numbers, which gzip packs tightly)."""

    values_us: tuple[int, ...] = ()
    counts: tuple[int, ...] = ()

    @classmethod
    def of(cls, latencies_ms: Sequence[float] | FloatArray) -> Histogram:
        whole = np.round(np.asarray(latencies_ms, dtype=np.float64) * 1000).astype(np.int64)
        values, counts = np.unique(whole, return_counts=True)
        return cls(tuple(int(v) for v in values), tuple(int(c) for c in counts))

    def __len__(self) -> int:
        return sum(self.counts)

    def latencies_ms(self) -> FloatArray:
        """Every latency, ascending, in ms (as :func:`to_whole_us` gives them)."""
        values = np.repeat(np.asarray(self.values_us, dtype=np.int64), self.counts)
        return values.astype(np.float64) / 1000

    def merged(self, other: Histogram) -> Histogram:
        return Histogram.of(np.concatenate([self.latencies_ms(), other.latencies_ms()]))

    def to_json(self) -> dict[str, list[int]]:
        steps = np.diff(np.asarray(self.values_us, dtype=np.int64), prepend=0)
        return {"us_steps": [int(v) for v in steps], "counts": list(self.counts)}

    @classmethod
    def from_json(cls, data: dict[str, list[int]]) -> Histogram:
        values = np.cumsum(np.asarray(data["us_steps"], dtype=np.int64))
        return cls(tuple(int(v) for v in values), tuple(int(c) for c in data["counts"]))


@dataclass(frozen=True)
class LatencySummary:
    """Exact latency percentiles (milliseconds) of one run."""

    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    p999: float
    max: float
    # Last, with a default: results written before it was kept read back without it.
    p95: float = math.nan


def summarize_latencies(latencies_ms: Sequence[float] | FloatArray) -> LatencySummary:
    values = _sorted(latencies_ms)
    if len(values) == 0:
        nan = math.nan
        return LatencySummary(0, nan, nan, nan, nan, nan, nan, nan)
    return LatencySummary(
        count=len(values),
        mean=float(values.mean()),
        p50=percentile(values, 50),
        p90=percentile(values, 90),
        p99=percentile(values, 99),
        p999=percentile(values, 99.9),
        max=float(values[-1]),
        p95=percentile(values, 95),
    )


@dataclass(frozen=True)
class Interval:
    """A confidence interval, the coverage it really has (0.9375 means 93.75 %), and how
    many values (``unit``: runs or pairs) it stands on."""

    low: float
    high: float
    coverage: float
    n: int = 0
    full_range: bool = False  # the interval is min..max of the values
    unit: str = "runs"

    @property
    def exists(self) -> bool:
        return self.n >= 2 and not math.isnan(self.low)

    @property
    def method(self) -> str:
        """What the interval is, in words a reader can check."""
        if self.n == 0:
            return "not measured"
        if self.n == 1:
            return f"one {self.unit.rstrip('s')}: no interval"
        if self.full_range:
            return f"range of {self.n} {self.unit}, {self.coverage:.0%} coverage"
        return f"{self.coverage:.1%} order-statistic interval over {self.n} {self.unit}"


Outcome = Literal["met", "missed", "inconclusive", "not measured"]


def judge_at_least(value: float, interval: Interval, target: float) -> Outcome:
    """Met when the whole interval clears ``target``, missed when it all falls short."""
    if math.isnan(value):
        return "not measured"
    if not interval.exists:
        return "inconclusive"
    if interval.low >= target:
        return "met"
    if interval.high < target:
        return "missed"
    return "inconclusive"


def judge_at_most(value: float, interval: Interval, limit: float) -> Outcome:
    """Met when the whole interval stays at or below ``limit``, missed when it all exceeds it."""
    if math.isnan(value):
        return "not measured"
    if not interval.exists:
        return "inconclusive"
    if interval.high <= limit:
        return "met"
    if interval.low > limit:
        return "missed"
    return "inconclusive"


def _binom_cdf_half(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    return float(sum(math.comb(n, i) for i in range(k + 1))) / float(2**n)


def median_ci(values: Sequence[float], confidence: float = 0.95, unit: str = "runs") -> Interval:
    """Order-statistic interval [x_(k), x_(n-k+1)] around the median.

    The narrowest symmetric pair whose coverage reaches ``confidence``; when ``n`` is too
    small for that, the full range and its (lower) coverage.
    """
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        return Interval(math.nan, math.nan, 0.0, 0, unit=unit)
    if n == 1:
        return Interval(xs[0], xs[0], 0.0, 1, unit=unit)
    best = Interval(xs[0], xs[-1], 1 - 2 * _binom_cdf_half(0, n), n, True, unit)
    for k in range(2, n // 2 + 1):  # k-th smallest and k-th largest
        coverage = 1 - 2 * _binom_cdf_half(k - 1, n)
        if coverage < confidence:
            break
        best = Interval(xs[k - 1], xs[n - k], coverage, n, False, unit)
    return best


def coefficient_of_variation(values: Sequence[float]) -> float:
    """Sample standard deviation over mean; NaN with fewer than two values."""
    if len(values) < 2:
        return math.nan
    mean = statistics.fmean(values)
    return statistics.stdev(values) / mean if mean else math.nan


@dataclass(frozen=True)
class RepeatSummary:
    """One metric over repeats: its values, median, order-statistic interval and spread."""

    values: list[float]
    median: float
    ci: Interval
    cv: float


def summarize_repeats(values: Sequence[float], unit: str = "runs") -> RepeatSummary:
    vals = [float(v) for v in values if not math.isnan(v)]
    median = statistics.median(vals) if vals else math.nan
    return RepeatSummary(vals, median, median_ci(vals, unit=unit), coefficient_of_variation(vals))


def correct_open_model(latencies_ms: FloatArray, schedule_delays_ms: FloatArray) -> FloatArray:
    """Latency measured from the intended send time: service time plus the wait behind it.

    In a fixed-rate run a request that went out late (because the user was still waiting on
    a stalled server) would otherwise hide the queue it sat in.
    """
    return np.asarray(latencies_ms, dtype=np.float64) + np.maximum(schedule_delays_ms, 0.0)


def correct_expected_interval(latencies_ms: Sequence[float], interval_ms: float) -> FloatArray:
    """HdrHistogram's ``recordValueWithExpectedInterval`` for closed-model samples.

    A request that took ``v`` > interval stalled the requests that should have been sent
    meanwhile: add the synthetic samples v - interval, v - 2*interval, ... >= interval.
    """
    if interval_ms <= 0:
        raise ValueError(f"interval_ms must be positive (got {interval_ms})")
    out: list[float] = []
    for value in latencies_ms:
        out.append(float(value))
        missing = float(value) - interval_ms
        while missing >= interval_ms:
            out.append(missing)
            missing -= interval_ms
    return np.asarray(out, dtype=np.float64)
