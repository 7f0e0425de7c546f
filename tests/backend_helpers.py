"""Internal counts a test may check without writing one backend's private SQL.

Tests that need to know "is this memory in the keyword index / the vector index" ask here,
so they run unchanged once a second backend answers the same questions. Each helper
dispatches on `store.backend.kind`; a kind it does not know fails loudly instead of
returning a number that would make the test pass for the wrong reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp_memory import MemoryStore
from mcp_memory.storage.sqlite.erasure import FTS_TABLE, table_exists
from mcp_memory.storage.sqlite.vectors import VEC_TABLE


def _unsupported(store: MemoryStore) -> AssertionError:
    return AssertionError(f"backend_helpers has no answer for backend {store.backend.kind!r}")


def _scalar(store: MemoryStore, sql: str, *params: Any) -> int:
    with store.lock:
        return int(store.conn.execute(sql, params).fetchone()[0])


def keyword_index_rows(store: MemoryStore) -> int:
    """Documents the keyword index holds (its own entries, not the table it reads through)."""
    if store.backend.kind == "sqlite":
        return _scalar(store, f"select count(*) from {FTS_TABLE}_docsize")
    if store.backend.kind == "postgresql":  # the tsvector is a column of every row
        return _scalar(store, "select count(*) from memories where fts is not null")
    raise _unsupported(store)


def vector_rows(store: MemoryStore) -> int:
    """Vectors the vector index holds; 0 before any model created it."""
    if store.backend.kind == "sqlite":
        with store.lock:
            if not table_exists(store.conn, VEC_TABLE):
                return 0
        return _scalar(store, f"select count(*) from {VEC_TABLE}")
    if store.backend.kind == "postgresql":
        if not store.backend.vector_index_exists(store.conn):
            return 0
        return _scalar(store, "select count(*) from memory_vectors")
    raise _unsupported(store)


def keyword_matches(store: MemoryStore, query: str) -> int:
    """Rows the keyword index matches for a query already in the engine's own syntax."""
    if store.backend.kind == "sqlite":
        return _scalar(store, f"select count(*) from {FTS_TABLE} where {FTS_TABLE} match ?", query)
    if store.backend.kind == "postgresql":  # an FTS5 phrase ("a b") is one tsquery phrase
        phrase = query.strip().strip('"')
        sql = "select count(*) from memories where fts @@ phraseto_tsquery('english', ?)"
        return _scalar(store, sql, phrase)
    raise _unsupported(store)


def database_files(store: MemoryStore) -> list[Path]:
    """Every file the database keeps, after pushing the WAL into the main file, for tests
    that prove a text was never (or is no longer) written anywhere."""
    if store.backend.kind == "sqlite":
        store.backend.checkpoint(store.lock)
        main = store.backend.database_file()
        paths = [Path(main + suffix) for suffix in ("", "-wal", "-shm")]
        return [p for p in paths if p.is_file()]
    if store.backend.kind == "postgresql":
        return _pg_files(store.conn)
    raise _unsupported(store)


def _pg_files(conn: Any) -> list[Path]:
    """This database's data files and the cluster's WAL, after a checkpoint (the test
    cluster's superuser may ask where they are)."""
    conn.execute("checkpoint")
    pgdata = Path(conn.execute("show data_directory").fetchone()[0])
    oid = conn.execute("select oid from pg_database where datname = current_database()")
    roots = [pgdata / "base" / str(oid.fetchone()[0]), pgdata / "pg_wal"]
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


def bytes_on_disk(store: MemoryStore) -> bytes:
    return b"".join(p.read_bytes() for p in database_files(store))


def target_bytes(target: str | Path) -> bytes:
    """Every byte a database target keeps on disk, for tests that prove a secret was never
    written: the SQLite file and its side files, or the PostgreSQL database's data files and
    the cluster's WAL (the test cluster's superuser may read them)."""
    if isinstance(target, Path):
        return b"".join(p.read_bytes() for p in target.parent.glob(target.name + "*"))
    from mcp_memory.storage.postgres.backend import PostgresBackend

    backend = PostgresBackend.open(target)
    try:
        files = _pg_files(backend.conn)
    finally:
        backend.close()
    return b"".join(p.read_bytes() for p in files if p.is_file())
