"""Real erasure (GDPR Art. 17): the text must be gone from the file, not just hidden.

`forget` only changes a status; erasure deletes every row that holds the text
and then makes the old bytes unrecoverable. Deleting a row is not enough on
its own, because copies of the text survive in four places:

- freed b-tree pages and cells: `pragma secure_delete=on` (set by db.connect)
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

What erasure cannot reach: earlier backups (the receipt lists those recorded in
the audit log), copies made by the OS or filesystem (unlinked temp files, SSD
remapping), and anything a client already read. The audit log keeps ids and
content hashes only, so the chain stays intact. A content hash of a very short
text can be confirmed by guessing; that is the price of a verifiable receipt.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from . import audit, termstats
from .db import Connection, OperationalError, write_transaction
from .errors import InvalidInput, NotFound, StorageError
from .store import note_high_water
from .vectors import VEC_TABLE, bump_epoch

SELECTORS = ("id", "agent", "project", "match", "since")
FTS_TABLE = "memories_fts"
_SKIP_TABLES = ("memories", "audit_log", "meta", "schema_migrations")
_SHADOW_PREFIXES = (FTS_TABLE, VEC_TABLE, "sqlite_")
_RETRIES = 8
IN_IDS = "in (select value from json_each(?))"
CHECKPOINT_ATTEMPTS = 5
CHECKPOINT_WAIT_MS = 250
T = TypeVar("T")


@dataclass
class ErasePlan:
    selector: str
    value: str
    ids: list[int]
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Receipt:
    erased_ids: list[int]
    content_hashes: dict[str, str]
    counts: dict[str, int]
    when: str
    by: str
    selector: str
    audit_hash: str
    purge: dict[str, Any] = field(default_factory=dict)
    purged: bool = False
    skipped_ids: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan(
    conn: Connection,
    *,
    id: int | None = None,  # noqa: A002 - matches the CLI flag
    agent: str | None = None,
    project: str | None = None,
    match: str | None = None,
    since: str | float | None = None,
) -> ErasePlan:
    """Resolve a selector to ids and counts without writing, so a human can confirm it."""
    selector, value = _one_selector(id=id, agent=agent, project=project, match=match, since=since)
    ids = _select_ids(conn, selector, value)
    if selector == "id" and not ids:
        raise NotFound(f"no memory with id {value}")
    return ErasePlan(selector, str(value), ids, count_rows(conn, ids))


def _one_selector(**given: Any) -> tuple[str, Any]:
    chosen = [(name, value) for name, value in given.items() if value is not None]
    if len(chosen) != 1:
        names = ", ".join(f"--{name}" for name in SELECTORS)
        raise InvalidInput(f"give exactly one selector of {names} (got {len(chosen)})")
    name, value = chosen[0]
    if isinstance(value, str) and not value.strip():
        raise InvalidInput(f"--{name} must not be empty")
    return name, value


def _select_ids(conn: Connection, selector: str, value: Any) -> list[int]:
    if selector == "match":
        return _match_ids(conn, str(value))
    if selector == "since":
        cutoff = audit.parse_since(value).timestamp()
        sql, params = "select id from memories where created_at >= ?", (cutoff,)
    else:
        column = {"id": "id", "agent": "agent", "project": "project"}[selector]
        sql, params = f"select id from memories where {column} = ?", (value,)
    return [row[0] for row in conn.execute(sql + " order by id", params)]


def _match_ids(conn: Connection, needle: str) -> list[int]:
    """Plain case-insensitive substring in Python: SQLite's lower() only folds ASCII."""
    folded = needle.casefold()
    rows = conn.execute("select id, content from memories order by id")
    return [row[0] for row in rows if folded in row[1].casefold()]


def _ids_json(ids: Sequence[int]) -> str:
    return json.dumps([int(i) for i in ids])


def _table_exists(conn: Connection, name: str) -> bool:
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


def _where_any(columns: list[str]) -> str:
    return " or ".join(f"{c} in (select value from json_each(?1))" for c in columns)


def count_rows(conn: Connection, ids: Sequence[int]) -> dict[str, int]:
    """Rows per table that hold or index these memories: what the receipt promises."""
    payload = _ids_json(ids)
    in_ids = "in (select value from json_each(?1))"
    counts = {
        "memories": _scalar(conn, f"select count(*) from memories where id {in_ids}", payload)
    }
    counts[FTS_TABLE] = _fts_count(conn, payload)
    counts[VEC_TABLE] = _vec_count(conn, ids)
    for table, columns in dependent_tables(conn).items():
        counts[table] = _scalar(
            conn, f"select count(*) from {table} where {_where_any(columns)}", payload
        )
    counts.setdefault("links", 0)
    return counts


def _scalar(conn: Connection, sql: str, *params: Any) -> int:
    return int(conn.execute(sql, params).fetchone()[0])


def _fts_count(conn: Connection, payload: str) -> int:
    """Count index entries (docsize), not the content table the FTS view reads through."""
    if _table_exists(conn, f"{FTS_TABLE}_docsize"):
        sql = (
            f"select count(*) from {FTS_TABLE}_docsize where id in (select value from json_each(?))"
        )
        return _scalar(conn, sql, payload)
    return 0


def _vec_count(conn: Connection, ids: Sequence[int]) -> int:
    """Read sqlite-vec's rowid map: point lookups through vec0 cost ~0.5 ms each."""
    if not _table_exists(conn, VEC_TABLE):
        return 0
    shadow = f"{VEC_TABLE}_rowids"
    if _table_exists(conn, shadow):
        sql = f"select count(*) from {shadow} where rowid in (select value from json_each(?))"
        return _scalar(conn, sql, _ids_json(ids))
    sql = f"select count(*) from {VEC_TABLE} where memory_id = ?"
    return sum(_scalar(conn, sql, i) for i in ids)


def execute(
    conn: Connection,
    lock: threading.RLock | None,
    plan: ErasePlan,
    *,
    actor: str,
    vacuum: bool = True,
) -> Receipt:
    """Delete in one transaction (with its audit entry), then scrub the bytes outside it.

    Scrubbing (optimize, VACUUM, checkpoint) cannot run inside a transaction and
    is best-effort against concurrent readers; the receipt says what happened.
    """
    started = time.perf_counter()
    with write_transaction(conn, lock):
        receipt = _delete(conn, plan, actor=actor)
    deleted_in = round(time.perf_counter() - started, 3)
    receipt.purge = purge(conn, lock, vacuum=vacuum)
    receipt.purge["timings"] = {"delete": deleted_in, **receipt.purge["timings"]}
    receipt.purged = _purge_complete(receipt.purge, vacuum)
    receipt.notes.extend(_notes(conn, receipt, vacuum))
    return receipt


def _delete(conn: Connection, plan: ErasePlan, *, actor: str) -> Receipt:
    payload = _ids_json(plan.ids)
    rows = conn.execute(
        "select id, content_hash from memories where id in (select value from json_each(?)) "
        "order by id",
        (payload,),
    ).fetchall()
    ids = [row[0] for row in rows]
    hashes = {str(row[0]): row[1] for row in rows}
    counts = count_rows(conn, ids)
    _delete_rows(conn, ids)
    audit_hash = audit.append(
        conn,
        actor=actor,
        action="erase",
        memory_id=ids[0] if len(ids) == 1 else None,
        data={"ids": ids, "content_hashes": hashes, "counts": counts, "selector": plan.selector},
    )
    return Receipt(
        erased_ids=ids,
        content_hashes=hashes,
        counts=counts,
        when=audit.utc_now_iso(),
        by=actor,
        selector=plan.selector,
        audit_hash=audit_hash,
        skipped_ids=sorted(set(plan.ids) - set(ids)),
    )


def _delete_rows(conn: Connection, ids: list[int]) -> None:
    payload = _ids_json(ids)
    note_high_water(conn)  # erased ids are never handed out again
    bump_epoch(conn)  # other processes drop cached vector codes of erased ids
    slots = _vector_slots(conn, ids)
    if _table_exists(conn, VEC_TABLE):
        conn.executemany(f"delete from {VEC_TABLE} where memory_id = ?", [(i,) for i in ids])
        _zero_vector_slots(conn, slots)
    for table, columns in dependent_tables(conn).items():
        conn.execute(f"delete from {table} where {_where_any(columns)}", (payload,))
    termstats.remove(conn, ids)  # a term only the erased memories had leaves the counts too
    _set_fts_secure_delete(conn, True)
    try:
        conn.execute(
            "delete from memories where id in (select value from json_each(?))", (payload,)
        )
    finally:
        _set_fts_secure_delete(conn, False)


def _set_fts_secure_delete(conn: Connection, on: bool) -> None:
    """FTS5 secure-delete removes a row's tokens from existing segments in place.

    We enable it only around our own delete: left on, it slows every delete
    and update the store makes.
    """
    if _table_exists(conn, FTS_TABLE):
        conn.execute(
            f"insert into {FTS_TABLE}({FTS_TABLE}, rank) values ('secure-delete', ?)", (int(on),)
        )


def _vector_slots(conn: Connection, ids: list[int]) -> list[tuple[int, int]]:
    """(chunk_id, offset) of each vector: sqlite-vec keeps vectors packed in chunk blobs."""
    shadow = f"{VEC_TABLE}_rowids"
    if not _table_exists(conn, shadow):
        return []
    sql = f"select chunk_id, chunk_offset from {shadow} where rowid {IN_IDS}"
    return [(row[0], row[1]) for row in conn.execute(sql, (_ids_json(ids),))]


def _zero_vector_slots(conn: Connection, slots: list[tuple[int, int]]) -> None:
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
    """Push deleted bytes out of every file: FTS segments, free pages, then the WAL."""
    lock = lock or threading.RLock()
    result: dict[str, Any] = {"fts_optimized": False, "vacuumed": False, "errors": []}
    result["timings"] = {}
    if _table_exists(conn, FTS_TABLE):
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
    with write_transaction(conn, lock):
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


def _db_path(conn: Connection) -> str:
    row = conn.execute("select file from pragma_database_list where name = 'main'").fetchone()
    return row[0] if row else ""


def _wal_size(conn: Connection) -> int:
    path = _db_path(conn)
    try:
        return os.path.getsize(path + "-wal") if path else 0
    except OSError:
        return 0


def _purge_complete(result: dict[str, Any], vacuum: bool) -> bool:
    cp = result.get("checkpoint", {})
    scrubbed = result.get("fts_optimized", False) and (result.get("vacuumed") or not vacuum)
    return bool(scrubbed and cp.get("busy") == 0 and not result.get("errors"))


def _notes(conn: Connection, receipt: Receipt, vacuum: bool) -> list[str]:
    notes: list[str] = []
    if receipt.skipped_ids:
        notes.append(f"already gone before erasure: {receipt.skipped_ids}")
    if not receipt.purged:
        notes.append(
            "old bytes may remain until the next successful checkpoint "
            "(a reader held an old snapshot or a purge step failed); run erase again or "
            "`pragma wal_checkpoint(TRUNCATE)` when idle"
        )
    if not vacuum:
        notes.append("VACUUM skipped: relying on secure_delete, FTS optimize and checkpoint")
    backups = audit.entries(conn, action="backup")
    if backups:
        paths = sorted({str(e.data.get("dest", "?")) for e in backups})
        notes.append(f"backups made earlier still hold the erased text: {paths}")
    return notes
