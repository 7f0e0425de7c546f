"""What happens to a memory after it is written: status changes, supersede, forget, links.

These run inside a write transaction someone else opened (the store's, or the review
desk's), which is why they take the connection and the backend rather than the store:
the store and the review desk both change statuses, and neither should reach into the
other to do it. The rule they share: an agent may retire its own memories, but retiring
someone else's takes trust, otherwise it waits for a human. An unverified caller (no token)
never has that trust: whatever it asks about another agent's memory (forget, supersede,
link) waits for a human.
"""

from __future__ import annotations

import time
from dataclasses import replace

from mcp_memory import audit, records
from mcp_memory.errors import NotFound
from mcp_memory.models import Actor, ForgetResult, LinkResult, Verdict
from mcp_memory.storage import Backend
from mcp_memory.storage import driver as db
from mcp_memory.trust import agents

FORGET_OTHERS_MIN_TRUST = 0.8
REASON_MAX = 500


def set_status(
    backend: Backend,
    conn: db.Connection,
    memory_id: int,
    status: str,
    by: str,
    reason: str | None,
) -> None:
    """The row and its vector move together: recall filters vectors by status too."""
    conn.execute(
        "update memories set status = ?, status_changed_by = ?, status_reason = ?, "
        "updated_at = ? where id = ?",
        (status, by, reason, time.time(), memory_id),
    )
    backend.set_vector_status(conn, memory_id, status)


def supersedable(conn: db.Connection, old_id: int) -> db.sqlite3.Row:
    """Only an active memory can be superseded; anything else is as good as absent."""
    old = conn.execute("select id, agent, status from memories where id = ?", (old_id,)).fetchone()
    if old is None or old["status"] != "active":
        raise NotFound(f"supersedes: no visible memory with id {old_id}")
    return old


def supersede(
    backend: Backend,
    conn: db.Connection,
    old: db.sqlite3.Row,
    new_id: int,
    actor: Actor,
    score: float,
) -> list[str]:
    """Hide the older memory, unless it is someone else's and the writer is not trusted."""
    conn.execute(
        "insert into links(source_id, target_id, relation, agent, created_at) "
        "values (?, ?, 'supersedes', ?, ?) on conflict do nothing",
        (new_id, old["id"], actor.agent, time.time()),
    )
    if _others(old["agent"], actor) and (score < FORGET_OTHERS_MIN_TRUST or not actor.verified):
        return ["supersede_needs_review"]
    conn.execute("update memories set superseded_by = ? where id = ?", (new_id, old["id"]))
    set_status(backend, conn, old["id"], "superseded", actor.agent, f"superseded by {new_id}")
    return []


def _others(owner: str, actor: Actor) -> bool:
    """Whether a memory written by `owner` is someone else's to this actor (the human owns all)."""
    return owner != actor.agent and not actor.is_user


def hold_supersede_of_others(
    old: db.sqlite3.Row | None, actor: Actor, verdict: Verdict, score: float
) -> Verdict:
    """Superseding someone else's memory takes a verified writer trusted enough to forget it;
    otherwise the new write is held for review and the human's approval applies the supersede.
    Stored at once, both memories would be recalled with nothing in the review queue, so a
    claimed name or a middling agent could put its version beside the owner's unnoticed.
    Same trust events as the write had: asking costs nothing extra."""
    if old is None or verdict.status != "stored" or not _others(old["agent"], actor):
        return verdict
    if actor.verified and score >= FORGET_OTHERS_MIN_TRUST:
        return verdict
    why = "supersede_needs_review" if actor.verified else "unverified_supersede"
    return replace(verdict, status="quarantined", reasons=[*verdict.reasons, why])


def forget(
    backend: Backend,
    conn: db.Connection,
    memory_id: int,
    *,
    actor: Actor,
    trusted_agents: frozenset[str],
    reason: str | None = None,
) -> ForgetResult:
    """Soft delete of a validated id. Someone else's memory needs a trusted forgetter;
    an untrusted one files a review request instead, and the attempt costs it trust."""
    reason = (reason or "")[:REASON_MAX] or None
    row = conn.execute("select agent, status from memories where id = ?", (memory_id,)).fetchone()
    if row is None:
        raise NotFound(f"no memory with id {memory_id}")
    if row["status"] == "forgotten":
        return ForgetResult(id=memory_id, status="already_forgotten")
    if _others(row["agent"], actor):
        t = agents.current(conn, actor, trusted_agents)
        agents.ensure(conn, actor, trusted_agents, time.time())
        agents.record(conn, actor.agent, "forgot_other")
        if t.score < FORGET_OTHERS_MIN_TRUST or not actor.verified:
            _audit_forget(conn, actor, memory_id, reason, {"status": "pending_review"})
            request_review(conn, "forget", memory_id, None, actor.agent, reason)
            return ForgetResult(id=memory_id, status="pending_review")
    set_status(backend, conn, memory_id, "forgotten", actor.agent, reason)
    _audit_forget(
        conn, actor, memory_id, reason, {"status": "forgotten", "previous": row["status"]}
    )
    return ForgetResult(id=memory_id, status="forgotten")


def _audit_forget(
    conn: db.Connection,
    actor: Actor,
    memory_id: int,
    reason: str | None,
    data: dict[str, object],
) -> None:
    """The reason is free text an agent wrote: the chain keeps only its hash."""
    audit.append(
        conn,
        actor=actor.agent,
        action="forget",
        memory_id=memory_id,
        data={**data, "reason_hash": records.hash_or_none(reason)},
    )


def request_review(
    conn: db.Connection,
    kind: str,
    memory_id: int,
    target_id: int | None,
    agent: str,
    reason: str | None,
) -> None:
    """A request a human decides (review.decide): kind `forget` (memory_id, the caller's
    reason) or `link` (memory_id -> target_id, the relation in `reason`)."""
    conn.execute(
        "insert into reviews(kind, memory_id, target_id, requested_by, reason, "
        "created_at) values (?, ?, ?, ?, ?, ?)",
        (kind, memory_id, target_id, agent, reason, time.time()),
    )


def link(
    conn: db.Connection,
    src: int,
    dst: int,
    relation: str,
    *,
    actor: Actor,
    trusted_agents: frozenset[str],
) -> LinkResult:
    """Both ends must be visible to the linker: agents see active and superseded memories,
    the human also quarantined ones; nobody links a forgotten memory. An unverified caller
    touching another agent's memory files a review request instead of a link."""
    rows = conn.execute("select id, status, agent from memories where id in (?, ?)", (src, dst))
    found = {r["id"]: (r["status"], r["agent"]) for r in rows}
    for mid in (src, dst):
        status = found[mid][0] if mid in found else None
        if status not in ("active", "superseded") and not (
            actor.is_user and status not in (None, "forgotten")
        ):
            raise NotFound(f"no visible memory with id {mid} to link")
    agents.ensure(conn, actor, trusted_agents, time.time())
    if not actor.verified and any(_others(owner, actor) for _, owner in found.values()):
        request_review(conn, "link", src, dst, actor.agent, relation)
        data = {"target_id": dst, "relation": relation, "status": "pending_review"}
        audit.append(conn, actor=actor.agent, action="link", memory_id=src, data=data)
        return LinkResult(source_id=src, target_id=dst, relation=relation, status="pending_review")
    conn.execute(
        "insert into links(source_id, target_id, relation, agent, "
        "created_at) values (?, ?, ?, ?, ?) on conflict do nothing",
        (src, dst, relation, actor.agent, time.time()),
    )
    audit.append(
        conn,
        actor=actor.agent,
        action="link",
        memory_id=src,
        data={"target_id": dst, "relation": relation},
    )
    return LinkResult(source_id=src, target_id=dst, relation=relation)
