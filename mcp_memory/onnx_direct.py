"""Runs the int8 model copy with onnxruntime and tokenizers alone, without importing fastembed.

Importing fastembed takes ~0.8 s here (it brings huggingface_hub, PIL and more): longer than
a whole CLI recall should. So the first process that loads a copy through fastembed writes
down, beside the copy, what fastembed would do with it: the tokenizer exactly as fastembed
configured it (truncation, padding, special tokens) and the pooling of its model class.
Every later process loads the copy from that description in ~0.3 s and computes the same
vectors (tests/test_embeddings_real.py compares the two).

Only the kinds of model whose post-processing is known here are described; any other runs
through fastembed every time, as before.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mcp_memory import quantize as quantize_mod

log = logging.getLogger("mcp_memory")

MANIFEST = "mcp-memory-model.json"
TOKENIZER = "tokenizer.mcp-memory.json"
SOURCES = "model-sources.json"  # model name -> the folder fastembed resolved it to
FORMAT = 1
# fastembed's text model classes -> (pooling, L2-normalised); see their _post_process_onnx_output
_POOLING = {
    "PooledNormalizedEmbedding": ("mean", True),
    "PooledEmbedding": ("mean", False),
    "OnnxTextEmbedding": ("cls", True),
}
ORT_WARNING = 2  # onnxruntime's own log severity: 0 verbose ... 2 warning, 3 error
CPU = "CPUExecutionProvider"


def describe(
    copy_dir: Path, fastembed_model: Any, model_name: str, source: Path, *, from_cache: bool
) -> None:
    """Record how fastembed runs the copy in `copy_dir` (loaded from `source`), so the next
    process can skip fastembed. Best effort: without a description it just stays slower.
    `from_cache`: fastembed found `source` in its own cache (no MCP_MEMORY_MODEL_DIR), so
    later processes without that variable may look there too."""
    pooling = _POOLING.get(type(fastembed_model).__name__)
    tokenizer = getattr(fastembed_model, "tokenizer", None)
    description = getattr(fastembed_model, "model_description", None)
    if pooling is None or tokenizer is None or description is None:
        return
    if getattr(description, "additional_files", None):  # external weights: leave to fastembed
        return
    manifest = {
        "format": FORMAT,
        "model": model_name,
        "model_file": description.model_file,
        "pooling": pooling[0],
        "normalize": pooling[1],
        "dim": description.dim,
    }
    try:
        _write_atomic(copy_dir / TOKENIZER, tokenizer.to_str())
        _write_atomic(copy_dir / MANIFEST, json.dumps(manifest, indent=1))
        if from_cache:
            _remember_source(copy_dir.parent, model_name, source, description.model_file)
    except OSError as exc:
        log.debug("mcp-memory: could not describe %s for direct loading: %s", copy_dir, exc)


def locate(model_name: str, model_dir: Path | None, cache_dir: Path) -> Path | None:
    """The described int8 copy of this model, if one is on disk; None means use fastembed.

    Cheap: a stat of the source weights (the copy's cache key) and two small files."""
    try:
        if model_dir is not None:
            source, model_file = Path(model_dir), quantize_mod.MODEL_FILE
        else:
            known = json.loads((cache_dir / SOURCES).read_text(encoding="utf-8"))[model_name]
            if known["fastembed_cache"] != str(fastembed_cache()):
                return None
            source, model_file = Path(known["dir"]), str(known["model_file"])
        copy = cache_dir / f"{source.name}-{quantize_mod.cache_key(source / model_file)}"
        manifest = json.loads((copy / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if manifest.get("format") != FORMAT or manifest.get("model") != model_name:
        return None
    return copy if (copy / str(manifest["model_file"])).is_file() else None


class DirectModel:
    """The part of fastembed's TextEmbedding that embedding needs: `embed(texts, batch_size)`."""

    def __init__(self, copy_dir: Path, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        manifest = json.loads((copy_dir / MANIFEST).read_text(encoding="utf-8"))
        quiet_onnxruntime()
        self.session = _session(copy_dir, str(manifest["model_file"]), threads)
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(copy_dir / TOKENIZER))
        self.pooling = str(manifest["pooling"])
        self.normalize = bool(manifest["normalize"])
        self.dim = int(manifest["dim"])

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Iterator[np.ndarray]:
        """Same steps as fastembed's onnx_embed and _post_process_onnx_output."""
        for start in range(0, len(texts), batch_size):
            encoded = self.tokenizer.encode_batch(list(texts[start : start + batch_size]))
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            feed = {"input_ids": ids}
            if "attention_mask" in self.inputs:
                feed["attention_mask"] = mask
            if "token_type_ids" in self.inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            output = self.session.run(None, feed)[0]
            yield from self._post_process(output, mask)

    def _post_process(self, output: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.pooling == "mean":
            total = np.sum(output, axis=1, where=mask[:, :, None].astype(bool), dtype=np.float64)
            pooled = total / np.maximum(np.sum(mask, axis=1, keepdims=True), 1e-9)
        else:
            pooled = output[:, 0] if output.ndim == 3 else output
        if self.normalize:
            norm = np.linalg.norm(pooled, ord=2, axis=1, keepdims=True)
            pooled = pooled / np.maximum(norm, 1e-12)
        return pooled.astype(output.dtype, copy=False)


def _session(copy_dir: Path, model_file: str, threads: int | None) -> Any:
    """The copy's session, from the graph onnxruntime optimised for it the first time.

    Optimising the graph is a third of building a session (~0.05 s of CPU a CLI command).
    The saved graph is optimised at the EXTENDED level, which onnxruntime documents as
    portable (ALL adds layout changes for this very CPU, redone at load), and is named after
    the onnxruntime version that made it. `threads=1` also saves the pool of spinning threads
    a CLI command does not need for one short text."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = ORT_WARNING
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = threads
    optimized = copy_dir / f"optimized-ort{ort.__version__}.onnx"
    if optimized.is_file():
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            return ort.InferenceSession(str(optimized), sess_options=options, providers=[CPU])
        except Exception as exc:  # noqa: BLE001 - damaged: made again from the copy below
            log.debug("mcp-memory: %s does not load (%s); optimising again", optimized, exc)
            optimized.unlink(missing_ok=True)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    source = str(copy_dir / model_file)
    keep = _temporary(copy_dir, ".onnx")
    try:
        if keep is not None:
            options.optimized_model_filepath = str(keep)
            try:
                session = ort.InferenceSession(source, sess_options=options, providers=[CPU])
                os.replace(keep, optimized)
                return session
            except Exception as exc:  # noqa: BLE001 - saving is a speed-up, never a need
                log.debug("mcp-memory: could not save the optimised graph: %s", exc)
                options.optimized_model_filepath = ""
        return ort.InferenceSession(source, sess_options=options, providers=[CPU])
    finally:
        if keep is not None:
            keep.unlink(missing_ok=True)


def _temporary(folder: Path, suffix: str) -> Path | None:
    try:
        fd, name = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=folder)
    except OSError:
        return None
    os.close(fd)
    return Path(name)


def quiet_onnxruntime() -> None:
    """onnxruntime's own logger prints graph-optimisation notices to stderr at start-up."""
    try:
        import onnxruntime as ort

        ort.set_default_logger_severity(ORT_WARNING)
    except Exception:  # noqa: BLE001 - a log setting must never cost the model
        pass


def fastembed_cache() -> Path:
    """The folder fastembed downloads into (its define_cache_dir, without importing it)."""
    folder = os.environ.get("FASTEMBED_CACHE_PATH")
    return Path(folder) if folder else Path(tempfile.gettempdir()) / "fastembed_cache"


def _remember_source(cache_dir: Path, model_name: str, source: Path, model_file: str) -> None:
    path = cache_dir / SOURCES
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    known[model_name] = {
        "dir": str(source),
        "model_file": model_file,
        "fastembed_cache": str(fastembed_cache()),
    }
    _write_atomic(path, json.dumps(known, indent=1, sort_keys=True))


def save_array(path: Path, array: np.ndarray) -> None:
    """Best effort, atomic: a read-only cache only means computing it again next time."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npy", dir=path.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, array, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def _write_atomic(path: Path, text: str) -> None:
    """Concurrent processes see the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
