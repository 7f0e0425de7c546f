"""Read-only hybrid retrieval: keyword and vector candidates, session context, links.

The keyword half is the backend's (`Backend.keyword_scores`), the query text's chunking is
recall.query's, the scoring formulas are ranking.py's; this module blends them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mcp_memory.config import USER_AGENT
from mcp_memory.models import RecallHit
from mcp_memory.recall import anchors, ranking
from mcp_memory.recall.query import Scope, prune_common, query_chunks, scored_share
from mcp_memory.records import links_of, load_rows, memory_trust, to_hit
from mcp_memory.storage import backend_of, termstats
from mcp_memory.storage.driver import Connection

MAX_VECTOR_DISTANCE = 0.9  # cosine distance; beyond this MiniLM neighbours are noise
CANDIDATES_MIN = 100  # per retriever; deeper pools find more for context to work with
# Best candidates whose session neighbours are pulled in and scored. 50 -> 80 lifted LoCoMo
# conversations 0-4 (held-out 5-9 too); beyond ~120 nothing changes but the cost.
CONTEXT_SEEDS = 80
CONTEXT_WINDOW = 2  # ids either side that count as "written next to it"
CONTEXT_SECONDS = 6 * 3600  # ... and no further apart in time than this


def _bound(conn: Connection, scope: Scope) -> Scope:
    """The scope with the engine of `conn`: the caller may have built it without one."""
    return scope.on(backend_of(conn).kind)


def keyword_scores(
    conn: Connection, text: str, scope: Scope, n: int | None = None
) -> dict[int, float]:
    """Keyword matches as {id: score with the scope's idf} (higher is better), best first: the
    top n, or when n is None every match among the KEYWORD_DEPTH best. Each engine answers
    in its own full-text dialect (FTS5's bm25, PostgreSQL's tsvector) from the same chunks."""
    return backend_of(conn).keyword_scores(conn, text, scope, n)


def keyword_share(conn: Connection, text: str, scope: Scope) -> float:
    """How much of the query the keyword search scored (query.scored_share): the chunks it
    kept after pruning the too-common ones, weighed by their idf within the scope."""
    chunks = query_chunks(text)
    if not chunks:
        return 1.0
    counts = termstats.chunk_counts(conn, chunks, scope.projects)
    kept = prune_common(chunks, counts.everywhere)
    held = {c: termstats.idf(counts.here[c], counts.local) for c in chunks if counts.here[c]}
    return scored_share(chunks, kept, held)


def vector_scores(conn: Connection, vector: np.ndarray, scope: Scope, n: int) -> dict[int, float]:
    """KNN per partition (this project, then global), merged: {id: cosine similarity}, best
    first."""
    hits: list[tuple[float, int]] = []
    for project in scope.projects:
        hits += [
            h
            for h in backend_of(conn).knn(conn, vector, project, n, scope.kinds)
            if h[0] <= MAX_VECTOR_DISTANCE
        ]
    hits = sorted(hits)[:n]
    if scope.tags and hits:
        keep = set(_keep_visible(conn, [m for _, m in hits], scope))
        hits = [h for h in hits if h[1] in keep]
    return {mid: 1.0 - float(d) for d, mid in hits}


def similarities(
    conn: Connection, vector: np.ndarray, ids: Sequence[int], projects: Sequence[str] = ()
) -> dict[int, float]:
    """Cosine similarity of `vector` to the stored vectors of `ids` (no KNN)."""
    return backend_of(conn).cosines(conn, vector, ids, projects) if ids else {}


def _written_with(
    conn: Connection, ids: Sequence[int], scope: Scope, low: int, high: int
) -> list[tuple[int, int]]:
    """(id, other) for each visible memory of `ids` and each visible `other` among the ids
    id+low .. id+high written by the same agent, in the same project and session, within
    CONTEXT_SECONDS of it. One self-join walking the id key: no row is read into Python."""
    if not ids:
        return []
    scope = _bound(conn, scope)
    mine, mine_params = scope.sql("m")
    theirs, their_params = scope.sql("n")
    plus = "+" if scope.engine == "sqlite" else ""
    # SQLite: CROSS JOIN fixes the join order (m drives); PostgreSQL allows no ON with it
    join = "cross join" if scope.engine == "sqlite" else "join"
    cur = conn.cursor()
    cur.row_factory = None
    return cur.execute(
        f"""select m.id, n.id from memories m {join} memories n
              on n.id between m.id + ? and m.id + ? and n.id != m.id
             and {plus}n.agent = m.agent and {plus}n.session_id = m.session_id
             and {plus}n.project = m.project and abs(n.created_at - m.created_at) <= ?
            where m.id in ({",".join("?" * len(ids))}) and {mine} and {theirs}
            order by m.id, n.id""",
        [low, high, CONTEXT_SECONDS, *ids, *mine_params, *their_params],
    ).fetchall()


def session_neighbours(
    conn: Connection, ids: Sequence[int], scope: Scope, window: int = CONTEXT_WINDOW
) -> dict[int, list[int]]:
    """Visible memories written just before/after each of `ids` (within `window` ids) by the same
    agent, in the same project and session, within CONTEXT_SECONDS of it."""
    out: dict[int, list[int]] = {}
    for mid, other in _written_with(conn, ids, scope, -window, window):
        out.setdefault(mid, []).append(other)
    return out


def session_predecessors(
    conn: Connection, ids: Sequence[int], scope: Scope, window: int = CONTEXT_WINDOW
) -> dict[int, int]:
    """The memory written just before each of `ids` in its session (same rules as
    `session_neighbours`), where there is one."""
    return dict(_written_with(conn, ids, scope, -window, -1))  # ascending: the last one wins


def _keep_visible(conn: Connection, ids: list[int], scope: Scope) -> list[int]:
    sql, params = _bound(conn, scope).visible_sql(ids)
    keep = {r[0] for r in conn.execute(sql, params)}
    return [i for i in ids if i in keep]


def hybrid(
    conn: Connection,
    text: str,
    vector: np.ndarray | None,
    scope: Scope,
    *,
    limit: int,
    include_links: bool,
    root: Path,
    now: float | None = None,
) -> list[RecallHit]:
    relevance = relevance_scores(conn, text, vector, scope, limit)
    pool = sorted(relevance, key=relevance.__getitem__, reverse=True)[: limit * 2]
    rows = load_rows(conn, pool)
    scored = _score_rows(rows, relevance, root, now or time.time())
    if include_links:
        scored = _expand_links(conn, scored, rows, scope, root, now or time.time())
    top = sorted(scored.items(), key=lambda kv: kv[1][0], reverse=True)[:limit]
    link_map = links_of(conn, [mid for mid, _ in top])
    all_rows = {**rows, **load_rows(conn, [m for m, _ in top if m not in rows])}
    return [to_hit(all_rows[mid], s, stale, link_map[mid]) for mid, (s, stale) in top]


def relevance_scores(
    conn: Connection, text: str, vector: np.ndarray | None, scope: Scope, limit: int
) -> dict[int, float]:
    """Keyword and vector candidates blended by score, then lifted by their session context.

    Session context counts twice: a memory's vector similarity is read together with the
    memory written just before it in its session (a short reply means little without what it
    answers), and a memory written next to a strong match is lifted after the blend."""
    n = max(limit * 10, CANDIDATES_MIN)
    every_match = keyword_scores(conn, text, scope)
    keyword = dict(list(every_match.items())[:n])
    raw = vector_scores(conn, vector, scope, n) if vector is not None else {}
    semantic = _in_context(conn, vector, raw, scope)
    weights = ranking.Blend(keyword=ranking.BLEND_KEYWORD * keyword_share(conn, text, scope))
    own = ranking.blend(keyword, semantic, weights)
    if not own or ranking.CONTEXT_WEIGHT <= 0:
        return own
    seeds = sorted(own, key=own.__getitem__, reverse=True)[:CONTEXT_SEEDS]
    seed_nbrs = session_neighbours(conn, seeds, scope)
    extra = sorted({m for ns in seed_nbrs.values() for m in ns} - own.keys())
    if extra:  # neighbours are scored on their own merits; context lifts, it never admits alone
        keyword.update({m: every_match[m] for m in extra if m in every_match})
        if vector is not None:
            sims = similarities(
                conn, vector, [m for m in extra if m not in semantic], scope.projects
            )
            semantic.update({m: s for m, s in sims.items() if s >= 1.0 - MAX_VECTOR_DISTANCE})
        own = ranking.blend(keyword, semantic, weights)
    nbrs = {**session_neighbours(conn, extra, scope), **seed_nbrs}
    return ranking.with_context(own, nbrs)


def _in_context(
    conn: Connection, vector: np.ndarray | None, sims: dict[int, float], scope: Scope
) -> dict[int, float]:
    """The vector candidates' `sims`, each read with its predecessor in its session
    (ranking.with_predecessor). (Neighbours pulled in later are not: it changed nothing.)

    A predecessor's own similarity comes from the int8 vector cache when it is not a
    candidate itself (an exact read per id in SQL would cost more than the rest of this
    step)."""
    if vector is None or not sims:
        return dict(sims)
    before = session_predecessors(conn, list(sims), scope)
    missing = [p for p in before.values() if p not in sims]
    found = {**sims, **similarities(conn, vector, missing, scope.projects)}
    mixed = ranking.with_predecessor(sims, {m: found[p] for m, p in before.items() if p in found})
    return {m: s for m, s in mixed.items() if s >= 1.0 - MAX_VECTOR_DISTANCE}


def _score_rows(
    rows: dict[int, dict[str, object]], relevance: dict[int, float], root: Path, now: float
) -> dict[int, tuple[float, bool]]:
    out: dict[int, tuple[float, bool]] = {}
    for mid, row in rows.items():
        files = json.loads(str(row["files"]))
        stale = anchors.is_stale(files, root) if files else False
        age_days = (now - float(row["created_at"])) / 86400
        score = ranking.adjust(
            relevance[mid], trust=memory_trust(row), age_days=age_days, stale=stale
        )
        out[mid] = (score, stale)
    return out


def _vouched(conn: Connection, rows: dict[int, dict[str, object]]) -> set[tuple[int, int]]:
    """(result, neighbour) pairs whose link the result's side stands behind: made by the
    human, by the result's own author, or by an agent trusted at least as much as the result.

    A link rides on the result's relevance, so a less trusted agent linking its memory to a
    more trusted one would otherwise pull any text it likes into that memory's recall (issue
    16: an off-topic poison linked to a trusted note came back with it). Such a link is kept
    and shown among the result's links, but recall does not follow it."""
    if not rows:
        return set()
    marks = ",".join("?" * len(rows))
    found = conn.execute(
        f"""select l.source_id, l.target_id, l.agent,
                   coalesce(a.alpha / (a.alpha + a.beta), 0.5) as linker_trust
              from links l left join agents a on a.name = l.agent
             where l.source_id in ({marks}) or l.target_id in ({marks})""",
        [*rows, *rows],
    ).fetchall()
    out: set[tuple[int, int]] = set()
    for src, dst, linker, linker_trust in found:
        for mid, other in ((src, dst), (dst, src)):
            row = rows.get(mid)
            if row is not None and (
                linker in (USER_AGENT, row["agent"]) or float(linker_trust) >= memory_trust(row)
            ):
                out.add((mid, other))
    return out


def _expand_links(
    conn: Connection,
    scored: dict[int, tuple[float, bool]],
    rows: dict[int, dict[str, object]],
    scope: Scope,
    root: Path,
    now: float,
) -> dict[int, tuple[float, bool]]:
    """Pull in linked neighbours of the results, scored below the memory that links them;
    only along links the result's side vouches for (`_vouched`)."""
    neighbours: dict[int, float] = {}
    vouched = _vouched(conn, {mid: rows[mid] for mid in scored})
    for mid, refs in links_of(conn, list(scored)).items():
        for ref in refs:
            if ref.id not in scored and (mid, ref.id) in vouched:
                bonus = scored[mid][0] * ranking.LINK_FACTOR
                neighbours[ref.id] = max(neighbours.get(ref.id, 0.0), bonus)
    visible = set(_keep_visible(conn, list(neighbours), scope)) if neighbours else set()
    rows = load_rows(conn, list(visible))
    extra = _score_rows(rows, {m: neighbours[m] for m in rows}, root, now)
    return {**scored, **extra}
