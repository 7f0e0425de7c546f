"""A qmark connection facade over psycopg 3, so the store's SQL runs on PostgreSQL unchanged.

The store, audit log and trust code are written against sqlite3: `?` placeholders, rows
read both as `r[0]` and `r["name"]`, `conn.in_transaction`, and a result that can still be
read after the statement is done. This module gives them exactly that contract and nothing
more (design doc §2.3): it is *not* a SQL translator. Statements that differ in kind
(full text, vectors, purge) belong to named backend operations instead.

Reads outside a write transaction borrow a pool connection (autocommit) for one statement
and fetch eagerly, so a result never outlives its connection and a pool of four serves many
threads. A write transaction pins one connection to the calling thread (`hold`); every
statement that thread runs through the facade meanwhile goes to that connection, which is
what lets the unmodified `audit.append(conn, ...)` see its own transaction.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import pq
from psycopg_pool import ConnectionPool, PoolTimeout

from mcp_memory.config import busy_timeout_s
from mcp_memory.errors import InvalidInput, StorageError

POOL_MIN = 1
POOL_MAX = 4
POOL_OPEN_TIMEOUT_S = 10.0
NUL_MESSAGE = (
    "text contains a NUL (0x00) character, which PostgreSQL cannot store; remove it and try again"
)

# A quoted literal ('it''s') or double-quoted identifier is matched whole and kept; a bare `?`
# becomes `%s`. Everything else passes through.
_QMARK = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?")


@lru_cache(maxsize=4096)
def to_pg(sql: str) -> str:
    """sqlite qmark SQL -> psycopg format SQL.

    `%` is doubled everywhere, literals included, because psycopg parses `%` before the
    server sees the text (`like 'embedding_%'` would otherwise raise). `?` inside a quoted
    literal or identifier is data, not a placeholder, so it is left alone.
    """
    sql = sql.replace("%", "%%")
    return _QMARK.sub(lambda m: "%s" if m.group() == "?" else m.group(), sql)


class Row(tuple):
    """sqlite3.Row's contract: r[0], r["name"], keys(), dict(r), unpacking, equality."""

    _index: dict[str, int]

    def __new__(cls, values: Iterable[Any], index: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            try:
                key = self._index[key]
            except KeyError:
                # sqlite3.Row matches names case-insensitively and raises IndexError.
                lowered = {k.lower(): v for k, v in self._index.items()}
                if key.lower() not in lowered:
                    raise IndexError(f"No item with that key: {key!r}") from None
                key = lowered[key.lower()]
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        return list(self._index)


def row_factory(cursor: Any) -> Any:
    """psycopg row factory: one shared name->position map per result, not per row."""
    names = [d.name for d in cursor.description or ()]
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        index.setdefault(name, i)  # a repeated column name reads as its first, like sqlite3
    return lambda values: Row(values, index)


class Result:
    """An eagerly fetched result: what sqlite3's cursor offers that the store uses."""

    def __init__(self, rows: list[Row], rowcount: int, description: Any = None) -> None:
        self._rows = rows
        self._pos = 0
        self.rowcount = rowcount
        self.description = description

    def fetchone(self) -> Row | None:
        if self._pos >= len(self._rows):
            return None
        self._pos += 1
        return self._rows[self._pos - 1]

    def fetchmany(self, size: int = 1) -> list[Row]:
        chunk = self._rows[self._pos : self._pos + size]
        self._pos += len(chunk)
        return chunk

    def fetchall(self) -> list[Row]:
        rest = self._rows[self._pos :]
        self._pos = len(self._rows)
        return rest

    def __iter__(self) -> Iterator[Row]:
        while (row := self.fetchone()) is not None:
            yield row

    def close(self) -> None:
        self._pos = len(self._rows)


def check_params(params: Sequence[Any]) -> tuple[Any, ...]:
    """Refuse NUL in text before it reaches the server (design doc §3.7).

    PostgreSQL text cannot hold U+0000 at all, so silently dropping it would store something
    other than what the caller sent; the callers that want scrubbing (content, queries,
    identity strings) already do it in validation.py on both backends. This is the last guard.
    """
    values = tuple(params)
    for value in values:
        if isinstance(value, str) and "\x00" in value:
            raise InvalidInput(NUL_MESSAGE)
    return values


@contextmanager
def _driver_errors() -> Iterator[None]:
    """Map the driver's failures onto the library's named errors, as sqlite/connection.py does."""
    try:
        yield
    except psycopg.errors.LockNotAvailable as exc:
        raise StorageError(f"database busy: {exc}") from exc
    except psycopg.DataError as exc:
        if "0x00" in str(exc):
            raise InvalidInput(NUL_MESSAGE) from exc
        raise
    except (psycopg.OperationalError, PoolTimeout) as exc:
        raise StorageError(f"database unavailable: {exc}") from exc


def _is_read(sql: str) -> bool:
    return sql.lstrip()[:6].lower() == "select"


def _run(raw: psycopg.Connection[Any], sql: str, params: Sequence[Any]) -> Result:
    cursor = raw.execute(to_pg(sql), check_params(params))
    rows = cursor.fetchall() if cursor.description else []
    return Result(rows, cursor.rowcount, cursor.description)


def _configure(raw: psycopg.Connection[Any]) -> None:
    """Per pooled connection. No parallel query: every statement here touches a few hundred
    rows at most, but the planner misjudges session context's id-range self-join and ran
    it as a parallel sequential scan of the table (recall 75.6 -> 31.5 ms p50 at 100k,
    benchmarks/pg_scale.py); a LATERAL rewrite was worse (390 ms)."""
    # The analogue of SQLite's busy_timeout: how long any statement waits for a lock (the
    # advisory write lock included) before the caller gets DatabaseBusy. The same
    # MCP_MEMORY_BUSY_TIMEOUT; at least 1 ms, since PostgreSQL reads 0 as no limit.
    raw.execute(f"set lock_timeout = {max(1, int(busy_timeout_s() * 1000))}")
    raw.execute("set max_parallel_workers_per_gather = 0")


def open_pool(
    conninfo: str, *, min_size: int = POOL_MIN, max_size: int = POOL_MAX
) -> ConnectionPool:
    """Open the pool and wait for its first connection, so a bad URL fails here, clearly."""
    pool = ConnectionPool(
        conninfo,
        min_size=min_size,
        max_size=max_size,
        kwargs={"autocommit": True, "row_factory": row_factory},
        configure=_configure,
        open=False,
        name="mcp-memory",
    )
    try:
        pool.open(wait=True, timeout=POOL_OPEN_TIMEOUT_S)
    except PoolTimeout as exc:
        pool.close()
        raise StorageError(f"cannot connect to PostgreSQL: {exc}") from exc
    return pool


class PgConnection:
    """What `store.conn` is on PostgreSQL: sqlite3.Connection's surface over a pool."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self._local = threading.local()

    # ---- the sqlite3.Connection surface the library uses -----------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        with _driver_errors():
            held = self.held
            if held is not None:
                return _run(held, sql, params)
            return self._read(sql, params) if _is_read(sql) else self._once(sql, params)

    def executemany(self, sql: str, seq_of_params: Iterable[Sequence[Any]]) -> Result:
        rows = [check_params(p) for p in seq_of_params]
        with _driver_errors(), self._connection() as raw:
            cursor = raw.cursor()
            if rows:
                cursor.executemany(to_pg(sql), rows)
            return Result([], cursor.rowcount)

    def cursor(self) -> _Cursor:
        """For code that sets `cursor.row_factory = None` to get plain tuples: a Row already
        is a tuple (equal to one, unpacks like one), so the setting is accepted and ignored."""
        return _Cursor(self)

    @property
    def in_transaction(self) -> bool:
        raw = self.held
        return raw is not None and raw.info.transaction_status != pq.TransactionStatus.IDLE

    def close(self) -> None:
        self.pool.close()

    # ---- what the backend builds transactions from -----------------------------------------

    @property
    def held(self) -> psycopg.Connection[Any] | None:
        """The connection this thread's open write transaction runs on, if any."""
        return getattr(self._local, "raw", None)

    @contextmanager
    def hold(self) -> Iterator[psycopg.Connection[Any]]:
        """Pin one pool connection to this thread until the block ends."""
        if self.held is not None:
            raise StorageError("a write transaction is already open in this thread")
        with _driver_errors():
            raw = self._live_connection()
            self._local.raw = raw
            try:
                yield raw
            finally:
                self._local.raw = None
                self.pool.putconn(raw)

    def execute_script(self, script: str) -> None:
        """Several statements in one round trip, no parameters and no `?`/`%` rewriting:
        for migration DDL, which is written for PostgreSQL directly."""
        with _driver_errors(), self._connection() as raw:
            raw.execute(script)

    def _once(self, sql: str, params: Sequence[Any]) -> Result:
        with self.pool.connection() as raw:
            return _run(raw, sql, params)

    def _read(self, sql: str, params: Sequence[Any]) -> Result:
        """A read on a connection the server has dropped (restart, failover, idle timeout) is
        run again on another: every pooled connection can be stale at once, and re-running
        a SELECT changes nothing. The pool throws the broken ones away."""
        for attempt in range(self.pool.max_size + 1):
            raw: psycopg.Connection[Any] | None = None
            try:
                with self.pool.connection() as raw:
                    return _run(raw, sql, params)
            except psycopg.OperationalError:
                if raw is None or not raw.broken or attempt == self.pool.max_size:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _live_connection(self) -> psycopg.Connection[Any]:
        """A pool connection that answered a round trip: a write transaction must not start
        on one the server has dropped, or its BEGIN would fail for nothing."""
        for attempt in range(self.pool.max_size + 1):
            raw = self.pool.getconn()
            try:
                ConnectionPool.check_connection(raw)
                return raw
            except psycopg.OperationalError:
                self.pool.putconn(raw)  # broken: the pool discards it
                if attempt == self.pool.max_size:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        held = self.held
        if held is not None:
            yield held
            return
        with self.pool.connection() as raw:
            yield raw


class _Cursor:
    """sqlite3.Cursor's execute/executemany surface, over the facade."""

    def __init__(self, conn: PgConnection) -> None:
        self._conn = conn
        self.row_factory: Any = None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, seq_of_params: Iterable[Sequence[Any]]) -> Result:
        return self._conn.executemany(sql, seq_of_params)
