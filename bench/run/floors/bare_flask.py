"""The Flask floor: a minimal Flask app, one route, the same small JSON as a twin's /health.

Served by ``gunicorn bench.run.floors.bare_flask:app`` (or granian) exactly like the twin.
"""

from __future__ import annotations

from flask import Flask

from bench.run.floors import HEALTH_BODY

__all__ = ["app"]

app = Flask(__name__)


@app.get("/health")
def health() -> dict[str, object]:
    return HEALTH_BODY
