"""Bad conditions (issue 18): a corrupt, read-only, locked, missing or misplaced database
gives one clear line and the documented exit code at the terminal, and a ToolError naming
the cause over MCP, where the server keeps running and recovers once the file is fixed.

Real files throughout: truncated, overwritten and random-byte databases, a `mode=ro` URI
(root ignores file modes), a second process holding BEGIN IMMEDIATE.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from mcp import Client, StdioServerParameters
from typer.testing import CliRunner

from mcp_memory import HUMAN, FakeEmbedder, MemoryStore, Settings
from mcp_memory.cli import app
from mcp_memory.doctor import recovery_command
from mcp_memory.server.app import create_server

from .conftest import HAVE_MODEL
from .pg_support import needs_pg

pytestmark = pytest.mark.anyio

runner = CliRunner()
NOTE = "The release build runs make dist from the repository root"


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def one_error_line(result: Any, code: int = 1) -> str:
    """The contract: the exit code, and on stderr a single `Error: ...` line, no traceback."""
    assert result.exit_code == code, result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


_EMBEDDER: list[Any] = []


@pytest.fixture(autouse=True)
def _embedder(request: pytest.FixtureRequest) -> None:
    """The model the commands under test load, so that a recall finds the vector index it
    expects and has nothing to rebuild; the fake one when no model is here (the commands
    are keyword-only then, and leave the index alone)."""
    _EMBEDDER[:] = [request.getfixturevalue("real_embedder") if HAVE_MODEL else FakeEmbedder()]


def make_database(path: Path) -> Path:
    """A real database holding one memory (#1), closed and checkpointed."""
    store = MemoryStore.open(path, embedder=_EMBEDDER[0])
    store.remember(NOTE, actor=HUMAN)
    store.close()
    return path


def truncate(path: Path) -> None:
    with path.open("r+b") as fh:
        fh.truncate(path.stat().st_size // 3)


def garbage_header(path: Path) -> None:
    with path.open("r+b") as fh:
        fh.write(b"this is no SQLite header, no")


def random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(16 * 1024))


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "truncated": truncate,
    "garbage header": garbage_header,
    "random bytes": random_bytes,
}


@pytest.fixture(params=list(CORRUPTIONS))
def corrupt_db(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    db = make_database(tmp_path / "memory.db")
    CORRUPTIONS[request.param](db)
    return db


def read_only(db: Path) -> str:
    """The database opened read-only: a `mode=ro` URI, which holds for root too."""
    return f"file:{db}?mode=ro"


def server_settings(db: str | Path) -> Settings:
    return replace(Settings.from_env(), db_path=Path(db))


def text_of(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


# ---- corrupted database ------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("remember", NOTE),
        ("recall", "release build"),
        ("audit", "verify"),
        ("quarantine", "list"),
        ("backup", "{tmp}/copy.db"),
        ("serve", "--transport", "http", "--port", "0"),  # its tokens come from the database
    ],
)
def test_a_corrupt_database_is_one_line_naming_the_file_and_exit_1(
    corrupt_db: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    argv = [a.format(tmp=tmp_path) for a in args]
    line = one_error_line(run(*argv, "--db", str(corrupt_db)))
    assert f"the database {corrupt_db} is unusable" in line
    assert "mcp-memory doctor" in line


def test_doctor_diagnoses_a_corrupt_database_and_says_how_to_recover(corrupt_db: Path) -> None:
    r = run("doctor", "--db", str(corrupt_db))
    assert r.exit_code == 1, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert f"database: cannot be used: the database {corrupt_db} is unusable" in r.stdout
    assert recovery_command(str(corrupt_db)) in r.stdout
    assert "sqlean" in r.stdout  # the engine is still described: from an in-memory database


def _damage_memory_rows(db: Path) -> None:
    """Overwrite leaf pages of the memories table (found with dbstat) and nothing else: the
    file still opens and migrates, the damage is met only by what reads those rows."""
    from mcp_memory.storage.driver import sqlite3

    conn = sqlite3.connect(str(db))
    page_size = conn.execute("pragma page_size").fetchone()[0]
    leaves = [
        r[0]
        for r in conn.execute(
            "select pageno from dbstat where name = 'memories' and pagetype = 'leaf'"
        )
    ]
    conn.close()
    assert len(leaves) > 4
    with db.open("r+b") as fh:
        for page in leaves[1:4]:
            fh.seek((page - 1) * page_size)
            fh.write(os.urandom(page_size))


@pytest.fixture
def rotten_db(tmp_path: Path) -> Path:
    db = tmp_path / "memory.db"
    store = MemoryStore.open(db, embedder=FakeEmbedder())  # no recall here: any model will do
    for i in range(300):
        store.remember(f"{NOTE} number {i} with padding " + "x" * 200, actor=HUMAN)
    store.close()
    _damage_memory_rows(db)
    return db


def test_doctor_finds_damage_an_open_does_not_see(rotten_db: Path) -> None:
    """Pages past the schema can rot while every table still opens: quick_check reads them."""
    r = run("doctor", "--json", "--db", str(rotten_db))
    assert r.exit_code == 1, r.output
    assert '"ok": false' in r.stdout and ".dump" in r.stdout


@pytest.mark.parametrize("args", [("export",), ("context",), ("recall", "release build")])
def test_damage_met_in_the_middle_of_a_command_is_one_line_naming_the_file(
    rotten_db: Path, args: tuple[str, ...]
) -> None:
    line = one_error_line(run(*args, "--db", str(rotten_db)))
    assert f"the database {rotten_db} is unusable" in line


async def test_the_server_starts_on_a_corrupt_database_names_the_cause_on_every_tool_and_recovers(
    tmp_path: Path,
) -> None:
    good = make_database(tmp_path / "good.db")
    db = tmp_path / "memory.db"
    random_bytes(db)
    calls = [
        ("remember", {"content": NOTE}),
        ("recall", {"query": "release build"}),
        ("forget", {"id": 1}),
        ("link", {"source_id": 1, "target_id": 2, "relation": "related"}),
    ]
    async with Client(create_server(server_settings(db))) as client:
        for name, args in calls:
            result = await client.call_tool(name, args)
            assert result.is_error, name
            assert f"the database {db} is unusable (file is not a database)" in text_of(result)
        shutil.copyfile(good, db)  # the human restores a backup; no restart
        found = await client.call_tool("recall", {"query": "release build"})
        assert not found.is_error, text_of(found)
        assert found.structured_content["results"][0]["content"] == NOTE


async def test_serve_over_real_stdio_on_a_corrupt_database_stays_up_and_names_the_cause(
    tmp_path: Path,
) -> None:
    """What an MCP client spawns: the process must not exit (the client would see only a
    closed connection), and the agent must be told why nothing works."""
    db = tmp_path / "memory.db"
    garbage_header(make_database(db))
    env = {**os.environ, "MCP_MEMORY_DB": str(db)}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_memory", "serve"], env=env, cwd=str(tmp_path)
    )
    async with Client(params) as client:
        for _ in range(2):  # and it is still there for the next call
            result = await client.call_tool("recall", {"query": "release build"})
            assert result.is_error and f"the database {db} is unusable" in text_of(result)


# ---- read-only database ------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [("remember", "Deploys need a green CI run first"), ("forget", "1"), ("erase", "--id", "1")],
)
def test_a_write_to_a_read_only_database_is_one_line_and_exit_1(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    db = make_database(tmp_path / "memory.db")
    line = one_error_line(
        run(*args, "--yes" if args[0] == "erase" else "--json", "--db", read_only(db))
    )
    assert "is read-only" in line and "reads still work" in line


def test_reads_and_a_backup_still_work_on_a_read_only_database(tmp_path: Path) -> None:
    db = make_database(tmp_path / "memory.db")
    found = run("recall", "release build", "--json", "--db", read_only(db))
    assert found.exit_code == 0 and NOTE in found.stdout, found.output
    copy = tmp_path / "copy.db"
    backed = run("backup", str(copy), "--db", read_only(db))
    assert backed.exit_code == 0, backed.output
    assert copy.is_file() and "not recorded in the audit log" in backed.stderr


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file modes")
def test_a_write_to_a_file_without_write_permission_is_one_line(tmp_path: Path) -> None:
    db = make_database(tmp_path / "memory.db")
    db.chmod(0o444)
    line = one_error_line(run("forget", "1", "--db", str(db)))
    assert "is read-only" in line


def test_doctor_says_a_read_only_database_cannot_take_writes(tmp_path: Path) -> None:
    db = make_database(tmp_path / "memory.db")
    r = run("doctor", "--db", read_only(db))
    assert r.exit_code == 1, r.output
    assert "writable: no: " in r.stdout and "is read-only" in r.stdout


async def test_the_server_on_a_read_only_database_answers_recall_and_names_the_cause_of_a_write(
    tmp_path: Path,
) -> None:
    db = make_database(tmp_path / "memory.db")
    async with Client(create_server(server_settings(read_only(db)))) as client:
        wrote = await client.call_tool("remember", {"content": "Tabs are banned in the Makefile"})
        assert wrote.is_error and "is read-only" in text_of(wrote), text_of(wrote)
        found = await client.call_tool("recall", {"query": "release build"})
        assert not found.is_error and found.structured_content["results"], text_of(found)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file modes")
async def test_the_server_writes_again_once_a_read_only_file_is_made_writable(
    tmp_path: Path,
) -> None:
    db = make_database(tmp_path / "memory.db")
    for path in (db, tmp_path):
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        async with Client(create_server(server_settings(db))) as client:
            refused = await client.call_tool("remember", {"content": "Tabs go in Makefiles"})
            assert refused.is_error and "is read-only" in text_of(refused), text_of(refused)
            tmp_path.chmod(0o755)
            db.chmod(0o644)  # the human fixes it; no restart
            stored = await client.call_tool("remember", {"content": "Tabs go in Makefiles"})
            assert not stored.is_error, text_of(stored)
    finally:
        tmp_path.chmod(0o755)
        db.chmod(0o644)


# ---- a database path under a file --------------------------------------------------------


def test_a_database_path_under_a_file_is_one_line_naming_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a folder")
    line = one_error_line(run("remember", NOTE, "--db", str(blocker / "sub" / "memory.db")))
    assert f"{blocker} is a file, not a folder" in line


async def test_the_server_names_a_database_path_under_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a folder")
    async with Client(create_server(server_settings(blocker / "memory.db"))) as client:
        result = await client.call_tool("recall", {"query": "anything"})
        assert result.is_error and f"{blocker} is a file, not a folder" in text_of(result)


# ---- migrate-to without the postgres extra -----------------------------------------------


def test_migrate_to_without_the_postgres_extra_is_a_usage_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = make_database(tmp_path / "memory.db")
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import fails, as without the extra
    monkeypatch.setitem(sys.modules, "mcp_memory.storage.postgres.backend", None)
    line = one_error_line(
        run("migrate-to", "postgresql://team:s3cret@db.example/memory", "--db", str(db)), code=2
    )
    assert "pip install 'mcp-memory[postgres]'" in line and "s3cret" not in line


# ---- another process holds the write lock ------------------------------------------------

HOLD_LOCK = """
import sys
from mcp_memory.storage.driver import sqlite3
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("begin immediate")
print("held", flush=True)
sys.stdin.readline()
conn.execute("rollback")
"""


class LockHolder:
    """A second process inside BEGIN IMMEDIATE until `release()`: no sleeps, no races."""

    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "held"
        self.pid = self.proc.pid

    def release(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)


@contextmanager
def write_lock_held(db: Path) -> Iterator[LockHolder]:
    holder = LockHolder(db)
    try:
        yield holder
    finally:
        holder.release()


@pytest.mark.parametrize(
    "args",
    [
        ("recall", "release build", "--json"),
        ("quarantine", "list"),
        ("agents", "list"),
        ("audit", "verify"),
        ("context",),
    ],
)
def test_reads_never_wait_for_another_process_holding_the_write_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    db = make_database(tmp_path / "memory.db")
    monkeypatch.setenv("MCP_MEMORY_BUSY_TIMEOUT", "0.2")  # a read that took the lock would fail
    with write_lock_held(db):
        r = run(*args, "--db", str(db))
    assert r.exit_code == 0, r.output


def test_a_write_gives_up_after_the_busy_timeout_and_names_the_process_holding_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = make_database(tmp_path / "memory.db")
    monkeypatch.setenv("MCP_MEMORY_BUSY_TIMEOUT", "0.5")
    with write_lock_held(db) as holder:
        started = time.monotonic()
        r = run("forget", "1", "--db", str(db))
        waited = time.monotonic() - started
        line = one_error_line(r)
    assert "database busy" in line and "MCP_MEMORY_BUSY_TIMEOUT" in line
    assert f"pid {holder.pid} (" in line
    assert waited < 5  # the configured half second, not the old 5 x 10 s of retries
    assert run("forget", "1", "--db", str(db)).exit_code == 0  # released: it goes through


async def test_a_server_started_under_a_held_write_lock_serves_reads_and_writes_once_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = make_database(tmp_path / "memory.db")
    monkeypatch.setenv("MCP_MEMORY_BUSY_TIMEOUT", "0.5")
    holder = LockHolder(db)
    try:
        async with Client(create_server(server_settings(db))) as client:
            found = await client.call_tool("recall", {"query": "release build"})
            assert not found.is_error and found.structured_content["results"], text_of(found)
            blocked = await client.call_tool("forget", {"id": 1})
            assert blocked.is_error and "database busy" in text_of(blocked)
            assert f"pid {holder.pid}" in text_of(blocked)
            holder.release()
            done = await client.call_tool("remember", {"content": "Tabs are required in Makefiles"})
            assert not done.is_error and done.structured_content["status"] == "stored"
    finally:
        holder.release()


# ---- read commands on a missing path -----------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("recall", "anything"),
        ("forget", "1"),
        ("quarantine", "list"),
        ("agents", "list"),
        ("agents", "token", "list"),
        ("audit", "log"),
        ("audit", "verify"),
        ("export",),
        ("context",),
        ("backup", "{tmp}/copy.db"),
    ],
)
def test_a_read_command_on_a_missing_database_says_so_and_creates_nothing(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    db = tmp_path / "nowhere" / "memory.db"
    line = one_error_line(run(*[a.format(tmp=tmp_path) for a in args], "--db", str(db)))
    assert line.startswith(f"Error: no database at {db}")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_doctor_on_a_missing_database_reports_it_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "nowhere" / "memory.db"
    r = run("doctor", "--db", str(db))
    assert r.exit_code == 0, r.output
    assert "database: none yet" in r.stdout and not (tmp_path / "nowhere").exists()


# ---- backup to a missing folder ----------------------------------------------------------


def test_backup_into_a_missing_folder_is_one_line_and_makes_no_folders(tmp_path: Path) -> None:
    db = make_database(tmp_path / "memory.db")
    dest = tmp_path / "no" / "such" / "dir" / "b.db"
    line = one_error_line(run("backup", str(dest), "--db", str(db)))
    assert f"no folder {dest.parent}" in line
    assert not (tmp_path / "no").exists()


# ---- the same rows on PostgreSQL ---------------------------------------------------------


def _pg_database_with_a_memory(pg_url: str) -> str:
    store = MemoryStore.open(pg_url, embedder=_EMBEDDER[0])
    store.remember(NOTE, actor=HUMAN)
    store.close()
    return pg_url


@pytest.mark.postgres
@needs_pg
def test_a_read_only_postgres_database_serves_reads_and_refuses_writes_in_one_line(
    pg_url: str, pg_cluster: Any
) -> None:
    url = _pg_database_with_a_memory(pg_url)
    name = urlsplit(url).path.lstrip("/")
    pg_cluster.admin.execute(f'alter database "{name}" set default_transaction_read_only = on')
    found = run("recall", "release build", "--json", "--db", url)
    assert found.exit_code == 0 and NOTE in found.stdout, found.output
    line = one_error_line(run("forget", "1", "--db", url))
    assert "is read-only" in line and "read-only transaction" in line


@pytest.mark.postgres
@needs_pg
def test_postgres_reads_never_wait_for_the_write_lock_and_writes_give_up_after_the_timeout(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from mcp_memory.storage.postgres.backend import WRITE_LOCK

    url = _pg_database_with_a_memory(pg_url)
    monkeypatch.setenv("MCP_MEMORY_BUSY_TIMEOUT", "0.5")
    with psycopg.connect(url) as holder:  # another process's writer, inside its transaction
        holder.execute("select pg_advisory_xact_lock(%s, %s)", WRITE_LOCK)
        started = time.monotonic()
        found = run("recall", "release build", "--json", "--db", url)
        assert found.exit_code == 0 and NOTE in found.stdout, found.output
        line = one_error_line(run("forget", "1", "--db", url))
        assert "database busy" in line and "MCP_MEMORY_BUSY_TIMEOUT" in line
        assert time.monotonic() - started < 20  # not the old 10 s per write
        holder.rollback()
    assert run("forget", "1", "--db", url).exit_code == 0


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="needs the sqlite3 shell")
def test_the_recovery_doctor_prints_rebuilds_a_damaged_database_that_then_serves(
    tmp_path: Path,
) -> None:
    db = tmp_path / "memory.db"
    store = MemoryStore.open(db, embedder=_EMBEDDER[0])
    for i in range(200):
        store.remember(f"Build note {i}: the release uses make dist " + "x" * 300, actor=HUMAN)
    store.close()
    size = db.stat().st_size
    with db.open("r+b") as fh:  # damage a stretch in the middle, past the schema
        fh.seek(size // 2)
        fh.write(os.urandom(size // 8))
    report = run("doctor", "--json", "--db", str(db))
    assert report.exit_code == 1, report.output
    command = recovery_command(str(db))
    assert command in report.stdout
    # The last sqlite3 may exit non-zero over a statement the damage garbled; what matters
    # is what it kept, checked below.
    subprocess.run(command, shell=True, capture_output=True)  # noqa: S602
    recovered = Path(f"{db}.recovered")
    checked = run("doctor", "--rebuild-indexes", "--db", str(recovered))
    assert checked.exit_code == 0, checked.output
    found = run("recall", "release make dist", "--json", "--db", str(recovered))
    assert found.exit_code == 0 and "Build note" in found.stdout, found.output


def test_opening_without_create_is_no_database_and_leaves_no_file(tmp_path: Path) -> None:
    from mcp_memory.errors import NoDatabase
    from mcp_memory.storage import open_backend

    with pytest.raises(NoDatabase, match="no database at"):
        open_backend(tmp_path / "sub" / "memory.db", create=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("value", "ms"), [("2.5", 2500), ("0", 0), ("soon", 10_000), ("-1", 10_000)]
)
def test_the_busy_timeout_comes_from_the_environment_in_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, ms: int
) -> None:
    from mcp_memory.storage import open_backend

    monkeypatch.setenv("MCP_MEMORY_BUSY_TIMEOUT", value)
    backend = open_backend(tmp_path / "memory.db")
    try:
        assert backend.conn.execute("pragma busy_timeout").fetchone()[0] == ms
    finally:
        backend.close()
