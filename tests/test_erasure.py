"""Erasure removes a memory's text from every byte of every database file, with a receipt."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mcp_memory import audit, erasure
from mcp_memory.cli import _common as cli_common
from mcp_memory.cli import admin as cli_admin
from mcp_memory.cli import audit as cli_audit
from mcp_memory.embeddings import FakeEmbedder
from mcp_memory.errors import InvalidInput, NotFound
from mcp_memory.models import HUMAN, Actor
from mcp_memory.records import content_hash
from mcp_memory.storage import connect
from mcp_memory.storage.sqlite import erasure as sqlite_erasure
from mcp_memory.store import MemoryStore, allow_all
from tests.conftest import DbTarget

UNIQUE = "zebra-quartz-4471-unique"
SECRET_NOTE = f"The staging bucket nickname is {UNIQUE}, chosen by Dana"
# Words that occur only in SECRET_NOTE; FTS stores them lowercased (and porter-stemmed).
UNIQUE_TOKENS = (b"zebra", b"quartz", b"dana")
OTHER_NOTES = (
    "Run the test suite with pytest -q before pushing",
    "The deploy script lives in tools/release.sh and needs make",
    "Database migrations are ordered m001, m002 and never edited",
)
AGENT = Actor(agent="agent-a")


def _open(path: Path) -> MemoryStore:
    return MemoryStore.open(path, embedder=FakeEmbedder(), screen=allow_all)


@pytest.fixture
def db_path(db_target: DbTarget, backend_kind: str, tmp_path: Path) -> Path:
    """SQLite: a file alone in its folder (the byte scans read the whole folder)."""
    if backend_kind == "sqlite":
        return tmp_path / "data" / "memory.db"
    return db_target()  # type: ignore[return-value]


@pytest.fixture
def store(db_path: Path) -> Iterator[MemoryStore]:
    opened = _open(db_path)
    yield opened
    opened.close()


def _remember(store: MemoryStore, text: str, actor: Actor = AGENT, project: str = "p") -> int:
    result = store.remember(text, actor=actor, project=project, source="agent")
    assert result.id is not None and result.status == "stored", result
    return result.id


def _seed(store: MemoryStore) -> tuple[int, list[int]]:
    others = [_remember(store, text) for text in OTHER_NOTES]
    secret = _remember(store, SECRET_NOTE)
    store.link(secret, others[0], "related", actor=AGENT)
    store.link(others[1], others[2], "supports", actor=AGENT)
    return secret, others


def _raw_bytes(directory: Path) -> bytes:
    """Every file SQLite keeps for the database: main, -wal and -shm."""
    return b"".join(p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file())


def _recalled_ids(store: MemoryStore, query: str) -> list[int]:
    return [hit.id for hit in store.recall(query, project="p").results]


def _leftovers(directory: Path, needles: tuple[bytes, ...]) -> list[bytes]:
    raw = _raw_bytes(directory)
    return [needle for needle in needles if needle in raw]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("vacuum", [True, False], ids=["default", "no-vacuum"])
def test_erase_by_match_leaves_no_byte_of_the_text_in_any_database_file(
    store: MemoryStore, db_path: Path, vacuum: bool
) -> None:
    secret, others = _seed(store)
    vector = FakeEmbedder().embed([SECRET_NOTE])[0].tobytes()
    needles = (UNIQUE.encode(), SECRET_NOTE.encode(), *UNIQUE_TOKENS, vector)
    assert _recalled_ids(store, UNIQUE)[0] == secret
    assert _leftovers(db_path.parent, needles)  # the check can see the text before erasure

    plan = erasure.plan(store.conn, match="ZEBRA-Quartz")
    receipt = erasure.execute(store.conn, store.lock, plan, actor=HUMAN.agent, vacuum=vacuum)

    assert receipt.erased_ids == [secret]
    assert receipt.purged, receipt
    assert _leftovers(db_path.parent, needles) == []
    assert secret not in _recalled_ids(store, "zebra quartz staging bucket nickname")
    assert audit.verify(store.conn).ok
    assert _recalled_ids(store, "pytest")[0] == others[0]
    assert _recalled_ids(store, "deploy script release")[0] == others[1]


@pytest.mark.sqlite_only
def test_the_receipt_counts_rows_per_table_and_names_hashes_actor_and_audit_entry(
    store: MemoryStore,
) -> None:
    secret, _ = _seed(store)
    plan = erasure.plan(store.conn, id=secret)
    expected = {"memories": 1, "memories_fts": 1, "vec_memories": 1, "links": 1}
    assert {table: plan.counts[table] for table in expected} == expected

    receipt = erasure.execute(store.conn, store.lock, plan, actor="user")

    assert receipt.counts == plan.counts
    assert receipt.content_hashes == {str(secret): content_hash(SECRET_NOTE)}
    assert receipt.by == "user"
    (entry,) = audit.entries(store.conn, action="erase")
    assert entry.hash == receipt.audit_hash
    assert entry.data["ids"] == [secret]
    assert entry.data["content_hashes"] == receipt.content_hashes
    assert UNIQUE not in json.dumps(entry.to_dict())


def test_erase_removes_the_row_index_entry_vector_and_links_but_nothing_else(
    store: MemoryStore,
) -> None:
    secret, others = _seed(store)
    before = erasure.count_rows(store.conn, others)
    erasure.execute(store.conn, store.lock, erasure.plan(store.conn, id=secret), actor="user")
    after = erasure.count_rows(store.conn, others)
    assert erasure.count_rows(store.conn, [secret]) == dict.fromkeys(before, 0)
    assert after == {**before, "links": before["links"] - 1}
    assert store.conn.execute("select count(*) from links").fetchone()[0] == 1


def test_erase_reaches_forgotten_memories_too(store: MemoryStore) -> None:
    secret, _ = _seed(store)
    store.forget(secret, actor=AGENT)
    plan = erasure.plan(store.conn, match=UNIQUE)
    assert plan.ids == [secret]
    erasure.execute(store.conn, store.lock, plan, actor="user")
    assert (
        store.conn.execute("select count(*) from memories where id = ?", (secret,)).fetchone()[0]
        == 0
    )


def test_erase_clears_rows_in_tables_that_reference_a_memory(store: MemoryStore) -> None:
    secret, _ = _seed(store)
    store.conn.execute("create table side_notes (memory_id integer, note text)")
    store.conn.execute("insert into side_notes values (?, 'about the zebra')", (secret,))
    plan = erasure.plan(store.conn, id=secret)
    assert plan.counts["side_notes"] == 1
    erasure.execute(store.conn, store.lock, plan, actor="user")
    assert store.conn.execute("select count(*) from side_notes").fetchone()[0] == 0


def test_match_is_a_plain_substring_not_an_fts_query(store: MemoryStore) -> None:
    tricky = _remember(store, 'Build c++ targets with "make all" OR ninja')
    _remember(store, "Build the docs with mkdocs")
    assert erasure.plan(store.conn, match='c++ targets with "make').ids == [tricky]
    assert erasure.plan(store.conn, match=" OR ").ids == [tricky]
    assert erasure.plan(store.conn, match="*").ids == []


def test_match_folds_case_beyond_ascii(store: MemoryStore) -> None:
    target = _remember(store, "Die Größe des Caches ist 64 MB")
    assert erasure.plan(store.conn, match="GRÖSSE").ids == [target]


def test_plan_selects_by_agent_project_and_since(store: MemoryStore) -> None:
    mine = _remember(store, "a note from agent a")
    theirs = _remember(store, "a note from agent b", actor=Actor(agent="agent-b"), project="q")
    store.conn.execute("update memories set created_at = 0 where id = ?", (mine,))
    assert erasure.plan(store.conn, agent="agent-b").ids == [theirs]
    assert erasure.plan(store.conn, project="q").ids == [theirs]
    assert erasure.plan(store.conn, since="2000-01-01").ids == [theirs]
    assert erasure.plan(store.conn, since="0").ids == [mine, theirs]


def test_planning_writes_nothing(store: MemoryStore) -> None:
    secret, _ = _seed(store)
    entries = len(audit.entries(store.conn))
    erasure.plan(store.conn, match=UNIQUE)
    assert len(audit.entries(store.conn)) == entries
    assert _recalled_ids(store, UNIQUE)[0] == secret


@pytest.mark.parametrize(
    "selectors", [{}, {"id": 1, "agent": "a"}, {"match": "x", "since": "1d"}, {"match": "  "}]
)
def test_plan_needs_exactly_one_non_empty_selector(store: MemoryStore, selectors: dict) -> None:
    with pytest.raises(InvalidInput):
        erasure.plan(store.conn, **selectors)


def test_plan_for_an_unknown_id_says_not_found(store: MemoryStore) -> None:
    with pytest.raises(NotFound):
        erasure.plan(store.conn, id=999)


@pytest.mark.sqlite_only
def test_a_deleted_vector_slot_left_with_bytes_is_zeroed(store: MemoryStore) -> None:
    first = _remember(store, "first vector note")
    second = _remember(store, "second vector note")
    ((chunk, offset),) = sqlite_erasure.vector_slots(store.conn, [second])
    store.conn.execute("delete from vec_memories where memory_id = ?", (second,))
    blob = store.conn.execute(
        "select vectors from vec_memories_vector_chunks00 where rowid = ?", (chunk,)
    ).fetchone()[0]
    size = store.conn.execute(
        "select size from vec_memories_chunks where chunk_id = ?", (chunk,)
    ).fetchone()[0]
    width = len(blob) // size
    dirty = blob[: offset * width] + b"\x01" * width + blob[(offset + 1) * width :]
    store.conn.execute(
        "update vec_memories_vector_chunks00 set vectors = ? where rowid = ?", (dirty, chunk)
    )
    sqlite_erasure.zero_vector_slots(store.conn, [(chunk, offset)])
    cleaned = store.conn.execute(
        "select vectors from vec_memories_vector_chunks00 where rowid = ?", (chunk,)
    ).fetchone()[0]
    assert cleaned[offset * width : (offset + 1) * width] == bytes(width)
    assert cleaned[: offset * width] == blob[: offset * width]
    assert first != second


@pytest.mark.sqlite_only
def test_the_receipt_admits_when_a_reader_pins_old_bytes_in_the_wal(
    store: MemoryStore, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_erasure, "CHECKPOINT_ATTEMPTS", 1)
    secret, _ = _seed(store)
    reader = connect(db_path)
    reader.execute("begin")
    reader.execute("select count(*) from memories").fetchone()
    try:
        plan = erasure.plan(store.conn, id=secret)
        receipt = erasure.execute(store.conn, store.lock, plan, actor="user", vacuum=False)
    finally:
        reader.execute("commit")
        reader.close()
    assert not receipt.purged
    assert receipt.purge["checkpoint"]["busy"] == 1
    assert any("checkpoint" in note for note in receipt.notes)
    assert store.backend.checkpoint(store.lock)["busy"] == 0
    assert _leftovers(db_path.parent, (UNIQUE.encode(), *UNIQUE_TOKENS)) == []


def test_erasing_while_another_connection_writes_and_reads_loses_nothing(
    store: MemoryStore, db_path: Path
) -> None:
    secret, _ = _seed(store)
    other = _open(db_path)
    started = threading.Event()
    errors: list[BaseException] = []
    written: list[int] = []

    def write_and_read() -> None:
        try:
            for i in range(40):
                written.append(_remember(other, f"concurrent note number {i} about caching"))
                other.recall("caching", project="p")
                started.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
            started.set()

    worker = threading.Thread(target=write_and_read)
    worker.start()
    assert started.wait(timeout=30)
    receipt = erasure.execute(
        store.conn, store.lock, erasure.plan(store.conn, id=secret), actor="user"
    )
    worker.join(timeout=120)
    other.close()
    assert not worker.is_alive()
    assert errors == []
    assert receipt.erased_ids == [secret]
    assert len(written) == 40
    stored = store.conn.execute(
        "select count(*) from memories where content like 'concurrent note number %'"
    ).fetchone()[0]
    assert stored == 40
    assert audit.verify(store.conn).ok


# ---- CLI -------------------------------------------------------------------------------------


def _admin_app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(cli_audit.audit_app, name="audit")
    app.command("erase")(cli_admin.erase_command)
    return app


@pytest.fixture
def cli_store(store: MemoryStore, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> MemoryStore:
    monkeypatch.setenv("MCP_MEMORY_DB", str(db_path))
    monkeypatch.setenv("MCP_MEMORY_PROJECT", "p")
    return store


def _erase(*args: str, stdin: str | None = None) -> object:
    return CliRunner().invoke(_admin_app(), ["erase", *args], input=stdin)


def _exists(store: MemoryStore, memory_id: int) -> bool:
    row = store.conn.execute("select 1 from memories where id = ?", (memory_id,)).fetchone()
    return row is not None


def test_cli_dry_run_shows_what_would_go_and_changes_nothing(cli_store: MemoryStore) -> None:
    secret, _ = _seed(cli_store)
    out = _erase("--match", "zebra", "--dry-run", "--json")
    assert out.exit_code == 0, out.output
    shown = json.loads(out.stdout)
    assert shown["ids"] == [secret] and shown["dry_run"] is True
    assert shown["counts"]["links"] == 1
    assert _exists(cli_store, secret)


@pytest.mark.sqlite_only
def test_cli_erase_with_yes_and_json_prints_the_receipt(
    cli_store: MemoryStore, db_path: Path
) -> None:
    secret, others = _seed(cli_store)
    out = _erase("--match", "zebra-quartz", "--yes", "--json")
    assert out.exit_code == 0, out.output
    receipt = json.loads(out.stdout)
    assert receipt["erased_ids"] == [secret]
    assert receipt["purged"] is True
    assert receipt["audit_hash"].startswith("sha256:")
    assert not _exists(cli_store, secret) and all(_exists(cli_store, i) for i in others)
    assert _leftovers(db_path.parent, (UNIQUE.encode(), *UNIQUE_TOKENS)) == []
    verify = CliRunner().invoke(_admin_app(), ["audit", "verify"])
    assert verify.exit_code == 0, verify.output


def test_cli_erase_asks_first_on_a_terminal_and_a_no_keeps_everything(
    cli_store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_common, "stdin_is_tty", lambda: True)
    secret, _ = _seed(cli_store)
    out = _erase("--id", str(secret), stdin="n\n")
    assert out.exit_code == 1
    assert _exists(cli_store, secret)


def test_cli_erase_asks_first_on_a_terminal_and_a_yes_erases_as_interactive(
    cli_store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_common, "stdin_is_tty", lambda: True)
    secret, _ = _seed(cli_store)
    out = _erase("--id", str(secret), stdin="y\n")
    assert out.exit_code == 0, out.output
    assert not _exists(cli_store, secret)
    assert audit.entries(cli_store.conn, action="erase")[-1].data["interactive"] is True


def test_cli_erase_without_a_terminal_or_yes_refuses_and_erases_nothing(
    cli_store: MemoryStore,
) -> None:
    secret, _ = _seed(cli_store)
    out = _erase("--id", str(secret), stdin="y\n")  # a script piping "y" is not a person
    assert out.exit_code == 2
    assert "pass --yes" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert _exists(cli_store, secret)


@pytest.mark.parametrize(
    "args", [[], ["--id", "1", "--agent", "a"], ["--since", "someday"], ["--match", ""]]
)
def test_cli_erase_with_bad_selectors_is_bad_usage(cli_store: MemoryStore, args: list[str]) -> None:
    _seed(cli_store)
    out = _erase(*args, "--yes")
    assert out.exit_code == 2, out.output
    assert cli_store.conn.execute("select count(*) from memories").fetchone()[0] == 4


def test_cli_erase_of_an_unknown_id_is_a_failed_operation(cli_store: MemoryStore) -> None:
    out = _erase("--id", "999", "--yes")
    assert out.exit_code == 1


def test_cli_erase_with_nothing_matching_succeeds_without_writing(cli_store: MemoryStore) -> None:
    _seed(cli_store)
    entries = len(audit.entries(cli_store.conn))
    out = _erase("--match", "no such text anywhere", "--yes", "--json")
    assert out.exit_code == 0
    assert json.loads(out.stdout)["erased_ids"] == []
    assert len(audit.entries(cli_store.conn)) == entries
