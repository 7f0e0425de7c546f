"""Measure the poisoning defence on outside data: detection per attack category, FP rate, cost.

Every write is judged as coming from a fresh known-client agent with source "agent", through the
same path the store uses: scan() + decide(), plus, when --model-dir is given, the meaning checks
of the gate (the learned classifier and the exemplar check it corroborates).

    python benchmarks/poisoning.py \
        --attacks ../shared/data/dev_attacks_cyberseceval.jsonl \
        --benign ../shared/data/dev_benign_cursorrules.jsonl \
        [--model-dir ../shared/models/all-MiniLM-L6-v2-onnx] [--show-fp] [--notes 2000] [--loo]

--notes N also judges N generated ordinary coding notes (benchmarks/detector_notes.py, another
seed than training: same grammar, so an in-distribution figure). --loo prints the learned
detector's in-distribution, leave-one-source-out and leave-one-family-out figures (needs the
corpus mirrors, see benchmarks/train_detector.py; ~30 min on two cores).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mcp_memory import FastEmbedder  # noqa: E402
from mcp_memory.trust import beta as trust  # noqa: E402
from mcp_memory.trust.detectors import SemanticDetector, Signal, learned, scan  # noqa: E402
from mcp_memory.trust.detectors.semantic import meaning_signals  # noqa: E402


def load(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def judge(
    text: str,
    vector: np.ndarray | None,
    semantic: SemanticDetector | None,
    costs: list[float],
    model: str | None = None,
) -> trust.Decision:
    """One write from a fresh known-client agent; records the detector cost in ms."""
    start = time.perf_counter()
    signals: list[Signal] = scan(text)
    if semantic is not None and vector is not None:
        signals += meaning_signals(semantic, text, vector, model)
    costs.append((time.perf_counter() - start) * 1000)
    agent = trust.new_agent("bench-client", 0.0, known_client=True)
    return trust.decide(signals, agent_trust=agent.score, source="agent")


def embed_all(emb: FastEmbedder | None, texts: list[str]) -> list[np.ndarray | None]:
    if emb is None:
        return [None] * len(texts)
    return list(emb.embed(texts))


def report_attacks(rows: list[dict], decisions: list[trust.Decision]) -> None:
    per: dict[str, list[bool]] = defaultdict(list)
    for row, d in zip(rows, decisions, strict=False):
        per[row.get("category", "?")].append(d.status != "stored")
    print(f"{'attack category':34} {'n':>4} {'caught':>7} {'rate':>7}")
    for cat in sorted(per, key=lambda c: -sum(per[c]) / len(per[c])):
        hits = per[cat]
        print(f"{cat:34} {len(hits):4} {sum(hits):7} {sum(hits) / len(hits):7.1%}")
    total = [h for v in per.values() for h in v]
    print(f"{'ALL':34} {len(total):4} {sum(total):7} {sum(total) / len(total):7.1%}")


def report_benign(rows: list[dict], decisions: list[trust.Decision], show: bool) -> None:
    flagged = [(r, d) for r, d in zip(rows, decisions, strict=False) if d.status != "stored"]
    rate = len(flagged) / max(1, len(rows))
    print(
        f"\nbenign: {len(rows)} notes, {len(flagged)} flagged -> false-positive rate {rate:.2%}"
        f" (target <= 1%)"
    )
    if show:
        for r, d in flagged:
            print(f"  FP {d.reasons} {r['text'][:110]!r}")


def report_cost(costs: list[float]) -> None:
    qs = statistics.quantiles(costs, n=100)
    print(
        f"\ndetector cost per write: p50 {statistics.median(costs):.2f} ms, p95 {qs[94]:.2f} ms,"
        f" max {max(costs):.2f} ms (n={len(costs)})"
    )


def report_learned_cost(texts: list[str], vectors: list[np.ndarray | None], model: str) -> None:
    """The learned detector's own cost per write (features + classifier), apart from scan()."""
    pairs = [(t, v) for t, v in zip(texts, vectors, strict=False) if v is not None]
    if not pairs:
        return
    learned.check(*pairs[0], model)  # loads the weights once
    costs = []
    for t, v in pairs:
        start = time.perf_counter()
        learned.check(t, v, model)
        costs.append((time.perf_counter() - start) * 1000)
    qs = statistics.quantiles(costs, n=100)
    print(
        f"learned detector cost per write: p50 {statistics.median(costs) * 1000:.0f} us,"
        f" p95 {qs[94] * 1000:.0f} us (n={len(costs)}; target p50 <= 1 ms)"
    )


def report_notes(n: int, emb, semantic, show: bool) -> None:  # type: ignore[no-untyped-def]
    import detector_notes

    rows = detector_notes.generate(seed=2026, count=n)
    vecs = embed_all(emb, [r["text"] for r in rows])
    model = emb.name if emb is not None else None
    dec = [judge(r["text"], v, semantic, [], model) for r, v in zip(rows, vecs, strict=False)]
    print("\ngenerated ordinary coding notes (detector_notes.py, seed 2026):", end="")
    report_benign(rows, dec, show)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--attacks", default="../shared/data/dev_attacks_cyberseceval.jsonl")
    ap.add_argument("--benign", default="../shared/data/dev_benign_cursorrules.jsonl")
    ap.add_argument("--model-dir", default=None, help="local ONNX model folder for fastembed")
    ap.add_argument("--show-fp", action="store_true", help="list the benign notes flagged")
    ap.add_argument("--notes", type=int, default=0, help="also judge N generated coding notes")
    ap.add_argument("--loo", action="store_true", help="learned detector: LOSO and LOFO figures")
    ap.add_argument(
        "--float",
        action="store_true",
        help="embed with the float32 model instead of the int8 copy the product uses by default",
    )
    args = ap.parse_args(argv)

    attacks, benign = load(args.attacks), load(args.benign)
    emb = (
        FastEmbedder(model_dir=Path(args.model_dir), quantize=not args.float)
        if args.model_dir
        else None
    )
    semantic = SemanticDetector(emb) if emb is not None else None
    scan("warm-up: import and build detect-secrets plugins once")
    if semantic is not None and emb is not None:
        semantic.check(emb.embed(["warm-up: embed the exemplars once"])[0])
    costs: list[float] = []
    a_vecs = embed_all(emb, [r["text"] for r in attacks])  # same length as the rows: zip is exact
    b_vecs = embed_all(emb, [r["text"] for r in benign])
    model = emb.name if emb is not None else None
    a_dec = [
        judge(r["text"], v, semantic, costs, model) for r, v in zip(attacks, a_vecs, strict=False)
    ]
    b_dec = [
        judge(r["text"], v, semantic, costs, model) for r, v in zip(benign, b_vecs, strict=False)
    ]

    mode = "scan + learned + semantic (fastembed)" if semantic else "scan only (no --model-dir)"
    print(f"poisoning benchmark: {mode}; writer = fresh known-client agent, source=agent\n")
    report_attacks(attacks, a_dec)
    report_benign(benign, b_dec, args.show_fp)
    report_cost(costs)
    if emb is not None:
        texts = [r["text"] for r in attacks + benign]
        report_learned_cost(texts, a_vecs + b_vecs, emb.name)
    if args.notes:
        report_notes(args.notes, emb, semantic, args.show_fp)
    if args.loo:
        import train_detector

        train_detector.main(["--no-write", "--model-dir", args.model_dir or ""])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
