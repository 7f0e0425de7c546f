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

from mcp_memory.config import is_postgres_url
from mcp_memory.storage.base import Backend, Conn
from mcp_memory.storage.driver import BUSY_RETRIES, Connection, sqlite3
from mcp_memory.storage.sqlite.backend import SqliteBackend
from mcp_memory.storage.target import unsupported_target


def open_backend(target: str | Path) -> Backend:
    """Open the database a DB target names: a PostgreSQL URL or a SQLite file path."""
    if is_postgres_url(target):
        return _open_postgres(target)
    return SqliteBackend.open(target)


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
    "write_transaction",
]
