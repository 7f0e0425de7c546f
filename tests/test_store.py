"""Library-level behaviour of remember / recall / forget / link (fake embedder)."""

from __future__ import annotations

import pytest

from mcp_memory import HUMAN, InvalidInput, MemoryStore, NotFound
from mcp_memory.recall.query import fts_query

from .backend_helpers import keyword_matches
from .conftest import AGENT, OTHER


def ids(result) -> list[int]:  # type: ignore[no-untyped-def]
    return [h.id for h in result.results]


def test_a_remembered_note_is_recalled_with_its_provenance(store: MemoryStore) -> None:
    r = store.remember(
        "Run the API tests with `make test-api`",
        actor=AGENT,
        tags=["Testing"],
        kind="lesson",
        source="agent",
    )
    assert r.status == "stored" and r.id is not None
    hit = store.recall("how do I run the api tests").results[0]
    assert hit.id == r.id
    assert (hit.agent, hit.source, hit.kind, hit.tags) == (
        "claude-code",
        "agent",
        "lesson",
        ["testing"],
    )
    record = store.get(r.id)
    assert record.client_name == "claude-code" and record.session_id == "s1"
    assert record.content_hash.startswith("sha256:")


@pytest.mark.parametrize("query", ["get_user_by_id", "user", "get user", "users_service"])
def test_code_identifiers_are_found_whole_and_by_their_parts(
    store: MemoryStore, query: str
) -> None:
    mid = store.remember("Call get_user_by_id from users_service, never raw SQL", actor=AGENT).id
    store.remember("Unrelated note about the deploy window on Fridays", actor=AGENT)
    assert ids(store.recall(query))[0] == mid


def test_camel_case_identifiers_are_split_for_keyword_search(store: MemoryStore) -> None:
    mid = store.remember("parseConfigFile reads settings.toml at startup", actor=AGENT).id
    assert mid in ids(store.recall("config file"))
    assert ids(store.recall("settings.toml"))[0] == mid


def test_an_exact_duplicate_returns_the_existing_id(store: MemoryStore) -> None:
    first = store.remember("Deploys happen on Tuesdays", actor=AGENT)
    again = store.remember("  Deploys happen on Tuesdays  ", actor=OTHER)
    assert again.status == "duplicate" and again.id == first.id
    assert store.stats()["memories"] == {"active": 1}


HOSTILE_QUERIES = [
    'user"s',
    "it's",
    "c++",
    "settings.toml",
    "what?",
    "x/y",
    "(user",
    "a AND",
    "user OR",
    "NOT",
    "*",
    "''",
    '"',
    "foo:bar",
    "-x",
    "body: user",
    "NEAR(a b)",
    "^start",
    "a\x00b",
    "\x01\x02 ctrl",
    "x" * 10_000,
    "word " * 3000,
    "🏳️‍🌈 emoji",
    "שלום עולם",
    "SELECT * FROM memories; --",
]


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_recall_never_raises_on_hostile_query_text(store: MemoryStore, query: str) -> None:
    store.remember("Use user sessions stored in Redis; see settings.toml", actor=AGENT)
    result = store.recall(query)
    assert isinstance(result.results, list)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_fts_query_builder_never_emits_unquoted_syntax(store: MemoryStore, query: str) -> None:
    built = fts_query(query)
    if built is not None:
        keyword_matches(store, built)  # raises if the engine rejects the syntax


@pytest.mark.parametrize("query", ["", "   ", "\x00", "\n\t"])
def test_an_empty_query_is_a_clear_error(store: MemoryStore, query: str) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        store.recall(query)


BAD_WRITES = [
    ({"content": ""}, "empty"),
    ({"content": "   \n "}, "empty"),
    ({"content": "x" * (16 * 1024 + 1)}, "limit"),
    ({"content": "é" * 9000}, "limit"),
    ({"content": 42}, "string"),
    ({"content": "ok", "tags": ["t"] * 1 + [f"t{i}" for i in range(25)]}, "tags"),
    ({"content": "ok", "tags": ["x" * 65]}, "tag"),
    ({"content": "ok", "tags": ["bad\x00tag"]}, "tag"),
    ({"content": "ok", "kind": "Not A Kind!"}, "kind"),
    ({"content": "ok", "source": "rumour"}, "source"),
    ({"content": "ok", "project": "p\x00"}, "project"),
    ({"content": "ok", "files": ["a\x00b"]}, "file"),
    ({"content": "ok", "files": [f"f{i}.py" for i in range(51)]}, "files"),
    ({"content": "ok", "supersedes": -1}, "supersedes"),
    ({"content": "bad \udc00 surrogate"}, "surrogate"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_WRITES)
def test_bad_writes_are_refused_clearly_and_harm_nothing(
    store: MemoryStore, kwargs: dict, message: str
) -> None:
    keep = store.remember("The staging database is pg-staging-2", actor=AGENT).id
    before = store.stats()
    kwargs = dict(kwargs)  # the parameter is shared by every backend's run of this test
    content = kwargs.pop("content")
    with pytest.raises(InvalidInput, match=message):
        store.remember(content, actor=AGENT, **kwargs)
    assert store.stats() == before
    assert ids(store.recall("staging database")) == [keep]


def test_superseding_a_missing_memory_is_not_found_and_stores_nothing(store: MemoryStore) -> None:
    with pytest.raises(NotFound):
        store.remember("new policy", actor=AGENT, supersedes=999)
    assert store.stats()["memories"] == {}


def test_a_forgotten_memory_is_hidden_but_kept_for_audit(store: MemoryStore) -> None:
    mid = store.remember("Feature flags live in LaunchDarkly", actor=AGENT).id
    assert store.forget(mid, actor=AGENT, reason="moved to Unleash").status == "forgotten"
    assert mid not in ids(store.recall("feature flags"))
    record = store.get(mid)
    assert record.status == "forgotten" and record.content == "Feature flags live in LaunchDarkly"
    assert store.forget(mid, actor=AGENT).status == "already_forgotten"


def test_forgetting_another_agents_memory_goes_to_review(store: MemoryStore) -> None:
    mid = store.remember("Our API rate limit is 100 rps per key", actor=AGENT).id
    assert store.forget(mid, actor=OTHER).status == "pending_review"
    assert ids(store.recall("api rate limit")) == [mid]
    pending = store.conn.execute("select kind, requested_by from reviews").fetchall()
    assert [tuple(r) for r in pending] == [("forget", "cursor")]


def test_the_human_can_forget_any_memory(store: MemoryStore) -> None:
    mid = store.remember("Old build uses make", actor=AGENT).id
    assert store.forget(mid, actor=HUMAN).status == "forgotten"


@pytest.mark.parametrize("bad", [0, -5, "7", 1.5, True, None, 2**70])
def test_bad_ids_are_clear_errors(store: MemoryStore, bad: object) -> None:
    with pytest.raises(InvalidInput):
        store.forget(bad, actor=AGENT)


def test_forgetting_an_unknown_id_is_not_found(store: MemoryStore) -> None:
    with pytest.raises(NotFound):
        store.forget(12345, actor=AGENT)


def test_links_are_validated_and_returned_with_results(store: MemoryStore) -> None:
    a = store.remember("We chose PostgreSQL for the orders service", actor=AGENT).id
    b = store.remember("Benchmarks showed 3x faster joins than MySQL", actor=AGENT).id
    assert store.link(b, a, "supports", actor=AGENT).relation == "supports"
    hit = next(h for h in store.recall("orders service database").results if h.id == a)
    assert [(link.id, link.relation, link.direction) for link in hit.links] == [
        (b, "supports", "in")
    ]
    with pytest.raises(InvalidInput, match="relation"):
        store.link(a, b, "loves", actor=AGENT)
    with pytest.raises(NotFound):
        store.link(a, 999, "related", actor=AGENT)
    with pytest.raises(InvalidInput, match="itself"):
        store.link(a, a, "related", actor=AGENT)


def test_linked_memories_are_pulled_into_recall(store: MemoryStore) -> None:
    a = store.remember("Payments retry three times with exponential backoff", actor=AGENT).id
    b = store.remember("Idempotency keys expire after 24 hours", actor=AGENT).id
    store.link(a, b, "depends_on", actor=AGENT)
    assert b in ids(store.recall("payments retry backoff", include_links=True))
    assert b not in ids(store.recall("payments retry backoff", include_links=False))


def test_a_superseded_memory_is_hidden_from_default_recall(store: MemoryStore) -> None:
    old = store.remember("Node 18 is the supported runtime", actor=AGENT).id
    new = store.remember("Node 22 is the supported runtime", actor=AGENT, supersedes=old)
    assert new.status == "stored"
    found = ids(store.recall("supported node runtime"))
    assert new.id in found and old not in found
    assert store.get(old).superseded_by == new.id


def test_recall_is_scoped_to_the_project_plus_global_memories(store: MemoryStore) -> None:
    here = store.remember("Lint with ruff", actor=AGENT, project="proj").id
    glob = store.remember("Lint commit messages with commitlint", actor=AGENT, project="").id
    away = store.remember("Lint with eslint", actor=AGENT, project="other").id
    found = ids(store.recall("lint"))
    assert here in found and glob in found and away not in found
    assert ids(store.recall("lint", project="other"))[0] in (away, glob)


def test_tag_and_kind_filters_narrow_results(store: MemoryStore) -> None:
    a = store.remember("Cache TTL is 5 minutes", actor=AGENT, tags=["cache"], kind="fact")
    b = store.remember(
        "Cache keys include the tenant id", actor=AGENT, tags=["tenancy"], kind="decision"
    )
    assert ids(store.recall("cache", tags=["cache"])) == [a.id]
    assert ids(store.recall("cache", kinds=["decision"])) == [b.id]


def test_limit_bounds_the_result_count(store: MemoryStore) -> None:
    for i in range(15):
        store.remember(f"Service number {i} logs to stdout", actor=AGENT)
    assert len(store.recall("service logs", limit=3).results) == 3
    with pytest.raises(InvalidInput):
        store.recall("service", limit=0)
    with pytest.raises(InvalidInput):
        store.recall("service", limit=1000)


def test_a_memory_anchored_to_a_file_goes_stale_when_the_file_changes(store: MemoryStore) -> None:
    path = store.root / "app.py"
    path.write_text("def main():\n    return 1\n")
    mid = store.remember("app.py main() returns 1", actor=AGENT, files=["app.py"]).id
    assert store.recall("main returns").results[0].stale is False
    path.write_text("def main():\n    return 2\n")
    hit = next(h for h in store.recall("main returns").results if h.id == mid)
    assert hit.stale is True


def test_every_write_leaves_an_audit_entry_in_the_same_transaction(store: MemoryStore) -> None:
    mid = store.remember("Audit me", actor=AGENT).id
    store.forget(mid, actor=AGENT)
    actions = [r[0] for r in store.conn.execute("select action from audit_log order by seq")]
    assert actions == ["remember", "forget"]
    data = store.conn.execute("select data from audit_log where seq = 1").fetchone()[0]
    assert "Audit me" not in data and "sha256:" in data
