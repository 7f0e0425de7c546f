"""Pure ranking: blending keyword and vector scores, session context, trust/age/stale weights."""

from __future__ import annotations

import pytest

from mcp_memory.recall import ranking


def test_blend_keeps_how_far_ahead_a_strong_keyword_match_is() -> None:
    scores = ranking.blend({1: 10.0, 2: 1.0}, {1: 0.3, 2: 0.3})
    assert scores[1] > scores[2]
    assert scores[1] - scores[2] > 0.4  # RRF would call ranks 1 and 2 nearly equal


def test_blend_of_a_perfect_match_in_both_is_one_and_scores_stay_in_unit_range() -> None:
    scores = ranking.blend({1: 5.0, 2: 2.5}, {1: 1.0, 3: 0.4})
    assert scores[1] == pytest.approx(1.0)
    assert all(0.0 <= s <= 1.0 for s in scores.values())


def test_blend_counts_memories_found_by_only_one_retriever() -> None:
    scores = ranking.blend({1: 3.0}, {2: 0.9})
    assert set(scores) == {1, 2}
    assert scores[2] > 0 and scores[1] > 0


def test_blend_ignores_negative_similarity_and_works_without_keyword_hits() -> None:
    scores = ranking.blend({}, {1: -0.2, 2: 0.5})
    assert scores[1] == 0.0
    assert scores[2] > 0.0


def test_blend_weights_decide_which_retriever_wins_a_disagreement() -> None:
    keyword_first = ranking.blend({1: 4.0}, {2: 0.8}, ranking.Blend(keyword=1.0, vector=0.5))
    vector_first = ranking.blend({1: 4.0}, {2: 0.8}, ranking.Blend(keyword=0.5, vector=1.0))
    assert keyword_first[1] > keyword_first[2]
    assert vector_first[2] > vector_first[1]


def test_context_lifts_a_memory_whose_neighbour_is_relevant() -> None:
    own = {1: 0.9, 2: 0.3, 3: 0.3}
    scores = ranking.with_context(own, {2: [1], 3: []})
    assert scores[2] > scores[3]


def test_context_never_outranks_the_memory_that_lends_it() -> None:
    own = {1: 0.9, 2: 0.0}
    scores = ranking.with_context(own, {1: [2], 2: [1]})
    assert scores[1] > scores[2]


def test_context_uses_the_best_neighbour_and_does_not_chain() -> None:
    own = {1: 1.0, 2: 0.2, 3: 0.2}
    scores = ranking.with_context(own, {2: [1, 3], 3: [2]}, weight=0.5)
    assert scores[2] == pytest.approx((0.2 + 0.5 * 1.0) / 1.5)
    assert scores[3] == pytest.approx((0.2 + 0.5 * 0.2) / 1.5)  # 1's relevance does not reach 3


def test_context_with_zero_weight_changes_nothing() -> None:
    own = {1: 0.7, 2: 0.1}
    assert ranking.with_context(own, {2: [1]}, weight=0.0) == own


def test_context_ignores_a_memory_listed_as_its_own_neighbour() -> None:
    assert ranking.with_context({1: 0.6}, {1: [1]}, weight=0.5) == {1: pytest.approx(0.4)}


def test_a_memory_shares_its_similarity_with_the_one_written_before_it() -> None:
    sims = ranking.with_predecessor({2: 0.2, 3: 0.2}, {2: 0.8, 3: 0.0}, weight=0.25)
    assert sims[2] == pytest.approx(0.75 * 0.2 + 0.25 * 0.8)
    assert sims[3] == pytest.approx(0.75 * 0.2)


def test_a_memory_without_a_predecessor_keeps_its_own_similarity() -> None:
    assert ranking.with_predecessor({1: 0.6}, {}, weight=0.25) == {1: 0.6}


def test_predecessor_share_uses_the_given_similarity_and_does_not_chain() -> None:
    # 3 follows 2 follows 1: 3 gets 2's own similarity, not 2's mixed one
    sims = ranking.with_predecessor({2: 0.5, 3: 0.1}, {2: 1.0, 3: 0.5}, weight=0.5)
    assert sims[3] == pytest.approx(0.5 * 0.1 + 0.5 * 0.5)


def test_trusted_memories_outrank_untrusted_ones_at_equal_relevance() -> None:
    trusted = ranking.adjust(0.5, trust=0.9, age_days=1, stale=False)
    untrusted = ranking.adjust(0.5, trust=0.1, age_days=1, stale=False)
    assert trusted > untrusted > 0


def test_stale_memories_rank_lower() -> None:
    assert ranking.adjust(0.5, trust=0.8, age_days=1, stale=True) < ranking.adjust(
        0.5, trust=0.8, age_days=1, stale=False
    )


def test_age_nudges_but_never_buries_a_clearly_better_match() -> None:
    old_exact = ranking.adjust(1.0, trust=0.8, age_days=3650, stale=False)
    new_weak = ranking.adjust(0.6, trust=0.8, age_days=0, stale=False)
    assert old_exact > new_weak


def test_when_every_candidate_is_a_weak_semantic_match_the_best_still_ranks_first() -> None:
    from mcp_memory.recall import ranking

    scores = ranking.blend({}, {1: 0.12, 2: 0.25, 3: 0.05})
    assert max(scores, key=scores.__getitem__) == 2 and scores[2] > scores[1] > scores[3]
