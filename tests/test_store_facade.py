"""MemoryStore as the library's front door: erase, backup and the audit log without the CLI.

The modules behind these methods have their own tests (test_erasure, test_backup,
test_audit); these check that the store's methods reach them with the store's own
connection and lock, and that a library caller gets what the CLI prints.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_memory import HUMAN, FakeEmbedder, MemoryStore
from mcp_memory.errors import InvalidInput, NotFound
from mcp_memory.store import allow_all

from .conftest import AGENT, OTHER


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "memory.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[MemoryStore]:
    opened = MemoryStore.open(db_path, embedder=FakeEmbedder(), screen=allow_all)
    yield opened
    opened.close()


def _seed(store: MemoryStore) -> tuple[int, int, int]:
    first = store.remember("The build uses ruff for linting", actor=AGENT, project="p").id
    second = store.remember("Releases ship from the main branch", actor=AGENT, project="p").id
    third = store.remember("The staging bucket is called zebra", actor=OTHER, project="p").id
    assert first and second and third
    return first, second, third


def test_erase_plan_writes_nothing_and_erase_deletes_what_it_planned(
    store: MemoryStore, db_path: Path
) -> None:
    first, second, third = _seed(store)
    entries_before = len(store.audit_log())

    plan = store.erase_plan(agent=AGENT.agent)

    assert plan.ids == [first, second]
    assert plan.counts["memories"] == 2
    assert len(store.audit_log()) == entries_before
    receipt = store.erase(plan)
    assert receipt.erased_ids == [first, second]
    assert receipt.by == HUMAN.agent
    assert receipt.purged, receipt
    for gone in (first, second):
        with pytest.raises(NotFound):
            store.get(gone)
    assert store.get(third).content == "The staging bucket is called zebra"
    assert b"ruff for linting" not in db_path.read_bytes()
    (entry,) = store.audit_log(action="erase")
    assert entry.hash == receipt.audit_hash
    assert entry.actor == HUMAN.agent
    assert store.verify_audit().ok


def test_erase_plan_refuses_what_erasure_plan_refuses(store: MemoryStore) -> None:
    _seed(store)
    with pytest.raises(InvalidInput):
        store.erase_plan(agent=AGENT.agent, project="p")
    with pytest.raises(InvalidInput):
        store.erase_plan()
    with pytest.raises(NotFound):
        store.erase_plan(id=999)


def test_erase_by_match_without_vacuum_still_deletes(store: MemoryStore) -> None:
    _, _, third = _seed(store)
    receipt = store.erase(store.erase_plan(match="ZEBRA"), vacuum=False)
    assert receipt.erased_ids == [third]
    hits = store.recall("staging bucket zebra", project="p").results
    assert third not in [hit.id for hit in hits]
    assert store.stats()["memories"] == {"active": 2}


def test_backup_writes_a_copy_that_opens_and_is_fingerprinted_in_the_audit_log(
    store: MemoryStore, tmp_path: Path
) -> None:
    _seed(store)
    dest = tmp_path / "copies" / "backup.db"
    dest.parent.mkdir()  # a backup never makes folders: a typo must not grow a tree

    info = store.backup(dest)

    assert info["dest"] == str(dest.resolve())
    assert info["sha256"] == "sha256:" + hashlib.sha256(dest.read_bytes()).hexdigest()
    copy = MemoryStore.open(dest, embedder=FakeEmbedder(), screen=allow_all)
    try:
        assert [r.content for r in copy.iter_records()] == [r.content for r in store.iter_records()]
    finally:
        copy.close()
    (entry,) = store.audit_log(action="backup")
    assert entry.hash == info["audit_hash"]
    assert entry.actor == HUMAN.agent
    assert store.verify_audit().ok


def test_backup_will_not_overwrite_unless_asked(store: MemoryStore, tmp_path: Path) -> None:
    _seed(store)
    dest = tmp_path / "backup.db"
    store.backup(dest)
    with pytest.raises(InvalidInput):
        store.backup(dest)
    info = store.backup(dest, overwrite=True)
    assert len(store.audit_log(action="backup")) == 2
    assert info["integrity"] == "ok"


def test_audit_log_filters_like_the_cli_and_keeps_the_newest_under_a_limit(
    store: MemoryStore,
) -> None:
    first, second, third = _seed(store)
    store.forget(first, actor=AGENT)

    everything = store.audit_log()
    assert [e.action for e in everything] == ["remember"] * 3 + ["forget"]
    assert [e.seq for e in everything] == sorted(e.seq for e in everything)
    assert [e.memory_id for e in store.audit_log(agent=OTHER.agent)] == [third]
    assert [e.memory_id for e in store.audit_log(action="forget")] == [first]
    assert [e.action for e in store.audit_log(memory_id=first)] == ["remember", "forget"]
    assert [e.memory_id for e in store.audit_log(limit=2)] == [third, first]
    assert len(store.audit_log(since="1h")) == 4
    assert second in [e.memory_id for e in everything]


def test_verify_audit_names_the_first_edited_entry(store: MemoryStore) -> None:
    _seed(store)
    result = store.verify_audit()
    assert result.ok and result.checked == 3

    store.conn.execute("update audit_log set actor = 'user' where seq = 2")

    broken = store.verify_audit()
    assert not broken.ok
    assert broken.first_bad_seq == 2
    assert broken.checked == 1
