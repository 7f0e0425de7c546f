"""How long does erasing one memory take in a 100k-memory database, with and without VACUUM?

Run: python benchmarks/erase.py [--rows 100000] [--keep DIR]

The database is built through the real schema (migrations, FTS triggers, the
store's vec0 table) but rows are inserted in bulk rather than through
`remember`, and vectors come from FakeEmbedder (384-dim, hashed bag of words):
the vector table has the real size and layout, the embeddings are not
semantic. Each scenario erases one memory from a fresh copy of the same
database and checks that the memory's unique text is gone from every file.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mcp_memory import erasure  # noqa: E402
from mcp_memory.embeddings import FakeEmbedder  # noqa: E402
from mcp_memory.records import content_hash
from mcp_memory.storage import write_transaction  # noqa: E402
from mcp_memory.storage.sqlite import vectors  # noqa: E402
from mcp_memory.store import MemoryStore, allow_all  # noqa: E402

UNIQUE = "zebra-quartz-4471-unique"
WORDS = tuple(
    [
        "cache",
        "build",
        "deploy",
        "test",
        "lint",
        "schema",
        "migration",
        "index",
        "query",
        "vector",
        "token",
        "retry",
        "timeout",
        "config",
        "release",
        "branch",
        "merge",
        "commit",
        "hook",
        "docker",
        "python",
        "rust",
        "typescript",
        "module",
        "package",
        "server",
        "client",
        "session",
        "agent",
        "memory",
        "project",
        "error",
        "warning",
        "latency",
        "throughput",
    ]
)
BATCH = 2000


def _text(rng: random.Random, i: int) -> str:
    return f"note {i}: " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(15, 35)))


def build(path: Path, rows: int) -> int:
    """Bulk-load rows; returns the id of the one memory carrying UNIQUE."""
    store = MemoryStore.open(path, embedder=FakeEmbedder(), screen=allow_all)
    store.embedder()  # creates vec_memories the way the store does
    emb, rng, target = FakeEmbedder(), random.Random(7), rows // 2
    started = time.perf_counter()
    for start in range(1, rows + 1, BATCH):
        ids = range(start, min(start + BATCH, rows + 1))
        texts = [f"{UNIQUE} lives here" if i == target else _text(rng, i) for i in ids]
        _insert_batch(store, list(ids), texts, emb.embed(texts))
    store.conn.execute("pragma wal_checkpoint(TRUNCATE)")
    store.close()
    print(f"built {rows:,} memories in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return target


def _insert_batch(
    store: MemoryStore, ids: list[int], texts: list[str], embeddings: np.ndarray
) -> None:
    now = time.time()
    with write_transaction(store.conn, store.lock) as conn:
        for memory_id, text, vector in zip(ids, texts, embeddings, strict=True):
            project = f"proj-{memory_id % 10}"
            conn.execute(
                "insert into memories(id, content, project, agent, source, content_hash, "
                "created_at, updated_at, embedding_model) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (memory_id, text, project, "bench", "agent", content_hash(text), now, now, "fake"),
            )
            vectors.put(conn, memory_id, project, "active", "note", vector)


def _files_bytes(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in directory.iterdir() if p.is_file())


def scenario(base: Path, work: Path, vacuum: bool) -> dict[str, object]:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copy(base, work / base.name)
    store = MemoryStore.open(work / base.name, embedder=None, screen=allow_all)
    try:
        started = time.perf_counter()
        plan = erasure.plan(store.conn, match=UNIQUE)
        planned = time.perf_counter() - started
        receipt = erasure.execute(store.conn, store.lock, plan, actor="user", vacuum=vacuum)
        total = time.perf_counter() - started
    finally:
        store.close()
    gone = UNIQUE.encode() not in _files_bytes(work) and b"quartz" not in _files_bytes(work)
    timings = receipt.purge["timings"]
    return {
        "mode": "default (VACUUM)" if vacuum else "--no-vacuum",
        "plan": planned,
        **{k: timings.get(k, 0.0) for k in ("delete", "fts_optimize", "vacuum", "checkpoint")},
        "total": total,
        "purged": receipt.purged,
        "text_gone": gone,
        "db_mb": (work / base.name).stat().st_size / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build/keep the databases here")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="erase-bench-"))
    base = root / "base" / "memory.db"
    if not base.exists():
        build(base, args.rows)
    print(f"database: {args.rows:,} memories, {base.stat().st_size / 1e6:.0f} MB")
    rows = [scenario(base, root / name, vac) for name, vac in (("vac", True), ("novac", False))]
    _print_table(rows)
    if not args.keep:
        shutil.rmtree(root)


def _print_table(rows: list[dict[str, object]]) -> None:
    cols = ("mode", "plan", "delete", "fts_optimize", "vacuum", "checkpoint", "total")
    cols += ("purged", "text_gone", "db_mb")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in rows:
        cells = [f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in cols]
        print("| " + " | ".join(cells) + " |")
    print("(seconds; one memory erased by --match; 2-core Linux box)")


if __name__ == "__main__":
    main()
