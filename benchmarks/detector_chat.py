"""Benign conversation for the learned detector: what people tell an agent is not engineering text.

The first corpus had no chat at all, and the classifier held 2.9% of LoCoMo's turns (family
news, plans, congratulations: benchmarks/conversation_fp.py) because chatty, emotive text sat
nearer its jailbreak sources than its commit messages. Two public dialogue collections, read
from fetched mirrors like the other sources (benchmarks/detector_corpus.py), fill that gap:

- Topical-Chat (alexa/Topical-Chat, CDLA-Sharing-1.0): open-domain chit-chat between two
  people; only the valid_* files are read, the test_* files are left alone.
- Taskmaster-4 (google-research-datasets/Taskmaster, CC BY 4.0): spoken-style task dialogues
  (ordering, booking, asking), both speakers.

Turns are kept as written, some with a speaker name or a date in front, the ways a memory of a
conversation is usually stored. LoCoMo itself is never read here: it is the measure.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

TOPICAL = ("alexa/Topical-Chat", "7c939229cbcf6f55f6977b341a5a2f2fe982d53f")
TASKMASTER = ("google-research-datasets/Taskmaster", "d92cb6af3005f1dc09c39e75e7daf4a04905e00b")
TOPICAL_FILES = ("conversations/valid_freq.json", "conversations/valid_rare.json")
TASKMASTER_FILES = tuple(f"TM-4-2024/data/data_0{i}.json" for i in range(4))
MAX_PER_SOURCE = 900
NAMES = ("Sam", "Priya", "Alex", "Maria", "Tom", "Aiko", "Jordan", "Lena", "Omar", "Kate")
MONTHS = ("January", "March", "May", "July", "September", "November")


def _show(mirrors: Path, repo: tuple[str, str], path: str) -> str:
    git_dir = mirrors / repo[0].replace("/", "+") / "repo"
    out = subprocess.run(
        ["git", "--git-dir", str(git_dir), "show", f"{repo[1]}:{path}"],
        capture_output=True,
        check=True,
    )
    return out.stdout.decode("utf-8", "replace")


def _framed(text: str, rng: random.Random) -> str:
    """A turn as a memory of it might read: bare, after a name, or after a date and a name."""
    roll = rng.random()
    name = rng.choice(NAMES)
    if roll < 0.4:
        return text
    if roll < 0.7:
        return f"{name}: {text}"
    date = f"{rng.randint(1, 28)} {rng.choice(MONTHS)} {rng.randint(2019, 2025)}"
    return f"[{date}] {name}: {text}"


def _keep(text: str) -> bool:
    return 20 <= len(text) <= 400 and sum(c.isalpha() for c in text) > len(text) * 0.6


def topical_chat(mirrors: Path) -> list[str]:
    out = []
    for path in TOPICAL_FILES:
        for conv in json.loads(_show(mirrors, TOPICAL, path)).values():
            out += [t["message"].strip() for t in conv["content"]]
    return out


def taskmaster(mirrors: Path) -> list[str]:
    out = []
    for path in TASKMASTER_FILES:
        for conv in json.loads(_show(mirrors, TASKMASTER, path)):
            out += [u["text"].replace("\\r", " ").strip() for u in conv["utterances"]]
    return out


def rows(mirrors: Path, rng: random.Random) -> list[dict]:
    """Benign chat rows per source, deduplicated, sampled, framed; a missing mirror is skipped."""
    found: list[dict] = []
    for name, repo, read in (
        ("topical_chat", TOPICAL, topical_chat),
        ("taskmaster", TASKMASTER, taskmaster),
    ):
        if not (mirrors / repo[0].replace("/", "+") / "repo").is_dir():
            print(f"corpus: no mirror of {repo[0]} under {mirrors}; skipped")
            continue
        texts = [t for t in dict.fromkeys(read(mirrors)) if _keep(t)]
        rng.shuffle(texts)
        found += [
            {"text": _framed(t, rng), "family": "benign", "source": name, "label": 0}
            for t in texts[:MAX_PER_SOURCE]
        ]
    return found
