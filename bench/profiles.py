"""What a benchmark run measures: the profiles (quick, full, soak), configurations and steps.

Steps are grouped so each answers one question:

* ``compare`` — repeated, interleaved between configurations (ABAB, the order reversed on
  every other repeat), the basis of every ratio and verdict;
* ``sweep`` — closed-model throughput against concurrency, once per point;
* ``open`` — fixed-rate runs below, near and above the measured saturation, with latency
  counted from the intended send time (coordinated omission);
* ``single`` — write, mixed and ingest-under-load, once per twin on its usual server.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bench.results import IN_PROCESS, Step
from shared.servers import DEFAULT_SERVER, ServerSpec

__all__ = [
    "SCENARIOS", "Profile", "PROFILES", "ConfigPlan", "plan_configs", "compare_steps",
    "sweep_steps", "open_steps", "single_steps", "estimate_s", "LOCUST_OVERHEAD_S",
]

# Scenario name -> the Locust user classes that play it (bench/scenarios.py).
SCENARIOS: dict[str, list[str]] = {
    "health": ["HealthUser"],
    "echo": ["EchoUser"],
    "search_vector": ["SearchVectorUser"],
    "search_text": ["SearchTextUser"],
    "write": ["WriteUser"],
    "mixed": ["MixedUser"],
    "ingest_under_load": ["IngestSearchUser", "IngestJobUser"],
}
TWINS = ("flask", "fastapi")
FLOOR_OF = {"flask": "floor-wsgi", "fastapi": "floor-asgi"}
SAME_SERVER = "granian"
# Measured on this 2-core VM: starting and stopping Locust costs ~1.5-2 s per step, plus
# the 1.5 s tail slack the orchestrator adds so the measured window is always full.
LOCUST_OVERHEAD_S = 3.5


@dataclass(frozen=True)
class Profile:
    name: str
    repeats: int
    duration_s: float
    warmup_s: float
    compare: dict[str, int]  # scenario -> users
    compare_repeats: dict[str, int] = field(default_factory=dict)  # fewer for some scenarios
    sweep: dict[str, list[int]] = field(default_factory=dict)
    open_fractions: tuple[float, ...] = ()
    singles: dict[str, int] = field(default_factory=dict)
    ingest_duration_s: float = 12.0
    extra_servers: bool = False  # the full matrix: sync, gevent, gunicorn+uvicorn, N workers
    same_server_scenarios: tuple[str, ...] = ("health", "echo", "search_text")


PROFILES: dict[str, Profile] = {
    # Budgeted for < 10 minutes on 2 cores (about 8 of load, 1 of start-up): 4 s steps
    # after 1 s of warm-up; 3 repeats of the two headline comparisons (health against the
    # floors, text search against the in-process core), one of the rest. The report says
    # that 3 < 5 repeats and what coverage the intervals then have. `write` is left to
    # `mixed` (which writes too), `search_vector` to the full profile; the smoke test runs
    # both.
    "quick": Profile(
        name="quick", repeats=3, duration_s=4, warmup_s=1,
        compare={"health": 16, "search_text": 8, "echo": 16},
        compare_repeats={"echo": 1},
        sweep={"search_text": [32]},
        open_fractions=(0.5, 1.2),
        singles={"mixed": 8, "ingest_under_load": 4},
        ingest_duration_s=10,
    ),
    "full": Profile(
        name="full", repeats=5, duration_s=10, warmup_s=2,
        compare={"health": 64, "echo": 64, "search_vector": 32, "search_text": 16},
        sweep={"health": [1, 4, 16, 256], "search_text": [1, 4, 64]},
        open_fractions=(0.5, 0.9, 1.2),
        singles={"write": 16, "mixed": 16, "ingest_under_load": 8},
        ingest_duration_s=30, extra_servers=True,
        same_server_scenarios=("health", "echo", "search_vector", "search_text"),
    ),
    # The soak's warm-up is a minute: memory is judged after the allocator and the model's
    # working buffers have reached their steady size (a 60 s soak still grew during its
    # first half), so growth after it means a leak, not start-up.
    "soak": Profile(
        name="soak", repeats=1, duration_s=600, warmup_s=60,
        compare={"mixed": 16}, singles={"ingest_under_load": 8}, ingest_duration_s=120,
        same_server_scenarios=(),
    ),
}


@dataclass(frozen=True)
class ConfigPlan:
    spec: ServerSpec | None  # None for the in-process floor
    label: str
    role: str  # "twin", "floor", "in-process"
    usual: bool  # the twin's (or floor's) usual server, 1 worker


def plan_configs(profile: Profile, apps: tuple[str, ...], server_cores: int) -> list[ConfigPlan]:
    """Every configuration the profile needs for ``apps``, floors and the in-process core."""
    plans: list[ConfigPlan] = []

    def add(app: str, server: str, role: str, usual: bool, workers: int = 1) -> None:
        spec = ServerSpec(app=app, server=server, workers=workers, threads=4)
        if all(p.label != spec.label for p in plans):
            plans.append(ConfigPlan(spec, spec.label, role, usual))

    for app in apps:
        add(app, DEFAULT_SERVER[app], "twin", True)
        if profile.same_server_scenarios:
            add(app, SAME_SERVER, "twin", False)
    if "health" in profile.compare:
        for app in apps:
            add(FLOOR_OF[app], DEFAULT_SERVER[app], "floor", True)
            if "health" in profile.same_server_scenarios:
                add(FLOOR_OF[app], SAME_SERVER, "floor", False)
    if profile.extra_servers:
        extra = {"flask": ["gunicorn-sync", "gunicorn-gevent"], "fastapi": ["gunicorn-uvicorn"]}
        for app in apps:
            for server in extra[app]:
                add(app, server, "twin", False)
            if server_cores > 1:
                add(app, DEFAULT_SERVER[app], "twin", False, workers=server_cores)
                add(app, SAME_SERVER, "twin", False, workers=server_cores)
    if "search_text" in profile.compare:
        plans.append(ConfigPlan(None, IN_PROCESS, "in-process", True))
    return plans


def _configs_for(scenario: str, profile: Profile, configs: list[ConfigPlan]) -> list[str]:
    out = []
    for plan in configs:
        if plan.role == "in-process":
            ok = scenario == "search_text"
        elif plan.role == "floor":
            ok = scenario == "health"
        else:
            ok = plan.usual or scenario in profile.same_server_scenarios
        if ok:
            out.append(plan.label)
    return out


def compare_steps(profile: Profile, configs: list[ConfigPlan], users: int | None) -> list[Step]:
    """Repeats outermost, configurations interleaved and reversed on odd repeats (ABBA...)."""
    steps = []
    for repeat in range(profile.repeats):
        for scenario, default_users in profile.compare.items():
            if repeat >= profile.compare_repeats.get(scenario, profile.repeats):
                continue
            labels = _configs_for(scenario, profile, configs)
            if repeat % 2:
                labels.reverse()
            duration = profile.ingest_duration_s if scenario == "ingest_under_load" else None
            for label in labels:
                steps.append(Step(scenario, label, users or default_users, 0.0,
                                  duration or profile.duration_s, profile.warmup_s, repeat,
                                  "compare"))
    return steps


def _usual_twins(configs: list[ConfigPlan]) -> list[str]:
    return [p.label for p in configs if p.role == "twin" and p.usual]


def sweep_steps(profile: Profile, configs: list[ConfigPlan]) -> list[Step]:
    return [
        Step(scenario, label, users, 0.0, profile.duration_s, profile.warmup_s, 0, "sweep")
        for scenario, points in profile.sweep.items()
        for users in points
        for label in _usual_twins(configs)
    ]


def open_steps(
    profile: Profile, configs: list[ConfigPlan], saturation: dict[str, tuple[float, float]]
) -> list[Step]:
    """Fixed-rate search_text runs; ``saturation[label]`` = (requests/s, p50 seconds).

    Enough users that the rate can be sent even when answers slow down: four times the
    rate x latency product, at least 8, at most 128.
    """
    steps = []
    for fraction in profile.open_fractions:
        for label in _usual_twins(configs):
            if label not in saturation:
                continue
            rps, p50_s = saturation[label]
            rate = max(round(rps * fraction, 1), 1.0)
            users = min(max(math.ceil(rate * p50_s * 4), 8), 128)
            steps.append(Step("search_text", label, users, rate, profile.duration_s,
                              profile.warmup_s, 0, "open"))
    return steps


def single_steps(profile: Profile, configs: list[ConfigPlan]) -> list[Step]:
    steps = []
    for scenario, users in profile.singles.items():
        duration = profile.ingest_duration_s if scenario == "ingest_under_load" else None
        for label in _usual_twins(configs):
            steps.append(Step(scenario, label, users, 0.0, duration or profile.duration_s,
                              profile.warmup_s, 0, "single"))
    return steps


def estimate_s(steps: list[Step]) -> float:
    return sum(s.duration_s + s.warmup_s + LOCUST_OVERHEAD_S for s in steps)
