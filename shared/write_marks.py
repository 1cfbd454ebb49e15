"""Write marks: the Milvus timestamps of acknowledged writes, shared by every worker process.

Why: a point read must see every write acknowledged before it, through whichever worker it
was made. Milvus answers a read once its query node has applied everything up to the read's
*guarantee timestamp*. Strong uses "now" as that timestamp and so waits for the next time
tick (200-400 ms on Milvus 2.3 with its default ``proxy.timeTickInterval`` of 200 ms), even
when nothing was written for hours. A read only needs the timestamp of the last acknowledged
write *of the document it reads*; when that write is older than a tick or two, the query
node is already past it and the read costs what the data needs (2-4 ms measured; see
docs/milvus-backends.md).

How: after Milvus acknowledges a write, the store asks Milvus for a fresh timestamp
(``AllocTimestamp``; Milvus 2.3's delete returns none of its own) and records it here for
every id written. The table is a file of ``SLOTS`` 64-bit slots under the data directory,
one file per Milvus address and collection; an id's slot is chosen by a stable hash, and a
slot only ever grows. Two ids sharing a slot only make a read wait a little longer, never
miss a write. Every process that shares the data directory (gunicorn or uvicorn workers,
two servers, the ingest command) shares the marks; processes on other hosts do not, which is
what ``Settings.point_reads = "strong"`` is for.

Locking: ``flock`` on the file between processes, plus a thread lock inside one process
(``flock`` does not exclude threads sharing an open file). The file is opened again in a
forked child, whose inherited descriptor would share the parent's lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import threading
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = ["WriteMarks", "SLOTS"]

# 64 KiB of marks. A read waits for another id's write only when both hash to one slot and
# that write is younger than a tick or two: rare at any rate a twin serves.
SLOTS = 8192
_BYTES = SLOTS * 8


class WriteMarks:
    """The table of write marks of one collection on one Milvus, in ``directory``."""

    def __init__(self, directory: Path, *, milvus: str, collection: str) -> None:
        digest = hashlib.sha256(f"{milvus}\0{collection}".encode()).hexdigest()[:12]
        # The digest tells tables apart; the name (cut to stay a legal file name) is for people.
        self.path = Path(directory) / f"{collection[:64]}-{digest}.v1.marks"
        self._lock = threading.Lock()
        self._pid = -1
        self._fd = -1
        self._map: mmap.mmap | None = None
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
                    os.ftruncate(fd, _BYTES)  # new slots read as zero: "no write recorded"
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            mapping = mmap.mmap(fd, _BYTES, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            os.close(fd)
            raise
        # After a fork the inherited mapping is simply dropped (it is the child's own copy).
        self._fd, self._map, self._pid = fd, mapping, os.getpid()
        self._slots = np.frombuffer(mapping, dtype="<u8", count=SLOTS)
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
    def mark(self, doc_ids: Iterable[str], timestamp: int) -> None:
        """Record that every id in ``doc_ids`` was written at or before ``timestamp``."""
        index = np.fromiter((self.slot(doc_id) for doc_id in doc_ids), dtype=np.intp)
        self._update(index, timestamp)

    def mark_all(self, timestamp: int) -> None:
        """Record a write whose ids are unknown (a delete by filter): every slot."""
        self._update(None, timestamp)

    def _update(self, index: np.ndarray | None, timestamp: int) -> None:
        with self._lock:
            slots = self._open()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                if index is None:
                    np.maximum(slots, np.uint64(timestamp), out=slots)
                else:
                    # slots[index] = max(...) with repeated indices keeps the last value,
                    # which is the same value for every repeat here: correct.
                    slots[index] = np.maximum(slots[index], np.uint64(timestamp))
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def of(self, doc_id: str) -> int:
        """The mark of ``doc_id``'s slot: 0 when no write of it was ever recorded here."""
        return self._read(self.slot(doc_id))

    def latest(self) -> int:
        """The largest mark of all: a timestamp at or after every write recorded here."""
        return self._read(None)

    def _read(self, slot: int | None) -> int:
        with self._lock:
            slots = self._open()
            # Shared lock: an 8-byte copy is not guaranteed atomic against a writer.
            fcntl.flock(self._fd, fcntl.LOCK_SH)
            try:
                return int(slots[slot] if slot is not None else slots.max())
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
