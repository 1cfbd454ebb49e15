"""Write marks that are wrong read stale: checked on a Milvus whose time tick is a second.

On the usual Milvus (a tick every 200 ms) a read that follows its write by milliseconds
reads Strong (the write is still in flight, unmarked), and a test of it passes whatever the
mark says. Here a throwaway Milvus ticks once a second (``TWINBENCH_MILVUS_TIME_TICK_MS``,
its ``proxy.timeTickInterval``), and each read comes after the writer's mark is recorded
and well within the tick: a read with no guarantee (the control, asked at the same moment)
misses the write, so a read that relies on a mark older than the write would miss it too.
Two stores on one data directory stand for two worker processes: they share the marks, not
this process's recent writes (which would answer without Milvus). And a point read of an
older write waits for no tick, where a Strong read waits for one: timed, not labelled.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from support import unique

from shared.config import Settings
from shared.documents import NewDocument
from shared.launcher import own_milvus
from shared.vector_store import MilvusVectorStore

pytestmark = pytest.mark.live  # it starts a Milvus of its own

DIM = 8
TICK_MS = 1000  # the most the setting allows
ROUNDS = 4


@pytest.fixture(scope="module")
def slow_tick() -> Iterator[Settings]:
    with own_milvus(milvus_time_tick_ms=TICK_MS, collection="slow_tick") as settings:
        yield settings


@pytest.fixture(scope="module")
def writer_reader(slow_tick: Settings) -> Iterator[tuple[MilvusVectorStore, MilvusVectorStore]]:
    writer = MilvusVectorStore(settings=slow_tick, dimension=DIM)
    reader = MilvusVectorStore(settings=slow_tick, dimension=DIM)
    writer.connect()
    reader.connect()
    yield writer, reader
    writer.close()
    reader.close()


def marked(store: MilvusVectorStore) -> None:
    """Return once every write the store acknowledged has its mark recorded."""
    store._marker().submit(lambda: None).result(timeout=60)


def median_s(read: Callable[[], object], times: int) -> float:
    took = []
    for _ in range(times):
        began = time.perf_counter()
        read()
        took.append(time.perf_counter() - began)
    return statistics.median(took)


def unguarded_text(store: MilvusVectorStore, doc_id: str) -> str | None:
    """The control: the document as Milvus serves it now, with no guarantee at all."""
    rows: Any = store._call(
        "read",
        lambda client: client.get(
            store._settings.collection,
            ids=[doc_id],
            output_fields=["text"],
            consistency_level="Eventually",
        ),
    )
    return str(rows[0]["text"]) if rows else None


def test_the_slow_tick_is_in_force(slow_tick: Settings) -> None:
    config = (slow_tick.data_dir / "milvus" / "configs" / "milvus.yaml").read_text()
    assert f"timeTickInterval: {TICK_MS}" in config


def test_a_marked_write_is_read_by_another_worker_where_an_unguarded_read_misses_it(
    writer_reader: tuple[MilvusVectorStore, MilvusVectorStore],
) -> None:
    writer, reader = writer_reader
    stale_controls = 0
    for round_ in range(ROUNDS):
        doc_id = unique("tick")
        writer.upsert([NewDocument(id=doc_id, text=f"v{round_}")], np.ones((1, DIM), np.float32))
        marked(writer)
        assert reader._guarantee(doc_id)["consistency_level"] == "Customized"  # by its mark
        stale_controls += unguarded_text(reader, doc_id) is None
        document = reader.get(doc_id)
        assert document is not None and document.text == f"v{round_}", round_
        # And the delete: marked, then read gone, while Milvus still serves the row unguarded.
        assert writer.delete(doc_id) is True
        marked(writer)
        stale_controls += unguarded_text(reader, doc_id) is not None
        assert reader.get(doc_id) is None, round_
    # Most controls read stale: a mark older than its write would have failed the asserts.
    assert stale_controls >= ROUNDS, f"only {stale_controls} of {2 * ROUNDS} controls were stale"


def test_a_point_read_of_an_older_write_waits_for_no_tick_where_strong_waits_for_one(
    writer_reader: tuple[MilvusVectorStore, MilvusVectorStore],
) -> None:
    writer, reader = writer_reader
    doc_id = unique("older")
    writer.upsert([NewDocument(id=doc_id, text="older")], np.ones((1, DIM), np.float32))
    marked(writer)
    assert reader.get(doc_id) is not None  # the first read waits for the write's tick
    marked_s = median_s(lambda: reader.get(doc_id), times=5)

    def strong() -> object:
        return reader._call(
            "read",
            lambda client: client.get(
                reader._settings.collection, ids=[doc_id], consistency_level="Strong"
            ),
        )

    strong_s = median_s(strong, times=3)
    tick_s = TICK_MS / 1000
    assert marked_s < 0.25 * tick_s < strong_s, f"marked {marked_s:.3f} s, Strong {strong_s:.3f} s"
