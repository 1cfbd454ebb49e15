"""How long a plan takes: each step's seconds, summed, before anything runs.

The run's progress line, ``python -m bench plan`` and whoever schedules a run (the examples)
read the same sum, so a profile's time budget is checked against one figure.
"""

from __future__ import annotations

from bench.plan.profiles import UPLOADS, Profile
from bench.plan.steps import (
    LOCUST_OVERHEAD_S,
    ConfigPlan,
    batching_steps,
    compare_steps,
    single_steps,
    sweep_steps,
)
from bench.results import Step

__all__ = [
    "LOCUST_OVERHEAD_S",
    "UPLOAD_ROWS",
    "UPLOAD_LEAD_S",
    "UPLOAD_AFTER_S",
    "EXPECTED_ROWS_PER_S",
    "planned_steps",
    "open_count",
    "step_s",
    "estimate_s",
    "plan_s",
]

# An upload where the step does not size it: its rows and the seconds of searches alone
# before it (after the warm-up); after it, the searches go on UPLOAD_AFTER_S (no verdict
# reads that phase: it shows the searches recover).
UPLOAD_ROWS = 80
UPLOAD_LEAD_S = 4.0
UPLOAD_AFTER_S = 2.0
# Rows an ingest job stores per second on a twin's half-core quota beside ~25 searches/s,
# for the estimate only (the run ends when the job does): 80 rows took 9-10.5 s beside
# 10 searches/s under torch (docs/report-example), and the ONNX runtime embeds about twice
# as fast (docs/settings.md), with more of the core taken by the searches here.
EXPECTED_ROWS_PER_S = 15.0


def planned_steps(profile: Profile, configs: list[ConfigPlan], users: int | None) -> list[Step]:
    """Every step but the open-model ones, which are planned from the measured saturation."""
    return (
        compare_steps(profile, configs, users)
        + sweep_steps(profile, configs)
        + batching_steps(profile, configs)
        + single_steps(profile, configs)
    )


def open_count(profile: Profile, configs: list[ConfigPlan]) -> int:
    """How many open-model steps the run will add (one per fraction and usual twin)."""
    return len(profile.open_fractions) * sum(p.role == "twin" and p.usual for p in configs)


def step_s(step: Step) -> float:
    """The expected seconds of one step: warm-up, measured window and Locust's start and
    stop; an upload's window is its lead, the job and the searches after it, at most the
    step's cap."""
    window = step.duration_s
    if step.scenario in UPLOADS:
        rows = step.upload_rows or UPLOAD_ROWS
        lead = step.upload_lead_s or UPLOAD_LEAD_S
        window = min(window, lead + rows / EXPECTED_ROWS_PER_S + UPLOAD_AFTER_S)
    return window + step.warmup_s + LOCUST_OVERHEAD_S


def estimate_s(steps: list[Step]) -> float:
    return sum(step_s(s) for s in steps)


def plan_s(
    profile: Profile,
    configs: list[ConfigPlan],
    users: int | None = None,
    extra: tuple[Step, ...] = (),
) -> float:
    """Seconds of load a run of ``profile`` on ``configs`` takes: its planned steps, the
    open-model steps it will add and ``extra`` (the generator's calibration); start-up and
    the corpus's first embedding come on top."""
    open_s = open_count(profile, configs) * (
        profile.duration_s + profile.warmup_s + LOCUST_OVERHEAD_S
    )
    return estimate_s([*extra, *planned_steps(profile, configs, users)]) + open_s
