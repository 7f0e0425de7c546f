"""PostgreSQL backend core: pool, the one write lock, migrations, id lists, diagnostics.

Concurrency is SQLite's, translated (design doc §3.3): every write transaction starts with
`pg_advisory_xact_lock(<app key>)` under READ COMMITTED, the analogue of BEGIN IMMEDIATE.
So ids stay `max(id)+1`, `audit_log.seq` stays previous + 1, and trust stays a plain
read-modify-write: the lock serialises all of them across processes and servers. Only the
transaction-scoped (`_xact_`) lock is used: a session-level lock would stay with a pooled
connection after the caller is done with it.

Full text, vectors and erasure live in search.py, vectors.py and erasure.py; this class is
their one face.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import psycopg

from mcp_memory.config import REDACTED, is_postgres_url, redact_db_target
from mcp_memory.errors import DatabaseBusy, InvalidInput, StorageError
from mcp_memory.recall.query import Scope
from mcp_memory.storage.postgres import erasure as pg_erasure
from mcp_memory.storage.postgres import migrations as migrations_pg
from mcp_memory.storage.postgres import search as pg_search
from mcp_memory.storage.postgres import vectors as pg_vectors
from mcp_memory.storage.postgres.facade import POOL_MAX, POOL_MIN, PgConnection, open_pool
from mcp_memory.storage.postgres.search import FTS_EXPRESSION, fold


def _lock_key(name: str) -> int:
    """A stable signed 32-bit number from a name, for the two-int advisory lock form."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)


# (classid, objid) of the application's write lock: one key for the whole database, as
# SQLite has one write lock per file. Another application sharing the database would have to
# pick the same pair by accident to contend with us.
WRITE_LOCK = (_lock_key("mcp-memory"), 1)
SHORT_LOCK_TIMEOUT_MS = 200
# Tables that name a memory but are not its data: the audit log keeps its erasure record.
ERASURE_SKIP = frozenset({"memories", "audit_log", "meta", "schema_migrations"})
PROBE_TIMEOUT_S = 10
_PASSWORD_KV = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact(target: str) -> str:
    """A printable target: URL passwords (redact_db_target) and libpq `password=` values."""
    if is_postgres_url(target):
        return redact_db_target(target)
    return _PASSWORD_KV.sub(lambda m: m.group(1) + REDACTED, target)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def _secrets(target: str) -> list[str]:
    found = [m.group(2).strip("'") for m in _PASSWORD_KV.finditer(target)]
    try:
        parts = urlsplit(target)
        found.append(parts.password or "")
        found += [v for k, v in parse_qsl(parts.query) if k.lower() == "password"]
    except ValueError:
        pass
    return [f for f in found if f]


def _probe(target: str) -> None:
    """One plain connection before the pool: the server's own reason (no such database,
    authentication failed, no server on that socket) instead of the pool's timeout."""
    try:
        psycopg.connect(target, connect_timeout=PROBE_TIMEOUT_S).close()
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        for secret in _secrets(target):  # libpq echoes a malformed conninfo back
            reason = reason.replace(secret, REDACTED)
        raise StorageError(f"cannot connect to {redact(target)}: {reason}") from exc


class PostgresBackend:
    """One PostgreSQL database as mcp-memory's store. `conn` is the qmark facade."""

    kind = "postgresql"

    def __init__(self, target: str, conn: PgConnection) -> None:
        self.target = target
        self.conn = conn
        conn.backend = self  # storage.backend_of(conn) finds its way back here
        self._local = threading.local()
        # Writers of this process queue here, not in the server: a thread waiting for the
        # advisory lock would pin a pool connection, and a few of them would starve reads.
        self._writers = threading.RLock()

    @classmethod
    def open(
        cls, target: str, *, min_size: int = POOL_MIN, max_size: int = POOL_MAX
    ) -> PostgresBackend:
        """Connect a pool to `target` (a postgresql:// URL or a libpq key=value string)."""
        _probe(target)
        pool = open_pool(target, min_size=min_size, max_size=max_size)
        return cls(target, PgConnection(pool))

    def close(self) -> None:
        self.conn.close()

    # ---- transactions ---------------------------------------------------------------------

    @contextmanager
    def write_transaction(
        self, lock: threading.RLock | None = None, *, retries: int = 0
    ) -> Iterator[PgConnection]:
        """The store's `lock` is held too, as SQLite's begin_immediate holds it; `retries`
        is SQLite's busy-retry count, unused here: the lock wait is `lock_timeout`."""
        del retries
        if lock is None:
            with self._transaction() as conn:
                yield conn
            return
        with lock, self._transaction() as conn:
            yield conn

    @contextmanager
    def _transaction(self) -> Iterator[PgConnection]:
        """BEGIN, take the write lock first, run the block, COMMIT; ROLLBACK on any error.

        READ COMMITTED on purpose: each statement after the lock sees everything committed
        before the lock was granted. REPEATABLE READ would snapshot at the lock statement,
        before the previous holder's commit, and fail most contended transactions (§3.3).
        """
        timeout = getattr(self._local, "lock_timeout_ms", None)
        wait_s = -1 if timeout is None else timeout / 1000
        if not self._writers.acquire(timeout=wait_s):
            raise DatabaseBusy("database busy: another thread of this process is writing")
        try:
            with self.conn.hold() as raw, raw.transaction():
                if timeout is not None:
                    raw.execute(f"set local lock_timeout = {int(timeout)}")
                try:
                    raw.execute("select pg_advisory_xact_lock(%s, %s)", WRITE_LOCK)
                except psycopg.errors.LockNotAvailable as exc:
                    raise DatabaseBusy(
                        f"database busy: another writer held the write lock longer than "
                        f"MCP_MEMORY_BUSY_TIMEOUT allows ({exc})"
                    ) from exc
                yield self.conn
        finally:
            self._writers.release()

    @contextmanager
    def short_lock_timeout(self, ms: int = SHORT_LOCK_TIMEOUT_MS) -> Iterator[None]:
        """Write transactions opened by this thread inside the block wait at most `ms` for
        the write lock, then fail with StorageError("database busy"): tokens._touch's
        best-effort write, which must never hold up a request (SQLite: busy_timeout)."""
        previous = getattr(self._local, "lock_timeout_ms", None)
        self._local.lock_timeout_ms = ms
        try:
            yield
        finally:
            self._local.lock_timeout_ms = previous

    # ---- schema ---------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply every pending PostgreSQL step; returns the names applied by this call.
        Looked at first without the write lock: an up-to-date database opens by reads
        alone, so a reader never waits behind a writer, and a read-only role can read."""
        if not self._pending():
            return []
        with self.write_transaction() as conn:
            conn.execute(
                "create table if not exists schema_migrations "
                "(name text primary key, applied_at double precision)"
            )
        ran: list[str] = []
        for name, step in migrations_pg.MIGRATIONS:
            with self.write_transaction() as conn:
                if conn.execute(
                    "select 1 from schema_migrations where name = ?", (name,)
                ).fetchone():
                    continue
                step(conn)
                conn.execute(
                    "insert into schema_migrations(name, applied_at) values (?, ?)",
                    (name, time.time()),
                )
            ran.append(name)
        return ran

    def _pending(self) -> bool:
        if self.conn.execute("select to_regclass('schema_migrations')").fetchone()[0] is None:
            return True
        done = set(self.applied())
        return any(name not in done for name, _ in migrations_pg.MIGRATIONS)

    def applied(self) -> list[str]:
        rows = self.conn.execute("select name from schema_migrations order by name")
        return [r[0] for r in rows]

    # ---- SQL fragments that differ by dialect ---------------------------------------------

    @staticmethod
    def id_list(ids: Iterable[int]) -> tuple[str, list[int]]:
        """A subquery of ids for `... in <fragment>`, bound as one array parameter, so any
        number of ids is one statement (SQLite: `(select value from json_each(?))`)."""
        return "(select unnest(?::bigint[]))", [int(i) for i in ids]

    @staticmethod
    def unindexed(col: str) -> str:
        """SQLite's unary `+col` keeps the planner off an index; PostgreSQL has no such
        operator on text, and its planner does not need the hint."""
        return col.lstrip("+")

    # ---- memories -------------------------------------------------------------------------

    def insert_memory(self, conn: PgConnection, values: dict[str, object]) -> int:
        """The one INSERT into memories, with its full-text vector (SQLite: the FTS5 trigger).

        `values` carries the id already (store.next_id, under the write lock: ids must commit
        in id order, §3.3). The text is folded in Python, as FTS5's remove_diacritics does,
        because `unaccent` is not on every server; content weighs A, the derived keywords B.
        Written once: nothing updates content or keywords after insert.
        """
        if values.get("id") is None:
            raise ValueError("insert_memory needs the id (store.next_id, under the write lock)")
        columns = ", ".join([*values, "fts"])
        marks = ", ".join("?" * len(values))
        row = conn.execute(
            f"insert into memories({columns}) values ({marks}, {FTS_EXPRESSION}) returning id",
            (
                *values.values(),
                fold(str(values["content"])),
                fold(str(values.get("keywords") or "")),
            ),
        ).fetchone()
        return int(row[0])

    # ---- keyword search (pg_search) -----------------------------------------------------------

    def keyword_scores(
        self, conn: PgConnection, text: str, scope: Scope, n: int | None = None
    ) -> dict[int, float]:
        """tsvector matches in `scope` scored with the scope's idf, best first."""
        return pg_search.scoped_keyword_scores(conn, text, scope.on(self.kind), n)

    # ---- vectors (pg_vectors) ---------------------------------------------------------------

    def vector_index_exists(self, conn: PgConnection) -> bool:
        return pg_vectors.exists(conn)

    def create_vector_index(self, conn: PgConnection, dim: int) -> None:
        pg_vectors.create(conn, dim)

    def put_vector(
        self,
        conn: PgConnection,
        memory_id: int,
        project: str,
        status: str,
        kind: str,
        vector: Any,
    ) -> None:
        pg_vectors.put(conn, memory_id, project, status, kind, vector)

    def set_vector_status(self, conn: PgConnection, memory_id: int, status: str) -> None:
        pg_vectors.set_status(conn, memory_id, status)

    def knn(
        self, conn: PgConnection, vector: Any, project: str, n: int, kinds: Sequence[str] = ()
    ) -> list[tuple[float, int]]:
        return pg_vectors.knn(conn, vector, project, n, kinds)

    def cosines(
        self, conn: PgConnection, vector: Any, ids: Sequence[int], projects: Sequence[str]
    ) -> dict[int, float]:
        """Primary-key lookups; `projects` only matters to SQLite's per-project cache."""
        return pg_vectors.cosines(conn, vector, ids)

    def warm_vectors(self, projects: Sequence[str]) -> int:
        """Nothing to fill: the vectors and their index live in the server."""
        return 0

    # ---- erasure (pg_erasure) ---------------------------------------------------------------

    def dependent_tables(self, conn: PgConnection) -> dict[str, list[str]]:
        """Tables whose rows point at a memory, from the catalog (foreign keys to memories and
        `memory_id` columns), so a table a later migration adds cannot keep erased rows."""
        rows = conn.execute(
            """select c.table_name, c.column_name from information_schema.columns c
               where c.table_schema = current_schema() and c.column_name = 'memory_id'
               union
               select kcu.table_name, kcu.column_name
               from information_schema.referential_constraints rc
               join information_schema.key_column_usage kcu
                 on kcu.constraint_name = rc.constraint_name
                and kcu.constraint_schema = rc.constraint_schema
               join information_schema.constraint_column_usage ccu
                 on ccu.constraint_name = rc.unique_constraint_name
                and ccu.constraint_schema = rc.unique_constraint_schema
               where ccu.table_name = 'memories' and kcu.table_schema = current_schema()"""
        ).fetchall()
        found: dict[str, list[str]] = {}
        for table, column in rows:
            if table not in ERASURE_SKIP:
                found.setdefault(table, []).append(column)
        return {t: sorted(set(cols)) for t, cols in sorted(found.items())}

    def index_entry_counts(self, conn: PgConnection, ids: Sequence[int]) -> dict[str, int]:
        """The receipt keeps SQLite's key names (part of `erase --json`): here the keyword
        index is the `fts` column of each row, the vector index the memory_vectors rows."""
        wanted = [int(i) for i in ids]
        keyword = conn.execute(
            "select count(*) from memories where id = any(?::bigint[])", (wanted,)
        ).fetchone()[0]
        vectors = 0
        if pg_vectors.exists(conn):
            vectors = conn.execute(
                f"select count(*) from {pg_vectors.TABLE} where memory_id = any(?::bigint[])",
                (wanted,),
            ).fetchone()[0]
        return {"memories_fts": int(keyword), "vec_memories": int(vectors)}

    def delete_index_entries(self, conn: PgConnection, ids: Sequence[int]) -> None:
        """Nothing to do first: the tsvector goes with its row, vectors by cascade."""

    def delete_memory_rows(self, conn: PgConnection, ids: Sequence[int]) -> None:
        conn.execute("delete from memories where id = any(?::bigint[])", ([int(i) for i in ids],))

    def purge(self, lock: threading.RLock | None, *, vacuum: bool = True) -> dict[str, Any]:
        """VACUUM FULL, WAL switches and checkpoints (pg_erasure); `lock` is SQLite's."""
        del lock
        return pg_erasure.purge(self.conn, vacuum=vacuum)

    def purge_complete(self, result: dict[str, Any], vacuum: bool) -> bool:
        return vacuum and not result["refused"] and result["server"]["wal_recycle"] == "off"

    def purge_notes(self, result: dict[str, Any], *, purged: bool, vacuum: bool) -> list[str]:
        return pg_erasure.purge_notes(result)

    def checkpoint(self, lock: threading.RLock | None = None) -> dict[str, int]:
        del lock
        self.conn.execute("checkpoint")
        return {"busy": 0}

    def database_file(self) -> str:
        return ""  # a server's database is not one file

    # ---- backup ---------------------------------------------------------------------------

    def backup(self, dest: object) -> dict[str, Any]:
        """`mcp-memory backup` copies a SQLite file with SQLite's online backup API; a server
        database is the operator's to back up, with the server's own tools (design doc §3.8).
        A usage error (InvalidInput: CLI exit 2), before anything is written."""
        raise InvalidInput(
            f"mcp-memory backup copies SQLite databases; {redact(self.target)} is PostgreSQL: "
            "use pg_dump (for example `pg_dump --format=custom --file=memory.dump DBNAME`). "
            "Note that erasure cannot reach copies made outside mcp-memory, and the audit "
            "log does not know about them"
        )

    # ---- diagnostics ----------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """What doctor prints: versions, pool size, the target without its password, and the
        server settings that decide what erasure can promise (design doc §3.6)."""
        settings = self.conn.execute(
            "select current_setting('server_version'), current_setting('wal_recycle'), "
            "current_setting('archive_mode'), "
            "(select extversion from pg_extension where extname = 'vector')"
        ).fetchone()
        version, wal_recycle, archive_mode, vector = settings
        return {
            "kind": self.kind,
            "target": redact(self.target),
            "server_version": version,
            "pgvector": vector,
            # filtered HNSW search on small projects needs iterative scans (§3.5)
            "iterative_scan": bool(vector) and _version(vector) >= (0, 8),
            "wal_recycle": wal_recycle,
            "archive_mode": archive_mode,
            "pool": {"min": self.conn.pool.min_size, "max": self.conn.pool.max_size},
        }
