"""How many ordinary conversation turns the write gate holds (false positives off coding text).

Agents also remember what people tell them: plans, family news, a bad day. The detectors were
trained and calibrated on engineering text, so this measures them on chat they never saw:
every LoCoMo turn (CC BY-NC, read from ../shared/data, never copied), each judged as a fresh
known client's write through the same scan() + meaning signals + decide() the store uses,
with the int8 model the product ships. Conversations 0-4 and 5-9 are reported apart; only
0-4 may be looked at while choosing anything.

    python benchmarks/conversation_fp.py --model-dir ../shared/models/all-MiniLM-L6-v2-onnx \
        [--data ../shared/data/locomo10.json] [--show 20]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.locomo import turns_of  # noqa: E402
from mcp_memory import FastEmbedder  # noqa: E402
from mcp_memory.trust import beta  # noqa: E402
from mcp_memory.trust.detectors import scan  # noqa: E402
from mcp_memory.trust.detectors.semantic import SemanticDetector, meaning_signals  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def held(texts: list[str], emb: object) -> list[list[str]]:
    """The reasons each text is not stored for a fresh known client ([] when stored)."""
    fresh = beta.new_agent("bench", 0.0, known_client=True).score
    semantic = SemanticDetector(emb)
    vectors = emb.embed(texts)  # type: ignore[attr-defined]
    out = []
    for text, vec in zip(texts, vectors, strict=True):
        signals = scan(text) + meaning_signals(semantic, text, vec, emb.name)  # type: ignore[attr-defined]
        decision = beta.decide(signals, agent_trust=fresh, source="agent")
        out.append([] if decision.status == "stored" else sorted({s.family for s in signals}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/locomo10.json")
    ap.add_argument("--model-dir", type=Path, default=None)
    ap.add_argument("--show", type=int, default=0, help="print this many held turns of 0-4")
    args = ap.parse_args()
    model_dir = args.model_dir or os.environ.get("MCP_MEMORY_MODEL_DIR")
    emb = FastEmbedder(model_dir=Path(model_dir) if model_dir else None, quantize=True)
    samples = json.loads(args.data.read_text())
    for label, part in (("0-4 (may tune)", samples[:5]), ("5-9 (held out)", samples[5:])):
        texts = [text for s in part for _, text, _ in turns_of(s)]
        reasons = held(texts, emb)
        n = sum(1 for r in reasons if r)
        fams = Counter(f for r in reasons for f in r)
        print(f"conversations {label}: held {n} of {len(texts)} ({100 * n / len(texts):.2f}%)")
        print("   by detector:", dict(fams.most_common()))
        if label.startswith("0-4"):
            for text, r in [(t, r) for t, r in zip(texts, reasons, strict=True) if r][: args.show]:
                print(f"   {r} {text[:150]}")


if __name__ == "__main__":
    main()
