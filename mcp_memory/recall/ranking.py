"""Pure ranking: blend keyword and vector scores, then weigh by trust, age, staleness.

Kept free of SQL so any storage backend feeds it the same candidate lists.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Score blending (not RRF: a blend keeps how far ahead a strong keyword match is). Each side is
# scaled to its best candidate, so the top keyword match and the top semantic match both count
# 1.0: scaled by bm25's wide range against cosine's narrow one, one common word matched exactly
# used to outrank a clear semantic match. Chosen on LoCoMo conversations 0-4 (5-9 held out)
# and checked on the synthetic coding notes of benchmarks/scale_quality.py.
BLEND_KEYWORD = 1.0
BLEND_VECTOR = 0.7
SIMILARITY_FLOOR = 0.3  # MiniLM cosine at which the semantic scale starts: unrelated text
# A memory written next to a relevant one, by the same agent in the same session, shares its
# context ("why" next to "what"): it inherits this share of its best neighbour's relevance.
CONTEXT_WEIGHT = 0.5
# A memory's vector similarity is read with the memory written just before it in its session
# (same agent, project, session): a short reply ("yes, Redis") means little without what it
# answers. Chosen on LoCoMo conversations 0-4 (0.2-0.4 all helped; 5-9 held out).
PRECEDING_WEIGHT = 0.25
RECENCY_HALF_LIFE_DAYS = 90.0
RECENCY_FLOOR = 0.85  # age nudges ties; it never buries an exact answer
TRUST_FLOOR = 0.5  # a 0-trust memory keeps half its relevance (it is still shown, lower)
STALE_FACTOR = 0.7
LINK_FACTOR = 0.5  # a linked neighbour ranks below the memory that pulled it in


@dataclass(frozen=True)
class Blend:
    keyword: float = BLEND_KEYWORD
    vector: float = BLEND_VECTOR


def blend(
    keyword: Mapping[int, float], similarity: Mapping[int, float], w: Blend = Blend()
) -> dict[int, float]:
    """Weighted sum of keyword scores (higher is better, e.g. -bm25) scaled to the best one and
    cosine similarities scaled from SIMILARITY_FLOOR to the best one, in 0..1. Unlike RRF it
    keeps how far ahead a strong match is."""
    top = max((v for v in keyword.values() if v > 0), default=0.0)
    best = max(similarity.values(), default=0.0)
    span = best - SIMILARITY_FLOOR
    total = (w.keyword + w.vector) or 1.0
    out: dict[int, float] = {}
    for mid in dict.fromkeys([*keyword, *similarity]):
        kw = max(keyword.get(mid, 0.0), 0.0) / top if top else 0.0
        raw = similarity.get(mid, 0.0) - SIMILARITY_FLOOR
        sim = min(max(raw / span, 0.0), 1.0) if span > 0 else 0.0
        out[mid] = (w.keyword * kw + w.vector * sim) / total
    return out


def with_context(
    own: Mapping[int, float],
    neighbours: Mapping[int, Iterable[int]],
    weight: float = CONTEXT_WEIGHT,
) -> dict[int, float]:
    """Add `weight` x the best neighbour's own relevance, renormalised to 0..1.

    Only a neighbour's *own* score counts, so context never chains across a session."""
    out: dict[int, float] = {}
    for mid, score in own.items():
        best = max((own.get(n, 0.0) for n in neighbours.get(mid, ()) if n != mid), default=0.0)
        out[mid] = (score + weight * best) / (1 + weight)
    return out


def with_predecessor(
    similarity: Mapping[int, float],
    preceding: Mapping[int, float],
    weight: float = PRECEDING_WEIGHT,
) -> dict[int, float]:
    """(1 - weight) x a memory's own similarity + weight x its predecessor's own similarity.

    `preceding` maps a memory to the similarity of the memory written just before it in its
    session; a memory without one keeps its own. Only the predecessor's *own* similarity
    counts, so context never chains back through a session."""
    return {
        mid: (1 - weight) * sim + weight * preceding[mid] if mid in preceding else sim
        for mid, sim in similarity.items()
    }


def adjust(relevance: float, *, trust: float, age_days: float, stale: bool) -> float:
    recency = RECENCY_FLOOR + (1 - RECENCY_FLOOR) * math.exp(
        -max(age_days, 0) / RECENCY_HALF_LIFE_DAYS
    )
    trust_factor = TRUST_FLOOR + (1 - TRUST_FLOOR) * min(max(trust, 0.0), 1.0)
    return relevance * recency * trust_factor * (STALE_FACTOR if stale else 1.0)
