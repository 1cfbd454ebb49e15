"""Fixtures for the whole suite: one real Milvus and one search service per test session,
and both twins behind one small client interface, so a contract test is written once.

The Milvus server runs out of process on a free port with its data in a temp dir, and is
stopped when the session ends; the model is loaded once and shared by both apps.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import TWIN_PARAMS

# tests/shared, tests/flask_app and tests/fastapi_app mirror the project's packages and have
# no __init__.py; pytest puts tests/ on sys.path, where they would be found as empty
# namespace packages under the real names unless the project root is on sys.path too (it
# is under `python -m pytest`, not under the `pytest` script).
PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

import fastapi_app  # noqa: E402
import flask_app  # noqa: E402
from shared.config import Settings, get_settings  # noqa: E402
from shared.jobs import JobRegistry  # noqa: E402
from shared.launcher import free_port, own_milvus  # noqa: E402
from shared.service import SearchService  # noqa: E402
from shared.vector_store import MilvusVectorStore  # noqa: E402

COLLECTION = "contract_tests"

Files = Mapping[str, tuple[str, bytes, str]]


@dataclass(frozen=True)
class Reply:
    """What a test needs from a response, the same for Flask's and Starlette's clients."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")


_NO_JSON = object()


class AppClient:
    """One interface over Flask's test client and FastAPI's TestClient.

    ``json=`` sends a JSON body, ``content=`` raw bytes (with the caller's content type),
    ``files=`` a multipart form of ``{field: (filename, data, content_type)}``.
    """

    def __init__(self, name: str, send: Callable[..., Reply]) -> None:
        self.name = name
        self._send = send

    def __repr__(self) -> str:
        return f"AppClient({self.name})"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = _NO_JSON,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        files: Files | None = None,
    ) -> Reply:
        return self._send(method, path, json, content, dict(headers or {}), files)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Reply:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, **kwargs)


def flask_client(app: Any) -> AppClient:
    test_client = app.test_client()

    def send(method, path, body, content, headers, files) -> Reply:  # type: ignore[no-untyped-def]
        kwargs: dict[str, Any] = {"method": method, "headers": headers}
        if body is not _NO_JSON:
            kwargs["json"] = body
        elif content is not None:
            kwargs["data"] = content
        elif files is not None:
            kwargs["data"] = {
                field: (io.BytesIO(data), filename, ctype)
                for field, (filename, data, ctype) in files.items()
            }
            kwargs["content_type"] = "multipart/form-data"
        response = test_client.open(path, **kwargs)
        return Reply(response.status_code, response.headers, response.get_data())

    return AppClient("flask", send)


def fastapi_client(test_client: TestClient) -> AppClient:
    def send(method, path, body, content, headers, files) -> Reply:  # type: ignore[no-untyped-def]
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not _NO_JSON:
            kwargs["json"] = body
        elif content is not None:
            kwargs["content"] = content
        elif files is not None:
            kwargs["files"] = dict(files)
        response = test_client.request(method, path, **kwargs)
        return Reply(response.status_code, response.headers, response.content)

    return AppClient("fastapi", send)


# --- the real core, once per session --------------------------------------------------------
@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of a real Milvus started for this session on a free port, in a temp dir.

    Throwaway: SIGKILLed at the end (a graceful stop only helps a next start on the same
    data, and there is none), which saves the suite the seconds Milvus takes to stop.
    """
    data_dir = tmp_path_factory.mktemp("twinbench-data")
    # Searches encode alone unless a test asks for the batcher, as the bench serves the twins.
    with own_milvus(
        data_dir=data_dir, throwaway=True, collection=COLLECTION, search_batching=False
    ) as settings:
        yield settings


@pytest.fixture(scope="session")
def service(settings: Settings) -> Iterator[SearchService]:
    """The one search service (model loaded once) that both apps share."""
    service = SearchService.from_settings(settings)
    try:
        yield service
    finally:
        service.jobs.wait_idle()
        service.close()


def twin_client(twin: str, service: SearchService) -> Iterator[AppClient]:
    """A client of one twin built over ``service`` (FastAPI's lifespan runs around it)."""
    if twin == "flask":
        yield flask_client(flask_app.create_app(service.settings, service))
    else:
        with TestClient(fastapi_app.create_app(service.settings, service)) as test_client:
            yield fastapi_client(test_client)


@pytest.fixture(scope="session")
def flask_app_client(settings: Settings, service: SearchService) -> AppClient:
    return flask_client(flask_app.create_app(settings, service))


@pytest.fixture(scope="session")
def fastapi_app_client(settings: Settings, service: SearchService) -> Iterator[AppClient]:
    with TestClient(fastapi_app.create_app(settings, service)) as test_client:
        yield fastapi_client(test_client)


@pytest.fixture(params=TWIN_PARAMS)
def client(request: pytest.FixtureRequest) -> AppClient:
    """Each contract test runs once against each twin."""
    fixture: AppClient = request.getfixturevalue(f"{request.param}_app_client")
    return fixture


@pytest.fixture
def both(flask_app_client: AppClient, fastapi_app_client: AppClient) -> tuple[AppClient, ...]:
    """Both twins, for tests that send one request to each and compare the answers."""
    return flask_app_client, fastapi_app_client


# --- a twin whose Milvus cannot be reached (503s) ---------------------------------------------
@pytest.fixture(scope="session")
def unreachable_service(
    service: SearchService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchService]:
    """The real model, and a Milvus address where nothing listens."""
    settings = get_settings(
        data_dir=tmp_path_factory.mktemp("unreachable"),
        milvus_port=free_port(),
        milvus_timeout_s=0.5,
    )
    down = SearchService(
        settings=settings,
        embedder=service.embedder,
        store=MilvusVectorStore(settings=settings, dimension=service.embedder.dimension),
        jobs=JobRegistry(settings.data_dir / "jobs"),
    )
    yield down
    down.close()


@pytest.fixture(params=TWIN_PARAMS)
def unreachable_client(
    request: pytest.FixtureRequest, unreachable_service: SearchService
) -> Iterator[AppClient]:
    yield from twin_client(request.param, unreachable_service)


# --- twins that require an API key for writes ---------------------------------------------------
API_KEY = "test-key-5b1f"


@pytest.fixture(scope="session")
def keyed_service(settings: Settings, service: SearchService) -> SearchService:
    """The session's model and collection, behind settings that set an API key."""
    keyed = get_settings(**{**settings.model_dump(), "api_key": API_KEY})
    return SearchService(
        settings=keyed, embedder=service.embedder, store=service.store, jobs=service.jobs
    )


@pytest.fixture(params=TWIN_PARAMS)
def keyed_client(
    request: pytest.FixtureRequest, keyed_service: SearchService
) -> Iterator[AppClient]:
    yield from twin_client(request.param, keyed_service)


# --- the fast lane: `make test-fast` runs `-m "not live"`, no Milvus and no live server -------
# A test is live when its fixtures reach the session's Milvus (`settings`, or `client`, which
# reaches it through request.getfixturevalue where pytest's fixture closure cannot see it),
# when it lives in tests/reliability (live servers), or when it starts servers of its own.
LIVE_FIXTURES = frozenset({"settings", "client"})
LIVE_FOLDERS = frozenset({"reliability"})
# Tests that start servers of their own: both twins (the smoke test), a Milvus (the launcher).
STARTS_SERVERS = frozenset({"bench/test_bench_smoke.py", "shared/test_launcher.py"})
TESTS_DIR = Path(__file__).resolve().parent


def is_live(item: pytest.Item) -> bool:
    where = (
        item.path.relative_to(TESTS_DIR).as_posix() if item.path.is_relative_to(TESTS_DIR) else ""
    )
    return (
        not LIVE_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))
        or where.partition("/")[0] in LIVE_FOLDERS
        or where in STARTS_SERVERS
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if is_live(item):
            item.add_marker(pytest.mark.live)


class FastLaneGuard:
    """In the fast lane, a test that still reaches the session's Milvus errors in its setup
    instead of starting one: a fixture of its reaches ``settings`` where ``is_live`` cannot see.

    A plugin of its own, not a hook of this conftest: pytest asks a conftest only about
    fixtures of the nodes under its folder, and a session fixture belongs to the session.
    """

    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        if fixturedef.argname == "settings":
            pytest.fail(
                "this test reaches the session's Milvus but is not marked live: add the "
                "fixture that reaches it to LIVE_FIXTURES in tests/conftest.py"
            )


def pytest_configure(config: pytest.Config) -> None:
    if "not live" in config.option.markexpr:
        config.pluginmanager.register(FastLaneGuard(), "fast-lane-guard")
