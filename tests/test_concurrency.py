"""Several processes writing one database at once: no errors, nothing lost."""

from __future__ import annotations

import multiprocessing as mp

from .backend_helpers import keyword_index_rows, vector_rows
from .conftest import DbTarget, run_in_processes

WRITERS = 6
WRITES = 40


def _writer(db: str, n: int, out: mp.Queue) -> None:
    from mcp_memory import Actor, FakeEmbedder, MemoryStore, Settings
    from mcp_memory.config import db_target as as_target

    store = MemoryStore.open(
        settings=Settings(db_path=as_target(db), project="proj"), embedder=FakeEmbedder()
    )
    agent = Actor(agent=f"agent-{n}", client_name="proc")
    errors: list[str] = []
    for i in range(WRITES):
        try:
            store.remember(f"process {n} wrote fact {i}", actor=agent)
            if i % 10 == 0:
                store.recall(f"process {n} fact")
        except Exception as exc:  # the test reports every failure
            errors.append(repr(exc))
    store.close()
    out.put((n, errors))


def test_many_processes_write_one_database_without_errors_or_loss(db_target: DbTarget) -> None:
    from mcp_memory import FakeEmbedder, MemoryStore, Settings, audit
    from mcp_memory.config import db_target as as_target

    db = str(db_target("shared"))  # a str crosses the process boundary for any backend
    MemoryStore.open(settings=Settings(db_path=as_target(db)), embedder=FakeEmbedder()).close()
    reports = run_in_processes(_writer, [(db, n) for n in range(WRITERS)])
    assert all(not errors for _, errors in reports), reports
    store = MemoryStore.open(
        settings=Settings(db_path=as_target(db), project="proj"), embedder=FakeEmbedder()
    )
    assert store.stats()["memories"] == {"active": WRITERS * WRITES}
    assert keyword_index_rows(store) == vector_rows(store) == WRITERS * WRITES
    assert audit.verify(store.conn).ok
