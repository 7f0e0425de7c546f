"""Keyword search on SQLite: FTS5's bm25, with each query chunk reweighted to the scope.

FTS5's bm25 rates a term by its rarity in the whole database; `termstats.chunk_weights`
rescales each query chunk to its rarity in the scope. When those factors are all alike
(one project, or projects alike) the ranking is FTS5's own: one OR query. Otherwise each
chunk is ranked alone and the weighted scores are summed, which is exactly how bm25 adds
up an OR query's terms. The chunking and pruning are recall.query's, shared with the
PostgreSQL engine.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping

from mcp_memory.recall.query import (
    Scope,
    keyword_depth,
    prune_common,
    query_chunks,
    quote_chunks,
    significant,
)
from mcp_memory.storage import termstats
from mcp_memory.storage.driver import Connection

# Chunk weights within this factor of each other are taken as equal: one OR query, FTS5's own
# ranking. Chosen on LoCoMo conversations 0-4 (R@10 0.746 at 1.05, 0.759 at 2, 0.758 at 3;
# held-out 5-9 flat at 0.69-0.70); wider also means fewer per-chunk queries.
UNIFORM_WEIGHTS = 2.0


def keyword_scores(
    conn: Connection, text: str, scope: Scope, n: int | None = None
) -> dict[int, float]:
    """Keyword matches as {id: bm25 with the scope's idf} (higher is better), best first: the
    top n, or when n is None every match among the KEYWORD_DEPTH best (further down, a keyword
    score is noise). Chunks in nearly every memory in scope are dropped.

    FTS5 ranks alone first (its rank-ordered LIMIT path) and only the survivors are joined
    for the scope filter, so a common term costs bm25 per match, not a row lookup each."""
    chunks = query_chunks(text)
    if not chunks:
        return {}
    counts = termstats.chunk_counts(conn, chunks, scope.projects)
    chunks = prune_common(chunks, counts.everywhere)
    depth = keyword_depth(n)
    used = significant(counts.weights(chunks), counts.present())
    if max(used.values()) <= min(used.values()) * UNIFORM_WEIGHTS:
        return _ranked_together(conn, used, scope, depth, n)
    return _ranked_apart(conn, used, scope, depth, n)


def _ranked_together(
    conn: Connection, used: Mapping[str, float], scope: Scope, depth: int, n: int | None
) -> dict[int, float]:
    """Weights alike: one OR query, ranked by FTS5 itself."""
    where, params = scope.sql()
    rows = conn.execute(
        f"""select m.id, f.rank from (
              select rowid, rank from memories_fts where memories_fts match ?
              order by rank limit ?) f
            join memories m on m.id = f.rowid where {where} order by f.rank limit ?""",
        [quote_chunks(list(used)), depth, *params, -1 if n is None else n],
    )
    return {r[0]: -float(r[1]) for r in rows}


def _ranked_apart(
    conn: Connection, used: Mapping[str, float], scope: Scope, depth: int, n: int | None
) -> dict[int, float]:
    """Weights differ: each chunk ranked alone, its bm25 times its weight, summed per memory."""
    summed: dict[int, float] = defaultdict(float)
    for chunk, weight in used.items():
        for rowid, rank in conn.execute(
            "select rowid, rank from memories_fts where memories_fts match ? order by rank limit ?",
            (quote_chunks([chunk]), depth),
        ):
            summed[rowid] -= weight * rank
    best = heapq.nlargest(depth, summed, key=summed.__getitem__)
    visible: set[int] = set()
    if best:
        sql, params = scope.visible_sql(best)
        visible = {r[0] for r in conn.execute(sql, params)}
    ranked = [m for m in best if m in visible]
    return {m: summed[m] for m in (ranked if n is None else ranked[:n])}
