"""Row helpers: the one INSERT into memories, and rows turned into records and hits.

Store, erasure, import, ingest, review, the gate and the MCP resources all read
and write the same `memories` rows; keeping the helpers here (not in store.py or
the recall code) lets each of them depend on the rows without depending on one
another.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import datetime, timezone

from mcp_memory.models import LinkRef, MemoryRecord, RecallHit
from mcp_memory.storage import backend_of, termstats
from mcp_memory.storage.driver import Connection, sqlite3

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*[A-Za-z0-9]")
HIGH_WATER_KEY = "memory_id_high_water"


def content_hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_or_none(text: str | None) -> str | None:
    """Free text may be personal data: the append-only audit log keeps only its hash."""
    return content_hash(text) if text else None


def keywords(text: str, tags: list[str], files: list[str]) -> str:
    """Extra FTS text: camelCase and dotted identifiers split, tags and file names."""
    parts: list[str] = list(tags)
    for ident in set(_IDENT.findall(text)):
        pieces = [p for chunk in re.split(r"[._]", ident) for p in _CAMEL.split(chunk) if p]
        if len(pieces) > 1:
            parts.append(" ".join(pieces))
    parts += [re.sub(r"[/\\._-]+", " ", f) for f in files]
    return " ".join(parts)


def note_high_water(conn: Connection) -> None:
    """Remember the largest id ever used, before rows are erased: ids are never reused, or a
    new memory would inherit an erased one's audit history and other processes' caches."""
    conn.execute(
        "insert into meta(key, value) select ?, coalesce(max(id), 0) from memories where true "
        "on conflict(key) do update set value = case "
        "when cast(meta.value as integer) >= cast(excluded.value as integer) "
        "then cast(meta.value as integer) else cast(excluded.value as integer) end",
        (HIGH_WATER_KEY,),
    )


def next_id(conn: Connection) -> int:
    high = conn.execute("select value from meta where key = ?", (HIGH_WATER_KEY,)).fetchone()
    top = conn.execute("select coalesce(max(id), 0) from memories").fetchone()[0]
    return max(int(high[0]) if high else 0, int(top)) + 1


def insert_row(conn: Connection, values: dict[str, object]) -> int:
    """The one INSERT into memories (the backend keeps its full-text index in step,
    per-project term counts here); column names come from code."""
    if values.get("id") is None:
        values = {**values, "id": next_id(conn)}
    new_id = backend_of(conn).insert_memory(conn, values)
    termstats.add(
        conn,
        str(values.get("project") or ""),
        str(values["content"]),
        str(values.get("keywords") or ""),
    )
    return int(new_id)


def record_from_row(row: sqlite3.Row) -> MemoryRecord:
    return MemoryRecord(
        id=row["id"],
        content=row["content"],
        kind=row["kind"],
        tags=json.loads(row["tags"]),
        project=row["project"],
        status=row["status"],
        agent=row["agent"],
        client_name=row["client_name"],
        client_version=row["client_version"],
        session_id=row["session_id"],
        source=row["source"],
        content_hash=row["content_hash"],
        trust=row["trust"],
        risk=row["risk"],
        reasons=json.loads(row["reasons"]),
        files=json.loads(row["files"]),
        supersedes=row["supersedes"],
        superseded_by=row["superseded_by"],
        created_at=iso(row["created_at"]),
        updated_at=iso(row["updated_at"]),
        embedding_model=row["embedding_model"],
    )


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def load_rows(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, object]]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"""select m.*, coalesce(a.alpha / (a.alpha + a.beta), 0.5) as agent_trust
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
    """The writer's trust now, never above what it was when written (an imported line
    cannot borrow the live trust of the agent it claims), times the content's safety."""
    writer = min(float(row["agent_trust"]), float(row["trust"]))
    return round(writer * (1.0 - float(row["risk"])), 4)


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
