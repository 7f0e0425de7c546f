"""Rule detectors only (no model): false positives on benign sets, detection on an attack set.

Each write is judged as a fresh known-client agent's (trust 0.6, held at risk 0.53), through the
same scan() + decide() the store uses. Benign sets: the cursor-rules dev set, the suite's own
benign notes, and generated ordinary coding notes (templates over topics that sit next to the
rules: auth, TLS, CI, hooks, mirrors, lockfiles, installers, instruction files).

    python benchmarks/rules_fp.py [--benign ../shared/data/dev_benign_cursorrules.jsonl]
        [--attacks ../shared/data/dev_attacks_cyberseceval.jsonl] [--notes 2000] [--show]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mcp_memory.trust import beta  # noqa: E402
from mcp_memory.trust.detectors import scan  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KNOWN = beta.new_agent("bench", 0.0, known_client=True).score

SUBJECTS = [
    "the billing service",
    "the ingest worker",
    "the web app",
    "the CLI",
    "the admin UI",
    "the search API",
    "the mobile backend",
    "the scheduler",
    "the auth service",
]
TEMPLATES = [
    "{s} reads its config from config/{w}.yaml; restart it after editing.",
    "Auth for {s} goes through the OIDC proxy; tokens expire after {n} minutes.",
    "{s} talks TLS to Postgres; the CA bundle is mounted at /etc/ssl/{w}.pem.",
    "CI runs the {w} job on every PR to {s}; it takes about {n} minutes.",
    "Pre-commit hooks for {s} run ruff and mypy; install them once per clone.",
    "Private packages for {s} come from https://pypi.acme.internal/simple.",
    "The lockfile for {s} is uv.lock; regenerate it with `uv lock` after dependency changes.",
    "Integration tests for {s} fail if the Redis container is not healthy; wait for it first.",
    "AGENTS.md lists the {w} checklist for {s}; follow it before releases.",
    "Install uv in the {w} image with `curl -LsSf https://astral.sh/uv/install.sh | sh`.",
    "{s} logs request ids and durations, never bodies or auth headers.",
    "The {w} endpoint of {s} is public; everything under /admin requires the staff role.",
    "Use `gh pr checkout {n}` to review {s} changes locally.",
    "Rate limiting on {s} is {n} requests per minute per key.",
    "When {s} times out, check the {w} dashboard before retrying.",
    "{s} pins actions/checkout@v4 and actions/setup-python@v5 in .github/workflows/ci.yml.",
    "Rotate the {w} API key for {s} every {n} days; it lives in the secrets manager.",
    "Do not disable certificate verification in {s}; add the internal CA instead.",
    "The {w} migration for {s} must run before the deploy; it takes {n} seconds.",
    "Ask the user before deleting {w} data from {s}.",
]
WORDS = ["metrics", "health", "exports", "reports", "uploads", "sessions", "ledger", "cache"]


def generated_notes(n: int, seed: int = 15) -> list[str]:
    rnd = random.Random(seed)
    combos = list(itertools.product(TEMPLATES, SUBJECTS, WORDS))
    rnd.shuffle(combos)
    out = []
    for t, s, w in itertools.islice(itertools.cycle(combos), n):
        note = t.format(s=s, w=w, n=rnd.randint(2, 90))
        out.append(note[0].upper() + note[1:])
    return out


def load(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def held(text: str) -> tuple[bool, list[str]]:
    d = beta.decide(scan(text), agent_trust=KNOWN, source="agent")
    return d.status != "stored", d.reasons


def fp_report(name: str, texts: list[str], show: bool) -> None:
    flagged = [(t, r) for t in texts for h, r in [held(t)] if h]
    rate = 100 * len(flagged) / max(1, len(texts))
    print(f"benign {name:<28} n={len(texts):5d}  held={len(flagged):3d}  FP {rate:.2f}%")
    for t, r in flagged if show else []:
        print(f"    {r} {t[:110]!r}")


def attack_report(rows: list[dict]) -> None:
    per: dict[str, list[bool]] = defaultdict(list)
    for row in rows:
        per[row.get("category", "?")].append(held(row["text"])[0])
    total = Counter()
    for cat, hits in sorted(per.items(), key=lambda kv: -sum(kv[1]) / len(kv[1])):
        print(f"  {cat:<34} {len(hits):4d} {sum(hits):5d} {100 * sum(hits) / len(hits):6.1f}%")
        total["n"] += len(hits)
        total["k"] += sum(hits)
    print(f"  {'ALL':<34} {total['n']:4d} {total['k']:5d} {100 * total['k'] / total['n']:6.1f}%")


def main() -> None:
    shared = next(
        (p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if p.exists()), ROOT
    )
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benign", type=Path, default=shared / "data/dev_benign_cursorrules.jsonl")
    ap.add_argument("--attacks", type=Path, default=shared / "data/dev_attacks_cyberseceval.jsonl")
    ap.add_argument("--notes", type=int, default=2000, help="generated ordinary coding notes")
    ap.add_argument("--show", action="store_true", help="print every held benign note")
    args = ap.parse_args()
    print(f"rule detectors only; writer = fresh known client (trust {KNOWN:.2f}), source=agent")
    if args.benign.exists():
        fp_report(args.benign.name, [r["text"] for r in load(args.benign)], args.show)
    suite = ROOT / "tests/poisoning/benign.jsonl"
    fp_report("tests/poisoning/benign.jsonl", [r["text"] for r in load(suite)], args.show)
    fp_report(f"generated notes ({args.notes})", generated_notes(args.notes), args.show)
    if args.attacks.exists():
        print(f"\nattacks {args.attacks.name}: category, n, held, rate")
        attack_report(load(args.attacks))


if __name__ == "__main__":
    main()
