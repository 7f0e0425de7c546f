"""Rebuilding what is derived from the memory rows, after a damaged file was salvaged.

A `.dump` of a damaged database (doctor's recovery command) keeps every readable row, but
the keyword index, the per-project term counts and the vector index were copied only in
part and no longer match the rows. All three can be made again from `memories` alone.
"""

from __future__ import annotations

from mcp_memory.storage import termstats
from mcp_memory.storage.driver import Connection
from mcp_memory.storage.sqlite import vectors
from mcp_memory.storage.sqlite.connection import begin_immediate


def rebuild_derived(conn: Connection) -> int:
    """Rebuild FTS5 and the term counts now; drop the vectors so that the server's backfill
    embeds every memory again (a vector copied from a damaged page cannot be trusted).
    Returns how many memories the indexes now cover."""
    with begin_immediate(conn):
        conn.execute("insert into memories_fts(memories_fts) values('rebuild')")
        termstats.rebuild(conn)
        conn.execute(f"drop table if exists {vectors.VEC_TABLE}")
        conn.execute(f"delete from {vectors.FLOAT_TABLE}")
        conn.execute("update memories set embedding_model = null")
        conn.execute("delete from meta where key in ('embedding_model', 'embedding_dim')")
        return int(conn.execute("select count(*) from memories").fetchone()[0])
