"""Keyword candidates on PostgreSQL: the FTS5 query of sqlite/fts.py, in tsvector terms.

Each query chunk (recall.query.query_chunks) becomes one `phraseto_tsquery`, passed as a parameter,
never as syntax, and the chunks are OR'ed, as the quoted-chunk OR query is in FTS5. Of the
tsquery builders, only `phraseto_tsquery` never raised on 38 hostile inputs (design doc §3.4):
`to_tsquery` parses operators, `websearch_to_tsquery` gives `-word` and `or` a meaning.

`ts_rank` has no idf: it would rank a memory matching one common word as high as one matching
a rare word. The score is therefore the sum, over chunks, of the chunk's idf within the
recall's scope (from termstats, the same counts the SQLite path uses) times its `ts_rank` with
length normalisation. That is bm25's shape: idf times a saturating, length-normalised tf.
Content weighs 1 and the derived keywords column 0.5, as the FTS5 column weights do.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence

from mcp_memory.recall.query import Scope, keyword_depth, prune_common, query_chunks, significant
from mcp_memory.storage import termstats
from mcp_memory.storage.postgres.facade import PgConnection

FTS_CONFIG = "english"
# The memory's tsvector, written with the row (insert_memory, the copy from SQLite): content
# weighs A, the derived keywords B.
FTS_EXPRESSION = (
    f"setweight(to_tsvector('{FTS_CONFIG}', ?), 'A') || "
    f"setweight(to_tsvector('{FTS_CONFIG}', ?), 'B')"
)
# ts_rank weights for {D, C, B, A}: content is written as A, keywords as B (insert_memory).
RANK_WEIGHTS = "{0,0,0.5,1}"
RANK_NORMALISATION = 1  # divide by 1 + log(document length), as bm25 damps long documents


def fold(text: str) -> str:
    """Accents off (NFKD without combining marks), so `cafe` finds `café` as it does in
    FTS5 with remove_diacritics; case is left to to_tsvector."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def scope_idf(counts: termstats.ChunkCounts, chunks: Sequence[str]) -> dict[str, float]:
    """Each chunk's idf within the scope: what bm25's idf would be if the scope were the
    whole database (FTS5 gets the database-wide idf for free and termstats rescales it; here
    it is the whole weight)."""
    return {c: termstats.idf(counts.here[c], counts.local) for c in chunks}


def keyword_candidates(
    conn: PgConnection,
    weighted: Mapping[str, float],
    where: str,
    params: Sequence[object],
    depth: int,
) -> dict[int, float]:
    """{id: score} of the memories matching any chunk within the scope filter `where` (on
    alias `m`), best first, at most `depth`. `weighted` maps each chunk to its idf."""
    chunks = [(fold(c), float(w)) for c, w in weighted.items() if c.strip()]
    if not chunks or depth <= 0:
        return {}
    # Each tsquery is built once, in a materialised CTE: written inline, a prepared (generic)
    # plan re-parses and re-stems every chunk for every matching row (20-25 ms against 8 ms
    # at 10k, same top 10 on 100 queries).
    # The matches come from a subquery behind `offset 0`, which the planner neither flattens
    # nor pushes the scope filter into: the GIN index is then the only way in, whatever the
    # planner believes about the scope. Filtered in one query, a table without statistics
    # (a bulk load before autovacuum's first pass) made it walk the whole project through
    # the (project, status) index and test every row (100,000 rows, 48 ms p50 at 100k). The
    # matches are bounded by prune_common (FTS_DOC_BUDGET, or the rarest chunk's count when
    # that is larger); the scope filters them after. (A materialised CTE fences too, but
    # copying the rows into it cost ~8 ms of 20 at 100k.)
    built = ", ".join(f"phraseto_tsquery('{FTS_CONFIG}', ?) as q{i}" for i in range(len(chunks)))
    match = " || ".join(f"q.q{i}" for i in range(len(chunks)))
    score = " + ".join(
        f"?::float8 * ts_rank('{RANK_WEIGHTS}', m.fts, q.q{i}, {RANK_NORMALISATION})"
        for i in range(len(chunks))
    )
    rows = conn.execute(
        f"""with q as materialized (select {built})
            select m.id, {score} as score from q cross join (
              select m.* from q cross join memories m where m.fts @@ ({match}) offset 0) m
            where {where}
            order by score desc, m.id limit ?""",
        [*[text for text, _ in chunks], *[weight for _, weight in chunks], *params, depth],
    )
    return {int(r[0]): float(r[1]) for r in rows}


def keyword_scores(
    conn: PgConnection,
    text: str,
    projects: Sequence[str],
    where: str,
    params: Sequence[object],
    depth: int,
) -> dict[int, float]:
    """sqlite/fts.keyword_scores on PostgreSQL: the same chunks, the same pruning of chunks
    too common to be worth scoring, the same dropping of chunks found nearly everywhere in
    scope; then one query (the per-chunk weights are part of the score, so no second path)."""
    chunks = query_chunks(text)
    if not chunks:
        return {}
    counts = termstats.chunk_counts(conn, chunks, projects)
    chunks = prune_common(chunks, counts.everywhere)
    used = significant(scope_idf(counts, chunks), counts.present())
    return keyword_candidates(conn, used, where, params, depth)


def scoped_keyword_scores(
    conn: PgConnection, text: str, scope: Scope, n: int | None = None
) -> dict[int, float]:
    """PostgresBackend.keyword_scores: `keyword_scores` within a recall's scope, best first,
    the top n (None: every match among the KEYWORD_DEPTH best)."""
    where, params = scope.sql()
    found = keyword_scores(conn, text, scope.projects, where, params, keyword_depth(n))
    return found if n is None else dict(list(found.items())[:n])
