"""The Milvus vector store against the real server: filters, reads and deletes (a restart is
tested in tests/reliability/test_outage.py, where its Milvus is restarted anyway)."""

from __future__ import annotations

import uuid

import pytest
from support import unique

from shared.config import Settings, get_settings
from shared.documents import NewDocument, tag_filter
from shared.errors import BackendUnavailable
from shared.service import SearchService
from shared.vector_store import MilvusVectorStore, _is_deadline, is_malformed_request

HOSTILE_TAGS = [
    '"',
    "\\",
    "'",
    '" or id != "',
    'x") or (1==1',
    '"]) or true or ([',
    '\\" or 1==1 or \\"',
    "a\nb",
    "tags",
    "%",
]


def with_collection(settings: Settings, collection: str) -> Settings:
    return get_settings(
        data_dir=settings.data_dir, milvus_port=settings.milvus_port, collection=collection
    )


def add(service: SearchService, *documents: NewDocument) -> None:
    service.add_documents(list(documents))


def filtered_ids(service: SearchService, tags: list[str]) -> list[str]:
    vector = service.embedder.encode(["anything at all"])[0].tolist()
    return [hit.id for hit in service.store.search(vector, top_k=100, tags=tags)]


def test_tag_filter_quotes_every_value_as_a_string_literal() -> None:
    assert tag_filter(None) == ""
    assert tag_filter([]) == ""
    assert tag_filter(["a"]) == 'array_contains_any(tags, ["a"])'
    assert tag_filter(['a"b', "c\\d"]) == 'array_contains_any(tags, ["a\\"b", "c\\\\d"])'
    assert tag_filter(['x") or (1==1']) == 'array_contains_any(tags, ["x\\") or (1==1"])'


def test_hostile_tag_values_match_nothing_they_should_not(service: SearchService) -> None:
    plain = unique("plain")
    bystanders = [NewDocument(id=unique("bystander"), text=f"bystander {i}") for i in range(3)]
    add(service, NewDocument(id=plain, text="a plainly tagged document", tags=("plain-tag",)))
    add(service, *bystanders)
    for hostile_part in HOSTILE_TAGS:
        # Other tests in the session store documents tagged with these very values, so
        # each gets a fresh suffix: nobody carries the result, and a filter that escaped
        # its literal would match rows.
        hostile = hostile_part + uuid.uuid4().hex[:6]
        assert filtered_ids(service, [hostile]) == [], hostile
        assert filtered_ids(service, [hostile, unique("nobody")]) == [], hostile


def test_a_document_tagged_with_a_hostile_value_is_matched_exactly(
    service: SearchService,
) -> None:
    marker = uuid.uuid4().hex[:8]
    tagged = {
        hostile + marker: NewDocument(id=unique("hostile"), text="tagged", tags=(hostile + marker,))
        for hostile in HOSTILE_TAGS
    }
    add(service, *tagged.values())
    for tag, document in tagged.items():
        assert filtered_ids(service, [tag]) == [document.id], repr(tag)
    both = [HOSTILE_TAGS[0] + marker, HOSTILE_TAGS[3] + marker]
    assert sorted(filtered_ids(service, both)) == sorted(tagged[tag].id for tag in both)


def test_get_returns_the_stored_document_and_delete_removes_it(service: SearchService) -> None:
    doc_id = unique("store")
    add(service, NewDocument(id=doc_id, text="stored text", title="Stored", tags=("a", "b")))
    document = service.store.get(doc_id)
    assert document is not None
    assert (document.id, document.title, document.text, document.tags) == (
        doc_id,
        "Stored",
        "stored text",
        ["a", "b"],
    )
    count = service.store.count(strong=True)
    assert service.store.delete(doc_id) is True
    assert service.store.get(doc_id) is None
    assert service.store.delete(doc_id) is False
    assert service.store.count(strong=True) == count - 1


def test_a_store_told_not_to_create_opens_only_what_exists(
    settings: Settings, service: SearchService
) -> None:
    missing = with_collection(settings, f"absent_{uuid.uuid4().hex[:12]}")
    store = MilvusVectorStore(settings=missing, dimension=None, create_missing=False)
    try:
        store.connect()
        assert store.exists() is False
        assert store.exists() is False, "asking must not create the collection"
    finally:
        store.close()

    existing = MilvusVectorStore(settings=settings, dimension=None, create_missing=False)
    try:
        existing.connect()
        assert existing.exists() is True
        assert existing.count(strong=True) == service.store.count(strong=True)
    finally:
        existing.close()


def test_creating_a_collection_needs_its_dimension(settings: Settings) -> None:
    with pytest.raises(ValueError, match="dimension"):
        MilvusVectorStore(settings=settings, dimension=None)


def test_a_request_milvus_refuses_as_malformed_is_a_bug_not_an_outage(
    service: SearchService,
) -> None:
    # The apps cap top_k at 100; past Milvus's own cap (16384) the request itself is wrong.
    doc = NewDocument(id=unique("malformed"), text="Owls hunt at night by sound alone.")
    add(service, doc)
    vector = service.embedder.encode([doc.text])[0].tolist()
    connection = service.store._client
    with pytest.raises(Exception, match="invalid") as raised:
        service.store.search(vector, top_k=100_000, tags=None)
    assert not isinstance(raised.value, BackendUnavailable)
    assert is_malformed_request(raised.value)
    # The connection was not thrown away as if Milvus were down.
    assert service.store._client is connection
    assert service.store.search(vector, top_k=1, tags=None)[0].id == doc.id


def test_timeouts_and_refused_connections_are_outages_not_malformed_requests() -> None:
    # Messages as pymilvus 3 words them against Milvus 2.3 (measured); same code 65535
    # for the timeout as for a malformed filter.
    from pymilvus.exceptions import MilvusException

    timeout = MilvusException(
        65535, "[query] Retry timeout: 2s, message=proxy TaskCondition context Done"
    )
    refused = MilvusException(
        2,
        "Fail connecting to server on 127.0.0.1:1, illegal connection params or server unavailable",
    )
    # A server that says "retry" is believed over any wording; one that flags an input
    # error (newer Milvus) is believed too.
    retriable = MilvusException(65535, "cannot parse expression: replica moving", retriable=True)
    flagged = MilvusException(1100, "field foo not exist", is_input_error=True)
    bad_filter = MilvusException(65535, "cannot parse expression: tags bogus ((")
    top_k = MilvusException(65535, "topk [100000] is invalid, top k should be in range")
    assert not is_malformed_request(timeout)
    assert not is_malformed_request(refused)
    # A late answer keeps the connection; a refused one is an outage and reconnects.
    assert _is_deadline(timeout) and not _is_deadline(refused)
    assert not is_malformed_request(retriable)
    assert is_malformed_request(flagged)
    assert is_malformed_request(top_k)
    assert is_malformed_request(bad_filter)


def test_pymilvus_does_not_log_a_traceback_per_failed_rpc() -> None:
    # pymilvus sets its loggers up when first imported; the core must quiet them after that.
    import logging

    import pymilvus.decorators

    assert not pymilvus.decorators.LOGGER.isEnabledFor(logging.ERROR)


def test_documents_are_deleted_by_id_prefix_and_no_others(service: SearchService) -> None:
    run = unique("prefix")
    mine = [NewDocument(id=f"{run}-{n}", text=f"note {n} about rivers") for n in range(3)]
    near = NewDocument(id=f"{run}x-0", text="a neighbour whose id shares the prefix but the dash")
    add(service, *mine, near)
    assert service.store.delete_id_prefix(f"{run}-") == 3
    assert all(service.store.get(doc.id) is None for doc in mine)
    assert service.store.get(near.id) is not None
    assert service.store.delete_id_prefix(f"{run}-") == 0
    service.store.delete(near.id)


@pytest.mark.parametrize("prefix", ["", "a_b", "50%", 'x" or id != "'])
def test_an_id_prefix_with_wildcards_or_quotes_is_refused(
    service: SearchService, prefix: str
) -> None:
    with pytest.raises(ValueError, match="may hold only"):
        service.store.delete_id_prefix(prefix)


def test_a_call_past_its_timeout_is_a_503_that_keeps_the_connection(
    service: SearchService,
) -> None:
    # Milvus is up but slower than the timeout (here: a deadline no call can meet). Dropping
    # the connection would make every request arriving meanwhile wait for a reconnect and
    # fail too; the next call must simply use it again.
    store = service.store
    vector = service.embedder.encode(["a deadline no search can meet"])[0].tolist()
    store.search(vector, top_k=1, tags=None)
    connection = store._client
    with pytest.raises(BackendUnavailable, match="in time") as raised:
        # A call that cannot be answered within its 0.1 ms deadline: a Strong search waits
        # for Milvus's next time tick (up to 200 ms). A plain one-vector search once won the
        # race against gRPC's deadline timer on a quiet machine and the test failed.
        store._call(
            "search",
            lambda client: client.search(
                store._collection,
                data=[vector] * 16,
                limit=100,
                consistency_level="Strong",
                timeout=0.000_1,
            ),
        )
    # The client's deadline (gRPC) or the proxy's ("context Done"): either, run to run.
    assert _is_deadline(raised.value.__cause__)
    assert store._client is connection
    store.search(vector, top_k=1, tags=None)  # answered (any hits) on that same connection
    assert store._client is connection


def test_a_bench_run_removes_what_earlier_runs_left(service: SearchService) -> None:
    # The orchestrator's first tidy-up: every "bench-" id (a run cut short, or the fixed
    # upload ids of earlier versions) goes, corpus-like ids stay, and the count is corrected.
    from bench.run.orchestrator import _remove_leftovers

    left = [NewDocument(id=f"bench-ingest-{n}", text=f"an old upload row {n}") for n in range(2)]
    kept = NewDocument(id=unique("benchmark"), text="not ours to remove: no dash after bench")
    add(service, *left, kept)
    milvus: dict[str, object] = {"documents": 100}
    notes: list[str] = []
    _remove_leftovers(service.store, milvus, notes)
    assert all(service.store.get(doc.id) is None for doc in left)
    assert service.store.get(kept.id) is not None
    assert milvus["documents"] == 98
    assert notes == ["removed 2 documents left by earlier runs (ids bench-…)"]
    _remove_leftovers(service.store, milvus, notes)  # nothing left: no note, no change
    assert milvus["documents"] == 98 and len(notes) == 1
    service.store.delete(kept.id)


def test_a_collection_left_without_its_index_is_repaired_at_connect(
    settings: Settings, service: SearchService
) -> None:
    # What a process that stopped between "create collection" and "create index" leaves.
    from pymilvus import MilvusClient

    from shared.milvus_server import client_token
    from shared.vector_store import collection_schema

    half = with_collection(settings, f"half_{uuid.uuid4().hex[:12]}")
    raw = MilvusClient(uri=settings.effective_milvus_uri, token=client_token(settings))
    try:
        schema = collection_schema(raw, dimension=service.embedder.dimension, max_tags=10)
        raw.create_collection(half.collection, schema=schema, timeout=30)
        assert raw.list_indexes(half.collection) == []
        store = MilvusVectorStore(settings=half, dimension=service.embedder.dimension)
        store.connect()
        try:
            doc = NewDocument(id=unique("half"), text="repaired and searchable")
            store.upsert([doc], service.embedder.encode([doc.text]))
            assert store.count(strong=True) == 1
            assert raw.list_indexes(half.collection) != []
        finally:
            store.close()
    finally:
        raw.drop_collection(half.collection)
        raw.close()
