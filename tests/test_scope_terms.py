"""Keyword scores weigh a term by its rarity where the recall looks (termstats.py), and a
memory's vector similarity is read with its predecessor in the session."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_memory import Actor, MemoryStore, erasure
from mcp_memory.embeddings import FakeEmbedder
from mcp_memory.recall import hybrid as search
from mcp_memory.recall import ranking
from mcp_memory.recall.query import fts_query
from mcp_memory.storage import open_backend, termstats
from mcp_memory.storage.sqlite.fts import UNIFORM_WEIGHTS
from mcp_memory.store import allow_all

from .conftest import DbTarget

AGENT = Actor(agent="agent-a", session_id="s1")


def _open(path: str | Path) -> MemoryStore:
    return MemoryStore.open(path, embedder=FakeEmbedder(), screen=allow_all)


def _counts(store: MemoryStore) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    terms = {(t, p): n for t, p, n in store.conn.execute("select * from scope_terms")}
    sizes = dict(store.conn.execute("select project, docs from scope_sizes").fetchall())
    return terms, sizes


def _remember(store: MemoryStore, text: str, project: str, actor: Actor = AGENT) -> int:
    result = store.remember(text, actor=actor, project=project, source="agent")
    assert result.id is not None and result.status == "stored", result
    return result.id


@pytest.mark.sqlite_only
def test_index_terms_match_what_fts5_stores_including_short_unstemmed_tokens(
    db_target: DbTarget,
) -> None:
    store = _open(db_target("m"))
    text = "It is running; Ünïcode naïve caches were flushed by the 2 jobs as expected"
    _remember(store, text, "p")
    store.conn.execute("create virtual table temp.v using fts5vocab(main, memories_fts, instance)")
    fts = {r[0] for r in store.conn.execute("select term from temp.v")}
    assert set(termstats.index_terms(text)) == fts
    assert "is" in fts and "as" in fts  # porter leaves tokens under 3 characters alone
    store.close()


def test_every_write_counts_its_terms_per_project(db_target: DbTarget) -> None:
    store = _open(db_target("m"))
    _remember(store, "Redis caches sessions", "alpha")
    _remember(store, "Redis holds the queue", "alpha")
    _remember(store, "Postgres holds orders", "beta")
    terms, sizes = _counts(store)
    assert sizes == {"alpha": 2, "beta": 1}
    assert terms[("redi", "alpha")] == 2 and ("redi", "beta") not in terms
    assert terms[("hold", "alpha")] == 1 and terms[("hold", "beta")] == 1
    store.close()


@pytest.mark.sqlite_only  # PostgreSQL starts from pg001 with empty counts: nothing to rebuild
def test_the_migration_counts_memories_written_before_it(db_target: DbTarget) -> None:
    path = db_target("m")
    store = _open(path)
    for i, text in enumerate(["Redis caches sessions", "Kafka feeds billing", "Redis again"]):
        _remember(store, text, f"p{i % 2}")
    expected = _counts(store)
    store.conn.execute("drop table scope_terms")
    store.conn.execute("drop table scope_sizes")
    store.conn.execute("delete from schema_migrations where name = 'm009_scope_terms'")
    store.close()
    backend = open_backend(path)
    assert backend.migrate() == ["m009_scope_terms"]
    backend.close()
    again = _open(path)
    assert _counts(again) == expected
    again.close()


def test_erasing_a_memory_uncounts_its_terms_and_drops_terms_no_memory_has(
    db_target: DbTarget,
) -> None:
    store = _open(db_target("m"))
    keep = _remember(store, "Redis caches sessions", "p")
    gone = _remember(store, "Redis nickname zebraquartz", "p")
    erasure.execute(
        store.conn, store.lock, erasure.plan(store.conn, id=gone), actor="user", vacuum=False
    )
    terms, sizes = _counts(store)
    assert sizes == {"p": 1}
    assert terms[("redi", "p")] == 1
    assert not [t for t, _ in terms if t.startswith(("zebra", "nicknam"))]
    assert store.get(keep).id == keep
    store.close()


def test_a_term_in_most_of_the_projects_memories_weighs_less_there_than_elsewhere(
    db_target: DbTarget,
) -> None:
    store = _open(db_target("m"))
    for i in range(6):
        _remember(store, f"Atlas service note {i} about logging", "atlas")
    for i in range(30):
        _remember(store, f"Borealis note {i} on deploys", "borealis")
    _remember(store, "Atlas is the upstream we call for invoices", "borealis")
    atlas = termstats.chunk_weights(store.conn, ["atlas", "invoices"], ["atlas", ""])
    borealis = termstats.chunk_weights(store.conn, ["atlas", "invoices"], ["borealis", ""])
    assert atlas["atlas"] < 0.01  # in every memory of atlas: says nothing there
    assert borealis["atlas"] > 0.5  # one memory in 31: as telling as anywhere
    store.close()


@pytest.mark.sqlite_only
def test_a_term_everywhere_in_the_project_does_not_decide_the_keyword_ranking(
    db_target: DbTarget,
) -> None:
    store = _open(db_target("m"))
    for i in range(40):  # elsewhere "atlas" is rare and "invoices" common
        _remember(store, f"Borealis note {i}" + (" on invoices" if i % 2 else ""), "borealis")
    loud = _remember(store, "Atlas atlas atlas: the atlas team owns atlas", "atlas")
    wanted = _remember(store, "Atlas sends invoices at noon", "atlas")
    for i in range(3):
        _remember(store, f"Atlas dashboard number {i}", "atlas")
    scope = search.Scope(projects=["atlas", ""])
    database_wide = store.conn.execute(
        "select rowid from memories_fts where memories_fts match ? order by rank",
        (fts_query("atlas invoices"),),
    ).fetchall()
    assert database_wide[0][0] == loud  # FTS5's own idf: "atlas" is rare, so it wins
    ranked = list(search.keyword_scores(store.conn, "atlas invoices", scope))
    assert ranked[0] == wanted
    store.close()


@pytest.mark.sqlite_only
def test_with_one_project_keyword_ranking_is_fts5_bm25_as_it_is(db_target: DbTarget) -> None:
    store = _open(db_target("m"))
    for text in [
        "Redis caches sessions for the API",
        "The API gateway retries twice",
        "Sessions expire after one hour in Redis",
        "Postgres stores orders",
    ]:
        _remember(store, text, "p")
    query = "redis sessions api"
    mine = search.keyword_scores(store.conn, query, search.Scope(projects=["p", ""]))
    plain = store.conn.execute(
        "select rowid, bm25(memories_fts, 1.0, 0.5) from memories_fts where memories_fts "
        "match ? order by 2",
        (fts_query(query),),
    ).fetchall()
    assert list(mine) == [r[0] for r in plain]
    assert list(mine.values()) == pytest.approx([-r[1] for r in plain])
    store.close()


def test_a_reply_is_found_through_the_note_it_answers(
    db_target: DbTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ranking, "CONTEXT_WEIGHT", 0.0)  # only the predecessor's share counts
    store = _open(db_target("m"))
    _remember(store, "which cache tier holds sessions", "p")
    reply = _remember(store, "the warm one on redis", "p")
    loner = _remember(store, "the cold one on redis", "p", Actor(agent="agent-b", session_id="x"))
    scope = search.Scope(projects=["p", ""])
    vector = store.embedder().embed(["cache tier for sessions on redis"])[0]  # type: ignore[union-attr]
    scores = search.relevance_scores(store.conn, "cache tier sessions", vector, scope, 10)
    assert scores[reply] > scores[loner]
    store.close()


def test_the_predecessor_is_the_same_writers_last_memory_in_that_session(
    db_target: DbTarget,
) -> None:
    store = _open(db_target("m"))
    first = _remember(store, "question about the cache", "p")
    other = _remember(store, "unrelated note", "p", Actor(agent="agent-b", session_id="s1"))
    reply = _remember(store, "answer about the cache", "p")
    elsewhere = _remember(store, "new session note", "p", Actor(agent="agent-a", session_id="s2"))
    scope = search.Scope(projects=["p", ""])
    before = search.session_predecessors(store.conn, [first, other, reply, elsewhere], scope)
    assert before == {reply: first}  # agent-b in between is skipped; s2 starts afresh
    store.forget(first, actor=AGENT)
    assert search.session_predecessors(store.conn, [reply], scope) == {}  # hidden: no context
    store.close()


def test_session_neighbours_are_the_same_writers_memories_either_side(db_target: DbTarget) -> None:
    store = _open(db_target("m"))
    a = _remember(store, "one", "p")
    b = _remember(store, "two", "p")
    _remember(store, "three by someone else", "p", Actor(agent="agent-b", session_id="s1"))
    c = _remember(store, "four", "p")
    far = _remember(store, "five", "p")
    store.conn.execute("update memories set created_at = created_at + 86400 where id = ?", (far,))
    scope = search.Scope(projects=["p", ""])
    assert search.session_neighbours(store.conn, [b, c], scope) == {b: [a, c], c: [b]}
    store.close()


def test_cached_similarities_match_exact_ones_for_sparse_vectors(db_target: DbTarget) -> None:
    store = _open(db_target("m"))  # the fake embedder's bag-of-words vectors are sparse
    mids = [_remember(store, text, "p") for text in ["redis cache", "kafka queue", "redis"]]
    vector = store.embedder().embed(["redis cache"])[0]  # type: ignore[union-attr]
    cached = search.similarities(store.conn, vector, mids, ["p", ""])
    exact = search.similarities(store.conn, vector, mids)  # no projects: read from SQL
    assert cached == pytest.approx(exact, abs=2e-3)
    assert cached[mids[0]] > 0.99 and cached[mids[1]] < 0.1
    store.close()


@pytest.mark.sqlite_only
def test_unequal_chunk_weights_sum_each_chunks_bm25_times_its_weight(db_target: DbTarget) -> None:
    store = _open(db_target("m"))
    for i in range(12):  # "ledger" is in a third of alpha's memories, rare elsewhere
        _remember(store, f"Alpha note {i}" + (" about the ledger" if i % 3 == 0 else ""), "alpha")
    for i in range(30):
        _remember(store, f"Beta note {i} about refunds", "beta")
    _remember(store, "Alpha refunds go through the ledger", "alpha")
    scope = search.Scope(projects=["alpha", ""])
    weights = termstats.chunk_weights(store.conn, ["ledger", "refunds"], scope.projects)
    assert max(weights.values()) > UNIFORM_WEIGHTS * min(weights.values())
    expected: dict[int, float] = {}
    for chunk, weight in weights.items():
        for rowid, rank in store.conn.execute(
            "select rowid, rank from memories_fts where memories_fts match ?",
            (fts_query(chunk),),
        ):
            expected[rowid] = expected.get(rowid, 0.0) - weight * rank
    alpha = {r[0] for r in store.conn.execute("select id from memories where project = 'alpha'")}
    expected = {m: s for m, s in expected.items() if m in alpha}
    got = search.keyword_scores(store.conn, "ledger refunds", scope)
    assert got == pytest.approx(expected)
    assert list(got) == sorted(expected, key=expected.__getitem__, reverse=True)
    store.close()
