"""How a lab judges a timed claim: a ratio with its interval, from the run's own spread.

A lab's figures come from one short run on a laptop, so a bare ratio against a threshold
would pass or fail by chance. Each ratio here comes with a bootstrap interval (the run's
samples resampled, 95 %), and a claim holds only when that interval lies wholly on the
claimed side of its threshold: a check fails when its lesson is wrong or its switch was off,
not because one run was unlucky in the other direction. Percentiles are nearest-rank, the one
definition the benchmark uses (``bench.stats.percentile``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Ratio", "NOT_APART", "percentile_ratio", "mean_ratio"]

FloatArray = np.ndarray

# The report's own band for "not apart" (docs/method.md): a ratio inside x0.91..x1.10.
NOT_APART = (0.91, 1.10)
ROUNDS = 2000


@dataclass(frozen=True)
class Ratio:
    """A ratio of two runs' statistics and its 95 % bootstrap interval."""

    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"x{self.value:.2f} [{self.low:.2f}, {self.high:.2f}]"

    def at_least(self, threshold: float) -> bool:
        """Clearly at or above ``threshold``: the whole interval is."""
        return self.low >= threshold

    def at_most(self, threshold: float) -> bool:
        """Clearly at or below ``threshold``: the whole interval is."""
        return self.high <= threshold

    def not_apart(self, band: tuple[float, float] = NOT_APART) -> bool:
        """Not clearly outside ``band``: the interval meets it. Fails only when the run shows,
        beyond its own spread, a gap larger than the band allows."""
        return self.high >= band[0] and self.low <= band[1]


def _rank(n: int, q: float) -> int:
    """The nearest rank's index of the ``q``-th percentile among ``n`` sorted values."""
    return min(max(math.ceil(q * n / 100 - 1e-9), 1), n) - 1


def _draws(values: FloatArray, rng: np.random.Generator) -> FloatArray:
    """``ROUNDS`` resamples of ``values``, each sorted (one per row)."""
    return np.sort(rng.choice(values, size=(ROUNDS, len(values))), axis=1)


def _percentile(values: FloatArray, q: float, rng: np.random.Generator) -> tuple[float, FloatArray]:
    """The ``q``-th percentile of ``values``: its value and its resampled values."""
    if not len(values):
        raise ValueError("a ratio needs samples on both sides")
    rank = _rank(len(values), q)
    return float(np.sort(values)[rank]), _draws(values, rng)[:, rank]


def _interval(value: float, draws: FloatArray) -> Ratio:
    low, high = np.percentile(draws, [2.5, 97.5])
    return Ratio(value, float(low), float(high))


def percentile_ratio(
    numerator: FloatArray, denominator: FloatArray, q: float, *, seed: int = 0
) -> Ratio:
    """The ``q``-th percentile of one run over another's, e.g. two medians (q=50)."""
    rng = np.random.default_rng(seed)
    top, top_draws = _percentile(numerator, q, rng)
    bottom, bottom_draws = _percentile(denominator, q, rng)
    return _interval(top / bottom, top_draws / bottom_draws)


def mean_ratio(numerator: FloatArray, denominator: FloatArray, *, seed: int = 0) -> Ratio:
    """The mean of one run's values over another's (e.g. per-second completions)."""
    if not len(numerator) or not len(denominator):
        raise ValueError("a ratio needs samples on both sides")
    rng = np.random.default_rng(seed)
    value = float(np.mean(numerator) / np.mean(denominator))
    draws = _draws(numerator, rng).mean(axis=1) / _draws(denominator, rng).mean(axis=1)
    return _interval(value, np.asarray(draws, dtype=float))
