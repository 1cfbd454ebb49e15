"""The server catalogue: labels say what ran, and the app is told its threads."""

from __future__ import annotations

import pytest

from shared.servers import ServerSpec, server_argv


@pytest.mark.parametrize(
    ("app", "server", "label"),
    [
        ("flask", "gunicorn-gthread", "flask/gunicorn-gthread/1wx4t"),
        ("fastapi", "uvicorn", "fastapi/uvicorn/1wx4t"),
        ("fastapi", "granian", "fastapi/granian/1wx4t"),
        ("flask", "gunicorn-sync", "flask/gunicorn-sync/1w"),
    ],
)
def test_a_label_says_the_threads_for_blocking_work(app: str, server: str, label: str) -> None:
    assert ServerSpec(app=app, server=server).label == label


def test_both_twins_get_the_same_threads() -> None:
    flask = ServerSpec(app="flask", server="gunicorn-gthread", threads=8)
    fastapi = ServerSpec(app="fastapi", server="uvicorn", threads=8)
    assert server_argv(flask)[server_argv(flask).index("--threads") + 1] == "8"
    assert flask.env() == fastapi.env() == {"TWINBENCH_BLOCKING_THREADS": "8"}
