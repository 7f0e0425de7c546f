"""Embedders: real (the ONNX model, loaded lazily in the background) and fake (unit tests).

Loading the model takes ~0.3 s from a local folder and far longer when it has to be
downloaded, so it never happens on the path of a tool call: `ModelLoader` loads in a thread
and callers ask `current()`. Without a model on disk, a download is tried only when the hub
answers a quick probe (hub.py); otherwise the process runs on keywords and says so once.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mcp_memory import hub, onnx_direct
from mcp_memory import quantize as quantize_mod
from mcp_memory.config import DEFAULT_MODEL, Settings, default_cache_dir

log = logging.getLogger("mcp_memory")
DIM = 384
# How long a tool call that embeds waits for a model still loading (measured here: 0.7 s warm,
# 3.2 s when the int8 copy is first made); past it the call runs on keywords (docs: README).
LOAD_WAIT_S = 10.0


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised."""
        ...


class ModelUnavailable(Exception):
    """No model can be had here now; the message is the reason, in one line."""


class FastEmbedder:
    """The ONNX model; `model_dir` skips the hub entirely. `quantize` runs an int8 copy of the
    weights (see quantize.py: ~2.5x faster inside a recall); its vectors are recorded under
    their own model name, since they differ slightly from the float model's. A copy that
    onnx_direct.py has described loads without fastembed (~0.3 s instead of ~1.5 s)."""

    def __init__(
        self,
        model_name: str = DEFAULT_MODEL,
        model_dir: Path | None = None,
        threads: int | None = None,
        allow_download: bool = True,
        quantize: bool = True,
        cache_dir: Path | None = None,
    ) -> None:
        if model_dir is not None and not (Path(model_dir) / "model.onnx").is_file():
            raise FileNotFoundError(f"no model.onnx in MCP_MEMORY_MODEL_DIR={model_dir}")
        self.name = model_name
        self._copy: Path | None = None  # the int8 copy's folder, when one runs
        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        copy = onnx_direct.locate(model_name, model_dir, cache) if quantize else None
        if copy is not None and self._load_direct(copy, threads):
            return
        self._load_fastembed(model_dir, threads, allow_download, quantize, cache)
        self.dim = int(self.embed(["probe"]).shape[1])

    def _load_direct(self, copy: Path, threads: int | None) -> bool:
        try:
            self._model: Any = onnx_direct.DirectModel(copy, threads)
        except Exception as exc:  # noqa: BLE001 - fastembed can still load it
            log.warning("mcp-memory: loading %s directly failed (%s); using fastembed.", copy, exc)
            return False
        self.name += quantize_mod.SUFFIX
        self.dim = self._model.dim
        self._copy = copy
        return True

    def _load_fastembed(
        self,
        model_dir: Path | None,
        threads: int | None,
        allow_download: bool,
        quantize: bool,
        cache: Path,
    ) -> None:
        from fastembed import TextEmbedding  # heavy (~0.8 s): only when no described copy

        _quiet_fastembed()
        kwargs: dict[str, object] = {"threads": threads}
        if not allow_download:
            kwargs["local_files_only"] = True
        if model_dir is not None:
            kwargs["specific_model_path"] = str(model_dir)
        found = _int8_dir(TextEmbedding, self.name, kwargs, cache) if quantize else None
        if found is not None:
            int8_dir, source = found
            try:
                self._model = TextEmbedding(
                    self.name, **{**kwargs, "specific_model_path": str(int8_dir)}
                )
                onnx_direct.describe(
                    int8_dir, self._model.model, self.name, source, from_cache=model_dir is None
                )
                self.name += quantize_mod.SUFFIX
                self._copy = int8_dir
                return
            except Exception as exc:  # noqa: BLE001 - a damaged copy must not cost the vectors
                log.warning(
                    "mcp-memory: the int8 model copy in %s does not load (%s); using the "
                    "float model. Delete that folder to have it made again.",
                    int8_dir,
                    type(exc).__name__,
                )
        self._model = TextEmbedding(self.name, **kwargs)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = list(self._model.embed(list(texts), batch_size=32))
        return np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)

    def embed_fixed(self, texts: Sequence[str]) -> np.ndarray:
        """`embed` for texts that never change (the semantic detector's exemplars), kept on
        disk in the model copy's folder: embedding ~130 of them cost every CLI `remember`
        ~0.3 s of CPU at start. The folder is specific to the weights, so the file is too."""
        if self._copy is None:
            return self.embed(texts)
        digest = hashlib.sha256("\0".join([self.name, *texts]).encode()).hexdigest()[:20]
        path = self._copy / f"fixed-{digest}.npy"
        try:
            vectors = np.load(path, allow_pickle=False)
            if vectors.shape == (len(texts), self.dim) and vectors.dtype == np.float32:
                return vectors
        except (OSError, ValueError):
            pass
        vectors = self.embed(texts)
        onnx_direct.save_array(path, vectors)
        return vectors


def _int8_dir(
    text_embedding: type, model_name: str, kwargs: dict[str, object], cache_dir: Path
) -> tuple[Path, Path] | None:
    """The int8 copy of the model fastembed would load and the folder it was made from, or
    None (float model) when it cannot be made: quantizing is a speed-up, never a reason to
    run without vectors. A model that cannot be fetched at all raises here, once."""
    model = text_embedding(model_name, lazy_load=True, **kwargs).model  # downloads, loads nothing
    try:
        source = Path(model._model_dir)  # fastembed keeps no public name for it
        model_file = model.model_description.model_file
        return quantize_mod.int8_copy(source, cache_dir, model_file), source
    except Exception as exc:  # noqa: BLE001 - any failure falls back to the float model
        log.warning(
            "mcp-memory: could not make an int8 copy of %s (%s: %s); using the float model.",
            model_name,
            type(exc).__name__,
            str(exc).splitlines()[0][:300] if str(exc) else "",
        )
        return None


def _quiet_fastembed() -> None:
    """fastembed logs through loguru, straight to stderr: two `ERROR` lines for a model that is
    not there, which is our one notice's job (ModelLoader). Its other messages go too."""
    try:
        from loguru import logger

        logger.disable("fastembed")
    except ImportError:  # pragma: no cover - fastembed depends on loguru
        pass
    onnx_direct.quiet_onnxruntime()


_TOKEN = re.compile(r"[a-z0-9]+")


class FakeEmbedder:
    """Deterministic bag-of-words hashing: same words, close vectors. Unit tests only."""

    def __init__(self, dim: int = DIM, name: str = "fake-hash-v1") -> None:
        self.dim = dim
        self.name = name

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _TOKEN.findall(text.lower()):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out


_noticed = threading.Event()


def _notice_once(reason: str) -> None:
    """Offline is a mode, not an error: one line per process, however many stores open."""
    if _noticed.is_set():
        return
    _noticed.set()
    log.warning(
        "mcp-memory: no embedding model (%s); recall works on keywords only. Set "
        "MCP_MEMORY_MODEL_DIR to a folder with the ONNX model, then run `mcp-memory embed` "
        "to add vectors to the memories stored meanwhile.",
        reason,
    )


def _reason(exc: BaseException, model_name: str) -> str:
    if isinstance(exc, (ModelUnavailable, FileNotFoundError)):
        return str(exc)
    text = str(exc).splitlines()[0][:300] if str(exc) else ""
    return f"{model_name} did not load: {type(exc).__name__}: {text}"


class ModelLoader:
    """Loads an embedder once, in a daemon thread; `current()` never blocks."""

    def __init__(
        self,
        model_name: str = DEFAULT_MODEL,
        model_dir: Path | None = None,
        allow_download: bool = True,
        quantize: bool = True,
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        self.model_name = model_name
        self.model_dir = model_dir
        self.allow_download = allow_download
        self.quantize = quantize
        self.cache_dir = cache_dir
        self.threads = threads  # onnxruntime's; None: its default (one per core)
        self._embedder: Embedder | None = None
        self._error: str | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._wait_until: float | None = None  # set by the first call that has to wait

    @classmethod
    def for_settings(
        cls, settings: Settings, *, allow_download: bool = True, threads: int | None = None
    ) -> ModelLoader:
        """The loader of the model these settings name (not started)."""
        return cls(
            settings.model_name,
            settings.model_dir,
            allow_download,
            quantize=settings.quantize,
            cache_dir=settings.cache_dir,
            threads=threads,
        )

    @classmethod
    def ready(cls, embedder: Embedder | None) -> ModelLoader:
        """A loader that already holds `embedder` (or is settled on keyword-only when None)."""
        loader = cls(model_name=embedder.name if embedder else "none")
        loader._embedder = embedder
        loader._error = None if embedder else "embeddings disabled"
        loader._done.set()
        return loader

    def start(self) -> ModelLoader:
        with self._lock:
            if self._thread is None and not self._done.is_set():
                self._thread = threading.Thread(target=self._load, name="embed-load", daemon=True)
                self._thread.start()
        return self

    def _load(self) -> None:
        try:
            self._embedder = self._build()
        except Exception as exc:  # any failure means keyword-only, never a crash
            self._error = _reason(exc, self.model_name)
            _notice_once(self._error)
        finally:
            self._done.set()

    def _build(self) -> Embedder:
        """A model already on disk first; a download only when allowed and the hub answers
        (hub.py: a quick probe, its failure remembered for an hour), never ~40 s of retries."""
        load = functools.partial(
            FastEmbedder,
            self.model_name,
            self.model_dir,
            threads=self.threads,
            quantize=self.quantize,
            cache_dir=self.cache_dir,
        )
        try:
            return load(allow_download=False)
        except Exception as exc:
            if self.model_dir is not None:  # a folder is named: nothing to download
                raise
            if not self.allow_download:
                raise ModelUnavailable(
                    f"{self.model_name} is not on this machine and this command does not "
                    "download it"
                ) from exc
            if not hub.reachable(self.cache_dir or default_cache_dir()):
                host, port = hub.probe_target()
                raise ModelUnavailable(
                    f"{self.model_name} is not on this machine and {host}:{port} cannot be "
                    f"reached (offline; not tried again for {hub.OFFLINE_TTL_S / 3600:.0f} h)"
                ) from exc
        return load(allow_download=True)

    def current(self) -> Embedder | None:
        return self._embedder

    def settle(self, timeout: float = LOAD_WAIT_S) -> Embedder | None:
        """The embedder, waiting (at most `timeout`) for a load already under way.

        A server starts loading at spawn and agents write and recall in their first seconds:
        answering those on keywords alone loses the vector of every early note and the
        meaning of every early query. Only the first wait is long: if the model is still not
        there after it (a download on a slow or closed network), later calls do not wait
        again and run on keywords until it arrives. A loader never started (keyword-only by
        choice) or already settled does not wait at all."""
        if self._embedder is not None or self._thread is None or self._done.is_set():
            return self._embedder
        with self._lock:  # every call in the first window waits for the same deadline
            if self._wait_until is None:
                self._wait_until = time.monotonic() + timeout
            left = self._wait_until - time.monotonic()
        if left > 0:
            self._done.wait(left)
        return self._embedder

    def wait(self, timeout: float | None = None) -> Embedder | None:
        self.start()
        self._done.wait(timeout)
        return self._embedder

    @property
    def error(self) -> str | None:
        """Why there is no model, once the load has failed."""
        return self._error

    @property
    def status(self) -> str:
        if self._embedder is not None:
            return f"loaded ({self._embedder.name}, dim {self._embedder.dim})"
        if self._done.is_set():
            return f"unavailable: keyword-only ({self._error})"
        return "loading" if self._thread else "not started"
