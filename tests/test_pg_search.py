"""Keyword search on PostgreSQL finds what FTS5 finds: identifiers, accents, rare words first."""

from __future__ import annotations

import time
from typing import Any

import pytest

pytest.importorskip("psycopg", reason="the postgres extra (or dev) is not installed")

from mcp_memory import records  # noqa: E402
from mcp_memory.storage import termstats  # noqa: E402
from mcp_memory.storage.postgres import search as pg_search  # noqa: E402
from tests.pg_support import needs_pg  # noqa: E402

pytest_plugins = ["tests.pg_support"]
pytestmark = needs_pg

SCOPE = "m.status = 'active' and m.project in (?, ?)"
PARAMS = ["proj", ""]


def _write(backend: Any, content: str, keywords: str = "", **extra: object) -> int:
    now = time.time()
    values: dict[str, object] = {
        "content": content,
        "keywords": keywords,
        "project": "proj",
        "agent": "alice",
        "source": "agent",
        "content_hash": f"sha256:{content}",
        "created_at": now,
        "updated_at": now,
        **extra,
    }
    with backend.write_transaction() as conn:
        values["id"] = records.next_id(conn)
        mid = backend.insert_memory(conn, values)
        termstats.add(conn, str(values["project"]), content, keywords)
    return mid


def _search(backend: Any, text: str, depth: int = 10) -> list[int]:
    found = pg_search.keyword_scores(backend.conn, text, PARAMS, SCOPE, PARAMS, depth)
    return list(found)


def test_a_code_identifier_is_found_whole_and_by_its_parts(pg_backend: Any) -> None:
    snake = _write(pg_backend, "call get_user_by_id before caching the profile")
    camel = _write(pg_backend, "getUserById returns None for deleted users", "get User By Id")
    _write(pg_backend, "the deploy script runs on Fridays")
    assert _search(pg_backend, "get_user_by_id")[0] == snake
    assert set(_search(pg_backend, "user")) == {snake, camel}
    assert _search(pg_backend, "getUserById") == [camel]


def test_accents_and_stems_match_as_in_fts5(pg_backend: Any) -> None:
    mid = _write(pg_backend, "The café caches receipts for a week")
    assert _search(pg_backend, "cafe") == [mid]
    assert _search(pg_backend, "caching receipt") == [mid]


def test_a_rare_word_outranks_a_common_one(pg_backend: Any) -> None:
    for i in range(5):
        _write(pg_backend, f"redis shard {i}")  # short: ts_rank alone would put these first
        _write(pg_backend, f"unrelated note number {i}")
    kafka = _write(
        pg_backend, "kafka carries the audit events from every service to the warehouse hourly"
    )
    found = _search(pg_backend, "redis kafka", depth=3)
    assert found[0] == kafka and len(found) == 3


def test_the_scope_filter_hides_other_projects_and_forgotten_memories(pg_backend: Any) -> None:
    mine = _write(pg_backend, "rotate the signing key monthly")
    shared = _write(pg_backend, "signing key lives in vault", project="")
    _write(pg_backend, "signing key of the other team", project="other")
    _write(pg_backend, "old signing key procedure", status="forgotten")
    assert set(_search(pg_backend, "signing key")) == {mine, shared}


def test_results_come_best_first_and_stop_at_the_depth(pg_backend: Any) -> None:
    ids = [_write(pg_backend, "flaky test " + "retry " * n) for n in range(1, 8)]
    found = pg_search.keyword_scores(pg_backend.conn, "retry", PARAMS, SCOPE, PARAMS, 4)
    assert len(found) == 4 and set(found) <= set(ids)
    scores = list(found.values())
    assert scores == sorted(scores, reverse=True)


HOSTILE = [
    "c++",
    '"',
    'user"s',
    "it's",
    "NOT",
    "NOT NULL",
    "foo:bar",
    "-x",
    "a AND",
    "user OR",
    "(user",
    "*",
    "''",
    "x/y",
    "!",
    "&",
    "|",
    "<->",
    "user:*",
    "\\",
    "'; drop table memories; --",
    "🙂 emoji",
    "w" * 3000,
    "a\x00b",
    "\x00",
    "by",
    "what?",
    "%s %d %%",
    "?",
    "$1",
    "\n\t",
    "user & !account",
    "a <2> b",
    "{0,0}",
    "NEAR(a b)",
    "col:term",
    "^start",
    "AND OR NOT",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_no_query_text_raises(pg_backend: Any, query: str) -> None:
    _write(pg_backend, "drop table notes is never run by the user account")
    found = pg_search.keyword_scores(pg_backend.conn, query, PARAMS, SCOPE, PARAMS, 10)
    assert isinstance(found, dict)
    assert pg_backend.conn.execute("select count(*) from memories").fetchone()[0] == 1


def test_an_empty_or_stopword_query_matches_nothing(pg_backend: Any) -> None:
    _write(pg_backend, "by the way, what is it")
    assert _search(pg_backend, "") == []
    assert pg_search.keyword_candidates(pg_backend.conn, {"the": 1.0}, SCOPE, PARAMS, 5) == {}


class _Recorder:
    """A connection that keeps the last statement it ran."""

    def __init__(self, conn: Any) -> None:
        self.conn, self.sql, self.params = conn, "", []

    def execute(self, sql: str, params: Any = ()) -> Any:
        self.sql, self.params = sql, list(params)
        return self.conn.execute(sql, params)


def test_the_gin_index_drives_the_match_even_without_statistics(pg_backend: Any) -> None:
    """Filtered in one query, a table the planner has no statistics for (a bulk load before
    autovacuum's first pass) was walked through its (project, status) index, every row
    tested: 48 ms at 100k. Behind `offset 0` the match can only come from the GIN index."""
    now = time.time()
    with pg_backend.write_transaction() as conn:
        conn.execute(
            "insert into memories(id, content, keywords, project, agent, source, content_hash,"
            " created_at, updated_at, fts) select i, 'note ' || i || ' on topic ' || (i % 50),"
            " '', 'proj', 'alice', 'agent', 'sha256:' || i, ?, ?,"
            " to_tsvector('english', 'note ' || i || ' on topic ' || (i % 50))"
            " from generate_series(1, 20000) i",
            (now, now),
        )
    with pg_backend.conn.hold() as raw:
        raw.execute("vacuum memories")  # flush the GIN pending list, as a bulk load's build is
    assert not pg_backend.conn.execute(
        "select count(*) from pg_stats where tablename = 'memories'"
    ).fetchone()[0], "the table must have no column statistics for this test"
    recorder = _Recorder(pg_backend.conn)
    found = pg_search.keyword_candidates(recorder, {"topic 7": 1.0}, SCOPE, PARAMS, 500)
    assert len(found) == 400
    plan = " ".join(
        r[0] for r in pg_backend.conn.execute("explain " + recorder.sql, recorder.params)
    )
    assert "memories_fts" in plan and "memories_scope" not in plan
