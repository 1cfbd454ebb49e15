"""Fuzzing: schemathesis against each live twin's own OpenAPI document, every operation.

A bounded run per twin (15 generated cases per operation, valid and invalid, sent to the live
server) records what schemathesis' checks say about every response; each property is then its
own test, so one kind of finding never hides another: no 5xx, bodies and content types as
documented, status codes as documented, and no error body showing a stack trace or a path.
Writes are open (no API key).

Each operation is driven by a Hypothesis test built from ``operation.as_strategy()``
(schemathesis' pytest loader ``from_fixture`` does not work under pytest 9).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from reliability_support import TWINS, LiveServer, leaks
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

# `make fuzz` raises this for a longer run; the bounded run inside `make test` keeps 15.
MAX_EXAMPLES = int(os.environ.get("TWINBENCH_FUZZ_EXAMPLES", "15"))
CHECKS = {
    "no server error": not_a_server_error,
    "documented status code": status_code_conformance,
    "documented content type": content_type_conformance,
    "documented response schema": response_schema_conformance,
}
# No shrinking and no stopping at a failure: every example is a real request to a real
# server, and the checks only record, so each operation gets exactly its budget. Derandomized:
# `make test` sends the same cases every run (a longer, random run is `make fuzz`'s job).
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@dataclass
class FuzzReport:
    """What the checks said: for each check, one line per distinct (operation, status)."""

    operations: list[str] = field(default_factory=list)
    requests: int = 0
    findings: dict[str, dict[tuple[str, int], str]] = field(
        default_factory=lambda: defaultdict(dict)
    )

    def record(self, check: str, case: Any, response: Any, detail: str) -> None:
        key = (f"{case.method.upper()} {case.path}", response.status_code)
        self.findings[check].setdefault(
            key,
            f"{key[0]} -> {response.status_code} {response.text[:300]!r}\n"
            f"    {detail.strip().splitlines()[0] if detail.strip() else ''}\n"
            f"    replay: {case.as_curl_command()}",
        )

    def describe(self, check: str) -> str:
        lines = self.findings.get(check, {}).values()
        return f"{len(lines)} finding(s) for '{check}':\n" + "\n".join(lines)


def fuzz_operation(operation: Any, report: FuzzReport, server: LiveServer) -> None:
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    session = requests.Session()

    @FUZZ_SETTINGS
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=server.url, session=session, timeout=60)
        report.requests += 1
        for name, check in CHECKS.items():
            try:
                case.validate_response(response, checks=[check])
            # schemathesis raises a FailureGroup, a BaseExceptionGroup, not an Exception.
            except (AssertionError, BaseExceptionGroup) as exc:
                report.record(name, case, response, str(exc))
        if response.status_code >= 400:
            sent = [case.formatted_path, repr(case.body), repr(case.query)]
            found = leaks(response.content, sent=sent)
            if found:
                report.record("no internals in error bodies", case, response, str(found))

    try:
        run()
    finally:
        session.close()


@pytest.fixture(scope="module")
def hypothesis_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Hypothesis' caches go to a temp dir, not to a .hypothesis folder in the repository."""
    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    set_hypothesis_home_dir(None)


@pytest.fixture(scope="module", params=[pytest.param(app, id=app) for app in TWINS])
def fuzz_report(
    request: pytest.FixtureRequest, live_stack: Any, hypothesis_home: None
) -> FuzzReport:
    """Fuzz every operation of one live twin once; the tests below read the report."""
    server: LiveServer = live_stack.servers[request.param]
    server.ensure_running()
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    report = FuzzReport()
    for result in schema.get_all_operations():
        operation = result.ok()
        report.operations.append(f"{operation.method.upper()} {operation.path}")
        fuzz_operation(operation, report, server)
    report.findings.setdefault("server still running", {})
    if not server.running():
        report.findings["server still running"][("-", 0)] = server.log_tail()
    return report


def test_fuzzing_reaches_every_operation(fuzz_report: FuzzReport) -> None:
    assert len(fuzz_report.operations) >= 10, fuzz_report.operations
    assert fuzz_report.requests >= len(fuzz_report.operations) * MAX_EXAMPLES // 2


def test_fuzzing_provokes_no_server_error(fuzz_report: FuzzReport) -> None:
    assert not fuzz_report.findings["no server error"], fuzz_report.describe("no server error")
    assert not fuzz_report.findings["server still running"], fuzz_report.describe(
        "server still running"
    )


def test_fuzzed_responses_match_the_documented_bodies(fuzz_report: FuzzReport) -> None:
    for check in ("documented response schema", "documented content type"):
        assert not fuzz_report.findings[check], fuzz_report.describe(check)


def test_fuzzed_responses_have_documented_status_codes(fuzz_report: FuzzReport) -> None:
    check = "documented status code"
    assert not fuzz_report.findings[check], fuzz_report.describe(check)


def test_fuzzed_error_bodies_show_no_internals(fuzz_report: FuzzReport) -> None:
    check = "no internals in error bodies"
    assert not fuzz_report.findings[check], fuzz_report.describe(check)
