"""``python -m bench run``: start everything, run every step, record, stop everything.

Order of a run: CPU plan and pinning -> request pool -> Milvus -> every configuration
started (their models load while the corpus is checked) -> environment record -> every
configuration healthy -> steps (compare, sweep, open, single), each run by
``bench.run.runner`` -> results.json (with the topology and dev-cost counts, so the
report needs nothing else) -> report.
Whatever happens (error, Ctrl-C, SIGTERM), every process started here is stopped and every
CPU-quota group removed, in ``finally`` blocks.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any

from bench.load.pool import DEFAULT_POOL, describe_pool, load_pool, pool_for_run
from bench.plan import topology
from bench.plan.budget import open_count, plan_s, planned_steps
from bench.plan.profiles import PROFILES, MemorySampling, Profile, narrow
from bench.plan.steps import (
    ConfigPlan,
    batching_steps,
    compare_steps,
    open_steps,
    plan_configs,
    single_steps,
    sweep_steps,
)
from bench.plan.topology import Twin
from bench.results import BenchResults, ServerConfig, Step, write_results
from bench.run.calibration import calibration_step, ceiling, listener_cost_us
from bench.run.configs import (
    Running,
    Target,
    confine,
    external,
    model_runtimes,
    probe_twin,
    start_config,
    told_runtimes,
    wait_ready,
)
from bench.run.cpu import CpuPlan, pin_current, plan_cpus
from bench.run.devcost import RULES as DEVCOST_RULES
from bench.run.devcost import count_devcost
from bench.run.environment import collect_environment, machine_load
from bench.run.milvus import bench_milvus, server_env
from bench.run.runner import Progress, Runner
from bench.run.summarize import DISTURBED_CORES, GENERATOR_CPU_LIMIT
from shared.config import PROJECT_ROOT, Settings, served_settings
from shared.errors import BackendUnavailable
from shared.vector_store import MilvusVectorStore

__all__ = ["RunOptions", "run_bench", "describe_plan", "BusyMachine", "Interrupted"]


class BusyMachine(RuntimeError):
    """Other processes already use the CPU: a benchmark now would measure them too."""


class Interrupted(RuntimeError):
    """Ctrl-C or SIGTERM: everything started was stopped and the partial results written.

    ``signum`` is the signal that stopped the run (SIGINT for Ctrl-C).
    """

    def __init__(self, out: Path, signum: int) -> None:
        super().__init__(f"interrupted: partial results in {out}")
        self.out = out
        self.signum = signum


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the run is, so it unwinds like Ctrl-C."""


@dataclass(frozen=True)
class RunOptions:
    profile: str = "quick"
    apps: tuple[Twin, ...] = topology.TWINS
    scenarios: tuple[str, ...] | None = None
    users: int | None = None
    duration_s: float | None = None
    repeats: int | None = None
    cpu_quota: float | None | str = "auto"
    out_dir: Path | None = None
    allow_busy: bool = False
    # twin -> URL of a twin already running elsewhere: drive it, start nothing
    targets: dict[str, str] = field(default_factory=dict)
    locust_processes: int | None = None  # Locust's --processes (default: one per CPU)
    # The server memory sampled in every step: "pss", "rss" or "off"; None: the profile's.
    memory: MemorySampling | None = None
    # The named query pool text search sends (bench.load.pool.POOLS).
    pool: str = DEFAULT_POOL


def _profile(options: RunOptions) -> Profile:
    return narrow(
        PROFILES[options.profile],
        scenarios=options.scenarios,
        duration_s=options.duration_s,
        repeats=options.repeats,
    )


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated(f"signal {signum}")


@contextlib.contextmanager
def _opened_store(settings: Settings) -> Iterator[MilvusVectorStore]:
    """The bench collection, opened for tidying up after steps; closed at the end."""
    store = MilvusVectorStore(settings=settings, dimension=None, create_missing=False)
    try:
        store.connect()
        yield store
    finally:
        store.close()


def _remove_leftovers(store: MilvusVectorStore, milvus: dict[str, Any], notes: list[str]) -> None:
    """Delete what earlier runs wrote and left (ids ``bench-…``; no corpus id has a hyphen
    after "bench"): a run cut short before its tidy-up, or the upload rows of versions that
    gave them fixed ids (80 rows kept for good, so the first run searched 11,572 documents and
    every later one 11,652). Every run then searches the corpus as it was built."""
    try:
        removed = store.delete_id_prefix("bench-")
    except BackendUnavailable as exc:
        notes.append(f"documents left by earlier runs could not be removed: {exc}")
        return
    if removed:
        milvus["documents"] -= removed
        notes.append(f"removed {removed} documents left by earlier runs (ids bench-…)")


def _wait_all(running: dict[str, Running], notes: list[str]) -> None:
    """Wait for each configuration to be ready, then confine it; drop any that fail."""
    began = time.monotonic()
    for label in list(running):
        try:
            wait_ready(running[label])
            confine(running[label])
            print(
                f"  ready: {label} ({time.monotonic() - began:.1f} s after the wait began)",
                file=sys.stderr,
            )
        except RuntimeError as exc:
            notes.append(f"{label} did not start and was skipped: {str(exc)[:600]}")
            print(f"  FAILED: {label}: {str(exc)[:300]}", file=sys.stderr)
            running.pop(label).stop()


def _check_quiet(load: dict[str, Any], allow_busy: bool) -> None:
    """Refuse to begin on a busy machine (a run beside other work is off by 2-3x)."""
    cores = float(load["background_cores"])
    if cores <= DISTURBED_CORES:
        return
    who = "; ".join(load["busiest_processes"]) or "no single process stands out"
    if not allow_busy:
        raise BusyMachine(
            f"other processes use {cores:.2f} cores before the run starts (limit "
            f"{DISTURBED_CORES:.2f}): {who}. Stop them and run again, or pass --allow-busy "
            "to measure anyway (the report will say it was a busy machine)."
        )
    print(f"  WARNING: running on a busy machine ({cores:.2f} cores): {who}", file=sys.stderr)


@contextlib.contextmanager
def _local_stack(
    plans: list[ConfigPlan],
    cpus: CpuPlan,
    pool_path: Path,
    out: Path,
    notes: list[str],
    environment: dict[str, Any],
) -> Iterator[tuple[dict[str, Target], MilvusVectorStore]]:
    """Milvus and every configuration started here, pinned and capped; stopped afterwards."""
    running: dict[str, Running] = {}

    def spawn(settings: Settings) -> None:
        # As soon as Milvus answers: the models load while Milvus replays its log.
        env = server_env(settings)
        for plan in plans:
            running[plan.label] = start_config(
                plan, cpus=cpus, env=env, pool_path=pool_path, logs=out / "logs"
            )

    try:
        with contextlib.ExitStack() as stack:
            settings, milvus = stack.enter_context(
                bench_milvus(cpus.server_cpus, cpus.generator_cpus, on_started=spawn)
            )
            print(f"  milvus ready: {milvus}", file=sys.stderr)
            # What the servers read (their own environment), not this process's settings.
            environment["settings"] = served_settings(server_env(settings)).model_dump_public()
            environment["milvus"] = milvus
            _wait_all(running, notes)
            store = stack.enter_context(_opened_store(settings))
            _remove_leftovers(store, milvus, notes)
            yield dict(running), store
    finally:
        for label in list(running):
            with contextlib.suppress(Exception):
                running.pop(label).stop()


def _target_plans(targets: dict[str, str]) -> tuple[dict[str, Target], list[ConfigPlan]]:
    found: dict[str, Target] = {twin: external(twin, url) for twin, url in targets.items()}
    running = {t.config.label: t for t in found.values()}
    plans = [ConfigPlan(None, label, "twin", True) for label in running]
    return running, plans


def _fastest_floor(layout: dict[str, Any], configs: list[ConfigPlan]) -> str | None:
    """The configuration the generator is calibrated against; None when there is none."""
    raw_asgi = layout["raw_floor_of"].get("fastapi")
    return next((p.label for p in configs if p.usual and p.label.split("/")[0] == raw_asgi), None)


def _calibrate(runner: Runner, layout: dict[str, Any], configs: list[ConfigPlan]) -> dict[str, Any]:
    """One Locust process against the fastest floor: the generator's ceiling, recorded."""
    fastest = _fastest_floor(layout, configs)
    listener = round(listener_cost_us(), 2)
    if fastest is None:
        return {
            "listener_us_per_request": listener,
            "ceiling_rps": None,
            "note": "no raw floor in this run: the generator's ceiling was not measured",
        }
    run = runner.run(calibration_step(fastest))
    if run is None or not run.throughput_rps:
        return {
            "listener_us_per_request": listener,
            "ceiling_rps": None,
            "note": "the calibration run did not complete",
        }
    found = {**ceiling(run), "listener_us_per_request": listener}
    runner.generator_ceiling_rps = float(found["ceiling_rps"])
    return found


def run_bench(options: RunOptions) -> Path:
    """Run a whole benchmark; returns the results directory."""
    profile = _profile(options)
    memory = options.memory or profile.memory
    # Before anything of ours starts (Milvus, servers): what shows here is other work.
    load_before = machine_load()
    _check_quiet(load_before, options.allow_busy)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = options.out_dir or PROJECT_ROOT / "results" / stamp
    out.mkdir(parents=True, exist_ok=True)
    quota = (
        profile.cpu_quota
        if options.cpu_quota == "auto" and profile.cpu_quota
        else options.cpu_quota
    )
    cpus = plan_cpus(quota, processes=options.locust_processes)
    if options.targets:
        # Nothing is started here: the targets' servers have their own CPUs and settings.
        cpus = replace(
            cpus,
            server_quota_cores=None,
            notes=[*cpus.notes, "targets given by URL: nothing started, pinned or capped here"],
        )
    pin_current(cpus.generator_cpus)  # the orchestrator is load-generator side
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    notes = list(cpus.notes)
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    runner: Runner | None = None
    recorded: list[ServerConfig] = []
    environment: dict[str, Any] = {}
    pool_info: dict[str, Any] = {}
    layout = topology.record()
    stopped_by: int | None = None
    try:
        print(f"twinbench {profile.name}: results in {out}", file=sys.stderr)
        print(
            f"  server CPUs {cpus.server_cpus}, generator CPUs {cpus.generator_cpus}, "
            f"server quota {cpus.server_quota_cores or 'none'} core",
            file=sys.stderr,
        )
        pool_path = pool_for_run(out, name=options.pool)
        pool_info = describe_pool(load_pool(pool_path))
        environment = collect_environment(cpus, load_before)
        environment["profile"] = asdict(profile)
        environment["profile_as_defined"] = asdict(PROFILES[profile.name])
        environment["generator_cpu_limit"] = GENERATOR_CPU_LIMIT
        environment["devcost_rules"] = DEVCOST_RULES
        environment["disturbed_cores_limit"] = DISTURBED_CORES
        environment["allowed_busy"] = load_before["background_cores"] > DISTURBED_CORES
        with contextlib.ExitStack() as stack:
            store: MilvusVectorStore | None = None
            if options.targets:
                running, plans = _target_plans(options.targets)
                environment["targets"] = dict(options.targets)
                layout = topology.record_targets(list(options.targets))
            else:
                plans = plan_configs(profile, options.apps, len(cpus.server_cpus))
                running, store = stack.enter_context(
                    _local_stack(plans, cpus, pool_path, out, notes, environment)
                )
            recorded = [r.config for r in running.values()]
            environment["cpu_accounting"] = sorted(
                {
                    r.account.method if r.account else "not available (not on this machine)"
                    for r in running.values()
                }
            )
            twins = {label: r.url for label, r in running.items() if r.config.role == "twin"}
            environment["model_runtimes"] = model_runtimes(twins, told_runtimes(recorded))
            environment["probes"] = {label: probe_twin(url) for label, url in twins.items()}
            configs = [p for p in plans if p.label in running]
            steps = planned_steps(profile, configs, options.users)
            n_open = open_count(profile, configs)
            # The calibration step counts too (the progress line once read "[7/6]").
            calibration = [calibration_step(f) for f in [_fastest_floor(layout, configs)] if f]
            estimate = plan_s(profile, configs, options.users, tuple(calibration))
            runner = Runner(
                out=out,
                cpus=cpus,
                running=running,
                pool_path=pool_path,
                progress=Progress(len(calibration) + len(steps) + n_open, estimate),
                store=store,
                memory_metric=memory,
                milvus_pid=environment.get("milvus", {}).get("pid"),
            )
            environment["memory_sampling"] = memory
            environment["generator_calibration"] = _calibrate(runner, layout, configs)
            for step in compare_steps(profile, configs, options.users) + sweep_steps(
                profile, configs
            ):
                runner.run(step)
            for step in batching_steps(profile, configs):
                runner.run(step)
            for step in open_steps(profile, configs, runner.saturation()):
                runner.run(step)
            for step in single_steps(profile, configs):
                runner.run(step)
    except KeyboardInterrupt as exc:
        stopped_by = signal.SIGTERM if isinstance(exc, _Terminated) else signal.SIGINT
        notes.append("interrupted before the end: the results are partial")
        print("\ninterrupted: stopping everything", file=sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, previous)
        results = BenchResults(
            profile=profile.name,
            started_at=started_at,
            finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            environment=environment,
            configs=recorded,
            runs=runner.runs if runner else [],
            pool=pool_info,
            notes=notes,
            topology=layout,
            devcost=count_devcost(),
        )
    write_results(results, out / "results.json")
    if stopped_by is not None:
        raise Interrupted(out, stopped_by)
    return out


def _planned(options: RunOptions) -> tuple[Profile, list[ConfigPlan], list[Step], int, float]:
    """The profile, configurations, steps (open-model ones only counted: they are planned
    from the measured saturation) and the seconds of load they take."""
    profile = _profile(options)
    cpus = plan_cpus(options.cpu_quota)
    if options.targets:
        plans = _target_plans(options.targets)[1]
    else:
        plans = plan_configs(profile, options.apps, len(cpus.server_cpus))
    calibration = tuple(
        calibration_step(f) for f in [_fastest_floor(topology.record(), plans)] if f
    )
    steps = [*calibration, *planned_steps(profile, plans, options.users)]
    n_open = open_count(profile, plans)
    seconds = plan_s(profile, plans, options.users, calibration)
    return profile, plans, steps, n_open, seconds


def plan_seconds(options: RunOptions) -> float:
    """Seconds of load a run of these options takes, start-up not included."""
    return _planned(options)[4]


def describe_plan(options: RunOptions) -> str:
    """The steps a run would take (open-model steps are planned after the sweep)."""
    profile, plans, steps, n_open, seconds = _planned(options)
    lines = [
        f"profile {profile.name}: {len(plans)} configurations, {len(steps) + n_open} steps"
        f" ({n_open} open-model), about {seconds / 60:.1f} min of load plus start-up"
    ]
    lines += [f"  config {p.label} ({p.role})" for p in plans]
    lines += [
        f"  {s.group:<8} {s.scenario:<26} {s.shown:<36} "
        f"{f'{s.rate:g} req/s' if s.rate else f'{s.users} users':>12}  repeat {s.repeat + 1}"
        for s in steps
    ]
    return "\n".join(lines)
