"""The step planner: from a profile to the configurations to start and the steps to run.

Repeats of compared steps are interleaved between configurations and reversed on every
other repeat (ABBA...), so slow drift of the machine falls on both sides of a comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from bench.plan.profiles import UPLOADS, Profile
from bench.plan.topology import (
    BATCHED,
    BATCHING_ON,
    FRAMEWORK_FLOOR_OF,
    IN_PROCESS,
    RAW_FLOOR_OF,
    SHARED_SERVER,
    Role,
    Server,
    Twin,
    on_runtime,
    runtime_of,
    spec_for,
    usual_server,
)
from bench.results import Step
from shared.servers import ServerSpec

__all__ = [
    "ConfigPlan",
    "plan_configs",
    "compare_steps",
    "sweep_steps",
    "open_steps",
    "single_steps",
    "batching_steps",
    "batching_labels",
    "LOCUST_OVERHEAD_S",
]

# Measured on this 2-core VM: starting and stopping Locust costs ~1.5-2 s per step, plus
# the 1.5 s tail slack the orchestrator adds so the measured window is always full.
LOCUST_OVERHEAD_S = 3.5


@dataclass(frozen=True)
class ConfigPlan:
    spec: ServerSpec | None  # None for the in-process floor
    label: str
    role: Role
    usual: bool  # the twin's (or floor's) usual server, 1 worker
    batching: bool = False  # only in the batching comparison (another thread count or batched)


def plan_configs(profile: Profile, apps: tuple[Twin, ...], server_cores: int) -> list[ConfigPlan]:
    """Every configuration the profile needs for ``apps``, floors and the in-process core."""
    plans: list[ConfigPlan] = []

    def add(spec: ServerSpec, role: Role, usual: bool, batching: bool = False) -> None:
        if all(p.label != spec.label for p in plans):
            plans.append(ConfigPlan(spec, spec.label, role, usual, batching))

    for app in apps:
        add(spec_for(app, usual_server(app)), "twin", True)
        if profile.same_server_scenarios:
            add(spec_for(app, SHARED_SERVER), "twin", False)
    if "health" in profile.compare:
        for app in apps:
            for floor in (FRAMEWORK_FLOOR_OF[app], RAW_FLOOR_OF[app]):
                add(spec_for(floor, usual_server(floor)), "floor", True)
                if "health" in profile.same_server_scenarios:
                    add(spec_for(floor, SHARED_SERVER), "floor", False)
    if profile.extra_servers:
        extra: dict[Twin, tuple[Server, ...]] = {
            "flask": ("gunicorn-sync", "gunicorn-gevent"),
            "fastapi": ("gunicorn-uvicorn",),
        }
        for app in apps:
            for server in extra[app]:
                add(spec_for(app, server), "twin", False)
            if server_cores > 1:
                add(spec_for(app, usual_server(app), workers=server_cores), "twin", False)
                add(spec_for(app, SHARED_SERVER, workers=server_cores), "twin", False)
    if profile.batching_users:
        for app in apps:
            threads = profile.batching_flask_threads if app == "flask" else (4,)
            for count in threads:
                server = usual_server(app)
                naive = spec_for(app, server, threads=count)
                batched = spec_for(app, server, threads=count, variant=BATCHED, app_env=BATCHING_ON)
                add(naive, "twin", False, batching=True)
                add(batched, "twin", False, batching=True)
                # The runtime comparison: the twin's usual configuration on other runtimes.
                if naive.label == spec_for(app, server).label:
                    for runtime in profile.runtimes:
                        add(on_runtime(naive, runtime), "twin", False, batching=True)
                        add(on_runtime(batched, runtime), "twin", False, batching=True)
    if "search_text" in profile.compare:
        plans.append(ConfigPlan(None, IN_PROCESS, "in-process", True))
    return plans


def batching_labels(configs: list[ConfigPlan]) -> list[str]:
    """The usual twins and the batching comparison's configurations, each twin's partners
    around it: its naive runs on other runtimes, then the naive and the batched run on the
    default runtime, then its batched runs on other runtimes. Every pair the report reads
    (batched beside naive, another runtime beside the default) then runs back to back."""
    plans = [p for p in configs if p.role == "twin" and (p.usual or p.batching)]
    labels: list[str] = []
    for plan in plans:
        if plan.spec is None or plan.spec.variant:
            continue
        partners = [p for p in plans if p.spec and _unbatched(p.spec) == plan.spec]
        other = [p for p in partners if p.spec and runtime_of(p.spec)]
        labels += [p.label for p in other if p.spec and not _batched(p.spec)]
        labels.append(plan.label)
        labels += [p.label for p in partners if p not in other]
        labels += [p.label for p in other if p.spec and _batched(p.spec)]
    # A batched configuration without an unbatched partner still runs, last.
    return labels + [p.label for p in plans if p.label not in labels]


def _unbatched(spec: ServerSpec) -> ServerSpec | None:
    """The same configuration without its settings variant; None for one without any."""
    return replace(spec, variant="", app_env=()) if spec.variant else None


def _batched(spec: ServerSpec) -> bool:
    return all(setting in spec.app_env for setting in BATCHING_ON)


def _told_runtime(plan: ConfigPlan | None) -> bool:
    """Whether a configuration was told another model runtime (the runtime comparison)."""
    return plan is not None and plan.spec is not None and runtime_of(plan.spec) is not None


def _runs_at(plan: ConfigPlan | None, users: int, profile: Profile) -> bool:
    """Whether a batching configuration runs at ``users``: a configuration on another
    runtime only at the runtime comparison's loads, every other at every load."""
    if plan is None or plan.spec is None or not _told_runtime(plan):
        return True
    kind = "batched" if _batched(plan.spec) else "naive"
    return users in profile.runtime_users.get(kind, ())


# Where a configuration sits in its block: Flask's floors, the Flask twin, the FastAPI twin,
# FastAPI's floors. Twins in the middle keep each twin beside its bare framework and the
# two twins beside each other.
_PLACE: dict[str, int] = {
    RAW_FLOOR_OF["flask"]: 0,
    FRAMEWORK_FLOOR_OF["flask"]: 1,
    "flask": 2,
    "fastapi": 3,
    FRAMEWORK_FLOOR_OF["fastapi"]: 4,
    RAW_FLOOR_OF["fastapi"]: 5,
}


def _block(label: str, plans: dict[str, ConfigPlan]) -> tuple[int, int]:
    """(block, place): block 0 the usual servers, 1 the shared server (one worker each),
    2 anything else."""
    plan = plans.get(label)
    # A twin given by URL (--target) has no spec: its app is its label's first part.
    app = plan.spec.app if plan and plan.spec else label.split("/")[0]
    if plan is None or app not in _PLACE or (plan.spec is not None and plan.spec.workers != 1):
        return (2, 0)
    shared = plan.spec is not None and plan.spec.server == SHARED_SERVER
    block = 0 if plan.usual else 1 if shared else 2
    return (block, _PLACE[app])


def _by_server(labels: list[str], configs: list[ConfigPlan]) -> list[str]:
    """Labels in two blocks, the usual servers' then the shared server's, each ordered
    raw-wsgi, bare-flask, flask, fastapi, bare-fastapi, raw-asgi; anything else after.

    Each twin then runs right beside its bare framework (the targeted ratio) and the two
    twins beside each other (the FastAPI/Flask gap on either server), where the
    configuration order put them four to six steps apart. The price: a twin's usual and
    shared server (its server effect) are six steps apart instead of one. A scenario the
    profile runs together (``_together``) takes each block as one step instead.
    """
    plans = {p.label: p for p in configs}
    return sorted(labels, key=lambda label: _block(label, plans))  # stable


def _together(labels: list[str], configs: list[ConfigPlan]) -> list[tuple[str, ...]]:
    """The usual servers' block and the shared server's, each one group measured at once;
    anything else (the full profile's other servers) one at a time."""
    plans = {p.label: p for p in configs}
    groups: list[tuple[str, ...]] = []
    for block in (0, 1):
        group = tuple(label for label in labels if _block(label, plans)[0] == block)
        if group:
            groups.append(group)
    return groups + [(label,) for label in labels if _block(label, plans)[0] == 2]


# The searchers beside an upload in the batching comparison (they share the fixed rate).
BATCHING_UPLOAD_USERS = 4


def batching_steps(profile: Profile, configs: list[ConfigPlan]) -> list[Step]:
    """Text search off and on, per concurrency; repeats outermost, order reversed on odd;
    configurations on other runtimes only at the runtime comparison's loads; then each
    upload of ``batching_uploads`` once per default-runtime configuration, in that order."""
    steps = []
    labels = batching_labels(configs)
    plans = {p.label: p for p in configs}
    for repeat in range(profile.repeats if profile.batching_users else 0):
        for users in profile.batching_users:
            for label in reversed(labels) if repeat % 2 else labels:
                if not _runs_at(plans.get(label), users, profile):
                    continue
                steps.append(
                    Step(
                        "search_text",
                        label,
                        users,
                        0.0,
                        profile.batching_durations.get(users, profile.duration_s),
                        profile.batching_warmups.get(users, profile.warmup_s),
                        repeat,
                        "batching",
                    )
                )
    # Uploads on the default runtime only: the runtime comparison is of searches alone.
    default = [label for label in labels if not _told_runtime(plans.get(label))]
    for scenario in profile.batching_uploads:
        for label in default:
            steps.append(
                Step(
                    scenario,
                    label,
                    BATCHING_UPLOAD_USERS,
                    profile.ingest_rate,
                    profile.ingest_duration_s,
                    profile.warmup_s,
                    0,
                    "batching-upload",
                    upload_rows=profile.ingest_rows,
                    upload_lead_s=profile.ingest_lead_s,
                )
            )
    return steps


def _configs_for(scenario: str, profile: Profile, configs: list[ConfigPlan]) -> list[str]:
    out = []
    for plan in configs:
        if plan.role == "in-process":
            ok = scenario == "search_text"
        elif plan.role == "floor":
            ok = scenario == "health"
        elif plan.batching:
            ok = False
        else:
            ok = plan.usual or scenario in profile.same_server_scenarios
        if ok:
            out.append(plan.label)
    return out


def compare_steps(profile: Profile, configs: list[ConfigPlan], users: int | None) -> list[Step]:
    """Repeats outermost, configurations interleaved and reversed on odd repeats (ABBA...);
    a scenario in ``profile.together`` runs each server block's configurations at once."""
    steps = []
    for repeat in range(profile.repeats):
        for scenario, default_users in profile.compare.items():
            if repeat >= profile.compare_repeats.get(scenario, profile.repeats):
                continue
            labels = _by_server(_configs_for(scenario, profile, configs), configs)
            groups = (
                _together(labels, configs)
                if scenario in profile.together
                else [(label,) for label in labels]
            )
            if repeat % 2:
                groups.reverse()
            duration = profile.step_durations.get(scenario, profile.duration_s)
            rate = profile.compare_rates.get(scenario, 0.0)
            # A fixed-rate step needs no warm-up beyond what the servers had before it.
            warmup = min(profile.warmup_s, 0.5) if rate else profile.warmup_s
            for group in groups:
                steps.append(
                    Step(
                        scenario,
                        group[0],
                        users or default_users,
                        rate,
                        duration,
                        warmup,
                        repeat,
                        "compare",
                        group if len(group) > 1 else (),
                    )
                )
    return steps


def _usual_twins(configs: list[ConfigPlan]) -> list[str]:
    return [p.label for p in configs if p.role == "twin" and p.usual]


def sweep_steps(profile: Profile, configs: list[ConfigPlan]) -> list[Step]:
    """Each sweep point once per twin on its usual server: the curves' points. A point the
    compared steps already run (the same scenario and users on the usual servers) is left
    out of the sweep: the curve takes it from those runs."""
    return [
        Step(
            scenario,
            label,
            users,
            0.0,
            profile.duration_s,
            profile.sweep_warmups.get(users, profile.warmup_s),
            0,
            "sweep",
        )
        for scenario, points in profile.sweep.items()
        for users in points
        if profile.compare.get(scenario) != users or scenario in profile.compare_rates
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
            steps.append(
                Step(
                    "search_text",
                    label,
                    users,
                    rate,
                    profile.duration_s,
                    profile.warmup_s,
                    0,
                    "open",
                )
            )
    return steps


def single_steps(profile: Profile, configs: list[ConfigPlan]) -> list[Step]:
    """Each single scenario once per twin on its usual server; the ingest job beside
    searches ``profile.ingest_repeats`` times, the twins' order reversed on odd repeats."""
    steps = []
    for scenario, users in profile.singles.items():
        upload = scenario in UPLOADS
        duration = (
            profile.ingest_duration_s
            if upload
            else profile.step_durations.get(scenario, profile.duration_s)
        )
        rate = profile.ingest_rate if upload else profile.single_rates.get(scenario, 0.0)
        warmup = profile.step_warmups.get(scenario, profile.warmup_s)
        repeats = profile.ingest_repeats if scenario == "ingest_under_load" else 1
        labels = _usual_twins(configs)
        for repeat in range(repeats):
            for label in reversed(labels) if repeat % 2 else labels:
                step = Step(scenario, label, users, rate, duration, warmup, repeat, "single")
                if upload:
                    step = replace(
                        step,
                        upload_rows=profile.ingest_rows,
                        upload_lead_s=profile.ingest_lead_s,
                    )
                steps.append(step)
    return steps
