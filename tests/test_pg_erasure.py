"""Erasure on PostgreSQL: after the purge, no file of the server holds the erased bytes."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("psycopg", reason="the postgres extra (or dev) is not installed")

from mcp_memory import audit, records  # noqa: E402
from mcp_memory.storage import termstats  # noqa: E402
from mcp_memory.storage.postgres import erasure as pg_erasure  # noqa: E402
from mcp_memory.storage.postgres import vectors as pg_vectors  # noqa: E402
from tests.pg_support import PgCluster, needs_pg, with_user  # noqa: E402

pytest_plugins = ["tests.pg_support"]
pytestmark = needs_pg

DIM = 16


def _remember(backend: Any, content: str, vector: np.ndarray) -> int:
    now = time.time()
    with backend.write_transaction() as conn:
        if not pg_vectors.exists(conn):
            pg_vectors.create(conn, DIM)
        values = {
            "id": records.next_id(conn),
            "content": content,
            "keywords": "",
            "project": "proj",
            "agent": "alice",
            "source": "agent",
            "content_hash": f"sha256:{uuid.uuid4().hex}",
            "created_at": now,
            "updated_at": now,
        }
        mid = backend.insert_memory(conn, values)
        pg_vectors.put(conn, mid, "proj", "active", "note", vector)
        termstats.add(conn, "proj", content, "")
        audit.append(conn, actor="alice", action="remember", memory_id=mid, data={"n": 1})
    return mid


def _files_holding(pgdata: Path, needles: list[bytes]) -> list[str]:
    found = []
    for root, _, files in os.walk(pgdata):
        for name in files:
            path = Path(root) / name
            try:
                data = path.read_bytes()
            except OSError:  # a file removed while walking (a retired WAL segment)
                continue
            if any(n in data for n in needles):
                found.append(str(path.relative_to(pgdata)))
    return found


def _data_dir(cluster: PgCluster) -> Path:
    return Path(cluster.admin.execute("show data_directory").fetchone()[0])


def _secret(backend: Any) -> tuple[int, list[bytes]]:
    token = f"zebra-quartz-{uuid.uuid4().hex[:12]}"
    rng = np.random.default_rng()
    for i in range(30):
        _remember(backend, f"filler note {i} about caching", rng.standard_normal(DIM))
    vector = rng.standard_normal(DIM).astype(np.float32)
    mid = _remember(backend, f"The staging bucket nickname is {token}, chosen by Dana", vector)
    return mid, [token.encode(), vector.tobytes()[:32]]


def test_an_erased_memory_leaves_no_byte_in_any_file_of_the_server(
    pg_cluster: PgCluster, pg_backend: Any
) -> None:
    mid, needles = _secret(pg_backend)
    pg_backend.conn.execute("checkpoint")
    pgdata = _data_dir(pg_cluster)
    assert _files_holding(pgdata, needles), "the needle must be on disk before the erase"
    with pg_backend.write_transaction() as conn:
        assert pg_erasure.delete_memories(conn, [mid]) == 1
    result = pg_erasure.purge(pg_backend.conn, vacuum=True)
    assert not result["refused"] and result["server"]["wal_recycle"] == "off"
    assert _files_holding(pgdata, needles) == []
    assert pg_backend.conn.execute("select count(*) from memory_vectors").fetchone()[0] == 30
    assert audit.verify(pg_backend.conn).ok


def test_without_vacuum_the_receipt_says_the_bytes_remain(
    pg_cluster: PgCluster, pg_backend: Any
) -> None:
    mid, needles = _secret(pg_backend)
    with pg_backend.write_transaction() as conn:
        pg_erasure.delete_memories(conn, [mid])
    result = pg_erasure.purge(pg_backend.conn, vacuum=False)
    pg_backend.conn.execute("checkpoint")
    assert _files_holding(_data_dir(pg_cluster), needles)  # as the receipt says
    notes = " ".join(pg_erasure.purge_notes(result))
    assert "stay in the table and index files" in notes
    assert "pg_dump" in notes


def test_a_role_that_may_not_checkpoint_gets_a_receipt_that_says_so(
    pg_cluster: PgCluster, pg_url: str
) -> None:
    from mcp_memory.storage.postgres.backend import PostgresBackend

    role = f"eraser_{uuid.uuid4().hex[:8]}"
    pg_cluster.admin.execute(f"create role {role} login password 'pw'")
    owner = PostgresBackend.open(pg_url)
    owner.conn.execute(f"grant all on all tables in schema public to {role}")
    backend = PostgresBackend.open(with_user(pg_url, role, "pw"))
    try:
        result = pg_erasure.purge(backend.conn, vacuum=True)
        assert "checkpoint" in result["refused"]
        notes = " ".join(pg_erasure.purge_notes(result))
        assert "Not run" in notes and "checkpoint" in notes
    finally:
        backend.close()
        owner.conn.execute(f"drop owned by {role}")  # its grants in the test database
        owner.close()
        pg_cluster.admin.execute(f"drop role if exists {role}")


def test_deleting_nothing_is_a_no_op(pg_backend: Any) -> None:
    with pg_backend.write_transaction() as conn:
        assert pg_erasure.delete_memories(conn, []) == 0


def test_erase_through_the_store_leaves_no_byte_in_the_database_files(
    pg_url: str, tmp_path: Path
) -> None:
    """The product path (`mcp-memory erase`'s library call) on PostgreSQL, checked the way
    the SQLite twin checks its files: the text and the vector are nowhere on disk."""
    from mcp_memory import Actor, FakeEmbedder, MemoryStore, Settings, erasure
    from mcp_memory.store import allow_all
    from tests.backend_helpers import target_bytes

    agent = Actor(agent="agent-a")
    memory = MemoryStore.open(
        settings=Settings(db_path=pg_url, project="p"), embedder=FakeEmbedder(), screen=allow_all
    )
    try:
        token = f"walrus-{uuid.uuid4().hex[:12]}"
        for i in range(20):
            memory.remember(f"ordinary note {i} about queues", actor=agent, source="agent")
        secret = memory.remember(f"the vault password hint is {token}", actor=agent).id
        vector = FakeEmbedder().embed([f"the vault password hint is {token}"])[0]
        first = int(np.flatnonzero(vector)[0])  # a hashing embedder's vector is mostly zeros
        needles = [token.encode(), vector.astype(np.float32)[first : first + 4].tobytes()]
        assert any(n in target_bytes(pg_url) for n in needles)
        plan = erasure.plan(memory.conn, match=token)
        assert plan.ids == [secret]
        receipt = erasure.execute(memory.conn, memory.lock, plan, actor="user")
        assert receipt.purged, receipt.notes
        assert not any(n in target_bytes(pg_url) for n in needles)
        assert token not in [h.content for h in memory.recall("vault password").results]
        assert audit.verify(memory.conn).ok
    finally:
        memory.close()
