"""On a large store the keyword search scores only the rarest words of a question; its ranking
then stands for that part of the question only, and counts for that part in the blend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_memory import MemoryStore, Settings
from mcp_memory.recall import query
from mcp_memory.recall.hybrid import keyword_share
from mcp_memory.recall.query import Scope, scored_share

from .conftest import AGENT


def test_a_keyword_ranking_of_half_the_question_by_weight_counts_half() -> None:
    idf = {"search": 2.0, "tested": 2.0}
    assert scored_share(["search", "tested"], {"search"}, idf) == pytest.approx(0.5)
    assert scored_share(["search", "tested"], {"search", "tested"}, idf) == 1.0


def test_words_no_memory_in_scope_holds_do_not_lower_the_share() -> None:
    idf = {"search": 2.0}
    assert scored_share(["search", "kubernetes"], {"search"}, idf) == 1.0
    assert scored_share(["kubernetes"], set(), {}) == 1.0


@pytest.fixture
def keyword_store(settings: Settings, tmp_path: Path) -> Iterator[MemoryStore]:
    s = MemoryStore.open(settings=settings, embedder=None, root=tmp_path)
    yield s
    s.close()


def test_the_share_falls_when_pruning_drops_a_common_word_of_the_question(
    keyword_store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(6):
        keyword_store.remember(f"The worker {i} is tested nightly on staging.", actor=AGENT)
    keyword_store.remember("The search service owns the products index.", actor=AGENT)
    keyword_store.remember("Search results are cached for ten minutes.", actor=AGENT)
    scope = Scope(projects=[keyword_store.settings.project, ""])
    conn = keyword_store.conn
    assert keyword_share(conn, "how is search tested?", scope) == 1.0
    monkeypatch.setattr(query, "FTS_DOC_BUDGET", 2)  # room for "search" (2 notes) only
    share = keyword_share(conn, "how is search tested?", scope)
    assert 0.0 < share < 1.0
