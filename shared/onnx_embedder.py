"""The model on onnxruntime: the packaged tokenizer, an exported encoder, then mean pooling and
L2 normalisation done here, exactly as the model's sentence-transformers modules do them.

The ``.onnx`` file comes from :mod:`shared.onnx_export`; this module only runs it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from shared.embedder import Vectors, default_model_path, encode_longest_first

__all__ = ["OnnxEmbedder"]


def _max_tokens(model_path: Path, fallback: int) -> int:
    """The model's own truncation length (sentence-transformers reads the same file)."""
    try:
        config = json.loads((model_path / "sentence_bert_config.json").read_text("utf-8"))
        return int(config["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return fallback


class OnnxEmbedder:
    """An exported model run by onnxruntime on the CPU with a fixed number of threads."""

    def __init__(
        self,
        *,
        name: str,
        onnx_file: Path,
        model_path: Path | None = None,
        runtime: str = "onnx",
        threads: int = 1,
        batch_size: int = 32,
    ) -> None:
        import onnxruntime
        from transformers import AutoTokenizer

        path = model_path or default_model_path()
        self.name = name
        self.runtime = runtime
        self.batch_size = batch_size
        self.onnx_file = onnx_file
        options = onnxruntime.SessionOptions()
        # One intra-op thread keeps a one-thread server on one core, as torch_threads does.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Named explicitly: onnxruntime 1.32 lists an Azure provider before the CPU one.
        self._session = onnxruntime.InferenceSession(
            str(onnx_file), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = [node.name for node in self._session.get_inputs()]
        width = self._session.get_outputs()[0].shape[-1]
        if not isinstance(width, int):
            raise ValueError(f"{onnx_file} does not declare its embedding dimension")
        self.dimension = width
        self._tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self._max_tokens = _max_tokens(path, self._tokenizer.model_max_length)
        # A fast tokenizer is not safe to call from two threads at once (its Rust state is
        # borrowed per call: huggingface/tokenizers#537); tokenising takes microseconds.
        self._tokenizer_lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> Vectors:
        return encode_longest_first(
            texts, batch_size=self.batch_size, dimension=self.dimension, encode_pass=self._pass
        )

    def _pass(self, texts: list[str]) -> Vectors:
        with self._tokenizer_lock:
            tokens = self._tokenizer(
                texts,
                padding=True,
                truncation=True,
                max_length=self._max_tokens,
                return_tensors="np",
            )
        feeds = {name: np.asarray(tokens[name], dtype=np.int64) for name in self._inputs}
        # No lock: onnxruntime releases the GIL and a session serves concurrent runs.
        hidden = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        # Mean over the real tokens, then unit length (sentence-transformers' Pooling and
        # Normalize modules, with their epsilons).
        mask = feeds["attention_mask"][:, :, None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.clip(norms, 1e-12, None), dtype=np.float32)
