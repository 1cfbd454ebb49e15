"""Fixtures for the reliability and security tests (issue 5): both twins as real servers.

One Milvus of this folder's own (free port, temp data dir) and one live server per twin,
started once for the whole folder, together: the servers load their model while Milvus
starts. A test may SIGKILL or SIGTERM a server, or stop and restart Milvus; the ``live``
fixture starts a stopped server again before the next test, and teardown stops everything,
whatever happened. The in-process ``twin`` fixture reuses the root conftest's clients, with
FastAPI's test client answering a crash with the 500 a user would see instead of raising it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from reliability_support import LiveServer, server_env
from support import TWIN_PARAMS, TWINS

import fastapi_app
from shared.config import Settings, get_settings
from shared.launcher import free_port
from shared.milvus_server import MilvusStartError, start_server, stop_server
from shared.service import SearchService

if TYPE_CHECKING:
    from conftest import AppClient

ROOT_CONFTEST = Path(__file__).resolve().parent.parent / "conftest.py"


class LiveStack:
    """This folder's Milvus and one live server per twin pointed at it."""

    def __init__(self, milvus: Settings, servers: dict[str, LiveServer]) -> None:
        self.milvus = milvus
        self.servers = servers

    def start_milvus(self) -> None:
        try:
            start_server(self.milvus, port=self.milvus.milvus_port)
        except MilvusStartError:
            # Its internal ports are probed free, then bound by Milvus later: on a machine
            # where other suites start servers too, one can be taken in between. Try once more.
            start_server(self.milvus, port=self.milvus.milvus_port)

    def stop_milvus(self, grace_s: float = 0.0) -> None:
        # SIGKILL, the outage a crash makes: given 20 s after SIGTERM, this Milvus used them
        # all and was SIGKILLed anyway (measured: 20.1 s), so a graceful stop only made the
        # outage test 20 s longer.
        stop_server(self.milvus, grace_s=grace_s)


# The hung and outage tests freeze, stop and restart this folder's Milvus and the shutdown
# test stops the servers: run them last, so that nothing else depends on how well they went.
LAST_MODULES = ("test_hung_milvus.py", "test_outage.py", "test_shutdown.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    slots = [index for index, item in enumerate(items) if item.path.parent == here]

    def order(item: pytest.Item) -> int:
        name = item.path.name
        return LAST_MODULES.index(name) + 1 if name in LAST_MODULES else 0

    mine = sorted((items[index] for index in slots), key=order)
    for index, item in zip(slots, mine, strict=True):
        items[index] = item


@pytest.fixture(scope="package")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    data_dir = tmp_path_factory.mktemp("reliability")
    milvus = get_settings(data_dir=data_dir, milvus_port=free_port(), collection="reliability")
    servers = {
        app: LiveServer(
            app=app,
            port=free_port(),
            env=server_env(milvus, app=app),
            log_path=data_dir / f"{app}-server.log",
        )
        for app in TWINS
    }
    stack = LiveStack(milvus, servers)
    try:
        for server in servers.values():
            server.start()
        stack.start_milvus()
        for server in servers.values():
            server.wait_ready()
        yield stack
    finally:
        for server in servers.values():
            server.stop()
        # Throwaway data (deleted with the temp dir): no next start to spare, so SIGKILL.
        stop_server(milvus, grace_s=0.0)


@pytest.fixture(params=TWIN_PARAMS)
def live(request: pytest.FixtureRequest, live_stack: LiveStack) -> LiveServer:
    """One running twin server (started again if an earlier test stopped it)."""
    server = live_stack.servers[request.param]
    server.ensure_running()
    return server


# --- in-process twins ---------------------------------------------------------------------------
def _root_conftest(config: pytest.Config) -> Any:
    # Both conftest files are modules named "conftest": ask pytest for the loaded root one.
    module = config.pluginmanager.get_plugin(str(ROOT_CONFTEST))
    assert module is not None, f"{ROOT_CONFTEST} is not loaded"
    return module


@pytest.fixture(scope="session")
def crash_reporting_fastapi(
    pytestconfig: pytest.Config, settings: Settings, service: SearchService
) -> Iterator[AppClient]:
    app = fastapi_app.create_app(settings, service)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield _root_conftest(pytestconfig).fastapi_client(test_client)


@pytest.fixture(params=TWIN_PARAMS)
def twin(request: pytest.FixtureRequest) -> AppClient:
    """An in-process twin over the session's Milvus; a crash comes back as a 500 reply."""
    if request.param == "flask":
        client: AppClient = request.getfixturevalue("flask_app_client")
    else:
        client = request.getfixturevalue("crash_reporting_fastapi")
    return client
