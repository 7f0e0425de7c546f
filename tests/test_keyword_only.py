"""Recall without a model behaves like a search engine: any matching word counts.

For users offline, without MCP_MEMORY_MODEL_DIR, recall runs on keywords alone; a query word
that no memory holds must not cost the words that do match.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_memory import MemoryStore, Settings

from .conftest import AGENT

NOTES = [
    "Schema changes are written as migrations and applied with alembic on deploy.",
    "Deploys go through the release/* branches after CI is green.",
    "The frontend is built with Vite and tested with Playwright.",
]


@pytest.fixture
def keyword_store(settings: Settings, tmp_path: Path) -> Iterator[MemoryStore]:
    s = MemoryStore.open(settings=settings, embedder=None, root=tmp_path)
    yield s
    s.close()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("database migrations", 0),
        ("release process", 1),
        ("how is the frontend tested", 2),
    ],
)
def test_a_query_word_no_memory_holds_does_not_hide_the_words_that_match(
    keyword_store: MemoryStore, query: str, expected: int
) -> None:
    ids = [keyword_store.remember(note, actor=AGENT).id for note in NOTES]
    result = keyword_store.recall(query)
    assert result.mode == "keyword"
    assert [h.id for h in result.results][:1] == [ids[expected]]


def test_in_a_store_of_one_note_a_query_with_an_unknown_word_still_finds_it(
    keyword_store: MemoryStore,
) -> None:
    only = keyword_store.remember(NOTES[0], actor=AGENT).id
    assert [h.id for h in keyword_store.recall("database migrations").results] == [only]
    assert keyword_store.recall("kubernetes helm").results == []
