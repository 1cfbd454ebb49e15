"""``python -m bench examples`` (``make examples``): regenerate every committed example.

One after another on a quiet machine: three quick runs of the same commit (the first is the
quick example, the other two exist to show that the verdicts hold run after run), the
batching profile, then the soak. Each run's results, reports and plots replace its folder
under docs/, and each README is composed from its own results
(bench.report.example_readme). The quick example's README carries the stability table.

It refuses to start on a busy machine (as every bench run does, again before each run) and
on a working tree whose bench, core or twins differ from the commit: an example records
the commit it ran, and must be the code of that commit. It says how long it will take
before it starts.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.analysis.claims import evaluate_claims
from bench.analysis.stability import agreement, all_agree
from bench.report import write_report
from bench.report.example_readme import example_readme, stability_blocks, write_readme
from bench.results import read_results
from bench.run.environment import changed_code, code_changed_since, machine_load
from bench.run.orchestrator import BusyMachine, RunOptions, plan_seconds, run_bench
from bench.run.summarize import DISTURBED_CORES
from shared.config import PROJECT_ROOT

__all__ = ["ExampleRun", "EXAMPLE_RUNS", "main"]

DOCS = PROJECT_ROOT / "docs"
# Start-up per run beyond its load, from the quick examples' own logs: Milvus, the servers'
# start and model load, the pool, the reports (about a minute and a half each).
STARTUP_S = 90.0


@dataclass(frozen=True)
class ExampleRun:
    profile: str
    folder: str  # relative to the project root
    title: str
    # A stability run keeps its results, raw samples and Markdown report (its HTML and plots
    # are rebuilt from them by `make bench-report`): the example beside it has both.
    kept: tuple[str, ...] = ("results.json", "samples.json.gz", "report.md", "report.html", "plots")

    @property
    def command(self) -> str:
        return f"python -m bench run --profile {self.profile}"


EXAMPLE_RUNS: tuple[ExampleRun, ...] = (
    ExampleRun("quick", "docs/report-example", "An example report (quick profile)"),
    ExampleRun(
        "quick",
        "docs/report-example/stability/run-2",
        "Stability run 2 of 3 (quick profile, the same commit as the example)",
        kept=("results.json", "samples.json.gz", "report.md"),
    ),
    ExampleRun(
        "quick",
        "docs/report-example/stability/run-3",
        "Stability run 3 of 3 (quick profile, the same commit as the example)",
        kept=("results.json", "samples.json.gz", "report.md"),
    ),
    ExampleRun("batching", "docs/batching-example", "An example report (batching profile)"),
    ExampleRun("soak", "docs/soak-example", "An example report (soak profile)"),
)
# What a results folder holds that an example may keep (the rest is logs and scratch).
KEPT = ("results.json", "samples.json.gz", "report.md", "report.html", "plots")


def estimate_s(runs: Sequence[ExampleRun]) -> float:
    return sum(plan_seconds(RunOptions(profile=r.profile)) + STARTUP_S for r in runs)


def _keep(results_dir: Path, folder: Path, kept: tuple[str, ...]) -> None:
    """Replace the example folder's results with the run's (and nothing stale stays)."""
    for name in KEPT:
        target = folder / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        source = results_dir / name
        if name not in kept:
            continue
        if source.is_dir():
            shutil.copytree(source, target)
        elif source.exists():
            shutil.copy2(source, target)


def _run_one(run: ExampleRun, scratch: Path) -> Path:
    out = scratch / Path(run.folder).name
    print(f"twinbench examples: {run.command} -> {run.folder}", file=sys.stderr, flush=True)
    run_bench(RunOptions(profile=run.profile, out_dir=out))
    write_report(out)
    folder = PROJECT_ROOT / run.folder
    folder.mkdir(parents=True, exist_ok=True)
    _keep(out, folder, run.kept)
    return folder


def _write_readmes(runs: Sequence[ExampleRun]) -> bool:
    """Every README from its results; the quick example's with the stability table.
    True when the quick runs agree on every verdict."""
    quick = [r for r in runs if r.profile == "quick"]
    claims = [evaluate_claims(read_results(PROJECT_ROOT / r.folder)) for r in quick]
    rows = agreement(claims)
    extra = stability_blocks(rows, [r.folder for r in quick], [r.command for r in quick])
    for run in runs:
        folder = PROJECT_ROOT / run.folder
        results = read_results(folder)
        text = example_readme(
            results,
            title=run.title,
            folder=run.folder,
            command=run.command,
            extra=extra if len(quick) > 1 and run is quick[0] else (),
            changed_since=code_changed_since(str(results.environment.get("git_commit", ""))),
        )
        write_readme(folder, text)
    return all_agree(rows) if len(quick) > 1 else True


def _with_results() -> tuple[ExampleRun, ...]:
    return tuple(r for r in EXAMPLE_RUNS if (PROJECT_ROOT / r.folder / "results.json").exists())


def main(*, readmes_only: bool = False, only: tuple[str, ...] = ()) -> int:
    """Run every example, or those of the profiles in ``only`` (a session too short for all
    of them runs them in parts: the others keep their results), or with ``readmes_only``
    rewrite every README from the results already there. Exit status 0 when done and the
    stability runs agree, 1 when they do not, 3 when refused (busy machine, changed code)."""
    chosen = tuple(r for r in EXAMPLE_RUNS if not only or r.profile in only)
    unknown = set(only) - {r.profile for r in EXAMPLE_RUNS}
    if unknown:
        print(
            f"twinbench examples: no example of profile {', '.join(sorted(unknown))}; the "
            f"examples' profiles are {', '.join(sorted({r.profile for r in EXAMPLE_RUNS}))}",
            file=sys.stderr,
        )
        return 2
    if readmes_only:
        agree = _write_readmes(_with_results())
        print("stability runs agree" if agree else "stability runs DIFFER", file=sys.stderr)
        return 0 if agree else 1
    changed = changed_code()
    if changed:
        print(
            "twinbench examples: not started: the bench, core or twins differ from the "
            f"commit ({', '.join(changed[:8])}); commit first, so each example records the "
            "code it ran",
            file=sys.stderr,
        )
        return 3
    load = machine_load()
    if float(load["background_cores"]) > DISTURBED_CORES:
        print(
            f"twinbench examples: not started: other processes use {load['background_cores']} "
            f"cores (limit {DISTURBED_CORES:.2f}): {'; '.join(load['busiest_processes'])}",
            file=sys.stderr,
        )
        return 3
    total = estimate_s(chosen)
    print(
        f"twinbench examples: {len(chosen)} runs, one after another, about "
        f"{total / 60:.0f} minutes (the first quick run embeds the corpus if its vectors "
        "are not cached yet, about 3 minutes more). Leave the machine alone until it ends.",
        file=sys.stderr,
        flush=True,
    )
    for run in chosen:
        print(f"  {run.profile:<9} -> {run.folder}", file=sys.stderr)
    began = time.monotonic()
    scratch = PROJECT_ROOT / "results" / f"examples-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        for run in chosen:
            _run_one(run, scratch)
    except BusyMachine as exc:
        print(f"twinbench examples: stopped: {exc}", file=sys.stderr)
        return 3
    agree = _write_readmes(_with_results())
    print(
        f"twinbench examples: done in {(time.monotonic() - began) / 60:.0f} minutes; "
        + ("the three quick runs agree on every verdict" if agree else "the quick runs DIFFER"),
        file=sys.stderr,
    )
    return 0 if agree else 1
