"""Meaning, not words: these need the real MiniLM model (../shared/models)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_memory import FakeEmbedder, MemoryStore, ModelLoader, Settings

from .conftest import AGENT, MODEL_DIR, needs_model

pytestmark = needs_model

NOTES = {
    "db": "PostgreSQL connection pool is capped at 20 because of the RDS instance size",
    "auth": "Sessions expire after 30 minutes of inactivity; refresh tokens last a week",
    "ci": "The GitHub Actions workflow caches pip wheels between runs",
    "style": "Prefer dataclasses over dicts for structured values in the domain layer",
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("how many simultaneous database links can we open", "db"),
        ("when does a logged-in user get kicked out", "auth"),
        ("speed up continuous integration dependency installs", "ci"),
    ],
)
def test_a_query_sharing_no_words_still_finds_the_note(
    real_store: MemoryStore, query: str, expected: str
) -> None:
    ids = {key: real_store.remember(text, actor=AGENT).id for key, text in NOTES.items()}
    result = real_store.recall(query)
    assert result.mode == "hybrid"
    assert result.results[0].id == ids[expected]


def test_without_a_model_recall_works_on_keywords_and_backfills_later(
    settings: Settings, real_embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    offline = MemoryStore.open(settings=settings, embedder=None, root=tmp_path)
    mid = offline.remember(NOTES["db"], actor=AGENT).id
    result = offline.recall("connection pool")
    assert result.mode == "keyword" and result.results[0].id == mid
    assert offline.stats()["unembedded"] == 1
    offline.close()

    online = MemoryStore.open(settings=settings, embedder=real_embedder, root=tmp_path)
    assert online.backfill() == 1
    assert online.stats()["unembedded"] == 0
    assert online.recall("how many simultaneous database links").results[0].id == mid
    online.close()


def test_changing_the_model_re_embeds_every_memory(
    settings: Settings, real_embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    fake = MemoryStore.open(settings=settings, embedder=FakeEmbedder(dim=64), root=tmp_path)
    for text in NOTES.values():
        fake.remember(text, actor=AGENT)
    fake.close()
    real = MemoryStore.open(settings=settings, embedder=real_embedder, root=tmp_path)
    real.embedder()
    assert real.stats()["unembedded"] == len(NOTES)
    assert real.backfill() == len(NOTES)
    models = {r[0] for r in real.conn.execute("select embedding_model from memories")}
    assert models == {real_embedder.name}
    real.close()


def test_the_background_loader_never_blocks_and_reports_a_missing_model(tmp_path: Path) -> None:
    loader = ModelLoader(model_dir=tmp_path / "nowhere")
    loader.start()
    assert loader.current() is None
    assert loader.wait(30) is None
    assert "keyword-only" in loader.status and "model.onnx" in loader.status


def test_the_real_loader_loads_the_local_model() -> None:
    loader = ModelLoader(model_dir=MODEL_DIR).start()
    emb = loader.wait(60)
    assert emb is not None and emb.dim == 384
    vec = emb.embed(["hello"])
    assert vec.shape == (1, 384) and abs(float((vec**2).sum()) - 1.0) < 1e-4
