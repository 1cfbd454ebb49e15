"""The open model's send schedule: when each paced user should send its next request.

Pure arithmetic, kept apart from the Locust file (importing Locust patches the standard
library with gevent) so that the tests can check it directly.

A class of U users shares a rate R: user slot s sends its k-th request at
origin + (s + k*U) / R, so together they send R requests/s evenly spaced. The origin is
the class's first paced request. A user that joins late (spawned later, or done later with
its setup) starts at its next slot rather than owing the slots it missed: setup is not a
backlog. After that, a user held up by a slow answer owes its missed sends and sends them at
once, which is what keeps a queue from hiding (latency counts from the intended time).

The point reads' documents are sized here too, from the same rate: each user must store
enough for the deletes it will send.
"""

from __future__ import annotations

import math

__all__ = ["first_send_index", "intended_time", "documents_for_deletes"]


def first_send_index(*, origin: float, now: float, slot: int, users: int, rate: float) -> int:
    """The index k of a joining user's first send: the first of its times not yet past."""
    missed = (now - origin) * rate - slot
    return max(0, math.ceil(missed / users))


def intended_time(*, origin: float, slot: int, index: int, users: int, rate: float) -> float:
    """When the user in ``slot`` should send its ``index``-th request."""
    return origin + (slot + index * users) / rate


def documents_for_deletes(*, user_rate: float, run_s: float, delete_share: float) -> int:
    """Documents a point-read user stores: half as many again as the deletes it is expected
    to send over the whole run (setup, warm-up, window and tail) at ``user_rate``, so its
    deletes never run out, plus 8, and at least 24 to read from.

    The quick profile's point reads (25 req/s over four users, a 36.5 s run, two deletes in
    thirteen paced requests) store 61 each. Their 30 s window expects about 115 deletes in
    all (tasks are drawn at random, so a run sends somewhat more or fewer), where 24
    documents each would cap them at 92.
    """
    expected = user_rate * run_s * delete_share
    return max(24, math.ceil(1.5 * expected) + 8)
