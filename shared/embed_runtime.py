"""Which runtime runs the model: the embedder that ``Settings.embed_backend`` names.

"torch" is sentence-transformers itself; "onnx" and "onnx-int8" run an export of the same
weights on onnxruntime, made on first start (see :mod:`shared.onnx_export`).
"""

from __future__ import annotations

from shared.config import Settings
from shared.embedder import Embedder, SentenceTransformerEmbedder, default_model_path
from shared.onnx_export import exported_model

__all__ = ["load_embedder"]


def load_embedder(
    settings: Settings, *, threads: int | None = None, batch_size: int | None = None
) -> Embedder:
    """The settings' model on the settings' runtime; ``threads`` and ``batch_size`` override.

    Raises :class:`shared.onnx_export.ExportFailed` when an ONNX runtime is chosen and the
    export cannot be made; its message names the remedy.
    """
    threads = threads or settings.torch_threads
    batch_size = batch_size or settings.encode_batch_size
    runtime = settings.embed_backend
    if runtime == "torch":
        return SentenceTransformerEmbedder(
            name=settings.model_name,
            model_path=settings.model_path,
            torch_threads=threads,
            batch_size=batch_size,
        )
    from shared.onnx_embedder import OnnxEmbedder

    model_path = settings.model_path or default_model_path()
    onnx_file = exported_model(
        model_path=model_path,
        model_name=settings.model_name,
        cache_dir=settings.cache_dir,
        runtime=runtime,
    )
    return OnnxEmbedder(
        name=settings.model_name,
        onnx_file=onnx_file,
        model_path=model_path,
        runtime=runtime,
        threads=threads,
        batch_size=batch_size,
    )


def main() -> int:
    """``python -m shared.embed_runtime``: ready the configured runtime now (``make install``
    runs it), so the first server or test session does not wait for the export."""
    import time

    from shared.config import get_settings

    began = time.perf_counter()
    embedder = load_embedder(get_settings())
    print(f"model runtime ready: {embedder.runtime} ({time.perf_counter() - began:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
