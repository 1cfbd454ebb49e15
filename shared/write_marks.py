"""Write marks: the Milvus timestamps of acknowledged writes, shared by every worker process.

Why: a point read must see every write acknowledged before it, through whichever worker it
was made. Milvus answers a read once its query node has applied everything up to the read's
*guarantee timestamp*. Strong uses "now" as that timestamp and so waits for the next time
tick (200-400 ms on Milvus 2.3 with its default ``proxy.timeTickInterval`` of 200 ms), even
when nothing was written for hours. A read only needs the timestamp of the last acknowledged
write *of the document it reads*; when that write is older than a tick or two, the query
node is already past it and the read costs what the data needs (2-4 ms measured; see
docs/milvus-backends.md).

How: before a write is sent, its ids' slots count one more write *in flight*; a point read
of a slot with a write in flight reads Strong (it cannot know the write's timestamp yet).
After Milvus acknowledges the write, the store answers its caller at once and, off the
request's path, asks Milvus for a fresh timestamp (``AllocTimestamp``; Milvus 2.3's delete
returns none of its own), records it as the slots' mark and ends their in-flight count.
Taking that call off the path saves a DELETE one Milvus round trip (~1.2 ms wall on this
machine, in process, quiet). The table is a file under the data directory, one per Milvus
address and collection, of four arrays of ``SLOTS`` 64-bit numbers (marks, writes in
flight, until when they may be, writes begun); an id's slot is chosen by a stable hash, and a mark
only ever grows. Two ids sharing a slot only make a read wait a little longer, never miss a
write. Each write in flight also sets how long it may stay so (its Milvus calls' timeouts
and the marker's retries, with a margin): a count left by a process that died between its
write and its mark is ignored once that time has passed (and reset at the slot's next
write), since Milvus has long applied such a write by then.

Every process that shares the data directory (gunicorn or uvicorn workers,
two servers, the ingest command) shares the marks; processes on other hosts do not, which is
what ``Settings.point_reads = "strong"`` is for.

A fourth array counts the writes begun on each slot: with it, the store's record of its
own recent writes (:mod:`shared.recent_writes`) can tell that no write of a slot began
since its own, and answer a read of that write without asking Milvus.

Locking: ``flock`` on the file between processes, plus a thread lock inside one process
(``flock`` does not exclude threads sharing an open file). The file is opened again in a
forked child, whose inherited descriptor would share the parent's lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import mmap
import os
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

__all__ = ["WriteMarks", "SLOTS", "MAX_HOLD_S", "canonical_milvus_address"]

# 64 KiB per array. A read waits for another id's write only when both hash to one slot and
# that write is younger than a tick or two: rare at any rate a twin serves.
SLOTS = 8192
# Marks; writes in flight; until when (CLOCK_MONOTONIC, ms) the latest of them may be;
# writes begun (a counter that only grows: a reader can tell that no write began since).
_ARRAYS = 4
_BYTES = _ARRAYS * SLOTS * 8
# No write is held in flight longer than this. A deadline further ahead than this was set
# before the machine last booted (CLOCK_MONOTONIC restarts at boot): its count is stale.
MAX_HOLD_S = 3600.0


def canonical_milvus_address(uri: str) -> str:
    """One spelling per Milvus address: ``http://localhost:19530/``, ``localhost`` and
    ``HTTP://127.0.0.1`` are all ``http://127.0.0.1:19530``."""
    parts = urlsplit(uri if "://" in uri else f"http://{uri}")
    host = (parts.hostname or "127.0.0.1").lower()
    if host in ("localhost", "::1", "ip6-localhost"):
        host = "127.0.0.1"
    path = parts.path.rstrip("/")
    return f"{parts.scheme.lower() or 'http'}://{host}:{parts.port or 19530}{path}"


def _now_ms() -> int:
    # Monotonic and shared by every process of the host: a wall-clock step cannot make a
    # write in flight look expired.
    return int(time.monotonic() * 1000)


def _stale(until: np.ndarray, now: int) -> np.ndarray:
    """Which deadlines have passed, or come from before the last boot."""
    left = until.astype(np.int64) - now
    return (left <= 0) | (left > MAX_HOLD_S * 1000)


class WriteMarks:
    """The table of write marks of one collection on one Milvus, in ``directory``."""

    def __init__(self, directory: Path, *, milvus: str, collection: str) -> None:
        # Keyed by the server, not by how its address is spelled: two spellings of one Milvus
        # must share one table, or a read through one would not see a write through the other.
        server = canonical_milvus_address(milvus)
        digest = hashlib.sha256(f"{server}\0{collection}".encode()).hexdigest()[:12]
        # The digest tells tables apart; the name (cut to stay a legal file name) is for people.
        self.path = Path(directory) / f"{collection[:64]}-{digest}.v4.marks"
        self._lock = threading.Lock()
        self._pid = -1
        self._fd = -1
        self._map: mmap.mmap | None = None
        # Shape (_ARRAYS, SLOTS): marks, in flight, until, begun.
        self._slots: np.ndarray | None = None

    @staticmethod
    def slot(doc_id: str) -> int:
        """The slot of an id: the same in every process (``hash()`` is salted per process)."""
        return zlib.crc32(doc_id.encode("utf-8")) % SLOTS

    # --- the file -----------------------------------------------------------------------
    def _open(self) -> np.ndarray:
        """The slots of this process's mapping, opened (again after a fork) on first use."""
        if self._pid == os.getpid() and self._slots is not None:
            return self._slots
        if self._fd >= 0:
            # Forked: this descriptor shares the parent's open file, and so its flock.
            os.close(self._fd)
            self._fd = -1
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.fstat(fd).st_size < _BYTES:
                    # New slots read as zero: "no write recorded". The blocks are reserved
                    # now, not left sparse: a sparse page written through the mapping on a
                    # full disk would kill the process (SIGBUS); here it is an OSError.
                    os.posix_fallocate(fd, 0, _BYTES)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            mapping = mmap.mmap(fd, _BYTES, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            os.close(fd)
            raise
        # After a fork the inherited mapping is simply dropped (it is the child's own copy).
        self._fd, self._map, self._pid = fd, mapping, os.getpid()
        self._slots = np.frombuffer(mapping, dtype="<u8", count=_ARRAYS * SLOTS).reshape(
            _ARRAYS, SLOTS
        )
        return self._slots

    def close(self) -> None:
        with self._lock:
            if self._pid != os.getpid():
                return
            slots, mapping, fd = self._slots, self._map, self._fd
            self._slots, self._map, self._fd, self._pid = None, None, -1, -1
            del slots
            if mapping is not None:
                mapping.close()
            if fd >= 0:
                os.close(fd)

    # --- marks --------------------------------------------------------------------------
    def begin(self, doc_ids: Iterable[str], hold_s: float) -> np.ndarray:
        """Count a write of ``doc_ids`` in flight, before it is sent, for at most ``hold_s``;
        returns its slots, for :meth:`finish`. Until then, reads of these slots read Strong.
        """
        return self.begin_counted(doc_ids, hold_s)[0]

    def begin_counted(
        self, doc_ids: Iterable[str], hold_s: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`begin`, which also returns, for each of its slots, the writes in flight
        before this one and this write's number among the writes begun (see :meth:`state`)."""
        if not 0 < hold_s <= MAX_HOLD_S:
            raise ValueError(f"hold_s must be in (0, {MAX_HOLD_S:g}], got {hold_s}")
        index = np.unique(np.fromiter((self.slot(doc_id) for doc_id in doc_ids), dtype=np.intp))
        now = _now_ms()
        with self._locked() as slots:
            _, in_flight, until, begun = slots
            stale = _stale(until[index], now)
            in_flight[index[stale]] = 0  # left by a process that died before its mark
            until[index[stale]] = 0
            before = in_flight[index].copy()
            in_flight[index] += np.uint64(1)
            until[index] = np.maximum(until[index], np.uint64(now + int(hold_s * 1000)))
            begun[index] += np.uint64(1)
            numbers = begun[index].copy()
        return index, before, numbers

    def finish(self, index: np.ndarray, timestamp: int) -> None:
        """The write begun on slots ``index`` is acknowledged, at or before ``timestamp``."""
        with self._locked() as slots:
            marks, in_flight, _, _ = slots
            marks[index] = np.maximum(marks[index], np.uint64(timestamp))
            # A count reset as stale meanwhile must not wrap below zero.
            in_flight[index] = np.where(in_flight[index] > 0, in_flight[index] - 1, 0)

    def mark_all(self, timestamp: int) -> None:
        """Record a write whose ids are unknown (a delete by filter): every slot, whose
        count of writes begun moves on too, so no record of an earlier write answers."""
        with self._locked() as slots:
            np.maximum(slots[0], np.uint64(timestamp), out=slots[0])
            slots[3] += np.uint64(1)

    def of(self, doc_id: str) -> int | None:
        """The mark of ``doc_id``'s slot (0: no write of it recorded here), or None while a
        write of that slot is in flight."""
        return self._read(self.slot(doc_id))

    def latest(self) -> int | None:
        """The largest mark of all (a timestamp at or after every write recorded here), or
        None while any write is in flight."""
        return self._read(None)

    def state(self, doc_id: str) -> tuple[int, int]:
        """The writes of ``doc_id``'s slot in flight now (stale ones not counted) and the
        number of the last write begun on it: a reader that knows a write's number (from
        :meth:`begin_counted`) can tell whether any write of the slot began since."""
        slot = self.slot(doc_id)
        _, in_flight, until, begun = self._copy(slice(slot, slot + 1))
        live = int(in_flight[0]) if not _stale(until, _now_ms())[0] else 0
        return live, int(begun[0])

    def _read(self, slot: int | None) -> int | None:
        where = slice(None) if slot is None else slice(slot, slot + 1)
        now = _now_ms()
        marks, in_flight, until, _ = self._copy(where)
        if np.any((in_flight > 0) & ~_stale(until, now)):
            return None
        return int(marks.max())

    def _copy(self, where: slice) -> tuple[np.ndarray, ...]:
        with self._lock:
            slots = self._open()
            # Shared lock: an 8-byte copy is not guaranteed atomic against a writer.
            fcntl.flock(self._fd, fcntl.LOCK_SH)
            try:
                return tuple(array[where].copy() for array in slots)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[np.ndarray]:
        """The slots, held exclusively against every thread and process sharing them."""
        with self._lock:
            slots = self._open()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield slots
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
