"""Real erasure (GDPR Art. 17): the text must be gone from the file, not just hidden.

`forget` only changes a status; erasure deletes every row that holds the text
and then makes the old bytes unrecoverable. Deleting a row is not enough on
its own: indexes, freed pages and the write-ahead log keep copies. Where those
copies hide is the backend's business (`backends.sqlite_erasure` for SQLite:
secure_delete, FTS5 secure-delete + optimize, vec0 slot zeroing, VACUUM and a
TRUNCATE checkpoint); this module selects, deletes, audits and writes the receipt.

What erasure cannot reach: earlier backups (the receipt lists those recorded in
the audit log), copies made by the OS or filesystem (unlinked temp files, SSD
remapping), and anything a client already read. The audit log keeps ids and
content hashes only, so the chain stays intact. A content hash of a very short
text can be confirmed by guessing; that is the price of a verifiable receipt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from mcp_memory import audit
from mcp_memory.errors import InvalidInput, NotFound
from mcp_memory.progress import Progress, tell
from mcp_memory.records import note_high_water
from mcp_memory.storage import Backend, backend_of, termstats
from mcp_memory.storage.driver import Connection
from mcp_memory.storage.sqlite.vectors import bump_epoch

SELECTORS = ("id", "agent", "project", "match", "since")


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


def _where_any(backend: Backend, columns: list[str], ids: Sequence[int]) -> tuple[str, tuple]:
    fragment, param = backend.id_list(ids)
    return " or ".join(f"{c} in {fragment}" for c in columns), (param,) * len(columns)


def count_rows(conn: Connection, ids: Sequence[int]) -> dict[str, int]:
    """Rows per table that hold or index these memories: what the receipt promises."""
    backend = backend_of(conn)
    fragment, param = backend.id_list(ids)
    counts = {
        "memories": _scalar(conn, f"select count(*) from memories where id in {fragment}", param)
    }
    counts.update(backend.index_entry_counts(conn, ids))
    # tables found by introspection: one a later migration adds cannot keep erased rows alive
    for table, columns in backend.dependent_tables(conn).items():
        where, params = _where_any(backend, columns, ids)
        counts[table] = _scalar(conn, f"select count(*) from {table} where {where}", *params)
    counts.setdefault("links", 0)
    return counts


def _scalar(conn: Connection, sql: str, *params: Any) -> int:
    return int(conn.execute(sql, params).fetchone()[0])


def execute(
    conn: Connection,
    lock: threading.RLock | None,
    plan: ErasePlan,
    *,
    actor: str,
    vacuum: bool = True,
    interactive: bool = True,
    progress: Progress | None = None,
) -> Receipt:
    """Delete in one transaction (with its audit entry), then scrub the bytes outside it.

    Scrubbing (optimize, VACUUM, checkpoint) cannot run inside a transaction and
    is best-effort against concurrent readers; the receipt says what happened.
    `interactive` (a person confirmed it at a terminal) goes into the audit entry.
    `progress(done, 2)` hears the two steps: deleted, then scrubbed (VACUUM, the long one
    on a big file, reports nothing while it runs).
    """
    backend = backend_of(conn)
    started = time.perf_counter()
    tell(progress, 0, 2)
    with backend.write_transaction(lock):
        receipt = _delete(conn, plan, actor=actor, interactive=interactive)
    deleted_in = round(time.perf_counter() - started, 3)
    tell(progress, 1, 2)
    receipt.purge = backend.purge(lock, vacuum=vacuum)
    tell(progress, 2, 2)
    receipt.purge["timings"] = {"delete": deleted_in, **receipt.purge["timings"]}
    receipt.purged = backend.purge_complete(receipt.purge, vacuum)
    receipt.notes.extend(_notes(conn, receipt, vacuum))
    return receipt


def _delete(conn: Connection, plan: ErasePlan, *, actor: str, interactive: bool) -> Receipt:
    fragment, param = backend_of(conn).id_list(plan.ids)
    rows = conn.execute(
        f"select id, content_hash from memories where id in {fragment} order by id", (param,)
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
        data={
            "ids": ids,
            "content_hashes": hashes,
            "counts": counts,
            "selector": plan.selector,
            "interactive": interactive,
        },
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
    backend = backend_of(conn)
    note_high_water(conn)  # erased ids are never handed out again
    bump_epoch(conn)  # other processes drop cached vector codes of erased ids
    backend.delete_index_entries(conn, ids)
    for table, columns in backend.dependent_tables(conn).items():
        where, params = _where_any(backend, columns, ids)
        conn.execute(f"delete from {table} where {where}", params)
    termstats.remove(conn, ids)  # a term only the erased memories had leaves the counts too
    backend.delete_memory_rows(conn, ids)


def _notes(conn: Connection, receipt: Receipt, vacuum: bool) -> list[str]:
    notes: list[str] = []
    if receipt.skipped_ids:
        notes.append(f"already gone before erasure: {receipt.skipped_ids}")
    notes += backend_of(conn).purge_notes(receipt.purge, purged=receipt.purged, vacuum=vacuum)
    backups = audit.entries(conn, action="backup")
    if backups:
        paths = sorted({str(e.data.get("dest", "?")) for e in backups})
        notes.append(f"backups made earlier still hold the erased text: {paths}")
    return notes
