"""Settings that change what the core runs on: the index types, and the milvus-lite backend.

``TWINBENCH_INDEX_TYPE``: each index type the settings allow, read from the environment,
builds a collection of that index on the session's Milvus, and a search through it finds
the document it should. ``TWINBENCH_MILVUS_BACKEND=milvus-lite``: a milvus-lite server of
the test's own, and both twins over it pass a subset of the contract (health, write, read,
search by text and by vector, batch, ingest, delete). The other settings are exercised
where they act: the live servers' environment (port, collection, data dir, timeout, torch
threads; tests/reliability), ``make serve-*`` (tests/reliability/test_serve_settings.py);
``TWINBENCH_TORCH_THREADS`` sets the model's threads, checked here in a process of its own; the
settings a benchmark records for its servers are those of their environment, not its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, get_args

import pytest
from support import TWIN_PARAMS, wait_for_job

from shared.config import PROJECT_ROOT, Settings, served_settings
from shared.jobs import JobRegistry
from shared.launcher import own_milvus
from shared.servers import served_env
from shared.service import SearchService, build_document
from shared.vector_store import MilvusVectorStore

if TYPE_CHECKING:
    from conftest import AppClient

INDEX_TYPES = get_args(Settings.model_fields["index_type"].annotation)
TEXTS = {
    "kettle": "Boil the water in a kettle before you pour it over the tea leaves",
    "bicycle": "Oil the chain of a bicycle so that it does not rust in the rain",
    "violin": "A violin has four strings and is played with a bow",
}
DIM = 384


def test_every_index_type_of_the_settings_is_one_the_readme_names() -> None:
    assert set(INDEX_TYPES) == {"HNSW", "FLAT", "IVF_FLAT", "AUTOINDEX"}


@pytest.mark.parametrize("index_type", INDEX_TYPES)
def test_each_index_type_from_the_environment_builds_its_index_and_searches(
    index_type: str,
    settings: Settings,
    service: SearchService,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("TWINBENCH_INDEX_TYPE", index_type)
    indexed = Settings(
        data_dir=settings.data_dir,
        milvus_port=settings.milvus_port,
        collection=f"index_{index_type.lower()}",
    )
    assert indexed.index_type == index_type
    store = MilvusVectorStore(settings=indexed, dimension=service.embedder.dimension)
    own = SearchService(
        settings=indexed, embedder=service.embedder, store=store, jobs=JobRegistry(tmp_path)
    )
    try:
        store.connect()
        run = uuid.uuid4().hex[:8]
        ids = own.add_documents(
            [
                build_document(id=f"{name}-{run}", text=text, tags=[run])
                for name, text in TEXTS.items()
            ]
        )
        hits = own.search_text(query="how do I make tea", top_k=3, tags=[run]).hits
        assert [hit.id for hit in hits][:1] == [ids[0]], hits
        described = store._call(  # what Milvus says the index is, not what we asked for
            "describe", lambda client: client.describe_index(indexed.collection, "vector")
        )
        assert described["index_type"] == index_type, described
    finally:
        own.close()


def test_torch_threads_from_the_environment_set_the_models_threads() -> None:
    # In a process of its own: torch's thread count is per process, and this one's is the
    # session model's.
    code = (
        "import torch\n"
        "from shared.config import get_settings\n"
        "from shared.embedder import SentenceTransformerEmbedder\n"
        "s = get_settings()\n"
        "SentenceTransformerEmbedder(name=s.model_name, torch_threads=s.torch_threads)\n"
        "print(torch.get_num_threads())\n"
    )
    env = {**os.environ, "TWINBENCH_TORCH_THREADS": "2"}
    done = subprocess.run(  # noqa: S603 - this interpreter, our code
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "2"


# --- milvus-lite ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lite_service(
    service: SearchService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchService]:
    """The session's model over a milvus-lite server of this module's own."""
    with own_milvus(
        data_dir=tmp_path_factory.mktemp("lite"),
        throwaway=True,
        milvus_backend="milvus-lite",
        collection="lite_contract",
    ) as lite:
        store = MilvusVectorStore(settings=lite, dimension=service.embedder.dimension)
        store.connect()
        lite_svc = SearchService(
            settings=lite,
            embedder=service.embedder,
            store=store,
            jobs=JobRegistry(lite.data_dir / "jobs"),
        )
        yield lite_svc
        lite_svc.jobs.wait_idle()
        lite_svc.close()


@pytest.fixture(params=TWIN_PARAMS)
def lite_client(
    request: pytest.FixtureRequest, lite_service: SearchService, pytestconfig: pytest.Config
) -> Iterator[AppClient]:
    root = pytestconfig.pluginmanager.get_plugin(
        str(Path(__file__).resolve().parent.parent / "conftest.py")
    )
    yield from root.twin_client(request.param, lite_service)


def test_milvus_lite_backend_passes_the_contract_subset(lite_client: AppClient) -> None:
    run = uuid.uuid4().hex[:8]
    health = lite_client.get("/health")
    assert health.status_code == 200, health.text
    assert health.json()["milvus"].startswith("milvus-lite at http://127.0.0.1:")

    doc = {"id": f"kettle-{run}", "title": "Tea", "text": TEXTS["kettle"], "tags": [run]}
    assert lite_client.post("/documents", json=doc).json() == {"id": doc["id"]}
    stored = lite_client.get(f"/documents/{doc['id']}").json()
    assert {key: stored[key] for key in doc} == doc
    batch = [
        {"id": f"{name}-{run}", "text": text, "tags": [run]}
        for name, text in TEXTS.items()
        if name != "kettle"
    ]
    reply = lite_client.post("/documents/batch", json={"documents": batch})
    assert reply.status_code == 201 and reply.json() == {"ids": [d["id"] for d in batch]}

    search = lite_client.post("/search", json={"query": "how do I make tea", "tags": [run]})
    assert search.status_code == 200, search.text
    assert [hit["id"] for hit in search.json()["results"]][0] == doc["id"]
    vector = lite_client.post(
        "/search/vector", json={"vector": [0.5] * DIM, "tags": [run], "top_k": 3}
    )
    assert vector.status_code == 200 and len(vector.json()["results"]) == 3, vector.text

    job = lite_client.post("/ingest", json=[{"id": f"ingested-{run}", "text": "a row"}, 5])
    assert job.status_code == 202, job.text
    status = wait_for_job(lite_client, job.json()["job_id"])
    assert (status["status"], status["processed"], status["failed"]) == ("done", 1, 1), status
    assert lite_client.get(f"/documents/ingested-{run}").status_code == 200

    assert lite_client.delete(f"/documents/{doc['id']}").status_code == 204
    assert lite_client.get(f"/documents/{doc['id']}").status_code == 404


def test_the_server_settings_choose_what_make_serve_runs() -> None:
    # TWINBENCH_FLASK_SERVER runs live in tests/reliability/test_serve_settings.py; here each
    # setting is seen to reach the command line `make serve-*` runs.
    from shared.serve import serve_spec
    from shared.servers import server_argv

    as_built = Settings()
    assert serve_spec("flask", as_built).server == "gunicorn-gthread"
    assert serve_spec("fastapi", as_built).server == "uvicorn"
    chosen = Settings(flask_server="gunicorn-gevent", fastapi_server="granian")
    flask_argv = server_argv(serve_spec("flask", chosen))
    fastapi_argv = server_argv(serve_spec("fastapi", chosen))
    assert flask_argv[flask_argv.index("--worker-class") + 1] == "gevent"
    assert Path(fastapi_argv[0]).name == "granian" and "asgi" in fastapi_argv
    assert serve_spec("fastapi", chosen, server="uvicorn").server == "uvicorn"  # CLI wins


def test_point_reads_default_to_marks_on_one_host_and_strong_with_an_external_milvus() -> None:
    # The marks live on one host's disk: with an external Milvus, twins may run on several
    # hosts, and a read on one must see a write made on another.
    embedded = Settings(milvus_uri="")
    external = Settings(milvus_uri="http://milvus.internal:19530")
    assert (embedded.point_read_mode, external.point_read_mode) == ("marks", "strong")
    assert (
        Settings(milvus_uri="http://milvus.internal:19530", point_reads="marks").point_read_mode
        == "marks"
    )
    assert MilvusVectorStore(settings=external, dimension=384)._marks is None
    assert MilvusVectorStore(settings=embedded, dimension=384)._marks is not None


# In a process of its own, as a server reads them: the settings come from its environment.
FROM_THE_ENVIRONMENT = """
import json
from shared.service import SearchService

service = SearchService.from_settings()
batcher = service.batcher
print(json.dumps({
    "read_consistency": service.store._settings.read_consistency,
    "encode_batch_size": service.embedder.batch_size,
    "batching": batcher is not None,
    "max_batch": batcher.max_batch,
    "max_wait_s": batcher.max_wait_s,
    "queue_bound": batcher.queue_bound,
    "timeout_s": batcher.timeout_s,
    "ingest_slice_s": batcher.ingest_slice_s,
    "hits": len(service.search_text(query="anything at all", top_k=3).hits) >= 0,
}))
service.close()
"""


def test_the_search_settings_are_read_from_the_environment_by_what_uses_them(
    settings: Settings,
) -> None:
    env = {
        **os.environ,
        "TWINBENCH_MILVUS_PORT": str(settings.milvus_port),
        "TWINBENCH_DATA_DIR": str(settings.data_dir),
        "TWINBENCH_COLLECTION": "settings_from_env",
        "TWINBENCH_READ_CONSISTENCY": "Bounded",
        "TWINBENCH_ENCODE_BATCH_SIZE": "7",
        "TWINBENCH_SEARCH_BATCHING": "true",
        "TWINBENCH_SEARCH_BATCH_MAX": "5",
        "TWINBENCH_SEARCH_BATCH_WAIT_S": "0.004",
        "TWINBENCH_SEARCH_QUEUE_BOUND": "9",
        "TWINBENCH_SEARCH_BATCH_TIMEOUT_S": "3.5",
        "TWINBENCH_SEARCH_BATCH_INGEST_SLICE_S": "0.02",
    }
    done = subprocess.run(  # noqa: S603 - this interpreter, our code
        [sys.executable, "-c", FROM_THE_ENVIRONMENT],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {
        "read_consistency": "Bounded",
        "encode_batch_size": 7,
        "batching": True,
        "max_batch": 5,
        "max_wait_s": 0.004,
        "queue_bound": 9,
        "timeout_s": 3.5,
        "ingest_slice_s": 0.02,
        "hits": True,
    }


def test_served_settings_read_only_the_given_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # This process's own settings must not leak into the record of what a server read.
    monkeypatch.setenv("TWINBENCH_ENCODE_BATCH_SIZE", "9")
    monkeypatch.setenv("MILVUS_URI", "http://elsewhere:19530")
    served = served_settings(served_env(TWINBENCH_COLLECTION="bench_docs"))
    assert served.search_batching is False  # served_env turns batching off
    assert served.torch_threads == 1
    assert served.collection == "bench_docs"
    assert served.encode_batch_size == Settings.model_fields["encode_batch_size"].default
    assert served.milvus_uri == ""
