"""The report's runtime sections: the query pool a run sent, the runtime comparison (each
twin on the default model runtime against torch), and the runtime's targets."""

from __future__ import annotations

import math
from typing import Any

from bench.analysis.runtimes import RuntimePair, runtime_pairs
from bench.analysis.targets import runtime_targets
from bench.report.blocks import Block, Paragraph, Table
from bench.report.formatting import interval_text, num, outcome_word
from bench.results import BenchResults
from bench.stats import Interval

__all__ = ["pool_words", "runtime_blocks", "target_blocks"]

# What each named pool is (bench.load.pool.POOLS), for a reader of the report.
POOL_WORDS = {
    "questions": "short questions of 5-10 words, as users send them (seeded templates over "
    "the corpus's titles and the verb phrases its docstrings open with)",
    "first-sentences": "the first sentence of each sampled corpus paragraph: long, uneven "
    "queries that pad a batch to its longest",
}


def _spread(stats: dict[str, Any]) -> str:
    if not stats:
        return "not recorded"
    return (
        f"median {num(stats['median'], 0)}, mean {num(stats['mean'], 1)}, "
        f"{stats['min']}-{stats['max']}"
    )


def pool_words(pool: dict[str, Any]) -> str:
    """The query pool a run sent, by name, with its queries' lengths."""
    if not pool:
        return "not recorded"
    name = str(pool.get("name") or "first-sentences (unnamed, before pools were named)")
    what = POOL_WORDS.get(name.split()[0], "")
    others = "; ".join(
        f"the other pool, {other} (--pool {other}): {words}"
        for other, words in POOL_WORDS.items()
        if other != name.split()[0]
    )
    return (
        f"{name}{f': {what}' if what else ''}; {pool.get('queries', '?')} queries (seed "
        f"{pool.get('seed', '?')}), words {_spread(pool.get('query_words', {}))}, model "
        f"tokens with the two special ones {_spread(pool.get('query_tokens', {}))}; "
        f"{pool.get('documents', '?')} documents to write; vectors by "
        f"{pool.get('vector_source', '?')}; {others}"
    )


def _ratio(value: float, interval: Interval) -> str:
    if math.isnan(value):
        return "– (no valid pair)"
    return f"x{value:.2f} {interval_text(interval, 2)}"


def _row(p: RuntimePair) -> list[str]:
    return [
        p.default.config,
        p.kind,
        str(p.users),
        f"{num(p.default.throughput.median)} → {num(p.other.throughput.median)}",
        _ratio(p.throughput, p.throughput_interval),
        f"{num(p.default.p50.median)} → {num(p.other.p50.median)}",
        _ratio(p.p50, p.p50_interval),
    ]


def runtime_blocks(results: BenchResults) -> list[Block]:
    """Text search through each twin on the default runtime and on torch; [] when the run
    did not compare runtimes."""
    pairs = runtime_pairs(results)
    if not pairs:
        return []
    default, other = pairs[0].default_runtime, pairs[0].runtime
    low = [p for p in pairs if p.users == 1 and not p.batched]
    words = "; ".join(
        f"{p.twin} {num(p.default.p50.median)} ms on {default} against "
        f"{num(p.other.p50.median)} ms on {other} ({_ratio(p.p50, p.p50_interval)})"
        for p in low
    )
    return [
        Paragraph(
            f"Text search through each twin on its usual server, the run's default model "
            f"runtime ({default}) against {other}, the same configuration told "
            "TWINBENCH_EMBED_BACKEND and nothing else; naive and with the search batcher "
            "on. Each pair ran back to back in the batching steps; ratios are "
            f"{default} ÷ {other}, medians of per-repeat pairs with their interval (for the "
            f"p50, below 1 means {default} answers sooner)."
        ),
        Table(
            [
                "config (default runtime)",
                "search",
                "users",
                f"req/s {default} → {other}",
                f"req/s {default} ÷ {other} (pairs)",
                f"p50 ms {default} → {other}",
                f"p50 {default} ÷ {other} (pairs)",
            ],
            [_row(p) for p in pairs],
        ),
        *(
            [Paragraph(f"At one user, with nothing to batch, the p50 (medians of runs): {words}.")]
            if low
            else []
        ),
    ]


def target_blocks(results: BenchResults) -> list[Block]:
    """The runtime's targets, each met, missed by how much, or not measured and why."""
    rows = [
        [
            line.figure,
            num(line.value, 2),
            interval_text(line.interval, 2),
            line.target,
            outcome_word(line.outcome),
            line.words,
            line.detail if line.outcome != "not measured" else "–",
        ]
        for line in runtime_targets(results)
    ]
    return [
        Paragraph(
            "Targets for the model runtime, as figures: a target is met when the whole "
            "interval clears it, missed when the whole interval falls short (by how much is "
            "the median's distance to it), inconclusive otherwise."
        ),
        Table(["figure", "value", "interval", "target", "outcome", "verdict", "from"], rows),
    ]
