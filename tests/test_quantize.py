"""The int8 model copy: made once, shared safely, close to the float model, never a failure."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from mcp_memory import FastEmbedder, Settings, quantize

from .conftest import MODEL_DIR, needs_model, run_in_processes

pytestmark = needs_model

TEXTS = [
    "PostgreSQL connection pool is capped at 20 because of the RDS instance size",
    "Sessions expire after 30 minutes of inactivity; refresh tokens last a week",
    "The GitHub Actions workflow caches pip wheels between runs",
    "def get_user_by_id(user_id: int) -> User: ...",
    "Caroline: That's great news about your friend! I'd love to help in any way I can.",
    "ok",
]


def test_the_int8_copy_is_made_once_and_then_reused(tmp_path: Path) -> None:
    model_folder_before = MODEL_DIR.stat().st_mtime_ns
    first = quantize.int8_copy(MODEL_DIR, tmp_path)
    # nothing was written into the user's model folder, not even a temporary
    assert MODEL_DIR.stat().st_mtime_ns == model_folder_before
    made = (first / "model.onnx").stat().st_mtime_ns
    again = quantize.int8_copy(MODEL_DIR, tmp_path)
    assert again == first
    assert (again / "model.onnx").stat().st_mtime_ns == made
    assert (first / "tokenizer.json").read_bytes() == (MODEL_DIR / "tokenizer.json").read_bytes()
    # int8 MatMul weights: the file shrinks by the ~32 MB of float layer weights
    assert (first / "model.onnx").stat().st_size < (MODEL_DIR / "model.onnx").stat().st_size - 25e6
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".int8-")]


def test_a_changed_source_model_gets_its_own_copy(tmp_path: Path) -> None:
    source = tmp_path / "model"
    source.mkdir()
    for item in MODEL_DIR.iterdir():
        os.symlink(item, source / item.name)
    (source / "model.onnx").unlink()
    (source / "model.onnx").write_bytes((MODEL_DIR / "model.onnx").read_bytes())
    first = quantize.int8_copy(source, tmp_path / "cache")
    os.utime(source / "model.onnx", ns=(1, 1))  # a new download of the weights
    second = quantize.int8_copy(source, tmp_path / "cache")
    assert second != first
    assert (second / "model.onnx").is_file()


def _build_copy(cache: str, out) -> None:  # type: ignore[no-untyped-def]
    try:
        out.put(str(quantize.int8_copy(MODEL_DIR, Path(cache))))
    except Exception as exc:  # reported, so the test shows it instead of hanging
        out.put(f"error: {type(exc).__name__}: {exc}")


def test_processes_starting_at_once_all_get_one_whole_copy(tmp_path: Path) -> None:
    results = run_in_processes(_build_copy, [(str(tmp_path),)] * 3)
    assert len(set(results)) == 1, results
    folder = Path(results[0])
    assert folder.is_dir() and (folder / "model.onnx").is_file()
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]
    FastEmbedder(model_dir=folder, quantize=False).embed(["the copy loads"])


def test_int8_vectors_stay_close_to_the_float_models(tmp_path: Path) -> None:
    fp32 = FastEmbedder(model_dir=MODEL_DIR, quantize=False)
    int8 = FastEmbedder(model_dir=MODEL_DIR, cache_dir=tmp_path)
    a, b = fp32.embed(TEXTS), int8.embed(TEXTS)
    cos = (a * b).sum(axis=1)
    assert cos.min() > 0.96, cos
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert fp32.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert int8.name == fp32.name + ":int8"  # its vectors are recorded as another model's


def test_a_copy_that_cannot_be_made_falls_back_to_the_float_model(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="mcp_memory"):
        emb = FastEmbedder(model_dir=MODEL_DIR, cache_dir=blocked)
    assert emb.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert emb.embed(["still embeds"]).shape == (1, 384)
    assert "could not make an int8 copy" in caplog.text


def test_a_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no model.onnx"):
        quantize.int8_copy(tmp_path, tmp_path / "cache")


@pytest.mark.parametrize(
    ("value", "expected"), [(None, True), ("1", True), ("0", False), ("off", False)]
)
def test_quantizing_is_on_unless_the_environment_says_no(
    value: str | None, expected: bool, tmp_path: Path
) -> None:
    env = {"MCP_MEMORY_DB": str(tmp_path / "m.db"), "MCP_MEMORY_PROJECT": "p"}
    if value is not None:
        env["MCP_MEMORY_QUANTIZE"] = value
    env["MCP_MEMORY_CACHE_DIR"] = str(tmp_path / "cache")
    settings = Settings.from_env(env)
    assert settings.quantize is expected
    assert settings.cache_dir == tmp_path / "cache"


def test_a_damaged_copy_falls_back_to_the_float_model_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = quantize.int8_copy(MODEL_DIR, tmp_path)
    (folder / "model.onnx").write_bytes(b"not an onnx model")  # a disk fault, a bad copy
    with caplog.at_level(logging.WARNING, logger="mcp_memory"):
        emb = FastEmbedder(model_dir=MODEL_DIR, cache_dir=tmp_path)
    assert emb.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert emb.embed(["still embeds"]).shape == (1, 384)
    assert "does not load" in caplog.text and str(folder) in caplog.text
