"""The bench's command line: ``python -m bench run|report|plan|devcost|examples``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.load.pool import DEFAULT_POOL, POOLS
from bench.plan.profiles import PROFILES, SCENARIOS

__all__ = ["main"]


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _quota(value: str) -> float | None | str:
    if value == "auto":
        return "auto"
    return float(value) if float(value) > 0 else None


def _targets(values: list[str]) -> dict[str, str]:
    targets = {}
    for value in values:
        twin, sep, url = value.partition("=")
        if not sep or twin not in ("flask", "fastapi") or not url:
            raise SystemExit(f"--target wants TWIN=URL with TWIN flask or fastapi (got {value!r})")
        targets[twin] = url
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the benchmark, write results/<timestamp>/ and report")
    plan = sub.add_parser("plan", help="print the steps a profile would run, and the time")
    for p in (run, plan):
        p.add_argument("--profile", choices=sorted(PROFILES), default="quick")
        p.add_argument(
            "--apps",
            type=_csv,
            default=("flask", "fastapi"),
            help="comma-separated twins: flask,fastapi",
        )
        p.add_argument(
            "--scenarios",
            type=_csv,
            default=None,
            help=f"comma-separated: {','.join(SCENARIOS)}",
        )
        p.add_argument(
            "--users",
            type=int,
            default=None,
            help="concurrency of the compared steps (default: the profile's)",
        )
        p.add_argument("--duration", type=float, default=None, help="seconds measured per step")
        p.add_argument("--repeats", type=int, default=None)
        p.add_argument(
            "--target",
            action="append",
            default=[],
            metavar="TWIN=URL",
            help="drive a twin already running at URL (e.g. flask=http://127.0.0.1:8001); "
            "repeat for both twins; nothing is started, pinned or capped here",
        )
    run.add_argument(
        "--cpu-quota",
        type=_quota,
        default="auto",
        help="CPU cores each server may use (cgroup quota); 0: none; auto: 0.5 "
        "when the load generator has a single CPU",
    )
    run.add_argument("--out", type=Path, default=None, help="results directory")
    run.add_argument(
        "--allow-busy",
        action="store_true",
        help="run even when other processes already use the CPU (the report says so)",
    )
    run.add_argument(
        "--locust-processes",
        type=int,
        default=None,
        help="Locust worker processes per step (Locust's --processes; default: one per "
        "generator CPU)",
    )
    run.add_argument(
        "--memory",
        choices=["pss", "rss", "off"],
        default=None,
        help="the server memory sampled in every step (default: the profile's, rss except "
        "for the soak; pss: the process tree's PSS, which raises the server's CPU per "
        "request; rss: cheaper; off: none)",
    )
    run.add_argument(
        "--pool",
        choices=sorted(POOLS),
        default=DEFAULT_POOL,
        help="the queries text search sends: questions (short, as users type them; the "
        "default) or first-sentences (long corpus sentences, which pad away batching's gain)",
    )
    run.add_argument("--no-report", action="store_true")

    report = sub.add_parser("report", help="write report.md and report.html for a results dir")
    report.add_argument("directory", type=Path)

    devcost = sub.add_parser("devcost", help="count validation/serialisation/docs lines")
    devcost.add_argument("--json", action="store_true")

    examples = sub.add_parser(
        "examples",
        help="regenerate the committed examples under docs/ (three quick runs, the batching "
        "profile, the soak), one after another on a quiet machine",
    )
    examples.add_argument(
        "--readmes-only",
        action="store_true",
        help="only rewrite each example's README from the results already in its folder",
    )
    examples.add_argument(
        "--only",
        type=_csv,
        default=(),
        metavar="PROFILES",
        help="comma-separated profiles: run only their examples (quick,batching,soak)",
    )

    args = parser.parse_args(argv)
    if args.command in ("run", "plan"):
        from bench.run.orchestrator import RunOptions

        options = RunOptions(
            profile=args.profile,
            apps=args.apps,
            scenarios=args.scenarios,
            users=args.users,
            duration_s=args.duration,
            repeats=args.repeats,
            cpu_quota=getattr(args, "cpu_quota", "auto"),
            allow_busy=getattr(args, "allow_busy", False),
            targets=_targets(args.target),
            locust_processes=getattr(args, "locust_processes", None),
            memory=getattr(args, "memory", None),
            out_dir=getattr(args, "out", None),
            pool=getattr(args, "pool", DEFAULT_POOL),
        )
        if args.command == "plan":
            from bench.run.orchestrator import describe_plan

            print(describe_plan(options))
            return 0
        from bench.run.orchestrator import BusyMachine, Interrupted, run_bench

        status = 0
        try:
            out = run_bench(options)
        except BusyMachine as exc:
            print(f"twinbench: not started: {exc}", file=sys.stderr)
            return 3
        except Interrupted as exc:
            # The partial results still get their report; the exit status (128 + the
            # signal, as a shell reports it: 130 for Ctrl-C, 143 for SIGTERM) tells a
            # script or CI job that they are partial.
            print(f"twinbench: {exc}", file=sys.stderr)
            out, status = exc.out, 128 + exc.signum
        if not args.no_report:
            from bench.report import write_report

            paths = write_report(out)
            print(paths.headline_text)
            print(f"report: {paths.markdown}\n        {paths.html}")
        return status
    if args.command == "report":
        from bench.report import write_report

        paths = write_report(args.directory)
        print(paths.headline_text)
        print(f"report: {paths.markdown}\n        {paths.html}")
        return 0
    if args.command == "examples":
        from bench.examples import main as examples_main

        return examples_main(readmes_only=args.readmes_only, only=args.only)
    from bench.run.devcost import count_devcost, format_devcost

    result = count_devcost()
    print(format_devcost(result, as_json=args.json))
    return 0


if __name__ == "__main__":
    sys.exit(main())
