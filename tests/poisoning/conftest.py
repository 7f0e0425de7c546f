"""Corpus loading for the poisoning tests, split into a development part and a held-back part.

The split is a fixed rule on the text, so no one chooses which lines land where: a line is
held back when the first byte of the SHA-256 of its UTF-8 text is divisible by 3 (about a
third of every file). `test_corpus.py` checks every file still follows the rule.

The embedder is the root conftest's `real_embedder`: the model the product ships, run as its
int8 copy (embeddings.FastEmbedder's default), so the semantic figures are the product's.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = ("dev", "heldout")


def part_of(text: str) -> str:
    """Which part a corpus line belongs to: 'heldout' for a third of the lines, by hash."""
    return "heldout" if hashlib.sha256(text.encode("utf-8")).digest()[0] % 3 == 0 else "dev"


def load(name: str) -> list[dict]:
    with open(HERE / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_all(kind: str) -> list[dict]:
    """Both parts of a corpus ('attacks' or 'benign'): for tests that only need examples."""
    return [case for part in PARTS for case in load(f"{kind}_{part}.jsonl")]
