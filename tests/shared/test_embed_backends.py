"""The model's runtimes: ONNX fp32 answers as torch does, int8's drift is measured, and the
export cache is reused, rebuilt when corrupt, and refused with a remedy when impossible.

Real model, real export (one per test session, in a temporary cache), no Milvus: neighbours
are found by brute-force cosine over a sample of the demo corpus.
"""

from __future__ import annotations

import logging
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from bench.load.pool import POOL_SEED, first_sentences, questions
from shared.config import Settings, get_settings
from shared.corpus import build_corpus
from shared.embed_runtime import load_embedder
from shared.embedder import Embedder, Vectors, default_model_path
from shared.onnx_export import ONNX_FILES, ExportFailed, export_folder, exported_model

ROOT = Path(__file__).resolve().parents[2]
RUNTIMES = ("torch", "onnx", "onnx-int8")
TOP_K = 10
# int8 against torch on this sample, measured 2026-12-04: mean top-10 overlap 0.915, min 0.8
# (the test prints it); the floor leaves room for another CPU's rounding, not a broken model.
INT8_MIN_OVERLAP = 0.85


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def embedders(onnx_cache: Path) -> dict[str, Embedder]:
    return {
        runtime: load_embedder(get_settings(embed_backend=runtime, cache_dir=onnx_cache))
        for runtime in RUNTIMES
    }


@pytest.fixture(scope="session")
def corpus_and_queries() -> tuple[list[str], list[str]]:
    """300 paragraphs spread over the corpus's start, and 48 queries made the way the
    bench's two pools make them (24 short questions, the default, and 24 first sentences)
    from paragraphs that are not in the sample."""
    documents = build_corpus(limit=1_200)
    paragraphs = [doc.text for doc in documents[:900:3]]
    rest = [{"title": d.title, "text": d.text} for d in documents[901::6]]
    rng = random.Random(POOL_SEED)
    return paragraphs, questions(rest, rng)[:24] + first_sentences(rest, rng)[:24]


def _top_k(queries: Vectors, corpus: Vectors) -> list[set[int]]:
    scores = queries @ corpus.T
    return [set(np.argsort(-row, kind="stable")[:TOP_K].tolist()) for row in scores]


@pytest.fixture(scope="session")
def neighbours(
    embedders: dict[str, Embedder], corpus_and_queries: tuple[list[str], list[str]]
) -> dict[str, list[set[int]]]:
    paragraphs, queries = corpus_and_queries
    return {
        runtime: _top_k(embedder.encode(queries), embedder.encode(paragraphs))
        for runtime, embedder in embedders.items()
    }


def test_each_embedder_reports_the_runtime_it_runs(embedders: dict[str, Embedder]) -> None:
    assert {runtime: embedder.runtime for runtime, embedder in embedders.items()} == {
        runtime: runtime for runtime in RUNTIMES
    }
    assert {embedder.dimension for embedder in embedders.values()} == {384}


def test_onnx_fp32_vectors_match_torch_on_pool_queries(
    embedders: dict[str, Embedder], corpus_and_queries: tuple[list[str], list[str]]
) -> None:
    _, queries = corpus_and_queries
    assert len(queries) >= 40
    torch_vectors = embedders["torch"].encode(queries)
    onnx_vectors = embedders["onnx"].encode(queries)
    cosines = np.sum(torch_vectors * onnx_vectors, axis=1)
    assert float(cosines.min()) >= 0.9999
    np.testing.assert_allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-5)


def test_onnx_fp32_finds_the_same_top_10_as_torch(
    neighbours: dict[str, list[set[int]]],
) -> None:
    assert neighbours["onnx"] == neighbours["torch"]


def test_int8_top_10_overlap_with_torch_is_measured_and_above_its_floor(
    neighbours: dict[str, list[set[int]]],
) -> None:
    overlaps = [
        len(ours & theirs) / TOP_K
        for ours, theirs in zip(neighbours["onnx-int8"], neighbours["torch"], strict=True)
    ]
    mean = float(np.mean(overlaps))
    print(f"\nint8 top-{TOP_K} overlap with torch: mean {mean:.3f}, min {min(overlaps):.1f}")
    assert mean >= INT8_MIN_OVERLAP
    assert mean < 1.0, "int8 agreeing exactly would mean it is not quantised"


def test_runtimes_keep_the_callers_order_and_answer_an_empty_call(
    embedders: dict[str, Embedder],
) -> None:
    texts = ["a long sentence about reading files line by line in Python", "x", "sockets"]
    for runtime, embedder in embedders.items():
        together = embedder.encode(texts)
        alone = np.vstack([embedder.encode([text]) for text in texts])
        cosines = np.sum(together * alone, axis=1)
        # int8's activations are quantised with one scale per call, so its vectors move a
        # little with their batch; the fp32 runtimes' do not.
        assert float(cosines.min()) >= (0.97 if runtime == "onnx-int8" else 0.99999), runtime
        assert embedder.encode([]).shape == (0, 384)


def test_a_good_export_is_reused_untouched(
    embedders: dict[str, Embedder], onnx_cache: Path
) -> None:
    model = default_model_path()
    folder = export_folder(model_path=model, model_name="all-MiniLM-L6-v2", cache_dir=onnx_cache)
    before = {name: (folder / name).stat().st_mtime_ns for name in ONNX_FILES.values()}
    for runtime in ("onnx", "onnx-int8"):
        path = exported_model(
            model_path=model, model_name="all-MiniLM-L6-v2", cache_dir=onnx_cache, runtime=runtime
        )
        assert path == folder / ONNX_FILES[runtime]
    after = {name: (folder / name).stat().st_mtime_ns for name in ONNX_FILES.values()}
    assert after == before


def test_a_truncated_export_is_rebuilt_with_one_log_line(
    embedders: dict[str, Embedder],
    onnx_cache: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = default_model_path()
    good = export_folder(model_path=model, model_name="all-MiniLM-L6-v2", cache_dir=onnx_cache)
    # A copy of the session's export (the key does not depend on the cache's place).
    copied = tmp_path / good.relative_to(onnx_cache)
    shutil.copytree(good, copied)
    broken = copied / ONNX_FILES["onnx"]
    size = broken.stat().st_size
    with broken.open("r+b") as stream:
        stream.truncate(size // 2)
    with caplog.at_level(logging.WARNING, logger="shared.onnx_export"):
        settings = get_settings(embed_backend="onnx", cache_dir=tmp_path)
        rebuilt = load_embedder(settings)
    assert [record.getMessage() for record in caplog.records] == [
        f"the onnx export in {copied} is corrupt; rebuilding it"
    ]
    assert broken.stat().st_size == size
    vector = rebuilt.encode(["sockets"])
    np.testing.assert_allclose(vector, embedders["torch"].encode(["sockets"]), atol=1e-4)


def test_two_processes_starting_together_export_once(tmp_path: Path) -> None:
    start = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.WARNING)\n"
        "from shared.embedder import default_model_path\n"
        "from shared.onnx_export import exported_model\n"
        "print(exported_model(model_path=default_model_path(), model_name='m',\n"
        "                     cache_dir=__import__('pathlib').Path(sys.argv[1]), runtime='onnx'))\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", start, str(tmp_path)],
            cwd=ROOT,  # this checkout's shared/
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert len({stdout for stdout, _ in outputs}) == 1
    exports = sum(stderr.count("exporting the model for onnx") for _, stderr in outputs)
    assert exports == 1


def test_an_export_that_cannot_be_made_names_the_runtime_and_the_remedy(tmp_path: Path) -> None:
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()
    (not_a_model / "config.json").write_text("{}", encoding="utf-8")
    settings = get_settings(
        embed_backend="onnx-int8", model_path=not_a_model, cache_dir=tmp_path / "cache"
    )
    with pytest.raises(ExportFailed) as failure:
        load_embedder(settings)
    message = str(failure.value)
    assert "TWINBENCH_EMBED_BACKEND=onnx-int8" in message
    assert "set TWINBENCH_EMBED_BACKEND=torch" in message
    # Nothing half-made is left behind to be taken for an export.
    left = sorted(path.name for path in (tmp_path / "cache" / "onnx").iterdir())
    assert len(left) == 1 and left[0].endswith(".lock"), left


@pytest.mark.parametrize("value", ["tensorflow", "onnx_int8", ""])
def test_an_unknown_runtime_is_refused_naming_the_allowed_values(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWINBENCH_EMBED_BACKEND", value)
    with pytest.raises(ValidationError) as failure:
        Settings()
    assert "TWINBENCH_EMBED_BACKEND must be one of onnx, onnx-int8, torch" in str(failure.value)


def test_the_runtime_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINBENCH_EMBED_BACKEND", "ONNX-int8 ")
    assert Settings().embed_backend == "onnx-int8"
