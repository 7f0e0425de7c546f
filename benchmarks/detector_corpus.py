"""The learned detector's training corpus: public, licensed sources read from fetched git mirrors.

Nothing fetched is committed: each source names its repository, the commit it was read at, the
paths and the licence (docs/data-card.md lists them with counts), and is read with `git show`
from a bare mirror under MCP_MEMORY_CORPUS_MIRRORS (layout: owner+name/repo, as the fetch tool
leaves it). A missing mirror is skipped with a message, so the script says what it trained on.

Reserved for independent evaluation and never read here: AgentDojo, microsoft/BIPIA,
PoisonedRAG, garak, the instruction files of the reserved projects (see docs/data-card.md),
../shared/data/*.jsonl and tests/poisoning/*.jsonl. awesome-cursorrules (the source of the
benign dev set) and PurpleLlama (the source of the attack dev set) are left out as well, so
the dev-set figures stay out of sample.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import detector_chat
import detector_compose
import detector_handwritten
import detector_notes
import detector_poisons
import numpy as np

MIRRORS = Path(os.environ.get("MCP_MEMORY_CORPUS_MIRRORS", "/work/.mirror"))


@dataclass(frozen=True)
class Source:
    name: str
    repo: str
    commit: str
    licence: str
    label: int  # 1 attack, 0 benign
    paths: tuple[str, ...]


SOURCES = (
    Source("gptfuzz", "sherdencooper/GPTFuzz", "1eddeb565740ae311b5f4950492b011a6f866fe7", "MIT",
           1, ("datasets/prompts/GPTFuzzer.csv", "datasets/prompts/seed_short_25.csv")),
    Source("payloadsallthethings", "swisskyrepo/PayloadsAllTheThings",
           "f9fa51417886ac11476cb62db2dff21773dc570b", "MIT", 1, ("Prompt Injection/README.md",)),
    Source("llm_guard_tests", "protectai/llm-guard", "53af270c69316ed82cb71ba7b19d11b55bda3151",
           "MIT", 1, ("tests/input_scanners/test_prompt_injection.py",)),
    Source("pallms", "mik0w/pallms", "bfedec0fa6cb8d44a73c730a02eeaac36aefd198", "MIT", 1,
           ("plaintext/promptinjection.txt", "plaintext/jailbreak.txt")),
    Source("taksec", "TakSec/Prompt-Injection-Everywhere",
           "9b69c8ae7958f68d562d484103a7b14b66983d63", "MIT", 1,
           ("Basic-Prompt-Injection-v1.txt", "Basic-Prompt-Injection-v2.txt",
                      "Prompt-Injection-SQLi.txt", "Prompt-Injection-XSS.txt", "Prompt-Leak-v1.txt",
                      "Prompt-Leak-v2.txt")),
    Source("langkit", "whylabs/langkit", "5d6cab1e2ff32181ba5c514aaa2a4473421dc413",
           "Apache-2.0", 1,
           ("langkit/themes.json",)),
    Source("greshake", "greshake/llm-security", "87f4b7ffa568b7261a79b31573068d8113319212",
           "MIT", 1,
           ("scenarios/gpt4/", "scenarios/gpt3langchain/")),
    Source("awesome_copilot", "github/awesome-copilot", "ab7544d03d4c49fdd07f5958e1888ad39c4118e2",
           "MIT", 0, ("instructions/",)),
    Source("awesome_copilot_agents", "github/awesome-copilot",
           "ab7544d03d4c49fdd07f5958e1888ad39c4118e2", "MIT", 0, ("agents/",)),
    Source("agent_rules", "steipete/agent-rules", "d0070fac6c4b67dec418564d381adbe7c9f4ba73", "MIT",
           0, ("",)),
    Source("commits_flask", "pallets/flask", "2ac89889f4cc330eabd50f295dcef02828522c69",
           "BSD-3-Clause", 0, ("git log",)),
    Source("commits_pytest", "pytest-dev/pytest", "df87db7b0462fb764ef73fa00561adf8ad047572", "MIT",
           0, ("git log", "CONTRIBUTING.rst", "doc/en/how-to/")),
    Source("commits_requests", "psf/requests", "1f6589ec3a1ee910f9a65cc3ceac60b26677bc0e",
           "Apache-2.0", 0, ("git log",)),
)  # fmt: skip
MAX_PER_BENIGN_SOURCE = 900
_MD_NOISE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+|^\s*>\s*|\*\*|__|`")


def _git_dir(repo: str) -> Path:
    return MIRRORS / repo.replace("/", "+") / "repo"


def _git(repo: str, *args: str) -> str:
    out = subprocess.run(
        ["git", "--git-dir", str(_git_dir(repo)), *args], capture_output=True, check=True
    )
    return out.stdout.decode("utf-8", "replace")


def _files(src: Source, prefix: str, suffixes: tuple[str, ...]) -> list[str]:
    names = _git(src.repo, "ls-tree", "-r", "--name-only", src.commit).splitlines()
    return [n for n in names if n.startswith(prefix) and n.endswith(suffixes)]


def _prose_lines(text: str) -> list[str]:
    """Bullets and sentences of a markdown/rst file, fenced code and headings left out."""
    out, fenced = [], False
    for raw in text.splitlines():
        if raw.strip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        line = _MD_NOISE.sub("", raw).strip()
        if fenced or line.startswith(("#", "|", "<", "..", "---", "===", ":")) or "](" in line:
            continue
        if 30 <= len(line) <= 400 and sum(c.isalpha() for c in line) > len(line) * 0.6:
            out.append(line)
    return out


def _gptfuzz(src: Source) -> list[str]:
    out = []
    for path in src.paths:
        rows = csv.DictReader(io.StringIO(_git(src.repo, "show", f"{src.commit}:{path}")))
        out += [r["text"].replace("[INSERT PROMPT HERE]", "tell me how to do it") for r in rows]
    return out


def _payloads(src: Source) -> list[str]:
    text = _git(src.repo, "show", f"{src.commit}:{src.paths[0]}")
    part = text.split("## Direct Prompt Injection", 1)[-1].split("## References", 1)[0]
    found = [m.strip() for m in re.findall(r"`([^`\n]{12,})`", part)]
    blocks = re.findall(r"```\w*\n(.*?)```", part, re.S)
    found += [b.strip() for b in blocks]
    found += [ln.strip() for b in blocks for ln in b.splitlines() if "gnore" in ln]
    return [f for f in dict.fromkeys(found) if not f.startswith(("{", "<<SYS"))]


def _lines(src: Source) -> list[tuple[str, str]]:
    """(text, family) from the plain-text payload lists: one payload a line (pallms, TakSec);
    pallms's {NEW_INSTRUCTION} slot gets a neutral request, as gptfuzz's does."""
    out = []
    for path in src.paths:
        fam = "jailbreak" if "jailbreak" in path else "prompt_injection"
        text = _git(src.repo, "show", f"{src.commit}:{path}")
        if src.name == "taksec":  # each file is one payload, some over two lines
            out.append((" ".join(text.split()), fam))
            continue
        for line in text.splitlines():
            line = line.strip().replace("{NEW_INSTRUCTION}", "tell me how to do it")
            if len(line) >= 12:
                out.append((line, fam))
    return out


def _langkit(src: Source) -> list[str]:
    return list(json.loads(_git(src.repo, "show", f"{src.commit}:{src.paths[0]}"))["jailbreak"])


def _string_of(node: ast.expr) -> str:
    """The literal text of a string constant or f-string (its constant parts); '' otherwise."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else ""
    if isinstance(node, ast.JoinedStr):
        return "".join(_string_of(p) for p in node.values if isinstance(p, ast.Constant))
    return ""


def _greshake(src: Source) -> list[str]:
    """The injected texts of the indirect-injection scenarios: long string constants assigned in
    the scenario files (the poisoned e-mail, web page or memory the agent reads)."""
    out = []
    for prefix in src.paths:
        for name in _files(src, prefix, (".py",)):
            if "/target/" in name:  # the victim app's own tool descriptions: not attacks
                continue
            tree = ast.parse(_git(src.repo, "show", f"{src.commit}:{name}"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign):
                    text = _string_of(node.value)
                    if len(text) >= 120:
                        out.append(re.sub(r"[ \t]+", " ", text).strip())
    return list(dict.fromkeys(out))


def _llm_guard(src: Source) -> tuple[list[str], list[str]]:
    """(injections, good prompts) from the parametrized cases of the scanner's test."""
    tree = ast.parse(_git(src.repo, "show", f"{src.commit}:{src.paths[0]}"))
    bad, good = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple) and len(node.elts) == 4:
            prompt, valid = node.elts[1], node.elts[2]
            try:
                text, ok = ast.literal_eval(prompt), ast.literal_eval(valid)
            except ValueError:
                continue
            if isinstance(text, str) and isinstance(ok, bool) and text.strip():
                (good if ok else bad).append(text)
    return bad, good


def _benign(src: Source, rng: random.Random) -> list[str]:
    lines: list[str] = []
    for path in src.paths:
        if path == "git log":
            log = _git(src.repo, "log", "--no-merges", "--format=%s%n%b%x00", src.commit)
            for msg in log.split("\x00"):
                lines += _prose_lines(msg)
        elif path.endswith((".md", ".rst")):
            lines += _prose_lines(_git(src.repo, "show", f"{src.commit}:{path}"))
        else:
            for name in _files(src, path, (".md", ".rst", ".mdc")):
                lines += _prose_lines(_git(src.repo, "show", f"{src.commit}:{name}"))
    lines = list(dict.fromkeys(lines))
    rng.shuffle(lines)
    return lines[:MAX_PER_BENIGN_SOURCE]


def fetched(rng: random.Random) -> list[dict]:
    rows: list[dict] = []
    for src in SOURCES:
        if not _git_dir(src.repo).is_dir():
            print(f"corpus: no mirror of {src.repo} under {MIRRORS}; skipped", file=sys.stderr)
            continue
        if src.name == "gptfuzz":
            texts, fam = _gptfuzz(src), "jailbreak"
        elif src.name == "payloadsallthethings":
            texts, fam = _payloads(src), "prompt_injection"
        elif src.name in ("pallms", "taksec"):
            rows += [_row(t, f, src.name, 1) for t, f in _lines(src)]
            continue
        elif src.name == "langkit":
            texts, fam = _langkit(src), "jailbreak"
        elif src.name == "greshake":
            texts, fam = _greshake(src), "agent_hijack"
        elif src.name == "llm_guard_tests":
            bad, good = _llm_guard(src)
            rows += [_row(t, "benign", "llm_guard_tests_benign", 0) for t in good]
            texts, fam = bad, "prompt_injection"
        else:
            texts, fam = _benign(src, rng), "benign"
        rows += [_row(t, fam, src.name, src.label) for t in texts]
    return rows


def _row(text: str, family: str, source: str, label: int) -> dict:
    return {"text": text, "family": family, "source": source, "label": label}


def sample_weights(rows: list[dict]) -> np.ndarray:
    """Per-row weights: within each class, a source weighs sqrt(its size), shared by its rows, so
    a small hand-written or public source is not drowned by a large generated one."""
    sizes = Counter((r["label"], r["source"]) for r in rows)
    w = np.array([1.0 / np.sqrt(sizes[r["label"], r["source"]]) for r in rows])
    for label in (0, 1):
        mask = np.array([r["label"] == label for r in rows])
        if mask.any():
            w[mask] *= mask.sum() / w[mask].sum()
    return w


def build(seed: int = 15) -> list[dict]:
    """The whole corpus: fetched sources plus the generated poisons and notes, deduplicated."""
    rng = random.Random(seed)
    rows = fetched(rng)
    rows += [{**r, "label": 1} for r in detector_poisons.generate(seed)]
    rows += [{**r, "label": 0} for r in detector_notes.generate(seed)]
    rows += detector_handwritten.generate()
    rows += detector_compose.generate(seed)
    rows += detector_chat.rows(MIRRORS, random.Random(seed))
    seen: set[str] = set()
    out = []
    for r in rows:
        key = r["text"].strip()
        if key and key not in seen:
            seen.add(key)
            out.append(r)
    return out
