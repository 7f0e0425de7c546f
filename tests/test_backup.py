"""Backups are consistent copies made while serving, and every one is in the audit log."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mcp_memory import audit, erasure
from mcp_memory.backup import backup
from mcp_memory.cli import admin as cli_admin
from mcp_memory.embeddings import FakeEmbedder
from mcp_memory.errors import InvalidInput
from mcp_memory.models import Actor
from mcp_memory.storage import connect
from mcp_memory.store import MemoryStore, allow_all

# SQLite's online backup API; on PostgreSQL backups are pg_dump's job
pytestmark = pytest.mark.sqlite_only

AGENT = Actor(agent="agent-a")


def _open(path: Path) -> MemoryStore:
    return MemoryStore.open(path, embedder=FakeEmbedder(), screen=allow_all)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "live" / "memory.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[MemoryStore]:
    opened = _open(db_path)
    for text in ("Use ruff for linting", "The cache lives in ~/.cache/tool", "Ship on Fridays"):
        opened.remember(text, actor=AGENT, project="p", source="agent")
    yield opened
    opened.close()


def test_a_backup_holds_every_memory_and_can_be_recalled_from(
    store: MemoryStore, tmp_path: Path
) -> None:
    info = backup(store.conn, tmp_path / "copy.db", lock=store.lock)
    copy = _open(Path(info["dest"]))
    try:
        hits = copy.recall("ruff linting", project="p").results
        count = copy.conn.execute("select count(*) from memories").fetchone()[0]
    finally:
        copy.close()
    assert hits and hits[0].content == "Use ruff for linting"
    assert count == 3


def test_a_backup_is_one_self_contained_file(store: MemoryStore, tmp_path: Path) -> None:
    backup(store.conn, tmp_path / "copy.db", lock=store.lock)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("copy")) == ["copy.db"]


def test_a_backup_is_logged_with_the_sha256_of_the_file(store: MemoryStore, tmp_path: Path) -> None:
    info = backup(store.conn, tmp_path / "copy.db", lock=store.lock, actor="user")
    (entry,) = audit.entries(store.conn, action="backup")
    digest = "sha256:" + hashlib.sha256((tmp_path / "copy.db").read_bytes()).hexdigest()
    assert entry.data["sha256"] == info["sha256"] == digest
    assert entry.actor == "user" and entry.hash == info["audit_hash"]
    assert audit.verify(store.conn).ok


def test_the_audit_chain_inside_a_backup_still_verifies(store: MemoryStore, tmp_path: Path) -> None:
    backup(store.conn, tmp_path / "copy.db", lock=store.lock)
    copy = connect(tmp_path / "copy.db")
    try:
        result = audit.verify(copy)
    finally:
        copy.close()
    assert result.ok and result.checked == 3


def test_a_backup_never_overwrites_an_existing_file(store: MemoryStore, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    target.write_bytes(b"precious")
    with pytest.raises(InvalidInput):
        backup(store.conn, target, lock=store.lock)
    assert target.read_bytes() == b"precious"


def test_a_backup_cannot_target_the_live_database(store: MemoryStore, db_path: Path) -> None:
    with pytest.raises(InvalidInput):
        backup(store.conn, db_path, lock=store.lock, overwrite=True)


def test_backing_up_while_another_connection_writes_loses_no_write(
    store: MemoryStore, db_path: Path, tmp_path: Path
) -> None:
    other = _open(db_path)
    started = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for i in range(30):
                other.remember(f"parallel note {i} on retries", actor=AGENT, project="p")
                started.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
            started.set()

    worker = threading.Thread(target=write)
    worker.start()
    assert started.wait(timeout=30)
    info = backup(store.conn, tmp_path / "copy.db", lock=store.lock)
    worker.join(timeout=120)
    other.close()
    assert not worker.is_alive() and errors == []
    assert info["integrity"] == "ok"
    total = store.conn.execute("select count(*) from memories").fetchone()[0]
    assert total == 3 + 30


def test_an_erasure_receipt_warns_that_earlier_backups_still_hold_the_text(
    store: MemoryStore, tmp_path: Path
) -> None:
    backup(store.conn, tmp_path / "copy.db", lock=store.lock)
    plan = erasure.plan(store.conn, match="fridays")
    receipt = erasure.execute(store.conn, store.lock, plan, actor="user", vacuum=False)
    assert any(str(tmp_path / "copy.db") in note for note in receipt.notes)


def _admin_app() -> typer.Typer:
    app = typer.Typer()
    app.command("backup")(cli_admin.backup_command)
    app.command("erase")(cli_admin.erase_command)
    return app


def test_cli_backup_writes_the_file_and_prints_json(
    store: MemoryStore, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCP_MEMORY_DB", str(db_path))
    monkeypatch.setenv("MCP_MEMORY_PROJECT", "p")
    target = tmp_path / "cli-copy.db"
    out = CliRunner().invoke(_admin_app(), ["backup", str(target), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["dest"] == str(target.resolve())
    assert target.exists()
    again = CliRunner().invoke(_admin_app(), ["backup", str(target)])
    assert again.exit_code == 1
