"""The workshop's labs as data: each lab's page, its commands and its prediction.

Every command here is a line a participant types (from the repository root, after
``make workshop``, with ``FLASK`` and ``FASTAPI`` set to the twins' URLs), and the very line
``make workshop-check`` runs; ``tests/workshop/test_workshop.py`` proves each one stands on its
page.
A command that needs a server started in a particular way says so in ``server``: the
settings (environment variables) ``make serve-flask`` / ``make serve-fastapi`` get.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Command", "Lab", "LABS", "LOCUST", "JOB_LINE", "lab_by_number", "units"]

# The threads of the newest uvicorn process (by its name: `pgrep -f` would find this very
# shell, whose command line holds the pattern).
THREADS = "grep Threads /proc/$(pgrep -n uvicorn)/status"
# Lab 1: the operations of the Flask twin's OpenAPI document, one "METHOD /path" each.
OPERATIONS = (
    "curl -s $FLASK/openapi.json | .venv/bin/python -c 'import json, sys; "
    'print(sorted(f"{m.upper()} {p}" for p, ops in json.load(sys.stdin)["paths"].items() '
    "for m in ops))'"
)
# Lab 5: submit the rows as a job and keep its id in a shell variable.
JOB_LINE = (
    "JOB=$(curl -s -X POST $FASTAPI/ingest -H 'Content-Type: application/json' "
    "-d @docs/workshop/rows.json | .venv/bin/python -c 'import json, sys; "
    'print(json.load(sys.stdin)["job_id"])\')'
)
# Lab 9: the two twins' /health, one request at a time, interleaved rounds.
HEALTH_GAP = ".venv/bin/python -m workshop health-gap $FLASK $FASTAPI"
# Lab 10: one search at a time, the client's wait beside the answer's took_ms.
SEARCH_SPLIT = ".venv/bin/python -m workshop search-split"
# Lab 10: one search's answer, took_ms included.
ONE_SEARCH = (
    "curl -s -X POST $FASTAPI/search -H 'Content-Type: application/json' "
    '-d \'{"query": "parse command line arguments", "top_k": 3}\''
)
# Lab 11: one search, headers shown, sent while the queue is full.
BUSY_SEARCH = (
    "curl -si -X POST $FASTAPI/search -H 'Content-Type: application/json' "
    '-d \'{"query": "event loop"}\''
)
# Locust as any Locust user runs it: the scenarios file, headless, a few seconds.
LOCUST = ".venv/bin/locust -f bench/load/locustfile.py --headless --only-summary"


@dataclass(frozen=True)
class Command:
    """One line to type. ``server``: the settings the twin it talks to was started with
    (``PINNED``: not a setting; the twin was started under ``taskset -c <PINNED>``)."""

    line: str
    server: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Lab:
    number: int
    slug: str  # the page: docs/workshop/<slug>.md
    title: str
    prediction: str
    commands: tuple[Command, ...] = field(default_factory=tuple)
    # Parts checked and reported one by one (``make workshop-check LAB=6c``); none: the lab.
    parts: tuple[str, ...] = ()

    @property
    def page(self) -> str:
        return f"docs/workshop/{self.slug}.md"


def _c(line: str, **server: str) -> Command:
    return Command(line, tuple(sorted(server.items())))


LABS: tuple[Lab, ...] = (
    Lab(
        1,
        "lab1-side-by-side",
        "The same endpoints, read side by side",
        "The routes files differ on most lines, yet both define handlers of the same names "
        "and both twins publish the same operations (the same paths with the same methods) "
        "in their OpenAPI documents.",
        (
            _c("diff -u flask_app/routes.py fastapi_app/routes.py"),
            _c("curl -s $FLASK/openapi.json"),
            _c("curl -s $FASTAPI/openapi.json"),
            _c(OPERATIONS),
        ),
    ),
    Lab(
        2,
        "lab2-validation",
        "Validation by hand and declared",
        "Both twins refuse the same bad search with 422 and the same body; the Flask twin's "
        "hand-written validation takes more code lines than the FastAPI twin's declared one.",
        (
            _c(
                "curl -s -w ' %{http_code}\\n' -X POST $FLASK/search "
                '-H \'Content-Type: application/json\' -d \'{"query": "", "top_k": 0}\''
            ),
            _c(
                "curl -s -w ' %{http_code}\\n' -X POST $FASTAPI/search "
                '-H \'Content-Type: application/json\' -d \'{"query": "", "top_k": 0}\''
            ),
            _c(".venv/bin/python -m bench devcost"),
        ),
    ),
    Lab(
        3,
        "lab3-interactive-docs",
        "Interactive docs, generated and hand-wired, offline",
        "Both twins serve Swagger UI at /docs and ReDoc at /redoc without loading anything "
        "from the network; the Flask twin's OpenAPI document is code of its own (lines > 0), "
        "the FastAPI twin's takes none.",
        (
            _c("curl -s $FLASK/docs"),
            _c("curl -s $FASTAPI/docs"),
            _c("curl -s $FLASK/redoc"),
            _c("curl -s $FASTAPI/redoc"),
            _c(".venv/bin/python -m bench devcost"),
        ),
    ),
    Lab(
        4,
        "lab4-floor-vs-workload",
        "The framework's floor and the real workload",
        "One user at a time, the twins' /search medians are within a fifth of each other "
        "(their ratio is not clearly outside x0.83..x1.20), whatever their /health medians do: "
        "the gap that is x2 on the floor is a small share of a real search.",
        (
            _c(f"{LOCUST} -u 1 -r 1 -t 5s --host $FLASK HealthUser"),
            _c(f"{LOCUST} -u 1 -r 1 -t 5s --host $FASTAPI HealthUser"),
            _c(f"{LOCUST} -u 1 -r 1 -t 5s --host $FLASK SearchTextUser"),
            _c(f"{LOCUST} -u 1 -r 1 -t 5s --host $FASTAPI SearchTextUser"),
        ),
    ),
    Lab(
        5,
        "lab5-async-upload",
        "The upload that answers at once",
        "While searches run, POST /ingest answers 202 in under a fifth of the time the same "
        "rows take as one blocking POST /documents/batch, the job then finishes on its own, "
        "and every search sent meanwhile succeeds.",
        (
            _c(f"{LOCUST} -u 2 -r 2 -t 20s --host $FASTAPI SearchTextUser"),
            _c(
                "curl -s -w ' %{time_total} s\\n' -X POST $FASTAPI/ingest "
                "-H 'Content-Type: application/json' -d @docs/workshop/rows.json"
            ),
            _c(JOB_LINE),
            _c("curl -s $FASTAPI/ingest/$JOB"),
            _c(
                "curl -s -w ' %{time_total} s\\n' -X POST $FASTAPI/documents/batch "
                "-H 'Content-Type: application/json' -d @docs/workshop/batch.json"
            ),
        ),
    ),
    Lab(
        6,
        "lab6-pitfalls",
        "Pitfalls, one switch at a time",
        "Each switch moves its figure the predicted way, beyond the run's own spread: (6a) a "
        "blocking call in an async handler slows /health at least threefold and asyncio's "
        "debug mode names it; (6b) plain-def handlers and a plain-def dependency cost at least "
        "20 % more per /health; (6c) anyio's default pool runs 20 or more extra threads and "
        "they complete at least 10 % more vector searches a second (capacity, as Flask's "
        "--threads would buy it); (6d) gunicorn's sync worker "
        "closes every connection; (6e) on gevent the Flask twin completes at least a fifth "
        "fewer searches a second than on gthread (nothing a search waits on yields to gevent); "
        "(6f) a generator on the server's core loses at least a quarter of the /health rate.",
        (
            _c(f"{LOCUST} -u 6 -r 6 -t 6s --host $FASTAPI SearchTextUser HealthUser"),
            _c(
                f"{LOCUST} -u 6 -r 6 -t 6s --host $FASTAPI SearchTextUser HealthUser",
                TWINBENCH_PITFALL_BLOCKING_IN_ASYNC="1",
            ),
            _c(
                "curl -s -X POST $FASTAPI/search -H 'Content-Type: application/json' "
                '-d \'{"query": "event loop"}\'',
                TWINBENCH_PITFALL_BLOCKING_IN_ASYNC="1",
                PYTHONASYNCIODEBUG="1",
            ),
            _c(".venv/bin/python -m workshop asgi-cost"),
            _c(f"{LOCUST} -u 32 -r 32 -t 10s --host $FASTAPI SearchVectorUser"),
            _c(THREADS),
            _c(
                f"{LOCUST} -u 32 -r 32 -t 10s --host $FASTAPI SearchVectorUser",
                TWINBENCH_PITFALL_DEFAULT_THREADPOOL="1",
            ),
            _c(THREADS, TWINBENCH_PITFALL_DEFAULT_THREADPOOL="1"),
            _c("curl -si $FLASK/health"),
            _c("curl -si $FLASK/health", TWINBENCH_FLASK_SERVER="gunicorn-sync"),
            _c(f"{LOCUST} -u 32 -r 32 -t 8s --host $FLASK SearchTextUser"),
            _c(
                f"{LOCUST} -u 32 -r 32 -t 8s --host $FLASK SearchTextUser",
                TWINBENCH_FLASK_SERVER="gunicorn-gevent",
            ),
            _c(f"taskset -c 1 {LOCUST} -u 8 -r 8 -t 5s --host $FASTAPI HealthUser", PINNED="0"),
            _c(f"taskset -c 0 {LOCUST} -u 8 -r 8 -t 5s --host $FASTAPI HealthUser", PINNED="0"),
        ),
        parts=("6a", "6b", "6c", "6d", "6e", "6f"),
    ),
    Lab(
        7,
        "lab7-micro-batching",
        "Micro-batching: what an event loop can hold",
        "With search batching on and 16 users, the Flask twin's largest batch is at most its "
        "4 threads, while the FastAPI twin's is larger than 4.",
        (
            _c(
                f"{LOCUST} -u 16 -r 16 -t 6s --host $FLASK SearchTextUser",
                TWINBENCH_SEARCH_BATCHING="1",
                TWINBENCH_SEARCH_BATCH_STATS_DIR=".data/workshop/batches-flask",
            ),
            _c(
                f"{LOCUST} -u 16 -r 16 -t 6s --host $FASTAPI SearchTextUser",
                TWINBENCH_SEARCH_BATCHING="1",
                TWINBENCH_SEARCH_BATCH_STATS_DIR=".data/workshop/batches-fastapi",
            ),
            _c("cat .data/workshop/batches-flask/*.json .data/workshop/batches-fastapi/*.json"),
        ),
    ),
    Lab(
        8,
        "lab8-locust-ui",
        "Locust's own UI, and its rounded percentiles",
        "The scenarios file runs as plain Locust (it builds its request pool on first use); "
        "Locust's percentiles are whole milliseconds, within a millisecond of the exact ones "
        "from the same requests, which keep a finer resolution.",
        (
            _c("make locust-ui TWIN=fastapi"),
            _c(f"{LOCUST} -u 4 -r 4 -t 5s --csv .data/workshop/locust --host $FASTAPI HealthUser"),
        ),
    ),
    Lab(
        9,
        "lab9-server-vs-framework",
        "The server or the framework?",
        "On their usual servers (gunicorn gthread, uvicorn) the Flask twin's /health takes "
        "clearly longer than the FastAPI twin's; with both twins on one server (granian) the "
        "gap shrinks to less than half of that: most of it was the server.",
        (
            _c(HEALTH_GAP),
            _c(
                HEALTH_GAP,
                TWINBENCH_FLASK_SERVER="granian",
                TWINBENCH_FASTAPI_SERVER="granian",
            ),
        ),
    ),
    Lab(
        10,
        "lab10-search-time",
        "Where a search's time goes",
        "One search at a time, the core's own time (the answer's took_ms: model and Milvus) "
        "is at least half of what the client waits, on both twins; with the torch runtime "
        "instead of the default ONNX one, took_ms grows by at least x1.2: the model is the "
        "part a setting moves, the framework is the small rest.",
        (
            _c(f"{SEARCH_SPLIT} $FLASK"),
            _c(f"{SEARCH_SPLIT} $FASTAPI"),
            _c(ONE_SEARCH),
            _c(f"{SEARCH_SPLIT} $FASTAPI", TWINBENCH_EMBED_BACKEND="torch"),
        ),
    ),
    Lab(
        11,
        "lab11-backpressure",
        "Backpressure: a queue that says no",
        "With batching on, 32 users and the default queue bound (256), no search is refused: "
        "the queue grows and searches wait. With the bound at 4, searches beyond it are "
        "refused with 503 and Retry-After, and a refusal comes back in at most half the "
        "time an answered search takes.",
        (
            _c(
                f"{LOCUST} -u 32 -r 32 -t 8s --host $FASTAPI SearchTextUser",
                TWINBENCH_SEARCH_BATCHING="1",
            ),
            _c(
                f"{LOCUST} -u 32 -r 32 -t 8s --host $FASTAPI SearchTextUser",
                TWINBENCH_SEARCH_BATCHING="1",
                TWINBENCH_SEARCH_QUEUE_BOUND="4",
            ),
            _c(BUSY_SEARCH, TWINBENCH_SEARCH_BATCHING="1", TWINBENCH_SEARCH_QUEUE_BOUND="4"),
        ),
    ),
)


def lab_by_number(number: int) -> Lab:
    for lab in LABS:
        if lab.number == number:
            return lab
    raise KeyError(f"no lab {number}; the labs are {[lab.number for lab in LABS]}")


def units(chosen: list[str]) -> list[tuple[Lab, str]]:
    """What ``make workshop-check LAB=...`` checks: each lab, or each part of a lab with
    parts (``6`` is 6a to 6f), as (lab, unit); ``6c`` is that part alone."""
    if not chosen:
        chosen = [str(lab.number) for lab in LABS]
    picked: list[tuple[Lab, str]] = []
    for name in chosen:
        number = name.rstrip("abcdefghij")
        if not number.isdigit():
            raise KeyError(f"no lab {name!r}; give a number, or a part such as 6c")
        lab = lab_by_number(int(number))
        if name != number and name not in lab.parts:
            raise KeyError(f"lab {lab.number} has no part {name!r}; its parts: {lab.parts}")
        if name == number and lab.parts:
            picked.extend((lab, part) for part in lab.parts)
        else:
            picked.append((lab, name))
    return picked
