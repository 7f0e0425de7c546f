from __future__ import annotations

from pathlib import Path

import pytest

from mcp_memory import storage as db
from mcp_memory.storage import SqliteBackend
from mcp_memory.storage.sqlite.migrations import MIGRATIONS, migrate, pending

pytestmark = pytest.mark.sqlite_only  # SQLite DDL, pragmas and sqlite_master


def test_an_empty_file_migrates_to_the_full_schema_in_order(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "fresh.db")
    assert pending(conn) == [name for name, _ in MIGRATIONS]
    ran = migrate(conn)
    assert ran == [name for name, _ in MIGRATIONS]
    assert ran == sorted(ran) and all(name.startswith("m0") for name in ran)
    tables = {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
    assert {"memories", "memories_fts", "links", "agents", "audit_log", "reviews"} <= tables
    recorded = [r[0] for r in conn.execute("select name from schema_migrations order by name")]
    assert recorded == ran


def test_migrating_twice_applies_nothing_the_second_time(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "twice.db")
    migrate(conn)
    assert migrate(conn) == []
    assert pending(conn) == []


def test_connections_use_wal_busy_timeout_and_load_sqlite_vec(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "p.db")
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert conn.execute("pragma busy_timeout").fetchone()[0] >= 5000
    described = SqliteBackend(conn).describe()
    assert described["sqlite_vec"].startswith("v")
    assert described["fts5"] is True


def test_a_failed_write_transaction_rolls_everything_back(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "r.db")
    migrate(conn)
    try:
        with db.write_transaction(conn):
            conn.execute("insert into meta(key, value) values ('k', 'v')")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert conn.execute("select count(*) from meta where key = 'k'").fetchone()[0] == 0
    assert not conn.in_transaction
