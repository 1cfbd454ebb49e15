"""Child processes of the bench (servers, Locust, the in-process floor): start, wait, stop.

Every child gets its own session (process group), so a stop reaches the workers a server
forks too: SIGTERM to the group, a grace period, then SIGKILL. Callers pair every start
with a stop in ``finally`` (the orchestrator keeps them on an ExitStack).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["Child", "http_json", "wait_healthy"]


class Child:
    """A child process in its own process group, with its output in a log file."""

    def __init__(
        self,
        argv: list[str],
        *,
        log_path: Path,
        env: dict[str, str] | None = None,
        preexec: Callable[[], None] | None = None,
        cwd: Path | None = None,
        pipes: bool = False,
    ) -> None:
        self.argv = argv
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            # pipes=True: a worker we talk to line by line (stdin/stdout), errors to the log.
            self.proc = subprocess.Popen(  # noqa: S603 - argv from shared.servers / our own
                argv,
                stdout=subprocess.PIPE if pipes else log,
                stderr=log if pipes else subprocess.STDOUT,
                stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                start_new_session=True,
                preexec_fn=preexec,
                text=pipes or None,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, chars: int = 1500) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    def wait(self, timeout: float) -> int | None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self.proc.wait(timeout)
        return None

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM the whole group; SIGKILL whatever is left after ``grace_s``."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            self.wait(grace_s)
        # The group may outlive its leader (forked workers): kill stragglers either way.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.wait(5)


def http_json(method: str, url: str, body: Any = None, timeout: float = 5.0) -> tuple[int, Any]:
    """A tiny HTTP client for the orchestrator (status, parsed JSON or None)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def wait_healthy(url: str, child: Child, timeout_s: float = 120.0) -> float:
    """Poll ``GET url`` until it answers 200; return the seconds it took."""
    began = time.monotonic()
    last = "no answer"
    while time.monotonic() - began < timeout_s:
        if not child.alive():
            raise RuntimeError(
                f"server exited with code {child.proc.returncode} before it was healthy:\n"
                f"{child.log_tail()}"
            )
        try:
            status, _ = http_json("GET", url, timeout=2.0)
            if status == 200:
                return time.monotonic() - began
            last = f"HTTP {status}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise RuntimeError(f"{url} not healthy after {timeout_s:.0f} s ({last}):\n{child.log_tail()}")
