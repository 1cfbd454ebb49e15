"""One way to own a process: our Milvus on a free port, a twin on its server, any child.

Every caller that starts a process of ours (the bench, the tests, the workshop, the studies,
``make serve-*``) starts it here, so every one of them is started and stopped the same way:

* :class:`OwnedProcess`: a child in its own session (process group), its output in a log
  file. ``stop`` sends SIGTERM to the whole group, waits, then SIGKILLs what is left (the
  workers a server forked included); ``kill`` is the crash: SIGKILL at once.
* :func:`wait_until_healthy`: poll ``GET url`` until it answers 200, failing fast (with the
  log's tail) when the process exits first.
* :class:`TwinProcess`: one twin (or any :class:`~shared.servers.ServerSpec`) served by its
  server's own command line from :func:`shared.servers.server_argv`, on 127.0.0.1.
* :func:`milvus_for`: the Milvus some settings name, started only if none serves there.
* :func:`own_milvus`: our embedded Milvus on a free port, stopped at the end. A throwaway
  one (temporary data, deleted afterwards) is SIGKILLed: its graceful stop only spares the
  next start on the same data a wait for stale etcd sessions, and there is no next start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.config import PROJECT_ROOT, Settings, get_settings
from shared.milvus_server import (
    STOP_GRACE_S,
    backend_dir,
    free_port,
    locked,
    pid_alive,
    server_status,
    start_server,
    stop_server,
)
from shared.servers import ServerSpec, server_argv

__all__ = [
    "OwnedProcess",
    "TwinProcess",
    "free_port",
    "group_alive",
    "milvus_for",
    "own_milvus",
    "wait_until_healthy",
]

# Model loading takes 5-15 s per start on a busy 2-core machine; Milvus may still be starting.
READY_TIMEOUT_S = 180.0
# gunicorn and uvicorn get 20 s of graceful shutdown from server_argv; past that, SIGKILL.
TWIN_STOP_GRACE_S = 25.0


def group_alive(pgid: int) -> bool:
    """Whether any member of process group ``pgid`` lives (zombies do not count)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


class OwnedProcess:
    """A child process in its own process group, with its output in a log file.

    ``pipes=True`` gives a worker we talk to line by line (stdin/stdout); errors then go to
    the log. ``preexec`` runs in the child before exec (CPU pinning, a cgroup). Without a
    ``log_path`` the output goes where ours goes. ``own_group=False`` keeps the child in our
    own process group (a server run in the foreground, so that the terminal's Ctrl-C and a
    supervisor's signal to our group reach it too); its stop then signals it alone.
    """

    def __init__(
        self,
        argv: list[str],
        *,
        log_path: Path | None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        preexec: Callable[[], None] | None = None,
        pipes: bool = False,
        own_group: bool = True,
    ) -> None:
        self.argv = argv
        self.log_path = log_path
        self.own_group = own_group
        with contextlib.ExitStack() as files:
            log: Any = None  # None: inherit our stdout and stderr
            if log_path is not None:
                log_path.parent.mkdir(parents=True, exist_ok=True)
                log = files.enter_context(open(log_path, "ab"))
            # Its own session: a signal to the group reaches the workers a server forks.
            self.proc = subprocess.Popen(  # noqa: S603 - argv from shared.servers / our own
                argv,
                stdout=subprocess.PIPE if pipes else log,
                stderr=log if pipes else (subprocess.STDOUT if log is not None else None),
                stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                start_new_session=own_group,
                preexec_fn=preexec,
                text=pipes or None,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, chars: int | None = 2000) -> str:
        """The last ``chars`` characters of the log (None: all of it)."""
        if self.log_path is None:
            return "(its output went to the terminal)"
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(errors="replace")
            return text if chars is None else text[-chars:]
        return "(no log)"

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None if the process still runs after ``timeout`` seconds."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self.proc.wait(timeout)
        return None

    def signal_group(self, signum: int) -> None:
        """Signal the child's whole group (the child alone when it shares ours)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self.own_group:
                os.killpg(self.proc.pid, signum)
            else:
                self.proc.send_signal(signum)

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM the whole group; SIGKILL whatever is left after ``grace_s``."""
        if self.alive():
            self.signal_group(signal.SIGTERM)
            self.wait(grace_s)
        self._reap(min(grace_s, 5.0))

    def kill(self) -> None:
        """SIGKILL the whole group at once, as a crash would."""
        self.signal_group(signal.SIGKILL)
        self._reap(0.0)

    def _reap(self, follow_s: float) -> None:
        # The group may outlive its leader (forked workers): give stragglers ``follow_s`` to
        # follow their master, then SIGKILL what is left. Nothing stays behind.
        self.wait(5.0)
        self._wait_group_gone(follow_s)
        self.signal_group(signal.SIGKILL)
        self.wait(5.0)
        self._wait_group_gone(5.0)  # a SIGKILL takes effect a moment after it is sent

    def _wait_group_gone(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.own_group and group_alive(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)


def _http_status(url: str, timeout: float) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def wait_until_healthy(
    url: str, process: OwnedProcess, *, timeout_s: float = READY_TIMEOUT_S, what: str = "server"
) -> float:
    """Poll ``GET url`` until it answers 200; return the seconds it took.

    Fails at once, with the log's tail, if ``process`` exits first.
    """
    began = time.monotonic()
    last = "no answer yet"
    while time.monotonic() - began < timeout_s:
        if not process.alive():
            raise RuntimeError(
                f"the {what} exited with code {process.proc.returncode} before it was "
                f"healthy:\n{process.log_tail()}"
            )
        try:
            status = _http_status(url, timeout=2.0)
            if status == 200:
                return time.monotonic() - began
            last = f"HTTP {status}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise RuntimeError(
        f"the {what} at {url} was not healthy within {timeout_s:.0f} s ({last}):\n"
        + process.log_tail()
    )


@dataclass
class TwinProcess:
    """One server configuration (a twin on its server, usually) on 127.0.0.1, in its group."""

    spec: ServerSpec
    env: dict[str, str]
    log_path: Path
    cwd: Path = PROJECT_ROOT
    process: OwnedProcess | None = field(default=None, repr=False)

    @property
    def app(self) -> str:
        return self.spec.app

    @property
    def port(self) -> int:
        return self.spec.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.spec.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, f"the {self.app} server was never started"
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.alive()

    def start(self) -> None:
        """Spawn the server (its own session, so a signal to the group reaches its workers)."""
        assert not self.running(), f"the {self.app} server is already running"
        self.process = OwnedProcess(
            server_argv(self.spec), log_path=self.log_path, env=self.env, cwd=self.cwd
        )

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> float:
        """Block until GET /health answers 200 (model loaded, Milvus reachable)."""
        assert self.process is not None, f"the {self.app} server was never started"
        return wait_until_healthy(
            f"{self.url}/health", self.process, timeout_s=timeout_s, what=f"{self.app} server"
        )

    def ensure_running(self) -> None:
        if not self.running():
            self.start()
            self.wait_ready()

    def stop(self, grace_s: float = TWIN_STOP_GRACE_S) -> None:
        if self.process is not None:
            self.process.stop(grace_s)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def log_tail(self, chars: int = 3000) -> str:
        return self.process.log_tail(chars) if self.process is not None else "(not started)"


@contextlib.contextmanager
def own_milvus(
    *,
    data_dir: Path | None = None,
    port: int | None = None,
    throwaway: bool | None = None,
    grace_s: float = STOP_GRACE_S,
    **overrides: Any,
) -> Iterator[Settings]:
    """Our embedded Milvus (on a free port unless ``port`` says), with settings that point at
    it; stopped at exit.

    Without ``data_dir`` the data go to a temporary directory that is deleted afterwards.
    ``throwaway`` (the default when the data are temporary) stops Milvus with SIGKILL;
    otherwise it gets ``grace_s`` to shut down cleanly, so the next start on the same data
    does not wait for its stale etcd sessions to expire. ``overrides`` are further settings
    (a collection, a backend, a timeout). A Milvus an interrupted run left serving on the
    same data is taken over (its port is the one the settings name) and stopped at exit.
    """
    temporary = data_dir is None
    root = Path(tempfile.mkdtemp(prefix="twinbench-milvus-")) if data_dir is None else data_dir
    throwaway = temporary if throwaway is None else throwaway
    fields = {"data_dir": root, "milvus_port": port or free_port(), "milvus_uri": "", **overrides}
    settings = get_settings(**fields)
    try:
        state = start_server(settings, port=settings.milvus_port)
        if state.port != settings.milvus_port:
            settings = get_settings(**{**fields, "milvus_port": state.port})
        try:
            yield settings
        finally:
            stop_server(settings, grace_s=0.0 if throwaway else grace_s)
    finally:
        if temporary:
            shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def milvus_for(settings: Settings, *, grace_s: float = STOP_GRACE_S) -> Iterator[bool]:
    """The Milvus that ``settings`` names, serving for the duration; yields whether we started it.

    An external Milvus (``MILVUS_URI``) is used as it is. The embedded one is shared by every
    command that uses it at once: each registers itself as a user (a file named by its pid in
    the data directory), and on the way out the last user stops a server that a user started
    on demand. So two twins served side by side share one Milvus, Ctrl-C on one leaves the
    other its Milvus, and a server started with ``make milvus-up`` is never stopped here.
    The last user gives Milvus ``grace_s`` to stop cleanly (its data are kept).
    """
    if not settings.embedded_milvus:
        yield False
        return
    data_dir = backend_dir(settings, settings.milvus_backend).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    users = data_dir / "users"
    users.mkdir(exist_ok=True)
    me = users / str(os.getpid())
    with locked(data_dir / "users.lock"):
        started = not server_status(settings).get("running")
        start_server(settings, on_demand=started)
        me.touch()
    try:
        yield started
    finally:
        with locked(data_dir / "users.lock"):
            me.unlink(missing_ok=True)
            others = [path for path in users.iterdir() if _user_alive(path)]
            state = server_status(settings)
            if not others and state.get("running") and state.get("on_demand"):
                stop_server(settings, grace_s=grace_s)


def _user_alive(record: Path) -> bool:
    """Whether the command a user record names still runs (a crashed one's record is stale)."""
    if record.name.isdigit() and pid_alive(int(record.name)):
        return True
    record.unlink(missing_ok=True)
    return False
