"""MemoryStore: the only writer of memory rows, and the library's front door.

Every write embeds first (slow, no lock held), screens, then commits base row,
FTS (by trigger), vector, agent trust and audit entry in one BEGIN IMMEDIATE.
Erasure, backups and the audit log are here too, as thin calls over their modules,
so a library user can do what the CLI does.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mcp_memory import audit, erasure, lifecycle, records, rescreen, validation
from mcp_memory import backup as backups
from mcp_memory.config import Settings
from mcp_memory.embeddings import Embedder, ModelLoader
from mcp_memory.errors import InvalidInput, NotFound
from mcp_memory.models import (
    HUMAN,
    Actor,
    ForgetResult,
    LinkResult,
    MemoryRecord,
    NewMemory,
    RecallResult,
    RememberResult,
    Verdict,
)
from mcp_memory.recall import anchors, elsewhere
from mcp_memory.recall import hybrid as search
from mcp_memory.storage import Backend, backend_of, open_backend
from mcp_memory.storage import driver as db
from mcp_memory.trust import agents, fields
from mcp_memory.vector_sync import VectorSync

if TYPE_CHECKING:  # the gate loads on the first write: a read never compiles its detectors
    from mcp_memory.trust.gate import Screen, ScreenContext

log = logging.getLogger("mcp_memory")
InTransaction = Callable[[db.Connection, int], None]


def allow_all(
    store: ScreenContext, text: str, vector: object, actor: Actor, source: str, project: str
) -> Verdict:
    """A screen that stores everything: for tests, benchmarks and trusted bulk loads."""
    return Verdict()


def screen_write(
    store: ScreenContext, text: str, vector: object, actor: Actor, source: str, project: str
) -> Verdict:
    """The trust gate (trust/gate.py), imported when a store first screens a write."""
    from mcp_memory.trust import gate

    return gate.screen_write(store, text, vector, actor, source, project)  # type: ignore[arg-type]


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
        self.vectors = VectorSync(conn, self.backend, self.lock, loader)
        # the dedupe lookup must use the content_hash index, never project's or status's
        self._project = self.backend.unindexed("project")
        self._status = self.backend.unindexed("status")

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        settings: Settings | None = None,
        embedder: Embedder | ModelLoader | None | bool = True,
        screen: Screen | None = None,
        root: Path | None = None,
        allow_download: bool = True,
    ) -> MemoryStore:
        """Open (and migrate) a store. embedder=True: load the configured model lazily; a
        ModelLoader (maybe loading already) or an Embedder: use it; None/False: keyword-only."""
        settings = settings or Settings.from_env()
        backend = open_backend(path or settings.db_path)
        backend.migrate()
        if isinstance(embedder, ModelLoader):
            loader = embedder
        elif embedder is True:
            loader = ModelLoader.for_settings(settings, allow_download=allow_download)
        else:
            loader = ModelLoader.ready(embedder or None)
        return cls(
            backend.conn,
            settings=settings,
            loader=loader,
            screen=screen or screen_write,
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
        return self.vectors.embedder()

    def warm(self) -> int:
        """Ready vector search for the configured project and the global one before the
        first recall needs it; a server calls this once its model is loaded."""
        return self.backend.warm_vectors(list(dict.fromkeys([self.settings.project, ""])))

    def backfill(
        self, batch: int = 64, should_stop: Callable[[], bool] = lambda: False, progress: Any = None
    ) -> int:
        """Embed rows written with no model, then screen them with meaning (rescreen.py);
        `progress(done, total)` hears each batch filled (mcp_memory/progress.py)."""
        filled = self.vectors.backfill(batch, should_stop, progress)
        rescreen.run(self, self.screen, batch)
        return filled

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
        in_transaction: InTransaction | None = None,
    ) -> RememberResult:
        """Validate, embed and screen before taking the lock (slow, read-only), then commit
        the row and everything that must agree with it in one write transaction.
        in_transaction(conn, id) runs inside it, for provenance the caller keeps."""
        new = self._validate(
            content, actor, kind=kind, tags=tags, project=project, source=source,
            files=files, supersedes=supersedes,
        )  # fmt: skip
        vector, model = self.vectors.embed(new.content)
        verdict = self.screen(self, fields.screened(new), vector, actor, new.source, new.project)
        now = time.time()
        with self.transaction() as conn:
            return self._commit(conn, new, verdict, (vector, model), now, in_transaction)

    def _validate(
        self, content: object, actor: Actor, *, kind: object, tags: object, project: object,
        source: object, files: object, supersedes: object,
    ) -> NewMemory:  # fmt: skip
        """Every argument checked in a fixed order, so the first bad one is the one reported."""
        text = validation.content(content)
        kind_, tags_ = validation.kind(kind), validation.tags(tags)  # type: ignore[arg-type]
        project_ = self.settings.project if project is None else validation.project(project)
        source_ = "user" if actor.is_user and source is None else validation.source(source)
        files_ = validation.files(files)  # type: ignore[arg-type]
        old_id = None if supersedes is None else validation.memory_id(supersedes, "supersedes")
        return NewMemory(
            content=text, actor=actor, kind=kind_, tags=tags_, project=project_, source=source_,
            files=files_, content_hash=records.content_hash(text), supersedes=old_id,
        )  # fmt: skip

    def _commit(
        self,
        conn: db.Connection,
        new: NewMemory,
        verdict: Verdict,
        embedded: tuple[np.ndarray | None, str | None],
        now: float,
        in_transaction: InTransaction | None,
    ) -> RememberResult:
        """The write transaction's body: rejection, duplicate, or a new row with its vector,
        supersede, trust events, counters and audit entry."""
        actor = new.actor
        t = agents.ensure(conn, actor, self.settings.trusted_agents, now)
        if verdict.status == "rejected":
            return self._record_rejection(conn, actor, new.content_hash, verdict, t.score)
        dup = self._duplicate_of(conn, new)
        if dup is not None:
            if in_transaction is not None:
                in_transaction(conn, dup)
            trust, why = round(t.score, 4), ["exact_duplicate"]
            return RememberResult(id=dup, status="duplicate", trust=trust, reasons=why)
        old = lifecycle.supersedable(conn, new.supersedes) if new.supersedes else None
        verdict = lifecycle.hold_supersede_of_others(old, actor, verdict, t.score)
        status = "active" if verdict.status == "stored" else "quarantined"
        memory_id = self._insert(conn, new, verdict, status, t.score, now)
        vector, model = embedded
        if vector is not None and model is not None:
            self.vectors.put(conn, memory_id, vector, model)
        rescreen.mark(conn, memory_id, actor, vector)
        if in_transaction is not None:  # extra provenance (e.g. file and line) commits with it
            in_transaction(conn, memory_id)
        reasons = list(verdict.reasons)
        if old is not None and status == "active":
            reasons += lifecycle.supersede(self.backend, conn, old, memory_id, actor, t.score)
        elif old is not None:  # held for review: the older memory stays until approval
            reasons.append("supersede_after_review")
        for event in verdict.events:  # a quarantine costs in proportion to its risk
            agents.record(conn, actor.agent, event, now, verdict.risk)
        self._bump_counters(conn, actor.agent, status)
        self._audit_remember(conn, new, verdict, memory_id)
        return RememberResult(
            id=memory_id,
            status=verdict.status,  # type: ignore[arg-type]
            trust=round(t.score * (1 - verdict.risk), 4),
            reasons=reasons,
        )

    def _duplicate_of(self, conn: db.Connection, new: NewMemory) -> int | None:
        """A visible memory with the same text in the same project (found by content_hash)."""
        row = conn.execute(
            f"select id from memories where content_hash = ? and {self._project} = ? "
            f"and {self._status} in ('active', 'quarantined') limit 1",
            (new.content_hash, new.project),
        ).fetchone()
        return None if row is None else int(row[0])

    def _insert(
        self,
        conn: db.Connection,
        new: NewMemory,
        verdict: Verdict,
        status: str,
        agent_trust: float,
        now: float,
    ) -> int:
        actor = new.actor
        return records.insert_row(conn, {
            "content": new.content, "keywords": records.keywords(new.content, new.tags, new.files),
            "kind": new.kind, "tags": json.dumps(new.tags), "project": new.project,
            "status": status, "agent": actor.agent, "client_name": actor.client_name,
            "client_version": actor.client_version, "session_id": actor.session_id,
            "source": new.source, "content_hash": new.content_hash,
            "trust": round(agent_trust, 4), "risk": round(verdict.risk, 4),
            "reasons": json.dumps(verdict.reasons),
            "files": json.dumps(anchors.anchor(new.files, self.root)),
            "supersedes": new.supersedes, "created_at": now, "updated_at": now,
        })  # fmt: skip

    def _audit_remember(
        self, conn: db.Connection, new: NewMemory, verdict: Verdict, memory_id: int
    ) -> None:
        who = new.actor
        audit.append(conn, actor=who.agent, action="remember", memory_id=memory_id, data={
            "content_hash": new.content_hash, "status": verdict.status, "source": new.source,
            "project": new.project, "kind": new.kind, "risk": round(verdict.risk, 4),
            "reasons": verdict.reasons, "client": who.client_name, "session": who.session_id,
            "supersedes": new.supersedes, "interactive": who.interactive if who.is_user else None,
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
        trusted = self.settings.trusted_agents
        return lifecycle.forget(
            self.backend, conn, memory_id, actor=actor, trusted_agents=trusted, reason=reason
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
            trusted = self.settings.trusted_agents
            return lifecycle.link(conn, src, dst, rel, actor=actor, trusted_agents=trusted)

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
        all_projects: bool = False,
    ) -> RecallResult:
        text = validation.query(query)
        n = validation.limit(limit)
        project_ = self.settings.project if project is None else validation.project(project)
        with self.lock:
            everywhere = elsewhere.all_projects(self.conn) if all_projects else []
        scope = search.Scope(
            projects=list(dict.fromkeys([project_, "", *everywhere])),
            kinds=validation.kinds(kinds),
            tags=validation.tags(tags),
            engine=self.backend.kind,
        )  # type: ignore[arg-type]
        vector, _ = self.vectors.embed(text)
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

    # ---- erasure, backups, the audit log: what the CLI's admin commands do --------------

    def erase_plan(
        self,
        *,
        id: int | None = None,  # noqa: A002 - matches erasure.plan and the CLI flag
        agent: str | None = None,
        project: str | None = None,
        match: str | None = None,
        since: str | float | None = None,
    ) -> erasure.ErasePlan:
        """Resolve exactly one selector to ids and row counts without writing: erasure cannot
        be undone, so a caller shows the plan (or checks it) before `erase`."""
        with self.lock:
            return erasure.plan(
                self.conn, id=id, agent=agent, project=project, match=match, since=since
            )

    def erase(
        self, plan: erasure.ErasePlan, *, actor: Actor = HUMAN, vacuum: bool = True
    ) -> erasure.Receipt:
        """Delete the planned memories for real (rows, index, vectors, links and the freed
        bytes), unlike `forget`, and return the receipt. vacuum=False skips VACUUM."""
        return erasure.execute(
            self.conn, self.lock, plan, actor=actor.agent, vacuum=vacuum,
            interactive=actor.interactive,
        )  # fmt: skip

    def backup(
        self, dest: str | Path, *, actor: Actor = HUMAN, overwrite: bool = False
    ) -> dict[str, Any]:
        """A consistent copy while writers keep going, fingerprinted in the audit log."""
        return backups.backup(
            self.conn, dest, lock=self.lock, actor=actor.agent, overwrite=overwrite
        )

    def audit_log(
        self,
        *,
        agent: str | None = None,
        since: str | float | None = None,
        action: str | None = None,
        limit: int | None = None,
        memory_id: int | None = None,
    ) -> list[audit.AuditEntry]:
        """Audit entries, oldest first; `limit` keeps the newest."""
        with self.lock:
            return audit.entries(
                self.conn, agent=agent, since=since, action=action, limit=limit,
                memory_id=memory_id,
            )  # fmt: skip

    def verify_audit(self) -> audit.VerifyResult:
        """Walk the hash chain end to end; the result names the first entry that does not hold."""
        with self.lock:
            return audit.verify(self.conn)
