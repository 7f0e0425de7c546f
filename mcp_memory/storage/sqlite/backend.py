"""SqliteBackend: everything that is true of one SQLite file and of no other database.

WAL, pragmas, the sqlite-vec extension, BEGIN IMMEDIATE, json_each id lists,
unary `+` to keep the planner off an index, FTS5 keyword search, the online
backup API and the byte-level erasure purge. The rest of the package talks to
these through the `Backend` operations so that a PostgreSQL backend can answer
the same calls. Opening and transactions live in `connection`, FTS5 in `fts`,
the vec0 index in `vectors`, the purge in `erasure`: this class is their one face.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from mcp_memory.errors import StorageError
from mcp_memory.recall.query import Scope
from mcp_memory.storage.driver import BUSY_RETRIES, Connection, sqlite3
from mcp_memory.storage.sqlite import erasure as sqlite_erasure
from mcp_memory.storage.sqlite import fts, migrations, vectors
from mcp_memory.storage.sqlite.connection import begin_immediate, connect, database_file
from mcp_memory.storage.sqlite.failures import classify

ID_LIST_SQL = "(select value from json_each(?))"


class SqliteBackend:
    """One SQLite connection and the dialect that goes with it.

    Cheap to wrap around any open connection (`backend_of`): all state is the
    connection itself, so a function handed only a connection can still ask
    its backend for an id list or a transaction.
    """

    kind = "sqlite"

    def __init__(self, conn: Connection, target: str | Path | None = None) -> None:
        self.conn = conn
        self.target = target

    @classmethod
    def open(cls, target: str | Path, *, create: bool = True) -> SqliteBackend:
        return cls(connect(target, create=create), target)

    # ---- lifecycle / diagnostics ---------------------------------------------------------

    def migrate(self) -> list[str]:
        """Named errors at open too: an old read-only file cannot take its upgrade."""
        try:
            return migrations.migrate(self.conn)
        except sqlite3.Error as exc:
            raise classify(exc, self.target) or StorageError(str(exc)) from exc

    def close(self) -> None:
        self.conn.close()

    def describe(self) -> dict[str, Any]:
        """What `doctor` reports about the engine: the versions that decide what works."""
        fts5 = self.conn.execute("select sqlite_compileoption_used('ENABLE_FTS5')").fetchone()[0]
        return {
            "driver": f"{sqlite3.__name__} (SQLite {sqlite3.sqlite_version})",
            "sqlite_vec": self.conn.execute("select vec_version()").fetchone()[0],
            "fts5": bool(fts5),
        }

    # ---- transactions & ids --------------------------------------------------------------

    def write_transaction(
        self, lock: threading.RLock | None = None, *, retries: int = BUSY_RETRIES
    ) -> AbstractContextManager[Connection]:
        return begin_immediate(self.conn, lock, retries=retries)

    @contextmanager
    def short_lock_timeout(self) -> Iterator[None]:
        """Writes inside give up at once on a held lock instead of waiting busy_timeout."""
        previous = int(self.conn.execute("pragma busy_timeout").fetchone()[0])
        self.conn.execute("pragma busy_timeout = 0")
        try:
            yield
        finally:
            self.conn.execute(f"pragma busy_timeout = {previous}")

    def id_list(self, ids: Sequence[int]) -> tuple[str, str]:
        """One bound parameter for any number of ids: no statement-length or variable limits."""
        return ID_LIST_SQL, json.dumps([int(i) for i in ids])

    def unindexed(self, column: str) -> str:
        """Unary `+` stops SQLite from choosing a weak index on this column."""
        return f"+{column}"

    def insert_memory(self, conn: Connection, values: dict[str, object]) -> int:
        """The one INSERT into memories; FTS5 follows by trigger. Column names come from code."""
        columns = ", ".join(values)
        marks = ", ".join("?" * len(values))
        # `returning id` rather than cursor.lastrowid: portable to PostgreSQL; fetchall()
        # steps the statement to completion so no write is left pending.
        rows = conn.execute(
            f"insert into memories({columns}) values ({marks}) returning id", tuple(values.values())
        ).fetchall()
        return int(rows[0][0])

    # ---- keyword search (fts.py) ---------------------------------------------------------

    def keyword_scores(
        self, conn: Connection, text: str, scope: Scope, n: int | None = None
    ) -> dict[int, float]:
        """FTS5 matches in `scope` as {id: bm25 with the scope's idf}, best first."""
        return fts.keyword_scores(conn, text, scope.on(self.kind), n)

    # ---- vectors (vectors.py) -------------------------------------------------------------

    def vector_index_exists(self, conn: Connection) -> bool:
        return vectors.exists(conn)

    def create_vector_index(self, conn: Connection, dim: int) -> None:
        vectors.create(conn, dim)

    def put_vector(
        self,
        conn: Connection,
        memory_id: int,
        project: str,
        status: str,
        kind: str,
        vector: np.ndarray,
    ) -> None:
        vectors.put(conn, memory_id, project, status, kind, vector)

    def set_vector_status(self, conn: Connection, memory_id: int, status: str) -> None:
        vectors.set_status(conn, memory_id, status)

    def knn(
        self, conn: Connection, vector: np.ndarray, project: str, n: int, kinds: Sequence[str] = ()
    ) -> list[tuple[float, int]]:
        """(cosine distance, id) of the n nearest visible memories in one project."""
        return vectors.knn(conn, vector, project, n, kinds)

    def cosines(
        self, conn: Connection, vector: np.ndarray, ids: Sequence[int], projects: Sequence[str]
    ) -> dict[int, float]:
        """Similarity to these ids' vectors: from the cache of `projects`, the rest from SQL."""
        return vectors.cosines(conn, vector, ids, projects)

    def warm_vectors(self, projects: Sequence[str]) -> int:
        """Fill this connection's vector cache through a second connection, so the load
        (6-8 s at 1M memories) happens off the request path. How many projects it readied."""
        if self.target is None or str(self.target) == ":memory:":
            return 0  # no second connection can see this database
        reader = connect(self.target)
        try:
            if not vectors.exists(reader):
                return 0
            return sum(vectors.index_for(self.conn).preload(p, reader) for p in projects)
        finally:
            reader.close()

    # ---- erasure -------------------------------------------------------------------------

    def dependent_tables(self, conn: Connection) -> dict[str, list[str]]:
        return sqlite_erasure.dependent_tables(conn)

    def index_entry_counts(self, conn: Connection, ids: Sequence[int]) -> dict[str, int]:
        return sqlite_erasure.index_entry_counts(conn, ids)

    def delete_index_entries(self, conn: Connection, ids: Sequence[int]) -> None:
        sqlite_erasure.delete_vectors(conn, ids)

    def delete_memory_rows(self, conn: Connection, ids: Sequence[int]) -> None:
        sqlite_erasure.delete_memory_rows(conn, self.id_list(ids))

    def purge(self, lock: threading.RLock | None, *, vacuum: bool = True) -> dict[str, Any]:
        return sqlite_erasure.purge(self.conn, lock, vacuum=vacuum)

    def purge_complete(self, result: dict[str, Any], vacuum: bool) -> bool:
        return sqlite_erasure.purge_complete(result, vacuum)

    def purge_notes(self, result: dict[str, Any], *, purged: bool, vacuum: bool) -> list[str]:
        return sqlite_erasure.purge_notes(purged=purged, vacuum=vacuum)

    def checkpoint(self, lock: threading.RLock | None = None) -> dict[str, int]:
        return sqlite_erasure.checkpoint(self.conn, lock)

    # ---- backup --------------------------------------------------------------------------

    def database_file(self) -> str:
        """The main database's file name ('' for an in-memory database)."""
        return database_file(self.conn)

    def backup(self, dest: Path) -> dict[str, Any]:
        """Copy through the online backup API, then check every page of the copy."""
        if not dest.parent.is_dir():  # a typo must not grow a tree of folders
            raise StorageError(f"no folder {dest.parent}: create it first, or choose another")
        if dest.exists():
            for suffix in ("", "-wal", "-shm"):
                Path(f"{dest}{suffix}").unlink(missing_ok=True)
        pages = _copy(self.conn, dest)
        return {"pages": pages, "integrity": _integrity(dest)}


def _copy(conn: Connection, dest: Path) -> int:
    """One step (pages=-1): a stepwise copy restarts on every write and may never finish;
    in WAL mode the single step holds only a read lock, so writers keep going."""
    target = sqlite3.connect(str(dest), isolation_level=None)
    try:
        conn.backup(target, pages=-1)
        pages = int(target.execute("pragma page_count").fetchone()[0])
        target.execute("pragma journal_mode=delete")
    except sqlite3.Error as exc:
        target.close()
        dest.unlink(missing_ok=True)
        raise StorageError(f"backup to {dest} failed: {exc}") from exc
    target.close()
    return pages


def _integrity(dest: Path) -> str:
    """quick_check reads every page: catches a copy the disk mangled."""
    check = sqlite3.connect(str(dest))
    try:
        rows = check.execute("pragma quick_check").fetchall()
    finally:
        check.close()
    return "; ".join(str(row[0]) for row in rows)
