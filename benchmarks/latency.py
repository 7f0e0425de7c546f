"""Recall / remember latency with the real model, in process (issue 2 targets).

    python benchmarks/latency.py --model-dir ../shared/models/all-MiniLM-L6-v2-onnx \
        --sizes 10000 100000

Corpus: synthetic coding notes from templates (varied vocabulary). Vectors for the
bulk load are computed in batches by the same model, then every memory goes through
the real MemoryStore.remember path (screening, FTS, vec0, audit); the embedder
wrapper only serves the precomputed vector. Timed calls use the real model live.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mcp_memory import HUMAN, Actor, FastEmbedder, MemoryStore, Settings  # noqa: E402

SUBJECTS = [
    "the orders service",
    "the auth gateway",
    "billing",
    "the search indexer",
    "CI",
    "the mobile app",
    "the data pipeline",
    "the admin UI",
    "payments",
    "notifications",
    "the GraphQL layer",
    "the cron scheduler",
    "feature flags",
    "the cache tier",
]
FACTS = [
    "uses {x} for persistence",
    "retries {n} times before failing",
    "is owned by team {t}",
    "logs to {x} with structured JSON",
    "must stay under {n} ms p95",
    "deploys with {x} on Tuesdays",
    "was migrated from {x} in Q{q}",
    "reads config from {f}",
    "calls {fn}() on startup",
    "has a known flaky test in {f}",
]
FILLS = {
    "x": [
        "PostgreSQL",
        "Redis",
        "Kafka",
        "S3",
        "DynamoDB",
        "Elasticsearch",
        "Argo CD",
        "Helm",
        "Terraform",
        "Datadog",
        "Loki",
        "SQLite",
    ],
    "t": ["atlas", "borealis", "cobalt", "delta", "ember", "fjord"],
    "f": [
        "settings.toml",
        "config/app.yaml",
        ".env.example",
        "pyproject.toml",
        "tests/test_api.py",
    ],
    "fn": ["init_db", "load_plugins", "warm_cache", "register_routes", "get_user_by_id"],
}


def note(rng: random.Random, i: int) -> str:
    fact = rng.choice(FACTS).format(
        x=rng.choice(FILLS["x"]),
        n=rng.randint(2, 900),
        t=rng.choice(FILLS["t"]),
        q=rng.randint(1, 4),
        f=rng.choice(FILLS["f"]),
        fn=rng.choice(FILLS["fn"]),
    )
    return f"{rng.choice(SUBJECTS).capitalize()} {fact} (note {i})."


class Precomputed:
    """Serves batch-computed vectors to remember() (same model, so the same vectors);
    falls through to the live model otherwise. keep=False frees each vector once used."""

    def __init__(self, model: FastEmbedder, keep: bool = False) -> None:
        self.model, self.name, self.dim = model, model.name, model.dim
        self.cache: dict[str, np.ndarray] = {}
        self.keep = keep

    def embed(self, texts: list[str]) -> np.ndarray:
        if len(texts) == 1 and texts[0] in self.cache:
            vec = self.cache[texts[0]] if self.keep else self.cache.pop(texts[0])
            return vec[None, :]
        return self.model.embed(texts)


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(values), p))


def rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(store: MemoryStore, emb: Precomputed, n: int, rng: random.Random) -> float:
    """Bulk load as the human user: one agent writing 100k template notes in minutes is
    exactly the near-duplicate flood the trust layer quarantines."""
    start, agent = time.perf_counter(), HUMAN
    existing = store.stats()["memories"].get("active", 0)
    for lo in range(existing, n, 512):
        texts = [note(rng, i) for i in range(lo, min(lo + 512, n))]
        for text, vec in zip(texts, emb.model.embed(texts), strict=True):
            emb.cache[text] = vec
        for text in texts:
            store.remember(text, actor=agent)
    return time.perf_counter() - start


def questions(rng: random.Random, n: int) -> list[str]:
    """The benchmarks' natural-language questions about the synthetic notes."""
    return [
        f"what does {rng.choice(SUBJECTS)} use for {rng.choice(['storage', 'logs', 'deploys'])}"
        for _ in range(n)
    ]


def measure(store: MemoryStore, rng: random.Random, runs: int) -> dict[str, float]:
    agent = Actor(agent="bench-live", client_name="bench")
    queries = questions(rng, runs)
    recall_ms, remember_ms = [], []
    for q in queries:
        t0 = time.perf_counter()
        store.recall(q, limit=10)
        recall_ms.append((time.perf_counter() - t0) * 1000)
    for i in range(runs):
        t0 = time.perf_counter()
        store.remember(f"Live benchmark note {i}: {note(rng, 10**7 + i)}", actor=agent)
        remember_ms.append((time.perf_counter() - t0) * 1000)
    # What an agent session does: recall right after a write. Timed apart because a write
    # invalidates caches that back-to-back recalls keep warm (it hid a full rescan of the
    # vector table after every write until the 1M runs).
    mixed_ms = []
    for i, q in enumerate(queries[: max(runs // 2, 1)]):
        text = f"Live benchmark note {runs + i}: {note(rng, 10**7 + runs + i)}"
        store.remember(text, actor=agent)
        t0 = time.perf_counter()
        store.recall(q, limit=10)
        mixed_ms.append((time.perf_counter() - t0) * 1000)
    return {
        "recall_p50": statistics.median(recall_ms),
        "recall_p95": percentile(recall_ms, 95),
        "remember_p50": statistics.median(remember_ms),
        "remember_p95": percentile(remember_ms, 95),
        "recall_after_write_p50": statistics.median(mixed_ms),
        "recall_after_write_p95": percentile(mixed_ms, 95),
    }


def first_answer_seconds(db: Path, model_dir: str) -> float:
    """Wall time from spawning `mcp-memory serve` (stdio) to the first recall answer."""
    code = f"""
import anyio, os, sys, time
from mcp import Client, StdioServerParameters
async def main():
    env = {{**os.environ, "MCP_MEMORY_DB": {str(db)!r}, "MCP_MEMORY_MODEL_DIR": {model_dir!r}}}
    p = StdioServerParameters(command=sys.executable, args=["-m", "mcp_memory", "serve"], env=env)
    t0 = time.perf_counter()
    async with Client(p) as c:
        await c.call_tool("recall", {{"query": "orders service"}})
        print(time.perf_counter() - t0)
anyio.run(main)
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--db", type=Path, default=None, help="reuse/grow this database file")
    ap.add_argument(
        "--float",
        action="store_true",
        help="embed with the float32 model instead of the int8 copy the product uses by default",
    )
    args = ap.parse_args()
    rng = random.Random(7)
    model = FastEmbedder(model_dir=Path(args.model_dir), quantize=not args.float)
    emb = Precomputed(model)
    db = args.db or Path(tempfile.mkdtemp()) / "bench.db"
    store = MemoryStore.open(settings=Settings(db_path=db, project="bench"), embedder=emb)
    print(
        f"{'memories':>9} {'build s':>8} {'recall p50':>11} {'p95':>7} {'remember p50':>13} "
        f"{'p95':>7} {'RSS MB':>7}"
    )
    for n in sorted(args.sizes):
        built = build(store, emb, n, rng)
        m = measure(store, rng, args.runs)
        print(
            f"{n:>9} {built:>8.1f} {m['recall_p50']:>9.1f}ms {m['recall_p95']:>5.1f}ms "
            f"{m['remember_p50']:>11.1f}ms {m['remember_p95']:>5.1f}ms {rss_mb():>7.0f}",
            flush=True,
        )
    store.close()
    print(
        f"first tool answer after spawn (stdio, {db.name}): "
        f"{first_answer_seconds(db, args.model_dir):.2f} s"
    )


if __name__ == "__main__":
    main()
