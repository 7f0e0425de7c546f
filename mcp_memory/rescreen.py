"""No unscreened window: a write stored before a model loaded is screened again with meaning.

Without a vector the gate runs its rules alone: the semantic detector and the contradiction
check need the model. Such a write is marked (`memories.unscreened`); once the backfill has
given it a vector, the same gate runs again, and if a check that needs meaning now holds it,
it moves to quarantine with an audit entry, and its writer's trust takes the event it would
have taken at write time. The human's own writes at a terminal are never screened, so never
marked.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from mcp_memory import audit, lifecycle
from mcp_memory.config import UNVERIFIED_PREFIX
from mcp_memory.models import Actor
from mcp_memory.storage import driver as db
from mcp_memory.trust import agents

if TYPE_CHECKING:
    from mcp_memory.trust.gate import Screen, ScreenContext

MEANING_REASONS = frozenset({"semantic", "contradiction"})  # the checks a vector enables


def mark(conn: db.Connection, memory_id: int, actor: Actor, vector: np.ndarray | None) -> None:
    """Inside the write's transaction: remember that its meaning went unchecked."""
    if vector is None and not (actor.is_user and actor.interactive):
        conn.execute("update memories set unscreened = 1 where id = ?", (memory_id,))


def run(ctx: ScreenContext, screen: Screen, batch: int = 64) -> int:
    """Screen the marked memories again now that a model is loaded; returns how many of them
    went to quarantine. Each is screened outside the lock and settled in its own short
    write transaction, as a remember is."""
    emb = ctx.loader.current()
    if emb is None:
        return 0
    held = 0
    while True:
        with ctx.lock:
            rows = ctx.conn.execute(
                "select id, content, agent, client_name, client_version, session_id, source, "
                "project from memories where unscreened = 1 order by id limit ?",
                (batch,),
            ).fetchall()
        if not rows:
            return held
        vectors = [emb.embed([str(r["content"])])[0] for r in rows]  # alone, as remember does
        for row, vector in zip(rows, vectors, strict=True):
            held += _settle(ctx, screen, row, vector)


def _writer(row: object) -> Actor:
    agent = str(row["agent"])  # type: ignore[index]
    return Actor(
        agent=agent,
        client_name=str(row["client_name"] or ""),  # type: ignore[index]
        client_version=str(row["client_version"] or ""),  # type: ignore[index]
        session_id=str(row["session_id"] or ""),  # type: ignore[index]
        verified=not agent.startswith(UNVERIFIED_PREFIX),
        interactive=False,  # a human at a terminal is never marked
    )


def _settle(ctx: ScreenContext, screen: Screen, row: object, vector: np.ndarray) -> int:
    """One memory: clear its mark, and quarantine it if a check that needs meaning holds it."""
    actor = _writer(row)
    mid = int(row["id"])  # type: ignore[index]
    text, source, project = (str(row[k]) for k in ("content", "source", "project"))  # type: ignore[index]
    verdict = screen(ctx, text, vector, actor, source, project)
    found = sorted(set(verdict.reasons) & MEANING_REASONS)
    with ctx.backend.write_transaction(ctx.lock) as conn:
        now = conn.execute(
            "select status, reasons, unscreened from memories where id = ?", (mid,)
        ).fetchone()
        if now is None or not now["unscreened"]:
            return 0
        conn.execute("update memories set unscreened = 0 where id = ?", (mid,))
        if verdict.status != "quarantined" or not found or now["status"] != "active":
            return 0
        reasons = sorted({*json.loads(now["reasons"]), *verdict.reasons, "screened_again"})
        conn.execute(
            "update memories set reasons = ?, risk = ? where id = ?",
            (json.dumps(reasons), round(verdict.risk, 4), mid),
        )
        lifecycle.set_status(
            ctx.backend, conn, mid, "quarantined", "trust-layer", "screened again with meaning"
        )
        agents.record(conn, actor.agent, "quarantined", risk=verdict.risk)
        audit.append(
            conn,
            actor=actor.agent,
            action="quarantine",
            memory_id=mid,
            data={"by": "trust-layer", "cause": "screened_again", "reasons": found,
                  "risk": round(verdict.risk, 4)},
        )  # fmt: skip
    return 1
