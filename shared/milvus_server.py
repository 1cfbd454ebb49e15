"""Start, stop and inspect the embedded Milvus server that the project runs on 127.0.0.1.

Two backends, both real servers in their own process, chosen by ``Settings.milvus_backend``:

* ``milvus`` (default): the Milvus 2.3 standalone binary shipped by the ``milvus`` PyPI
  package, with its embedded etcd and local storage under ``.data/milvus/``.
* ``milvus-lite``: the ``milvus-lite server`` command (pure-Python engine).

Usage: ``python -m shared.milvus_server start|stop|status [--backend B] [--port P]``.
When ``MILVUS_URI`` names an external Milvus, ``start`` does nothing: there is nothing of
ours to run. The server is detached (its own session) and recorded in a state file, so that
``stop`` from another process finds it; every start is paired with a stop by its caller.

Why not ``milvus.default_server``: its stop sends SIGTERM and SIGKILLs one second later,
which left stale etcd sessions and a 54 s next start here; and its port probe binds without
SO_REUSEADDR, so after a quick restart it silently moved to another port. We render the same
config, probe ports with SO_REUSEADDR, fail loudly when the asked port is busy, and give
Milvus time to shut down cleanly before any SIGKILL.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from shared.config import Settings, get_settings

__all__ = [
    "MilvusProcess",
    "MilvusStartError",
    "start_server",
    "stop_server",
    "server_status",
    "free_port",
    "client_token",
    "backend_dir",
    "locked",
    "pid_alive",
]

START_TIMEOUT_S = 120.0
# Milvus standalone needs a few seconds to deregister its etcd sessions; killing it sooner
# makes the next start wait for those sessions to expire (54 s measured).
STOP_GRACE_S = 20.0
START_ATTEMPTS = 3


class MilvusStartError(RuntimeError):
    """The embedded Milvus could not be started (port busy, binary failed, timed out)."""


class MilvusExitedEarly(MilvusStartError):
    """The Milvus process exited before it served (a panic, for instance)."""


@dataclass(frozen=True)
class MilvusProcess:
    """What we know about a running embedded Milvus; written to ``state.json``."""

    backend: str
    pid: int
    port: int
    data_dir: str
    started_at: float
    log_file: str
    # Started by a command for its own use (make serve-*, the workshop), to be stopped by the
    # last such command to leave; not by make milvus-up, whose server stays until milvus-down.
    on_demand: bool = False

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    """A TCP port that no socket uses right now, on any local address."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return int(sock.getsockname()[1])


def _bound_like_milvus(port: int) -> socket.socket | None:
    """A socket bound to ``port`` as Milvus will bind it, or None if Milvus could not.

    Milvus's servers listen on every address (Go's ``:port``), so the probe binds the
    wildcard too: a probe on 127.0.0.1 alone passed while another address held the port
    (seen here: an outbound connection from the machine's own address had 53100, Milvus's
    root coordinator port, as its source port; the probe passed, Milvus died with "bind:
    address already in use" three starts in a row). SO_REUSEADDR: lingering TIME_WAIT
    connections must not count as busy, because Go binds with it and will get the port.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("", port))
    except OSError:
        sock.close()
        return None
    return sock


def _port_is_free(port: int) -> bool:
    sock = _bound_like_milvus(port)
    if sock is None:
        return False
    sock.close()
    return True


def _state_file(data_dir: Path) -> Path:
    return data_dir / "state.json"


def backend_dir(settings: Settings, backend: str) -> Path:
    return Path(settings.data_dir) / ("milvus" if backend == "milvus" else "milvus-lite")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0); look at its state.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _read_state(data_dir: Path) -> MilvusProcess | None:
    path = _state_file(data_dir)
    if not path.exists():
        return None
    try:
        return MilvusProcess(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None


def _tcp_answers(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _milvus_command(
    data_dir: Path, port: int, time_tick_ms: int
) -> tuple[list[str], dict[str, str], Path]:
    """Render milvus.yaml with explicit ports and return (argv, env, cwd) for the binary."""
    import milvus  # the PyPI package that ships the standalone binary and its config template

    class _Config(milvus.MilvusServerConfig):  # type: ignore[misc]
        def try_bind_port(self, port: int) -> socket.socket | None:
            # Held listening until the config is written: two sockets that are only bound
            # with SO_REUSEADDR may share a port, so a later probe (the fixed client port)
            # could pass on a port an earlier one (an internal port) just took.
            sock = _bound_like_milvus(port)
            if sock is not None:
                sock.listen()
            return sock

    etcd_client, etcd_peer = _etcd_ports(data_dir)
    # Passed to the constructor (not set()), so a busy port fails loudly instead of drifting.
    config = _Config(data_dir=str(data_dir), proxy_port=port, etcd_port=etcd_client)
    config.set("proxy.timeTickInterval", time_tick_ms)
    # Milvus 2.3 listens on every interface and has no setting to bind loopback only, so its
    # client port asks for a password: the one in this data directory (see _secure).
    config.set("authorization_enabled", True)
    # Other internal ports are picked free at start, so two servers (tests beside a dev
    # server) can run at once; only the client port is fixed.
    config.resolve()
    milvus._initialize_data_files(str(data_dir))
    exe = data_dir / "bin" / "milvus"
    # The embedded etcd listens on 2379/2380 whatever milvus.yaml says, so a second Milvus
    # on the machine would die at start; give it its own ports through its config file.
    etcd_config = data_dir / "configs" / "embed-etcd.yaml"
    etcd_config.write_text(
        "name: twinbench\n"
        f"listen-client-urls: http://127.0.0.1:{etcd_client}\n"
        f"advertise-client-urls: http://127.0.0.1:{etcd_client}\n"
        f"listen-peer-urls: http://127.0.0.1:{etcd_peer}\n"
        f"initial-advertise-peer-urls: http://127.0.0.1:{etcd_peer}\n"
        f"initial-cluster: twinbench=http://127.0.0.1:{etcd_peer}\n"
    )
    env = os.environ.copy()
    env.update(
        {
            "DEPLOY_MODE": "STANDALONE",
            "METRICS_PORT": str(free_port()),
            "MILVUS_RUN_DIR": str(data_dir / "run"),
            "LD_LIBRARY_PATH": f"{exe.parent}:{env.get('LD_LIBRARY_PATH', '')}",
            "ETCD_CONFIG_PATH": str(etcd_config),
            "ETCD_ENDPOINTS": f"127.0.0.1:{etcd_client}",
        }
    )
    return [str(exe), "run", "standalone"], env, data_dir


def _etcd_ports(data_dir: Path) -> tuple[int, int]:
    """The embedded etcd's client and peer ports: the same across restarts when still free
    (etcd records its peer URL in its data), otherwise new free ones."""
    record = data_dir / "etcd-ports.json"
    with contextlib.suppress(OSError, ValueError, TypeError):
        client, peer = json.loads(record.read_text())
        if _port_is_free(int(client)) and _port_is_free(int(peer)):
            return int(client), int(peer)
    client, peer = free_port(), free_port()
    record.write_text(json.dumps([client, peer]))
    return client, peer


def _lite_command(data_dir: Path, port: int) -> tuple[list[str], dict[str, str], Path]:
    exe = shutil.which("milvus-lite") or str(Path(sys.executable).parent / "milvus-lite")
    if not Path(exe).exists():
        raise MilvusStartError(
            "the milvus-lite backend needs the 'milvus-lite' package: pip install 'twinbench[lite]'"
        )
    argv = [exe, "server", "--data-dir", str(data_dir / "data"), "--host", "127.0.0.1"]
    return [*argv, "--port", str(port)], os.environ.copy(), data_dir


def _wait_until_serving(
    proc: subprocess.Popen[bytes], port: int, log_file: Path, data_dir: Path, *, secure: bool
) -> None:
    """Block until a real client call succeeds, not merely until the port opens; then, with
    ``secure`` (Milvus, not milvus-lite), make sure root's password is our secret."""
    from pymilvus import MilvusClient

    deadline = time.monotonic() + START_TIMEOUT_S
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
            raise MilvusExitedEarly(
                f"Milvus exited with code {proc.returncode} while starting:\n{tail}"
            )
        if _tcp_answers(port):
            for token in _tokens_to_try(data_dir):
                try:
                    client = MilvusClient(uri=f"http://127.0.0.1:{port}", token=token, timeout=2)
                    client.list_collections(timeout=2)
                    client.close()
                except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
                    last_error = str(exc)[:200]
                    continue
                if secure:
                    _secure(port, token, data_dir)
                return
        time.sleep(0.25)
    raise MilvusStartError(f"Milvus did not answer within {START_TIMEOUT_S:.0f} s ({last_error})")


# Milvus's built-in first password for root; replaced by a secret of our own at the first start.
_DEFAULT_ROOT = "root:Milvus"


def _secret_file(data_dir: Path) -> Path:
    return data_dir / "root-password"


def _tokens_to_try(data_dir: Path) -> list[str]:
    """Our secret when we have set one, and Milvus's default (a data directory made before
    authentication was turned on, or a first start interrupted before the change)."""
    secret = _secret_file(data_dir)
    tokens = [f"root:{secret.read_text().strip()}"] if secret.exists() else []
    return [*tokens, _DEFAULT_ROOT]


def _secure(port: int, token: str, data_dir: Path) -> None:
    """Replace Milvus's default root password with a random secret kept in the data
    directory (mode 0600: readable by this user only), once per data directory."""
    if token != _DEFAULT_ROOT:
        return
    from pymilvus import MilvusClient

    secret = secrets.token_urlsafe(24)
    pending = _secret_file(data_dir).with_suffix(".new")
    pending.unlink(missing_ok=True)
    descriptor = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret)
    client = MilvusClient(uri=f"http://127.0.0.1:{port}", token=token, timeout=10)
    try:
        client.update_password("root", "Milvus", secret, timeout=10)
    finally:
        client.close()
    pending.replace(_secret_file(data_dir))


def client_token(settings: Settings) -> str:
    """The token a client of the Milvus ``settings`` name uses: ``MILVUS_TOKEN`` for an
    external one; for the embedded one, root and the secret in its data directory (empty
    for milvus-lite, which listens on 127.0.0.1 only and has no authentication)."""
    if not settings.embedded_milvus or settings.milvus_token:
        return settings.milvus_token
    if settings.milvus_backend != "milvus":
        return ""
    secret = _secret_file(backend_dir(settings, settings.milvus_backend).resolve())
    with contextlib.suppress(OSError):
        return f"root:{secret.read_text().strip()}"
    return _DEFAULT_ROOT


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if need be), held for the block, across
    processes; the kernel releases it if the holder dies."""
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start_server(
    settings: Settings | None = None,
    *,
    backend: str | None = None,
    port: int | None = None,
    on_demand: bool = False,
) -> MilvusProcess:
    """Start the embedded Milvus (or return the one already running) and wait until it serves.

    One start at a time per data directory, across processes: two commands started together
    (``make serve-flask`` beside ``make serve-fastapi``) would otherwise both find no server
    and both launch one on the same data. ``on_demand`` records that a command started it
    for its own use (:func:`shared.launcher.milvus_for`), not ``make milvus-up``.
    """
    settings = settings or get_settings()
    backend = backend or settings.milvus_backend
    port = port or settings.milvus_port
    data_dir = backend_dir(settings, backend).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    with locked(data_dir / "start.lock"):
        return _start_locked(settings, backend, port, data_dir, on_demand)


def _start_locked(
    settings: Settings, backend: str, port: int, data_dir: Path, on_demand: bool
) -> MilvusProcess:
    running = _read_state(data_dir)
    if running and pid_alive(running.pid):
        return running

    if not _port_is_free(port):
        raise MilvusStartError(
            f"port {port} on 127.0.0.1 is already in use; stop what holds it, or choose "
            "another with TWINBENCH_MILVUS_PORT"
        )
    if backend not in ("milvus", "milvus-lite"):
        raise MilvusStartError(f"unknown Milvus backend {backend!r}; use 'milvus' or 'milvus-lite'")

    for attempt in range(1, START_ATTEMPTS + 1):
        # Rendered again for every attempt: the internal ports are probed free, then bound by
        # Milvus later, and another Milvus on the machine may take one in between (seen:
        # "listen tcp :53100: bind: address already in use"); a retry must not reuse it.
        if backend == "milvus":
            argv, env, cwd = _milvus_command(data_dir, port, settings.milvus_time_tick_ms)
        else:
            argv, env, cwd = _lite_command(data_dir, port)
        try:
            state = _launch(argv, env, cwd, backend=backend, port=port, data_dir=data_dir)
            state = replace(state, on_demand=on_demand)
            break
        except MilvusExitedEarly as exc:
            if attempt == START_ATTEMPTS:
                raise
            # Seen once in CI, under load, right after a stop: Milvus 2.3 panicked while it
            # registered its components (etcd "leader changed", then a stale session's
            # compare-and-swap failed). A panic at start (an internal port taken meanwhile
            # included) is worth another try, after a pause that lets etcd settle; a timeout
            # or a busy client port is not.
            first_line = str(exc).splitlines()[0]
            print(
                f"{first_line}; starting it again ({attempt + 1}/{START_ATTEMPTS})", file=sys.stderr
            )
            time.sleep(2.0 * attempt)
    _state_file(data_dir).write_text(json.dumps(asdict(state), indent=2))
    return state


def _launch(
    argv: list[str], env: dict[str, str], cwd: Path, *, backend: str, port: int, data_dir: Path
) -> MilvusProcess:
    """Spawn the server in its own session and wait until it serves; stop it on failure."""
    log_file = data_dir / "server.log"
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv built by the caller
            argv,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        _wait_until_serving(proc, port, log_file, data_dir, secure=backend == "milvus")
    except BaseException:
        _terminate(proc.pid)
        raise
    return MilvusProcess(
        backend=backend,
        pid=proc.pid,
        port=port,
        data_dir=str(data_dir),
        started_at=time.time(),
        log_file=str(log_file),
    )


def _terminate(pid: int, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM the server's process group, give it ``grace_s`` to finish, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def stop_server(
    settings: Settings | None = None, *, backend: str | None = None, grace_s: float = STOP_GRACE_S
) -> bool:
    """Stop the embedded Milvus if it runs; True when something was stopped."""
    settings = settings or get_settings()
    data_dir = backend_dir(settings, backend or settings.milvus_backend).resolve()
    state = _read_state(data_dir)
    if state is None:
        return False
    stopped = pid_alive(state.pid)
    if stopped:
        _terminate(state.pid, grace_s)
    _state_file(data_dir).unlink(missing_ok=True)
    return stopped


def server_status(
    settings: Settings | None = None, *, backend: str | None = None
) -> dict[str, Any]:
    """A JSON-able description of the embedded server (or of the external one configured)."""
    settings = settings or get_settings()
    if not settings.embedded_milvus:
        return {"mode": "external", "uri": settings.milvus_uri}
    backend = backend or settings.milvus_backend
    state = _read_state(backend_dir(settings, backend).resolve())
    if state is None or not pid_alive(state.pid):
        return {"mode": "embedded", "backend": backend, "running": False}
    return {"mode": "embedded", "running": True, "uri": state.uri, **asdict(state)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.milvus_server", description=__doc__)
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--backend", choices=["milvus", "milvus-lite"], default=None)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    settings = get_settings()
    if not settings.embedded_milvus:
        print(
            f"MILVUS_URI is set ({settings.milvus_uri}): "
            f"using that server, nothing to {args.action}."
        )
        return 0
    if args.action == "start":
        began = time.perf_counter()
        try:
            state = start_server(settings, backend=args.backend, port=args.port)
        except MilvusStartError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        took = time.perf_counter() - began
        print(f"{state.backend} serving at {state.uri} (pid {state.pid}, ready in {took:.1f} s)")
        print(f"data and log: {state.data_dir}")
        if state.backend == "milvus":
            print(
                f"clients log in as root with the password in {_secret_file(Path(state.data_dir))}"
            )
    elif args.action == "stop":
        print("stopped" if stop_server(settings, backend=args.backend) else "not running")
    else:
        print(json.dumps(server_status(settings, backend=args.backend), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
