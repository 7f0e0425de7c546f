"""Does recall quality hold as the store grows? Ours beside a pure vector search, same model.

    python benchmarks/scale_quality.py --model-dir ../shared/models/all-MiniLM-L6-v2-onnx \\
        [--sizes 2000 10000 100000] [--questions 100]

Topic-labelled synthetic coding notes (benchmarks/coding_notes.py) are written into a real
store; questions are asked the way an agent would ("how is billing tested?") with wording
that is not the notes' own. A question counts as answered when a note about the same subject
(topic and entity, e.g. tests:billing) is in the top 5. The baseline is an exact cosine
search over the same vectors of the same model, nothing else: if we fall under it at any
size, the keyword and ranking layers cost quality there.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coding_notes import Note, generate  # noqa: E402
from latency import Precomputed  # noqa: E402

from mcp_memory import HUMAN, FastEmbedder, MemoryStore, Settings  # noqa: E402

QUESTIONS: dict[str, list[str]] = {
    "services": ["what is the {e} service and who owns it?", "which port does {e} listen on?"],
    "tests": ["how is {e} tested?", "what do I need to run the {e} test suite?"],
    "config": ["where does {e} read its config?", "how do I change a setting of {e}?"],
    "deploy": ["how do we ship {e} to production?", "how do I roll back {e}?"],
    "database": ["what should I know about the {e} table?", "how do we query {e}?"],
    "ci": ["what does the {e} CI job do?", "why would the {e} pipeline fail?"],
    "dependencies": ["can I upgrade {e}?", "what version of {e} do we use?"],
    "conventions": ["what are our rules about {e}?"],
    "incidents": ["when does {e} break?", "what went wrong with {e} before?"],
    "api": ["how do clients call the {e} API?", "what are the limits of the {e} API?"],
    "tooling": ["how do I use {e} locally?", "where is {e} configured?"],
    "performance": ["why is {e} slow?", "what is the latency budget of {e}?"],
}


def questions(notes: list[Note], n: int, rng: random.Random) -> list[tuple[str, str]]:
    """(question, subject) for n distinct subjects present in the notes."""
    subjects = sorted({note.subject for note in notes if not note.subject.endswith(":general")})
    picked = rng.sample(subjects, min(n, len(subjects)))
    out = []
    for subject in picked:
        topic, entity = subject.split(":", 1)
        out.append((rng.choice(QUESTIONS[topic]).format(e=entity), subject))
    return out


def load(store: MemoryStore, emb: Precomputed, notes: list[Note]) -> dict[int, str]:
    """Writes the notes as the human (a bulk load, not an agent flood); id -> subject."""
    subject_of: dict[int, str] = {}
    for lo in range(0, len(notes), 512):
        batch = notes[lo : lo + 512]
        texts = [note.text for note in batch]
        for text, vec in zip(texts, emb.model.embed(texts), strict=True):
            emb.cache[text] = vec
        for note in batch:
            result = store.remember(note.text, actor=HUMAN)
            if result.id is not None:
                subject_of.setdefault(result.id, note.subject)
    return subject_of


def vector_baseline(store: MemoryStore, ids: list[int], model: FastEmbedder) -> np.ndarray:
    rows = store.conn.execute("select id, content from memories order by id").fetchall()
    texts = {int(r[0]): str(r[1]) for r in rows}
    matrix = np.vstack(
        [model.embed([texts[i] for i in ids[lo : lo + 512]]) for lo in range(0, len(ids), 512)]
    )
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def measure(size: int, args: argparse.Namespace, model: FastEmbedder) -> dict[str, float]:
    notes = generate(size, seed=args.seed)
    db = Path(tempfile.mkdtemp()) / "quality.db"
    emb = Precomputed(model)
    store = MemoryStore.open(settings=Settings(db_path=db, project="bench"), embedder=emb)
    t0 = time.perf_counter()
    subject_of = load(store, emb, notes)
    built = time.perf_counter() - t0
    ids = sorted(subject_of)
    matrix = vector_baseline(store, ids, model)
    asked = questions(notes, args.questions, random.Random(args.seed + 1))
    ours = base = 0
    for question, subject in asked:
        hits = store.recall(question, limit=5).results
        ours += any(subject_of.get(h.id) == subject for h in hits)
        q = model.embed([question])[0]
        top = np.argsort(-(matrix @ (q / np.linalg.norm(q))))[:5]
        base += any(subject_of[ids[i]] == subject for i in top)
    store.close()
    return {
        "size": size,
        "stored": len(ids),
        "ours": ours,
        "vector": base,
        "asked": len(asked),
        "build_s": built,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    ap.add_argument("--questions", type=int, default=400, help="at most one per subject")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    model = FastEmbedder(model_dir=Path(args.model_dir))
    print(f"{'notes':>7} {'stored':>7} {'ours top-5':>11} {'vector top-5':>13} {'build s':>8}")
    for size in args.sizes:
        r = measure(size, args, model)
        print(
            f"{r['size']:>7} {r['stored']:>7} {r['ours']:>5}/{r['asked']:<5} "
            f"{r['vector']:>6}/{r['asked']:<6} {r['build_s']:>8.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
