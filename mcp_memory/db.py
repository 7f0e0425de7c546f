"""Connections and the one transaction helper every write goes through.

The stdlib sqlite3 on macOS and on these machines cannot load extensions, so
sqlean.py is the driver. sqlite-utils only knows pysqlite3, so we alias sqlean
under that name: a script that wraps our connection in sqlite_utils.Database
then catches the right OperationalError. (We do not import sqlite-utils here:
the store writes plain SQL and start-up time matters.)
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import sqlean as sqlite3
except ImportError:  # pragma: no cover - sqlean.py is a hard dependency
    import sqlite3  # type: ignore[no-redef]

if sqlite3.__name__ == "sqlean":
    sys.modules.setdefault("pysqlite3", sqlite3)
    sys.modules.setdefault("pysqlite3.dbapi2", sqlite3.dbapi2)

import sqlite_vec  # noqa: E402

from .config import is_postgres_url, redact_db_target  # noqa: E402
from .errors import StorageError, UnsupportedTarget  # noqa: E402

POSTGRES_NOT_BUILT = "PostgreSQL support is not built yet (issue 8)"

BUSY_TIMEOUT_MS = 10_000
BUSY_RETRIES = 5
Connection = sqlite3.Connection
OperationalError = sqlite3.OperationalError
IntegrityError = sqlite3.IntegrityError


def check_target(target: str | Path) -> None:
    """Refuse a PostgreSQL URL with a clear message, before anything touches the disk:
    otherwise SQLite would create a file (and mkdir a `postgresql:` folder) named after it.
    Every store, token store and CLI command opens through connect(), so this is the one
    gate; `serve` also calls it early so the error is a usage line, not a traceback."""
    if is_postgres_url(target):
        raise UnsupportedTarget(
            f"{POSTGRES_NOT_BUILT}: cannot open {redact_db_target(target)}. "
            "Use a SQLite file path for --db / MCP_MEMORY_DB."
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
    for pragma in (
        "journal_mode=wal",
        "synchronous=normal",
        f"busy_timeout={BUSY_TIMEOUT_MS}",
        "foreign_keys=on",
        "secure_delete=on",
    ):
        conn.execute(f"pragma {pragma}")
    return conn


def _is_busy(exc: Exception) -> bool:
    name = getattr(exc, "sqlite_errorname", "")
    return name in ("SQLITE_BUSY", "SQLITE_LOCKED") or "database is locked" in str(exc)


@contextmanager
def write_transaction(
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
                if not _is_busy(exc) or attempt == retries - 1:
                    raise StorageError(f"database busy: {exc}") from exc
                time.sleep(0.05 * (attempt + 1))
        try:
            yield conn
        except BaseException:
            conn.execute("rollback")
            raise
        else:
            conn.execute("commit")


def vec_version(conn: Connection) -> str:
    return conn.execute("select vec_version()").fetchone()[0]


def has_fts5(conn: Connection) -> bool:
    return bool(conn.execute("select sqlite_compileoption_used('ENABLE_FTS5')").fetchone()[0])
