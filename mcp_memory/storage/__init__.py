"""The storage boundary: one `Backend` per database engine, chosen by the DB target.

`open_backend` picks the engine, `backend_of` finds it again from a bare connection, and
`connect`/`write_transaction` serve callers that hold only a connection (audit, scripts,
tests). The protocol itself is in `base`, the driver in `driver`, each engine in its own
package; none of them imports this module, so importing it never goes round in a circle.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from pathlib import Path

from mcp_memory.config import is_postgres_url, redact_db_target
from mcp_memory.errors import (
    DatabaseBusy,
    DatabaseReadOnly,
    DatabaseUnusable,
    NoDatabase,
    StorageError,
)
from mcp_memory.storage.base import Backend, Conn
from mcp_memory.storage.driver import BUSY_RETRIES, Connection, sqlite3
from mcp_memory.storage.sqlite import failures as sqlite_failures
from mcp_memory.storage.sqlite.backend import SqliteBackend
from mcp_memory.storage.sqlite.connection import NO_DATABASE_HINT
from mcp_memory.storage.target import unsupported_target


def open_backend(target: str | Path, *, create: bool = True) -> Backend:
    """Open the database a DB target names: a PostgreSQL URL or a SQLite file path.
    `create=False`: a missing SQLite file is NoDatabase, not a new empty one."""
    if is_postgres_url(target):
        return _open_postgres(target)
    return SqliteBackend.open(target, create=create)


def require_database(target: str | Path) -> None:
    """NoDatabase unless a SQLite target's file exists; a URL is left to its server. For
    opens that go through layers that do not take `create` (MemoryStore.open)."""
    if is_postgres_url(target) or str(target) == ":memory:" or str(target).startswith("file:"):
        return
    if not Path(target).exists():
        raise NoDatabase(f"no database at {target}: {NO_DATABASE_HINT}")


def storage_error(exc: BaseException, target: str | Path | None = None) -> StorageError | None:
    """The named error (errors.py) for a failure raised by either engine's driver, or None
    when `exc` is not a storage failure. The shells (CLI, server) call this at their edge,
    so a corrupt page met in the middle of a recall reads the same as one met at open."""
    named = sqlite_failures.classify(exc, target)
    if named is not None or not type(exc).__module__.startswith("psycopg"):
        return named
    return _postgres_error(exc, redact_db_target(target) if target else "")


# SQLSTATE classes and codes (PostgreSQL appendix A) that say what a user can act on.
_PG_READ_ONLY = ("25006",)
_PG_BUSY = ("55P03", "57014", "40P01")
_PG_UNUSABLE = ("XX001", "XX002", "58030")


def _postgres_error(exc: BaseException, target: str) -> StorageError | None:
    state = getattr(exc, "sqlstate", None) or ""
    where = f"the database {target}" if target else "the PostgreSQL database"
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if state in _PG_READ_ONLY:
        return DatabaseReadOnly(f"{where} is read-only ({first}): writes are refused")
    if state in _PG_BUSY:
        return DatabaseBusy(f"database busy: {first}")
    if state in _PG_UNUSABLE:
        return DatabaseUnusable(f"{where} is unusable ({first})")
    if state.startswith("08") or type(exc).__name__ in ("OperationalError", "PoolTimeout"):
        return StorageError(f"cannot reach {where}: {first}")
    return None


def _open_postgres(target: str | Path) -> Backend:
    """psycopg is the `postgres` extra: without it a URL is refused with what to install."""
    try:
        from mcp_memory.storage.postgres.backend import PostgresBackend
    except ImportError as exc:
        raise unsupported_target(target) from exc
    return PostgresBackend.open(str(target))  # type: ignore[return-value]


def backend_of(conn: Conn) -> Backend:
    """The backend behind a connection, for functions handed only a connection.

    A PostgreSQL facade will carry its backend; a bare SQLite connection needs
    none, because SqliteBackend keeps no state beyond the connection. Anything
    else is refused rather than guessed: SQLite SQL sent to another engine would
    fail far from the mistake.
    """
    owner = getattr(conn, "backend", None)
    if owner is not None:
        return owner
    if isinstance(conn, sqlite3.Connection):
        return SqliteBackend(conn)
    raise TypeError(f"no backend for a {type(conn).__name__}: open it through open_backend()")


def connect(target: str | Path) -> Conn:
    """A bare connection on the backend `target` names, for callers that need no store."""
    return open_backend(target).conn


def write_transaction(
    conn: Conn, lock: threading.RLock | None = None, *, retries: int = BUSY_RETRIES
) -> AbstractContextManager[Conn]:
    """The backend's write transaction over `conn` (BEGIN IMMEDIATE on SQLite)."""
    return backend_of(conn).write_transaction(lock, retries=retries)


__all__ = [
    "Backend",
    "Conn",
    "Connection",
    "SqliteBackend",
    "backend_of",
    "connect",
    "open_backend",
    "require_database",
    "storage_error",
    "write_transaction",
]
