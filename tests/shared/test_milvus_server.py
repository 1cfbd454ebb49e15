"""The embedded Milvus launcher: status, a second server beside the session's one, and the
password its client port asks for."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from shared import milvus_server
from shared.config import Settings, get_settings
from shared.milvus_server import (
    START_ATTEMPTS,
    MilvusExitedEarly,
    MilvusStartError,
    client_token,
    free_port,
    server_status,
    start_server,
    stop_server,
)


def test_status_describes_the_running_server(settings: Settings) -> None:
    status = server_status(settings)
    assert status["mode"] == "embedded"
    assert status["running"] is True
    assert status["port"] == settings.milvus_port
    assert status["uri"] == f"http://127.0.0.1:{settings.milvus_port}"


def test_start_returns_the_server_already_running(settings: Settings) -> None:
    before = server_status(settings)
    again = start_server(settings, port=settings.milvus_port)
    assert again.pid == before["pid"]


def test_status_and_stop_of_a_server_never_started(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = get_settings(data_dir=tmp_path_factory.mktemp("never"), milvus_port=free_port())
    assert server_status(settings)["running"] is False
    assert stop_server(settings) is False


def test_start_refuses_a_busy_port(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other = get_settings(data_dir=tmp_path_factory.mktemp("busy"), milvus_port=settings.milvus_port)
    with pytest.raises(MilvusStartError, match="already in use"):
        start_server(other, port=settings.milvus_port)


def test_a_second_embedded_server_starts_beside_the_first(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The launcher promises that tests can run beside a developer's server: every internal
    # port of the second one must be free, not only its client port.
    # It also runs with a time tick of its own, rendered into its milvus.yaml.
    port = free_port()
    second = get_settings(
        data_dir=tmp_path_factory.mktemp("second"), milvus_port=port, milvus_time_tick_ms=100
    )
    try:
        state = start_server(second, port=port)
        assert state.port == port
        rendered = (Path(state.data_dir) / "configs" / "milvus.yaml").read_text()
        assert re.search(r"^proxy:\n  timeTickInterval: 100 ", rendered, re.MULTILINE)
        assert server_status(second)["running"] is True
        assert server_status(settings)["running"] is True
    finally:
        stop_server(second, grace_s=0.0)  # throwaway data: SIGKILL, nothing to spare
    assert server_status(second)["running"] is False


def test_a_server_that_dies_while_starting_is_started_again_then_reported(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fault injection: a "binary" that records each launch and exits at once, as a Milvus
    # that panics during start does. Each start is retried, then the error names the exit.
    data = tmp_path_factory.mktemp("dies")
    launches = data / "launches"
    dies = [sys.executable, "-c", f"open({str(launches)!r}, 'a').write('x'); raise SystemExit(6)"]
    monkeypatch.setattr(
        milvus_server,
        "_milvus_command",
        lambda data_dir, port, time_tick_ms: (dies, dict(os.environ), data),
    )
    settings = get_settings(data_dir=data, milvus_port=free_port())
    with pytest.raises(MilvusExitedEarly, match="exited with code 6 while starting"):
        start_server(settings)
    assert launches.read_text() == "x" * START_ATTEMPTS
    assert server_status(settings)["running"] is False


def test_a_port_held_on_another_local_address_is_not_free() -> None:
    # Milvus listens on every address: a port another local address holds (here a socket on
    # 127.0.0.2, as an outbound connection from the machine's own address holds its source
    # port) would make it die with "address already in use", so the probe must refuse it.
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.2", 0))
        port = holder.getsockname()[1]
        assert milvus_server._port_is_free(port) is False
        assert milvus_server._bound_like_milvus(port) is None
    assert milvus_server._port_is_free(port) is True  # released: free again


def _listening(pid: int) -> dict[int, set[str]]:
    """The TCP ports process ``pid`` listens on, each with the addresses it is bound to."""
    import psutil

    found: dict[int, set[str]] = {}
    for conn in psutil.Process(pid).net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN:
            found.setdefault(conn.laddr.port, set()).add(conn.laddr.ip)
    return found


def test_the_embedded_milvus_client_port_asks_for_the_secret_in_its_data_dir(
    settings: Settings,
) -> None:
    from pymilvus import MilvusClient

    status = server_status(settings)
    ports = _listening(int(status["pid"]))
    # Milvus 2.3 binds every interface and cannot be told otherwise: what guards its client
    # port is the password. (Its etcd, configured by us, stays on loopback.)
    assert settings.milvus_port in ports, ports
    etcd_client, etcd_peer = map(
        int, re.findall(r"\d+", (Path(status["data_dir"]) / "etcd-ports.json").read_text())
    )
    assert ports.get(etcd_client) == {"127.0.0.1"}, ports
    secret = Path(status["data_dir"]) / "root-password"
    assert secret.stat().st_mode & 0o777 == 0o600
    uri = f"http://127.0.0.1:{settings.milvus_port}"
    for wrong in ("", "root:Milvus", "root:not-the-secret"):
        with pytest.raises(Exception) as refused:
            client = MilvusClient(uri=uri, token=wrong, timeout=5)
            client.list_collections(timeout=5)
        # pymilvus words a refused login as "illegal connection params"; the right token
        # succeeding just below shows the server was there all along.
        assert re.search(
            r"(?i)auth|password|credential|illegal connection params", str(refused.value)
        )
    token = client_token(settings)
    assert token == f"root:{secret.read_text().strip()}"
    client = MilvusClient(uri=uri, token=token, timeout=5)
    try:
        assert isinstance(client.list_collections(timeout=5), list)  # logged in
    finally:
        client.close()
