"""This process's own recent writes, so a read of a document it just wrote needs no Milvus.

Why: Milvus answers a point read once its query node has applied every write up to the
read's guarantee timestamp, and a write only a moment old is applied at the next time tick
(200-400 ms on Milvus 2.3). Create-then-view, the commonest pattern of a CRUD client, waited
that long. The process that made the write knows what it wrote; what it cannot know alone is
whether another write of the same id (from another worker on this host, or another thread)
is ordered after it in Milvus.

How: the write marks (:mod:`shared.write_marks`) count, per slot, the writes in flight and
the writes begun. A write takes its number among the writes begun on each of its slots, and
notes whether every write in flight there when it began was one of this process's that
Milvus had already acknowledged (those are ordered before it); only then is it recorded, once
acknowledged. A read answers from the record while it is young (``ttl_s``) and no write of
its slot began since (the slot's count is still the write's number): then no other write can
be ordered after it. Otherwise the read goes to Milvus as before. A delete records a
tombstone. The record is per process and bounded; a forked child starts with an empty one.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shared.write_marks import WriteMarks

__all__ = ["RecentWrites", "RECENT_TTL_S", "RECENT_CAPACITY", "RECORDED_ROWS_MAX"]

# Long enough to cover any time tick (a read after this goes to Milvus, which has applied
# the write by then and answers at point-read speed).
RECENT_TTL_S = 5.0
# Bounded: a document is at most 10,000 characters of text, so this is at most ~10 MB.
RECENT_CAPACITY = 1024
# Writes of more rows than this (ingest chunks, big batches) are not recorded: the point is
# the CRUD client's view of what it just wrote, not a cache of bulk loads.
RECORDED_ROWS_MAX = 256


@dataclass(frozen=True)
class _Write:
    """One write of ours in flight: its slots, its number on each, and the slots on which
    it is ordered after every write in flight when it began."""

    slots: np.ndarray
    numbers: dict[int, int]
    ordered: frozenset[int]


@dataclass(frozen=True)
class _Entry:
    row: dict[str, Any] | None  # None: deleted
    slot: int
    number: int  # this write's number among the writes begun on its slot
    expires: float  # time.monotonic()


class RecentWrites:
    """The rows this process wrote a moment ago, each answered only while provably current."""

    def __init__(
        self, marks: WriteMarks, *, ttl_s: float = RECENT_TTL_S, capacity: int = RECENT_CAPACITY
    ) -> None:
        self._marks = marks
        self._ttl_s = ttl_s
        self._capacity = capacity
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        # Our writes in flight (begun, not yet marked), and those not yet acknowledged.
        self._pending: Counter[int] = Counter()
        self._unacknowledged: Counter[int] = Counter()
        self._pid = os.getpid()

    # --- the write side (the store calls these around each write) -------------------------
    def begin(self, doc_ids: Sequence[str], hold_s: float) -> _Write:
        """Begin a write of ``doc_ids`` in the marks (:meth:`WriteMarks.begin`), noting for
        each slot whether it may be recorded; their old records no longer hold."""
        with self._lock:
            self._own_process()
            for doc_id in doc_ids:
                self._entries.pop(doc_id, None)
            # Under our lock, so no thread of ours changes its counts between the two reads.
            slots, before, numbers = self._marks.begin_counted(doc_ids, hold_s)
            ordered: set[int] = set()
            for slot, in_flight in zip(slots, before, strict=True):
                ours_acknowledged = self._pending[int(slot)] - self._unacknowledged[int(slot)]
                if int(in_flight) <= ours_acknowledged:
                    ordered.add(int(slot))
                self._pending[int(slot)] += 1
                self._unacknowledged[int(slot)] += 1
            return _Write(
                slots=slots,
                numbers={int(s): int(n) for s, n in zip(slots, numbers, strict=True)},
                ordered=frozenset(ordered),
            )

    def acknowledged(
        self, write: _Write, rows: Sequence[tuple[str, dict[str, Any] | None]] | None
    ) -> None:
        """Milvus answered the write: ``rows`` (id, the row or None for a delete) when it
        succeeded, None when it failed (nothing is recorded; it may have been applied)."""
        with self._lock:
            if self._pid != os.getpid():
                return
            for slot in write.slots:
                _decrement(self._unacknowledged, int(slot))
            if not rows or len(rows) > RECORDED_ROWS_MAX:
                return
            expires = time.monotonic() + self._ttl_s
            for doc_id, row in rows:
                slot = WriteMarks.slot(doc_id)
                if slot in write.ordered:
                    self._entries[doc_id] = _Entry(row, slot, write.numbers[slot], expires)
                    self._entries.move_to_end(doc_id)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def finished(self, slots: np.ndarray) -> None:
        """The write on ``slots`` got its mark: it no longer counts in flight."""
        with self._lock:
            if self._pid != os.getpid():
                return
            for slot in slots:
                _decrement(self._pending, int(slot))

    # --- the read side --------------------------------------------------------------------
    def lookup(self, doc_id: str) -> tuple[bool, dict[str, Any] | None]:
        """(True, row or None when deleted) when the record answers for ``doc_id``; (False,
        None) when the read must go to Milvus."""
        with self._lock:
            self._own_process()
            entry = self._entries.get(doc_id)
            if entry is None:
                return False, None
            if time.monotonic() >= entry.expires:
                del self._entries[doc_id]
                return False, None
        _, begun = self._marks.state(doc_id)
        if begun != entry.number:
            return False, None  # a write of the slot began since ours
        return True, None if entry.row is None else dict(entry.row)

    def _own_process(self) -> None:
        """A forked child starts with an empty record (lock held)."""
        if self._pid != os.getpid():
            self._entries.clear()
            self._pending.clear()
            self._unacknowledged.clear()
            self._pid = os.getpid()


def _decrement(counts: Counter[int], slot: int) -> None:
    counts[slot] -= 1
    if counts[slot] <= 0:
        del counts[slot]
