"""Two hosts, one Milvus (issue 28): twins that share nothing but an external Milvus.

The Flask twin and the FastAPI twin, each its own server process with its own data
directory (as on two machines), are pointed at the session's Milvus as an external one
(``MILVUS_URI`` and its token), over one collection. An ingest job accepted by one is read
through the other, from its first answer to ``done``, though its record is on the other's
disk only; a document written through one is read through the other at once, at every
version (point reads default to Strong with an external Milvus: the write marks of one
host are out of the other's reach). The FastAPI host also reads its searches' consistency
from the environment (``TWINBENCH_READ_CONSISTENCY=Strong``): its search finds a document
the other host wrote a moment before, which Session, the default, need not.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from reliability_support import LiveServer
from support import unique, wait_for_job

from shared.config import Settings
from shared.launcher import free_port
from shared.milvus_server import client_token
from shared.servers import served_env

COLLECTION = "two_hosts"
ROWS = 100  # two of the service's 64-row chunks


def host_env(milvus: Settings, data_dir: Path, **extra: str) -> dict[str, str]:
    return served_env(
        MILVUS_URI=milvus.effective_milvus_uri,
        MILVUS_TOKEN=client_token(milvus),
        TWINBENCH_DATA_DIR=str(data_dir),
        TWINBENCH_COLLECTION=COLLECTION,
        **extra,
    )


@pytest.fixture(scope="module")
def hosts(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, LiveServer]]:
    root = tmp_path_factory.mktemp("two-hosts")
    extra = {"flask": {}, "fastapi": {"TWINBENCH_READ_CONSISTENCY": "Strong"}}
    servers = {
        app: LiveServer(
            app=app,
            port=free_port(),
            env=host_env(settings, root / f"host-{app}", **extra[app]),
            log_path=root / f"{app}.log",
        )
        for app in ("flask", "fastapi")
    }
    try:
        for server in servers.values():
            server.start()
        for server in servers.values():
            server.wait_ready()
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(params=[("flask", "fastapi"), ("fastapi", "flask")], ids=lambda p: "-to-".join(p))
def writer_reader(
    request: pytest.FixtureRequest, hosts: dict[str, LiveServer]
) -> Iterator[tuple[httpx.Client, httpx.Client, LiveServer]]:
    writer, reader = request.param
    with hosts[writer].http() as write, hosts[reader].http() as read:
        yield write, read, hosts[reader]


def jobs_dir(server: LiveServer) -> Path:
    return Path(server.env["TWINBENCH_DATA_DIR"]) / "jobs" / COLLECTION


def test_an_ingest_job_accepted_on_one_host_is_read_on_the_other_to_done(
    writer_reader: tuple[httpx.Client, httpx.Client, LiveServer],
) -> None:
    write, read, reader = writer_reader
    run = unique("hosts")
    rows: list[dict[str, Any]] = [
        {"id": f"{run}-{n:03d}", "text": f"row {n} of a job on another host"} for n in range(ROWS)
    ]
    rows.append({"title": "no text"})  # a row error, reported on both hosts alike
    accepted = write.post("/ingest", json=rows)
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    first = read.get(f"/ingest/{job_id}")  # at once: no 404 while the job is young
    assert first.status_code == 200, first.text
    assert first.json()["status"] in ("queued", "running", "done"), first.text
    done = wait_for_job(read, job_id, timeout_s=120)
    assert (done["status"], done["total"], done["processed"], done["failed"]) == (
        "done",
        ROWS + 1,
        ROWS,
        1,
    ), done
    assert done["errors"][0]["line"] == ROWS + 1, done
    assert done == wait_for_job(write, job_id)  # the two hosts give one answer
    assert not (jobs_dir(reader) / f"{job_id}.json").exists()  # read from Milvus, not disk
    got = read.get(f"/documents/{run}-{ROWS - 1:03d}")
    assert got.status_code == 200, got.text
    assert read.get(f"/ingest/{'0' * 32}").status_code == 404


def test_a_document_written_on_one_host_is_read_on_the_other_at_once(
    writer_reader: tuple[httpx.Client, httpx.Client, LiveServer],
) -> None:
    write, read, _ = writer_reader
    for round_ in range(2):
        doc_id = unique("hosts-doc")
        for version in ("first", "second"):
            text = f"{version} version, round {round_}"
            created = write.post("/documents", json={"id": doc_id, "text": text})
            assert created.status_code == 201, created.text
            got = read.get(f"/documents/{doc_id}")
            assert got.status_code == 200, got.text
            assert got.json()["text"] == text
        assert read.delete(f"/documents/{doc_id}").status_code == 204
        assert write.get(f"/documents/{doc_id}").status_code == 404


def test_a_host_reads_its_search_consistency_from_the_environment(
    hosts: dict[str, LiveServer],
) -> None:
    with hosts["flask"].http() as write, hosts["fastapi"].http() as read:
        for _ in range(3):
            tag = unique("fresh").replace("-", "")[:30]
            document = {"text": "a lighthouse keeper counts the passing ships", "tags": [tag]}
            assert write.post("/documents", json=document).status_code == 201
            query = {"query": "lighthouse keeper", "top_k": 1, "tags": [tag]}
            found = read.post("/search", json=query)
            assert found.status_code == 200, found.text
            assert len(found.json()["results"]) == 1, "a Strong search missed a fresh write"
