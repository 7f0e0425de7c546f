"""Read-only hybrid retrieval over SQLite: candidate SQL here, scoring in ranking.py."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import anchors, ranking, vectors
from .db import Connection
from .models import LinkRef, RecallHit

VEC_TABLE = vectors.VEC_TABLE
MAX_FTS_TERMS = 32
MAX_VECTOR_DISTANCE = 0.9  # cosine distance; beyond this MiniLM neighbours are noise
_CTRL = re.compile(r"[\x00-\x1f\x7f]")
_EDGE_PUNCT = re.compile(r"^[^\w]+|[^\w]+$")
STOPWORDS = frozenset(
    """a an and are as at be but by did do does for from had has have how i in is it its
    me my of on or our so that the their them then there these they this to was we were
    what when where which who whom why will with would you your""".split()
)


def fts_query(text: str, max_terms: int = MAX_FTS_TERMS) -> str | None:
    """Quote every chunk so no user text is parsed as FTS5 syntax (`NOT`, `a:b`, `"`, `*`)."""
    chunks = [_EDGE_PUNCT.sub("", c) or c for c in _CTRL.sub(" ", text).split()]
    meaningful = [c for c in chunks if c.lower() not in STOPWORDS] or chunks
    unique = list(dict.fromkeys(meaningful))[:max_terms]
    quoted = ['"' + c.replace('"', '""') + '"' for c in unique if c.strip()]
    return " OR ".join(quoted) if quoted else None


@dataclass
class Scope:
    projects: list[str]
    kinds: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    def sql(self, alias: str = "m") -> tuple[str, list[object]]:
        clauses = [f"{alias}.status = 'active'"]
        params: list[object] = []
        clauses.append(f"{alias}.project in ({','.join('?' * len(self.projects))})")
        params += self.projects
        if self.kinds:
            clauses.append(f"{alias}.kind in ({','.join('?' * len(self.kinds))})")
            params += self.kinds
        if self.tags:
            marks = ",".join("?" * len(self.tags))
            clauses.append(f"exists (select 1 from json_each({alias}.tags) where value in ({marks}))")
            params += self.tags
        return " and ".join(clauses), params


def keyword_candidates(conn: Connection, text: str, scope: Scope, n: int) -> list[int]:
    match = fts_query(text)
    if match is None:
        return []
    where, params = scope.sql()
    rows = conn.execute(
        f"""select m.id from memories_fts f join memories m on m.id = f.rowid
            where memories_fts match ? and {where}
            order by bm25(memories_fts, 1.0, 0.5) limit ?""",
        [match, *params, n],
    )
    return [r[0] for r in rows]


def has_vectors(conn: Connection) -> bool:
    return vectors.exists(conn)


def vector_candidates(conn: Connection, vector: np.ndarray, scope: Scope, n: int) -> list[int]:
    """KNN per partition (this project, then global), merged by distance."""
    hits: list[tuple[float, int]] = []
    for project in scope.projects:
        hits += [h for h in vectors.knn(conn, vector, project, n, scope.kinds)
                 if h[0] <= MAX_VECTOR_DISTANCE]
    ids = [mid for _, mid in sorted(hits)][:n]
    if scope.tags and ids:
        ids = _keep_visible(conn, ids, scope)
    return ids


def _keep_visible(conn: Connection, ids: list[int], scope: Scope) -> list[int]:
    where, params = scope.sql()
    marks = ",".join("?" * len(ids))
    rows = conn.execute(f"select m.id from memories m where m.id in ({marks}) and {where}", [*ids, *params])
    keep = {r[0] for r in rows}
    return [i for i in ids if i in keep]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def load_rows(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, object]]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"""select m.*, case when m.agent = 'user' then 1.0
                   else coalesce(a.alpha / (a.alpha + a.beta), 0.5) end as agent_trust
            from memories m left join agents a on a.name = m.agent where m.id in ({marks})""",
        list(ids),
    )
    return {r["id"]: dict(r) for r in rows}


def links_of(conn: Connection, ids: Sequence[int]) -> dict[int, list[LinkRef]]:
    """Links whose other end is visible: a quarantined memory never leaks through a link."""
    out: dict[int, list[LinkRef]] = {i: [] for i in ids}
    if not ids:
        return out
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"""select l.source_id, l.target_id, l.relation from links l
            join memories s on s.id = l.source_id join memories t on t.id = l.target_id
            where (l.source_id in ({marks}) or l.target_id in ({marks}))
              and s.status = 'active' and t.status = 'active'""",
        [*ids, *ids],
    )
    for src, dst, rel in rows:
        if src in out:
            out[src].append(LinkRef(id=dst, relation=rel, direction="out"))
        if dst in out:
            out[dst].append(LinkRef(id=src, relation=rel, direction="in"))
    return out


def memory_trust(row: dict[str, object]) -> float:
    return round(float(row["agent_trust"]) * (1.0 - float(row["risk"])), 4)


def to_hit(row: dict[str, object], score: float, stale: bool, links: list[LinkRef]) -> RecallHit:
    return RecallHit(
        id=int(row["id"]),
        content=str(row["content"]),
        score=round(score, 6),
        kind=str(row["kind"]),
        tags=json.loads(str(row["tags"])),
        agent=str(row["agent"]),
        source=str(row["source"]),
        trust=memory_trust(row),
        created_at=iso(float(row["created_at"])),
        stale=stale,
        project=str(row["project"]),
        links=links,
    )


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
    n = max(limit * 5, 50)
    keyword = keyword_candidates(conn, text, scope, n)
    semantic = vector_candidates(conn, vector, scope, n) if vector is not None else []
    relevance = ranking.fuse(keyword, semantic)
    pool = sorted(relevance, key=relevance.__getitem__, reverse=True)[: limit * 2]
    rows = load_rows(conn, pool)
    scored = _score_rows(rows, relevance, root, now or time.time())
    if include_links:
        scored = _expand_links(conn, scored, scope, root, now or time.time())
    top = sorted(scored.items(), key=lambda kv: kv[1][0], reverse=True)[:limit]
    link_map = links_of(conn, [mid for mid, _ in top])
    all_rows = {**rows, **load_rows(conn, [m for m, _ in top if m not in rows])}
    return [to_hit(all_rows[mid], s, stale, link_map[mid]) for mid, (s, stale) in top]


def _score_rows(
    rows: dict[int, dict[str, object]], relevance: dict[int, float], root: Path, now: float
) -> dict[int, tuple[float, bool]]:
    out: dict[int, tuple[float, bool]] = {}
    for mid, row in rows.items():
        files = json.loads(str(row["files"]))
        stale = anchors.is_stale(files, root) if files else False
        age_days = (now - float(row["created_at"])) / 86400
        score = ranking.adjust(relevance[mid], trust=memory_trust(row), age_days=age_days, stale=stale)
        out[mid] = (score, stale)
    return out


def _expand_links(
    conn: Connection, scored: dict[int, tuple[float, bool]], scope: Scope, root: Path, now: float
) -> dict[int, tuple[float, bool]]:
    """Pull in linked neighbours of the results, scored below the memory that links them."""
    neighbours: dict[int, float] = {}
    for mid, refs in links_of(conn, list(scored)).items():
        for ref in refs:
            if ref.id not in scored:
                bonus = scored[mid][0] * ranking.LINK_FACTOR
                neighbours[ref.id] = max(neighbours.get(ref.id, 0.0), bonus)
    visible = set(_keep_visible(conn, list(neighbours), scope)) if neighbours else set()
    rows = load_rows(conn, list(visible))
    extra = _score_rows(rows, {m: neighbours[m] for m in rows}, root, now)
    return {**scored, **extra}
