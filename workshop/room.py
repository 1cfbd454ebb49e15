"""The room a lab runs in: the embedded Milvus, the demo corpus, and twins started on demand.

A twin is started the way a participant starts it, ``python -m shared.serve <twin>`` (what
``make serve-*`` runs) with a lab's settings in its environment, on a free loopback port,
and stopped (its whole process group) when the lab is done. Milvus is started only when
none runs, and then stopped again at the end; the corpus comes from the embedding cache.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shared.config import PROJECT_ROOT, Settings, get_settings
from shared.launcher import OwnedProcess, free_port, milvus_for, wait_until_healthy

__all__ = ["Room", "Twin", "WORK_DIR", "run_line"]

WORK_DIR = PROJECT_ROOT / ".data" / "workshop"
# Settings a lab may set on a twin: taken out of the caller's own environment, so a switch
# left on in the shell cannot leak into a lab that expects it off.
_LAB_SETTINGS = ("TWINBENCH_PITFALL_", "TWINBENCH_FLASK_SERVER", "TWINBENCH_FASTAPI_SERVER")
_LAB_SETTINGS_EXACT = (
    "TWINBENCH_SEARCH_BATCHING",
    "TWINBENCH_SEARCH_BATCH_STATS_DIR",
    "TWINBENCH_SEARCH_QUEUE_BOUND",
    "TWINBENCH_EMBED_BACKEND",
    "TWINBENCH_WORKERS",
    "PYTHONASYNCIODEBUG",
)


@dataclass
class Twin:
    """One running twin: its URL, the launcher's process and its log."""

    app: str
    url: str
    child: OwnedProcess

    def log(self) -> str:
        return self.child.log_tail(None)


def lab_environment(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_LAB_SETTINGS) and key not in _LAB_SETTINGS_EXACT
    }
    # Batching off unless a lab turns it on, as the workshop's README has the twins started.
    return {**env, "PYTHONUNBUFFERED": "1", "TWINBENCH_SEARCH_BATCHING": "0", **extra}


def run_line(line: str, env: dict[str, str], timeout_s: float = 120.0) -> str:
    """A lab's command line, run by bash from the repository root; its stdout (and stderr)."""
    done = subprocess.run(  # noqa: S603 - the labs' own command lines
        ["bash", "-c", line],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    return done.stdout + done.stderr


class Room:
    """Milvus and the corpus for the whole check; twins for one lab at a time."""

    def __init__(self) -> None:
        self.settings: Settings = get_settings()
        self.started_milvus = False
        # The twins as built (no settings, not pinned) serve every lab that needs them.
        self._as_built: dict[str, Twin] = {}
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Room:
        from bench.load.pool import cached_pool
        from shared.corpus import ensure_corpus_loaded

        self.started_milvus = self._stack.enter_context(milvus_for(self.settings))
        try:
            ensure_corpus_loaded(self.settings)
            # Locust's request pool, built once (make workshop does it): a first build inside
            # a lab's 5-second run would leave the run without a single request.
            cached_pool()
        except BaseException:
            self._stack.close()
            raise
        WORK_DIR.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc: object) -> None:
        # Last in, first out: the twins stop before the Milvus this room started, if any.
        self._stack.close()

    @contextlib.contextmanager
    def twin(self, app: str, settings: dict[str, str], pinned: str = "") -> Iterator[Twin]:
        """The twin as built (kept for the whole check), or one started with ``settings``
        under ``taskset -c pinned`` and stopped when the caller is done with it."""
        if settings or pinned:
            with self._started(app, settings, pinned) as twin:
                yield twin
            return
        if app not in self._as_built:
            self._as_built[app] = self._stack.enter_context(self._started(app, {}, ""))
        yield self._as_built[app]

    @contextlib.contextmanager
    def _started(self, app: str, settings: dict[str, str], pinned: str) -> Iterator[Twin]:
        """``python -m shared.serve APP`` with ``settings``, under ``taskset -c pinned``."""
        port = free_port()
        argv = [sys.executable, "-m", "shared.serve", app, "--no-demo-data", "--port", str(port)]
        if pinned:
            argv = ["taskset", "-c", pinned, *argv]
        name = "-".join([app, *(f"{k}={v}" for k, v in sorted(settings.items()))])
        name = name.replace("/", "_") + (f"-core{pinned}" if pinned else "")
        log = WORK_DIR / "logs" / f"{name[:120]}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.unlink(missing_ok=True)
        # Loopback only, whatever the caller's shell says: a lab never listens on the network.
        env = lab_environment(**settings, TWINBENCH_HOST="127.0.0.1")
        child = OwnedProcess(argv, log_path=log, env=env, cwd=PROJECT_ROOT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_healthy(f"{url}/health", child, timeout_s=180)
            yield Twin(app, url, child)
        finally:
            child.stop(grace_s=30)


def samples_dir(name: str) -> Path:
    """An empty folder for one Locust run's exact samples."""
    folder = WORK_DIR / "samples" / name
    if folder.exists():
        for path in folder.glob("*"):
            path.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    return folder
