"""Do quiet runs of one commit agree on every verdict? The rule behind the stability table.

A verdict may be cautious in one run and decisive in another ("inconclusive" beside
"holds"): more evidence would settle it. What must never happen is two runs of the same
code that settle a row in different directions, say "holds" in one and "does not hold" in
the other: then the rule is reading noise, and its evidence must be sized up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.analysis.claims import Claim

__all__ = ["CAUTIOUS", "RowAgreement", "agreement", "all_agree"]

# Verdicts that settle nothing: they may sit beside any decisive verdict of another run.
CAUTIOUS = frozenset({"inconclusive", "not measured"})


@dataclass(frozen=True)
class RowAgreement:
    topic: str
    verdicts: tuple[str, ...]  # one per run, in run order

    @property
    def decisive(self) -> frozenset[str]:
        return frozenset(v for v in self.verdicts if v not in CAUTIOUS)

    @property
    def agrees(self) -> bool:
        """At most one decisive verdict across the runs (cautious ones do not count)."""
        return len(self.decisive) <= 1

    @property
    def identical(self) -> bool:
        return len(set(self.verdicts)) == 1


def agreement(runs: Sequence[Sequence[Claim]]) -> list[RowAgreement]:
    """One row per claim topic, in the first run's order, with each run's verdict ("–"
    where a run lacks the topic, which counts as not measured)."""
    topics: list[str] = []
    for claims in runs:
        topics += [c.topic for c in claims if c.topic not in topics]
    by_run = [{c.topic: c.verdict for c in claims} for claims in runs]
    return [
        RowAgreement(topic, tuple(verdicts.get(topic, "not measured") for verdicts in by_run))
        for topic in topics
    ]


def all_agree(rows: Sequence[RowAgreement]) -> bool:
    return all(row.agrees for row in rows)
