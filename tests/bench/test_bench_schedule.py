"""The open model's schedule: evenly spaced sends, and a late joiner owes no backlog."""

from __future__ import annotations

import pytest

from bench.load.schedule import documents_for_deletes, first_send_index, intended_time


def test_users_together_send_the_rate_evenly_spaced() -> None:
    times = sorted(
        intended_time(origin=10.0, slot=slot, index=k, users=4, rate=100.0)
        for slot in range(4)
        for k in range(25)
    )
    gaps = {round(b - a, 9) for a, b in zip(times, times[1:], strict=False)}
    assert gaps == {0.01} and times[0] == 10.0 and len(times) == 100


def test_a_user_joining_at_once_starts_at_its_first_slot() -> None:
    assert first_send_index(origin=5.0, now=5.0, slot=3, users=4, rate=25.0) == 0


def test_a_user_joining_after_its_setup_starts_at_its_next_slot_not_its_backlog() -> None:
    # Slot 1 of 4 at 25 req/s: its times are 0.04, 0.20, 0.36, ... s after the origin. Done
    # with its setup 3.0 s in, it sends next at 3.08 s, not 75 requests at full speed.
    index = first_send_index(origin=0.0, now=3.0, slot=1, users=4, rate=25.0)
    at = intended_time(origin=0.0, slot=1, index=index, users=4, rate=25.0)
    assert at == pytest.approx(3.08)
    earlier = intended_time(origin=0.0, slot=1, index=index - 1, users=4, rate=25.0)
    assert earlier < 3.0 <= at


def test_point_read_users_store_half_as_many_again_as_their_expected_deletes() -> None:
    # The quick profile: 25 req/s over four users, a 36.5 s run, two deletes in thirteen.
    # 6.25 * 36.5 * 2/13 = 35.1 deletes expected; 1.5 times that, rounded up, plus 8.
    assert documents_for_deletes(user_rate=6.25, run_s=36.5, delete_share=2 / 13) == 61
    # Twice the run needs about twice the documents.
    assert documents_for_deletes(user_rate=6.25, run_s=73.0, delete_share=2 / 13) == 114


def test_point_read_users_store_at_least_24_documents_to_read_from() -> None:
    # Run by hand, the runner's rate and run length are unset (0).
    assert documents_for_deletes(user_rate=0.0, run_s=0.0, delete_share=2 / 13) == 24
    assert documents_for_deletes(user_rate=1.0, run_s=10.0, delete_share=2 / 13) == 24
