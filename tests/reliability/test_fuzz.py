"""Fuzzing: ``schemathesis run --checks all`` against each live twin's own OpenAPI document.

The command line a user would run, every check it has (status codes, content types, bodies
and headers as documented, schema-valid data accepted and schema-violating data refused,
``405`` with a complete ``Allow`` for undocumented methods, stateful links, no 5xx), in all
of its phases (coverage, fuzzing, stateful), plus our own check that no error body shows a
trace or a path (``fuzz_checks.py``). Writes are open (no API key).

Bounded by ``TWINBENCH_FUZZ_EXAMPLES`` examples per operation (``make test``: 15; ``make
fuzz``: 100); the two twins are fuzzed at once. The seed is random on every run, so every
run tries new cases; a failure names the seed, and ``--seed`` replays it. No check is
switched off for any operation.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from reliability_support import LiveServer
from support import TWIN_PARAMS

from shared.config import PROJECT_ROOT

MAX_EXAMPLES = int(os.environ.get("TWINBENCH_FUZZ_EXAMPLES", "15"))
HERE = Path(__file__).resolve().parent
# Each run is bounded by its examples; this only stops a run that hangs.
RUN_TIMEOUT_S = 1800
OPERATIONS = 10


@dataclass
class FuzzRun:
    """What one schemathesis run said: its exit code, output, and JUnit test cases."""

    twin: str
    argv: list[str]
    returncode: int
    output: str
    cases: dict[str, list[str]]  # test case name -> its failure reports
    server_up_after: bool

    @property
    def seed(self) -> str:
        found = re.search(r"Seed: (\d+)", self.output)
        return found.group(1) if found else "?"

    def describe(self) -> str:
        failures = [
            f"--- {name}\n{report[:1500]}"
            for name, reports in self.cases.items()
            for report in reports
        ]
        return (
            f"{self.twin}: schemathesis exited {self.returncode} (seed {self.seed}; "
            f"replay: {' '.join(self.argv)} --seed {self.seed})\n"
            + ("\n".join(failures) or self.output[-3000:])
        )


def schemathesis_run(server: LiveServer, workdir: Path) -> FuzzRun:
    report = workdir / "junit.xml"
    argv = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--request-timeout",
        "60",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "fuzz_checks",
        "PYTHONPATH": os.pathsep.join([str(HERE), str(PROJECT_ROOT)]),
    }
    # cwd: schemathesis keeps its example database and caches there, not in the repository.
    done = subprocess.run(  # noqa: S603 - the project's own tool
        argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    cases: dict[str, list[str]] = {}
    if report.exists():
        for case in ET.parse(report).getroot().iter("testcase"):
            cases[case.get("name", "?")] = [
                failure.text or failure.get("message", "")
                for failure in [*case.iter("failure"), *case.iter("error")]
            ]
    up = server.running()
    if up:
        try:
            server.assert_serving()
        except Exception:  # noqa: BLE001 - reported by the test that asks
            up = False
    return FuzzRun(
        twin=server.app,
        argv=argv,
        returncode=done.returncode,
        output=done.stdout + done.stderr,
        cases=cases,
        server_up_after=up,
    )


@pytest.fixture(scope="module")
def fuzz_runs(live_stack: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, FuzzRun]:
    """One bounded schemathesis run against each live twin, both at once (each twin is its
    own server, and a run spends much of its time waiting for answers)."""
    servers: dict[str, LiveServer] = live_stack.servers
    for server in servers.values():
        server.ensure_running()
    with ThreadPoolExecutor(len(servers)) as pool:
        runs = {
            app: pool.submit(schemathesis_run, server, tmp_path_factory.mktemp(f"fuzz-{app}"))
            for app, server in servers.items()
        }
        return {app: run.result() for app, run in runs.items()}


@pytest.fixture(params=TWIN_PARAMS)
def fuzz_run(request: pytest.FixtureRequest, fuzz_runs: dict[str, FuzzRun]) -> FuzzRun:
    """The run against one twin; the tests below read it."""
    return fuzz_runs[request.param]


def test_schemathesis_tests_every_operation_and_the_stateful_links(fuzz_run: FuzzRun) -> None:
    operations = [name for name in fuzz_run.cases if name != "Stateful tests"]
    assert len(operations) == OPERATIONS, fuzz_run.describe()
    assert "Stateful tests" in fuzz_run.cases, fuzz_run.describe()


def test_schemathesis_with_every_check_reports_no_failure(fuzz_run: FuzzRun) -> None:
    assert fuzz_run.returncode == 0, fuzz_run.describe()
    assert not any(fuzz_run.cases.values()), fuzz_run.describe()


def test_fuzzed_server_still_answers_health(fuzz_run: FuzzRun) -> None:
    assert fuzz_run.server_up_after, fuzz_run.describe()
