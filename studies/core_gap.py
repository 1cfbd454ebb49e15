"""Where text search through a twin loses to the core called in-process: the CPU a search
costs in the core alone, in each twin's app called in-process (its framework and view, no
server), and through each twin behind its usual server, so the gap splits into the server's
part and the framework's; the same app with a fixed answer (no model, no Milvus) shows what
the framework and view cost on their own, and vector search (the same Milvus call, no
model) shows whether the gap depends on the model at all.

Run: ``python -m studies.core_gap [--seconds 10] [--users 8]`` on a quiet 2-core machine
(about four minutes; Milvus is started if none runs). Everything measured runs on core 0
with no quota; batching is off and every side has 4 threads for blocking work (the bench's
in-process floor and the twins' default). The in-process rows run in one child process:
the core from 4 threads; Flask's WSGI callable from 4 threads; FastAPI's ASGI app from
``--users`` tasks on one event loop (its threadpool holds 4). The served rows run each twin
on its usual server, driven by Locust (FastHttpUser, ``--users``) on core 1. CPU per request
is the measured process's (or process tree's) user + system CPU over the run, divided by the
requests that completed in it.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from bench.load.pool import Pool, cached_pool, load_pool
from bench.run.sampling import process_tree_cpu_s
from workshop.asgi_cost import http_scope
from workshop.lab_runs import locust_run
from workshop.labs import Command
from workshop.room import Room, lab_environment

__all__ = ["main"]

THREADS = 4  # the twins' threads for blocking work, and the bench's in-process floor's
# What each served row sends: its Locust user class and the request name it records.
USERS = {
    "text": ("SearchTextUser", "/search"),
    "vector": ("SearchVectorUser", "/search/vector"),
    "echo": ("EchoUser", "/echo"),
}
Row = tuple[str, str, dict[str, float]]


def _timed(calls: Callable[[], int]) -> dict[str, float]:
    """Runs ``calls`` (which returns how many requests it made); CPU µs per request."""
    cpu0, wall0 = time.process_time(), time.monotonic()
    done = calls()
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    return {"cpu_us": cpu / done * 1e6, "rps": done / wall, "n": done}


def _from_threads(seconds: float, one: Callable[[random.Random], None], pool: Pool) -> int:
    counts = [0] * THREADS
    stop_at = time.monotonic() + seconds

    def user(number: int) -> None:
        rng = random.Random(pool.seed + number)
        while time.monotonic() < stop_at:
            one(rng)
            counts[number] += 1

    threads = [threading.Thread(target=user, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts)


def _wsgi_call(app: Any, body: bytes) -> None:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/search",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    status: list[str] = []
    for _ in app(environ, lambda s, h, e=None: status.append(s)):
        pass
    if not status[0].startswith("200"):
        raise RuntimeError(f"the Flask app answered {status[0]}")


async def _asgi_calls(app: Any, pool: Pool, users: int, seconds: float) -> int:
    counts = [0] * users
    stop_at = time.monotonic() + seconds

    async def user(number: int) -> None:
        rng = random.Random(pool.seed + number)
        while time.monotonic() < stop_at:
            body = json.dumps({"query": rng.choice(pool.queries), "top_k": 10}).encode()
            headers = (
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            )
            scope = http_scope("POST", "/search", headers)
            sent: list[dict[str, Any]] = []

            async def receive(body: bytes = body) -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict[str, Any], sent: list[dict[str, Any]] = sent) -> None:
                sent.append(message)

            await app(scope, receive, send)
            if sent[0].get("status") != 200:
                raise RuntimeError(f"the FastAPI app answered {sent[0].get('status')}")
            counts[number] += 1

    await asyncio.gather(*(user(n) for n in range(users)))
    return sum(counts)


def in_process_rows(seconds: float, users: int) -> list[Row]:
    """The core, then each twin's app with no server, all in this (pinned) process."""
    from fastapi_app import create_app as create_fastapi
    from flask_app import create_app as create_flask
    from shared.config import get_settings
    from shared.service import SearchService

    pool = load_pool(cached_pool())
    settings = get_settings()
    service = SearchService.for_server(settings)
    service.search_text(query=pool.queries[0], top_k=10)  # the warm start a server gets
    flask = create_flask(settings, service)
    fastapi = create_fastapi(settings, service)

    def text(rng: random.Random) -> None:
        service.search_text(query=rng.choice(pool.queries), top_k=10)

    def vector(rng: random.Random) -> None:
        service.search_vector(vector=rng.choice(pool.vectors), top_k=10)

    def flask_search(rng: random.Random) -> None:
        body = json.dumps({"query": rng.choice(pool.queries), "top_k": 10}).encode()
        _wsgi_call(flask, body)

    async def fastapi_search() -> int:
        async with fastapi.router.lifespan_context(fastapi):
            return await _asgi_calls(fastapi, pool, users, seconds)

    def apps(label: str) -> list[Row]:
        return [
            (
                f"flask app{label}",
                "text",
                _timed(lambda: _from_threads(seconds, flask_search, pool)),
            ),
            (f"fastapi app{label}", "text", _timed(lambda: asyncio.run(fastapi_search()))),
        ]

    rows: list[Row] = [
        ("core", "text", _timed(lambda: _from_threads(seconds, text, pool))),
        ("core", "vector", _timed(lambda: _from_threads(seconds, vector, pool))),
        *apps(""),
    ]
    # The same apps with the core's answer fixed: the framework and view on their own.
    fixed = service.search_text(query=pool.queries[0], top_k=10)
    service.search_text = lambda **_: fixed  # type: ignore[method-assign]
    rows += apps(" (answer fixed)")
    service.close()
    return rows


def _in_child(args: argparse.Namespace) -> list[Row]:
    argv = ["taskset", "-c", "0", sys.executable, "-m", "studies.core_gap", "--in-process"]
    argv += ["--seconds", str(args.seconds), "--users", str(args.users)]
    done = subprocess.run(  # noqa: S603 - this study's own module
        argv, env=lab_environment(), capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"the in-process child failed:\n{done.stderr[-3000:]}")
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    return [(str(who), str(kind), dict(cost)) for who, kind, cost in rows]


def served_rows(room: Room, app: str, args: argparse.Namespace) -> list[Row]:
    """The twin on its usual server, pinned to core 0, driven from core 1."""
    rows: list[Row] = []
    with room.twin(app, {"TWINBENCH_TORCH_THREADS": "1"}, pinned="0") as twin:
        for kind, (user_class, name) in USERS.items():
            line = (
                "taskset -c 1 .venv/bin/locust -f bench/load/locustfile.py --headless "
                f"--only-summary -u {args.users} -r {args.users} -t {args.seconds:g}s "
                f"--host {twin.url} {user_class}"
            )
            pid = twin.child.pid
            assert pid is not None
            cpu0 = process_tree_cpu_s(pid)
            loaded = locust_run(Command(line), twin, f"core-gap-{app}-{kind}")
            cpu = process_tree_cpu_s(pid) - cpu0
            done = len(loaded.latencies.get(name, ()))
            if not done:
                raise SystemExit(f"no {name} request completed:\n{loaded.output[-1500:]}")
            cost = {"cpu_us": cpu / done * 1e6, "rps": loaded.rates[name], "n": done}
            rows.append((f"{app} served", kind, cost))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m studies.core_gap", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.in_process:
        print(json.dumps(in_process_rows(args.seconds, args.users)))
        return
    with Room() as room:
        rows = _in_child(args)
        for app in ("flask", "fastapi"):
            rows += served_rows(room, app, args)
    core = {kind: cost["cpu_us"] for who, kind, cost in rows if who == "core"}
    print(
        f"{'measured':<28} {'request':<7} {'requests':>8} {'req/s':>7} "
        f"{'CPU µs/req':>10} {'- core':>7}"
    )
    for who, kind, cost in rows:
        over = f"{cost['cpu_us'] - core.get(kind, 0.0):+.0f}"
        over = over if kind in core and who != "core" and "fixed" not in who else ""
        print(
            f"{who:<28} {kind:<7} {cost['n']:>8.0f} {cost['rps']:>7.1f} "
            f"{cost['cpu_us']:>10.0f} {over:>7}"
        )


if __name__ == "__main__":
    main()
