"""``python -m workshop prepare | check [--lab N ...] | asgi-cost``.

``prepare`` (``make workshop``) readies a laptop with no network: the embedded Milvus, the
demo corpus from the embedding cache, the model warmed once, Locust's request pool; then it
stops the Milvus it started. ``check`` (``make workshop-check``) runs every lab's commands and
prints one line per lab: predicted, measured, holds. ``asgi-cost`` is lab 6's in-process timer.
"""

from __future__ import annotations

import argparse
import sys
import time

from workshop.labs import LABS, lab_by_number

__all__ = ["main"]


def prepare() -> int:
    from bench.load.pool import cached_pool
    from shared.service import SearchService
    from workshop.room import Room

    began = time.monotonic()
    with Room() as room:
        print("Milvus is up and the demo corpus is loaded", file=sys.stderr)
        service = SearchService.from_settings(room.settings)
        try:
            service.search_text(query="warm the model once", top_k=1)
        finally:
            service.close()
        print(f"request pool for Locust: {cached_pool()}", file=sys.stderr)
    print(
        f"ready in {time.monotonic() - began:.0f} s. Next: `make workshop-check`, or open "
        "docs/workshop/README.md and start with lab 1."
    )
    return 0


def check(numbers: list[int]) -> int:
    from workshop.checks import check_lab
    from workshop.room import Room

    labs = [lab_by_number(n) for n in numbers] if numbers else list(LABS)
    held = 0
    began = time.monotonic()
    with Room() as room:
        for lab in labs:
            print(f"lab {lab.number} ({lab.title}) ...", file=sys.stderr, flush=True)
            started = time.monotonic()
            outcome = check_lab(room, lab)
            held += outcome.holds
            print(
                f"lab {lab.number}: {'holds' if outcome.holds else 'DOES NOT HOLD'}"
                f" ({time.monotonic() - started:.0f} s)\n"
                f"  predicted: {lab.prediction}\n"
                f"  measured:  {outcome.measured}",
                flush=True,
            )
    print(f"{held} of {len(labs)} labs hold ({time.monotonic() - began:.0f} s)")
    return 0 if held == len(labs) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare", help="ready this machine for the workshop, offline")
    checker = sub.add_parser("check", help="run every lab and judge its prediction")
    checker.add_argument("--lab", type=int, action="append", default=[], help="only lab N")
    sub.add_parser("asgi-cost", help="lab 6: /health's cost per request, in process")
    args = parser.parse_args(argv)
    if args.command == "prepare":
        return prepare()
    if args.command == "check":
        return check(args.lab)
    from workshop.asgi_cost import main as asgi_cost

    return asgi_cost()


if __name__ == "__main__":
    raise SystemExit(main())
