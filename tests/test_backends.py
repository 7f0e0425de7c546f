"""The storage boundary: which backend a target opens, and what every backend must answer."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from mcp_memory import MemoryStore
from mcp_memory.errors import StorageError
from mcp_memory.storage import Backend, SqliteBackend, backend_of, connect, open_backend
from mcp_memory.storage.driver import BUSY_TIMEOUT_MS

from .conftest import AGENT, DbTarget


def _protocol_members() -> set[str]:
    own = set(vars(Backend)) | set(getattr(Backend, "__annotations__", {}))
    return {name for name in own if not name.startswith("_")}


@pytest.mark.sqlite_only
def test_every_backend_operation_is_implemented_by_the_sqlite_backend(store: MemoryStore) -> None:
    members = _protocol_members()
    assert {"conn", "write_transaction", "id_list", "unindexed", "purge", "backup"} <= members
    missing = sorted(name for name in members if not hasattr(store.backend, name))
    assert missing == []


def test_implemented_operations_take_the_parameters_the_protocol_names() -> None:
    for name in _protocol_members():
        declared = getattr(Backend, name, None)
        if not inspect.isfunction(declared):
            continue
        wanted = list(inspect.signature(declared).parameters)
        assert list(inspect.signature(getattr(SqliteBackend, name)).parameters) == wanted, name


@pytest.mark.parametrize("url", ["postgresql://u:pw@127.0.0.1:1/db", "postgres://127.0.0.1:1/db"])
def test_an_unreachable_postgres_url_fails_clearly_and_creates_nothing(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("psycopg")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StorageError, match="cannot connect to postgres") as caught:
        open_backend(url)
    assert ":pw@" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.sqlite_only
def test_a_file_path_opens_a_migratable_sqlite_backend(db_target: DbTarget) -> None:
    backend = open_backend(db_target())
    try:
        assert backend.kind == "sqlite" and isinstance(backend, SqliteBackend)
        assert "m001_core" in backend.migrate()
        assert backend.migrate() == []  # a second run finds nothing to do
    finally:
        backend.close()


def test_a_bare_connection_gets_a_backend_over_that_same_connection(tmp_path: Path) -> None:
    conn = connect(tmp_path / "bare.db")
    try:
        assert backend_of(conn).conn is conn and backend_of(conn).kind == "sqlite"
    finally:
        conn.close()


def test_a_connection_that_names_its_backend_keeps_it() -> None:
    class Facade:
        backend = object()

    assert backend_of(Facade()) is Facade.backend


def test_a_connection_of_unknown_kind_is_refused_not_taken_for_sqlite() -> None:
    class Foreign:
        def execute(self, sql: str, params: object = ()) -> None: ...

    with pytest.raises(TypeError, match="open_backend"):
        backend_of(Foreign())


@pytest.mark.parametrize("count", [0, 1, 40_000])
def test_id_list_selects_exactly_the_ids_given_however_many(store: MemoryStore, count: int) -> None:
    kept = [store.remember(f"note number {i}", actor=AGENT).id for i in range(3)]
    wanted = ([kept[1]] if count else []) + list(range(10**6, 10**6 + count - 1))
    fragment, param = store.backend.id_list(wanted)
    rows = store.conn.execute(f"select id from memories where id in {fragment}", (param,))
    assert [r[0] for r in rows] == ([kept[1]] if count else [])


@pytest.mark.sqlite_only
def test_the_dedupe_lookup_searches_by_content_hash_not_by_project(store: MemoryStore) -> None:
    project = store.backend.unindexed("project")
    plan = store.conn.execute(
        f"explain query plan select id from memories where content_hash = ? and {project} = ?",
        ("sha256:x", "proj"),
    ).fetchall()
    detail = " ".join(str(row[-1]) for row in plan)
    assert "content_hash" in detail and "project" not in detail.split("USING")[-1]


@pytest.mark.sqlite_only
def test_a_short_lock_timeout_is_restored_even_when_the_write_fails(store: MemoryStore) -> None:
    with pytest.raises(StorageError), store.backend.short_lock_timeout():
        assert store.conn.execute("pragma busy_timeout").fetchone()[0] == 0
        raise StorageError("the write lock was held")
    assert store.conn.execute("pragma busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS


def test_a_failed_write_transaction_leaves_nothing_behind(store: MemoryStore) -> None:
    with pytest.raises(RuntimeError), store.backend.write_transaction(store.lock) as conn:
        conn.execute("insert into meta(key, value) values ('probe', '1')")
        raise RuntimeError("boom")
    assert store.conn.execute("select count(*) from meta where key = 'probe'").fetchone()[0] == 0


@pytest.mark.sqlite_only
def test_describe_names_the_engine_versions_doctor_reports(store: MemoryStore) -> None:
    described = store.backend.describe()
    assert {"driver", "sqlite_vec", "fts5"} <= set(described)
    assert described["fts5"] is True and "SQLite" in described["driver"]
