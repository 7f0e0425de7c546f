"""The trust layer's one step in the write path: detectors + writer trust -> Verdict.

Runs before the write transaction (it only reads), so a slow detector never
holds the database lock. It sees the store only through `ScreenContext`, the
five attributes it reads, so the trust layer never depends on the store.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

from mcp_memory import records
from mcp_memory.errors import SecretRejected
from mcp_memory.models import Actor, Verdict
from mcp_memory.trust import agents, beta, detectors
from mcp_memory.trust.contradiction import reason as contradiction_reason
from mcp_memory.trust.fields import content_of

if TYPE_CHECKING:
    from mcp_memory.config import Settings
    from mcp_memory.embeddings import Embedder, ModelLoader
    from mcp_memory.storage import Backend
    from mcp_memory.storage.driver import Connection


class ScreenContext(Protocol):
    """What screening reads of a store (a MemoryStore is one): the connection and the lock
    it is read under, the backend for the vector neighbours, the model loader for the
    semantic detector, and the settings for the trusted agents."""

    conn: Connection
    lock: threading.RLock
    backend: Backend
    loader: ModelLoader
    settings: Settings


# (context, text, vector or None, writer, source, project) -> Verdict. A custom screen
# receives the store itself as its context.
Screen = Callable[[ScreenContext, str, "np.ndarray | None", Actor, str, str], Verdict]

BURST_WINDOW_S = 600
BURST_LOOKBACK = 20  # latest writes of the agent compared against
BURST_SIMILARITY = 0.8  # word-set Jaccard at which two writes say the same thing
BURST_COUNT = 3
BURST_RISK = 0.3  # a stored near-copy is recalled with 70% of its writer's trust
STANDING_REASONS = frozenset({"low_agent_trust", "untrusted_source"})
CONTRADICTION_NEIGHBOURS = 5
SAME_SUBJECT_DISTANCE = 0.3  # MiniLM cosine distance: paraphrases sit well under this
TRUST_MARGIN = 0.1  # only a clearly more trusted memory is defended
CONTRADICTION_SEVERITY = 0.6  # above the store threshold of any agent short of trusted
_WORD = re.compile(r"\w+")
# 'user' writing without a terminal (a script, or an agent with a shell running the CLI) is
# screened as a known client would be: the name is the human's, but no person confirmed it.
UNCONFIRMED_USER_TRUST = beta.KNOWN_CLIENT_PRIOR[0] / sum(beta.KNOWN_CLIENT_PRIOR)

_semantic: dict[str, detectors.SemanticDetector] = {}
_semantic_lock = threading.Lock()


def _semantic_for(emb: Embedder) -> detectors.SemanticDetector:
    with _semantic_lock:
        if emb.name not in _semantic:
            _semantic[emb.name] = detectors.SemanticDetector(emb)
        return _semantic[emb.name]


def content_signals(
    store: ScreenContext, text: str, vector: np.ndarray | None
) -> list[detectors.Signal]:
    signals = detectors.scan(text)
    emb = store.loader.current()
    if vector is not None and emb is not None:
        semantic = _semantic_for(emb).check(vector)
        if semantic is not None:
            signals.append(semantic)
    return signals


def _shingles(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def near_duplicates(store: ScreenContext, text: str, actor: Actor, project: str) -> int:
    """How many of the agent's latest writes say nearly the same thing (flooding recall).

    Compares word sets with the agent's latest writes (not a vector scan), so its
    cost does not grow with the size of the store."""
    words = _shingles(content_of(text))
    if not words:
        return 0
    since = time.time() - BURST_WINDOW_S
    with store.lock:
        rows = store.conn.execute(
            "select content from memories where agent = ? and project = ? and created_at > ? "
            "order by created_at desc limit ?",
            (actor.agent, project, since, BURST_LOOKBACK),
        ).fetchall()
    similar = 0
    for (other,) in rows:
        theirs = _shingles(other)
        if theirs and len(words & theirs) / len(words | theirs) >= BURST_SIMILARITY:
            similar += 1
    return similar


def contradiction(
    store: ScreenContext,
    text: str,
    vector: np.ndarray | None,
    writer: float,
    actor: Actor,
    project: str,
) -> detectors.Signal | None:
    """A less trusted agent contradicting a more trusted memory on the same subject."""
    if vector is None or not store.backend.vector_index_exists(store.conn):
        return None
    with store.lock:
        near = store.backend.knn(store.conn, vector, project, CONTRADICTION_NEIGHBOURS)
        ids = [mid for dist, mid in near if dist <= SAME_SUBJECT_DISTANCE]
        rows = records.load_rows(store.conn, ids) if ids else {}
    for mid in ids:
        row = rows[mid]
        if row["agent"] == actor.agent or float(row["agent_trust"]) < writer + TRUST_MARGIN:
            continue
        why = contradiction_reason(content_of(text), str(row["content"]))
        if why:
            return detectors.Signal(
                family="contradiction",
                severity=CONTRADICTION_SEVERITY,
                evidence=f"memory #{mid} by {row['agent']}",
                detail=f"contradicts a more trusted memory on the same subject ({why})",
            )
    return None


def _events(decision: beta.Decision) -> list[str]:
    """Trust moves on what the content showed, never on the writer's standing alone: a write
    held only because its agent is already distrusted must not sink that agent further. A
    quarantine's cost is scaled by the write's risk where it is recorded (beta.sureness)."""
    content_reasons = set(decision.reasons) - STANDING_REASONS
    if decision.status == "quarantined":
        return ["quarantined"] if content_reasons else []
    return ["rejected_write"] if decision.status == "rejected" else ["clean_write"]


def screen_write(
    store: ScreenContext,
    text: str,
    vector: np.ndarray | None,
    actor: Actor,
    source: str,
    project: str,
) -> Verdict:
    signals = content_signals(store, text, vector)
    secrets = [s for s in signals if s.family == "secret"]
    if secrets:
        raise SecretRejected(
            "content looks like it contains a credential "
            f"({secrets[0].detail}); it was not stored. Remember where the secret lives "
            "(for example the environment variable name), never its value."
        )
    with store.lock:
        writer = agents.current(store.conn, actor, store.settings.trusted_agents)
    human = actor.is_user and actor.interactive  # only the person at a terminal skips screening
    score = writer.score if human or not actor.is_user else UNCONFIRMED_USER_TRUST
    if not human:
        found = contradiction(store, text, vector, score, actor, project)
        signals += [found] if found else []
    decision = beta.decide(signals, agent_trust=score, source=source, is_user=human)
    events = _events(decision)
    reasons = list(decision.reasons)
    if actor.is_user and not human and decision.status == "quarantined":
        reasons.append("no_terminal")  # tells the reviewer why the human's own write is held
    if any(sig.family == "contradiction" for sig in signals) and not human:
        events.append("contradiction")
    status, events = _scope_check(store, actor, project, decision.status, events, reasons)
    copies = 0 if human else near_duplicates(store, text, actor, project)
    risk = decision.risk
    if copies >= BURST_COUNT:
        status, risk, events = _flood(status, risk, events, copies)
        reasons.append("near_duplicate_burst")
    return Verdict(status=status, risk=risk, reasons=sorted(set(reasons)), events=events)


def _flood(
    status: str, risk: float, events: list[str], copies: int
) -> tuple[str, float, list[str]]:
    """Flooding costs the flood, not the writer for good: a near-copy earns no clean-write
    credit and, if stored, carries BURST_RISK so recall ranks it below the original (memory
    trust is scaled by risk). Every few copies cost a small `burst` event, which is
    unconfirmed evidence: clean writes forgive it, so an honest busy writer that repeats itself
    now and then recovers, while a flood with nothing else keeps paying."""
    events = [e for e in events if e != "clean_write"]
    if copies % BURST_COUNT == 0:
        events.append("burst")
    if status == "stored":
        risk = max(risk, BURST_RISK)
    return status, risk, events


def _scope_check(
    store: ScreenContext,
    actor: Actor,
    project: str,
    status: str,
    events: list[str],
    reasons: list[str],
) -> tuple[str, list[str]]:
    """A write outside the caller's own project (another project, or the global scope that
    every project recalls) is never silent: it only happens when the project is named, and it
    is marked `cross_project` on the memory, in the result and in the audit entry. From a
    caller that did not prove its name it waits for review; that is not evidence against the
    writer, so it earns no clean-write credit and costs no trust either."""
    if actor.is_user or project == store.settings.project:
        return status, events
    reasons.append("cross_project")
    if not actor.verified and status == "stored":
        return "quarantined", [e for e in events if e != "clean_write"]
    return status, events
