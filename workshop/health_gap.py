"""``python -m workshop health-gap FLASK_URL FASTAPI_URL``: lab 9's stopwatch.

One client, one keep-alive connection per twin, one request at a time: GET /health on each
twin in interleaved rounds, so a machine that slows down slows both alike. Each round's
figure is the median of its requests; the gap of a round is Flask's median minus FastAPI's,
in microseconds. The client's own cost is the same on both sides, so it leaves the gap alone.
"""

from __future__ import annotations

import http.client
import statistics
import sys
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Gap", "measure", "main", "parse"]

ROUNDS = 7
REQUESTS_PER_ROUND = 400
WARM_UP = 200


@dataclass(frozen=True)
class Gap:
    """Per round: each twin's median /health (µs) and the gap, Flask minus FastAPI."""

    flask_us: list[float]
    fastapi_us: list[float]

    @property
    def gaps_us(self) -> list[float]:
        return [f - a for f, a in zip(self.flask_us, self.fastapi_us, strict=True)]


def _median_us(connection: http.client.HTTPConnection, requests: int) -> float:
    times = []
    for _ in range(requests):
        began = time.perf_counter()
        connection.request("GET", "/health")
        response = connection.getresponse()
        response.read()
        times.append((time.perf_counter() - began) * 1e6)
        if response.status != 200:
            raise RuntimeError(f"/health answered {response.status}: is the twin healthy?")
    return statistics.median(times)


def _connect(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"expected a URL like http://127.0.0.1:8001 (got {url!r})")
    return http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)


def measure(flask_url: str, fastapi_url: str) -> Gap:
    flask, fastapi = _connect(flask_url), _connect(fastapi_url)
    try:
        _median_us(flask, WARM_UP)
        _median_us(fastapi, WARM_UP)
        flask_us: list[float] = []
        fastapi_us: list[float] = []
        for n in range(ROUNDS):
            # ABBA: neither twin always goes first.
            order = [(flask, flask_us), (fastapi, fastapi_us)]
            for connection, figures in order if n % 2 == 0 else reversed(order):
                figures.append(_median_us(connection, REQUESTS_PER_ROUND))
        return Gap(flask_us, fastapi_us)
    finally:
        flask.close()
        fastapi.close()


def render(gap: Gap) -> str:
    rounds = " ".join(f"{g:.0f}" for g in gap.gaps_us)
    return (
        f"GET /health, one at a time, median of {REQUESTS_PER_ROUND} per round, {ROUNDS} rounds\n"
        f"flask:   {statistics.median(gap.flask_us):7.0f} us\n"
        f"fastapi: {statistics.median(gap.fastapi_us):7.0f} us\n"
        f"gap (flask - fastapi) per round, us: {rounds}\n"
    )


def parse(output: str) -> list[float]:
    """The per-round gaps (µs) from what :func:`render` printed."""
    for line in output.splitlines():
        if line.startswith("gap (flask - fastapi) per round, us:"):
            return [float(value) for value in line.split(":", 1)[1].split()]
    raise RuntimeError(f"no gap line in:\n{output[-1500:]}")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m workshop health-gap FLASK_URL FASTAPI_URL", file=sys.stderr)
        return 2
    try:
        gap = measure(*argv)
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"health-gap: {exc} (are both twins running? see docs/workshop/README.md)")
        return 2
    print(render(gap), end="")
    return 0
