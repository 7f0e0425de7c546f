"""Rebuild the learned detector's corpus, train it, write its weights, print how it generalizes.

    MCP_MEMORY_MODEL_DIR=../shared/models/all-MiniLM-L6-v2-onnx \\
    MCP_MEMORY_CORPUS_MIRRORS=/work/.mirror \\
        python benchmarks/train_detector.py [--no-write] [--skip-loo] [--float]

Sources (fetched git mirrors, never committed) and generated texts: benchmarks/detector_corpus.py
and docs/data-card.md. Vectors come from the int8 model the product ships unless --float.
Vectors are cached under MCP_MEMORY_DETECTOR_CACHE (default ~/.cache/mcp-memory-detector).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import detector_corpus  # noqa: E402
import detector_eval  # noqa: E402
import detector_fit as fitting  # noqa: E402

from mcp_memory.config import DEFAULT_MODEL  # noqa: E402
from mcp_memory.trust.detectors import learned  # noqa: E402

_DEV_CANDIDATES = (HERE.parents[1] / "shared/data", HERE.parents[2] / "shared/data")
DEV = Path(
    os.environ.get("MCP_MEMORY_DEV_DATA")
    or next((p for p in _DEV_CANDIDATES if p.is_dir()), _DEV_CANDIDATES[0])
)


def load_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def corpus_matrix(emb) -> tuple[list[dict], np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    rows = detector_corpus.build()
    texts = [r["text"] for r in rows]
    x = fitting.features(texts, fitting.embed_cached(emb, texts))
    y = np.array([r["label"] for r in rows], dtype=np.float64)
    return rows, x, y


def print_counts(rows: list[dict]) -> None:
    print("corpus:")
    for (src, label), n in sorted(Counter((r["source"], r["label"]) for r in rows).items()):
        print(f"  {'attack' if label else 'benign'} {src:28} {n:5d}")
    fams = Counter(r["family"] for r in rows if r["label"] == 1)
    print("  attack families: " + ", ".join(f"{f} {n}" for f, n in sorted(fams.items())))


def dev_sets(emb, w: list[np.ndarray], thr: float, extra: list[Path]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The classifier alone on the dev sets and the project's own poisoning suite (never
    trained on): detection on attack sets, false positives on benign ones."""
    sets = [
        (DEV / "dev_attacks_cyberseceval.jsonl", True),
        (DEV / "dev_benign_cursorrules.jsonl", False),
        (HERE.parent / "tests/poisoning/attacks_dev.jsonl", True),
        (HERE.parent / "tests/poisoning/benign_dev.jsonl", False),
    ] + [(p, "attack" in p.name) for p in extra]
    print("\nsets never trained on")
    out = {}
    for path, attack in sets:
        if not path.exists():
            continue
        rows = load_jsonl(path)
        texts = [r["text"] for r in rows]
        p = fitting.prob(w, fitting.features(texts, fitting.embed_cached(emb, texts)))
        out[path.name] = detector_eval.on_set(path.name, p, thr, attack, rows)
    return out


def write(path: Path, params: list[np.ndarray], thr: float) -> None:
    floor = thr - 0.5 * (thr - 0.5)
    w1, b1, w2, b2 = params
    np.savez_compressed(
        path,
        w1=w1.astype(np.float16),  # half precision: the file stays small, scores move < 1e-3
        b1=b1.astype(np.float32),
        w2=w2.astype(np.float32),
        b2=b2.astype(np.float32),
        threshold=np.float64(thr),
        floor=np.float64(floor),
        model_name=np.str_(DEFAULT_MODEL),
        feature_version=np.int64(learned.FEATURE_VERSION),
    )
    print(f"\nwrote {path} ({path.stat().st_size} bytes), threshold {thr:.3f}, floor {floor:.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", default=None, help="local ONNX model folder for fastembed")
    ap.add_argument("--float", action="store_true", help="train on the float model's vectors")
    ap.add_argument("--no-write", action="store_true", help="do not write the weights file")
    ap.add_argument("--skip-loo", action="store_true", help="skip leave-one-out figures")
    ap.add_argument(
        "--loo",
        default="source,family,benign",
        help="which leave-one-out figures: attack source, attack family, benign source",
    )
    ap.add_argument("--figures-only", action="store_true", help="only the leave-one-out figures")
    ap.add_argument("--out", type=Path, default=learned.WEIGHTS)
    ap.add_argument("--extra", type=Path, nargs="*", default=[], help="more jsonl sets to score")
    args = ap.parse_args(argv)

    emb = fitting.embedder(args.model_dir, quantize=not args.float)
    rows, x, y = corpus_matrix(emb)
    print_counts(rows)
    sample = detector_corpus.sample_weights(rows)
    if not args.figures_only:
        w, thr = fitting.fit_with_threshold(x, y, sample)
        if not args.no_write:
            write(args.out, w, thr)
        dev_sets(emb, w, thr, args.extra)
        detector_eval.in_distribution(x, y, rows, sample)
    if not args.skip_loo:
        wanted = {"source": ("source", 1), "family": ("family", 1), "benign": ("source", 0)}
        for name in args.loo.split(","):
            key, label = wanted[name.strip()]
            detector_eval.leave_one_out(x, y, rows, key, label, sample)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
