"""The bench compares twins only on one model runtime, read from each twin's /health, but
for the runtime comparison's twins, which were told another runtime on purpose."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.plan.profiles import PROFILES
from bench.plan.steps import plan_configs
from bench.plan.topology import TWINS
from bench.results import ServerConfig
from bench.run.configs import model_runtimes, told_runtimes


def _health_server(runtime: str) -> ThreadingHTTPServer:
    body = json.dumps({"status": "ok", "documents": 1, "model": "m", "runtime": runtime})

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server convention
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def twins() -> Iterator[dict[str, str]]:
    servers = {
        name: _health_server(runtime)
        for name, runtime in [("onnx-a", "onnx"), ("onnx-b", "onnx"), ("torch", "torch")]
    }
    yield {name: f"http://127.0.0.1:{s.server_address[1]}" for name, s in servers.items()}
    for server in servers.values():
        server.shutdown()
        server.server_close()


def test_twins_on_one_runtime_are_recorded_with_it(twins: dict[str, str]) -> None:
    urls = {"flask": twins["onnx-a"], "fastapi": twins["onnx-b"]}
    assert model_runtimes(urls) == {"flask": "onnx", "fastapi": "onnx"}


def test_twins_on_different_runtimes_are_refused(twins: dict[str, str]) -> None:
    urls = {"flask": twins["onnx-a"], "fastapi": twins["torch"]}
    with pytest.raises(
        RuntimeError, match="different model runtimes .*fastapi: torch.*flask: onnx"
    ):
        model_runtimes(urls)


def test_a_twin_told_another_runtime_on_purpose_is_allowed(twins: dict[str, str]) -> None:
    urls = {"flask": twins["onnx-a"], "fastapi": twins["onnx-b"], "fastapi+torch": twins["torch"]}
    found = model_runtimes(urls, {"fastapi+torch": "torch"})
    assert found == {"flask": "onnx", "fastapi": "onnx", "fastapi+torch": "torch"}


def test_a_twin_that_ignores_the_runtime_it_was_told_is_refused(twins: dict[str, str]) -> None:
    urls = {"flask": twins["onnx-a"], "flask+torch": twins["onnx-b"]}
    with pytest.raises(RuntimeError, match=r"ignored .*flask\+torch: told torch, runs onnx"):
        model_runtimes(urls, {"flask+torch": "torch"})


def test_ordinary_twins_on_different_runtimes_stay_refused_beside_a_told_one(
    twins: dict[str, str],
) -> None:
    urls = {"flask": twins["onnx-a"], "fastapi": twins["torch"], "flask+torch": twins["torch"]}
    with pytest.raises(
        RuntimeError, match="different model runtimes .*fastapi: torch.*flask: onnx"
    ):
        model_runtimes(urls, {"flask+torch": "torch"})


def test_the_configurations_told_a_runtime_are_read_from_their_settings() -> None:
    profile = PROFILES["batching"]
    configs = [
        ServerConfig(
            p.label,
            "app",
            "s",
            1,
            4,
            "asgi",
            [],
            False,
            "on",
            [0],
            1.0,
            "twin",
            p.spec.variant,
            dict(p.spec.app_env),
        )
        for p in plan_configs(profile, TWINS, 1)
        if p.spec is not None
    ]
    assert told_runtimes(configs) == {
        "flask/gunicorn-gthread/1wx4t+torch": "torch",
        "flask/gunicorn-gthread/1wx4t+batched+torch": "torch",
        "fastapi/uvicorn/1wx4t+torch": "torch",
        "fastapi/uvicorn/1wx4t+batched+torch": "torch",
    }
