"""An honest busy writer: one known-client agent storing N ordinary coding notes as fast as it can.

Every note goes through the real store (screening, trust, transaction) into a fresh SQLite file,
with the product's embedder (int8 MiniLM) unless --fake. Prints how many were stored, held
and why, the agent's trust at the end and at its lowest, and the write rate.

    python benchmarks/honest_writer.py -n 10000 \
        [--model-dir ../shared/models/all-MiniLM-L6-v2-onnx] [--fake] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.coding_notes import generate  # noqa: E402
from mcp_memory import Actor, FakeEmbedder, FastEmbedder, MemoryStore, Settings  # noqa: E402
from mcp_memory.trust import agents  # noqa: E402

WRITER = Actor(agent="busy-agent", client_name="claude-code", client_version="2.0", session_id="b")


def run(store: MemoryStore, n: int, seed: int) -> dict[str, object]:
    """Write the notes; returns the tallies the report prints."""
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    lowest, low_trust_seen = 1.0, 0
    start = time.perf_counter()
    for note in generate(n, seed):
        result = store.remember(note.text, actor=WRITER)
        statuses[result.status] += 1
        if result.status == "quarantined":
            reasons.update(result.reasons)
        low_trust_seen += "low_agent_trust" in result.reasons
        with store.lock:
            score = agents.current(store.conn, WRITER, frozenset()).score
        lowest = min(lowest, score)
    elapsed = time.perf_counter() - start
    return {
        "statuses": statuses, "reasons": reasons, "final": score, "lowest": lowest,
        "low_agent_trust": low_trust_seen, "seconds": elapsed,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="how many notes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--fake", action="store_true", help="fake embedder (no meaning)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(db_path=Path(tmp) / "m.db", project="bench", cache_dir=Path(tmp))
        emb = FakeEmbedder() if args.fake else FastEmbedder(model_dir=args.model_dir)
        store = MemoryStore.open(settings=settings, embedder=emb, root=Path(tmp))
        try:
            out = run(store, args.n, args.seed)
        finally:
            store.close()
    statuses: Counter[str] = out["statuses"]  # type: ignore[assignment]
    kept = statuses["stored"] + statuses["duplicate"]
    print(f"embedder: {emb.name}  notes: {args.n}  seed: {args.seed}")
    print(f"statuses: {dict(statuses)}")
    print(f"stored or already stored: {kept}/{args.n} = {kept / args.n:.2%}")
    print(f"held reasons: {dict(out['reasons'])}")  # type: ignore[arg-type]
    print(f"trust at the end: {out['final']:.3f}  lowest: {out['lowest']:.3f}")
    print(f"writes with low_agent_trust: {out['low_agent_trust']}")
    print(f"{args.n / out['seconds']:.0f} writes/s ({out['seconds']:.1f} s)")  # type: ignore[operator]


if __name__ == "__main__":
    main()
