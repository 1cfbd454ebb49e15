"""The model exported to ONNX: made once from the packaged weights, offline, and cached.

One folder per model and library versions, laid out as sentence-transformers'
``backend="onnx"`` reads a model folder (so moving to that backend is a one-line change)::

    <cache_dir>/onnx/<model>-<key>/      the model's small files: config, tokenizer, pooling
        onnx/model.onnx                  fp32, made by torch.onnx.export on first start
        onnx/model_qint8_avx2.onnx       dynamic int8, quantised from it on first use
        export.json                      what the key was made of; each file's size and hash

The key covers the model folder (its resolved path, and each file's name, size and
modification time) and the versions of torch, transformers, onnx and onnxruntime. A folder is
built in a temporary directory and renamed into place, under a lock file, so processes that
start together export once. A file whose size or hash is not the one recorded is rebuilt.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ONNX_FILES", "ExportFailed", "export_folder", "exported_model"]

log = logging.getLogger(__name__)

# The names sentence-transformers gives its own exports (``export_dynamic_quantized_onnx_
# model(..., "avx2")`` writes model_qint8_avx2.onnx), so its backend finds ours.
ONNX_FILES = {"onnx": "onnx/model.onnx", "onnx-int8": "onnx/model_qint8_avx2.onnx"}
MANIFEST = "export.json"
# Exported with the legacy (TorchScript) exporter at opset 17: measured to work with torch 2.13
# and transformers 5; bump EXPORT_FORMAT when the way of exporting changes.
OPSET = 17
EXPORT_FORMAT = 1
# Files left out of the copied model folder: the torch weights (the export replaces them).
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack", ".ckpt")
# An export is kept only if it agrees with sentence-transformers on these.
PROBES = ("a short query", "How do I close a file after reading it in Python?", "x")
MIN_PROBE_COSINE = 0.9999


class ExportFailed(RuntimeError):
    """The model could not be exported (or quantised) for an ONNX runtime."""


def _versions() -> dict[str, str]:
    names = ("torch", "transformers", "onnx", "onnxruntime")
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def _model_identity(model_path: Path) -> dict[str, Any]:
    root = model_path.resolve()
    files = [
        [str(path.relative_to(root)), path.stat().st_size, path.stat().st_mtime_ns]
        for path in sorted(root.rglob("*"))
        if path.is_file()
    ]
    return {"path": str(root), "files": files}


def _recipe(model_path: Path) -> dict[str, Any]:
    """Everything an export depends on: the key is its hash, the manifest keeps it readable."""
    return {
        "model": _model_identity(model_path),
        "versions": _versions(),
        "opset": OPSET,
        "format": EXPORT_FORMAT,
    }


def export_folder(*, model_path: Path, model_name: str, cache_dir: Path) -> Path:
    """Where this model's export lives for the libraries installed now (made or not)."""
    key = hashlib.sha256(json.dumps(_recipe(model_path), sort_keys=True).encode()).hexdigest()
    key = key[:16]
    return cache_dir / "onnx" / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', model_name)}-{key}"


def exported_model(*, model_path: Path, model_name: str, cache_dir: Path, runtime: str) -> Path:
    """The ``.onnx`` file for ``runtime`` ("onnx" or "onnx-int8"), exported first if needed.

    Raises :class:`ExportFailed`, naming the runtime and the remedy, when it cannot be made.
    """
    folder = export_folder(model_path=model_path, model_name=model_name, cache_dir=cache_dir)
    target = folder / ONNX_FILES[runtime]
    if _intact(folder, runtime):
        return target
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with _locked(folder.parent / f"{folder.name}.lock"):
            # Another process may have made it while this one waited for the lock.
            if not _intact(folder, "onnx"):
                _log_rebuild(folder, "onnx")
                _export_folder(model_path, folder)
            if runtime == "onnx-int8" and not _intact(folder, runtime):
                _log_rebuild(folder, runtime)
                _quantise(folder)
    except Exception as exc:
        raise ExportFailed(
            f"could not export the model at {model_path} for TWINBENCH_EMBED_BACKEND={runtime} "
            f"into {folder} ({type(exc).__name__}: {exc}); set TWINBENCH_EMBED_BACKEND=torch "
            "to run the model on torch instead"
        ) from exc
    return target


def _log_rebuild(folder: Path, runtime: str) -> None:
    if (folder / ONNX_FILES[runtime]).exists():
        log.warning("the %s export in %s is corrupt; rebuilding it", runtime, folder)
    else:
        log.warning("exporting the model for %s into %s (once; 10-20 s)", runtime, folder)


def _manifest(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _file_record(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def _intact(folder: Path, runtime: str) -> bool:
    """Whether the runtime's file is there with the size and hash recorded when it was made."""
    name = ONNX_FILES[runtime]
    recorded = _manifest(folder).get("files", {}).get(name)
    path = folder / name
    if not recorded or not path.is_file() or path.stat().st_size != recorded.get("bytes"):
        return False
    return bool(_file_record(path) == recorded)


def _write_manifest(folder: Path, data: dict[str, Any]) -> None:
    partial = folder / f".{MANIFEST}.tmp-{os.getpid()}"
    partial.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    partial.replace(folder / MANIFEST)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _export_folder(model_path: Path, folder: Path) -> None:
    """Build the whole folder beside its place, then swap it in."""
    staging = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        shutil.copytree(
            model_path,
            staging,
            ignore=lambda _dir, names: [
                n for n in names if n.endswith(WEIGHT_SUFFIXES) or n in ("onnx", "openvino")
            ],
        )
        (staging / "onnx").mkdir()
        name = ONNX_FILES["onnx"]
        _export_fp32(model_path, staging / name)
        _write_manifest(
            staging, {**_recipe(model_path), "files": {name: _file_record(staging / name)}}
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if folder.exists():
        retired = folder.parent / f".{folder.name}.old-{os.getpid()}"
        folder.rename(retired)
        shutil.rmtree(retired, ignore_errors=True)
    staging.rename(folder)


def _export_fp32(model_path: Path, target: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
    _require_mean_pooling_and_normalise(model)
    transformer: Any = model[0].auto_model

    class WithAdditiveMask(torch.nn.Module):
        """The encoder fed a ready 4D additive mask: the legacy exporter fails inside
        transformers 5's own mask code otherwise."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            keep = attention_mask[:, None, None, :].to(torch.float32)
            additive = (1.0 - keep) * torch.finfo(torch.float32).min
            output = self.transformer(
                input_ids=input_ids, attention_mask=additive, token_type_ids=token_type_ids
            )
            hidden: torch.Tensor = output.last_hidden_state
            return hidden

    sample = model.tokenizer(list(PROBES), padding=True, return_tensors="pt")
    inputs = ("input_ids", "attention_mask", "token_type_ids")
    axes = {"batch_size": 0, "sequence_length": 1}
    # The tracer's warnings are about branches this fixed graph never takes (is_causal).
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            WithAdditiveMask().eval(),
            tuple(sample[name] for name in inputs),
            str(target),
            input_names=list(inputs),
            output_names=["last_hidden_state"],
            dynamic_axes={
                name: {v: k for k, v in axes.items()} for name in (*inputs, "last_hidden_state")
            },
            opset_version=OPSET,
            dynamo=False,
        )
    _check_against(model, model_path, target)


def _require_mean_pooling_and_normalise(model: Any) -> None:
    # The ONNX embedder pools and normalises after the session, the way this model does.
    kinds = [type(module).__name__ for module in model]
    pooling = model[1].get_config_dict().get("pooling_mode") if len(kinds) > 1 else None
    if kinds != ["Transformer", "Pooling", "Normalize"] or pooling != "mean":
        raise ValueError(
            f"only a Transformer + mean Pooling + Normalize model can run on ONNX here "
            f"(this one: {kinds}, pooling {pooling!r})"
        )


def _check_against(model: Any, model_path: Path, target: Path) -> None:
    """Refuse an export whose sentences differ from sentence-transformers' own."""
    from shared.onnx_embedder import OnnxEmbedder

    export = OnnxEmbedder(name="export check", model_path=model_path, onnx_file=target)
    ours = export.encode(PROBES)
    theirs = model.encode(
        list(PROBES), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    cosine = float(np.min(np.sum(ours * theirs, axis=1)))
    if cosine < MIN_PROBE_COSINE:
        raise ValueError(f"the export disagrees with torch (cosine {cosine:.6f})")


def _quantise(folder: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    name = ONNX_FILES["onnx-int8"]
    partial = folder / "onnx" / f".model_qint8.tmp-{os.getpid()}.onnx"
    # The quantiser logs a line per tensor to the root logger: quiet for these few seconds.
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(
            folder / ONNX_FILES["onnx"], partial, per_channel=True, weight_type=QuantType.QInt8
        )
        partial.replace(folder / name)
    finally:
        logging.disable(previous)
        partial.unlink(missing_ok=True)
    manifest = _manifest(folder)
    manifest.setdefault("files", {})[name] = _file_record(folder / name)
    _write_manifest(folder, manifest)
