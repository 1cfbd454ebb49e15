"""Point reads against the real Milvus: read-your-writes across processes, without Strong.

A second process opens its own ``MilvusVectorStore`` (its own pymilvus client, whose
per-process Session timestamps know nothing of this process's writes) over the same
Milvus, collection and data directory, and answers commands on stdin. Every read follows
the write it must see at once: no sleep, no retry.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from support import unique

from shared.config import PROJECT_ROOT, Settings, get_settings
from shared.documents import NewDocument
from shared.milvus_server import client_token
from shared.vector_store import MilvusVectorStore

DIM = 8
WORKER = """
import json, sys
import numpy as np
from shared.config import get_settings
from shared.documents import NewDocument
from shared.milvus_server import client_token
from shared.vector_store import MilvusVectorStore

settings = get_settings(**json.loads(sys.argv[1]))
store = MilvusVectorStore(settings=settings, dimension=DIM)
store.connect()
print(json.dumps({"ready": store._guarantee("x")["consistency_level"]}), flush=True)
for line in sys.stdin:
    op, doc_id = json.loads(line)
    if op == "get":
        document = store.get(doc_id)
        answer = None if document is None else document.text
    elif op == "delete":
        answer = store.delete(doc_id)
    else:
        store.upsert([NewDocument(id=doc_id, text=op)], np.ones((1, DIM), np.float32))
        answer = True
    print(json.dumps(answer), flush=True)
""".replace("DIM", str(DIM))


class Worker:
    """Another process with its own store over the same collection."""

    def __init__(self, settings: Settings) -> None:
        overrides = {
            "data_dir": str(settings.data_dir),
            "milvus_port": settings.milvus_port,
            "collection": settings.collection,
            "point_reads": settings.point_reads,
        }
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and program
            [sys.executable, "-c", WORKER, json.dumps(overrides)],
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.consistency = self._answer()["ready"]

    def _answer(self) -> Any:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"the worker exited with {self.proc.wait(timeout=30)}"
        return json.loads(line)

    def ask(self, op: str, doc_id: str) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps([op, doc_id]) + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)


def store_and_worker(settings: Settings, collection: str, **extra: Any) -> Iterator[Any]:
    mine = get_settings(**{**settings.model_dump(), "collection": collection, **extra})
    store = MilvusVectorStore(settings=mine, dimension=DIM)
    store.connect()
    worker = Worker(mine)
    try:
        yield store, worker
    finally:
        worker.stop()
        store.close()


@pytest.fixture(scope="module")
def pair(settings: Settings) -> Iterator[tuple[MilvusVectorStore, Worker]]:
    yield from store_and_worker(settings, "point_reads")


@pytest.fixture(scope="module")
def strong_pair(settings: Settings) -> Iterator[tuple[MilvusVectorStore, Worker]]:
    yield from store_and_worker(settings, "point_reads_strong", point_reads="strong")


def put(store: MilvusVectorStore, doc_id: str, text: str) -> None:
    store.upsert([NewDocument(id=doc_id, text=text)], np.ones((1, DIM), np.float32))


def test_point_reads_wait_for_write_marks_not_for_a_time_tick(
    pair: tuple[MilvusVectorStore, Worker],
) -> None:
    # On the embedded Milvus the marks are in use in both processes: no point read is Strong.
    store, worker = pair
    assert store._guarantee("any")["consistency_level"] == "Customized"
    assert worker.consistency == "Customized"


@pytest.mark.parametrize("round_", range(3))
def test_a_write_in_one_process_is_read_by_another_at_once(
    pair: tuple[MilvusVectorStore, Worker], round_: int
) -> None:
    store, worker = pair
    here, there = unique("here"), unique("there")
    put(store, here, "written here")
    assert worker.ask("get", here) == "written here"
    worker.ask("from there", there)
    document = store.get(there)
    assert document is not None and document.text == "from there"
    # An upsert of an existing id is seen as the new version.
    put(store, there, "rewritten here")
    assert worker.ask("get", there) == "rewritten here"


def test_a_delete_in_one_process_is_seen_by_another_at_once(
    pair: tuple[MilvusVectorStore, Worker],
) -> None:
    store, worker = pair
    for _ in range(3):
        doc_id = unique("gone")
        put(store, doc_id, "to be deleted there")
        assert worker.ask("delete", doc_id) is True  # its existence check saw the write
        assert store.get(doc_id) is None
        assert store.delete(doc_id) is False
        put(store, doc_id, "back again")
        assert worker.ask("get", doc_id) == "back again"
        assert store.delete(doc_id) is True
        assert worker.ask("get", doc_id) is None
        assert worker.ask("delete", doc_id) is False


def test_a_process_that_never_wrote_reads_older_writes(settings: Settings) -> None:
    # Written before the reader existed, by a store whose marks the reader does not share:
    # the reader's floor (a timestamp taken when it connected) covers them.
    collection = "point_reads_floor"
    first = get_settings(**{**settings.model_dump(), "collection": collection})
    writer = MilvusVectorStore(settings=first, dimension=DIM)
    doc_id = unique("old")
    put(writer, doc_id, "written before the reader started")
    writer.close()
    elsewhere = settings.data_dir / f"elsewhere-{uuid.uuid4().hex[:6]}"
    # Another data directory, as on another host: the session's Milvus is reached with its
    # token, as any external Milvus is.
    other = get_settings(
        **{**first.model_dump(), "data_dir": elsewhere, "milvus_token": client_token(settings)}
    )
    reader = MilvusVectorStore(settings=other, dimension=DIM)
    try:
        document = reader.get(doc_id)
        assert document is not None and document.text == "written before the reader started"
    finally:
        reader.close()


def test_strong_point_reads_give_the_same_answers(
    strong_pair: tuple[MilvusVectorStore, Worker],
) -> None:
    store, worker = strong_pair
    assert store._guarantee("any") == {"consistency_level": "Strong"}
    assert worker.consistency == "Strong"
    doc_id = unique("strong")
    put(store, doc_id, "strong")
    assert worker.ask("get", doc_id) == "strong"
    assert worker.ask("delete", doc_id) is True
    assert store.get(doc_id) is None
    assert store.delete(doc_id) is False


def test_deleting_by_prefix_is_seen_by_another_process(
    pair: tuple[MilvusVectorStore, Worker],
) -> None:
    store, worker = pair
    prefix = f"bulk-{uuid.uuid4().hex[:8]}-"
    store.upsert(
        [NewDocument(id=f"{prefix}{i}", text=str(i)) for i in range(5)],
        np.ones((5, DIM), np.float32),
    )
    assert store.delete_id_prefix(prefix) == 5
    assert [worker.ask("get", f"{prefix}{i}") for i in range(5)] == [None] * 5


def test_a_write_is_answered_before_its_mark_and_read_strong_until_then(
    pair: tuple[MilvusVectorStore, Worker],
) -> None:
    store, worker = pair
    marks = store._marks
    assert marks is not None
    doc_id = unique("held")
    put(store, doc_id, "to be deleted")
    release = threading.Event()
    store._marker().submit(release.wait, 30)  # the marker thread busy: marks must wait
    try:
        assert store.delete(doc_id) is True  # answered without waiting for its mark
        assert marks.of(doc_id) is None  # in flight
        assert store._guarantee(doc_id)["consistency_level"] == "Strong"
        assert worker.ask("get", doc_id) is None  # the other process reads Strong: gone
    finally:
        release.set()
    store._marker().submit(lambda: None).result(timeout=30)  # the mark is recorded
    mark = marks.of(doc_id)
    assert mark is not None and mark > 0
    assert store._guarantee(doc_id) == {
        "consistency_level": "Customized",
        "guarantee_timestamp": max(mark, store._floor),
    }
    assert worker.ask("get", doc_id) is None


def test_a_process_that_cannot_use_the_marks_reads_strong_and_refuses_writes(
    settings: Settings, tmp_path: Any, pair: tuple[MilvusVectorStore, Worker]
) -> None:
    from shared.errors import BackendUnavailable

    # Where the table would go, a file: the directory cannot be made (as a full or read-only
    # disk would refuse it). A write of this process would go unmarked for the others.
    (tmp_path / "write-marks").write_text("not a directory")
    broken_settings = get_settings(
        **{
            **settings.model_dump(),
            "collection": "point_reads",
            "data_dir": tmp_path,
            "milvus_token": client_token(settings),
        }
    )
    broken = MilvusVectorStore(settings=broken_settings, dimension=DIM)
    broken.connect()
    try:
        store, _ = pair
        doc_id = unique("seen")
        put(store, doc_id, "written by a process with marks")
        assert broken._guarantee(doc_id) == {"consistency_level": "Strong"}
        found = broken.get(doc_id)
        assert found is not None and found.text == "written by a process with marks"
        with pytest.raises(BackendUnavailable, match="write marks .* cannot be used"):
            put(broken, unique("refused"), "would go unmarked")
        with pytest.raises(BackendUnavailable, match="writes are refused"):
            broken.delete(doc_id)
        assert store.get(doc_id) is not None  # the refused delete did not happen
    finally:
        broken.close()


# --- this process's recent writes (shared/recent_writes.py) ---------------------------------
def count_reads(store: MilvusVectorStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A record of the point reads this store sends to Milvus from now on."""
    sent: list[str] = []
    call = store._call

    def spy(what: str, operation: Any) -> Any:
        if what == "read":
            sent.append(what)
        return call(what, operation)

    monkeypatch.setattr(store, "_call", spy)
    return sent


def test_a_document_this_process_just_wrote_is_read_without_asking_milvus(
    pair: tuple[MilvusVectorStore, Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = pair
    sent = count_reads(store, monkeypatch)
    doc_id = unique("fresh")
    store.upsert(
        [NewDocument(id=doc_id, text="just written", title="T", tags=("a", "b"))],
        np.ones((1, DIM), np.float32),
    )
    document = store.get(doc_id)
    assert document is not None
    assert (document.text, document.title, document.tags) == ("just written", "T", ["a", "b"])
    assert store.delete(doc_id) is True  # its existence check needs no Milvus either
    assert store.get(doc_id) is None
    assert sent == [], "a read of this process's own fresh write went to Milvus"


def test_a_write_of_another_process_since_ours_is_read_from_milvus(
    pair: tuple[MilvusVectorStore, Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, worker = pair
    for _ in range(3):
        doc_id = unique("overwritten")
        put(store, doc_id, "ours")
        worker.ask("theirs", doc_id)
        sent = count_reads(store, monkeypatch)
        document = store.get(doc_id)
        assert document is not None and document.text == "theirs"
        assert sent == ["read"]
        monkeypatch.undo()
        # And a delete there after our write: we read it gone, from Milvus.
        put(store, doc_id, "ours again")
        assert worker.ask("delete", doc_id) is True
        assert store.get(doc_id) is None
