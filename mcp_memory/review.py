"""The human's review desk: quarantine decisions and agent trust, each audited.

Reviews feed trust: an approval is strong positive evidence for the writer, a
rejection strong negative evidence. `distrust --retro` pulls everything an
agent wrote out of recall until a human looks at it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

from mcp_memory import audit, lifecycle
from mcp_memory.errors import InvalidInput, NotFound
from mcp_memory.models import HUMAN, Actor
from mcp_memory.records import iso
from mcp_memory.store import MemoryStore
from mcp_memory.trust import agents, beta
from mcp_memory.trust.detectors.base import make_safe


@dataclass(frozen=True)
class QueueItem:
    memory_id: int
    # "write" (a quarantined memory), "forget" (an agent asked to forget it) or "link" (an
    # unverified agent asked to link it to another memory)
    request: str
    agent: str
    source: str
    risk: float
    reasons: list[str]
    created_at: str
    preview: str  # invisible characters made visible, shortened

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def queue(store: MemoryStore) -> list[QueueItem]:
    with store.lock:
        held = store.conn.execute(
            "select * from memories where status = 'quarantined' order by id"
        ).fetchall()
        asks = store.conn.execute(
            """select r.kind, r.memory_id, r.target_id, r.requested_by, r.created_at, r.reason,
                      m.content, m.source
               from reviews r join memories m on m.id = r.memory_id
               where r.status = 'pending' order by r.id"""
        ).fetchall()
    items = [
        QueueItem(
            r["id"],
            "write",
            r["agent"],
            r["source"],
            r["risk"],
            json.loads(r["reasons"]) + _supersedes(r),
            iso(r["created_at"]),
            _preview(r["content"]),
        )
        for r in held
    ]
    items += [
        QueueItem(
            r["memory_id"],
            r["kind"],
            r["requested_by"],
            r["source"],
            0.0,
            [_ask_reason(r)],
            iso(r["created_at"]),
            _preview(r["content"]),
        )
        for r in asks
    ]
    return items


def _ask_reason(row: object) -> str:
    if row["kind"] == "link":
        return f"link {row['reason']} -> memory {row['target_id']}"
    return row["reason"] or "no reason given"


def _supersedes(row: object) -> list[str]:
    """A held write that replaces an older memory says so in the queue: approving it hides
    that memory."""
    old = row["supersedes"]  # type: ignore[index]
    return [] if old is None else [f"supersedes #{old}"]


def _preview(content: str, limit: int = 160) -> str:
    safe = make_safe(content).replace("\n", " ")
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def show(store: MemoryStore, memory_id: int) -> dict[str, object]:
    record = store.get(memory_id).model_dump(mode="json")
    record["content_visible"] = make_safe(record["content"])
    with store.lock:
        record["will_hide"] = _will_hide(store.conn, record)
        record["forget_requests"] = [
            dict(r)
            for r in store.conn.execute(
                "select id, kind, requested_by, reason, status from reviews where memory_id = ?",
                (memory_id,),
            )
        ]
    return record


def _will_hide(conn: object, record: dict[str, object]) -> dict[str, object] | None:
    """The memory that approving this held write would supersede (hide from recall), or None:
    the reviewer must see what an approval takes away, not only what it adds."""
    if record["status"] != "quarantined" or record["supersedes"] is None:
        return None
    old = conn.execute(  # type: ignore[attr-defined]
        "select id, agent, status, content from memories where id = ?", (record["supersedes"],)
    ).fetchone()
    if old is None or old["status"] != "active":
        return None
    return {
        "id": old["id"],
        "agent": old["agent"],
        "status": old["status"],
        "preview": _preview(old["content"]),
    }


def decide(
    store: MemoryStore, memory_id: int, approve: bool, actor: Actor = HUMAN
) -> dict[str, object]:
    """Approve or reject whatever waits on this memory: a quarantined write or forget requests."""
    with store.transaction() as conn:
        row = conn.execute(
            "select agent, status from memories where id = ?", (memory_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no memory with id {memory_id}")
        if row["status"] == "quarantined":
            return _decide_write(store, conn, memory_id, row["agent"], approve, actor)
        asks = conn.execute(
            "select id, kind, requested_by, target_id, reason from reviews "
            "where memory_id = ? and status = 'pending' order by id",
            (memory_id,),
        ).fetchall()
        if not asks:  # like a missing id: nothing to decide (exit 1), not bad usage
            raise NotFound(
                f"memory {memory_id} has nothing waiting for review (status {row['status']})"
            )
        links = [a for a in asks if a["kind"] == "link"]
        forgets = [a for a in asks if a["kind"] != "link"]
        if links:
            linked = _decide_links(conn, memory_id, links, approve, actor)
            if not forgets:
                return linked
        return _decide_forget(store, conn, memory_id, forgets, approve, actor)


def _decide_write(
    store: MemoryStore, conn: object, memory_id: int, writer: str, approve: bool, actor: Actor
) -> dict[str, object]:
    status = "active" if approve else "rejected"
    why = "approved" if approve else "rejected"
    risk = conn.execute("select risk from memories where id = ?", (memory_id,)).fetchone()[0]
    lifecycle.set_status(store.backend, conn, memory_id, status, actor.agent, why)
    if approve:
        conn.execute("update memories set risk = 0 where id = ?", (memory_id,))
    hidden = _apply_held_supersede(store, conn, memory_id, actor) if approve else None
    event = "review_approved" if approve else "review_rejected"  # refunds or confirms by risk
    before, after = agents.record(conn, writer, event, risk=float(risk))
    audit.append(
        conn,
        actor=actor.agent,
        action="approve" if approve else "reject",
        memory_id=memory_id,
        data={
            "request": "write",
            "writer": writer,
            "trust_before": round(before, 4),
            "trust_after": round(after, 4),
            "interactive": actor.interactive,
            "superseded": hidden,
        },
    )
    return {
        "id": memory_id,
        "request": "write",
        "status": status,
        "writer": writer,
        "writer_trust": round(after, 4),
        "superseded": hidden,
    }


def _apply_held_supersede(
    store: MemoryStore, conn: object, memory_id: int, actor: Actor
) -> int | None:
    """A quarantined write superseded nothing; once a human approves it, it does. Returns
    the id of the memory it hid, so the approval can say so."""
    row = conn.execute("select supersedes from memories where id = ?", (memory_id,)).fetchone()
    if row is None or row["supersedes"] is None:
        return None
    old = conn.execute(
        "select id, agent, status from memories where id = ?", (row["supersedes"],)
    ).fetchone()
    if old is None or old["status"] != "active":
        return None
    lifecycle.supersede(store.backend, conn, old, memory_id, actor, 1.0)
    return int(old["id"])


def _decide_forget(
    store: MemoryStore, conn: object, memory_id: int, asks: list, approve: bool, actor: Actor
) -> dict[str, object]:
    if approve:
        why = "forget request approved"
        lifecycle.set_status(store.backend, conn, memory_id, "forgotten", actor.agent, why)
    conn.execute(
        "update reviews set status = ?, decided_by = ?, decided_at = ? where memory_id = ? "
        "and status = 'pending' and kind <> 'link'",
        ("approved" if approve else "rejected", actor.agent, time.time(), memory_id),
    )
    requesters = sorted({a["requested_by"] for a in asks})
    audit.append(
        conn,
        actor=actor.agent,
        action="approve" if approve else "reject",
        memory_id=memory_id,
        data={
            "request": "forget",
            "requested_by": requesters,
            "interactive": actor.interactive,
        },
    )
    return {
        "id": memory_id,
        "request": "forget",
        "status": "forgotten" if approve else "kept",
        "requested_by": requesters,
    }


def _decide_links(
    conn: object, memory_id: int, asks: list, approve: bool, actor: Actor
) -> dict[str, object]:
    """Link requests from unverified agents: approved, each becomes the link it asked for
    (in the requester's name); rejected, nothing is linked. Neither moves anyone's trust."""
    now = time.time()
    for ask in asks:
        if approve:
            conn.execute(
                "insert into links(source_id, target_id, relation, agent, created_at) "
                "values (?, ?, ?, ?, ?) on conflict do nothing",
                (memory_id, ask["target_id"], ask["reason"], ask["requested_by"], now),
            )
        conn.execute(
            "update reviews set status = ?, decided_by = ?, decided_at = ? where id = ?",
            ("approved" if approve else "rejected", actor.agent, now, ask["id"]),
        )
    requesters = sorted({a["requested_by"] for a in asks})
    audit.append(
        conn,
        actor=actor.agent,
        action="approve" if approve else "reject",
        memory_id=memory_id,
        data={"request": "link", "requested_by": requesters,
              "targets": [a["target_id"] for a in asks]},
    )  # fmt: skip
    return {
        "id": memory_id,
        "request": "link",
        "status": "linked" if approve else "not_linked",
        "requested_by": requesters,
    }


# ---- agents ---------------------------------------------------------------------------------


def agent_rows(store: MemoryStore, name: str | None = None) -> list[dict[str, object]]:
    now = time.time()
    with store.lock:
        sql = "select * from agents" + (" where name = ?" if name else "") + " order by name"
        rows = store.conn.execute(sql, (name,) if name else ()).fetchall()
    out = []
    for r in rows:
        t = beta.relax(agents._row_to_trust(r), now)
        out.append(
            {
                "name": r["name"],
                "trust": round(t.score, 4),
                "alpha": round(t.alpha, 3),
                "beta": round(t.beta, 3),
                "prior": [r["prior_alpha"], r["prior_beta"]],
                "writes": r["writes"],
                "quarantined": r["quarantined"],
                "distrusted": bool(r["distrusted"]),
                "client": r["client_name"],
                "first_seen": iso(r["first_seen"]),
                "last_seen": iso(r["last_seen"]),
            }
        )
    return out


def agent(store: MemoryStore, name: str) -> dict[str, object]:
    rows = agent_rows(store, name)
    if not rows:
        raise NotFound(f"no agent named {name!r}")
    info = rows[0]
    with store.lock:
        info["memories"] = dict(
            store.conn.execute(
                "select status, count(*) from memories where agent = ? group by status", (name,)
            )
        )
    return info


def set_trust(
    store: MemoryStore, name: str, trusted: bool, *, retro: bool = False, actor: Actor = HUMAN
) -> dict[str, object]:
    """`trust` forgives and raises; `distrust` sinks the agent (and with retro, its past)."""
    if name == HUMAN.agent:
        raise InvalidInput("the human user's trust is fixed")
    with store.transaction() as conn:
        if conn.execute("select 1 from agents where name = ?", (name,)).fetchone() is None:
            raise NotFound(f"no agent named {name!r}")
        before, after = agents.record(conn, name, "trusted" if trusted else "distrusted")
        conn.execute("update agents set distrusted = ? where name = ?", (int(not trusted), name))
        hidden = _quarantine_past(store, conn, name, actor) if retro and not trusted else 0
        audit.append(
            conn,
            actor=actor.agent,
            action="trust" if trusted else "distrust",
            data={
                "agent": name,
                "retro": retro,
                "hidden": hidden,
                "trust_before": round(before, 4),
                "trust_after": round(after, 4),
                "interactive": actor.interactive,
            },
        )
    return {"name": name, "trust": round(after, 4), "distrusted": not trusted, "hidden": hidden}


def _quarantine_past(store: MemoryStore, conn: object, name: str, actor: Actor) -> int:
    ids = [
        r[0]
        for r in conn.execute(
            "select id from memories where agent = ? and status in ('active', 'superseded')",
            (name,),
        )
    ]
    for mid in ids:
        why = "agent distrusted (retro)"
        lifecycle.set_status(store.backend, conn, mid, "quarantined", actor.agent, why)
    return len(ids)
