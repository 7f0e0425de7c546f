"""A running server lends its loaded model to CLI commands over a Unix-domain socket.

A CLI `recall` spent most of its time starting the model (importing onnxruntime and building
its session: ~0.25 s of CPU, seconds on a busy machine) to embed one query, while a server
on the same machine often had that very model loaded. So a server, once its model is up,
listens on a socket named after the model's identity, and a CLI command that embeds asks
there first (connecting takes microseconds; a refused or missing socket is known at once)
before it loads the model itself.

Only embeddings cross the socket: texts in, vectors out; the database never does. The
socket sits in a folder only its user can enter ($XDG_RUNTIME_DIR/mcp-memory, else
<tmp>/mcp-memory-<uid>; mode 0700, not used if another user owns it or can enter it), is
mode 0600, and both ends check the other's uid where the OS tells it (SO_PEERCRED). A client
uses the answer only when the server runs exactly the model it would load itself (same name,
folder, int8 setting and cache): another model's vectors would not match the stored ones.
Without AF_UNIX (Windows), with a stale socket file, a server that does not answer within
REPLY_TIMEOUT_S, or MCP_MEMORY_SHARE_MODEL=0, the CLI loads the model itself, as before.
Several servers with one model: the first listens; the others try again each backfill round
(server/app.py), so one takes over when it exits.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import stat
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mcp_memory.config import Settings
from mcp_memory.quantize import SUFFIX

log = logging.getLogger("mcp_memory")

PROTOCOL = 1
CONNECT_TIMEOUT_S = 0.05  # a listening socket accepts at once; anything slower is not there
REPLY_TIMEOUT_S = 2.0  # a hung server costs the CLI this, then it loads the model itself
MAX_MESSAGE = 8 * 1024 * 1024  # a request is a few texts of <= 16 KB each
MAX_TEXTS = 1024
MAX_CLIENTS = 8  # connections answered at once
MAX_PATH_BYTES = 100  # sun_path holds 104-108 bytes, the terminating NUL included
_LENGTH = struct.Struct(">I")
_PEERCRED = struct.Struct("3i")  # Linux struct ucred: pid, uid, gid


def model_name(settings: Settings) -> str:
    """The name the embedder these settings load records with its vectors (embeddings.py)."""
    return settings.model_name + (SUFFIX if settings.quantize else "")


def socket_path(settings: Settings) -> Path | None:
    """Where a server with this model listens; None: lending is off or impossible here."""
    if not settings.share_model or not hasattr(socket, "AF_UNIX"):
        return None
    folder = _private_folder()
    if folder is None:
        return None
    identity = [
        PROTOCOL,
        model_name(settings),
        str(Path(settings.model_dir).resolve()) if settings.model_dir else "",
        str(Path(settings.cache_dir).resolve()),
    ]
    key = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]
    path = folder / f"embed-{key}.sock"
    return path if len(os.fsencode(path)) <= MAX_PATH_BYTES else None


def _private_folder() -> Path | None:
    """A folder only this user can enter, made if missing: sockets obey their folder's
    permissions, so this is what keeps other users off the model."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime):
        folder = Path(runtime) / "mcp-memory"
    else:
        folder = Path(tempfile.gettempdir()) / f"mcp-memory-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError:
        return None
    private = stat.S_ISDIR(info.st_mode) and not info.st_mode & 0o077
    return folder if private and info.st_uid == os.getuid() else None


# ---- the wire: a 4-byte length, a JSON header, then (replies) the float32 vectors --------


def _send(sock: socket.socket, header: dict[str, Any], payload: bytes = b"") -> None:
    data = json.dumps(header).encode()
    sock.sendall(_LENGTH.pack(len(data)) + data + payload)


def _receive(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("the other end closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _header(sock: socket.socket) -> dict[str, Any]:
    (size,) = _LENGTH.unpack(_receive(sock, _LENGTH.size))
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes is too large")
    header = json.loads(_receive(sock, size))
    if not isinstance(header, dict):
        raise ValueError("the header is not an object")
    return header


def _same_user(sock: socket.socket) -> bool:
    """The peer runs as this user (or the OS cannot say: the folder's mode still holds)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return True
    _, uid, _ = _PEERCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, option, _PEERCRED.size))
    return uid == os.getuid()


# ---- the server's side ---------------------------------------------------------------------


class Lender:
    """Serves `embedder` on `path` while this process has it, unless another server does."""

    def __init__(self, embedder: Any, path: Path) -> None:
        self.embedder = embedder
        self.path = path
        self._listener: socket.socket | None = None
        self._inode: int | None = None
        self._closed = threading.Event()
        self._clients = threading.BoundedSemaphore(MAX_CLIENTS)

    @classmethod
    def for_settings(cls, embedder: Any, settings: Settings) -> Lender | None:
        """None when no CLI could use this embedder (another model, a test's fake one)."""
        path = socket_path(settings)
        if path is None or getattr(embedder, "name", None) != model_name(settings):
            return None
        return cls(embedder, path)

    @property
    def listening(self) -> bool:
        return self._listener is not None and self._inode == _inode(self.path)

    def publish(self) -> bool:
        """Listen, unless a live server already does; True when this one listens. Cheap to
        call again: a socket file removed under it is made again, a stale one replaced."""
        if self._closed.is_set() or self.listening:
            return self.listening
        self._stop_listening()
        try:
            with _locked(self.path.with_suffix(".lock")):
                if _answers(self.path):
                    return False
                self.path.unlink(missing_ok=True)  # stale: its server died without cleaning up
                listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                listener.bind(str(self.path))
                os.chmod(self.path, 0o600)
                listener.listen(16)
                self._listener, self._inode = listener, _inode(self.path)
        except (OSError, ImportError) as exc:  # ImportError: no fcntl on this platform
            log.debug("mcp-memory: cannot lend the model on %s: %s", self.path, exc)
            return False
        serve = threading.Thread(target=self._serve, args=(listener,), name="embed-lend")
        serve.daemon = True
        serve.start()
        log.info("mcp-memory: lending the model to CLI commands on %s", self.path)
        return True

    def close(self) -> None:
        self._closed.set()
        self._stop_listening()

    def _stop_listening(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        if self._inode is not None and self._inode == _inode(self.path):
            self.path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() below (Linux)
        listener.close()

    def _serve(self, listener: socket.socket) -> None:
        """One request per connection, each on its own thread (a client that connects and
        says nothing holds up no other); past MAX_CLIENTS at once, a connection is closed
        unanswered and that command loads the model itself."""
        while self._listener is listener:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed
            if not self._clients.acquire(blocking=False):
                conn.close()
                continue
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        try:
            with conn:
                self._answer(conn)
        except Exception as exc:  # noqa: BLE001 - one bad request never stops lending
            log.debug("mcp-memory: an embed request failed: %s", exc)
        finally:
            self._clients.release()

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(REPLY_TIMEOUT_S)
        if not _same_user(conn):
            return
        request = _header(conn)
        texts = request.get("texts")
        if request.get("v") != PROTOCOL or not isinstance(texts, list) or len(texts) > MAX_TEXTS:
            _send(conn, {"v": PROTOCOL, "error": "unsupported request"})
            return
        if not all(isinstance(t, str) for t in texts):
            _send(conn, {"v": PROTOCOL, "error": "texts must be strings"})
            return
        fixed = bool(request.get("fixed")) and hasattr(self.embedder, "embed_fixed")
        embed = self.embedder.embed_fixed if fixed else self.embedder.embed
        vectors = np.asarray(embed(texts) if texts else np.zeros((0, self.embedder.dim)), "<f4")
        reply = {"v": PROTOCOL, "model": self.embedder.name, "dim": int(self.embedder.dim)}
        _send(conn, {**reply, "n": len(texts)}, vectors.tobytes())


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Two servers starting at once: one checks-and-binds at a time (no AF_UNIX, no fcntl)."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _answers(path: Path) -> bool:
    """A live server listens there (a refused connection is a stale file)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(CONNECT_TIMEOUT_S)
            probe.connect(str(path))
        return True
    except OSError:
        return False


# ---- the CLI's side ------------------------------------------------------------------------


def _request(path: Path, texts: list[str], fixed: bool) -> tuple[dict[str, Any], np.ndarray]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(CONNECT_TIMEOUT_S)
        sock.connect(str(path))
        sock.settimeout(REPLY_TIMEOUT_S)
        if not _same_user(sock):
            raise PermissionError(f"{path} is served by another user")
        _send(sock, {"v": PROTOCOL, "texts": texts, "fixed": fixed})
        header = _header(sock)
        if "error" in header:
            raise ValueError(str(header["error"]))
        n, dim = int(header["n"]), int(header["dim"])
        if n != len(texts) or not 0 < dim <= 65536:
            raise ValueError("the reply does not match the request")
        vectors = np.frombuffer(_receive(sock, n * dim * 4), dtype="<f4").reshape(n, dim)
        return header, vectors.astype(np.float32)


class Borrowed:
    """A server's model used through its socket. Should the server go away mid-command, the
    model loads here (`fallback`) and the command goes on."""

    def __init__(self, path: Path, name: str, dim: int, fallback: Callable[[], Any]) -> None:
        self.path = path
        self.name = name
        self.dim = dim
        self._fallback = fallback
        self._local: Any = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, fixed=False)

    def embed_fixed(self, texts: Sequence[str]) -> np.ndarray:
        """The server's disk-cached vectors of fixed texts (the semantic detector's)."""
        return self._embed(texts, fixed=True)

    def _embed(self, texts: Sequence[str], *, fixed: bool) -> np.ndarray:
        if self._local is None:
            try:
                header, vectors = _request(self.path, list(texts), fixed)
                if header.get("model") == self.name and vectors.shape[1] == self.dim:
                    return vectors
                reason = f"it now runs {header.get('model')}"
            except (OSError, ValueError) as exc:
                reason = str(exc) or type(exc).__name__
            log.info("mcp-memory: the server's model did not answer (%s); loading it here", reason)
            self._local = self._fallback()
        local = self._local
        if fixed and hasattr(local, "embed_fixed"):
            return local.embed_fixed(texts)
        return local.embed(texts)


def borrow(settings: Settings, fallback: Callable[[], Any] | None = None) -> Borrowed | None:
    """A running server's model, if one with exactly this model listens; else None.
    `fallback` loads the model here should the server stop answering (default: from disk)."""
    path = socket_path(settings)
    if path is None or not path.exists():
        return None
    try:
        header, _ = _request(path, [], False)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if header.get("model") != model_name(settings):
        return None
    return Borrowed(path, str(header["model"]), int(header["dim"]), fallback or _loader(settings))


def _loader(settings: Settings) -> Callable[[], Any]:
    def load() -> Any:
        from mcp_memory.embeddings import FastEmbedder

        return FastEmbedder(
            settings.model_name,
            settings.model_dir,
            threads=1,
            allow_download=False,
            quantize=settings.quantize,
            cache_dir=settings.cache_dir,
        )

    return load
