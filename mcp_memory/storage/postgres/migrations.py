"""Ordered, named schema steps for PostgreSQL. A shipped step is never edited: add pg00N+1.

The same discipline as migrations.py (design doc §3.2): each step runs in its own write
transaction (so under the application's advisory lock, the analogue of BEGIN IMMEDIATE)
together with the `schema_migrations` row that records it, so two servers starting at once
cannot both apply it. PostgreSQL DDL is transactional, CREATE EXTENSION included; never use
CREATE INDEX CONCURRENTLY in a step, it cannot run inside a transaction.

`pg001_baseline` is the final state of SQLite's m001..m009 (`BASELINE_COVERS`). Every SQLite
step added after those needs a PostgreSQL twin with the same suffix (`m010_x` ->
`pg00N_x`); tests/test_pg_backend.py fails until it exists.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from mcp_memory.errors import StorageError
from mcp_memory.storage import termstats
from mcp_memory.storage.postgres.facade import PgConnection

PgMigration = Callable[[PgConnection], None]
MIGRATIONS: list[tuple[str, PgMigration]] = []

# SQLite steps folded into the baseline, and where each one's effect lives on PostgreSQL.
BASELINE_COVERS: dict[str, str] = {
    "m001_core": "memories, links, agents, audit_log, meta; FTS5 table + triggers -> fts column",
    "m002_reviews": "reviews",
    "m003_float_vectors": "vector extension; memory_vectors(dim) is made by the backend once "
    "the model's dimension is known (design doc §3.5)",
    "m004_file_sources": "file_sources",
    "m005_fts_vocab": "nothing to store: document frequencies are counted from the GIN index",
    "m006_scope_recency_index": "memories_scope index",
    "m007_fts_rank": "nothing to store: the keyword score is computed in the query (§3.4)",
    "m008_agent_tokens": "agent_tokens (identity id: never reused, like AUTOINCREMENT)",
    "m009_scope_terms": "scope_terms, scope_sizes (empty at baseline: nothing to rebuild)",
}


def migration(fn: PgMigration) -> PgMigration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


VECTOR_PRIVILEGE_HINT = (
    "creating the pgvector extension needs a superuser (its control file is not trusted). "
    "Ask a database administrator to run `CREATE EXTENSION vector;` once in this database, "
    "then start mcp-memory again"
)

_BASELINE = f"""
create table memories (
    id bigint primary key,
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
    trust double precision not null default 0.5,
    risk double precision not null default 0.0,
    reasons text not null default '[]',
    files text not null default '[]',
    supersedes bigint references memories(id) on delete set null,
    superseded_by bigint references memories(id) on delete set null,
    created_at double precision not null,
    updated_at double precision not null,
    status_changed_by text,
    status_reason text,
    embedding_model text,
    fts tsvector not null
);
-- Keep memory text out of pg_statistic, which erasure could not clean (design doc §3.6).
alter table memories
    alter column content set statistics 0,
    alter column keywords set statistics 0,
    alter column fts set statistics 0,
    alter column tags set statistics 0,
    alter column files set statistics 0,
    alter column status_reason set statistics 0;
create index memories_fts on memories using gin (fts);
create index memories_hash on memories(content_hash);
create index memories_scope on memories(project, status, created_at);
create index memories_agent on memories(agent, created_at);
create index memories_unembedded on memories(id) where embedding_model is null;

create table links (
    source_id bigint not null references memories(id) on delete cascade,
    target_id bigint not null references memories(id) on delete cascade,
    relation text not null,
    agent text not null,
    created_at double precision not null,
    primary key (source_id, target_id, relation)
);
create index links_target on links(target_id);

create table agents (
    name text primary key,
    alpha double precision not null,
    beta double precision not null,
    prior_alpha double precision not null,
    prior_beta double precision not null,
    clean_credit double precision not null default 0,
    updated_at double precision not null,
    first_seen double precision not null,
    last_seen double precision not null,
    client_name text not null default '',
    client_version text not null default '',
    writes integer not null default 0,
    quarantined integer not null default 0,
    distrusted integer not null default 0
);

-- seq is written by audit.append (previous + 1 under the write lock); the primary key is the
-- second line of defence against a fork, as in SQLite.
create table audit_log (
    seq bigint primary key,
    ts text not null,
    actor text not null,
    action text not null,
    memory_id bigint,
    data text not null,
    prev_hash text not null,
    hash text not null
);
create index audit_actor on audit_log(actor);
create index audit_action on audit_log(action);

create table meta (key text primary key, value text not null);

create table reviews (
    id bigint generated always as identity primary key,
    kind text not null,
    memory_id bigint not null references memories(id) on delete cascade,
    target_id bigint,
    requested_by text not null,
    reason text,
    created_at double precision not null,
    status text not null default 'pending',
    decided_by text,
    decided_at double precision
);
create index reviews_pending on reviews(status, kind);

create table file_sources (
    project text not null,
    path text not null,
    piece_hash text not null,
    memory_id bigint not null references memories(id) on delete cascade,
    line integer not null,
    primary key (project, path, piece_hash)
);
create index file_sources_memory on file_sources(memory_id);

create table agent_tokens (
    id bigint generated always as identity primary key,
    agent text not null,
    prefix text not null,
    token_hash text not null unique,
    note text not null default '',
    created_at double precision not null,
    created_by text not null,
    last_used_at double precision,
    revoked_at double precision,
    revoked_by text
);
create index agent_tokens_agent on agent_tokens(agent, revoked_at);
create index agent_tokens_prefix on agent_tokens(prefix);

create table {termstats.TERMS_TABLE} (
    term text not null,
    project text not null,
    docs integer not null,
    primary key (term, project)
);
create table {termstats.SIZES_TABLE} (
    project text primary key,
    docs integer not null
);
"""


@migration
def pg001_baseline(conn: PgConnection) -> None:
    """SQLite m001..m009 as one PostgreSQL schema (see BASELINE_COVERS)."""
    create_vector_extension(conn)
    conn.execute_script(_BASELINE)


def create_vector_extension(conn: PgConnection) -> None:
    """pgvector is needed from the first step, so a missing privilege shows at install
    time with what to do about it, not as a failed recall later."""
    try:
        conn.execute_script("create extension if not exists vector")
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StorageError(f"{VECTOR_PRIVILEGE_HINT} ({exc})") from exc
    except (psycopg.errors.UndefinedFile, psycopg.errors.FeatureNotSupported) as exc:
        raise StorageError(
            f"the PostgreSQL server has no pgvector extension installed ({exc}); "
            "install pgvector >= 0.8 on the server"
        ) from exc


@migration
def pg002_imported_from(conn: PgConnection) -> None:
    """SQLite m010_imported_from: an export file's claims about an imported memory (JSON)."""
    conn.execute_script("alter table memories add column imported_from text")


@migration
def pg003_unscreened(conn: PgConnection) -> None:
    """SQLite m011_unscreened: a memory screened without its meaning, to screen again."""
    conn.execute_script("alter table memories add column unscreened integer not null default 0")


@migration
def pg004_unconfirmed_trust(conn: PgConnection) -> None:
    """SQLite m012_unconfirmed_trust: the detector-made, unconfirmed part of an agent's beta."""
    conn.execute_script(
        "alter table agents add column unconfirmed double precision not null default 0"
    )
