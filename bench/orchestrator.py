"""``python -m bench run``: start everything, run every step, record, stop everything.

Order of a run: CPU plan and pinning -> request pool -> Milvus -> every configuration
started (their models load while the corpus is checked) -> environment record -> every
configuration healthy -> steps (compare, sweep, open, single),
each a Locust run (or an in-process measurement) summarised from its raw samples, with
the configuration's memory sampled throughout (``bench.memory``) -> results.json -> report.
Whatever happens (error, Ctrl-C, SIGTERM), every process started here is stopped and every
CPU-quota group removed, in ``finally`` blocks.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import math
import os
import re
import shutil
import signal
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

import psutil

from bench.backend import BENCH_DATA, bench_milvus, server_env
from bench.cpu import CpuPlan, pin_current, plan_cpus
from bench.envinfo import collect_environment, machine_load
from bench.loadgen import run_locust
from bench.measure import summarize_run
from bench.memory import MemorySampler, sample_interval_s
from bench.pools import build_pool, load_pool, save_pool
from bench.procs import http_json
from bench.profiles import (
    LOCUST_OVERHEAD_S,
    PROFILES,
    SCENARIOS,
    ConfigPlan,
    Profile,
    compare_steps,
    estimate_s,
    open_steps,
    plan_configs,
    single_steps,
    sweep_steps,
)
from bench.results import BenchResults, RunResult, ServerConfig, Step, write_results
from bench.samples import read_samples
from bench.servers import Running, confine, probe_twin, process_tree_cpu_s, start_config, wait_ready
from shared.config import PROJECT_ROOT, Settings, get_settings
from shared.errors import BackendUnavailable
from shared.milvus_server import free_port
from shared.vector_store import MilvusVectorStore

__all__ = ["RunOptions", "run_bench"]

POOL_SEED = 20261125
INGEST_DOCS = 200  # ~3 s of embedding at half a core: long enough to see
TAIL_SLACK_S = 1.5
FOREIGN_NOTE_CORES = 0.25


@dataclass(frozen=True)
class RunOptions:
    profile: str = "quick"
    apps: tuple[str, ...] = ("flask", "fastapi")
    scenarios: tuple[str, ...] | None = None
    users: int | None = None
    duration_s: float | None = None
    repeats: int | None = None
    cpu_quota: float | None | str = "auto"
    out_dir: Path | None = None
    report: bool = True


def _profile(options: RunOptions) -> Profile:
    profile = PROFILES[options.profile]
    if options.duration_s:
        profile = replace(profile, duration_s=options.duration_s,
                          ingest_duration_s=max(options.duration_s, profile.ingest_duration_s))
    if options.repeats:
        profile = replace(profile, repeats=options.repeats, compare_repeats={})
    if options.scenarios:
        keep = set(options.scenarios)
        unknown = keep - set(SCENARIOS)
        if unknown:
            raise ValueError(f"unknown scenarios {sorted(unknown)}; choose from {list(SCENARIOS)}")
        profile = replace(
            profile,
            compare={k: v for k, v in profile.compare.items() if k in keep},
            sweep={k: v for k, v in profile.sweep.items() if k in keep},
            singles={k: v for k, v in profile.singles.items() if k in keep},
            open_fractions=profile.open_fractions if "search_text" in keep else (),
        )
    return profile


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")


class Progress:
    """One line per step: which configuration, which step, elapsed and remaining."""

    def __init__(self, total_steps: int, estimate: float) -> None:
        self.began = time.monotonic()
        self.total = total_steps
        self.done = 0
        self.remaining_s = estimate

    def start(self, step: Step) -> None:
        load = f"{step.rate:g} req/s" if step.rate else f"{step.users} users"
        print(f"[{self.done + 1}/{self.total}] {step.scenario:<17} {step.config:<32} "
              f"{load:<12} repeat {step.repeat + 1} ({step.group}) ...", end="",
              file=sys.stderr, flush=True)

    def finish(self, step: Step, run: RunResult | None, note: str = "") -> None:
        self.done += 1
        self.remaining_s = max(self.remaining_s - (step.duration_s + step.warmup_s
                                                   + LOCUST_OVERHEAD_S), 0)
        elapsed = time.monotonic() - self.began
        if run is not None:
            flag = "" if run.valid else "  INVALID: " + "; ".join(run.invalid_reasons)
            note = (f"{run.throughput_rps:8.1f} req/s  p50 {run.latency.p50:7.1f} ms  "
                    f"p99 {run.latency.p99:7.1f} ms  fail {run.failures}{flag}")
        print(f" {note}  [{elapsed / 60:.1f} min elapsed, ~{self.remaining_s / 60:.1f} left]",
              file=sys.stderr, flush=True)


def _pool_path(results_dir: Path) -> Path:
    """The seeded pool, cached across runs (embedding it costs ~15 s), copied into the run.

    Keyed by the model too: another model's query vectors would not fit the collection.
    """
    model = _slug(get_settings().model_name)
    cached = BENCH_DATA / f"pool-{POOL_SEED}-{model}.json"
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        save_pool(build_pool(seed=POOL_SEED), cached)
    target = results_dir / "pool.json"
    shutil.copy2(cached, target)
    return target


def _wait_for_ingest(url: str, events: list[dict[str, Any]]) -> None:
    """Let an ingest job that outlived its step finish, so it loads no later step."""
    for event in events:
        if event["event"] == "ingest_accepted":
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                status, body = http_json("GET", f"{url}/ingest/{event['job_id']}", timeout=10)
                if status != 200 or (body or {}).get("status") not in ("queued", "running"):
                    break
                time.sleep(0.5)


def _busy_cpu_s() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def _read_events(directory: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for path in directory.glob("events-*.jsonl"):
        events += [json.loads(line) for line in path.read_text().splitlines() if line]
    return sorted(events, key=lambda e: float(e["t"]))


def _compress(directory: Path) -> None:
    # Raw samples stay with the results (anyone can recompute every figure), gzipped.
    for path in directory.glob("samples-*.csv"):
        with open(path, "rb") as src, gzip.open(f"{path}.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
        path.unlink()


class Runner:
    """Runs steps against the started configurations and keeps their results."""

    def __init__(self, *, out: Path, cpus: CpuPlan, running: dict[str, Running],
                 pool_path: Path, progress: Progress, milvus_pid: int | None = None,
                 store: MilvusVectorStore | None = None) -> None:
        self.out = out
        self.cpus = cpus
        self.running = running
        self.pool_path = pool_path
        self.progress = progress
        self.milvus_pid = milvus_pid
        self.store = store  # removes what each step's users wrote
        self.runs: list[RunResult] = []
        self.counter = 0

    def run(self, step: Step) -> RunResult | None:
        self.counter += 1
        target = self.running.get(step.config)
        self.progress.start(step)
        if target is None:
            self.progress.finish(step, None, "skipped: configuration did not start")
            return None
        run_id = f"{self.counter:03d}-{_slug(step.scenario)}-{_slug(step.config)}-r{step.repeat}"
        # Document ids must stay within 64 characters: the scenarios get a short tag.
        short_id = f"s{self.counter:03d}"
        samples_dir = self.out / "raw" / run_id
        others = [r for label, r in self.running.items() if label != step.config]
        idle_before = sum(process_tree_cpu_s(r.child.pid) for r in others)
        # Locust's clock starts before its first request (about a second on a busy 2-core
        # machine): the slack keeps the measured window full.
        run_time = step.warmup_s + step.duration_s + TAIL_SLACK_S
        machine_before, own_before, wall_before = _busy_cpu_s(), time.process_time(), \
            time.monotonic()
        milvus_before = process_tree_cpu_s(self.milvus_pid) if self.milvus_pid else 0.0
        generator_total = 0.0
        notes: list[str] = []
        generator_cpu = math.nan
        memory = MemorySampler(target.child.pid, sample_interval_s(step.duration_s))
        with memory:
            if target.port == 0:
                server_cpu = target.run_in_process(step.users, run_time, samples_dir)
            else:
                server_before = process_tree_cpu_s(target.child.pid)
                processes = self.cpus.generator_processes if step.users >= 4 else 1
                env = {
                    **os.environ, "TWINBENCH_BENCH_POOL": str(self.pool_path),
                    "TWINBENCH_BENCH_SAMPLES": str(samples_dir),
                    # Each Locust process paces its own users: it gets its share of the rate.
                    "TWINBENCH_BENCH_RATE": str(step.rate / processes),
                    "TWINBENCH_BENCH_RUN_ID": short_id,
                    "TWINBENCH_BENCH_INGEST_DOCS": str(INGEST_DOCS),
                    "TWINBENCH_BENCH_INGEST_AFTER_S": str(step.warmup_s + 2),
                    "PYTHONPATH": str(PROJECT_ROOT),
                }
                load = run_locust(
                    host=target.url, user_classes=SCENARIOS[step.scenario], users=step.users,
                    run_time_s=run_time, env=env, samples_dir=samples_dir,
                    log_path=self.out / "logs" / "locust.log", cpus=self.cpus.generator_cpus,
                    processes=processes,
                )
                server_cpu = process_tree_cpu_s(target.child.pid) - server_before
                if load.returncode not in (0, None):
                    notes.append(f"locust exited with {load.returncode}: {load.log_tail[-300:]}")
                sampler = load.sampler
                generator_total = sampler.total_cpu_s()
        samples = read_samples(samples_dir)
        if target.port and len(samples):
            begin = float(samples.start[0]) + step.warmup_s
            generator_cpu = sampler.busiest_share(begin, begin + step.duration_s)
        events = _read_events(samples_dir)
        if step.scenario == "ingest_under_load":
            _wait_for_ingest(target.url, events)
        idle = sum(process_tree_cpu_s(r.child.pid) for r in others) - idle_before
        # What the machine did that we did not (servers, Milvus, Locust, this process):
        # other tenants show up here.
        milvus_cpu = (process_tree_cpu_s(self.milvus_pid) - milvus_before
                      if self.milvus_pid else 0.0)
        foreign = (_busy_cpu_s() - machine_before) - (server_cpu + idle + generator_total
                                                      + milvus_cpu
                                                      + time.process_time() - own_before)
        foreign_cores = foreign / max(time.monotonic() - wall_before, 1e-3)
        if foreign_cores > FOREIGN_NOTE_CORES:
            notes.append(f"other processes used {foreign_cores:.2f} cores during this step")
        result = summarize_run(
            step, samples, run_id=run_id, generator_cpu=generator_cpu, server_cpu_s=server_cpu,
            idle_servers_cpu_s=idle, events=events, notes=notes,
        )
        # Times relative to the measured window; with no request to place it, the window is
        # taken to start one warm-up after the sampler did.
        begin = result.started_at or (memory.samples[0][0] + step.warmup_s
                                      if memory.samples else 0.0)
        result.memory = memory.series(begin)
        self._remove_written(short_id, result)
        _compress(samples_dir)
        self.runs.append(result)
        self.progress.finish(step, result)
        return result

    def _remove_written(self, short_id: str, result: RunResult) -> None:
        """Delete the documents the step's users created (ids ``bench-<short_id>-…``).

        Done here, after the step's CPU is accounted, and not by the users as they stop:
        Locust cuts a stopping user short, and a long soak wrote more than it could delete,
        so the next run would have searched a larger corpus.
        """
        if self.store is None:
            return
        try:
            self.store.delete_id_prefix(f"bench-{short_id}-")
        except BackendUnavailable as exc:
            result.notes.append(f"the documents this step wrote could not be removed: {exc}")

    def saturation(self) -> dict[str, tuple[float, float]]:
        """Per usual twin: the best median search_text throughput, and its p50 (seconds)."""
        by_key: dict[tuple[str, int], list[RunResult]] = {}
        for run in self.runs:
            if run.step.scenario == "search_text" and not run.step.rate and run.valid:
                by_key.setdefault((run.step.config, run.step.users), []).append(run)
        best: dict[str, tuple[float, float]] = {}
        for (label, _users), runs in by_key.items():
            rps = statistics.median(r.throughput_rps for r in runs)
            p50 = statistics.median(r.latency.p50 for r in runs) / 1000
            if rps > best.get(label, (0.0, 0.0))[0]:
                best[label] = (rps, p50)
        return best


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _spawn_all(plans: list[ConfigPlan], *, cpus: CpuPlan, env: dict[str, str],
               pool_path: Path, logs: Path, running: dict[str, Running]) -> None:
    """Start every configuration; they load their models side by side, not yet waited for."""
    for plan in plans:
        running[plan.label] = start_config(plan, cpus=cpus, env=env, pool_path=pool_path,
                                           logs=logs)


@contextlib.contextmanager
def _opened_store(settings: Settings) -> Iterator[MilvusVectorStore]:
    """The bench collection, opened for tidying up after steps; closed at the end."""
    store = MilvusVectorStore(settings=settings, dimension=None, create_missing=False)
    try:
        store.connect()
        yield store
    finally:
        store.close()


def _wait_all(running: dict[str, Running], notes: list[str]) -> None:
    """Wait for each configuration to be ready, then confine it; drop any that fail."""
    began = time.monotonic()
    for label in list(running):
        try:
            wait_ready(running[label])
            confine(running[label])
            print(f"  ready: {label} ({time.monotonic() - began:.1f} s after the wait began)",
                  file=sys.stderr)
        except RuntimeError as exc:
            notes.append(f"{label} did not start and was skipped: {str(exc)[:600]}")
            print(f"  FAILED: {label}: {str(exc)[:300]}", file=sys.stderr)
            running.pop(label).stop()


def run_bench(options: RunOptions) -> Path:
    """Run a whole benchmark; returns the results directory."""
    profile = _profile(options)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = options.out_dir or PROJECT_ROOT / "results" / stamp
    out.mkdir(parents=True, exist_ok=True)
    cpus = plan_cpus(options.cpu_quota)
    pin_current(cpus.generator_cpus)  # the orchestrator is load-generator side
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    running: dict[str, Running] = {}
    notes = list(cpus.notes)
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    runner: Runner | None = None
    recorded: list[ServerConfig] = []
    environment: dict[str, Any] = {}
    pool_info: dict[str, Any] = {}
    plans = plan_configs(profile, options.apps, len(cpus.server_cpus))
    try:
        print(f"twinbench {profile.name}: results in {out}", file=sys.stderr)
        print(f"  server CPUs {cpus.server_cpus}, generator CPUs {cpus.generator_cpus}, "
              f"server quota {cpus.server_quota_cores or 'none'} core", file=sys.stderr)
        load_before = machine_load()  # before Milvus and the servers add their own
        pool_path = _pool_path(out)
        pool = load_pool(pool_path)
        pool_info = {"seed": pool.seed, "source": pool.source, "queries": len(pool.queries),
                     "vector_source": pool.vector_source, "documents": len(pool.documents),
                     "file": "pool.json"}

        def spawn(settings: Settings) -> None:
            # As soon as Milvus answers: the models load while Milvus replays its log.
            _spawn_all(plans, cpus=cpus, env=server_env(settings), pool_path=pool_path,
                       logs=out / "logs", running=running)

        with contextlib.ExitStack() as stack:
            settings, milvus = stack.enter_context(bench_milvus(
                free_port(), cpus.server_cpus, cpus.generator_cpus, on_started=spawn))
            print(f"  milvus ready: {milvus}", file=sys.stderr)
            environment = collect_environment(cpus, settings.model_dump_public(), load_before)
            environment["milvus"] = milvus
            environment["profile"] = asdict(profile)
            _wait_all(running, notes)
            recorded = [r.config for r in running.values()]
            environment["probes"] = {label: probe_twin(r.url) for label, r in running.items()
                                     if r.config.role == "twin"}
            configs = [p for p in plans if p.label in running]
            steps = (compare_steps(profile, configs, options.users)
                     + sweep_steps(profile, configs) + single_steps(profile, configs))
            n_open = len(profile.open_fractions) * sum(p.role == "twin" and p.usual
                                                       for p in configs)
            estimate = estimate_s(steps) + n_open * (profile.duration_s + profile.warmup_s
                                                     + LOCUST_OVERHEAD_S)
            progress = Progress(len(steps) + n_open, estimate)
            pid = milvus.get("pid")
            store = stack.enter_context(_opened_store(settings))
            runner = Runner(out=out, cpus=cpus, running=running, pool_path=pool_path,
                            progress=progress,
                            milvus_pid=pid if isinstance(pid, int) else None, store=store)
            for step in compare_steps(profile, configs, options.users) + sweep_steps(
                profile, configs
            ):
                runner.run(step)
            for step in open_steps(profile, configs, runner.saturation()):
                runner.run(step)
            for step in single_steps(profile, configs):
                runner.run(step)
    except KeyboardInterrupt:
        notes.append("interrupted before the end: the results are partial")
        print("\ninterrupted: stopping everything", file=sys.stderr)
    finally:
        for label in list(running):
            with contextlib.suppress(Exception):
                running.pop(label).stop()
        signal.signal(signal.SIGTERM, previous)
        results = BenchResults(
            profile=profile.name, started_at=started_at,
            finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"), environment=environment,
            configs=recorded,
            runs=runner.runs if runner else [], pool=pool_info, notes=notes,
        )
    write_results(results, out / "results.json")
    return out


def describe_plan(options: RunOptions) -> str:
    """The steps a run would take (open-model steps are planned after the sweep)."""
    profile = _profile(options)
    cpus = plan_cpus(options.cpu_quota)
    plans = plan_configs(profile, options.apps, len(cpus.server_cpus))
    steps = (compare_steps(profile, plans, options.users) + sweep_steps(profile, plans)
             + single_steps(profile, plans))
    n_open = len(profile.open_fractions) * sum(p.role == "twin" and p.usual for p in plans)
    seconds = estimate_s(steps) + n_open * (profile.duration_s + profile.warmup_s
                                            + LOCUST_OVERHEAD_S)
    lines = [f"profile {profile.name}: {len(plans)} configurations, {len(steps) + n_open} steps"
             f" ({n_open} open-model), about {seconds / 60:.1f} min of load plus start-up"]
    lines += [f"  config {p.label} ({p.role})" for p in plans]
    lines += [f"  {s.group:<8} {s.scenario:<17} {s.config:<32} {s.users:>4} users  repeat "
              f"{s.repeat + 1}" for s in steps]
    return "\n".join(lines)
