"""Vector search on PostgreSQL: pgvector, exact for small projects, HNSW for large ones.

A filtered HNSW query walks the graph of *all* projects and keeps the rows that pass the
filter: for a project holding 1-10% of the rows, pgvector before 0.8 returned almost nothing
(design doc §3.5: 0.4 of 10 rows). Two things make it right:
- a project of up to EXACT_MAX vectors is searched exactly, through a MATERIALIZED CTE (the
  SQL shape, not `SET enable_indexscan`, which a cached generic plan ignores: spike 2d);
- a larger one uses HNSW with `hnsw.iterative_scan = relaxed_order` (pgvector >= 0.8), so the
  scan goes on until enough rows pass the filter, and the rows are re-sorted here (relaxed
  order may be slightly out of order).

Visibility (status, kind) lives in denormalised columns kept in step by `set_status`, as the
metadata columns of SQLite's vec0 table do. Vectors travel as pgvector's text form, so no
adapter package is needed; a query vector is ~4 KB of text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg

from mcp_memory.errors import InvalidInput
from mcp_memory.storage.postgres.facade import PgConnection

TABLE = "memory_vectors"
EXACT_MAX = 5000  # a project this small is searched exactly (~1.6 ms at 1k, spike 2c)
# hnsw.ef_search = clamp(EF_PER_ROW * n, EF_MIN, EF_MAX) (1000 is pgvector's maximum). At
# 100k template notes, knn(100) recall@10 against exact search at ef 200 / 400 / 800 was
# 0.96 / 0.98 / 1.00 (query 1.5 / 2.5 / 4.7 ms p50; 0.88 / 0.94 / 1.00 with ef_construction
# 64): 2n, enough at 20k real embeddings, was not enough here.
EF_PER_ROW, EF_MIN, EF_MAX = 8, 100, 1000
# ef_construction 128 rather than pgvector's 64: at 100k template notes, recall@10 of
# knn(100) at ef_search 200 went 0.88-0.91 -> 0.96 and the build 15 -> 24 s (2 cores).
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 128


def literal(vector: np.ndarray) -> str:
    """pgvector's text form of a finite float vector."""
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    if not np.all(np.isfinite(v)):
        raise InvalidInput("an embedding holds NaN or infinity; it cannot be stored")
    return "[" + ",".join(map(repr, v.tolist())) + "]"


def exists(conn: PgConnection) -> bool:
    return conn.execute("select to_regclass(?) is not null", (TABLE,)).fetchone()[0]


def dimension(conn: PgConnection) -> int | None:
    """The dimension the table was made for (None: no table yet)."""
    row = conn.execute(
        "select atttypmod from pg_attribute where attrelid = to_regclass(?) "
        "and attname = 'embedding'",
        (TABLE,),
    ).fetchone()
    return int(row[0]) if row else None


def create(conn: PgConnection, dim: int, index: bool = True) -> None:
    """(Re)make the table for a model of `dim` dimensions, dropping any old vectors; call in
    a write transaction (DDL is transactional on PostgreSQL). A bulk load passes
    index=False and calls `create_index` after: one HNSW build is much cheaper than
    inserting every vector into the graph."""
    if dim <= 0:
        raise InvalidInput(f"embedding dimension must be positive, got {dim}")
    conn.execute(f"drop table if exists {TABLE}")
    conn.execute(
        f"""create table {TABLE} (
              memory_id bigint primary key references memories(id) on delete cascade,
              project text not null, status text not null, kind text not null,
              embedding vector({int(dim)}) not null)"""
    )
    conn.execute(f"alter table {TABLE} alter column embedding set statistics 0")
    if index:
        create_index(conn)


def create_index(conn: PgConnection) -> None:
    conn.execute(
        f"create index {TABLE}_hnsw on {TABLE} using hnsw (embedding vector_cosine_ops) "
        f"with (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
    )
    conn.execute(f"create index {TABLE}_scope on {TABLE}(project, status)")


def analyze(conn: PgConnection) -> None:
    """Planner statistics of the table (project, status, kind; never the vectors: their
    statistics target is 0). After a bulk load, until autovacuum gets to it, the planner
    thinks the table is empty-ish and reads a whole project through its (project, status)
    index, sorting every vector instead of walking the graph: 170 ms instead of ~1 ms for
    knn(100) at 100k."""
    conn.execute(f"analyze {TABLE}")


def put(
    conn: PgConnection,
    memory_id: int,
    project: str,
    status: str,
    kind: str,
    vector: np.ndarray,
) -> None:
    conn.execute(
        f"""insert into {TABLE}(memory_id, project, status, kind, embedding)
            values (?, ?, ?, ?, ?::vector)
            on conflict (memory_id) do update set project = excluded.project,
              status = excluded.status, kind = excluded.kind, embedding = excluded.embedding""",
        (memory_id, project, status, kind, literal(vector)),
    )


def set_status(conn: PgConnection, memory_id: int, status: str) -> None:
    """Keep the denormalised status in step; before any model made the table, nothing to do."""
    if exists(conn):
        conn.execute(f"update {TABLE} set status = ? where memory_id = ?", (status, memory_id))


def knn(
    conn: PgConnection,
    vector: np.ndarray,
    project: str,
    n: int,
    kinds: Sequence[str] = (),
) -> list[tuple[float, int]]:
    """The n active memories of `project` nearest to `vector`: [(cosine distance, id)],
    nearest first."""
    if n <= 0:
        return []
    query = literal(vector)
    if _fits_exact(conn, project):
        return _exact(conn, query, project, n, kinds)
    return _approximate(conn, query, project, n, kinds)


def _fits_exact(conn: PgConnection, project: str) -> bool:
    """The project's active vectors number at most EXACT_MAX, counted no further than
    EXACT_MAX + 1 rows: a full count walks the whole project (3.5 ms at 100k), this stops at
    the bound (~0.3 ms)."""
    row = conn.execute(
        f"""select count(*) from (select 1 from {TABLE}
              where project = ? and status = 'active' limit ?) s""",
        (project, EXACT_MAX + 1),
    ).fetchone()
    return int(row[0]) <= EXACT_MAX


def _kind_filter(kinds: Sequence[str]) -> tuple[str, list[object]]:
    if not kinds:
        return "", []
    return f" and kind in ({','.join('?' * len(kinds))})", list(kinds)


def _exact(
    conn: PgConnection, query: str, project: str, n: int, kinds: Sequence[str]
) -> list[tuple[float, int]]:
    kind_sql, kind_params = _kind_filter(kinds)
    rows = conn.execute(
        f"""with c as materialized (
              select memory_id, embedding from {TABLE}
              where project = ? and status = 'active'{kind_sql})
            select embedding <=> ?::vector as d, memory_id from c order by d, memory_id limit ?""",
        (project, *kind_params, query, n),
    )
    return [(float(r[0]), int(r[1])) for r in rows]


def _approximate(
    conn: PgConnection, query: str, project: str, n: int, kinds: Sequence[str]
) -> list[tuple[float, int]]:
    kind_sql, kind_params = _kind_filter(kinds)
    sql = (
        f"select embedding <=> %s::vector as d, memory_id from {TABLE} "
        f"where project = %s and status = 'active'{kind_sql.replace('?', '%s')} "
        "order by d limit %s"
    )
    ef = str(ef_search(n))
    with _read_transaction(conn) as raw:
        raw.execute("select set_config('hnsw.ef_search', %s, true)", (ef,))
        try:
            with raw.transaction():  # a savepoint: an old pgvector lacks the setting
                raw.execute("select set_config('hnsw.iterative_scan', 'relaxed_order', true)")
        except psycopg.Error:
            return _exact(conn, query, project, n, kinds)
        # Never a prepared statement: a cached generic plan estimates `project = $1` for an
        # average project, and for a project far above average it walks the (project,
        # status) index and sorts every vector of the project instead of using the graph.
        rows = raw.execute(sql, (query, project, *kind_params, n), prepare=False).fetchall()
    return sorted((float(d), int(m)) for d, m in rows)


def ef_search(n: int) -> int:
    """The HNSW candidate list size for a query asking `n` rows."""
    return min(max(EF_PER_ROW * n, EF_MIN), EF_MAX)


@contextmanager
def _read_transaction(conn: PgConnection) -> Iterator[Any]:
    """A connection inside a transaction, so `set_config(..., true)` lasts for the query:
    the thread's own write transaction when one is open, else a pinned pool connection."""
    held = conn.held
    if held is not None:
        yield held
        return
    with conn.hold() as raw, raw.transaction():
        yield raw


def cosines(conn: PgConnection, vector: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
    """Cosine similarity of `vector` to the stored vectors of `ids` (primary-key lookups)."""
    if not ids:
        return {}
    rows = conn.execute(
        f"select memory_id, 1 - (embedding <=> ?::vector) from {TABLE} "
        "where memory_id = any(?::bigint[])",
        (literal(vector), list(ids)),
    )
    return {int(r[0]): float(r[1]) for r in rows}
