"""An int8 copy of an ONNX embedding model, made once and cached on disk.

A query embedding with the float32 MiniLM reads ~42 MB of layer weights per call. Inside a
recall (SQLite, numpy and Python run between two embeddings) those weights are no longer in
the CPU caches, and the embedding takes 3.5-4 ms instead of the 2 ms it takes in a tight loop:
it is bound by memory bandwidth, not arithmetic. With int8 weights it reads a quarter of that
and takes ~1.5 ms either way (figures in docs/benchmarks.md).

Only the MatMul weights are quantized, per output channel (dynamic quantization: activations
stay float). Per-channel scales keep the vectors at cosine ~0.99 of the float model's; the
per-tensor default drifts to ~0.95 and loses a tenth of the top-10 neighbours. Making the copy
locally, rather than downloading a published int8 export, keeps fastembed's download (or
`MCP_MEMORY_MODEL_DIR`) the single source of weights.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mcp_memory.progress import Progress, tell

log = logging.getLogger("mcp_memory")

SUFFIX = ":int8"  # appended to the model name recorded with each vector: int8 vectors differ
MODEL_FILE = "model.onnx"
RECIPE = "matmul-per-channel-qint8-v1"  # part of the cache key: a new recipe is a new copy
# Who hears a copy being made: the copy happens on the model loader's thread, deep under the
# command that asked for a model, so a CLI bar listens here rather than passing a callback down.
_LISTENERS: list[Progress] = []


@contextmanager
def listening(progress: Progress) -> Iterator[None]:
    """`progress(0, 1)` when a copy starts being made in this process, `(1, 1)` when done."""
    _LISTENERS.append(progress)
    try:
        yield
    finally:
        _LISTENERS.remove(progress)


def _tell(done: int) -> None:
    for listener in list(_LISTENERS):
        tell(listener, done, 1)


def cache_key(model_file: Path) -> str:
    """Cheap identity of the source weights (no 90 MB hash on every start)."""
    stat = model_file.stat()
    ident = f"{RECIPE}|{model_file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha256(ident.encode()).hexdigest()[:16]


def int8_copy(src_dir: Path, cache_dir: Path, model_file: str = MODEL_FILE) -> Path:
    """The folder of an int8 copy of `src_dir` (same tokenizer files), built on first use.

    Built in a temporary folder and renamed into place, so several processes starting at once
    each see either no copy or a whole one."""
    source = Path(src_dir) / model_file
    if not source.is_file():
        raise FileNotFoundError(f"no {model_file} in {src_dir}")
    target = Path(cache_dir) / f"{Path(src_dir).name}-{cache_key(source)}"
    if (target / model_file).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".int8-", dir=target.parent))
    _tell(0)
    try:
        _build(Path(src_dir), work, model_file)
        try:
            os.rename(work, target)
        except OSError:  # another process finished first: use its copy
            if not (target / model_file).is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
        _tell(1)
    return target


def _build(src_dir: Path, work: Path, model_file: str) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic  # heavy, needs `onnx`

    for item in src_dir.iterdir():
        if item.is_file() and item.name != model_file and not item.name.endswith(".onnx"):
            shutil.copy2(item, work / item.name)
    (work / model_file).parent.mkdir(parents=True, exist_ok=True)
    log.info("mcp-memory: making an int8 copy of %s (once)", src_dir)
    # onnxruntime writes a shape-inferred temporary beside its input: give it our own folder,
    # not the user's model folder (read-only, or shared with other processes doing the same)
    source = work / ".float.onnx"
    try:
        source.symlink_to((src_dir / model_file).resolve())
    except OSError:
        shutil.copy2(src_dir / model_file, source)
    root = logging.getLogger()
    root.addFilter(_quiet_preprocess_advice)  # stdio servers keep stderr for real problems
    try:
        quantize_dynamic(
            str(source),
            str(work / model_file),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
        )
    finally:
        root.removeFilter(_quiet_preprocess_advice)
        source.unlink()


def _quiet_preprocess_advice(record: logging.LogRecord) -> bool:
    """onnxruntime's quantizer logs on the root logger: ~60 INFO lines per model ("Quantization
    parameters for tensor ... not specified", "Ignore MatMul ...") and advice to pre-process
    shapes, which for a transformer's MatMuls with per-channel scales changes nothing. Under
    `serve` (the MCP SDK puts a handler on the root logger) all of it reached stderr."""
    if "onnxruntime" in record.pathname and record.levelno < logging.WARNING:
        return False
    return "pre-processing before quantization" not in record.getMessage()
