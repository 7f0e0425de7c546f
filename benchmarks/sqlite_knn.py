"""SQLite vector search against exact search: recall@10 and latency of `vectors.knn`.

    python benchmarks/sqlite_knn.py --db /big/1m.db \\
        --model-dir ../shared/models/all-MiniLM-L6-v2-onnx [--queries 100] [--n 100]

`vectors.knn` ranks a project by Hamming distance over sign bits and rescores at most
RESCORE_POOL candidates exactly. The pool is a fixed number, so the share of a project it
covers shrinks as the project grows: this prints what that costs at the database's size.
Truth is an exact cosine scan of every stored vector of the project (numpy, float32).

The queries are the same synthetic questions as latency.py and pg_search_bench.py, embedded
by the product's model (int8 copy unless --float). The database is only read; it must
have been embedded by the same model.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pg_search_bench import PROJECT, pct, questions  # noqa: E402

from mcp_memory import FastEmbedder  # noqa: E402
from mcp_memory.storage import connect  # noqa: E402
from mcp_memory.storage.sqlite import vectors  # noqa: E402


def exact_matrix(conn, project: str) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """Every active vector of the project as unit rows, and their ids (read in slices)."""
    ids: list[np.ndarray] = []
    units: list[np.ndarray] = []
    last = 0
    while True:
        rows = conn.execute(
            f"""select v.memory_id, v.embedding from {vectors.FLOAT_TABLE} v
                join memories m on m.id = v.memory_id
                where v.memory_id > ? and m.project = ? and m.status = 'active'
                order by v.memory_id limit 50000""",
            (last, project),
        ).fetchall()
        if not rows:
            break
        floats = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        units.append(vectors.unit_rows(floats.reshape(len(rows), -1)))
        ids.append(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
        last = rows[-1][0]
    return np.concatenate(ids), np.concatenate(units)


def main() -> None:
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--cache-dir", default=None, help="where the int8 model copy is kept")
    ap.add_argument("--float", action="store_true", help="the float32 model, not the int8 copy")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--n", type=int, default=100, help="rows asked of knn (recall asks 100)")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    kw = {"cache_dir": Path(args.cache_dir)} if args.cache_dir else {}
    emb = FastEmbedder(model_dir=Path(args.model_dir), quantize=not args.float, **kw)
    conn = connect(args.db)
    qs = questions(args.queries, args.seed)
    query_vectors = emb.embed(qs)
    t = time.perf_counter()
    vectors.knn(conn, query_vectors[0], PROJECT, args.n)  # loads the per-process cache
    print(f"cache load: {time.perf_counter() - t:.1f} s", flush=True)
    ids, units = exact_matrix(conn, PROJECT)
    print(f"project {PROJECT!r}: {len(ids)} active vectors", flush=True)
    took, r10, r100, near = [], [], [], []
    for v in query_vectors:
        t = time.perf_counter()
        got = vectors.knn(conn, v, PROJECT, args.n)
        took.append((time.perf_counter() - t) * 1e3)
        cos = units @ vectors.unit_query(v)
        best = np.argsort(-cos, kind="stable")[: args.n]
        truth = ids[best].tolist()
        found = [m for _, m in got]
        r10.append(len(set(found[:10]) & set(truth[:10])) / 10)
        r100.append(len(set(found) & set(truth)) / len(truth))
        tenth = 1.0 - float(cos[best[9]])
        near.append(sum(d <= tenth + 1e-3 for d, _ in got[:10]) / 10)
    print(
        f"knn({args.n}) p50 {statistics.median(took):.1f} ms p95 {pct(took, 0.95):.1f} ms; "
        f"recall@10 {statistics.mean(r10):.3f} (top 10 within the exact 10th distance "
        f"{statistics.mean(near):.3f}), recall@{args.n} {statistics.mean(r100):.3f}"
    )


if __name__ == "__main__":
    main()
