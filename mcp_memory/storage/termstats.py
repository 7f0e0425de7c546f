"""How many memories of each project contain each index term, kept with every write.

FTS5's bm25 weighs a term by its rarity across the whole database: every project's memories.
A recall looks at one project (plus the global memories), and there a term can be worth far
less or far more. The project's own name, its main framework or the user's name may be in
half of its memories (rare elsewhere, so bm25 rates it highly: it is noise here), while a word
common in other projects may single out one memory here. `chunk_weights` turns these counts
into one factor per query chunk that swaps FTS5's database-wide idf for the scope's own.

Counts follow FTS5's own semantics: every row of `memories` counts, whatever its status (the
FTS index holds them all), so only inserting and deleting a row change them. Terms are what
FTS5 (porter unicode61 remove_diacritics 2) indexes, up to rare stemmer differences; both the
counts and the lookups use `index_terms`, so they always agree with each other.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from mcp_memory.storage.driver import Connection

TERMS_TABLE = "scope_terms"
SIZES_TABLE = "scope_sizes"
_INDEX_TOKEN = re.compile(r"[^\W_]+")
_STEM_MIN, _STEM_MAX = 3, 64  # FTS5's porter leaves shorter and longer tokens as they are
# Below this database-wide idf (a term in over ~45% of all memories) FTS5's own score for it
# is close to nothing; dividing by the floor keeps a phrase counted by such a term from
# getting a runaway factor.
GLOBAL_IDF_FLOOR = 0.1


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import snowballstemmer  # the same Porter algorithm as FTS5's `porter` tokenizer

    return snowballstemmer.stemmer("porter")


@lru_cache(maxsize=1 << 16)
def _stem(token: str) -> str:
    return token if not _STEM_MIN <= len(token) <= _STEM_MAX else _stemmer().stemWord(token)


def index_terms(text: str) -> list[str]:
    """The terms FTS5 (porter unicode61 remove_diacritics 2) stores for `text`, in order."""
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c)
    )
    return [_stem(t) for t in _INDEX_TOKEN.findall(plain)]


def terms_of(content: str, keywords: str) -> set[str]:
    """Distinct terms of one memory row, both FTS columns."""
    return set(index_terms(content)) | set(index_terms(keywords))


def add(conn: Connection, project: str, content: str, keywords: str) -> None:
    """Count a new memory row; call in the transaction that inserts it. The upserts name
    `<table>.docs`: a bare `docs` is ambiguous with `excluded.docs` on PostgreSQL."""
    conn.executemany(
        f"insert into {TERMS_TABLE}(term, project, docs) values (?, ?, 1) "
        f"on conflict(term, project) do update set docs = {TERMS_TABLE}.docs + 1",
        [(t, project) for t in terms_of(content, keywords)],
    )
    conn.execute(
        f"insert into {SIZES_TABLE}(project, docs) values (?, 1) "
        f"on conflict(project) do update set docs = {SIZES_TABLE}.docs + 1",
        (project,),
    )


def remove(conn: Connection, ids: Sequence[int]) -> None:
    """Uncount memory rows about to be deleted; a term no memory has any more is dropped."""
    rows = conn.execute(
        f"select project, content, keywords from memories where id in ({','.join('?' * len(ids))})",
        list(ids),
    ).fetchall()
    terms: Counter[tuple[str, str]] = Counter()
    sizes: Counter[str] = Counter()
    for project, content, keywords in rows:
        terms.update((t, project) for t in terms_of(content, keywords))
        sizes[project] += 1
    conn.executemany(
        f"update {TERMS_TABLE} set docs = docs - ? where term = ? and project = ?",
        [(n, t, p) for (t, p), n in terms.items()],
    )
    conn.executemany(
        f"delete from {TERMS_TABLE} where term = ? and project = ? and docs <= 0", list(terms)
    )
    conn.executemany(
        f"update {SIZES_TABLE} set docs = docs - ? where project = ?",
        [(n, p) for p, n in sizes.items()],
    )
    conn.execute(f"delete from {SIZES_TABLE} where docs <= 0")


def rebuild(conn: Connection) -> None:
    """Recount every memory row (the migration that adds the tables uses this)."""
    terms: Counter[tuple[str, str]] = Counter()
    sizes: Counter[str] = Counter()
    for project, content, keywords in conn.execute(
        "select project, content, keywords from memories"
    ):
        terms.update((t, project) for t in terms_of(content, keywords))
        sizes[project] += 1
    conn.execute(f"delete from {TERMS_TABLE}")
    conn.execute(f"delete from {SIZES_TABLE}")
    conn.executemany(
        f"insert into {TERMS_TABLE}(term, project, docs) values (?, ?, ?)",
        [(t, p, n) for (t, p), n in terms.items()],
    )
    conn.executemany(f"insert into {SIZES_TABLE}(project, docs) values (?, ?)", sizes.items())


def idf(docs: float, total: float) -> float:
    """FTS5's bm25 idf, with its floor for terms in more than half of the documents."""
    value = math.log((total - docs + 0.5) / (docs + 0.5)) if total > 0 else 0.0
    return value if value > 0 else 1e-6


@dataclass
class ChunkCounts:
    """How many memories hold each query chunk (by its rarest term, as FTS5 would count a
    phrase by the phrase: close enough for pruning and weights), in the whole database and
    in the scope, and how many memories each has."""

    everywhere: dict[str, int]
    here: dict[str, int]
    total: int
    local: int

    def present(self) -> set[str]:
        """The chunks some memory in scope holds; the others cannot match anything."""
        return {c for c, n in self.here.items() if n > 0}

    def weights(self, chunks: Iterable[str]) -> dict[str, float]:
        """Per chunk: its idf within the scope over its idf in the whole database.

        Multiplying a chunk's bm25 contribution by this factor gives bm25 with the scope's
        own idf."""
        return {
            c: idf(self.here[c], self.local)
            / max(idf(self.everywhere[c], self.total), GLOBAL_IDF_FLOOR)
            for c in chunks
        }


def chunk_counts(conn: Connection, chunks: Iterable[str], projects: Sequence[str]) -> ChunkCounts:
    terms = {c: index_terms(c) for c in chunks}
    wanted = sorted({t for ts in terms.values() for t in ts})
    df: dict[str, tuple[int, int]] = {}
    if wanted:
        marks, scope = ",".join("?" * len(wanted)), ",".join("?" * len(projects)) or "null"
        df = {
            r[0]: (int(r[1]), int(r[2]))
            for r in conn.execute(
                f"""select term, sum(docs),
                           sum(case when project in ({scope}) then docs else 0 end)
                    from {TERMS_TABLE} where term in ({marks}) group by term""",
                [*projects, *wanted],
            )
        }
    sizes = dict(conn.execute(f"select project, docs from {SIZES_TABLE}").fetchall())
    counts = {c: [df.get(t, (0, 0)) for t in ts] for c, ts in terms.items()}
    return ChunkCounts(
        everywhere={c: min((n[0] for n in ns), default=0) for c, ns in counts.items()},
        here={c: min((n[1] for n in ns), default=0) for c, ns in counts.items()},
        total=sum(sizes.values()),
        local=sum(sizes.get(p, 0) for p in set(projects)),
    )


def chunk_weights(
    conn: Connection, chunks: Iterable[str], projects: Sequence[str]
) -> dict[str, float]:
    """Per query chunk: its idf within `projects` over its idf in the whole database."""
    chunks = list(chunks)
    return chunk_counts(conn, chunks, projects).weights(chunks)
