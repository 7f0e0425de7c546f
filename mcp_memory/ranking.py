"""Pure ranking: fuse keyword and vector candidate lists, then weigh by trust, age, staleness.

Kept free of SQL so any storage backend feeds it the same candidate lists.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

RRF_K = 60
KEYWORD_WEIGHT = 1.0
VECTOR_WEIGHT = 1.0
RECENCY_HALF_LIFE_DAYS = 90.0
RECENCY_FLOOR = 0.85  # age nudges ties; it never buries an exact answer
TRUST_FLOOR = 0.5  # a 0-trust memory keeps half its relevance (it is still shown, lower)
STALE_FACTOR = 0.7
LINK_FACTOR = 0.5  # a linked neighbour ranks below the memory that pulled it in


@dataclass(frozen=True)
class Weights:
    keyword: float = KEYWORD_WEIGHT
    vector: float = VECTOR_WEIGHT
    k: int = RRF_K


def fuse(keyword_ids: Sequence[int], vector_ids: Sequence[int], w: Weights = Weights()) -> dict[int, float]:
    """Reciprocal rank fusion, normalised so a memory first in both lists scores 1.0."""
    best = (w.keyword + w.vector) / (w.k + 1)
    scores: dict[int, float] = {}
    for weight, ids in ((w.keyword, keyword_ids), (w.vector, vector_ids)):
        for rank, mid in enumerate(ids, start=1):
            scores[mid] = scores.get(mid, 0.0) + weight / (w.k + rank)
    return {mid: s / best for mid, s in scores.items()}


def adjust(relevance: float, *, trust: float, age_days: float, stale: bool) -> float:
    recency = RECENCY_FLOOR + (1 - RECENCY_FLOOR) * math.exp(-max(age_days, 0) / RECENCY_HALF_LIFE_DAYS)
    trust_factor = TRUST_FLOOR + (1 - TRUST_FLOOR) * min(max(trust, 0.0), 1.0)
    return relevance * recency * trust_factor * (STALE_FACTOR if stale else 1.0)
