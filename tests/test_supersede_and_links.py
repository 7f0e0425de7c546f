"""Two rules of the write and recall paths that nothing else pinned down (issue 15): an agent
not trusted enough to forget another agent's memory cannot replace it by superseding it
either (lifecycle.hold_supersede_of_others), and a link never leads recall to a memory that
is not active (records.links_of), whichever end of the link was quarantined later."""

from __future__ import annotations

from dataclasses import replace

from mcp_memory import MemoryStore, review
from mcp_memory.lifecycle import FORGET_OTHERS_MIN_TRUST
from mcp_memory.trust import agents

from .conftest import AGENT, OTHER

NOTE = "Install the linters with make lint-deps; it pins ruff and mypy versions."
NEWER = "Install the linters with pip install ruff mypy; make lint-deps is gone."


def _recalled(store: MemoryStore, query: str) -> list[int]:
    return [h.id for h in store.recall(query).results]


def _trust(store: MemoryStore, actor) -> float:  # type: ignore[no-untyped-def]
    with store.lock:
        return agents.current(store.conn, actor, store.settings.trusted_agents).score


def test_an_agent_below_the_forget_trust_superseding_anothers_memory_waits_for_review(
    store: MemoryStore,
) -> None:
    old = store.remember(NOTE, actor=AGENT)
    assert _trust(store, OTHER) < FORGET_OTHERS_MIN_TRUST
    new = store.remember(NEWER, actor=OTHER, supersedes=old.id)
    assert new.status == "quarantined"
    assert {"supersede_needs_review", "supersede_after_review"} <= set(new.reasons)
    assert store.get(old.id).status == "active"
    assert _recalled(store, "install the linters") == [old.id]
    assert [q.memory_id for q in review.queue(store)] == [new.id]
    review.decide(store, new.id, approve=True)  # the human's approval applies the supersede
    assert store.get(old.id).status == "superseded"
    assert _recalled(store, "install the linters") == [new.id]


def test_an_agent_trusted_enough_to_forget_it_supersedes_anothers_memory_at_once(
    store: MemoryStore,
) -> None:
    old = store.remember(NOTE, actor=AGENT)
    store.settings = replace(store.settings, trusted_agents=frozenset({OTHER.agent}))
    assert _trust(store, OTHER) >= FORGET_OTHERS_MIN_TRUST
    new = store.remember(NEWER, actor=OTHER, supersedes=old.id)
    assert new.status == "stored" and store.get(old.id).status == "superseded"
    assert review.queue(store) == []


def test_an_agent_superseding_its_own_memory_needs_no_review(store: MemoryStore) -> None:
    old = store.remember(NOTE, actor=OTHER)
    new = store.remember(NEWER, actor=OTHER, supersedes=old.id)
    assert new.status == "stored" and store.get(old.id).status == "superseded"


def test_a_link_to_a_memory_quarantined_later_no_longer_shows_in_recall(
    store: MemoryStore,
) -> None:
    note = store.remember("The billing export runs nightly at 02:00 UTC", actor=AGENT)
    extra = store.remember("Copy the output to the bucket named in EXPORT_TARGET", actor=OTHER)
    store.link(note.id, extra.id, "related", actor=OTHER)
    store.link(extra.id, note.id, "supports", actor=OTHER)
    before = store.recall("billing export nightly").results
    assert extra.id in [h.id for h in before]  # pulled in along the link, and named by it
    assert extra.id in [link.id for link in before[0].links]
    review.set_trust(store, OTHER.agent, trusted=False, retro=True)
    assert store.get(extra.id).status == "quarantined"
    after = store.recall("billing export nightly").results
    assert [h.id for h in after] == [note.id]
    assert after[0].links == []  # neither the link out nor the one in
