"""``python -m workshop prepare | check [--lab N|Np] | asgi-cost | health-gap | search-split``.

``prepare`` (``make workshop``) readies a laptop with no network: the embedded Milvus, the
demo corpus from the embedding cache, the model warmed once, Locust's request pool; then it
stops the Milvus it started. ``check`` (``make workshop-check``) runs every lab's commands and
prints one line per lab (per part, for lab 6): predicted, measured, holds. ``asgi-cost`` is lab
6b's in-process timer, ``health-gap`` lab 9's stopwatch, ``search-split`` lab 10's.
"""

from __future__ import annotations

import argparse
import sys
import time

from workshop.labs import units

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


def check(chosen: list[str]) -> int:
    from workshop.checks import check_unit
    from workshop.room import Room

    try:
        picked = units(chosen)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    held = 0
    began = time.monotonic()
    with Room() as room:
        for lab, unit in picked:
            print(f"lab {unit} ({lab.title}) ...", file=sys.stderr, flush=True)
            started = time.monotonic()
            outcome = check_unit(room, lab, unit)
            held += outcome.holds
            print(
                f"lab {unit}: {'holds' if outcome.holds else 'DOES NOT HOLD'}"
                f" ({time.monotonic() - started:.0f} s)\n"
                f"  predicted: {lab.prediction}\n"
                f"  measured:  {outcome.measured}",
                flush=True,
            )
    print(f"{held} of {len(picked)} checks hold ({time.monotonic() - began:.0f} s)")
    return 0 if held == len(picked) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare", help="ready this machine for the workshop, offline")
    checker = sub.add_parser("check", help="run every lab and judge its prediction")
    checker.add_argument(
        "--lab", action="append", default=[], help="only lab N, or one part of it (6c)"
    )
    sub.add_parser("asgi-cost", help="lab 6b: /health's cost per request, in process")
    gap = sub.add_parser("health-gap", help="lab 9: the twins' /health, one at a time")
    gap.add_argument("urls", nargs=2, metavar="URL", help="the Flask twin's, then FastAPI's")
    split = sub.add_parser("search-split", help="lab 10: a search's time, core and the rest")
    split.add_argument("url", help="a twin's URL")
    args = parser.parse_args(argv)
    if args.command == "prepare":
        return prepare()
    if args.command == "check":
        return check(args.lab)
    if args.command == "health-gap":
        from workshop.health_gap import main as health_gap

        return health_gap(args.urls)
    if args.command == "search-split":
        from workshop.search_split import main as search_split

        return search_split(args.url)
    from workshop.asgi_cost import main as asgi_cost

    return asgi_cost()


if __name__ == "__main__":
    raise SystemExit(main())
