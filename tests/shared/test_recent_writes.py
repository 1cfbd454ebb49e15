"""This process's record of its recent writes: answered only while no other write can be
newer. Over the real write-marks table; a second table object on the same file stands for
another process (it shares the file, not this process's record)."""

from __future__ import annotations

import time
from pathlib import Path

from shared.recent_writes import RecentWrites
from shared.write_marks import WriteMarks

MILVUS, COLLECTION = "http://127.0.0.1:1", "recent"
ROW = {"id": "doc-1", "title": "", "text": "ours", "tags": [], "created_at": 1}


def _tables(tmp_path: Path) -> tuple[WriteMarks, WriteMarks]:
    return (
        WriteMarks(tmp_path, milvus=MILVUS, collection=COLLECTION),
        WriteMarks(tmp_path, milvus=MILVUS, collection=COLLECTION),
    )


def _write(
    marks: WriteMarks, recent: RecentWrites, doc_id: str, row: dict[str, object] | None
) -> None:
    """What the store does around one acknowledged write, mark included."""
    write = recent.begin([doc_id], hold_s=5.0)
    recent.acknowledged(write, [(doc_id, row)])
    marks.finish(write.slots, 100)
    recent.finished(write.slots)


def test_our_write_is_answered_until_another_process_begins_one(tmp_path: Path) -> None:
    ours, theirs = _tables(tmp_path)
    recent = RecentWrites(ours)
    _write(ours, recent, "doc-1", ROW)
    assert recent.lookup("doc-1") == (True, ROW)
    # Another process begins a write of the same slot: not ours to answer any more, even
    # before it is acknowledged, and after.
    slots = theirs.begin(["doc-1"], hold_s=5.0)
    assert recent.lookup("doc-1") == (False, None)
    theirs.finish(slots, 200)
    assert recent.lookup("doc-1") == (False, None)


def test_a_delete_is_answered_as_gone(tmp_path: Path) -> None:
    ours, _ = _tables(tmp_path)
    recent = RecentWrites(ours)
    _write(ours, recent, "doc-1", ROW)
    _write(ours, recent, "doc-1", None)
    assert recent.lookup("doc-1") == (True, None)


def test_a_write_begun_beside_another_in_flight_is_not_recorded(tmp_path: Path) -> None:
    ours, theirs = _tables(tmp_path)
    recent = RecentWrites(ours)
    theirs.begin(["doc-1"], hold_s=5.0)  # in flight when ours begins: order unknown
    _write(ours, recent, "doc-1", ROW)
    assert recent.lookup("doc-1") == (False, None)


def test_our_writes_waiting_for_their_marks_are_answered_in_order(tmp_path: Path) -> None:
    ours, _ = _tables(tmp_path)
    recent = RecentWrites(ours)
    first = recent.begin(["doc-1"], hold_s=5.0)
    recent.acknowledged(first, [("doc-1", ROW)])
    # Acknowledged, not yet marked: the one write in flight on the slot is ours.
    assert recent.lookup("doc-1") == (True, ROW)
    # A delete begun after that acknowledgement is ordered after it, marked or not.
    second = recent.begin(["doc-1"], hold_s=5.0)
    recent.acknowledged(second, [("doc-1", None)])
    assert recent.lookup("doc-1") == (True, None)


def test_two_writes_of_ours_in_flight_at_once_are_not_recorded(tmp_path: Path) -> None:
    # Two threads of this process: neither acknowledged when the other began, so Milvus
    # may apply them in either order.
    ours, _ = _tables(tmp_path)
    recent = RecentWrites(ours)
    first = recent.begin(["doc-1"], hold_s=5.0)
    second = recent.begin(["doc-1"], hold_s=5.0)
    recent.acknowledged(second, [("doc-1", {**ROW, "text": "second"})])
    recent.acknowledged(first, [("doc-1", ROW)])
    assert recent.lookup("doc-1") == (False, None)


def test_a_failed_write_is_not_recorded(tmp_path: Path) -> None:
    ours, _ = _tables(tmp_path)
    recent = RecentWrites(ours)
    _write(ours, recent, "doc-1", ROW)
    failed = recent.begin(["doc-1"], hold_s=5.0)
    recent.acknowledged(failed, None)  # it may have been applied: the record no longer holds
    assert recent.lookup("doc-1") == (False, None)


def test_a_record_expires(tmp_path: Path) -> None:
    ours, _ = _tables(tmp_path)
    recent = RecentWrites(ours, ttl_s=0.05)
    _write(ours, recent, "doc-1", ROW)
    time.sleep(0.1)
    assert recent.lookup("doc-1") == (False, None)


def test_the_record_is_bounded(tmp_path: Path) -> None:
    ours, _ = _tables(tmp_path)
    recent = RecentWrites(ours, capacity=2)
    for n in range(3):
        _write(ours, recent, f"doc-{n}", {**ROW, "id": f"doc-{n}"})
    assert recent.lookup("doc-0") == (False, None)
    assert recent.lookup("doc-2")[0] is True


def test_a_delete_by_filter_ends_every_record(tmp_path: Path) -> None:
    ours, theirs = _tables(tmp_path)
    recent = RecentWrites(ours)
    _write(ours, recent, "doc-1", ROW)
    theirs.mark_all(300)  # ids unknown: any of them may be gone
    assert recent.lookup("doc-1") == (False, None)
