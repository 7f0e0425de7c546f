"""How recall and remember cost grows with corpus size (real model, in process).

    python benchmarks/scale.py --model-dir ../shared/models/all-MiniLM-L6-v2-onnx \\
        [--sizes 1000 10000 100000] [--million] [--json results/scale.json]

Grows one database through each size (so 100k includes the 10k build) with the same
synthetic coding notes and live-query method as latency.py, and prints p50/p95 and
peak RSS per size plus the growth factor per 10x.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from latency import Precomputed, build, measure, rss_mb  # noqa: E402

from mcp_memory import FastEmbedder, MemoryStore, Settings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--million", action="store_true", help="also grow to 1,000,000 (hours)")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--db", type=Path, default=None, help="reuse/grow this database file")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    ap.add_argument(
        "--float",
        action="store_true",
        help="embed with the float32 model instead of the int8 copy the product uses by default",
    )
    args = ap.parse_args()
    sizes = sorted(set(args.sizes + ([1_000_000] if args.million else [])))
    emb = Precomputed(FastEmbedder(model_dir=Path(args.model_dir), quantize=not args.float))
    db = args.db or Path(tempfile.mkdtemp()) / "scale.db"
    store = MemoryStore.open(settings=Settings(db_path=db, project="bench"), embedder=emb)
    rng, rows = random.Random(11), []
    print(
        f"{'memories':>9} {'recall p50':>10} {'p95':>7} {'remember p50':>12} {'p95':>7} "
        f"{'RSS MB':>7} {'db MB':>7}"
    )
    for n in sizes:
        build(store, emb, n, rng)
        m = measure(store, rng, args.runs)
        row = {"memories": n, **m, "rss_mb": rss_mb(), "db_mb": db.stat().st_size / 2**20}
        rows.append(row)
        print(
            f"{n:>9} {m['recall_p50']:>8.1f}ms {m['recall_p95']:>5.1f}ms "
            f"{m['remember_p50']:>10.1f}ms {m['remember_p95']:>5.1f}ms "
            f"{row['rss_mb']:>7.0f} {row['db_mb']:>7.0f}",
            flush=True,
        )
    store.close()
    for a, b in zip(rows, rows[1:], strict=False):
        factor = b["memories"] / a["memories"]
        print(
            f"{a['memories']}->{b['memories']} (x{factor:.0f}): recall p50 "
            f"x{b['recall_p50'] / a['recall_p50']:.2f}, remember p50 "
            f"x{b['remember_p50'] / a['remember_p50']:.2f}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
