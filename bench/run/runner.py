"""One step at a time: drive a configuration (or a group of them at once) with Locust, or
the in-process floor, then turn the step's raw samples into one :class:`RunResult` per
configuration and tidy up what the step wrote.

Around each step the runner reads the CPU every party used (the server under load, the idle
configurations, Milvus, the generator, itself), so what other processes on the machine did
meanwhile shows up as a note on the step.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import math
import os
import shutil
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.load.config import LoadConfig, locust_environment
from bench.load.samples import read_samples
from bench.plan.budget import UPLOAD_AFTER_S, UPLOAD_LEAD_S, UPLOAD_ROWS, step_s
from bench.plan.profiles import SCENARIOS, UPLOADS, MemorySampling
from bench.results import RunResult, Step, slug
from bench.run.accounting import CpuSeries, Quiet, foreign_cpu_s, measure_quiet
from bench.run.configs import Running, Target, read_batch_sizes
from bench.run.cpu import CpuPlan
from bench.run.generator import LoadRun, run_locust
from bench.run.milvus import wait_until_settled
from bench.run.procs import http_json
from bench.run.sampling import MemorySampler, process_tree_cpu_s, sample_interval_s
from bench.run.summarize import DISTURBED_CORES, summarize_run
from shared.config import PROJECT_ROOT
from shared.errors import BackendUnavailable
from shared.milvus_server import pid_alive
from shared.vector_store import MilvusVectorStore

__all__ = ["Progress", "Runner"]

TAIL_SLACK_S = 1.5
# A batching server writes its batch counters at most once a second.
BATCH_STATS_WAIT_S = 1.2
# Looks at the machine before a step (half a second each, a second apart) while it is busy.
QUIET_TRIES = 4


class Progress:
    """One line per step: which configuration, which step, elapsed and remaining."""

    def __init__(self, total_steps: int, estimate: float) -> None:
        self.began = time.monotonic()
        self.total = total_steps
        self.done = 0
        self.remaining_s = estimate

    def start(self, step: Step) -> None:
        load = f"{step.rate:g} req/s" if step.rate else f"{step.users} users"
        print(
            f"[{self.done + 1}/{self.total}] {step.scenario:<17} {step.shown:<32} "
            f"{load:<12} repeat {step.repeat + 1} ({step.group}) ...",
            end="",
            file=sys.stderr,
            flush=True,
        )

    def finish(self, step: Step, run: RunResult | None, note: str = "") -> None:
        self.done += 1
        self.remaining_s = max(self.remaining_s - step_s(step), 0)
        elapsed = time.monotonic() - self.began
        if run is not None:
            flag = "" if run.valid else "  INVALID: " + "; ".join(run.invalid_reasons)
            note = (
                f"{run.throughput_rps:8.1f} req/s  p50 {run.latency.p50:7.1f} ms  "
                f"p99 {run.latency.p99:7.1f} ms  fail {run.failures}{flag}"
            )
        print(
            f" {note}  [{elapsed / 60:.1f} min elapsed, ~{self.remaining_s / 60:.1f} left]",
            file=sys.stderr,
            flush=True,
        )


def _wait_for_ingest(url: str, events: list[dict[str, Any]]) -> None:
    """Let an ingest job that outlived its step finish, so it loads no later step."""
    for event in events:
        if event["event"] == "job_accepted":
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                status, body = http_json("GET", f"{url}/ingest/{event['job_id']}", timeout=10)
                if status != 200 or (body or {}).get("status") not in ("queued", "running"):
                    break
                time.sleep(0.5)


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


# How long an upload step waits for Milvus to quiet down before it starts anyway (the wait
# and Milvus's last CPU figure are printed).
UPLOAD_SETTLE_LIMIT_S = 30.0


class Runner:
    """Runs steps against the started configurations and keeps their results."""

    def __init__(
        self,
        *,
        out: Path,
        cpus: CpuPlan,
        running: dict[str, Target],
        pool_path: Path,
        progress: Progress,
        store: MilvusVectorStore | None = None,
        memory_metric: MemorySampling = "pss",
        milvus_pid: int | None = None,
    ) -> None:
        self.out = out
        self.cpus = cpus
        self.running = running
        self.pool_path = pool_path
        self.progress = progress
        self.store = store  # removes what each step's users wrote (None: not ours to tidy)
        self.memory_metric = memory_metric  # "pss", "rss" or "off"
        self.milvus_pid = milvus_pid  # the Milvus this run started (None: not ours)
        self.generator_ceiling_rps = math.nan  # set by the calibration at the start
        self.runs: list[RunResult] = []
        self.counter = 0

    def _settle_before_upload(self, step: Step) -> None:
        """Before an upload step, wait (bounded) until the Milvus we started is idle again.

        An upload's searches are judged during the job against before it, so the "before"
        phase must be searches alone, not searches beside Milvus still sealing and compacting
        what the previous upload wrote on the servers' core: in the first quick runs with
        repeated uploads (2026-12-04) a "before" p95 read up to 14 times the usual one, in
        some repeats only, and the p95 growth of one twin ran 0.63 to 14.25 over three
        repeats.
        """
        pid = self.milvus_pid
        if step.scenario not in UPLOADS or not isinstance(pid, int) or not pid_alive(pid):
            return
        wait_until_settled(lambda: process_tree_cpu_s(pid), limit_s=UPLOAD_SETTLE_LIMIT_S)

    def run(self, step: Step) -> RunResult | None:
        """Run ``step``; a run that other processes disturbed is run again, once.

        A step with ``together`` drives all those configurations in one Locust run and keeps
        one result per configuration; the first is returned.
        """
        labels = step.together or (step.config,)
        targets = [self.running.get(label) for label in labels]
        self._settle_before_upload(step)
        self.progress.start(step)
        if any(t is None for t in targets):
            missing = [label for label, t in zip(labels, targets, strict=True) if t is None]
            self.progress.finish(step, None, f"skipped: {', '.join(missing)} did not start")
            return None
        chosen = [(label, t) for label, t in zip(labels, targets, strict=True) if t is not None]
        results = self._attempt(step, chosen)
        if any(why.startswith("disturbed") for r in results for why in r.invalid_reasons):
            first = "; ".join(sorted({w for r in results for w in r.invalid_reasons}))
            results = self._attempt(step, chosen)
            for result in results:
                result.notes.append(f"run again after a disturbed attempt ({first})")
        self.runs += results
        if len(results) == 1:
            self.progress.finish(step, results[0])
        else:
            costs = "  ".join(
                f"{r.server_cpu_us_per_request:.0f}" + ("" if r.valid else "!") for r in results
            )
            self.progress.finish(step, None, f"µs of server CPU per request: {costs}")
        return results[0]

    def _wait_for_quiet(self, targets: list[Target]) -> Quiet:
        """A short look at the machine before the step: wait (bounded) while it is busy."""
        accounts = [t.account for t in targets]
        quiet = measure_quiet(*accounts)
        for _ in range(QUIET_TRIES - 1):
            if quiet.foreign_cores <= DISTURBED_CORES:
                break
            time.sleep(1.0)
            quiet = measure_quiet(*accounts)
        return quiet

    def _attempt(self, step: Step, targets: list[tuple[str, Target]]) -> list[RunResult]:
        self.counter += 1
        what = "together" if len(targets) > 1 else slug(step.config)
        # The raw samples' folder; with several configurations, each result's id adds its own.
        run_id = f"{self.counter:03d}-{slug(step.scenario)}-{what}-r{step.repeat}"
        # Document ids must stay within 64 characters: the scenarios get a short tag.
        short_id = f"s{self.counter:03d}"
        samples_dir = self.out / "raw" / run_id
        quiet = self._wait_for_quiet([t for _, t in targets])
        measured = {label for label, _ in targets}
        others = [r for label, r in self.running.items() if label not in measured]
        accounts = [r.account for r in others if r.account is not None]
        idle_before = sum(a.read_s() for a in accounts)
        # Locust's clock starts before its first request (about a second on a busy 2-core
        # machine): the slack keeps the measured window full.
        run_time = step.warmup_s + step.duration_s + TAIL_SLACK_S
        foreign_before, wall_before = foreign_cpu_s(), time.monotonic()
        batches_before = [read_batch_sizes(t.config) for _, t in targets]
        notes: list[str] = []
        generator_cpu = math.nan
        # A target that is not on this machine has neither memory nor CPU to sample. The
        # metric is the run's, passed on here (left out, every run sampled PSS whatever the
        # profile or --memory said).
        memories = [
            MemorySampler(t.pid, sample_interval_s(step.duration_s), metric=self.memory_metric)
            if t.pid and self.memory_metric != "off"
            else None
            for _, t in targets
        ]
        server_cpus = [CpuSeries(t.account) if t.account is not None else None for _, t in targets]
        first = targets[0][1]
        with contextlib.ExitStack() as sampling:
            for sampler in (*memories, *server_cpus):
                if sampler is not None:
                    sampling.enter_context(sampler)
            if isinstance(first, Running) and first.in_process:
                # Threads equal to the twins' threads for blocking work: a like-for-like floor.
                first.run_in_process(first.config.threads, run_time, samples_dir)
            else:
                load = self._locust(step, [t for _, t in targets], run_time, samples_dir, short_id)
                if load.returncode not in (0, None):
                    notes.append(f"locust exited with {load.returncode}: {load.log_tail[-300:]}")
        every_sample = read_samples(samples_dir)
        if not first.in_process and len(every_sample):
            begin = float(every_sample.start[0]) + step.warmup_s
            generator_cpu = load.sampler.busiest_share(begin, begin + step.duration_s)
        events = _read_events(samples_dir)
        if step.scenario in UPLOADS:
            _wait_for_ingest(first.url, events)
        idle = sum(a.read_s() for a in accounts) - idle_before
        # Every process outside our tree, by its own CPU times (bench/run/accounting.py).
        foreign = foreign_cpu_s() - foreign_before
        foreign_cores = max(foreign, 0.0) / max(time.monotonic() - wall_before, 1e-3)
        together = len(targets) > 1
        if together:
            notes.append(
                f"measured at the same time as {len(targets) - 1} other configurations, "
                f"each at {step.rate:g} req/s: " + ", ".join(label for label, _ in targets)
            )
        results = []
        for index, (label, target) in enumerate(targets):
            server_cpu = server_cpus[index]
            result = summarize_run(
                replace(step, config=label),
                every_sample.of_target(index) if together else every_sample,
                run_id=f"{run_id}-{slug(label)}" if together else run_id,
                generator_cpu=generator_cpu,
                server_cpu_between=server_cpu.between if server_cpu else lambda a, b: math.nan,
                server_idle_cores=quiet.idle_cores[index],
                foreign_cores=foreign_cores,
                idle_servers_cpu_s=idle,
                events=events,
                notes=list(notes),
                generator_ceiling_rps=self.generator_ceiling_rps,
            )
            if quiet.foreign_cores > DISTURBED_CORES:
                result.notes.append(
                    f"the machine was still busy before the step ({quiet.foreign_cores:.2f} cores)"
                )
            result.batch_sizes = self._batches_since(target, batches_before[index])
            memory = memories[index]
            # Times relative to the measured window; with no request to place it, the window
            # is taken to start one warm-up after the sampler did.
            if memory is not None:
                begin = result.started_at or (
                    memory.samples[0][0] + step.warmup_s if memory.samples else 0.0
                )
                result.memory = memory.series(begin)
            results.append(result)
        self._remove_written(short_id, results[0])
        _compress(samples_dir)
        return results

    def _batches_since(self, target: Target, before: dict[int, int]) -> dict[int, int]:
        """The batches a batching server formed during the step (its counters are written
        about once a second: wait for the write that follows the step)."""
        if not before and not read_batch_sizes(target.config):
            return {}
        time.sleep(BATCH_STATS_WAIT_S)
        after = read_batch_sizes(target.config)
        return {
            size: n - before.get(size, 0) for size, n in after.items() if n > before.get(size, 0)
        }

    def _locust(
        self,
        step: Step,
        targets: list[Target],
        run_time: float,
        samples_dir: Path,
        short_id: str,
    ) -> LoadRun:
        users = step.users * len(targets)
        # Several targets: one Locust process. Locust hands equal-weight classes to its
        # worker processes in turn, so with P processes each target's users would sit on
        # one process that paces them at rate / P (Locust 2.47's dispatch, read in its source).
        together = len(targets) > 1
        processes = self.cpus.generator_processes if users >= 4 and not together else 1
        classes = SCENARIOS[step.scenario]
        host: str | None = targets[0].url
        if together:
            # One copy of the scenario's classes per target, each with its own host (no
            # --host, which would override them all), each paced at the full rate.
            classes = [f"{cls}{i}" for i in range(len(targets)) for cls in classes]
            host = None
        config = LoadConfig(
            pool=self.pool_path,
            samples_dir=samples_dir,
            # Each Locust process paces its own users: it gets its share of the rate.
            rate=step.rate / processes,
            run_id=short_id,
            # What a user needs to size its own work: its share of the rate, the run's length.
            user_rate=step.rate / max(step.users, 1),
            run_s=run_time,
            ingest_docs=step.upload_rows or UPLOAD_ROWS,
            ingest_before_s=step.warmup_s + (step.upload_lead_s or UPLOAD_LEAD_S),
            ingest_after_s=UPLOAD_AFTER_S,
            targets=tuple(t.url for t in targets) if together else (),
        )
        # Written beside the step's raw samples: the record of what Locust was told.
        env = {
            **os.environ,
            **locust_environment(config.write(samples_dir)),
            "PYTHONPATH": str(PROJECT_ROOT),
        }
        return run_locust(
            host=host,
            user_classes=classes,
            users=users,
            run_time_s=run_time,
            env=env,
            samples_dir=samples_dir,
            log_path=self.out / "logs" / "locust.log",
            cpus=self.cpus.generator_cpus,
            processes=processes,
        )

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
