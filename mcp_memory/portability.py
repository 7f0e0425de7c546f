"""Export and import lines: one memory with its provenance and outgoing links per line.

The line format is schemas/export-line.json. Import is the riskier half: a file is
an unauthenticated copy of someone's memory, so it is handled as untrusted input.

Import policy (what `mcp-memory import` promises):

- Every line is validated first (UTF-8, size, JSON, the schema, the same input checks
  as `remember`, content_hash against the content) and screened by the store's trust
  gate. A line with a credential is a bad line. If any line is bad nothing is written,
  unless skip_bad is set: then the good lines are imported and the bad ones reported.
- Screening does not believe the file. Every line is screened as the importer
  (SCREEN_AS, a client that announced itself but earned nothing) with source "file":
  a line that claims agent "user" is not waved through as the human. The original
  agent, client, session, source, created_at and content_hash are kept as provenance.
- A file can only make a memory more cautious, never less: the stored trust is the
  lower of the file's and the importer's, risk the higher, reasons the union, and a
  line the gate quarantines is quarantined even if the file says active.
- Ids: if none of the file's ids is taken, they are kept (a round trip into an empty
  database is exact). If any is taken, every imported memory gets a new id and links
  and supersedes are rewritten through the id map; nothing existing is overwritten.
- Content already present (same hash and project, any status) is skipped as a
  duplicate; its id stands in for the line's id in links. Re-importing a file is a no-op.
- Each line commits alone: the memory, its vector, its links and its `import` audit
  entry in one transaction. A link whose target comes later in the file is committed
  with the target; a link to a memory that is not in the file is dropped (with a note).
- Trust events are not recorded for the named agents: a file's attribution is a claim,
  and letting it move an agent's trust would let a crafted file frame an agent.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from mcp_memory import audit, validation
from mcp_memory.errors import InvalidInput, SecretRejected
from mcp_memory.models import HUMAN, Actor, MemoryRecord
from mcp_memory.records import content_hash, insert_row, keywords
from mcp_memory.storage import backend_of
from mcp_memory.storage import driver as db
from mcp_memory.store import MemoryStore, Verdict
from mcp_memory.trust import agents

EXPORT_VERSION = 1
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"  # also ./schemas at the repo root
MAX_LINE_BYTES = 512 * 1024  # 16 KiB of content fully \u-escaped plus 50 long paths still fits
MAX_MESSAGE_CHARS = 300
EMBED_BATCH = 64
SCREEN_AS = Actor(agent="import", client_name="mcp-memory-import")
SCREEN_SOURCE = "file"
SUPERSEDE_COLUMNS = ("supersedes", "superseded_by")


def export_line(store: MemoryStore, record: MemoryRecord) -> dict[str, object]:
    with store.lock:
        links = store.conn.execute(
            "select target_id, relation, agent from links where source_id = ? order by target_id",
            (record.id,),
        ).fetchall()
    line = record.model_dump(mode="json")
    line["links"] = [{"target_id": r[0], "relation": r[1], "agent": r[2]} for r in links]
    line["export_version"] = EXPORT_VERSION
    return line


# ---- report --------------------------------------------------------------------------------


@dataclass
class LineError:
    line: int
    message: str


@dataclass
class LineOutcome:
    line: int
    original_id: int
    id: int
    result: str  # imported | duplicate
    status: str  # the memory's status in this database
    reasons: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    lines: int = 0
    committed: bool = False
    id_policy: str = "kept"  # kept | remapped
    outcomes: list[LineOutcome] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        counts = {"imported": 0, "duplicate": 0, "quarantined": 0, "bad": len(self.errors)}
        for outcome in self.outcomes:
            counts[outcome.result] += 1
            held = outcome.result == "imported" and outcome.status == "quarantined"
            counts["quarantined"] += int(held)
        return counts

    def id_map(self) -> dict[int, int]:
        return {o.original_id: o.id for o in self.outcomes}

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "committed": self.committed,
            "lines": self.lines,
            "id_policy": self.id_policy,
            "counts": self.counts(),
            "id_map": {str(k): v for k, v in self.id_map().items()},
            "outcomes": [asdict(o) for o in self.outcomes],
            "errors": [asdict(e) for e in self.errors],
            "notes": self.notes,
        }


class LineProblem(Exception):
    """One line cannot be imported; the message is shown to the human with its line number."""


# ---- phase 1: read and validate ------------------------------------------------------------


@dataclass
class Incoming:
    """A validated line, normalised the way `remember` would store it."""

    line: int
    id: int
    text: str
    kind: str
    tags: list[str]
    project: str
    status: str
    agent: str
    client_name: str
    client_version: str
    session_id: str
    source: str
    digest: str
    trust: float
    risk: float
    reasons: list[str]
    files: list[dict[str, str]]
    supersedes: int | None
    superseded_by: int | None
    created_at: float
    updated_at: float
    links: list[tuple[int, str, str]]


@lru_cache(maxsize=1)
def line_validator() -> Draft202012Validator:
    """Built once: schemas/ holds the contract, the importer checks lines against it."""
    registry: Registry = Registry()
    for path in sorted(SCHEMA_DIR.rglob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
    root = json.loads((SCHEMA_DIR / "export-line.json").read_text(encoding="utf-8"))
    return Draft202012Validator(root, registry=registry)


def read_lines(fh: IO[bytes]) -> Iterator[bytes]:
    """Binary lines, each cut at MAX_LINE_BYTES + 1: one huge line must not fill memory."""
    while True:
        chunk = fh.readline(MAX_LINE_BYTES + 1)
        if not chunk:
            return
        if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
            while (rest := fh.readline(1 << 16)) and not rest.endswith(b"\n"):
                pass
        yield chunk


def _short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def _decode(raw: str | bytes, number: int) -> str:
    if isinstance(raw, bytes):
        if len(raw.rstrip(b"\r\n")) > MAX_LINE_BYTES:
            raise LineProblem(f"line is longer than {MAX_LINE_BYTES} bytes")
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LineProblem(f"not valid UTF-8 (byte {exc.start + 1})") from exc
    elif len(raw) > MAX_LINE_BYTES:
        raise LineProblem(f"line is longer than {MAX_LINE_BYTES} characters")
    return raw.lstrip("\ufeff") if number == 1 else raw


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _load_json(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise LineProblem(f"not valid JSON: {exc.msg} at column {exc.colno}") from exc
    except ValueError as exc:
        raise LineProblem(f"not valid JSON: {exc}") from exc


def _schema_problem(error: ValidationError) -> str:
    """jsonschema quotes the whole value; a 16 KB content would bury the reason."""
    where = "/".join(str(p) for p in error.absolute_path) or "line"
    message = f"{where}: {error.message}"
    if len(message) > MAX_MESSAGE_CHARS:
        message = f"{where}: fails {error.validator} {json.dumps(error.validator_value)[:80]}"
    return _short(message)


def _timestamp(value: str, name: str) -> float:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise LineProblem(f"{name}: not an ISO date-time: {value[:40]!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _incoming(obj: dict[str, Any], number: int) -> Incoming:
    """The same checks `remember` applies, so an import cannot store what a write could not."""
    try:
        text = validation.content(obj["content"])
        tags = validation.tags(obj["tags"])
        kind = validation.kind(obj["kind"])
        project = validation.project(obj["project"])
        validation.files([a["path"] for a in obj["files"]])
    except InvalidInput as exc:
        raise LineProblem(_short(str(exc))) from exc
    digest = content_hash(text)
    if digest != obj["content_hash"]:
        raise LineProblem("content_hash does not match content (edited or corrupted line)")
    return Incoming(
        line=number,
        id=obj["id"],
        text=text,
        kind=kind,
        tags=tags,
        project=project,
        status=obj["status"],
        agent=obj["agent"],
        client_name=obj["client_name"],
        client_version=obj["client_version"],
        session_id=obj["session_id"],
        source=obj["source"],
        digest=digest,
        trust=float(obj["trust"]),
        risk=float(obj["risk"]),
        reasons=list(obj["reasons"]),
        files=list(obj["files"]),
        supersedes=obj["supersedes"],
        superseded_by=obj["superseded_by"],
        created_at=_timestamp(obj["created_at"], "created_at"),
        updated_at=_timestamp(obj["updated_at"], "updated_at"),
        links=[(link["target_id"], link["relation"], link["agent"]) for link in obj["links"]],
    )


def parse_line(raw: str | bytes, number: int) -> Incoming | None:
    """A validated line, or None for a blank one; raises LineProblem with the reason."""
    text = _decode(raw, number)
    if not text.strip():
        return None
    obj = _load_json(text)
    error = best_match(line_validator().iter_errors(obj))
    if error is not None:
        raise LineProblem(_schema_problem(error))
    return _incoming(obj, number)


def parse_all(lines: Iterable[str | bytes], report: ImportReport) -> list[Incoming]:
    found: list[Incoming] = []
    first_seen: dict[int, int] = {}
    for number, raw in enumerate(lines, start=1):
        try:
            item = parse_line(raw, number)
        except LineProblem as exc:
            report.lines += 1
            report.errors.append(LineError(number, str(exc)))
            continue
        if item is None:
            continue
        report.lines += 1
        if item.id in first_seen:
            report.errors.append(
                LineError(number, f"id {item.id} already used on line {first_seen[item.id]}")
            )
            continue
        first_seen[item.id] = number
        found.append(item)
    return found


# ---- phase 2: embed and screen -------------------------------------------------------------


@dataclass
class Screened:
    item: Incoming
    verdict: Verdict
    vector: Any = None


def _embed(store: MemoryStore, items: list[Incoming]) -> tuple[list[Any], str | None]:
    """Forgotten memories get no vector (backfill skips them too); the rest do if a model is up."""
    emb = store.embedder()
    if emb is None:
        return [None] * len(items), None
    wanted = [i for i, item in enumerate(items) if item.status != "forgotten"]
    out: list[Any] = [None] * len(items)
    for start in range(0, len(wanted), EMBED_BATCH):
        batch = wanted[start : start + EMBED_BATCH]
        for index, vec in zip(batch, emb.embed([items[i].text for i in batch]), strict=True):
            out[index] = vec
    return out, emb.name


def screen_all(
    store: MemoryStore, items: list[Incoming], report: ImportReport
) -> tuple[list[Screened], str | None]:
    """Before any write: embedding is slow and the gate only reads, so no lock is held."""
    vecs, model = _embed(store, items)
    kept: list[Screened] = []
    for item, vec in zip(items, vecs, strict=True):
        try:
            verdict = store.screen(store, item.text, vec, SCREEN_AS, SCREEN_SOURCE, item.project)
        except SecretRejected as exc:
            report.errors.append(LineError(item.line, _short(f"rejected: {exc}")))
            continue
        if verdict.status == "rejected":
            reasons = ", ".join(verdict.reasons) or "trust gate"
            report.errors.append(LineError(item.line, f"rejected by the trust gate ({reasons})"))
            continue
        kept.append(Screened(item, verdict, vec))
    return kept, model


# ---- phase 3: commit, one transaction per line ---------------------------------------------


Waiting = list[tuple[int, tuple[Any, ...]]]  # (file id the entry waits for, entry)


@dataclass
class Commit:
    """State shared across the per-line transactions of one import.

    It changes only after a line's transaction commits (settle), so a line that
    rolls back leaves no id, link or fix-up behind that points at a missing row.
    """

    actor: Actor
    keep_ids: bool
    model: str | None
    screen_trust: float
    in_file: set[int]
    id_map: dict[int, int] = field(default_factory=dict)
    new_ids: set[int] = field(default_factory=set)
    pending_links: dict[int, list[tuple[Any, ...]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    pending_columns: dict[int, list[tuple[Any, ...]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def settle(
        self, file_id: int, this_id: int, *, is_new: bool, links: Waiting, columns: Waiting
    ) -> None:
        self.id_map[file_id] = this_id
        if is_new:
            self.new_ids.add(this_id)
        self.pending_links.pop(file_id, None)
        self.pending_columns.pop(file_id, None)
        for waits_for, entry in links:
            self.pending_links[waits_for].append(entry)
        for waits_for, entry in columns:
            self.pending_columns[waits_for].append(entry)


def _ids_free(store: MemoryStore, ids: list[int]) -> bool:
    fragment, param = store.backend.id_list(ids)
    with store.lock:
        row = store.conn.execute(
            f"select count(*) from memories where id in {fragment}", (param,)
        ).fetchone()
    return row[0] == 0


def _screen_trust(store: MemoryStore) -> float:
    with store.lock:
        return agents.current(store.conn, SCREEN_AS, store.settings.trusted_agents).score


def _final_status(item: Incoming, verdict: Verdict) -> str:
    """A file can only make a memory more hidden: whatever the gate holds stays held,
    unless the file already says it is gone (forgotten) or refused (rejected)."""
    if verdict.status == "quarantined" and item.status not in ("forgotten", "rejected"):
        return "quarantined"
    return item.status


def _insert(conn: db.Connection, s: Screened, status: str, ctx: Commit) -> int:
    item, verdict = s.item, s.verdict
    wanted = item.id if ctx.keep_ids else None
    if (
        wanted is not None
        and conn.execute("select 1 from memories where id = ?", (wanted,)).fetchone()
    ):
        wanted = None  # taken by a concurrent writer since the plan: remap this one line
    reasons = sorted(set(item.reasons) | set(verdict.reasons))
    changed_by, why = ("import", "quarantined on import") if status != item.status else (None, None)
    return insert_row(conn, {
        "id": wanted, "content": item.text,
        "keywords": keywords(item.text, item.tags, [f["path"] for f in item.files]),
        "kind": item.kind, "tags": json.dumps(item.tags), "project": item.project,
        "status": status, "agent": item.agent, "client_name": item.client_name,
        "client_version": item.client_version, "session_id": item.session_id,
        "source": item.source, "content_hash": item.digest,
        "trust": round(min(item.trust, ctx.screen_trust), 4),
        "risk": round(max(item.risk, verdict.risk), 4), "reasons": json.dumps(reasons),
        "files": json.dumps(item.files), "created_at": item.created_at,
        "updated_at": item.updated_at, "status_changed_by": changed_by, "status_reason": why,
    })  # fmt: skip


def _put_link(conn: db.Connection, src: int, dst: int, relation: str, agent: str) -> None:
    if src != dst:
        conn.execute(
            "insert into links(source_id, target_id, relation, agent, "
            "created_at) values (?, ?, ?, ?, ?) on conflict do nothing",
            (src, dst, relation, agent, time.time()),
        )


def _wire_links(
    conn: db.Connection, item: Incoming, this_id: int, ctx: Commit, *, is_new: bool
) -> Waiting:
    """Links whose other end is here commit now; the rest wait for that end's line.

    A link between two memories that were already here is not added: the file
    may add to what it brings, not rewire what the database already had.
    """
    later: Waiting = []
    for target, relation, agent in item.links:
        if target in ctx.id_map:
            other = ctx.id_map[target]
            if is_new or other in ctx.new_ids:
                _put_link(conn, this_id, other, relation, agent)
        elif target in ctx.in_file:
            later.append((target, (this_id, relation, agent)))
    for source, relation, agent in ctx.pending_links.get(item.id, ()):
        if is_new or source in ctx.new_ids:
            _put_link(conn, source, this_id, relation, agent)
    return later


def _wire_columns(
    conn: db.Connection, item: Incoming, this_id: int, ctx: Commit, *, is_new: bool
) -> Waiting:
    """supersedes/superseded_by are foreign keys: each is set once both rows exist.

    A duplicate's own columns are left alone: the existing memory is not the file's to change.
    """
    later: Waiting = []
    for column in SUPERSEDE_COLUMNS if is_new else ():
        old = getattr(item, column)
        if old is not None and old in ctx.id_map:
            conn.execute(
                f"update memories set {column} = ? where id = ?", (ctx.id_map[old], this_id)
            )
        elif old is not None and old in ctx.in_file:
            later.append((old, (column, this_id)))
    for column, row_id in ctx.pending_columns.get(item.id, ()):
        conn.execute(f"update memories set {column} = ? where id = ?", (this_id, row_id))
    return later


def _duplicate_of(conn: db.Connection, item: Incoming) -> db.sqlite3.Row | None:
    project = backend_of(conn).unindexed("project")  # the content_hash index, not project's
    return conn.execute(
        f"select id, status from memories where content_hash = ? and {project} = ? "
        "order by id limit 1",
        (item.digest, item.project),
    ).fetchone()


def _write_new(conn: db.Connection, s: Screened, ctx: Commit) -> tuple[int, str]:
    item = s.item
    status = _final_status(item, s.verdict)
    new_id = _insert(conn, s, status, ctx)
    if s.vector is not None and ctx.model is not None:
        backend_of(conn).put_vector(conn, new_id, item.project, status, item.kind, s.vector)
        conn.execute("update memories set embedding_model = ? where id = ?", (ctx.model, new_id))
    audit.append(
        conn,
        actor=ctx.actor.agent,
        action="import",
        memory_id=new_id,
        data={
            "original_id": item.id,
            "content_hash": item.digest,
            "status": status,
            "agent": item.agent,
            "source": item.source,
            "project": item.project,
            "risk": round(s.verdict.risk, 4),
            "reasons": s.verdict.reasons,
            "line": item.line,
        },
    )
    return new_id, status


def _commit_line(store: MemoryStore, s: Screened, ctx: Commit) -> LineOutcome:
    item = s.item
    with store.transaction() as conn:
        dup = _duplicate_of(conn, item)
        if dup is None:
            this_id, status = _write_new(conn, s, ctx)
        else:
            this_id, status = dup["id"], dup["status"]
        is_new = dup is None
        links = _wire_links(conn, item, this_id, ctx, is_new=is_new)
        columns = _wire_columns(conn, item, this_id, ctx, is_new=is_new)
    ctx.settle(item.id, this_id, is_new=is_new, links=links, columns=columns)
    if is_new:
        return LineOutcome(item.line, item.id, this_id, "imported", status, s.verdict.reasons)
    return LineOutcome(item.line, item.id, this_id, "duplicate", status, ["exact_duplicate"])


def _dropped_links(items: list[Incoming], in_file: set[int]) -> list[str]:
    return [
        f"line {item.line}: link {item.id} -> {target} ({relation}) dropped: "
        f"{target} is not in the file"
        for item in items
        for target, relation, _ in item.links
        if target not in in_file
    ]


def commit_all(
    store: MemoryStore,
    screened: list[Screened],
    model: str | None,
    actor: Actor,
    report: ImportReport,
) -> None:
    ids = [s.item.id for s in screened]
    ctx = Commit(
        actor=actor,
        keep_ids=_ids_free(store, ids),
        model=model,
        screen_trust=_screen_trust(store),
        in_file=set(ids),
    )
    report.id_policy = "kept" if ctx.keep_ids else "remapped"
    report.notes += _dropped_links([s.item for s in screened], ctx.in_file)
    for s in screened:
        try:
            report.outcomes.append(_commit_line(store, s, ctx))
        except (db.sqlite3.Error, InvalidInput) as exc:
            report.errors.append(LineError(s.item.line, _short(f"not imported: {exc}")))
    report.committed = True
    moved = [o for o in report.outcomes if o.result == "imported" and o.id != o.original_id]
    if ctx.keep_ids and moved:
        report.notes.append(f"{len(moved)} ids were taken by a concurrent write and remapped")


def import_lines(
    store: MemoryStore,
    lines: Iterable[str | bytes],
    *,
    actor: Actor = HUMAN,
    skip_bad: bool = False,
) -> ImportReport:
    """Validate and screen every line, then import: all or nothing unless skip_bad.

    `actor` is who performs the import (the audit entries' actor), not whom screening
    trusts: every line is screened as SCREEN_AS with source "file" (see module doc).
    """
    report = ImportReport()
    items = parse_all(lines, report)
    screened, model = screen_all(store, items, report)
    report.errors.sort(key=lambda e: e.line)
    if report.errors and not skip_bad:
        return report
    commit_all(store, screened, model, actor, report)
    report.errors.sort(key=lambda e: e.line)
    return report
