"""Helpers every test folder shares: the twins as parameters, ids and tags no other test
uses, and waiting for an ingest job to finish.

Imported as ``support`` (``from support import TWIN_PARAMS``), the way tests/reliability
imports ``reliability_support``: tests/ has no __init__.py, and pytest puts tests/ on
sys.path when it loads tests/conftest.py, under ``python -m pytest`` and the ``pytest``
script alike.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Protocol

import pytest

TWINS = ("flask", "fastapi")
# Each twin as a parameter of its own name, so a test id reads `test_x[flask]`.
TWIN_PARAMS = [pytest.param(twin, id=twin) for twin in TWINS]
# An ingest job of a few rows finishes in seconds; this bounds a job that never does.
JOB_TIMEOUT_S = 60.0


class JobReader(Protocol):
    """What ``wait_for_job`` needs: the in-process ``AppClient`` and ``httpx.Client`` both fit."""

    def get(self, url: str, /) -> Any: ...


def unique(prefix: str) -> str:
    """An id or tag that no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wait_for_job(
    client: JobReader, job_id: str, timeout_s: float = JOB_TIMEOUT_S
) -> dict[str, Any]:
    """Poll ``GET /ingest/{job_id}`` until the job is neither queued nor running; its status."""
    deadline = time.monotonic() + timeout_s
    while True:
        reply = client.get(f"/ingest/{job_id}")
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        if body["status"] not in ("queued", "running"):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"ingest job {job_id} still {body['status']} after {timeout_s} s")
        time.sleep(0.1)
