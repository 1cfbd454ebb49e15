"""The bench compares twins only on one model runtime: read from each twin's /health."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.run.configs import model_runtimes


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
