"""Erasure on PostgreSQL: delete the rows, then get their bytes out of every file the server
controls, and say exactly how far that reaches.

Verified byte by byte (design doc §3.6): after DELETE and plain VACUUM, the text, its lexemes
and the vector are still in the heap, the GIN and HNSW indexes and the WAL. `VACUUM FULL`
rewrites the tables and rebuilds their indexes; a WAL segment switch plus a checkpoint then
retire the WAL that held them, and with `wal_recycle = off` the retired segments are removed
rather than renamed. After that no file under PGDATA holds the text or the vector. What no
database command reaches (archives, standbys, backups, dumps, logs, freed disk blocks) is
named in the receipt, from what the server reports about itself.

Memory text is kept out of `pg_statistic` by `STATISTICS 0` on the text columns (pg001), so
the superuser-only rewrite of the statistics catalog is not needed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import psycopg

from mcp_memory.storage import termstats
from mcp_memory.storage.postgres.facade import PgConnection

# Tables that can hold bytes of an erased memory: the row, its vector, its links, reviews
# and file anchors (all `on delete cascade`), and the per-project term counts of its words.
TOUCHED = (
    "memories",
    "memory_vectors",
    "links",
    "reviews",
    "file_sources",
    termstats.TERMS_TABLE,
)
WAL_SWITCHES = 2  # the segment that held the rows, and the one the rewrite itself wrote


def delete_memories(conn: PgConnection, ids: Sequence[int]) -> int:
    """Delete memories and everything hanging off them; call inside the write transaction
    that also writes the erasure's audit entry."""
    wanted = [int(i) for i in ids]
    if not wanted:
        return 0
    termstats.remove(conn, wanted)
    return conn.execute("delete from memories where id = any(?::bigint[])", (wanted,)).rowcount


def purge(conn: PgConnection, vacuum: bool = True) -> dict[str, Any]:
    """Get deleted rows' bytes out of the data directory, outside any transaction (VACUUM
    cannot run inside one). Each step that the role may not run is recorded, not raised:
    the deletion already happened, and the receipt must say how far the purge got."""
    done: list[str] = []
    refused: dict[str, str] = {}
    started = time.perf_counter()
    tables = [t for t in TOUCHED if _exists(conn, t)]
    for table in tables:
        _step(conn, f"vacuum {'full ' if vacuum else ''}{table}", done, refused)
    rewritten = time.perf_counter()
    if vacuum:
        for _ in range(WAL_SWITCHES):
            _step(conn, "checkpoint", done, refused)
            _step(conn, "select pg_switch_wal()", done, refused)
        _step(conn, "checkpoint", done, refused)
    timings = {"vacuum": rewritten - started, "wal": time.perf_counter() - rewritten}
    return {
        "vacuum": vacuum,
        "done": done,
        "refused": refused,
        "server": _reach(conn),
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }


def _exists(conn: PgConnection, table: str) -> bool:
    return bool(conn.execute("select to_regclass(?) is not null", (table,)).fetchone()[0])


def _step(conn: PgConnection, sql: str, done: list[str], refused: dict[str, str]) -> None:
    try:
        conn.execute(sql)
        done.append(sql)
    except psycopg.Error as exc:  # lacking ownership or the checkpoint privilege
        refused[sql] = str(exc).splitlines()[0][:200]


def _setting(conn: PgConnection, name: str) -> str:
    row = conn.execute("select current_setting(?, true)", (name,)).fetchone()
    return str(row[0]) if row and row[0] is not None else "unknown"


def _count(conn: PgConnection, sql: str) -> int | None:
    try:
        return int(conn.execute(sql).fetchone()[0])
    except psycopg.Error:  # a role without the monitoring privilege cannot see them
        return None


def _reach(conn: PgConnection) -> dict[str, Any]:
    """What the server says about the copies of its data that erasure cannot reach."""
    return {
        "wal_recycle": _setting(conn, "wal_recycle"),
        "archive_mode": _setting(conn, "archive_mode"),
        "replication_slots": _count(conn, "select count(*) from pg_replication_slots"),
        "standbys": _count(conn, "select count(*) from pg_stat_replication"),
    }


def purge_notes(result: dict[str, Any]) -> list[str]:
    """The receipt's honest sentences about where the erased bytes may still be."""
    notes: list[str] = []
    server = result["server"]
    if not result["vacuum"]:
        notes.append(
            "Rows deleted and plainly vacuumed: their bytes stay in the table and index files "
            "until those pages are rewritten. Run the erase again without --no-vacuum."
        )
    for sql, reason in result["refused"].items():
        notes.append(f"Not run ({reason}): `{sql}`; the bytes it would remove may remain.")
    if result["vacuum"] and server["wal_recycle"] != "off":
        notes.append(
            f"wal_recycle is {server['wal_recycle']}: retired WAL segments are renamed and "
            "reused, not removed, so the erased bytes can stay in pg_wal until overwritten."
        )
    if server["archive_mode"] not in ("off", "unknown"):
        notes.append("WAL archiving is on: archived segments still hold the erased rows.")
    if server["replication_slots"]:
        notes.append(
            f"WAL with the rows may be held by replication slots ({server['replication_slots']})."
        )
    if server["standbys"]:
        notes.append(f"Standby servers ({server['standbys']}) keep their own WAL copies.")
    notes.append(
        "Never reached by erasure: base backups and pg_dump files, server logs, filesystem "
        "blocks freed by the rewrite, and anything a client already read."
    )
    return notes
