"""How the report writes numbers, intervals, sizes and verdicts: one way, everywhere."""

from __future__ import annotations

import math

from bench.stats import Interval

__all__ = ["num", "ci_text", "mib", "verdict_word"]


def num(value: float, digits: int = 1) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def ci_text(ci: Interval, digits: int = 1) -> str:
    if math.isnan(ci.low):
        return "– (one repeat)"
    return f"[{num(ci.low, digits)}, {num(ci.high, digits)}] ({ci.coverage:.0%})"


def mib(value: float) -> str:
    return "–" if math.isnan(value) else f"{value / 2**20:,.1f} MiB"


def verdict_word(ok: bool | None) -> str:
    return {True: "pass", False: "**fail**", None: "inconclusive"}[ok]
