"""The SQLite half of erasure: where copies of erased text hide inside one SQLite file.

Deleting a row is not enough on its own, because copies of the text survive in
four places:

- freed b-tree pages and cells: `pragma secure_delete=on` (set at connect)
  zeroes them as they are freed;
- FTS5 segments: an external-content delete only appends a tombstone, the old
  segment still holds the tokens. We switch FTS5 `secure-delete` on for the
  delete (tokens are removed in place) and then run `optimize`, which rewrites
  all segments into one;
- the WAL: old page versions stay in `-wal` until a checkpoint copies the new
  versions over them and TRUNCATE empties the file. A reader holding an old
  snapshot blocks this; we retry, then report it honestly in the receipt;
- free space and page slack: `VACUUM` rebuilds the file. It is the default;
  `vacuum=False` skips it for large databases (see benchmarks/erase.py) and
  relies on secure_delete + optimize + checkpoint.

sqlite-vec 0.1.9 zeroes a deleted vector's slot in its chunk blob; we check
that slot after the delete and zero it ourselves if a future version does not.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from mcp_memory.errors import StorageError
from mcp_memory.storage.driver import Connection, OperationalError
from mcp_memory.storage.sqlite.connection import begin_immediate
from mcp_memory.storage.sqlite.vectors import VEC_TABLE

FTS_TABLE = "memories_fts"
_SKIP_TABLES = ("memories", "audit_log", "meta", "schema_migrations")
_SHADOW_PREFIXES = (FTS_TABLE, VEC_TABLE, "sqlite_")
_RETRIES = 8
IN_IDS = "in (select value from json_each(?))"
CHECKPOINT_ATTEMPTS = 5
CHECKPOINT_WAIT_MS = 250
T = TypeVar("T")


def _ids_json(ids: Sequence[int]) -> str:
    return json.dumps([int(i) for i in ids])


def _scalar(conn: Connection, sql: str, *params: Any) -> int:
    return int(conn.execute(sql, params).fetchone()[0])


def table_exists(conn: Connection, name: str) -> bool:
    row = conn.execute("select 1 from sqlite_master where name = ?", (name,)).fetchone()
    return row is not None


def dependent_tables(conn: Connection) -> dict[str, list[str]]:
    """Tables whose rows point at a memory (links today, whatever is added tomorrow).

    Found from foreign keys and `memory_id` columns rather than hard-coded, so a
    table added by a later migration cannot silently keep erased rows alive.
    """
    found: dict[str, list[str]] = {}
    tables = conn.execute(
        "select name, sql from sqlite_master where type = 'table' order by name"
    ).fetchall()
    for name, sql in tables:
        if name in _SKIP_TABLES or name.startswith(_SHADOW_PREFIXES):
            continue
        if (sql or "").lstrip().lower().startswith("create virtual"):
            continue
        columns = {
            fk["from"]
            for fk in conn.execute("select * from pragma_foreign_key_list(?)", (name,))
            if fk["table"] == "memories"
        }
        columns |= {
            col["name"]
            for col in conn.execute("select name from pragma_table_info(?)", (name,))
            if col["name"] == "memory_id"
        }
        if columns:
            found[name] = sorted(columns)
    return found


def index_entry_counts(conn: Connection, ids: Sequence[int]) -> dict[str, int]:
    """Entries the keyword and vector indexes hold for these memories, in receipt order."""
    return {FTS_TABLE: _fts_count(conn, ids), VEC_TABLE: _vec_count(conn, ids)}


def _fts_count(conn: Connection, ids: Sequence[int]) -> int:
    """Count index entries (docsize), not the content table the FTS view reads through."""
    if table_exists(conn, f"{FTS_TABLE}_docsize"):
        sql = f"select count(*) from {FTS_TABLE}_docsize where id {IN_IDS}"
        return _scalar(conn, sql, _ids_json(ids))
    return 0


def _vec_count(conn: Connection, ids: Sequence[int]) -> int:
    """Read sqlite-vec's rowid map: point lookups through vec0 cost ~0.5 ms each."""
    if not table_exists(conn, VEC_TABLE):
        return 0
    shadow = f"{VEC_TABLE}_rowids"
    if table_exists(conn, shadow):
        sql = f"select count(*) from {shadow} where rowid {IN_IDS}"
        return _scalar(conn, sql, _ids_json(ids))
    sql = f"select count(*) from {VEC_TABLE} where memory_id = ?"
    return sum(_scalar(conn, sql, i) for i in ids)


def delete_vectors(conn: Connection, ids: Sequence[int]) -> None:
    """Delete the vec0 rows, then make sure their bytes left the chunk blobs."""
    slots = vector_slots(conn, ids)
    if table_exists(conn, VEC_TABLE):
        conn.executemany(f"delete from {VEC_TABLE} where memory_id = ?", [(i,) for i in ids])
        zero_vector_slots(conn, slots)


def delete_memory_rows(conn: Connection, id_list: tuple[str, str]) -> None:
    """The base-row delete, with FTS5 secure-delete on so the trigger's delete removes the
    tokens from existing segments in place instead of leaving them behind a tombstone."""
    fragment, payload = id_list
    _set_fts_secure_delete(conn, True)
    try:
        conn.execute(f"delete from memories where id in {fragment}", (payload,))
    finally:
        _set_fts_secure_delete(conn, False)


def _set_fts_secure_delete(conn: Connection, on: bool) -> None:
    """Only around our own delete: left on, it slows every delete and update the store makes."""
    if table_exists(conn, FTS_TABLE):
        conn.execute(
            f"insert into {FTS_TABLE}({FTS_TABLE}, rank) values ('secure-delete', ?)", (int(on),)
        )


def vector_slots(conn: Connection, ids: Sequence[int]) -> list[tuple[int, int]]:
    """(chunk_id, offset) of each vector: sqlite-vec keeps vectors packed in chunk blobs."""
    shadow = f"{VEC_TABLE}_rowids"
    if not table_exists(conn, shadow):
        return []
    sql = f"select chunk_id, chunk_offset from {shadow} where rowid {IN_IDS}"
    return [(row[0], row[1]) for row in conn.execute(sql, (_ids_json(ids),))]


def zero_vector_slots(conn: Connection, slots: list[tuple[int, int]]) -> None:
    """Make sure a deleted vector's bytes are gone from its chunk (0.1.9 already zeroes them)."""
    chunks = f"{VEC_TABLE}_chunks"
    for table in _vector_chunk_tables(conn):
        for chunk_id, offset in slots:
            size_row = conn.execute(f"select size from {chunks} where chunk_id = ?", (chunk_id,))
            blob_row = conn.execute(f"select vectors from {table} where rowid = ?", (chunk_id,))
            size, blob = size_row.fetchone(), blob_row.fetchone()
            if not size or not blob or not blob[0]:
                continue
            width = len(blob[0]) // size[0]
            start = offset * width
            if any(blob[0][start : start + width]):
                patched = blob[0][:start] + bytes(width) + blob[0][start + width :]
                conn.execute(f"update {table} set vectors = ? where rowid = ?", (patched, chunk_id))


def _vector_chunk_tables(conn: Connection) -> list[str]:
    pattern = f"{VEC_TABLE}_vector_chunks%"
    rows = conn.execute(
        "select name from sqlite_master where type='table' and name like ?", (pattern,)
    )
    return [row[0] for row in rows]


def purge(conn: Connection, lock: threading.RLock | None, *, vacuum: bool = True) -> dict[str, Any]:
    """Push deleted bytes out of every file: FTS segments, free pages, then the WAL.

    None of these can run inside a transaction, and each is best-effort against
    concurrent readers; the result says what happened."""
    lock = lock or threading.RLock()
    result: dict[str, Any] = {"fts_optimized": False, "vacuumed": False, "errors": []}
    result["timings"] = {}
    if table_exists(conn, FTS_TABLE):
        optimize = lambda: _fts_optimize(conn, lock)  # noqa: E731
        result["fts_optimized"] = _attempt(result, "fts_optimize", optimize)
    if vacuum:
        result["vacuumed"] = _attempt(result, "vacuum", lambda: _locked(lock, conn, "vacuum"))
    started = time.perf_counter()
    result["checkpoint"] = checkpoint(conn, lock)
    result["timings"]["checkpoint"] = round(time.perf_counter() - started, 3)
    result["wal_bytes"] = _wal_size(conn)
    result["seconds"] = round(sum(result["timings"].values()), 3)
    return result


def _fts_optimize(conn: Connection, lock: threading.RLock) -> None:
    with begin_immediate(conn, lock):
        conn.execute(f"insert into {FTS_TABLE}({FTS_TABLE}) values ('optimize')")


def _locked(lock: threading.RLock, conn: Connection, sql: str) -> Any:
    with lock:
        return _retry(lambda: conn.execute(sql).fetchall())


def _attempt(result: dict[str, Any], step: str, fn: Callable[[], Any]) -> bool:
    started = time.perf_counter()
    try:
        fn()
    except (OperationalError, StorageError) as exc:
        result["errors"].append(f"{step}: {exc}")
        return False
    finally:
        result["timings"][step] = round(time.perf_counter() - started, 3)
    return True


def _is_transient(exc: Exception) -> bool:
    text = str(exc).lower()
    name = getattr(exc, "sqlite_errorname", "")
    transient = ("locked", "busy", "statements in progress")
    return name in ("SQLITE_BUSY", "SQLITE_LOCKED") or any(t in text for t in transient)


def _retry(fn: Callable[[], T]) -> T:
    """VACUUM and checkpoints give up on contention instead of waiting; try a few times."""
    for attempt in range(_RETRIES):
        try:
            return fn()
        except OperationalError as exc:
            if not _is_transient(exc) or attempt == _RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def checkpoint(conn: Connection, lock: threading.RLock | None = None) -> dict[str, int]:
    """TRUNCATE checkpoint, retried while readers pin old WAL frames.

    busy=1 after the retries means some reader still holds a snapshot: the old
    bytes stay in -wal until the next successful checkpoint.
    """
    lock = lock or threading.RLock()
    busy, log, done, attempt = 1, -1, -1, 0
    with lock:
        previous = conn.execute("pragma busy_timeout").fetchone()[0]
        conn.execute(f"pragma busy_timeout = {CHECKPOINT_WAIT_MS}")
        try:
            for attempt in range(1, CHECKPOINT_ATTEMPTS + 1):
                busy, log, done = _checkpoint_once(conn)
                if busy == 0:
                    break
                time.sleep(0.05 * attempt)
        finally:
            conn.execute(f"pragma busy_timeout = {int(previous)}")
    return {"busy": busy, "log_frames": log, "checkpointed_frames": done, "attempts": attempt}


def _checkpoint_once(conn: Connection) -> tuple[int, int, int]:
    """TRUNCATE waits for readers through the busy handler, hence the short timeout above."""
    try:
        busy, log, done = conn.execute("pragma wal_checkpoint(TRUNCATE)").fetchone()
    except OperationalError as exc:
        if not _is_transient(exc):
            raise
        return 1, -1, -1
    return int(busy), int(log), int(done)


def _wal_size(conn: Connection) -> int:
    row = conn.execute("select file from pragma_database_list where name = 'main'").fetchone()
    path = row[0] if row else ""
    try:
        return os.path.getsize(path + "-wal") if path else 0
    except OSError:
        return 0


def purge_complete(result: dict[str, Any], vacuum: bool) -> bool:
    """Complete means every step ran and no reader kept old WAL frames alive."""
    cp = result.get("checkpoint", {})
    scrubbed = result.get("fts_optimized", False) and (result.get("vacuumed") or not vacuum)
    return bool(scrubbed and cp.get("busy") == 0 and not result.get("errors"))


def purge_notes(*, purged: bool, vacuum: bool) -> list[str]:
    """What the receipt must admit about this file after the purge."""
    notes: list[str] = []
    if not purged:
        notes.append(
            "old bytes may remain until the next successful checkpoint "
            "(a reader held an old snapshot or a purge step failed); run erase again or "
            "`pragma wal_checkpoint(TRUNCATE)` when idle"
        )
    if not vacuum:
        notes.append("VACUUM skipped: relying on secure_delete, FTS optimize and checkpoint")
    return notes
