"""MemoryStore: the only writer of memory rows, and the library's front door.

Every write embeds first (slow, no lock held), screens, then commits base row,
FTS (by trigger), vector, agent trust and audit entry in one BEGIN IMMEDIATE.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mcp_memory import audit, records, validation
from mcp_memory.config import Settings
from mcp_memory.embeddings import Embedder, ModelLoader
from mcp_memory.errors import InvalidInput, NotFound
from mcp_memory.models import (
    Actor,
    ForgetResult,
    LinkResult,
    MemoryRecord,
    RecallResult,
    RememberResult,
)
from mcp_memory.recall import anchors
from mcp_memory.recall import hybrid as search
from mcp_memory.storage import Backend, backend_of, open_backend
from mcp_memory.storage import driver as db
from mcp_memory.trust import agents

log = logging.getLogger("mcp_memory")
FORGET_OTHERS_MIN_TRUST = 0.8


@dataclass
class Verdict:
    """What screening decided about one write (the trust layer fills this in)."""

    status: str = "stored"  # stored | quarantined | rejected
    risk: float = 0.0
    reasons: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=lambda: ["clean_write"])


Screen = Callable[["MemoryStore", str, "np.ndarray | None", Actor, str, str], Verdict]


def allow_all(
    store: MemoryStore, text: str, vector: object, actor: Actor, source: str, project: str
) -> Verdict:
    return Verdict()


class MemoryStore:
    def __init__(
        self,
        conn: db.Connection,
        *,
        settings: Settings,
        loader: ModelLoader,
        screen: Screen | None = None,
        root: Path | None = None,
        backend: Backend | None = None,
    ) -> None:
        self.backend = backend if backend is not None else backend_of(conn)
        self.conn = conn
        self.settings = settings
        self.loader = loader
        self.screen: Screen = screen or allow_all
        self.root = root or Path.cwd()
        self.lock = threading.RLock()
        self._vector_model: str | None = None
        # the dedupe lookup must use the content_hash index, never project's or status's
        self._project = self.backend.unindexed("project")
        self._status = self.backend.unindexed("status")

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        settings: Settings | None = None,
        embedder: Embedder | None | bool = True,
        screen: Screen | None = None,
        root: Path | None = None,
        allow_download: bool = True,
    ) -> MemoryStore:
        """Open (and migrate) a store. embedder=True: load the configured model lazily;
        an Embedder: use it; None/False: keyword-only."""
        settings = settings or Settings.from_env()
        backend = open_backend(path or settings.db_path)
        backend.migrate()
        if embedder is True:
            loader = ModelLoader(
                settings.model_name,
                settings.model_dir,
                allow_download,
                quantize=settings.quantize,
                cache_dir=settings.cache_dir,
            )
        else:
            loader = ModelLoader.ready(embedder or None)
        if screen is None:
            from mcp_memory.trust.gate import (
                screen_write as screen,
            )  # trust layer; imported late to keep open cheap
        return cls(
            backend.conn,
            settings=settings,
            loader=loader,
            screen=screen,
            root=root,
            backend=backend,
        )

    def close(self) -> None:
        with self.lock:
            self.backend.close()

    @contextmanager
    def transaction(self) -> Iterator[db.Connection]:
        with self.backend.write_transaction(self.lock) as conn:
            yield conn

    # ---- vectors -------------------------------------------------------------------------

    def embedder(self) -> Embedder | None:
        """The loaded embedder, once its vector table matches it; None means keyword-only."""
        emb = self.loader.current()
        if emb is not None and self._vector_model != emb.name:
            self._ensure_vector_table(emb)
        return emb

    def _ensure_vector_table(self, emb: Embedder) -> None:
        """Create the vector index for this model; a different model drops it and re-embeds."""
        with self.transaction() as conn:
            meta = dict(
                conn.execute("select key, value from meta where key like 'embedding_%'").fetchall()
            )
            same = meta.get("embedding_model") == emb.name and meta.get("embedding_dim") == str(
                emb.dim
            )
            if not (same and self.backend.vector_index_exists(conn)):
                self.backend.create_vector_index(conn, emb.dim)
                conn.execute("update memories set embedding_model = null")
                for key, value in (("embedding_model", emb.name), ("embedding_dim", str(emb.dim))):
                    conn.execute(
                        "insert into meta(key, value) values (?, ?) "
                        "on conflict(key) do update set value = excluded.value",
                        (key, value),
                    )
        self._vector_model = emb.name

    def warm(self) -> int:
        """Ready vector search for the configured project and the global one before the
        first recall needs it; a server calls this once its model is loaded."""
        return self.backend.warm_vectors(list(dict.fromkeys([self.settings.project, ""])))

    def backfill(self, batch: int = 64, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Embed memories written while no model was loaded. Returns how many were filled."""
        emb = self.embedder()
        if emb is None:
            return 0
        done = 0
        while not should_stop():
            with self.lock:
                rows = self.conn.execute(
                    "select id, content from memories where embedding_model is null "
                    "and status != 'forgotten' order by id limit ?",
                    (batch,),
                ).fetchall()
            if not rows:
                return done
            vectors = emb.embed([r["content"] for r in rows])
            with self.transaction() as conn:
                for row, vec in zip(rows, vectors, strict=True):
                    self._put_vector(conn, row["id"], vec, emb.name)
            done += len(rows)
        return done

    def _put_vector(
        self, conn: db.Connection, memory_id: int, vector: np.ndarray, model: str
    ) -> None:
        row = conn.execute(
            "select project, status, kind, embedding_model from memories where id = ?", (memory_id,)
        ).fetchone()
        if row is None or row["embedding_model"] == model:
            return
        self.backend.put_vector(conn, memory_id, row["project"], row["status"], row["kind"], vector)
        conn.execute("update memories set embedding_model = ? where id = ?", (model, memory_id))

    def _embed(self, text: str) -> tuple[np.ndarray | None, str | None]:
        emb = self.embedder()
        if emb is None:
            return None, None
        return emb.embed([text])[0], emb.name

    # ---- writes --------------------------------------------------------------------------

    def remember(
        self,
        content: object,
        *,
        actor: Actor,
        kind: object = None,
        tags: object = None,
        project: object = None,
        source: object = None,
        files: object = None,
        supersedes: object = None,
        in_transaction: Callable[[db.Connection, int], None] | None = None,
    ) -> RememberResult:
        text = validation.content(content)
        kind_, tags_ = validation.kind(kind), validation.tags(tags)  # type: ignore[arg-type]
        project_ = self.settings.project if project is None else validation.project(project)
        source_ = "user" if actor.is_user and source is None else validation.source(source)
        files_ = validation.files(files)  # type: ignore[arg-type]
        old_id = None if supersedes is None else validation.memory_id(supersedes, "supersedes")
        vector, model = self._embed(text)
        verdict = self.screen(self, text, vector, actor, source_, project_)
        digest = records.content_hash(text)
        now = time.time()
        with self.transaction() as conn:
            t = agents.ensure(conn, actor, self.settings.trusted_agents, now)
            if verdict.status == "rejected":
                return self._record_rejection(conn, actor, digest, verdict, t.score)
            dup = conn.execute(
                f"select id from memories where content_hash = ? and {self._project} = ? "
                f"and {self._status} in ('active', 'quarantined') limit 1",
                (digest, project_),
            ).fetchone()
            if dup:
                if in_transaction is not None:
                    in_transaction(conn, dup[0])
                return RememberResult(
                    id=dup[0],
                    status="duplicate",
                    trust=round(t.score, 4),
                    reasons=["exact_duplicate"],
                )
            old = self._check_supersedes(conn, old_id, actor) if old_id else None
            status = "active" if verdict.status == "stored" else "quarantined"
            memory_id = self._insert(
                conn,
                text,
                kind_,
                tags_,
                project_,
                status,
                actor,
                source_,
                digest,
                t.score,
                verdict,
                files_,
                old_id,
                now,
            )
            if vector is not None and model is not None:
                self._put_vector(conn, memory_id, vector, model)
            if in_transaction is not None:  # extra provenance (e.g. file and line) commits with it
                in_transaction(conn, memory_id)
            reasons = list(verdict.reasons)
            if old is not None and status == "active":
                reasons += self._supersede(conn, old, memory_id, actor, t.score)
            elif old is not None:  # held for review: the older memory stays until approval
                reasons.append("supersede_after_review")
            for event in verdict.events:
                agents.record(conn, actor.agent, event, now)
            self._bump_counters(conn, actor.agent, status)
            audit.append(
                conn,
                actor=actor.agent,
                action="remember",
                memory_id=memory_id,
                data={
                    "content_hash": digest,
                    "status": verdict.status,
                    "source": source_,
                    "project": project_,
                    "kind": kind_,
                    "risk": round(verdict.risk, 4),
                    "reasons": verdict.reasons,
                    "client": actor.client_name,
                    "session": actor.session_id,
                    "supersedes": old_id,
                },
            )
        return RememberResult(
            id=memory_id,
            status=verdict.status,  # type: ignore[arg-type]
            trust=round(t.score * (1 - verdict.risk), 4),
            reasons=reasons,
        )

    def _insert(
        self,
        conn: db.Connection,
        text: str,
        kind: str,
        tags: list[str],
        project: str,
        status: str,
        actor: Actor,
        source: str,
        digest: str,
        agent_trust: float,
        verdict: Verdict,
        files: list[str],
        supersedes: int | None,
        now: float,
    ) -> int:
        return records.insert_row(conn, {
            "content": text, "keywords": records.keywords(text, tags, files), "kind": kind,
            "tags": json.dumps(tags), "project": project, "status": status,
            "agent": actor.agent, "client_name": actor.client_name,
            "client_version": actor.client_version, "session_id": actor.session_id,
            "source": source, "content_hash": digest, "trust": round(agent_trust, 4),
            "risk": round(verdict.risk, 4), "reasons": json.dumps(verdict.reasons),
            "files": json.dumps(anchors.anchor(files, self.root)), "supersedes": supersedes,
            "created_at": now, "updated_at": now,
        })  # fmt: skip

    def _record_rejection(
        self, conn: db.Connection, actor: Actor, digest: str, verdict: Verdict, score: float
    ) -> RememberResult:
        for event in verdict.events:
            agents.record(conn, actor.agent, event)
        audit.append(
            conn,
            actor=actor.agent,
            action="remember",
            data={"content_hash": digest, "status": "rejected", "reasons": verdict.reasons},
        )
        return RememberResult(id=None, status="rejected", trust=0.0, reasons=verdict.reasons)

    def _bump_counters(self, conn: db.Connection, agent: str, status: str) -> None:
        conn.execute(
            "update agents set writes = writes + 1, quarantined = quarantined + ? where name = ?",
            (int(status == "quarantined"), agent),
        )

    def _check_supersedes(self, conn: db.Connection, old_id: int, actor: Actor) -> db.sqlite3.Row:
        old = conn.execute(
            "select id, agent, status from memories where id = ?", (old_id,)
        ).fetchone()
        if old is None or old["status"] != "active":
            raise NotFound(f"supersedes: no visible memory with id {old_id}")
        return old

    def _supersede(
        self, conn: db.Connection, old: db.sqlite3.Row, new_id: int, actor: Actor, score: float
    ) -> list[str]:
        """Hide the older memory, unless it is someone else's and the writer is not trusted."""
        conn.execute(
            "insert into links(source_id, target_id, relation, agent, created_at) "
            "values (?, ?, 'supersedes', ?, ?) on conflict do nothing",
            (new_id, old["id"], actor.agent, time.time()),
        )
        if old["agent"] != actor.agent and not actor.is_user and score < FORGET_OTHERS_MIN_TRUST:
            return ["supersede_needs_review"]
        conn.execute("update memories set superseded_by = ? where id = ?", (new_id, old["id"]))
        self._set_status(conn, old["id"], "superseded", actor.agent, f"superseded by {new_id}")
        return []

    def _set_status(
        self, conn: db.Connection, memory_id: int, status: str, by: str, reason: str | None
    ) -> None:
        conn.execute(
            "update memories set status = ?, status_changed_by = ?, status_reason = ?, "
            "updated_at = ? where id = ?",
            (status, by, reason, time.time(), memory_id),
        )
        self.backend.set_vector_status(conn, memory_id, status)

    def forget(self, memory_id: object, *, actor: Actor, reason: str | None = None) -> ForgetResult:
        """Soft delete: hidden from recall, kept for audit and for real erasure later."""
        mid = validation.memory_id(memory_id)
        with self.transaction() as conn:
            return self.forget_in(conn, mid, actor=actor, reason=reason)

    def forget_in(
        self, conn: db.Connection, memory_id: int, *, actor: Actor, reason: str | None = None
    ) -> ForgetResult:
        """`forget` inside the caller's open write transaction (`self.transaction()`), so a
        caller's own changes (e.g. dropping file provenance) commit with the retirement or not
        at all. memory_id must already be validated."""
        mid = memory_id
        reason = (reason or "")[:500] or None
        row = conn.execute("select agent, status from memories where id = ?", (mid,)).fetchone()
        if row is None:
            raise NotFound(f"no memory with id {mid}")
        if row["status"] == "forgotten":
            return ForgetResult(id=mid, status="already_forgotten")
        own = row["agent"] == actor.agent or actor.is_user
        if not own:
            t = agents.current(conn, actor, self.settings.trusted_agents)
            agents.ensure(conn, actor, self.settings.trusted_agents, time.time())
            agents.record(conn, actor.agent, "forgot_other")
            if t.score < FORGET_OTHERS_MIN_TRUST:
                audit.append(
                    conn,
                    actor=actor.agent,
                    action="forget",
                    memory_id=mid,
                    data={"status": "pending_review", "reason_hash": records.hash_or_none(reason)},
                )
                self._request_review(conn, "forget", mid, None, actor.agent, reason)
                return ForgetResult(id=mid, status="pending_review")
        self._set_status(conn, mid, "forgotten", actor.agent, reason)
        audit.append(
            conn,
            actor=actor.agent,
            action="forget",
            memory_id=mid,
            data={
                "status": "forgotten",
                "reason_hash": records.hash_or_none(reason),
                "previous": row["status"],
            },
        )
        return ForgetResult(id=mid, status="forgotten")

    def _request_review(
        self,
        conn: db.Connection,
        kind: str,
        memory_id: int,
        target_id: int | None,
        agent: str,
        reason: str | None,
    ) -> None:
        conn.execute(
            "insert into reviews(kind, memory_id, target_id, requested_by, reason, "
            "created_at) values (?, ?, ?, ?, ?, ?)",
            (kind, memory_id, target_id, agent, reason, time.time()),
        )

    def link(
        self, source_id: object, target_id: object, relation: object, *, actor: Actor
    ) -> LinkResult:
        src = validation.memory_id(source_id, "source_id")
        dst = validation.memory_id(target_id, "target_id")
        rel = validation.relation(relation)
        if src == dst:
            raise InvalidInput("a memory cannot be linked to itself")
        with self.transaction() as conn:
            found = {
                r["id"]: r["status"]
                for r in conn.execute(
                    "select id, status from memories where id in (?, ?)", (src, dst)
                )
            }
            for mid in (src, dst):
                if found.get(mid) not in ("active", "superseded") and not (
                    actor.is_user and mid in found and found[mid] != "forgotten"
                ):
                    raise NotFound(f"no visible memory with id {mid} to link")
            agents.ensure(conn, actor, self.settings.trusted_agents, time.time())
            conn.execute(
                "insert into links(source_id, target_id, relation, agent, "
                "created_at) values (?, ?, ?, ?, ?) on conflict do nothing",
                (src, dst, rel, actor.agent, time.time()),
            )
            audit.append(
                conn,
                actor=actor.agent,
                action="link",
                memory_id=src,
                data={"target_id": dst, "relation": rel},
            )
        return LinkResult(source_id=src, target_id=dst, relation=rel)

    # ---- reads ---------------------------------------------------------------------------

    def recall(
        self,
        query: object,
        *,
        project: object = None,
        limit: object = 10,
        tags: object = None,
        kinds: object = None,
        include_links: bool = True,
    ) -> RecallResult:
        text = validation.query(query)
        n = validation.limit(limit)
        project_ = self.settings.project if project is None else validation.project(project)
        scope = search.Scope(
            projects=list(dict.fromkeys([project_, ""])),
            kinds=validation.kinds(kinds),
            tags=validation.tags(tags),
            engine=self.backend.kind,
        )  # type: ignore[arg-type]
        vector, _ = self._embed(text)
        with self.lock:
            hits = search.hybrid(
                self.conn, text, vector, scope, limit=n, include_links=include_links, root=self.root
            )
        return RecallResult(results=hits, mode="hybrid" if vector is not None else "keyword")

    def get(self, memory_id: object) -> MemoryRecord:
        mid = validation.memory_id(memory_id)
        with self.lock:
            row = self.conn.execute("select * from memories where id = ?", (mid,)).fetchone()
        if row is None:
            raise NotFound(f"no memory with id {mid}")
        return records.record_from_row(row)

    def iter_records(
        self, where: str = "1 = 1", params: tuple[object, ...] = ()
    ) -> Iterator[MemoryRecord]:
        with self.lock:
            rows = self.conn.execute(
                f"select * from memories where {where} order by id", params
            ).fetchall()
        for row in rows:
            yield records.record_from_row(row)

    def stats(self) -> dict[str, object]:
        with self.lock:
            counts = dict(
                self.conn.execute("select status, count(*) from memories group by status")
            )
            unembedded = self.conn.execute(
                "select count(*) from memories where embedding_model is null"
            ).fetchone()[0]
            n_agents = self.conn.execute("select count(*) from agents").fetchone()[0]
        return {"memories": counts, "unembedded": unembedded, "agents": n_agents}


