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

from mcp_memory.config import busy_timeout_s
from mcp_memory.errors import DatabaseReadOnly, DatabaseUnusable, NoDatabase, StorageError
from mcp_memory.storage.driver import BUSY_RETRIES, Connection, OperationalError, sqlite3
from mcp_memory.storage.sqlite.failures import busy_error, classify, is_busy
from mcp_memory.storage.target import check_target

__all__ = ["begin_immediate", "connect", "database_file", "is_busy"]

PRAGMAS = ("synchronous=normal", "foreign_keys=on", "secure_delete=on")


def connect(path: str | Path, *, create: bool = True) -> Connection:
    """Open a WAL connection with sqlite-vec loaded; autocommit so we control BEGIN.

    `create=False` is for commands that only read: a missing file is NoDatabase instead of
    a new empty database (and folders) made where a typo pointed. A `file:` URI is passed
    to SQLite as one (`?mode=ro` opens read-only). Driver failures come out named
    (failures.classify), with the path in the message."""
    check_target(path)
    name, uri = str(path), str(path).startswith("file:")
    if name != ":memory:" and not uri:
        if create:
            _make_folder(Path(path))
        else:
            name, uri = Path(path).absolute().as_uri() + "?mode=rw", True
    timeout_s = busy_timeout_s()
    try:
        conn = sqlite3.connect(
            name, timeout=timeout_s, check_same_thread=False, isolation_level=None, uri=uri
        )
    except sqlite3.Error as exc:
        if not create and not Path(path).exists():
            raise NoDatabase(f"no database at {path}: {NO_DATABASE_HINT}") from exc
        raise _named(exc, path) from exc
    try:
        _prepare(conn, timeout_s)
    except sqlite3.Error as exc:
        conn.close()
        raise _named(exc, path) from exc
    return conn


NO_DATABASE_HINT = (
    "nothing has been stored there yet (check --db / MCP_MEMORY_DB; `remember`, `import` "
    "or `serve` creates it)"
)


def _named(exc: BaseException, path: str | Path) -> StorageError:
    return classify(exc, path) or StorageError(f"cannot open database {path}: {exc}")


def _make_folder(path: Path) -> None:
    """The database's folder, made on first use; a file in the way is named, not a traceback."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        blocker = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), None)
        raise DatabaseUnusable(
            f"cannot create the database {path}: {blocker or path.parent} is a file, not a folder"
        ) from exc
    except OSError as exc:
        raise StorageError(f"cannot create the folder {path.parent}: {exc.strerror}") from exc


def _prepare(conn: Connection, timeout_s: float) -> None:
    if not hasattr(conn, "enable_load_extension"):  # pragma: no cover
        raise StorageError("this Python's sqlite3 cannot load extensions: pip install sqlean.py")
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    conn.enable_load_extension(False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"pragma busy_timeout = {int(timeout_s * 1000)}")
    try:
        conn.execute("pragma journal_mode=wal")
    except OperationalError as exc:  # a read-only file not in WAL yet: reads work without it
        if not isinstance(classify(exc), DatabaseReadOnly):
            raise
    for pragma in PRAGMAS:
        conn.execute(f"pragma {pragma}")
    # The header is read lazily: a file that is not a database must fail here, at open.
    conn.execute("select count(*) from sqlite_master").fetchone()


@contextmanager
def begin_immediate(
    conn: Connection, lock: threading.RLock | None = None, *, retries: int = BUSY_RETRIES
) -> Iterator[Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error.

    IMMEDIATE takes the write lock up front so a read-then-write never has to
    upgrade (the upgrade is what fails under contention even with busy_timeout).
    Only BEGIN is retried: once we hold the lock, statements cannot get BUSY. The
    wait is bounded by MCP_MEMORY_BUSY_TIMEOUT overall (busy_timeout does the waiting;
    the retries cover the rare BUSY that SQLite returns without calling its handler).
    `retries=1` with busy_timeout 0 makes a best-effort write that never waits.
    """
    lock = lock or threading.RLock()
    with lock:
        _begin(conn, retries)
        try:
            yield conn
        except BaseException:
            conn.execute("rollback")
            raise
        else:
            conn.execute("commit")


def _begin(conn: Connection, retries: int) -> None:
    started = time.monotonic()
    deadline = started + busy_timeout_s()
    for attempt in range(retries):
        try:
            conn.execute("begin immediate")
            return
        except OperationalError as exc:
            left = deadline - time.monotonic()
            if not is_busy(exc):
                raise _named(exc, database_file(conn) or "") from exc
            if attempt == retries - 1 or left <= 0:
                waited = round(time.monotonic() - started, 1)
                raise busy_error(database_file(conn), waited, exc) from exc
            time.sleep(min(0.05 * (attempt + 1), left))


def database_file(conn: Connection) -> str:
    """The main database's file name ('' for an in-memory database)."""
    try:
        row = conn.execute("select file from pragma_database_list where name = 'main'").fetchone()
    except sqlite3.Error:
        return ""
    return row[0] if row and row[0] else ""
