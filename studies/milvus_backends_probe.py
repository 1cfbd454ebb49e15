"""Measure the two embedded Milvus backends on this machine, to choose the project's defaults.

Run: ``python -m studies.milvus_backends_probe [--backends milvus milvus-lite] [--json out.json]``.
A one-off study, not part of the benchmark harness; it builds its collections with the
store's own schema (:func:`shared.vector_store.collection_schema`) and quotes filter values
with the store's own :func:`shared.documents.quote_string` beside the alternatives it tests.

Each backend is started as a real server in its own process through
:func:`shared.milvus_server.start_server`, on a free port and a temporary data directory
(never 19530, never ``.data``), and is always stopped and deleted again. The data are seeded
random unit vectors (384-d float32, 10,000 rows) in a collection with the project's schema
(the store's: id VARCHAR(64) primary key, vector FLOAT_VECTOR(384), title, text,
tags ARRAY<VARCHAR>, created_at INT64; COSINE). Measured, per backend:

1. cold start on an empty directory, restart on existing data, stop time (our ``stop_server``)
   and the RSS of the server's process tree, idle and after the load;
2. insert and upsert rate in batches of 256, and the flush time;
3. search latency (top_k=10, 500 queries or a time budget, one thread: p50/p99) and q/s from
   1 and 4 threads: (a) right after the insert without flush, (b) after flush, (c) after a
   restart; and whether newly inserted rows are visible at once per consistency level;
4. ``milvus`` only: HNSW vs FLAT vs IVF_FLAT vs AUTOINDEX (latency, q/s, recall@10 against
   exact numpy brute force) and the cost of the consistency levels for search and get;
5. the tag filter ``array_contains_any`` and which quoting of string literals in filters
   makes hostile values (quotes, backslashes, ``x" or id != "``...) match only themselves,
   plus how pymilvus' own ``get``/``delete`` by VARCHAR id quote the ids.

Progress goes to stderr; the results are printed as JSON (and written with ``--json``).
The whole run takes about 8 minutes on the 2-core VM (more when other work loads it);
numbers and their reading are in docs/milvus-backends.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from pymilvus import MilvusClient

from bench.run.sampling import process_tree
from shared.config import Settings, get_settings
from shared.documents import quote_string
from shared.milvus_server import (
    MilvusProcess,
    _port_is_free,
    client_token,
    free_port,
    start_server,
    stop_server,
)
from shared.vector_store import collection_schema, vector_index

DIM = 384
ROWS = 10_000
BATCH = 256
TOP_K = 10
N_QUERIES = 500
N_RECALL = 200
SERIAL_BUDGET_S = 4.0  # a latency run stops after 500 queries or this long, whichever first
THROUGHPUT_S = 2.0
FRESH_ROWS = 64
SELF_SEARCHES = 8
SEED = 20261125
COLLECTION = "probe_docs"
IDX_COLLECTION = "probe_idx"
ESC_COLLECTION = "probe_escape"
DUR_COLLECTION = "probe_durability"
OUTPUT_FIELDS = ["title", "text", "tags", "created_at"]
TAG_VOCAB = ["a", "b", "c", "d", "e", "f"]
HNSW_BUILD = {"M": 16, "efConstruction": 200}
INDEXES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # name: (build params, search params)
    "FLAT": ({}, {}),
    "IVF_FLAT": ({"nlist": 128}, {"nprobe": 16}),
    "AUTOINDEX": ({}, {}),
    "HNSW": (HNSW_BUILD, {"ef": 64}),
}
# Extra search settings tried on an index already built: (index, search params).
EXTRA_SEARCHES = {"HNSW ef=200": ("HNSW", {"ef": 200})}

Vectors = np.ndarray[Any, np.dtype[np.float32]]
Result = dict[str, Any]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- data ----------------------------------------------------------------------------------


def unit_vectors(n: int, seed: int) -> Vectors:
    rng = np.random.default_rng(seed)
    vecs = rng.standard_normal((n, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs


def make_rows(vecs: Vectors, prefix: str, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    rows = []
    for i, vec in enumerate(vecs):
        n_tags = int(rng.integers(1, 4))
        tags = sorted({TAG_VOCAB[int(t)] for t in rng.integers(0, len(TAG_VOCAB), n_tags)})
        rows.append(
            {
                "id": f"{prefix}{i:06d}",
                "vector": vec.tolist(),
                "title": f"title {i}",
                "text": f"synthetic text of row {i} " * 8,
                "tags": tags,
                "created_at": 1_764_000_000 + i,
            }
        )
    return rows


def brute_force_top_k(base: Vectors, queries: Vectors, ids: Sequence[str]) -> list[set[str]]:
    scores = queries @ base.T  # unit vectors: cosine == dot product
    top = np.argsort(-scores, axis=1)[:, :TOP_K]
    return [{ids[j] for j in row} for row in top]


# --- measuring helpers ---------------------------------------------------------------------


def percentiles(samples_ms: Sequence[float]) -> Result:
    if not samples_ms:
        return {"n": 0}
    arr = np.asarray(samples_ms)
    return {
        "n": len(samples_ms),
        "p50_ms": round(float(np.percentile(arr, 50)), 2),
        "p99_ms": round(float(np.percentile(arr, 99)), 2),
        "mean_ms": round(float(arr.mean()), 2),
    }


def serial_latency(call: Callable[[int], Any], n: int = N_QUERIES) -> tuple[Result, list[Any]]:
    """Run ``call(i)`` up to ``n`` times (or SERIAL_BUDGET_S), one thread; latency stats."""
    samples: list[float] = []
    outputs: list[Any] = []
    deadline = time.perf_counter() + SERIAL_BUDGET_S
    for i in range(n):
        began = time.perf_counter()
        outputs.append(call(i))
        samples.append((time.perf_counter() - began) * 1000)
        if time.perf_counter() > deadline:
            break
    return percentiles(samples), outputs


def throughput(call: Callable[[int], Any], threads: int, duration_s: float = THROUGHPUT_S) -> float:
    """Calls per second from ``threads`` threads sharing one client for ``duration_s``."""
    counts = [0] * threads
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def worker(k: int) -> None:
        barrier.wait()
        i = k * 997
        try:
            while time.perf_counter() < stop_at[0]:
                call(i % N_QUERIES)
                counts[k] += 1
                i += 1
        except BaseException as exc:  # noqa: B902 - reported below
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(threads)]
    for t in pool:
        t.start()
    began = time.perf_counter()
    stop_at[0] = began + duration_s
    barrier.wait()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return round(sum(counts) / elapsed, 1)


def tree_rss_mb(pid: int) -> float:
    total = 0
    for proc in process_tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += proc.memory_info().rss
    return round(total / 2**20, 1)


@contextlib.contextmanager
def quiet_pymilvus() -> Iterator[None]:
    """pymilvus logs a traceback for every failed RPC; the escaping probe expects failures."""
    logger = logging.getLogger("pymilvus")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def private_etcd(tmp: Path) -> Iterator[None]:
    """Give the ``milvus`` binary's embedded etcd its own ports while this block runs.

    The rendered milvus.yaml fixes only the etcd *client* endpoint; the embedded etcd itself
    listens on etcd's defaults (127.0.0.1:2379 and peer 2380), so a second Milvus on the
    machine dies at start ("bind: address already in use", then a nil-pointer panic, exit -6).
    Milvus reads ``etcd.config.path`` and ``etcd.endpoints`` from the environment
    (``ETCD_CONFIG_PATH``, ``ETCD_ENDPOINTS``), and ``start_server`` passes its environment on.
    """
    client_port, peer_port = free_port(), free_port()
    config = tmp / "embed-etcd.yaml"
    config.write_text(
        "name: probe\n"
        f"listen-client-urls: http://127.0.0.1:{client_port}\n"
        f"advertise-client-urls: http://127.0.0.1:{client_port}\n"
        f"listen-peer-urls: http://127.0.0.1:{peer_port}\n"
        f"initial-advertise-peer-urls: http://127.0.0.1:{peer_port}\n"
        f"initial-cluster: probe=http://127.0.0.1:{peer_port}\n"
    )
    saved = {key: os.environ.get(key) for key in ("ETCD_CONFIG_PATH", "ETCD_ENDPOINTS")}
    os.environ["ETCD_CONFIG_PATH"] = str(config)
    os.environ["ETCD_ENDPOINTS"] = f"127.0.0.1:{client_port}"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def wait_port_free(port: int, timeout_s: float = 10.0) -> tuple[float, str]:
    """Seconds until ``port`` can be bound again, and who held it if it never freed."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout_s:
        if _port_is_free(port):
            return round(time.perf_counter() - began, 3), ""
        time.sleep(0.1)
    holders = []
    with contextlib.suppress(psutil.AccessDenied):
        for conn in psutil.net_connections("tcp"):
            if conn.laddr and conn.laddr.port == port:
                holders.append(f"{conn.status} pid={conn.pid} raddr={conn.raddr}")
    return round(time.perf_counter() - began, 3), "; ".join(holders[:3])


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    out = call()
    return round(time.perf_counter() - began, 3), out


# --- Milvus helpers ------------------------------------------------------------------------


def create_collection(client: MilvusClient, name: str, index_type: str = "HNSW") -> None:
    # The store's own schema and index parameters, so the probe measures what the service runs.
    schema = collection_schema(client, dimension=DIM, max_tags=10)
    index = vector_index(client, index_type)
    if client.has_collection(name):
        client.drop_collection(name)
    # No consistency_level here: the collection keeps Milvus' default (Bounded) and each
    # request says what it needs, as the project's vector store does.
    client.create_collection(name, schema=schema, index_params=index)


def insert_all(client: MilvusClient, name: str, rows: list[dict[str, Any]], upsert: bool) -> float:
    """Rows per second inserted (or upserted) in batches of BATCH."""
    call = client.upsert if upsert else client.insert
    began = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        call(name, rows[start : start + BATCH])
    return round(len(rows) / (time.perf_counter() - began), 1)


def searcher(
    client: MilvusClient,
    name: str,
    queries: list[list[float]],
    params: dict[str, Any],
    consistency: str,
    filter_expr: str = "",
) -> Callable[[int], list[str]]:
    def call(i: int) -> list[str]:
        hits = client.search(
            name,
            data=[queries[i % len(queries)]],
            limit=TOP_K,
            filter=filter_expr,
            output_fields=OUTPUT_FIELDS,
            search_params={"metric_type": "COSINE", "params": params},
            consistency_level=consistency,
        )
        return [str(hit["id"]) for hit in hits[0]]

    return call


def count(client: MilvusClient, name: str, filter_expr: str = "", level: str = "Strong") -> int:
    res = client.query(
        name, filter=filter_expr, output_fields=["count(*)"], consistency_level=level
    )
    return int(res[0]["count(*)"])


def search_block(
    client: MilvusClient,
    name: str,
    queries: list[list[float]],
    params: dict[str, Any],
    consistency: str = "Session",
) -> Result:
    call = searcher(client, name, queries, params, consistency)
    call(0)  # warm-up
    latency, _ = serial_latency(call)
    return {
        **latency,
        "qps_1_thread": throughput(call, 1),
        "qps_4_threads": throughput(call, 4),
        "loadavg_1m": loadavg(),
    }


def fresh_visibility(client: MilvusClient, name: str, level: str, seed: int) -> Result:
    """Insert FRESH_ROWS new rows, then at once self-search them and count them at ``level``."""
    vecs = unit_vectors(FRESH_ROWS, seed)
    prefix = f"fresh-{level}-"
    client.insert(name, make_rows(vecs, prefix, seed))
    found = 0
    for vec in vecs[-SELF_SEARCHES:]:
        hits = client.search(
            name,
            data=[vec.tolist()],
            limit=1,
            consistency_level=level,
            search_params={"metric_type": "COSINE", "params": {"ef": 64}},
        )
        found += int(bool(hits[0]) and str(hits[0][0]["id"]).startswith(prefix))
    visible = count(client, name, f'id like "{prefix}%"', level)
    return {
        "self_search_found": f"{found}/{SELF_SEARCHES}",
        "count_visible": f"{visible}/{FRESH_ROWS}",
    }


def wait_index(client: MilvusClient, name: str, rows: int, timeout_s: float = 180.0) -> float:
    began = time.perf_counter()
    while time.perf_counter() - began < timeout_s:
        info = client.describe_index(name, "vector")
        if info.get("state") == "Finished" and int(info.get("indexed_rows", 0)) >= rows:
            break
        time.sleep(0.2)
    return round(time.perf_counter() - began, 2)


def load_state(client: MilvusClient, name: str) -> str:
    state = client.get_load_state(name).get("state")
    return str(getattr(state, "name", state))


# --- filter escaping -----------------------------------------------------------------------

HOSTILE_VALUES = [
    "plain",
    'q"q',
    "s'q",
    "b\\s",
    "\\",
    '"',
    "'",
    'bs\\"',
    'x" or id != "',
    "x' or id != '",
    'zz"]) or not array_contains_any(tags, ["zz',
    "zz']) or not array_contains_any(tags, ['zz",
    "nl\nx",
    "tab\tx",
    "cr\rx",
    "ctl\x01x",
    "uni\u00e9",
    "emoji\U0001f600",
]


QUOTERS: dict[str, Callable[[str], str]] = {
    "naive_double": lambda v: f'"{v}"',
    "naive_single": lambda v: f"'{v}'",
    "json.dumps": json.dumps,
    "json.dumps(ensure_ascii=False)": lambda v: json.dumps(v, ensure_ascii=False),
    "shared.documents.quote_string (the store's)": quote_string,
}


def escaping_probe(client: MilvusClient) -> Result:
    create_collection(client, ESC_COLLECTION, "FLAT")
    vecs = unit_vectors(len(HOSTILE_VALUES) + 2, SEED + 5)
    rows = make_rows(vecs, "esc", SEED + 5)
    for i, value in enumerate(HOSTILE_VALUES):
        rows[i]["tags"] = [value]
        rows[i]["id"] = f"esc{i:02d}"
    rows[-2]["tags"], rows[-1]["tags"] = ["a"], ["b", "c"]
    client.insert(ESC_COLLECTION, rows)
    client.flush(ESC_COLLECTION)
    client.load_collection(ESC_COLLECTION)
    result: Result = {}
    with quiet_pymilvus():
        ab = client.query(
            ESC_COLLECTION,
            filter='array_contains_any(tags, ["a", "b"])',
            output_fields=["id"],
            consistency_level="Session",
        )
        result["array_contains_any_a_b"] = sorted(str(r["id"]) for r in ab)
        for qname, quoter in QUOTERS.items():
            per_value: dict[str, str] = {}
            for i, value in enumerate(HOSTILE_VALUES):
                expr = f"array_contains_any(tags, [{quoter(value)}])"
                try:
                    hits = client.query(
                        ESC_COLLECTION,
                        filter=expr,
                        output_fields=["id"],
                        consistency_level="Session",
                    )
                    got = sorted(str(h["id"]) for h in hits)
                    per_value[repr(value)] = (
                        "ok" if got == [f"esc{i:02d}"] else f"WRONG {len(got)} rows"
                    )
                except Exception as exc:  # noqa: BLE001 - the outcome is the measurement
                    per_value[repr(value)] = "ERROR " + str(exc).split("\n")[0][-90:]
            result[qname] = per_value
        result["pymilvus_get_delete_by_id"] = pk_quoting_probe(client)
    client.drop_collection(ESC_COLLECTION)
    return result


def pk_quoting_probe(client: MilvusClient) -> Result:
    """pymilvus' get()/delete(ids=) wrap VARCHAR ids in '...' without escaping them."""
    hostile = "zz'] or id not in ['zz"
    vecs = unit_vectors(3, SEED + 6)
    rows = make_rows(vecs, "pk", SEED + 6)
    rows[0]["id"], rows[1]["id"], rows[2]["id"] = "pk-plain", "pk-o'brien", hostile
    client.insert(ESC_COLLECTION, rows)
    total = count(client, ESC_COLLECTION, level="Session")
    out: Result = {"rows_in_collection": total}
    for label, pk in [("o'brien", "pk-o'brien"), ("injection", hostile)]:
        try:
            got = client.get(
                ESC_COLLECTION, ids=[pk], output_fields=["id"], consistency_level="Session"
            )
            out[f"get({label}) rows"] = len(got)
        except Exception as exc:  # noqa: BLE001
            out[f"get({label}) rows"] = "ERROR " + str(exc).split("\n")[0][-80:]
    try:
        client.delete(ESC_COLLECTION, ids=[hostile])
        # Strong: on milvus 2.3.5 a Session read does not yet see this process's own delete.
        out["delete(injection) rows left"] = count(client, ESC_COLLECTION, level="Strong")
    except Exception as exc:  # noqa: BLE001
        out["delete(injection) rows left"] = "ERROR " + str(exc).split("\n")[0][-80:]
    return out


# --- the per-backend run -------------------------------------------------------------------


def probe_backend(backend: str, base_rows: list[dict[str, Any]], queries: Vectors) -> Result:
    tmp = Path(tempfile.mkdtemp(prefix="probe-", dir="/tmp"))
    settings: Settings = get_settings(data_dir=tmp)
    qlist = [q.tolist() for q in queries]
    res: Result = {"backend": backend}
    with contextlib.ExitStack() as stack:
        if backend == "milvus":
            stack.enter_context(private_etcd(tmp))
        try:
            return _probe_backend(backend, settings, tmp, base_rows, queries, qlist, res)
        except Exception as exc:  # noqa: BLE001 - keep what was measured, say what failed
            log(f"{backend}: FAILED: {exc!r}"[:500])
            res["error"] = repr(exc)[:1000]
            return res
        finally:
            stop_server(settings, backend=backend)
            shutil.rmtree(tmp, ignore_errors=True)


def _probe_backend(
    backend: str,
    settings: Settings,
    tmp: Path,
    base_rows: list[dict[str, Any]],
    queries: Vectors,
    qlist: list[list[float]],
    res: Result,
) -> Result:
    client: MilvusClient | None = None
    try:
        port = free_port()
        log(f"{backend}: cold start on {tmp} port {port}")
        res["loadavg_1m_at_start"] = loadavg()
        res["cold_start_s"], state = timed(
            lambda: start_server(settings, backend=backend, port=port)
        )
        assert isinstance(state, MilvusProcess)
        time.sleep(2.0)
        res["rss_idle_mb"] = tree_rss_mb(state.pid)
        client = MilvusClient(uri=state.uri, token=client_token(settings))

        log(f"{backend}: filter escaping")
        res["escaping"] = escaping_probe(client)

        log(f"{backend}: insert {ROWS} rows")
        create_collection(client, COLLECTION, "HNSW")
        res["insert_rows_per_s"] = insert_all(client, COLLECTION, base_rows, upsert=False)
        hnsw = INDEXES["HNSW"][1]
        log(f"{backend}: (a) search right after insert, no flush")
        res["count_right_after_insert"] = {
            lvl: count(client, COLLECTION, level=lvl) for lvl in ("Bounded", "Session", "Strong")
        }
        res["search_a_unflushed"] = search_block(client, COLLECTION, qlist, hnsw)
        log(f"{backend}: visibility of fresh rows per consistency level")
        res["fresh_visibility"] = {
            lvl: fresh_visibility(client, COLLECTION, lvl, SEED + 10 + k)
            for k, lvl in enumerate(("Bounded", "Session", "Strong"))
        }
        res["upsert_rows_per_s"] = insert_all(client, COLLECTION, base_rows[:2560], upsert=True)
        res["flush_s"], _ = timed(lambda: client.flush(COLLECTION) if client else None)
        total_rows = ROWS + 3 * FRESH_ROWS
        # milvus-lite builds the index of a flushed segment in the background: until then a
        # search scans it. Measure the first searches right after the flush, then wait.
        first, _ = serial_latency(searcher(client, COLLECTION, qlist, hnsw, "Session"), 5)
        res["search_first_5_after_flush"] = first
        res["index_ready_after_flush_s"] = wait_index(client, COLLECTION, total_rows)
        log(f"{backend}: (b) search after flush")
        res["search_b_flushed"] = search_block(client, COLLECTION, qlist, hnsw)
        time.sleep(5.0)
        res["search_b_flushed_5s_later"], _ = serial_latency(
            searcher(client, COLLECTION, qlist, hnsw, "Session")
        )
        res["rss_loaded_mb"] = tree_rss_mb(state.pid)

        log(f"{backend}: tag filter")
        expected = sum(1 for r in base_rows if {"a", "b"} & set(r["tags"]))
        tag_filter = 'array_contains_any(tags, ["a", "b"])'
        fresh_ab = count(client, COLLECTION, 'id like "fresh-%" && ' + tag_filter)
        got = count(client, COLLECTION, tag_filter)
        call = searcher(client, COLLECTION, qlist, hnsw, "Session", tag_filter)
        hits_ok = all(
            {"a", "b"} & set(h["tags"])
            for h in client.search(
                COLLECTION,
                data=qlist[:5],
                limit=TOP_K,
                filter=tag_filter,
                output_fields=["tags"],
                search_params={"metric_type": "COSINE", "params": hnsw},
            )[0]
        )
        latency, _ = serial_latency(call, 200)
        res["tag_filter"] = {
            "count": got,
            "expected": expected + fresh_ab,
            "search_hits_all_match": hits_ok,
            "filtered_search": latency,
        }

        # A small, never-flushed write: does it survive our stop/start?
        create_collection(client, DUR_COLLECTION, "FLAT")
        client.insert(DUR_COLLECTION, make_rows(unit_vectors(50, SEED + 3), "dur", SEED + 3))
        client.close()
        client = None

        log(f"{backend}: restart")
        res["stop_s"], _ = timed(lambda: stop_server(settings, backend=backend))
        res["port_free_after_stop_s"], holder = wait_port_free(port)
        if holder:  # e.g. an outgoing connection of another process took the ephemeral port
            res["port_taken_after_stop_by"] = holder
            port = free_port()
        res["restart_s"], state = timed(lambda: start_server(settings, backend=backend, port=port))
        client = MilvusClient(uri=state.uri, token=client_token(settings))
        res["load_state_after_restart"] = load_state(client, COLLECTION)
        with quiet_pymilvus():
            try:
                searcher(client, COLLECTION, qlist, hnsw, "Session")(0)
                res["search_before_load_collection"] = "ok"
            except Exception as exc:  # noqa: BLE001
                res["search_before_load_collection"] = "ERROR " + str(exc).split("\n")[0][-90:]
        res["load_collection_s"], _ = timed(
            lambda: client.load_collection(COLLECTION) if client else None
        )
        res["rows_after_restart"] = f"{count(client, COLLECTION)}/{total_rows}"
        client.load_collection(DUR_COLLECTION)
        res["unflushed_rows_after_restart"] = f"{count(client, DUR_COLLECTION)}/50"
        client.drop_collection(DUR_COLLECTION)
        log(f"{backend}: (c) search after restart")
        res["search_c_restarted"] = search_block(client, COLLECTION, qlist, hnsw)
        res["rss_after_restart_loaded_mb"] = tree_rss_mb(state.pid)

        res["index_choice"], res["consistency_cost"] = index_and_consistency(
            client, backend, base_rows, queries, qlist
        )
        client.close()
        client = None
        log(f"{backend}: stop")
        res["stop2_s"], _ = timed(lambda: stop_server(settings, backend=backend))
        res["server_log"] = log_summary(Path(state.log_file))
    finally:
        if client is not None:
            client.close()
    return res


def index_and_consistency(
    client: MilvusClient,
    backend: str,
    base_rows: list[dict[str, Any]],
    queries: Vectors,
    qlist: list[list[float]],
) -> tuple[Result, Result]:
    """Index types on one flushed 10k collection; consistency levels (``milvus`` only)."""
    log(f"{backend}: index comparison")
    create_collection(client, IDX_COLLECTION, "FLAT")
    insert_all(client, IDX_COLLECTION, base_rows, upsert=False)
    client.flush(IDX_COLLECTION)
    base = np.asarray([r["vector"] for r in base_rows], dtype=np.float32)
    truth = brute_force_top_k(base, queries[:N_RECALL], [r["id"] for r in base_rows])
    indexes: Result = {}

    def measure(params: dict[str, Any]) -> Result:
        call = searcher(client, IDX_COLLECTION, qlist, params, "Bounded")
        call(0)
        latency, outputs = serial_latency(call)
        found = [len(set(out) & truth[i]) / TOP_K for i, out in enumerate(outputs[:N_RECALL])]
        return {
            **latency,
            "qps_4_threads": throughput(call, 4),
            f"recall@10 (n={len(found)})": round(float(np.mean(found)), 4),
            "loadavg_1m": loadavg(),
        }

    for name, (build, params) in INDEXES.items():
        client.release_collection(IDX_COLLECTION)
        client.drop_index(IDX_COLLECTION, "vector")
        index = client.prepare_index_params()
        index.add_index("vector", index_type=name, metric_type="COSINE", params=build)
        client.create_index(IDX_COLLECTION, index)
        build_s = wait_index(client, IDX_COLLECTION, ROWS)
        load_s, _ = timed(lambda: client.load_collection(IDX_COLLECTION))
        if backend != "milvus":
            time.sleep(3.0)  # milvus-lite builds indexes in a background thread
        info = client.describe_index(IDX_COLLECTION, "vector")
        indexes[name] = {
            **measure(params),
            "build_s": build_s,
            "load_s": load_s,
            "params_reported": {
                k: v for k, v in info.items() if k not in ("field_name", "index_name")
            },
        }
        log(f"{backend}: {name} {indexes[name]['p50_ms']} ms")
        for extra, (base_index, extra_params) in EXTRA_SEARCHES.items():
            if base_index == name:
                indexes[extra] = measure(extra_params)

    levels: Result = {}
    if backend != "milvus":  # milvus-lite has no consistency levels: every write is visible
        client.drop_collection(IDX_COLLECTION)
        return indexes, levels
    log("milvus: consistency cost")
    params = INDEXES["HNSW"][1]
    for level in ("Strong", "Session", "Bounded"):
        call = searcher(client, IDX_COLLECTION, qlist, params, level)
        call(0)
        latency, _ = serial_latency(call)
        levels[f"search {level}"] = {**latency, "qps_4_threads": throughput(call, 4)}
    ids = [r["id"] for r in base_rows]
    for level in ("Strong", "Session", "Bounded"):

        def get_one(i: int, level: str = level) -> Any:
            return client.get(
                IDX_COLLECTION,
                ids=[ids[(i * 7919) % ROWS]],
                output_fields=OUTPUT_FIELDS,
                consistency_level=level,
            )

        get_one(0)
        latency, _ = serial_latency(get_one)
        levels[f"get {level}"] = {**latency, "qps_4_threads": throughput(get_one, 4)}
    client.drop_collection(IDX_COLLECTION)
    return indexes, levels


def log_summary(path: Path) -> Result:
    if not path.exists():
        return {}
    lines = path.read_text(errors="replace").splitlines()
    errors = [ln for ln in lines if "[ERROR]" in ln or " ERROR " in ln]
    warns = [ln for ln in lines if "[WARN]" in ln or " WARNING " in ln]
    return {
        "lines": len(lines),
        "error_lines": len(errors),
        "warn_lines": len(warns),
        "first_errors": [e[:240] for e in errors[:3]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m studies.milvus_backends_probe",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--backends",
        nargs="+",
        choices=["milvus", "milvus-lite"],
        default=["milvus", "milvus-lite"],
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    vecs = unit_vectors(ROWS, SEED)
    base_rows = make_rows(vecs, "doc", SEED)
    queries = unit_vectors(N_QUERIES, SEED + 1)
    began = time.perf_counter()
    results: Result = {
        "machine": {
            "cpus": psutil.cpu_count(),
            "mem_gb": round(psutil.virtual_memory().total / 2**30, 1),
        },
        "setup": {
            "rows": ROWS,
            "dim": DIM,
            "batch": BATCH,
            "top_k": TOP_K,
            "queries": N_QUERIES,
            "serial_budget_s": SERIAL_BUDGET_S,
            "throughput_s": THROUGHPUT_S,
            "hnsw": HNSW_BUILD,
            "search_consistency_default": "Session",
        },
        "backends": {},
    }
    for backend in args.backends:
        results["backends"][backend] = probe_backend(backend, base_rows, queries)
    results["total_s"] = round(time.perf_counter() - began, 1)
    text = json.dumps(results, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
