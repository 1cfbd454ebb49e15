"""The open model's send schedule: when each paced user should send its next request.

Pure arithmetic, kept apart from the Locust file (importing Locust patches the standard
library with gevent) so that the tests can check it directly.

A class of U users shares a rate R: user slot s sends its k-th request at
origin + (s + k*U) / R, so together they send R requests/s evenly spaced. The origin is
the class's first paced request. A user that joins late (spawned later, or done later with
its setup) starts at its next slot rather than owing the slots it missed: setup is not a
backlog. After that, a user held up by a slow answer owes its missed sends and sends them at
once, which is what keeps a queue from hiding (latency counts from the intended time).
"""

from __future__ import annotations

import math

__all__ = ["first_send_index", "intended_time"]


def first_send_index(*, origin: float, now: float, slot: int, users: int, rate: float) -> int:
    """The index k of a joining user's first send: the first of its times not yet past."""
    missed = (now - origin) * rate - slot
    return max(0, math.ceil(missed / users))


def intended_time(*, origin: float, slot: int, index: int, users: int, rate: float) -> float:
    """When the user in ``slot`` should send its ``index``-th request."""
    return origin + (slot + index * users) / rate
