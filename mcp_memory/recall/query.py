"""Turning recall text into keyword queries, engine-neutral and pure: no connection, no SQL run.

Both keyword engines start here: SQLite's FTS5 (storage/sqlite/fts.py) and PostgreSQL's
tsvector search (storage/postgres/search.py) split the text into the same chunks, prune the
same too-common ones and drop the same near-ubiquitous ones, so one recall ranks alike on
either engine. `Scope` is what a recall may see; it writes its own filter SQL for the engine
it is bound to. This module imports nothing of ours, so the storage engines can use it
without depending on the rest of recall.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

MAX_FTS_TERMS = 32
FTS_DOC_BUDGET = 2500  # documents bm25 may score per query (~1.1 us each; see prune_common)
KEYWORD_DEPTH = 300  # keyword matches kept per query, best first
MIN_CHUNK_WEIGHT = 0.01  # of the largest: a chunk in nearly every memory in scope is dropped
_CTRL = re.compile(r"[\x00-\x1f\x7f]")
_EDGE_PUNCT = re.compile(r"^[^\w]+|[^\w]+$")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)


def query_chunks(text: str, max_terms: int = MAX_FTS_TERMS) -> list[str]:
    """Whitespace chunks without edge punctuation or stopwords (unless that is all there is)."""
    chunks = [_EDGE_PUNCT.sub("", c) or c for c in _CTRL.sub(" ", text).split()]
    meaningful = [c for c in chunks if c.lower() not in STOPWORDS] or chunks
    return [c for c in dict.fromkeys(meaningful) if c.strip()][:max_terms]


def quote_chunks(chunks: Sequence[str]) -> str | None:
    """Quote every chunk so no user text is parsed as FTS5 syntax (`NOT`, `a:b`, `"`, `*`)."""
    quoted = ['"' + c.replace('"', '""') + '"' for c in chunks]
    return " OR ".join(quoted) if quoted else None


def fts_query(text: str, max_terms: int = MAX_FTS_TERMS) -> str | None:
    return quote_chunks(query_chunks(text, max_terms))


def prune_common(
    chunks: list[str], cost: Mapping[str, int], budget: int | None = None
) -> list[str]:
    """Keep the rarest chunks whose matches fit the budget (always at least one).

    bm25 is computed for every document matching any OR'ed term (~1.5 us each), so a
    term found in half a 100k corpus costs ~75 ms while adding almost nothing to the
    ranking (its idf is near zero). `cost` is each chunk's document count in the whole
    database (termstats.ChunkCounts.everywhere)."""
    budget = FTS_DOC_BUDGET if budget is None else budget
    keep: set[str] = set()
    spent = 0
    for chunk in sorted(chunks, key=cost.__getitem__):
        if keep and spent + cost[chunk] > budget:
            break
        keep.add(chunk)
        spent += cost[chunk]
    return [c for c in chunks if c in keep]


def significant(
    weights: Mapping[str, float], present: Collection[str] | None = None
) -> dict[str, float]:
    """The chunks worth scoring: those not found in nearly every memory in scope.

    The bar is set by the rarest chunk that some memory in scope holds (`present`): a word
    no memory holds matches nothing, and letting its idf set the bar dropped every word that
    does match ("database migrations" found nothing in a store whose one note says
    "migrations")."""
    held = [w for c, w in weights.items() if present is None or c in present]
    top = max(held or weights.values())
    return {c: w for c, w in weights.items() if w >= top * MIN_CHUNK_WEIGHT}


def scored_share(
    chunks: Sequence[str], scored: Collection[str], scope_idf: Mapping[str, float]
) -> float:
    """The share of the query's weight (idf within the scope, summed over the chunks some
    memory in scope holds) that the keyword search actually scored.

    On a large store `prune_common` keeps only the rarest chunks: "how is search tested?"
    is scored on "search" alone, and its best keyword match is then a note that names the
    subject twice, not one that answers the question. A keyword ranking of part of the
    question is worth that part of the keyword side's weight."""
    held = {c: scope_idf[c] for c in chunks if scope_idf.get(c, 0.0) > 0}
    total = sum(held.values())
    return sum(w for c, w in held.items() if c in scored) / total if total > 0 else 1.0


def keyword_depth(n: int | None) -> int:
    """How many keyword matches to rank for a caller that keeps `n` (None: all worth having)."""
    return KEYWORD_DEPTH if n is None else max(n * 4, n + 50)


@dataclass
class Scope:
    projects: list[str]
    kinds: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    engine: str = "sqlite"  # the backend's kind: the filter's SQL differs in two places

    def on(self, engine: str) -> Scope:
        """This scope for `engine`: the caller may have built it without one."""
        return self if self.engine == engine else replace(self, engine=engine)

    def sql(self, alias: str = "m") -> tuple[str, list[object]]:
        """A filter, never the driver: on SQLite the unary `+` keeps the planner from walking
        the (project, status) index over a whole project instead of probing the FTS hits or
        the id list it is paired with (23 ms vs 0.1 ms per call at 100k)."""
        plus = "+" if self.engine == "sqlite" else ""
        clauses = [f"{plus}{alias}.status = 'active'"]
        params: list[object] = []
        clauses.append(f"{plus}{alias}.project in ({','.join('?' * len(self.projects))})")
        params += self.projects
        if self.kinds:
            clauses.append(f"{plus}{alias}.kind in ({','.join('?' * len(self.kinds))})")
            params += self.kinds
        if self.tags:
            marks = ",".join("?" * len(self.tags))
            each = (
                f"json_each({alias}.tags)"
                if self.engine == "sqlite"
                else f"json_array_elements_text({alias}.tags::json) as t(value)"
            )
            clauses.append(f"exists (select 1 from {each} where value in ({marks}))")
            params += self.tags
        return " and ".join(clauses), params

    def visible_sql(self, ids: Sequence[int]) -> tuple[str, list[object]]:
        """The ids among `ids` this scope may see: one statement for the caller to run."""
        where, params = self.sql()
        marks = ",".join("?" * len(ids))
        return f"select m.id from memories m where m.id in ({marks}) and {where}", [
            *ids,
            *params,
        ]
