"""Ordered, named schema steps. A shipped step is never edited: add m00N+1 instead.

Each step runs in its own BEGIN IMMEDIATE transaction together with the row
that records it, so two processes starting at once cannot both apply it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mcp_memory.storage import termstats
from mcp_memory.storage.driver import Connection, sqlite3
from mcp_memory.storage.sqlite.connection import begin_immediate

Migration = Callable[[Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def run_script(conn: Connection, script: str) -> None:
    """executescript() would COMMIT our open transaction first; run statement by statement."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            conn.execute(buffer)
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer[:80]!r}")


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_core(conn: Connection) -> None:
    run_script(
        conn,
        """
        create table memories (
            id integer primary key,
            content text not null,
            keywords text not null default '',
            kind text not null default 'note',
            tags text not null default '[]',
            project text not null default '',
            status text not null default 'active',
            agent text not null,
            client_name text not null default '',
            client_version text not null default '',
            session_id text not null default '',
            source text not null,
            content_hash text not null,
            trust real not null default 0.5,
            risk real not null default 0.0,
            reasons text not null default '[]',
            files text not null default '[]',
            supersedes integer references memories(id) on delete set null,
            superseded_by integer references memories(id) on delete set null,
            created_at real not null,
            updated_at real not null,
            status_changed_by text,
            status_reason text,
            embedding_model text
        );
        create index memories_hash on memories(content_hash);
        create index memories_project_status on memories(project, status);
        create index memories_agent on memories(agent, created_at);
        create index memories_unembedded on memories(id) where embedding_model is null;

        create virtual table memories_fts using fts5(
            content, keywords, content='memories', content_rowid='id',
            tokenize="porter unicode61 remove_diacritics 2"
        );
        create trigger memories_ai after insert on memories begin
            insert into memories_fts(rowid, content, keywords)
            values (new.id, new.content, new.keywords);
        end;
        create trigger memories_ad after delete on memories begin
            insert into memories_fts(memories_fts, rowid, content, keywords)
            values ('delete', old.id, old.content, old.keywords);
        end;
        create trigger memories_au after update of content, keywords on memories begin
            insert into memories_fts(memories_fts, rowid, content, keywords)
            values ('delete', old.id, old.content, old.keywords);
            insert into memories_fts(rowid, content, keywords)
            values (new.id, new.content, new.keywords);
        end;

        create table links (
            source_id integer not null references memories(id) on delete cascade,
            target_id integer not null references memories(id) on delete cascade,
            relation text not null,
            agent text not null,
            created_at real not null,
            primary key (source_id, target_id, relation)
        );
        create index links_target on links(target_id);

        create table agents (
            name text primary key,
            alpha real not null,
            beta real not null,
            prior_alpha real not null,
            prior_beta real not null,
            clean_credit real not null default 0,
            updated_at real not null,
            first_seen real not null,
            last_seen real not null,
            client_name text not null default '',
            client_version text not null default '',
            writes integer not null default 0,
            quarantined integer not null default 0,
            distrusted integer not null default 0
        );

        create table audit_log (
            seq integer primary key autoincrement,
            ts text not null,
            actor text not null,
            action text not null,
            memory_id integer,
            data text not null,
            prev_hash text not null,
            hash text not null
        );
        create index audit_actor on audit_log(actor);
        create index audit_action on audit_log(action);

        create table meta (key text primary key, value text not null);
        """,
    )


def applied(conn: Connection) -> list[str]:
    """The steps this database has, read without a lock: an up-to-date database is opened
    by reads alone, so a reader never waits on (or fails behind) another process's write."""
    exists = conn.execute(
        "select 1 from sqlite_master where type = 'table' and name = 'schema_migrations'"
    ).fetchone()
    if not exists:
        return []
    return [r[0] for r in conn.execute("select name from schema_migrations order by name")]


def pending(conn: Connection) -> list[str]:
    done = set(applied(conn))
    return [name for name, _ in MIGRATIONS if name not in done]


def migrate(conn: Connection) -> list[str]:
    """Apply every pending step; returns the names applied by this call.

    The write lock is taken only when a step is pending, one transaction per step, and
    each step is checked again under the lock: another process may have applied it."""
    todo = set(pending(conn))
    if not todo:
        return []
    ran: list[str] = []
    with begin_immediate(conn):
        conn.execute(
            "create table if not exists schema_migrations (name text primary key, applied_at real)"
        )
    for name, step in MIGRATIONS:
        if name not in todo:
            continue
        with begin_immediate(conn):
            exists = conn.execute("select 1 from schema_migrations where name = ?", (name,))
            if exists.fetchone():
                continue
            step(conn)
            conn.execute(
                "insert into schema_migrations(name, applied_at) values (?, ?)", (name, time.time())
            )
        ran.append(name)
    return ran


@migration
def m002_reviews(conn: Connection) -> None:
    """Requests an agent may not carry out alone (forget another's memory, ...) wait here."""
    run_script(
        conn,
        """
        create table reviews (
            id integer primary key,
            kind text not null,
            memory_id integer not null references memories(id) on delete cascade,
            target_id integer,
            requested_by text not null,
            reason text,
            created_at real not null,
            status text not null default 'pending',
            decided_by text,
            decided_at real
        );
        create index reviews_pending on reviews(status, kind);
        """,
    )


@migration
def m003_float_vectors(conn: Connection) -> None:
    """Exact vectors for rescoring; the vec0 index itself is binary (see vectors.py)."""
    conn.execute(
        """create table memory_vectors (
            memory_id integer primary key references memories(id) on delete cascade,
            embedding blob not null
        )"""
    )


@migration
def m004_file_sources(conn: Connection) -> None:
    """Where file-sourced memories come from, so a re-read of the file can tell kept from removed.

    Several paths (AGENTS.md and a CLAUDE.md copy, or both ends of a rename) may share one
    memory: it is retired only when no row points at it any more.
    """
    run_script(
        conn,
        """
        create table file_sources (
            project text not null,
            path text not null,
            piece_hash text not null,
            memory_id integer not null references memories(id) on delete cascade,
            line integer not null,
            primary key (project, path, piece_hash)
        );
        create index file_sources_memory on file_sources(memory_id);
        """,
    )


@migration
def m005_fts_vocab(conn: Connection) -> None:
    """Per-term document counts (a view, no storage): recall prunes very common query terms."""
    conn.execute("create virtual table memories_fts_vocab using fts5vocab(memories_fts, 'row')")


@migration
def m006_scope_recency_index(conn: Connection) -> None:
    """Serve "newest visible memories of a project" (context, resources) from the index."""
    conn.execute("drop index if exists memories_project_status")
    conn.execute("create index memories_scope on memories(project, status, created_at)")


@migration
def m007_fts_rank(conn: Connection) -> None:
    """`rank` = bm25 with the derived keywords column at half weight, so queries can use
    FTS5's fast rank-ordered LIMIT path instead of calling bm25() themselves."""
    conn.execute("insert into memories_fts(memories_fts, rank) values ('rank', 'bm25(1.0, 0.5)')")


@migration
def m008_agent_tokens(conn: Connection) -> None:
    """Bearer tokens for the HTTP server (see tokens.py): only a hash of each is stored.

    AUTOINCREMENT so a revoked token's id is never handed to a new one: audit entries and
    a human's notes that say "token 3" keep meaning one token.
    """
    run_script(
        conn,
        """
        create table agent_tokens (
            id integer primary key autoincrement,
            agent text not null,
            prefix text not null,
            token_hash text not null unique,
            note text not null default '',
            created_at real not null,
            created_by text not null,
            last_used_at real,
            revoked_at real,
            revoked_by text
        );
        create index agent_tokens_agent on agent_tokens(agent, revoked_at);
        create index agent_tokens_prefix on agent_tokens(prefix);
        """,
    )


@migration
def m009_scope_terms(conn: Connection) -> None:
    """Per-project document counts of index terms (termstats.py), so keyword scores can weigh
    a term by its rarity within the recall's scope instead of across every project."""
    run_script(
        conn,
        f"""
        create table {termstats.TERMS_TABLE} (
            term text not null,
            project text not null,
            docs integer not null,
            primary key (term, project)
        ) without rowid;
        create table {termstats.SIZES_TABLE} (
            project text primary key,
            docs integer not null
        ) without rowid;
        """,
    )
    termstats.rebuild(conn)


@migration
def m010_imported_from(conn: Connection) -> None:
    """What an export file claimed about an imported memory (its original agent, source,
    client, session and id), kept as JSON beside the row. NULL for every memory written
    here: the row's own agent and source say who wrote it into this database (the import),
    so a file's claim is kept without ever becoming the memory's identity."""
    conn.execute("alter table memories add column imported_from text")


@migration
def m011_unscreened(conn: Connection) -> None:
    """1 for a memory screened without its meaning (written before any model was loaded: no
    semantic or contradiction check could run). The store screens it again once its vector
    exists, then clears the mark."""
    conn.execute("alter table memories add column unscreened integer not null default 0")


@migration
def m012_unconfirmed_trust(conn: Connection) -> None:
    """The part of an agent's beta that detectors added and no human confirmed (a quarantine
    in proportion to its risk, a near-duplicate burst, a contradiction): clean writes forgive
    it bit by bit, a review confirms or refunds it (trust/beta.py). 0 for existing agents:
    what they were charged before stays as confirmed."""
    conn.execute("alter table agents add column unconfirmed real not null default 0")


_FTS_TRIGGERS = (
    """create trigger memories_ai after insert on memories begin
        insert into memories_fts(rowid, content, keywords)
        values (new.id, new.content, new.keywords);
    end""",
    """create trigger memories_ad after delete on memories begin
        insert into memories_fts(memories_fts, rowid, content, keywords)
        values ('delete', old.id, old.content, old.keywords);
    end""",
    """create trigger memories_au after update of content, keywords on memories begin
        insert into memories_fts(memories_fts, rowid, content, keywords)
        values ('delete', old.id, old.content, old.keywords);
        insert into memories_fts(rowid, content, keywords)
        values (new.id, new.content, new.keywords);
    end""",
)


@migration
def m013_fts_for_sqlite_tools(conn: Connection) -> None:
    """The same full-text index, declared `content="memories"`: sqlite-utils' `detect_fts` and
    Datasette recognise an external-content table only in that spelling (or `[memories]`), so
    with m001's `'memories'` their search found nothing. FTS5 cannot alter options, so the
    table is recreated and rebuilt from memories, with its rank, vocabulary view and triggers.
    One statement at a time: executescript would commit the migration's transaction."""
    for name in ("memories_ai", "memories_ad", "memories_au"):
        conn.execute(f"drop trigger {name}")
    conn.execute("drop table memories_fts_vocab")
    conn.execute("drop table memories_fts")
    conn.execute(
        'create virtual table memories_fts using fts5(content, keywords, content="memories", '
        'content_rowid="id", tokenize="porter unicode61 remove_diacritics 2")'
    )
    conn.execute("insert into memories_fts(memories_fts) values ('rebuild')")
    conn.execute("insert into memories_fts(memories_fts, rank) values ('rank', 'bm25(1.0, 0.5)')")
    conn.execute("create virtual table memories_fts_vocab using fts5vocab(memories_fts, 'row')")
    for trigger in _FTS_TRIGGERS:
        conn.execute(trigger)
