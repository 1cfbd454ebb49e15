"""``make workshop-check``: each lab's commands, run as written, and its prediction judged.

Every lab check runs its lab's command lines (workshop/labs.py) with bash, against
twins started with the settings each command names, and reads the figure the prediction is
about: from the command's own output, from the exact per-request samples the scenarios file
writes, or from the twin's log. One line per lab: predicted, measured, holds or not.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.load.config import LoadConfig, locust_environment
from bench.load.samples import read_samples
from bench.stats import percentile
from shared.config import PROJECT_ROOT
from workshop.labs import Command, Lab
from workshop.room import WORK_DIR, Room, Twin, lab_environment, run_line, samples_dir

__all__ = ["Outcome", "CHECKS", "check_lab"]


@dataclass(frozen=True)
class Outcome:
    measured: str
    holds: bool


@dataclass
class Loaded:
    """What one Locust line measured: exact latencies (ms) and completions per second, by name."""

    latencies: dict[str, np.ndarray]
    rates: dict[str, float]
    failures: int
    output: str

    def p(self, name: str, q: float) -> float:
        values = self.latencies.get(name)
        if values is None or not len(values):
            raise RuntimeError(f"no {name} request completed:\n{self.output[-1500:]}")
        return percentile(np.sort(values), q)


def _server(command: Command) -> tuple[dict[str, str], str]:
    settings = dict(command.server)
    pinned = settings.pop("PINNED", "")
    return settings, pinned


def _urls(twin: Twin) -> dict[str, str]:
    return {"FLASK" if twin.app == "flask" else "FASTAPI": twin.url}


def _samples_into(folder: Path) -> dict[str, str]:
    """The environment that sends a lab's Locust samples into ``folder`` (the rest of the
    load configuration stays at its defaults, as in the participant's own run)."""
    return locust_environment(LoadConfig(samples_dir=folder).write(folder))


def _locust(command: Command, twin: Twin, label: str) -> Loaded:
    folder = samples_dir(label)
    env = lab_environment(**_samples_into(folder), **_urls(twin))
    output = run_line(command.line, env, timeout_s=120)
    samples = read_samples(folder)
    latencies: dict[str, np.ndarray] = {}
    rates: dict[str, float] = {}
    for name in sorted(set(samples.names)):
        chosen = samples.select(np.array([n == name for n in samples.names]) & samples.ok)
        latencies[name] = chosen.latency_ms
        span = float(chosen.start[-1] - chosen.start[0]) if len(chosen) > 1 else 0.0
        rates[name] = (len(chosen) - 1) / span if span > 0 else 0.0
    return Loaded(latencies, rates, int((~samples.ok).sum()), output)


def _run(command: Command, twin: Twin, **extra: str) -> str:
    return run_line(command.line, lab_environment(**_urls(twin), **extra))


def _devcost() -> dict[str, dict[str, int]]:
    """``python -m bench devcost``'s table, as the participant sees it, by app and column."""
    output = run_line(".venv/bin/python -m bench devcost", lab_environment())
    lines = [line.split() for line in output.splitlines() if line.strip()]
    header = lines[0]
    return {
        row[0]: dict(zip(header[1:], map(int, row[1:]), strict=False))
        for row in lines[1:]
        if row[0] in ("flask", "fastapi")
    }


def _operations(document: str) -> set[tuple[str, str]]:
    paths = json.loads(document)["paths"]
    return {(path, method) for path, item in paths.items() for method in item}


# --- the labs ------------------------------------------------------------------------------


def lab1(room: Room, lab: Lab) -> Outcome:
    diff, flask_doc, fastapi_doc = lab.commands
    changed = [
        line
        for line in run_line(diff.line, lab_environment()).splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    with room.twin("flask", {}) as flask, room.twin("fastapi", {}) as fastapi:
        flask_ops = _operations(_run(flask_doc, flask))
        fastapi_ops = _operations(_run(fastapi_doc, fastapi))
    same = flask_ops == fastapi_ops
    return Outcome(
        f"{len(changed)} lines differ; operations: Flask {len(flask_ops)}, FastAPI "
        f"{len(fastapi_ops)}, {'the same' if same else 'NOT the same'}",
        same and len(changed) > 0,
    )


def lab2(room: Room, lab: Lab) -> Outcome:
    flask_bad, fastapi_bad, _devcost_line = lab.commands
    with room.twin("flask", {}) as flask, room.twin("fastapi", {}) as fastapi:
        answers = [_run(flask_bad, flask).strip(), _run(fastapi_bad, fastapi).strip()]
    codes = [answer.rsplit(" ", 1)[-1] for answer in answers]
    # Parsed: Flask ends its JSON with a newline, FastAPI does not.
    bodies = [json.loads(answer.rsplit(" ", 1)[0]) for answer in answers]
    lines = _devcost()
    by_hand, declared = lines["flask"]["validation"], lines["fastapi"]["validation"]
    return Outcome(
        f"status {codes[0]} / {codes[1]}, bodies {'equal' if bodies[0] == bodies[1] else 'DIFFER'}"
        f"; validation lines Flask {by_hand}, FastAPI {declared}",
        codes == ["422", "422"] and bodies[0] == bodies[1] and by_hand > declared,
    )


def lab3(room: Room, lab: Lab) -> Outcome:
    pages = lab.commands[:4]
    offline = re.compile(r"""(src|href)=["']https?://""")
    found = []
    with room.twin("flask", {}) as flask, room.twin("fastapi", {}) as fastapi:
        for command in pages:
            twin = flask if "$FLASK" in command.line else fastapi
            html = _run(command, twin)
            marker = "swagger-ui" if command.line.endswith("/docs") else "redoc"
            found.append(marker in html.lower() and not offline.search(html))
    lines = _devcost()
    docs = lines["flask"]["docs"], lines["fastapi"]["docs"]
    return Outcome(
        f"{sum(found)} of 4 pages served offline; API-docs code lines Flask {docs[0]}, "
        f"FastAPI {docs[1]}",
        all(found) and docs[0] > 0 and docs[1] == 0,
    )


def lab4(room: Room, lab: Lab) -> Outcome:
    health_f, health_a, search_f, search_a = lab.commands
    with room.twin("flask", {}) as flask, room.twin("fastapi", {}) as fastapi:
        h_f = _locust(health_f, flask, "lab4-health-flask").p("/health", 50)
        h_a = _locust(health_a, fastapi, "lab4-health-fastapi").p("/health", 50)
        s_f = _locust(search_f, flask, "lab4-search-flask").p("/search", 50)
        s_a = _locust(search_a, fastapi, "lab4-search-fastapi").p("/search", 50)
    gap, search = abs(h_f - h_a), min(s_f, s_a)
    return Outcome(
        f"/health p50 Flask {h_f:.2f} ms, FastAPI {h_a:.2f} ms (gap {gap:.2f} ms); /search "
        f"p50 Flask {s_f:.1f} ms, FastAPI {s_a:.1f} ms: gap = {gap / search:.1%} of a search",
        gap < 0.1 * search,
    )


def _seconds(output: str) -> tuple[dict[str, object], float]:
    """An answer printed by ``curl -w ' %{time_total} s'``: its JSON body and its seconds."""
    match = re.fullmatch(r"(.*?)\s*([0-9.]+) s", output.strip(), re.S)
    if not match:
        raise RuntimeError(f"unexpected answer: {output[-500:]}")
    body = match.group(1).strip()
    return (json.loads(body) if body.startswith("{") else {}), float(match.group(2))


def lab5(room: Room, lab: Lab) -> Outcome:
    searches, ingest, status, batch = lab.commands
    with room.twin("fastapi", {}) as fastapi:
        folder = samples_dir("lab5-searches")
        env = lab_environment(**_samples_into(folder), **_urls(fastapi))
        load = subprocess.Popen(  # noqa: S603 - the lab's own line
            ["bash", "-c", searches.line],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(2.0)
            accepted, ingest_s = _seconds(_run(ingest, fastapi))
            job = str(accepted.get("job_id", ""))
            deadline, state = time.monotonic() + 90, ""
            while job and time.monotonic() < deadline:
                state = json.loads(_run(status, fastapi, JOB=job)).get("status", "")
                if state in ("done", "failed"):
                    break
                time.sleep(0.2)
        finally:
            load.wait(timeout=120)
        samples = read_samples(folder)
        _, batch_s = _seconds(_run(batch, fastapi))
    searched, failed = int(samples.ok.sum()), int((~samples.ok).sum())
    return Outcome(
        f"/ingest answered in {ingest_s * 1000:.0f} ms, job {state or 'never seen'}; the same "
        f"rows as one batch took {batch_s * 1000:.0f} ms; searches meanwhile: {searched} ok, "
        f"{failed} failed",
        ingest_s < batch_s / 5 and state == "done" and searched > 0 and failed == 0,
    )


def _threads(output: str) -> int:
    match = re.search(r"Threads:\s+(\d+)", output)
    if not match:
        raise RuntimeError(f"no thread count in: {output[-300:]}")
    return int(match.group(1))


def _tail(loaded: Loaded) -> float:
    return loaded.p("/search", 99) / loaded.p("/search", 50)


def lab6(room: Room, lab: Lab) -> Outcome:
    (
        blocking_base,
        blocking_on,
        debug_search,
        asgi_cost,
        pool_base,
        threads_base,
        pool_on,
        threads_on,
        keepalive_base,
        keepalive_sync,
        tail_base,
        tail_gevent,
        own_core,
        shared_core,
    ) = lab.commands
    parts: list[tuple[str, bool]] = []

    with room.twin("fastapi", {}) as fastapi:
        base = _locust(blocking_base, fastapi, "lab6-blocking-base").p("/health", 50)
        _locust(pool_base, fastapi, "lab6-pool-base")
        threads_as_built = _threads(_run(threads_base, fastapi))
    with room.twin("fastapi", _server(blocking_on)[0]) as blocked:
        stalled = _locust(blocking_on, blocked, "lab6-blocking-on").p("/health", 50)
    parts.append((f"/health p50 {base:.1f} -> {stalled:.1f} ms", stalled >= 3 * base))
    with room.twin("fastapi", _server(debug_search)[0]) as debugged:
        _run(debug_search, debugged)
        time.sleep(1.0)
        named = "Executing <Task" in debugged.log() and " took " in debugged.log()
    parts.append(("asyncio debug names the stall" if named else "no asyncio warning", named))

    costs = _asgi_costs(run_line(asgi_cost.line, lab_environment(), timeout_s=300))
    slower = [costs[k] / costs["as built"] for k in ("sync handlers", "sync dependency")]
    parts.append(
        (
            f"/health in-process {costs['as built']:.0f} us, plain-def handlers x{slower[0]:.2f},"
            f" plain-def dependency x{slower[1]:.2f}",
            min(slower) >= 1.2,
        )
    )

    with room.twin("fastapi", _server(pool_on)[0]) as pooled:
        _locust(pool_on, pooled, "lab6-pool-on")
        threads_default = _threads(_run(threads_on, pooled))
    parts.append(
        (
            f"worker threads {threads_as_built} -> {threads_default}",
            threads_default - threads_as_built >= 20,
        )
    )

    with room.twin("flask", {}) as flask:
        kept = "connection: close" not in _run(keepalive_base, flask).lower()
        gthread_tail = _tail(_locust(tail_base, flask, "lab6-tail-gthread"))
    with room.twin("flask", _server(keepalive_sync)[0]) as sync:
        closed = "connection: close" in _run(keepalive_sync, sync).lower()
    parts.append((f"sync worker closes: {closed}, gthread keeps alive: {kept}", closed and kept))
    with room.twin("flask", _server(tail_gevent)[0]) as gevent:
        gevent_tail = _tail(_locust(tail_gevent, gevent, "lab6-tail-gevent"))
    parts.append(
        (
            f"/search p99/p50 gthread {gthread_tail:.1f}, gevent {gevent_tail:.1f}",
            gevent_tail > gthread_tail,
        )
    )

    settings, pinned = _server(own_core)
    with room.twin("fastapi", settings, pinned=pinned) as on_core_0:
        alone = _locust(own_core, on_core_0, "lab6-core-own").rates["/health"]
        beside = _locust(shared_core, on_core_0, "lab6-core-shared").rates["/health"]
    parts.append((f"/health {alone:.0f} -> {beside:.0f} req/s", beside <= 0.75 * alone))

    return Outcome(
        "; ".join(f"{text}{'' if ok else ' (NO)'}" for text, ok in parts),
        all(ok for _, ok in parts),
    )


def _asgi_costs(output: str) -> dict[str, float]:
    costs = {
        match.group(1): float(match.group(2))
        for match in re.finditer(
            r"^(as built|sync handlers|sync dependency): +([0-9.]+) us", output, re.M
        )
    }
    if len(costs) != 3:
        raise RuntimeError(f"unexpected asgi-cost output:\n{output[-1500:]}")
    return costs


def _largest_batch(folder: Path) -> int:
    sizes = [
        int(size)
        for path in folder.glob("batches-*.json")
        for size in json.loads(path.read_text()).get("sizes", {})
    ]
    return max(sizes, default=0)


def lab7(room: Room, lab: Lab) -> Outcome:
    flask_load, fastapi_load, show = lab.commands
    largest = {}
    for app, command in (("flask", flask_load), ("fastapi", fastapi_load)):
        settings, _ = _server(command)
        folder = PROJECT_ROOT / settings["TWINBENCH_SEARCH_BATCH_STATS_DIR"]
        for stale in folder.glob("batches-*.json"):
            stale.unlink()
        with room.twin(app, settings) as twin:
            _locust(command, twin, f"lab7-{app}")
        largest[app] = _largest_batch(folder)  # written at shutdown too
    run_line(show.line, lab_environment())
    threads = room.settings.blocking_threads
    return Outcome(
        f"largest batch: Flask {largest['flask']} (threads {threads}), "
        f"FastAPI {largest['fastapi']}",
        0 < largest["flask"] <= threads < largest["fastapi"],
    )


def _locust_ui_answers(command: Command, twin: Twin) -> bool:
    from shared.launcher import OwnedProcess, wait_until_healthy

    child = OwnedProcess(
        ["bash", "-c", command.line],
        log_path=WORK_DIR / "logs" / "locust-ui.log",
        env=lab_environment(**_urls(twin)),
        cwd=PROJECT_ROOT,
    )
    try:
        wait_until_healthy("http://127.0.0.1:8089/", child, timeout_s=60, what="Locust UI")
        return True
    except RuntimeError:
        return False
    finally:
        child.stop(grace_s=5)


def _locust_csv_p50(path: Path, name: str) -> float:
    import csv

    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == name:
                return float(row["50%"])
    raise RuntimeError(f"no {name} row in {path}")


def lab8(room: Room, lab: Lab) -> Outcome:
    ui, headless = lab.commands
    with room.twin("fastapi", {}) as fastapi:
        answered = _locust_ui_answers(ui, fastapi)
        loaded = _locust(headless, fastapi, "lab8-headless")
    rounded = _locust_csv_p50(WORK_DIR / "locust_stats.csv", "/health")
    exact = loaded.p("/health", 50)
    whole = rounded == math.floor(rounded)
    return Outcome(
        f"web UI {'answered' if answered else 'did NOT answer'}; /health p50: Locust "
        f"{rounded:g} ms, exact {exact:.3f} ms; {loaded.failures} failures",
        answered and whole and abs(exact - round(exact)) > 0.01 and loaded.failures == 0,
    )


CHECKS: dict[int, Callable[[Room, Lab], Outcome]] = {
    1: lab1,
    2: lab2,
    3: lab3,
    4: lab4,
    5: lab5,
    6: lab6,
    7: lab7,
    8: lab8,
}


def check_lab(room: Room, lab: Lab) -> Outcome:
    try:
        return CHECKS[lab.number](room, lab)
    except Exception as exc:  # noqa: BLE001 - one lab's failure is reported, the rest run
        return Outcome(f"the check itself failed: {type(exc).__name__}: {exc}"[:600], False)
