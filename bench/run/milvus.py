"""The bench's own Milvus and demo corpus: started once per run, on a free port.

Data lives under ``.data/bench`` so the loaded corpus survives between runs (the next run
finds it and skips loading); the corpus's embeddings come from the one cache every command
shares (``Settings.cache_dir``), so the corpus is never embedded twice on one machine.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator

from bench.run.cpu import pin_current
from bench.run.sampling import process_tree_cpu_s
from shared.config import PROJECT_ROOT, Settings, get_settings
from shared.servers import served_env

__all__ = ["bench_settings", "bench_milvus", "server_env", "wait_until_settled"]

BENCH_DATA = PROJECT_ROOT / ".data" / "bench"


COLLECTION = "bench_documents"

# After loading the corpus (or replaying its log on a restart) Milvus seals, indexes and
# compacts segments for a while, on the servers' core, and that work is not what a step
# measures. So the run waits until Milvus's CPU over a few seconds is down to what an idle
# Milvus uses (0.02-0.03 cores on this 2-core machine, measured on the loaded bench corpus).
SETTLED_CORES = 0.15
SETTLE_WINDOW_S = 3.0
SETTLE_LIMIT_S = 300.0


def bench_settings(port: int, collection: str = COLLECTION) -> Settings:
    # Its own collection too, so a Milvus shared with development work is never disturbed.
    return get_settings(
        data_dir=BENCH_DATA,
        milvus_port=port,
        torch_threads=1,
        access_log=False,
        milvus_uri="",
        collection=collection,
    )


def server_env(settings: Settings) -> dict[str, str]:
    """The environment every server (and the in-process floor) gets: same settings for all.

    Of the caller's own settings only the workshop's pitfall switches pass (the report names
    them); every other setting a server reads is the bench's.
    """
    pitfalls = {k: v for k, v in os.environ.items() if k.startswith("TWINBENCH_PITFALL_")}
    return served_env(
        **pitfalls,
        TWINBENCH_MILVUS_PORT=str(settings.milvus_port),
        TWINBENCH_MILVUS_HOST="127.0.0.1",
        TWINBENCH_DATA_DIR=str(settings.data_dir),
        TWINBENCH_ACCESS_LOG="false",
        TWINBENCH_COLLECTION=settings.collection,
        # One model runtime for every server: the caller's, recorded with the settings.
        TWINBENCH_EMBED_BACKEND=settings.embed_backend,
        PYTHONPATH=str(PROJECT_ROOT),
        # Empty for our own Milvus, whose servers find its password in the data directory.
        **({"TWINBENCH_MILVUS_TOKEN": settings.milvus_token} if settings.milvus_token else {}),
    )


@contextlib.contextmanager
def bench_milvus(
    server_cpus: tuple[int, ...],
    own_cpus: tuple[int, ...],
    *,
    collection: str = COLLECTION,
    corpus: bool = True,
    on_started: Callable[[Settings], None] | None = None,
) -> Iterator[tuple[Settings, dict[str, object]]]:
    """Start Milvus pinned to the server CPUs, load the corpus, stop Milvus afterwards.

    ``corpus=False`` (the smoke tests) leaves the collection to the caller.
    ``on_started(settings)`` runs as soon as Milvus answers, before the corpus check: the
    servers start there, so their models load while Milvus replays its log (~25 s after a
    restart, during which the check only waits).
    """
    from shared.launcher import own_milvus
    from shared.milvus_server import MilvusStartError, client_token, server_status

    info: dict[str, object] = {"data_dir": str(BENCH_DATA)}
    began = time.monotonic()
    with contextlib.ExitStack() as stack:
        ours = True
        # Children inherit our affinity: pin ourselves to the server CPUs while Milvus starts.
        pin_current(server_cpus)
        try:
            settings = stack.enter_context(
                own_milvus(
                    data_dir=BENCH_DATA,
                    throwaway=False,
                    collection=collection,
                    torch_threads=1,
                    access_log=False,
                )
            )
        except MilvusStartError as exc:
            # Milvus 2.3's embedded etcd always binds 2380, so a second embedded Milvus cannot
            # start beside a running one: measure against that one (not pinned, not ours).
            existing = server_status(get_settings())
            if not existing.get("running"):
                raise
            ours = False
            # Its password is in its own data directory, not the bench's: pass it on.
            settings = bench_settings(int(existing["port"]), collection).model_copy(
                update={"milvus_token": client_token(get_settings())}
            )
            info["pid"] = existing.get("pid")
            info["shared_milvus"] = (
                f"could not start a Milvus of our own ({str(exc).splitlines()[0][:120]}); "
                f"reused the running one on port {existing['port']}, which is neither pinned "
                "nor ours"
            )
            print(f"  {info['shared_milvus']}", file=sys.stderr)
        finally:
            pin_current(own_cpus)
        info.update(port=settings.milvus_port, start_s=round(time.monotonic() - began, 1))
        if ours:
            state = server_status(settings)
            info.update(backend=state.get("backend"), pid=state.get("pid"))
        if on_started is not None:
            on_started(settings)
        began = time.monotonic()
        info["documents"] = 0
        if corpus:
            from shared.corpus import ensure_corpus_loaded

            # Embedding a fresh corpus is the one heavy job before the run: give it every CPU.
            pin_current(tuple(sorted({*server_cpus, *own_cpus})))
            try:
                info["documents"] = ensure_corpus_loaded(settings)
            finally:
                pin_current(own_cpus)
        info["corpus_s"] = round(time.monotonic() - began, 1)
        pid = info.get("pid")
        if ours and isinstance(pid, int):
            waited_s, cores = wait_until_settled(lambda: process_tree_cpu_s(pid))
            info.update(settle_s=round(waited_s, 1), settle_cores=round(cores, 3))
        yield settings, info


def wait_until_settled(
    read_cpu_s: Callable[[], float],
    *,
    window_s: float = SETTLE_WINDOW_S,
    settled_cores: float = SETTLED_CORES,
    limit_s: float = SETTLE_LIMIT_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[float, float]:
    """Wait until a process uses at most ``settled_cores`` over a ``window_s`` window.

    ``read_cpu_s`` gives the process's CPU seconds so far. Returns the seconds waited and the
    cores of the last window. Gives up after ``limit_s`` and says so: a Milvus that never
    quiets is the run's to show (its steps are marked disturbed), not a reason to hang.
    """
    began = clock()
    while True:
        window_began, used_before = clock(), read_cpu_s()
        sleep(window_s)
        cores = (read_cpu_s() - used_before) / max(clock() - window_began, 1e-3)
        waited_s = clock() - began
        if cores <= settled_cores:
            if waited_s > window_s * 1.5:
                print(f"  milvus settled after {waited_s:.0f} s", file=sys.stderr)
            return waited_s, cores
        if waited_s >= limit_s:
            print(
                f"  milvus still used {cores:.2f} cores after {waited_s:.0f} s; measuring anyway",
                file=sys.stderr,
            )
            return waited_s, cores
        print(
            f"  waiting for milvus to finish its own work after the load "
            f"({cores:.2f} cores, {waited_s:.0f} s so far)",
            file=sys.stderr,
        )
