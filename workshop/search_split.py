"""``python -m workshop search-split URL``: lab 10's split of one search's time.

One client sends text searches one at a time over one keep-alive connection and keeps, per
search, the latency it waited and the ``took_ms`` the twin's answer reports: the core's own
time, the model and Milvus (``SearchService.search_text``). The difference is everything
else: the server, the framework, validation, JSON, the socket. The samples are written to
``.data/workshop/search-split-<port>.json`` for ``make workshop-check``.
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from shared.config import PROJECT_ROOT

__all__ = ["SAMPLES_DIR", "main", "measure", "samples_path"]

SEARCHES = 60
WARM_UP = 5
SAMPLES_DIR = PROJECT_ROOT / ".data" / "workshop"
# Queries of a few words, as the bench's text searches are; cycled.
QUERIES = (
    "read a file line by line",
    "parse command line arguments",
    "open a network socket",
    "compress data with zlib",
    "format a date as text",
    "run a subprocess and wait",
)


def samples_path(url: str) -> Path:
    return SAMPLES_DIR / f"search-split-{urlsplit(url).port}.json"


def _search(connection: http.client.HTTPConnection, query: str) -> tuple[float, float]:
    body = json.dumps({"query": query, "top_k": 10})
    began = time.perf_counter()
    connection.request("POST", "/search", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = response.read()
    waited_ms = (time.perf_counter() - began) * 1000
    if response.status != 200:
        raise RuntimeError(f"/search answered {response.status}: {answer[:200]!r}")
    return waited_ms, float(json.loads(answer)["took_ms"])


def measure(url: str) -> dict[str, list[float]]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"expected a URL like http://127.0.0.1:8002 (got {url!r})")
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
    try:
        for n in range(WARM_UP):
            _search(connection, QUERIES[n % len(QUERIES)])
        pairs = [_search(connection, QUERIES[n % len(QUERIES)]) for n in range(SEARCHES)]
    finally:
        connection.close()
    return {"client_ms": [p[0] for p in pairs], "took_ms": [p[1] for p in pairs]}


def main(url: str) -> int:
    try:
        samples = measure(url)
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"search-split: {exc} (is the twin running? see docs/workshop/README.md)")
        return 2
    path = samples_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(samples), encoding="utf-8")
    client = statistics.median(samples["client_ms"])
    core = statistics.median(samples["took_ms"])
    print(
        f"{SEARCHES} searches one at a time on {url}, medians:\n"
        f"client waited:             {client:7.2f} ms\n"
        f"core (took_ms: model + Milvus): {core:7.2f} ms  ({core / client:.0%})\n"
        f"everything else (server, framework, HTTP): {client - core:7.2f} ms\n"
        f"samples: {path.relative_to(PROJECT_ROOT)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
