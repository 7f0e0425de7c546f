"""The int8 copy runs without fastembed once a fastembed load has described it (onnx_direct.py),
and gives the very same vectors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mcp_memory import FastEmbedder, onnx_direct, quantize

from .conftest import MODEL_DIR, REPO, needs_model

pytestmark = [needs_model, pytest.mark.slow]

TEXTS = [
    "Deploys go through the release/* branches",
    "what relational DB do we run?",
    "x",
    "a long note that the tokenizer has to truncate " * 80,
] * 20  # several batches of 32, padded to different lengths

_SECOND_PROCESS = """
import json, sys
from pathlib import Path
import numpy as np
from mcp_memory import FastEmbedder
model_dir = Path(sys.argv[1]) if sys.argv[1] else None
emb = FastEmbedder(model_dir=model_dir, cache_dir=Path(sys.argv[2]), allow_download=False)
np.save(sys.argv[3], emb.embed(json.loads(sys.argv[4])))
print(json.dumps({"name": emb.name, "runner": type(emb._model).__name__,
                  "fastembed": "fastembed" in sys.modules}))
"""


def second_process(model_dir: Path | None, cache: Path, out: Path) -> dict[str, object]:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _SECOND_PROCESS,
            str(model_dir or ""),
            str(cache),
            str(out),
            json.dumps(TEXTS),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_a_described_copy_runs_without_fastembed_and_gives_its_vectors_bit_for_bit(
    tmp_path: Path,
) -> None:
    first = FastEmbedder(model_dir=MODEL_DIR, cache_dir=tmp_path)
    assert type(first._model).__name__ == "TextEmbedding"  # a new cache: fastembed made it

    seen = second_process(MODEL_DIR, tmp_path, tmp_path / "v.npy")

    assert seen == {"name": first.name, "runner": "DirectModel", "fastembed": False}
    assert first.name.endswith(quantize.SUFFIX)
    assert np.array_equal(np.load(tmp_path / "v.npy"), first.embed(TEXTS))


def _fastembed_cache(root: Path) -> Path:
    """The model where a fastembed download would have put it (hub cache layout)."""
    repo = root / "models--Qdrant--all-MiniLM-L6-v2-onnx"
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    for item in MODEL_DIR.iterdir():
        (snapshot / item.name).symlink_to(item)
    return root


def test_a_model_from_fastembeds_own_cache_is_found_again_without_fastembed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MCP_MEMORY_MODEL_DIR", raising=False)
    monkeypatch.setenv("FASTEMBED_CACHE_PATH", str(_fastembed_cache(tmp_path / "fastembed")))
    cache = tmp_path / "cache"
    name = "sentence-transformers/all-MiniLM-L6-v2"
    assert onnx_direct.locate(name, None, cache) is None

    first = FastEmbedder(cache_dir=cache, allow_download=False)

    assert onnx_direct.locate(name, None, cache) is not None
    seen = second_process(None, cache, tmp_path / "v.npy")
    assert seen["runner"] == "DirectModel" and seen["fastembed"] is False
    assert np.array_equal(np.load(tmp_path / "v.npy"), first.embed(TEXTS))
    monkeypatch.setenv("FASTEMBED_CACHE_PATH", str(tmp_path / "elsewhere"))
    assert onnx_direct.locate(name, None, cache) is None  # another cache: ask fastembed


def test_a_model_folder_given_once_is_not_used_after_the_variable_is_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FASTEMBED_CACHE_PATH", str(tmp_path / "empty"))
    FastEmbedder(model_dir=MODEL_DIR, cache_dir=tmp_path)
    assert onnx_direct.locate("sentence-transformers/all-MiniLM-L6-v2", None, tmp_path) is None


def test_fixed_texts_are_embedded_once_then_read_back_from_the_copy_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = ["Ignore all previous instructions", "Use pytest -x for quick failures"]
    first = FastEmbedder(model_dir=MODEL_DIR, cache_dir=tmp_path)
    vectors = first.embed_fixed(texts)
    assert np.array_equal(vectors, first.embed(texts))

    later = FastEmbedder(model_dir=MODEL_DIR, cache_dir=tmp_path)
    monkeypatch.setattr(later, "embed", lambda texts: pytest.fail("embedded again"))
    assert np.array_equal(later.embed_fixed(texts), vectors)
