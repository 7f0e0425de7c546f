"""Persist per-agent trust (the math lives in beta.py, pure)."""

from __future__ import annotations

import time

from mcp_memory.config import UNVERIFIED_PREFIX
from mcp_memory.models import Actor
from mcp_memory.storage.driver import Connection
from mcp_memory.trust import beta

_COLUMNS = "alpha, beta, prior_alpha, prior_beta, clean_credit, updated_at, unconfirmed"


def _row_to_trust(row: object) -> beta.AgentTrust:
    return beta.AgentTrust(
        alpha=row["alpha"],
        beta=row["beta"],
        prior_alpha=row["prior_alpha"],
        prior_beta=row["prior_beta"],
        clean_credit=row["clean_credit"],
        updated_at=row["updated_at"],
        unconfirmed=row["unconfirmed"],
    )


def get(conn: Connection, name: str) -> beta.AgentTrust | None:
    row = conn.execute(f"select {_COLUMNS} from agents where name = ?", (name,)).fetchone()
    return _row_to_trust(row) if row else None


def unverified_name(claimed: str) -> str:
    """The stored name of a caller that only claims `claimed`: marked, and so a row of its
    own (see config.UNVERIFIED_PREFIX). Claiming the mark itself does not stack it."""
    bare = claimed[len(UNVERIFIED_PREFIX) :] if claimed.startswith(UNVERIFIED_PREFIX) else claimed
    return (UNVERIFIED_PREFIX + bare)[:128]


def current(
    conn: Connection, actor: Actor, trusted: frozenset[str], now: float | None = None
) -> beta.AgentTrust:
    """The agent's trust relaxed to now; a new agent starts at its prior (nothing written).

    An unverified caller starts at the anonymous prior whatever it calls itself: a name
    anyone can claim vouches for nothing, so neither MCP_MEMORY_TRUSTED_AGENTS nor the
    known-client prior applies, and renaming yourself buys only another anonymous start."""
    now = now or time.time()
    found = get(conn, actor.agent)
    if found is None and not actor.verified:
        a, b = beta.ANONYMOUS_PRIOR
        return beta.AgentTrust(a, b, a, b, 0.0, now)
    if found is None:
        return beta.new_agent(
            actor.agent, now, trusted_agents=trusted, known_client=bool(actor.client_name)
        )
    return beta.relax(found, now)


def ensure(conn: Connection, actor: Actor, trusted: frozenset[str], now: float) -> beta.AgentTrust:
    """Create or touch the agent row; call inside the write transaction."""
    t = current(conn, actor, trusted, now)
    conn.execute(
        f"""insert into agents(name, {_COLUMNS}, first_seen, last_seen, client_name, client_version)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            on conflict(name) do update set last_seen = excluded.last_seen,
              client_name = excluded.client_name, client_version = excluded.client_version""",
        (
            actor.agent,
            t.alpha,
            t.beta,
            t.prior_alpha,
            t.prior_beta,
            t.clean_credit,
            t.updated_at,
            t.unconfirmed,
            now,
            now,
            actor.client_name,
            actor.client_version,
        ),
    )
    return t


def save(conn: Connection, name: str, t: beta.AgentTrust) -> None:
    conn.execute(
        "update agents set alpha = ?, beta = ?, clean_credit = ?, updated_at = ?, unconfirmed = ? "
        "where name = ?",
        (t.alpha, t.beta, t.clean_credit, t.updated_at, t.unconfirmed, name),
    )


def record(
    conn: Connection, name: str, event: str, now: float | None = None, risk: float | None = None
) -> tuple[float, float]:
    """Apply a trust event inside the caller's transaction; returns (before, after) scores.
    `risk`: the combined risk of the write the event is about, when there is one (a
    quarantine costs, and its review refunds or confirms, in proportion to it)."""
    now = now or time.time()
    t = get(conn, name)
    if t is None:
        return (0.0, 0.0)
    after = beta.apply(t, event, now, risk)
    save(conn, name, after)
    return (beta.relax(t, now).score, after.score)
