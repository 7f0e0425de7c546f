"""Corpus loading and an optional real embedder, shared by the poisoning tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE.parents[2] / "shared" / "models" / "all-MiniLM-L6-v2-onnx"


def load(name: str) -> list[dict]:
    with open(HERE / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


class RealEmbedder:
    """fastembed over the offline model folder, shaped like the store's embedder."""

    dim = 384

    def __init__(self, path: Path) -> None:
        from fastembed import TextEmbedding

        self._m = TextEmbedding(
            "sentence-transformers/all-MiniLM-L6-v2", specific_model_path=str(path), threads=2
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.array(list(self._m.embed(texts, batch_size=64)), dtype=np.float32)


@pytest.fixture(scope="session")
def real_embedder() -> RealEmbedder:
    if not MODEL_DIR.exists():
        pytest.skip("offline embedding model not available (../shared/models)")
    return RealEmbedder(MODEL_DIR)
