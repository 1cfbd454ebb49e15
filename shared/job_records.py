"""Ingest job records in Milvus, so that every replica can answer ``GET /ingest/{id}``.

Twins on several hosts share one (external) Milvus and nothing else: a job's record on the
disk of the host that accepted it (:mod:`shared.jobs`) is out of the others' reach. So each
record is also upserted here, whole, as JSON, on every state change, into a small collection
beside the documents (``<collection>_jobs``), and a host that has no file for a job reads it
here, with Strong consistency: the 202 of one host is followed at once by a GET on another.
The payload stays on the accepting host's disk, so a job resumes only there.

Besides :mod:`shared.vector_store`, the one other module that talks to Milvus: it keeps its
own small client (same URI, token and timeout), and any failure becomes
:class:`~shared.errors.BackendUnavailable`.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any

from shared.config import Settings
from shared.errors import BackendUnavailable

__all__ = ["MilvusJobRecords", "JOB_COLLECTION_SUFFIX"]

log = logging.getLogger(__name__)

JOB_COLLECTION_SUFFIX = "_jobs"
# Milvus needs a vector field in every collection; the records' is never searched.
_PLACEHOLDER = [0.0, 0.0]
_RECORD_BYTES = 65_535
_ID_BYTES = 64
_STATUS_BYTES = 16


class MilvusJobRecords:
    """Job records (JSON objects with a ``job_id``) in one Milvus collection."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.collection = f"{settings.collection}{JOB_COLLECTION_SUFFIX}"
        self._timeout = settings.milvus_timeout_s
        self._client: Any = None
        self._client_pid = -1
        self._lock = threading.Lock()

    def connect(self) -> None:
        """Open the client and create the collection if missing (at start; else lazily)."""
        self._call("connection", lambda client: None)

    def put(self, record: dict[str, Any]) -> None:
        """Upsert a record (raises BackendUnavailable when Milvus does not take it)."""
        text = _fitting_json(record)
        row = {
            "id": record["job_id"],
            "status": str(record.get("status", ""))[:_STATUS_BYTES],
            "record": text,
            "updated_at": int(float(record.get("updated_at", 0)) * 1000),
            "placeholder": _PLACEHOLDER,
        }
        self._call(
            "job record write",
            lambda client: client.upsert(self.collection, data=[row], timeout=self._timeout),
        )

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The record of ``job_id`` as last written by any host, or None if there is none."""
        rows = self._call(
            "job record read",
            lambda client: client.get(
                self.collection,
                ids=[job_id],
                output_fields=["record"],
                timeout=self._timeout,
                # Whatever host wrote it, a write acknowledged before this read is seen.
                consistency_level="Strong",
            ),
        )
        if not rows:
            return None
        data = json.loads(rows[0]["record"])
        return data if isinstance(data, dict) else None

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None and self._client_pid == os.getpid():
            client.close()

    def _call(self, what: str, operation: Any) -> Any:
        try:
            return operation(self._connected())
        except BackendUnavailable:
            raise
        except Exception as exc:
            log.warning("Milvus %s failed: %s", what, exc)
            self.close()  # the next call connects again
            raise BackendUnavailable(
                f"Milvus did not answer the {what} in time or is unreachable; try again shortly"
            ) from exc

    def _connected(self) -> Any:
        with self._lock:
            if self._client is not None and self._client_pid == os.getpid():
                return self._client
            from pymilvus import MilvusClient

            from shared.milvus_server import client_token

            # A forked worker never uses its parent's client (gRPC channels do not survive
            # a fork): it makes its own.
            client = MilvusClient(
                uri=self._settings.effective_milvus_uri,
                token=client_token(self._settings),
                timeout=self._timeout,
            )
            try:
                self._ensure_collection(client)
            except BaseException:
                client.close()
                raise
            self._client, self._client_pid = client, os.getpid()
            return client

    def _ensure_collection(self, client: Any) -> None:
        from pymilvus import DataType

        setup_timeout = max(self._timeout, 30.0)
        if not client.has_collection(self.collection, timeout=self._timeout):
            schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=_ID_BYTES)
            schema.add_field("status", DataType.VARCHAR, max_length=_STATUS_BYTES)
            schema.add_field("record", DataType.VARCHAR, max_length=_RECORD_BYTES)
            schema.add_field("updated_at", DataType.INT64)
            schema.add_field("placeholder", DataType.FLOAT_VECTOR, dim=len(_PLACEHOLDER))
            index = client.prepare_index_params()
            index.add_index(field_name="placeholder", index_type="FLAT", metric_type="L2")
            try:
                client.create_collection(
                    self.collection, schema=schema, index_params=index, timeout=setup_timeout
                )
            except Exception:
                # Another replica may have created it meanwhile; anything else is an outage.
                if not client.has_collection(self.collection, timeout=self._timeout):
                    raise
        # Loaded on every connect (a no-op when loaded): a restarted Milvus may not be.
        client.load_collection(self.collection, timeout=setup_timeout)


def _fitting_json(record: dict[str, Any]) -> str:
    """The record as JSON within the field's length: its row errors, then its upload's file
    name, are left out when it would not fit (neither is needed to follow the job)."""
    text = json.dumps(record, ensure_ascii=True)
    if len(text) > _RECORD_BYTES:
        text = json.dumps({**record, "errors": []}, ensure_ascii=True)
    if len(text) > _RECORD_BYTES:
        text = json.dumps({**record, "errors": [], "filename": None}, ensure_ascii=True)
    return text
