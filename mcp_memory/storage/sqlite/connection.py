"""Opening a SQLite file and writing to it: pragmas, sqlite-vec, BEGIN IMMEDIATE, busy retries.

The bottom of the SQLite engine: the backend, the migrations and the erasure purge all
open and write through these, so none of them has to go through the `storage` package
(which imports them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_vec

from mcp_memory.errors import StorageError
from mcp_memory.storage.driver import (
    BUSY_RETRIES,
    BUSY_TIMEOUT_MS,
    Connection,
    OperationalError,
    sqlite3,
)
from mcp_memory.storage.target import check_target

PRAGMAS = (
    "journal_mode=wal",
    "synchronous=normal",
    f"busy_timeout={BUSY_TIMEOUT_MS}",
    "foreign_keys=on",
    "secure_delete=on",
)


def connect(path: str | Path) -> Connection:
    """Open a WAL connection with sqlite-vec loaded; autocommit so we control BEGIN."""
    check_target(path)
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(
            str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None
        )
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from exc
    if not hasattr(conn, "enable_load_extension"):  # pragma: no cover
        raise StorageError("this Python's sqlite3 cannot load extensions: pip install sqlean.py")
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    conn.enable_load_extension(False)
    conn.row_factory = sqlite3.Row
    for pragma in PRAGMAS:
        conn.execute(f"pragma {pragma}")
    return conn


def is_busy(exc: Exception) -> bool:
    """Another connection holds the lock (as opposed to a real error in the statement)."""
    name = getattr(exc, "sqlite_errorname", "")
    return name in ("SQLITE_BUSY", "SQLITE_LOCKED") or "database is locked" in str(exc)


@contextmanager
def begin_immediate(
    conn: Connection, lock: threading.RLock | None = None, *, retries: int = BUSY_RETRIES
) -> Iterator[Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error.

    IMMEDIATE takes the write lock up front so a read-then-write never has to
    upgrade (the upgrade is what fails under contention even with busy_timeout).
    Only BEGIN is retried: once we hold the lock, statements cannot get BUSY.
    `retries=1` with busy_timeout 0 makes a best-effort write that never waits.
    """
    lock = lock or threading.RLock()
    with lock:
        for attempt in range(retries):
            try:
                conn.execute("begin immediate")
                break
            except OperationalError as exc:
                if not is_busy(exc) or attempt == retries - 1:
                    raise StorageError(f"database busy: {exc}") from exc
                time.sleep(0.05 * (attempt + 1))
        try:
            yield conn
        except BaseException:
            conn.execute("rollback")
            raise
        else:
            conn.execute("commit")
