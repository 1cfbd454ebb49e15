"""The floors a twin's ``/health`` is measured against, each answering the same small JSON.

* ``raw``: a bare WSGI and a bare ASGI callable, no framework: what the server alone costs.
* ``bare_flask`` / ``bare_fastapi``: a minimal app of each framework with one route and
  nothing else: what the framework adds on top of the server.

The twin minus its bare framework is then what our own code costs (the health cache, the
service lookup, the response model): three costs, each measured, none inferred.
"""

from __future__ import annotations

import json

__all__ = ["HEALTH_BODY", "HEALTH_JSON"]

# The shape and size of a twin's healthy /health answer, as a constant.
HEALTH_BODY: dict[str, object] = {
    "status": "ok",
    "documents": 11572,
    "model": "all-MiniLM-L6-v2",
    "runtime": "onnx",
    "milvus": "milvus at http://127.0.0.1:19530",
}
HEALTH_JSON = json.dumps(HEALTH_BODY, separators=(",", ":")).encode()
