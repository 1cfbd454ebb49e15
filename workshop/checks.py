"""``make workshop-check``: each lab's commands, run as written, and its prediction judged.

Every check runs its lab's command lines (workshop/labs.py, via workshop/lab_runs.py) and
hands the figures to a judge: a pure function of the figures, so the suite can show that each
judge refuses the figures a reversed switch or a wrong lesson would give
(tests/workshop/test_judges.py). Timed claims use workshop/judge.py: a ratio holds only
when its interval from the run's own spread lies on the claimed side. One line per lab (per
part for lab 6): predicted, measured, holds or not.
"""

from __future__ import annotations

import ast
import json
import re
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.load.samples import read_samples
from shared.config import PROJECT_ROOT
from workshop import pitfall_checks
from workshop.health_gap import parse as parse_gaps
from workshop.judge import Ratio, percentile_ratio
from workshop.lab_runs import (
    Loaded,
    Outcome,
    devcost,
    load_in_background,
    loaded_from,
    locust_csv_p50,
    locust_run,
    locust_ui_answers,
    operations,
    run_on,
    seconds_of,
    server_of,
    urls_of,
)
from workshop.labs import Lab
from workshop.room import WORK_DIR, Room, lab_environment, run_line, samples_dir

__all__ = [
    "CHECKS",
    "SEARCHES_CLOSE",
    "check_unit",
    "judge_lab1",
    "judge_lab2",
    "judge_lab3",
    "judge_lab4",
    "judge_lab5",
    "judge_lab8",
    "judge_lab9",
    "judge_lab10",
    "judge_lab11",
]

# A route's handler: the function under a route decorator (`@api.get("/health")`,
# `@router.post("/search", ...)`), past any other decorators.
HANDLER = re.compile(
    r"^\s*@\w+\.(?:get|post|put|patch|delete|route)\([\s\S]*?^\s*(?:async )?def (\w+)\(", re.M
)


def judge_lab1(
    flask_routes: str, fastapi_routes: str, flask_ops: set[object], fastapi_ops: set[object]
) -> Outcome:
    """Most lines differ, the handlers have the same names, the operations are the same."""
    flask_lines, fastapi_lines = flask_routes.splitlines(), fastapi_routes.splitlines()
    shared_lines = set(flask_lines) & set(fastapi_lines)
    kept = sum(1 for line in flask_lines if line in shared_lines and line.strip())
    written = sum(1 for line in flask_lines if line.strip())
    names = set(HANDLER.findall(flask_routes)), set(HANDLER.findall(fastapi_routes))
    same_ops = flask_ops == fastapi_ops and bool(flask_ops)
    return Outcome(
        f"{written - kept} of {written} Flask lines differ; handlers "
        f"{'the same' if names[0] == names[1] else 'NOT the same'} ({len(names[0])}); "
        f"operations: Flask {len(flask_ops)}, FastAPI {len(fastapi_ops)}, "
        f"{'the same' if same_ops else 'NOT the same'}",
        kept < written / 2 and names[0] == names[1] and bool(names[0]) and same_ops,
    )


def lab1(room: Room, lab: Lab) -> Outcome:
    diff, flask_doc, fastapi_doc, listed = lab.commands
    run_line(diff.line, lab_environment())  # the participant's view; the judge reads the files
    with room.twin("flask", {}) as flask, room.twin("fastapi", {}) as fastapi:
        flask_ops = operations(run_on(flask_doc, flask))
        fastapi_ops = operations(run_on(fastapi_doc, fastapi))
        printed = ast.literal_eval(run_on(listed, flask).strip())
    if printed != sorted(f"{method.upper()} {path}" for path, method in flask_ops):
        return Outcome(f"the listing line printed another list: {printed}", False)
    return judge_lab1(
        (PROJECT_ROOT / "flask_app" / "routes.py").read_text(),
        (PROJECT_ROOT / "fastapi_app" / "routes.py").read_text(),
        set(flask_ops),
        set(fastapi_ops),
    )


def lab2(room: Room, lab: Lab) -> Outcome:
    flask_bad, fastapi_bad, _devcost_line = lab.commands
    with room.twin("flask", {}) as flask, room.twin("fastapi", {}) as fastapi:
        answers = [run_on(flask_bad, flask).strip(), run_on(fastapi_bad, fastapi).strip()]
    codes = [answer.rsplit(" ", 1)[-1] for answer in answers]
    # Parsed: Flask ends its JSON with a newline, FastAPI does not.
    bodies = [json.loads(answer.rsplit(" ", 1)[0]) for answer in answers]
    lines = devcost()
    return judge_lab2(
        codes, bodies[0] == bodies[1], lines["flask"]["validation"], lines["fastapi"]["validation"]
    )


def judge_lab2(codes: list[str], same_body: bool, by_hand: int, declared: int) -> Outcome:
    """Both twins refuse the bad body with the same 422, and Flask's validation is code
    written by hand where FastAPI's is declared."""
    return Outcome(
        f"status {codes[0]} / {codes[1]}, bodies {'equal' if same_body else 'DIFFER'}"
        f"; validation lines Flask {by_hand}, FastAPI {declared}",
        codes == ["422", "422"] and same_body and by_hand > declared,
    )


def lab3(room: Room, lab: Lab) -> Outcome:
    pages = lab.commands[:4]
    offline = re.compile(r"""(src|href)=["']https?://""")
    found = []
    with room.twin("flask", {}) as flask, room.twin("fastapi", {}) as fastapi:
        for command in pages:
            twin = flask if "$FLASK" in command.line else fastapi
            html = run_on(command, twin)
            marker = "swagger-ui" if command.line.endswith("/docs") else "redoc"
            found.append(marker in html.lower() and not offline.search(html))
    lines = devcost()
    return judge_lab3(found, lines["flask"]["docs"], lines["fastapi"]["docs"])


def judge_lab3(served_offline: list[bool], flask_docs: int, fastapi_docs: int) -> Outcome:
    """Every docs page is served without the network, and only Flask needed code for them."""
    return Outcome(
        f"{sum(served_offline)} of {len(served_offline)} pages served offline; API-docs code "
        f"lines Flask {flask_docs}, FastAPI {fastapi_docs}",
        bool(served_offline) and all(served_offline) and flask_docs > 0 and fastapi_docs == 0,
    )


# Lab 4's band for "the searches are close": within a fifth either way. Not the report's
# x0.91..x1.10, which compares throughput at saturation: one search at a time, Flask's search
# median read x1.01 [1.00, 1.02], x1.06 [1.05, 1.08] and twice x1.11 [1.10, 1.12] of
# FastAPI's on the project's 2-core VM (2026-12-05), at the edge of x1.10, where /health reads
# x2.1 to x2.4 (what serving adds around the same core call varies run to run: docs/method.md).
SEARCHES_CLOSE = (1 / 1.2, 1.2)


def judge_lab4(health: Ratio, search: Ratio) -> Outcome:
    """The lesson is about the searches: close, whatever /health does."""
    low, high = SEARCHES_CLOSE
    return Outcome(
        f"Flask/FastAPI p50, one user: /health {health}, /search {search} "
        f"(close: meets x{low:.2f}..x{high:.2f})",
        search.not_apart(SEARCHES_CLOSE),
    )


def lab4(room: Room, lab: Lab) -> Outcome:
    health_f, health_a, search_f, search_a = lab.commands
    with room.twin("flask", {}) as flask, room.twin("fastapi", {}) as fastapi:
        h_f = locust_run(health_f, flask, "lab4-health-flask").latencies["/health"]
        h_a = locust_run(health_a, fastapi, "lab4-health-fastapi").latencies["/health"]
        # The searches twice, in ABBA order, pooled: a machine that slows down between runs
        # slows both twins alike instead of the one that ran second.
        runs = [
            locust_run(command, twin, f"lab4-search-{twin.app}-{n}").latencies["/search"]
            for n, (command, twin) in enumerate(
                [(search_f, flask), (search_a, fastapi), (search_a, fastapi), (search_f, flask)]
            )
        ]
    s_f, s_a = np.concatenate([runs[0], runs[3]]), np.concatenate([runs[1], runs[2]])
    return judge_lab4(percentile_ratio(h_f, h_a, 50), percentile_ratio(s_f, s_a, 50))


def judge_lab5(ingest_s: float, batch_s: float, state: str, searched: int, failed: int) -> Outcome:
    return Outcome(
        f"under load, /ingest answered in {ingest_s * 1000:.0f} ms, the same rows as one batch "
        f"took {batch_s * 1000:.0f} ms; job {state or 'never seen'}; searches meanwhile: "
        f"{searched} ok, {failed} failed",
        ingest_s < batch_s / 5 and state == "done" and searched > 0 and failed == 0,
    )


def _job_state(job_line: str, status_line: str, env: dict[str, str]) -> str:
    """The page's two lines, run as one shell (the id stays in $JOB), asking until the job
    is done or failed; its last status."""
    script = (
        f"{job_line}\nfor _ in $(seq 300); do\n  {status_line}; echo\n  sleep 0.3\n"
        f'  {status_line} | grep -Eq \'"status": ?"(done|failed)"\' && break\ndone\n'
        f"{status_line}"
    )
    last = run_line(script, env, timeout_s=150).strip().splitlines()[-1]
    return str(json.loads(last).get("status", ""))


def lab5(room: Room, lab: Lab) -> Outcome:
    searches, ingest, job_line, status, batch = lab.commands
    with room.twin("fastapi", {}) as fastapi:
        folder = samples_dir("lab5-searches")
        with load_in_background(searches, fastapi, folder) as load:
            time.sleep(2.0)
            # Both uploads while the searches run: the batch first, so the job's embedding
            # does not slow it down.
            _, batch_s = seconds_of(run_on(batch, fastapi))
            _, ingest_s = seconds_of(run_on(ingest, fastapi))
            running = load.poll() is None
            state = _job_state(job_line.line, status.line, lab_environment(**urls_of(fastapi)))
        samples = read_samples(folder)
    if not running:
        return Outcome("the searches ended before both uploads were timed", False)
    return judge_lab5(ingest_s, batch_s, state, int(samples.ok.sum()), int((~samples.ok).sum()))


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
        settings, _ = server_of(command)
        folder = PROJECT_ROOT / settings["TWINBENCH_SEARCH_BATCH_STATS_DIR"]
        for stale in folder.glob("batches-*.json"):
            stale.unlink()
        with room.twin(app, settings) as twin:
            locust_run(command, twin, f"lab7-{app}")
        largest[app] = _largest_batch(folder)  # written at shutdown too
    run_line(show.line, lab_environment())
    threads = room.settings.blocking_threads
    return Outcome(
        f"largest batch: Flask {largest['flask']} (threads {threads}), "
        f"FastAPI {largest['fastapi']}",
        0 < largest["flask"] <= threads < largest["fastapi"],
    )


def judge_lab8(answered: bool, rounded: float, exact: np.ndarray, failures: int) -> Outcome:
    """Locust's p50 is whole and within a millisecond of the exact one; the exact samples are
    finer than whole milliseconds (most are not whole numbers)."""
    ordered = np.sort(exact)
    exact_p50 = float(ordered[max((len(ordered) + 1) // 2 - 1, 0)]) if len(ordered) else np.nan
    fine = float(np.mean(ordered != np.floor(ordered))) if len(ordered) else 0.0
    return Outcome(
        f"web UI {'answered' if answered else 'did NOT answer'}; /health p50: Locust "
        f"{rounded:g} ms, exact {exact_p50:.3f} ms; {fine:.0%} of exact samples not whole; "
        f"{failures} failures",
        answered
        and rounded == int(rounded)
        and abs(rounded - exact_p50) <= 1.0
        and fine > 0.5
        and failures == 0,
    )


def lab8(room: Room, lab: Lab) -> Outcome:
    ui, headless = lab.commands
    with room.twin("fastapi", {}) as fastapi:
        answered = locust_ui_answers(ui, fastapi)
        loaded = locust_run(headless, fastapi, "lab8-headless")
    rounded = locust_csv_p50(WORK_DIR / "locust_stats.csv", "/health")
    return judge_lab8(
        answered, rounded, loaded.latencies.get("/health", np.array([])), loaded.failures
    )


def judge_lab9(usual_gaps_us: list[float], shared_gaps_us: list[float]) -> Outcome:
    """Flask slower on the usual servers in every round; on one server, the median gap below
    half of the usual median (a shared server's gap wanders either side of zero by round)."""
    usual, shared = statistics.median(usual_gaps_us), statistics.median(shared_gaps_us)
    return Outcome(
        f"/health gap Flask - FastAPI, median of rounds: usual servers {usual:.0f} us "
        f"(rounds {min(usual_gaps_us):.0f}..{max(usual_gaps_us):.0f}), one server (granian) "
        f"{shared:.0f} us (rounds {min(shared_gaps_us):.0f}..{max(shared_gaps_us):.0f})",
        min(usual_gaps_us) > 0 and shared < usual / 2,
    )


def lab9(room: Room, lab: Lab) -> Outcome:
    usual, shared = lab.commands
    with room.twin("flask", {}) as flask, room.twin("fastapi", {}) as fastapi:
        usual_gaps = parse_gaps(
            run_line(usual.line, lab_environment(**urls_of(flask), **urls_of(fastapi)))
        )
    settings, _ = server_of(shared)
    with room.twin("flask", settings) as flask, room.twin("fastapi", settings) as fastapi:
        shared_gaps = parse_gaps(
            run_line(shared.line, lab_environment(**urls_of(flask), **urls_of(fastapi)))
        )
    return judge_lab9(usual_gaps, shared_gaps)


def judge_lab10(
    twins: dict[str, dict[str, np.ndarray]], torch_took: np.ndarray, onnx_took: np.ndarray
) -> Outcome:
    """The core is at least half of a search's wait on both twins; torch's took_ms clearly
    at least x1.2 ONNX's."""
    shares = {
        app: float(np.median(s["took_ms"]) / np.median(s["client_ms"])) for app, s in twins.items()
    }
    runtime = percentile_ratio(torch_took, onnx_took, 50)
    return Outcome(
        "core's share of the client's wait (medians): "
        + ", ".join(f"{app} {share:.0%}" for app, share in shares.items())
        + f"; took_ms torch over ONNX {runtime}",
        len(shares) == 2 and min(shares.values()) >= 0.5 and runtime.at_least(1.2),
    )


def _split(line: str, env: dict[str, str]) -> dict[str, np.ndarray]:
    output = run_line(line, env)
    match = re.search(r"^samples: (\S+)$", output, re.M)
    if not match:
        raise RuntimeError(f"search-split printed no samples:\n{output[-1500:]}")
    raw = json.loads((PROJECT_ROOT / match.group(1)).read_text(encoding="utf-8"))
    return {key: np.asarray(values, dtype=float) for key, values in raw.items()}


def lab10(room: Room, lab: Lab) -> Outcome:
    flask_line, fastapi_line, one_search, torch_line = lab.commands
    with room.twin("flask", {}) as flask, room.twin("fastapi", {}) as fastapi:
        twins = {
            "flask": _split(flask_line.line, lab_environment(**urls_of(flask))),
            "fastapi": _split(fastapi_line.line, lab_environment(**urls_of(fastapi))),
        }
        answer = json.loads(run_on(one_search, fastapi))
    if len(answer.get("results", [])) != 3 or not answer.get("took_ms", 0) > 0:
        return Outcome(f"the one search's answer lacks 3 results or took_ms: {answer}", False)
    with room.twin("fastapi", server_of(torch_line)[0]) as on_torch:
        torch = _split(torch_line.line, lab_environment(**urls_of(on_torch)))
    return judge_lab10(twins, torch["took_ms"], twins["fastapi"]["took_ms"])


def judge_lab11(unbounded: Loaded, bounded: Loaded, busy_answer: str) -> Outcome:
    """No refusal with the default bound; with a bound of 4, refusals that come back clearly
    faster than answers (at most half their median), and a 503 that says Retry-After."""
    refused_default = len(unbounded.failed.get("/search", []))
    refused = bounded.failed.get("/search", np.array([]))
    answered = bounded.latencies.get("/search", np.array([]))
    fast = percentile_ratio(refused, answered, 50) if len(refused) and len(answered) else None
    said = bool(re.search(r"^HTTP/\S+ 503", busy_answer, re.M)) and bool(
        re.search(r"^retry-after: *\d+", busy_answer, re.M | re.I)
    )
    return Outcome(
        f"default bound: {refused_default} refused, /search p50 "
        f"{np.median(unbounded.latencies.get('/search', [np.nan])):.0f} ms; bound 4: "
        f"{len(refused)} refused, {len(answered)} answered, refusal over answer p50 "
        f"{fast if fast else 'n/a'}; a busy curl "
        f"{'got 503 + Retry-After' if said else 'saw no 503'}",
        refused_default == 0 and fast is not None and fast.at_most(0.5) and said,
    )


def _busy_answer(line: str, env: dict[str, str], load: subprocess.Popen[bytes]) -> str:
    """The page's curl, sent while the load runs, until one is refused (or the load ends)."""
    answer = ""
    while load.poll() is None:
        answer = run_line(line, env, timeout_s=30)
        if re.search(r"^HTTP/\S+ 503", answer, re.M):
            break
        time.sleep(0.2)
    return answer


def lab11(room: Room, lab: Lab) -> Outcome:
    unbounded_line, bounded_line, curl_line = lab.commands
    with room.twin("fastapi", server_of(unbounded_line)[0]) as unbounded_twin:
        unbounded = locust_run(unbounded_line, unbounded_twin, "lab11-unbounded")
    with room.twin("fastapi", server_of(bounded_line)[0]) as bounded_twin:
        folder = samples_dir("lab11-bounded")
        with load_in_background(bounded_line, bounded_twin, folder) as load:
            time.sleep(3.0)
            busy = _busy_answer(curl_line.line, lab_environment(**urls_of(bounded_twin)), load)
        bounded = loaded_from(folder, "")
    return judge_lab11(unbounded, bounded, busy)


CHECKS: dict[str, Callable[[Room, Lab], Outcome]] = {
    "1": lab1,
    "2": lab2,
    "3": lab3,
    "4": lab4,
    "5": lab5,
    **pitfall_checks.PARTS,
    "7": lab7,
    "8": lab8,
    "9": lab9,
    "10": lab10,
    "11": lab11,
}


def check_unit(room: Room, lab: Lab, unit: str) -> Outcome:
    try:
        return CHECKS[unit](room, lab)
    except Exception as exc:  # noqa: BLE001 - one lab's failure is reported, the rest run
        return Outcome(f"the check itself failed: {type(exc).__name__}: {exc}"[:600], False)
