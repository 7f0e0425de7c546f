"""The storage boundary: one `Backend` per database engine, chosen by the DB target.

Code above this line (store, trust, review, ranking) writes portable SQL
through `backend.conn` and asks the backend for the few things engines do
differently: how a write transaction starts, how to pass a list of ids, how
to keep the planner off an index, how erased bytes are purged, how to copy
the database. See docs/design/postgres-backend.md §2.2 for the full list;
full text and vector search join it when search.py and vectors.py are split.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from mcp_memory.config import is_postgres_url
from mcp_memory.storage.driver import BUSY_RETRIES, sqlite3, unsupported_target
from mcp_memory.storage.sqlite.backend import SqliteBackend

Conn = Any  # a sqlite3-like connection: execute(sql with ?, params), rows indexable both ways


class Backend(Protocol):
    """What the rest of the package may ask of a database engine."""

    kind: Literal["sqlite", "postgresql"]
    conn: Conn

    # lifecycle / diagnostics
    def migrate(self) -> list[str]: ...
    def close(self) -> None: ...
    def describe(self) -> dict[str, Any]: ...

    # transactions & ids
    def write_transaction(
        self, lock: threading.RLock | None = None, *, retries: int = BUSY_RETRIES
    ) -> AbstractContextManager[Conn]: ...
    def short_lock_timeout(self) -> AbstractContextManager[None]: ...
    def id_list(self, ids: Sequence[int]) -> tuple[str, Any]: ...
    def unindexed(self, column: str) -> str: ...
    def insert_memory(self, conn: Conn, values: dict[str, object]) -> int: ...

    # vectors
    def vector_index_exists(self, conn: Conn) -> bool: ...
    def create_vector_index(self, conn: Conn, dim: int) -> None: ...
    def put_vector(
        self, conn: Conn, memory_id: int, project: str, status: str, kind: str, vector: np.ndarray
    ) -> None: ...
    def set_vector_status(self, conn: Conn, memory_id: int, status: str) -> None: ...
    def knn(
        self, conn: Conn, vector: np.ndarray, project: str, n: int, kinds: Sequence[str] = ()
    ) -> list[tuple[float, int]]: ...
    def cosines(
        self, conn: Conn, vector: np.ndarray, ids: Sequence[int], projects: Sequence[str]
    ) -> dict[int, float]: ...
    def warm_vectors(self, projects: Sequence[str]) -> int: ...

    # erasure
    def dependent_tables(self, conn: Conn) -> dict[str, list[str]]: ...
    def index_entry_counts(self, conn: Conn, ids: Sequence[int]) -> dict[str, int]: ...
    def delete_index_entries(self, conn: Conn, ids: Sequence[int]) -> None: ...
    def delete_memory_rows(self, conn: Conn, ids: Sequence[int]) -> None: ...
    def purge(self, lock: threading.RLock | None, *, vacuum: bool = True) -> dict[str, Any]: ...
    def purge_complete(self, result: dict[str, Any], vacuum: bool) -> bool: ...
    def purge_notes(self, result: dict[str, Any], *, purged: bool, vacuum: bool) -> list[str]: ...

    # backup
    def database_file(self) -> str: ...
    def backup(self, dest: Path) -> dict[str, Any]: ...


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


__all__ = ["Backend", "Conn", "SqliteBackend", "backend_of", "open_backend"]
