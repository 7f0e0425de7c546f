"""Import phase 3: commit the screened lines, one transaction per line.

Ids are kept when none is taken and remapped otherwise; duplicates stand in for their
line's id but are never wired to; links and supersedes are made only between memories
this import created, once both exist; every row is the importer's (agent "import", source
"file") with the file's claim beside it; a file only ever makes a memory more cautious.
The policy is in mcp_memory.portability's docstring.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mcp_memory import audit
from mcp_memory.errors import InvalidInput
from mcp_memory.models import Actor, Verdict
from mcp_memory.portability.check import SCREEN_AS, SCREEN_SOURCE, Incoming, Screened
from mcp_memory.portability.report import ImportReport, LineError, LineOutcome, shorten
from mcp_memory.records import insert_row, keywords
from mcp_memory.render import plural
from mcp_memory.storage import backend_of
from mcp_memory.storage import driver as db
from mcp_memory.store import MemoryStore
from mcp_memory.trust import agents

SUPERSEDE_COLUMNS = ("supersedes", "superseded_by")
# Whose every imported row and link is: never the human ("user") nor the agent a line
# names, so a file cannot speak as either, and its trust is the importer's policy (the
# "import" agent's standing, which the human sets with `agents trust|distrust import`).
IMPORTER = SCREEN_AS.agent


Waiting = list[tuple[int, tuple[Any, ...]]]  # (file id the entry waits for, entry)


@dataclass
class Commit:
    """State shared across the per-line transactions of one import.

    It changes only after a line's transaction commits (settle), so a line that
    rolls back leaves no id, link or fix-up behind that points at a missing row.
    """

    actor: Actor
    session: str  # one per import run: what this import brought in shares it
    keep_ids: bool
    model: str | None
    screen_trust: float
    trusted: frozenset[str]
    in_file: set[int]
    id_map: dict[int, int] = field(default_factory=dict)
    new_ids: set[int] = field(default_factory=set)
    pending_links: dict[int, list[tuple[Any, ...]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    pending_columns: dict[int, list[tuple[Any, ...]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def settle(
        self, file_id: int, this_id: int, *, is_new: bool, links: Waiting, columns: Waiting
    ) -> None:
        self.id_map[file_id] = this_id
        if is_new:
            self.new_ids.add(this_id)
        self.pending_links.pop(file_id, None)
        self.pending_columns.pop(file_id, None)
        for waits_for, entry in links:
            self.pending_links[waits_for].append(entry)
        for waits_for, entry in columns:
            self.pending_columns[waits_for].append(entry)


def _ids_free(store: MemoryStore, ids: list[int]) -> bool:
    fragment, param = store.backend.id_list(ids)
    with store.lock:
        row = store.conn.execute(
            f"select count(*) from memories where id in {fragment}", (param,)
        ).fetchone()
    return row[0] == 0


def _screen_trust(store: MemoryStore) -> float:
    with store.lock:
        return agents.current(store.conn, SCREEN_AS, store.settings.trusted_agents).score


def _final_status(item: Incoming, verdict: Verdict) -> str:
    """A file can only make a memory more hidden: whatever the gate holds stays held,
    unless the file already says it is gone (forgotten) or refused (rejected)."""
    if verdict.status == "quarantined" and item.status not in ("forgotten", "rejected"):
        return "quarantined"
    return item.status


def _insert(conn: db.Connection, s: Screened, status: str, ctx: Commit) -> int:
    item, verdict = s.item, s.verdict
    wanted = item.id if ctx.keep_ids else None
    if (
        wanted is not None
        and conn.execute("select 1 from memories where id = ?", (wanted,)).fetchone()
    ):
        wanted = None  # taken by a concurrent writer since the plan: remap this one line
    reasons = sorted(set(item.reasons) | set(verdict.reasons))
    changed_by, why = (IMPORTER, "quarantined on import") if status != item.status else (None, None)
    return insert_row(conn, {
        "id": wanted, "content": item.text,
        "keywords": keywords(item.text, item.tags, [f["path"] for f in item.files]),
        "kind": item.kind, "tags": json.dumps(item.tags), "project": item.project,
        "status": status, "agent": IMPORTER, "client_name": SCREEN_AS.client_name,
        "client_version": "", "session_id": ctx.session, "source": SCREEN_SOURCE,
        "imported_from": json.dumps(item.claimed, sort_keys=True), "content_hash": item.digest,
        "trust": round(min(item.trust, ctx.screen_trust), 4),
        "risk": round(max(item.risk, verdict.risk), 4), "reasons": json.dumps(reasons),
        "files": json.dumps(item.files), "created_at": item.created_at,
        "updated_at": item.updated_at, "status_changed_by": changed_by, "status_reason": why,
    })  # fmt: skip


def _put_link(conn: db.Connection, src: int, dst: int, relation: str) -> None:
    """The link is the import's doing here; the agent the file names for it is a claim."""
    if src != dst:
        conn.execute(
            "insert into links(source_id, target_id, relation, agent, "
            "created_at) values (?, ?, ?, ?, ?) on conflict do nothing",
            (src, dst, relation, IMPORTER, time.time()),
        )


def _wire_links(
    conn: db.Connection, item: Incoming, this_id: int, ctx: Commit, *, is_new: bool
) -> Waiting:
    """Links whose other end is here commit now; the rest wait for that end's line.

    Both ends must be memories this import created. A duplicate line stands for a memory
    that was already here: wiring to it would let a file attach a poison to a trusted
    memory just by repeating that memory's text (dropped_links reports these).
    """
    later: Waiting = []
    for target, relation, _agent in item.links if is_new else ():
        if target in ctx.id_map:
            other = ctx.id_map[target]
            if other in ctx.new_ids:
                _put_link(conn, this_id, other, relation)
        elif target in ctx.in_file:
            later.append((target, (this_id, relation)))
    for source, relation in ctx.pending_links.get(item.id, ()) if is_new else ():
        _put_link(conn, source, this_id, relation)
    return later


def _wire_columns(
    conn: db.Connection, item: Incoming, this_id: int, ctx: Commit, *, is_new: bool
) -> Waiting:
    """supersedes/superseded_by are foreign keys: each is set once both rows exist.

    Like links, only between memories this import created: a duplicate's columns are left
    alone, and no new memory is recorded as superseding (or superseded by) one that was
    already here.
    """
    later: Waiting = []
    for column in SUPERSEDE_COLUMNS if is_new else ():
        old = getattr(item, column)
        if old is not None and old in ctx.id_map:
            if ctx.id_map[old] in ctx.new_ids:
                conn.execute(
                    f"update memories set {column} = ? where id = ?", (ctx.id_map[old], this_id)
                )
        elif old is not None and old in ctx.in_file:
            later.append((old, (column, this_id)))
    for column, row_id in ctx.pending_columns.get(item.id, ()) if is_new else ():
        conn.execute(f"update memories set {column} = ? where id = ?", (this_id, row_id))
    return later


_VISIBLE = ("active", "quarantined")


def _same_memory(row: db.sqlite3.Row, item: Incoming) -> bool:
    """The row is this line's memory: written by the agent the line names (as the row itself,
    or as an earlier import's claim) at the same moment. Re-importing a file is then a no-op,
    while the same text another agent wrote again after it was forgotten is a memory of its own."""
    claim = json.loads(row["imported_from"]) if row["imported_from"] else {}
    origin = claim.get("agent") or row["agent"]
    same_time = abs(float(row["created_at"]) - item.created_at) < 1e-3
    return origin == item.claimed.get("agent") and same_time


def _duplicate_of(conn: db.Connection, item: Incoming) -> db.sqlite3.Row | None:
    """The memory this line stands for, or the visible copy `remember` would also fold it into
    (one project never shows the same text twice)."""
    project = backend_of(conn).unindexed("project")  # the content_hash index, not project's
    rows = conn.execute(
        f"select id, status, agent, imported_from, created_at from memories "
        f"where content_hash = ? and {project} = ? order by id",
        (item.digest, item.project),
    ).fetchall()
    for row in rows:
        if _same_memory(row, item):
            return row
    if item.status in _VISIBLE:
        return next((row for row in rows if row["status"] in _VISIBLE), None)
    return None


def _write_new(conn: db.Connection, s: Screened, ctx: Commit) -> tuple[int, str]:
    item = s.item
    status = _final_status(item, s.verdict)
    new_id = _insert(conn, s, status, ctx)
    # The importer is an agent the human can see and judge (`agents distrust import` hides
    # what imports brought in); creating its row moves no one's trust.
    agents.ensure(conn, SCREEN_AS, ctx.trusted, time.time())
    if s.vector is not None and ctx.model is not None:
        backend_of(conn).put_vector(conn, new_id, item.project, status, item.kind, s.vector)
        conn.execute("update memories set embedding_model = ? where id = ?", (ctx.model, new_id))
    audit.append(
        conn,
        actor=ctx.actor.agent,
        action="import",
        memory_id=new_id,
        data={
            "original_id": item.id,
            "content_hash": item.digest,
            "status": status,
            "agent": item.claimed["agent"],  # what the line claimed; the row is IMPORTER's
            "source": item.claimed["source"],
            "project": item.project,
            "risk": round(s.verdict.risk, 4),
            "reasons": s.verdict.reasons,
            "line": item.line,
            "interactive": ctx.actor.interactive,
        },
    )
    return new_id, status


def _commit_line(store: MemoryStore, s: Screened, ctx: Commit) -> LineOutcome:
    item = s.item
    with store.transaction() as conn:
        dup = _duplicate_of(conn, item)
        if dup is None:
            this_id, status = _write_new(conn, s, ctx)
        else:
            this_id, status = dup["id"], dup["status"]
        is_new = dup is None
        links = _wire_links(conn, item, this_id, ctx, is_new=is_new)
        columns = _wire_columns(conn, item, this_id, ctx, is_new=is_new)
    ctx.settle(item.id, this_id, is_new=is_new, links=links, columns=columns)
    if is_new:
        return LineOutcome(item.line, item.id, this_id, "imported", status, s.verdict.reasons)
    return LineOutcome(item.line, item.id, this_id, "duplicate", status, ["exact_duplicate"])


def _dropped_links(items: list[Incoming], in_file: set[int]) -> list[str]:
    return [
        f"line {item.line}: link {item.id} -> {target} ({relation}) dropped: "
        f"{target} is not in the file"
        for item in items
        for target, relation, _ in item.links
        if target not in in_file
    ]


def _unwired(items: list[Incoming], outcomes: list[LineOutcome]) -> list[str]:
    """Links and supersedes the file asked for between one of its new memories and a
    memory that was already here (a duplicate line): not made, and said so."""
    result = {o.original_id: o.result for o in outcomes}
    notes = []
    for item in items:
        wanted = [(t, r) for t, r, _ in item.links]
        wanted += [(getattr(item, c), c.replace("_", " ")) for c in SUPERSEDE_COLUMNS]
        for other, relation in wanted:
            ends = (result.get(item.id), result.get(other))
            if None not in ends and "duplicate" in ends and item.id != other:
                notes.append(
                    f"line {item.line}: {relation} {item.id} -> {other} not made: only "
                    "memories this import created are linked, and one of them was already here"
                )
    return notes


def commit_all(
    store: MemoryStore,
    screened: list[Screened],
    model: str | None,
    actor: Actor,
    report: ImportReport,
    tick: Callable[[], None] = lambda: None,
) -> None:
    """One transaction per line; `tick` hears each line committed (or refused)."""
    ids = [s.item.id for s in screened]
    ctx = Commit(
        actor=actor,
        session=f"import-{uuid.uuid4().hex[:12]}",
        keep_ids=_ids_free(store, ids),
        model=model,
        screen_trust=_screen_trust(store),
        trusted=store.settings.trusted_agents,
        in_file=set(ids),
    )
    report.id_policy = "kept" if ctx.keep_ids else "remapped"
    report.notes += _dropped_links([s.item for s in screened], ctx.in_file)
    for s in screened:
        try:
            report.outcomes.append(_commit_line(store, s, ctx))
        except (db.sqlite3.Error, InvalidInput) as exc:
            report.errors.append(LineError(s.item.line, shorten(f"not imported: {exc}")))
        tick()
    report.committed = True
    report.notes += _unwired([s.item for s in screened], report.outcomes)
    moved = [o for o in report.outcomes if o.result == "imported" and o.id != o.original_id]
    if ctx.keep_ids and moved:
        taken = plural(len(moved), "id") + (" was" if len(moved) == 1 else " were")
        report.notes.append(f"{taken} taken by a concurrent write and remapped")
