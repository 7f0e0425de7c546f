"""The trust layer's one step in the write path: detectors + writer trust -> Verdict.

Runs before the write transaction (it only reads), so a slow detector never
holds the database lock.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import numpy as np

from . import agents, detectors, search, trust
from .errors import SecretRejected
from .models import Actor

if TYPE_CHECKING:
    from .embeddings import Embedder
    from .store import MemoryStore, Verdict

BURST_WINDOW_S = 600
BURST_DISTANCE = 0.08  # cosine distance under which two writes say the same thing
BURST_COUNT = 3

_semantic: dict[str, detectors.SemanticDetector] = {}
_semantic_lock = threading.Lock()


def _semantic_for(emb: Embedder) -> detectors.SemanticDetector:
    with _semantic_lock:
        if emb.name not in _semantic:
            _semantic[emb.name] = detectors.SemanticDetector(emb)
        return _semantic[emb.name]


def content_signals(store: MemoryStore, text: str, vector: np.ndarray | None) -> list[detectors.Signal]:
    signals = detectors.scan(text)
    emb = store.loader.current()
    if vector is not None and emb is not None:
        semantic = _semantic_for(emb).check(vector)
        if semantic is not None:
            signals.append(semantic)
    return signals


def is_burst(store: MemoryStore, vector: np.ndarray | None, actor: Actor, project: str) -> bool:
    """Several near-copies from one agent in a short window: flooding recall with one claim."""
    if vector is None or not search.has_vectors(store.conn):
        return False
    since = time.time() - BURST_WINDOW_S
    with store.lock:
        rows = store.conn.execute(
            f"""select v.memory_id from {search.VEC_TABLE} v join memories m on m.id = v.memory_id
                where v.embedding match ? and k = 20 and v.project = ? and v.distance < ?
                  and m.agent = ? and m.created_at > ?""",
            (np.asarray(vector, np.float32).tobytes(), project, BURST_DISTANCE, actor.agent, since),
        ).fetchall()
    return len(rows) >= BURST_COUNT


def screen_write(store: MemoryStore, text: str, vector: np.ndarray | None, actor: Actor,
                 source: str, project: str) -> Verdict:
    from .store import Verdict

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
    decision = trust.decide(signals, agent_trust=writer.score, source=source, is_user=actor.is_user)
    events = {"stored": ["clean_write"], "quarantined": ["quarantined"],
              "rejected": ["rejected_write"]}[decision.status]
    reasons = list(decision.reasons)
    if not actor.is_user and is_burst(store, vector, actor, project):
        events.append("burst")
        reasons.append("near_duplicate_burst")
    return Verdict(status=decision.status, risk=decision.risk, reasons=sorted(set(reasons)),
                   events=events)
