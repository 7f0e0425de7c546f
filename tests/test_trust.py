"""Unit behaviour of the pure trust model and the per-write decision."""

from __future__ import annotations

import pytest

from mcp_memory.trust import beta as trust
from mcp_memory.trust.detectors import Signal


def sig(family: str, severity: float) -> Signal:
    return Signal(family, severity, "x", "y")


def test_priors_rank_user_over_trusted_over_known_over_anonymous() -> None:
    scores = [
        trust.new_agent(name, 0.0, trusted_agents=frozenset({"bot"}), known_client=known).score
        for name, known in (("user", False), ("bot", False), ("cursor", True), ("anon", False))
    ]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 4


def test_unknown_events_are_refused() -> None:
    with pytest.raises(ValueError):
        trust.apply(trust.new_agent("a", 0.0), "made_up", 1.0)


def test_every_documented_event_is_accepted() -> None:
    t = trust.new_agent("a", 0.0, known_client=True)
    for event in sorted(trust.EVENTS):
        t = trust.apply(t, event, 1.0)
    assert 0.0 < t.score < 1.0


@pytest.mark.parametrize(
    "event",
    [
        "quarantined",
        "rejected_write",
        "review_rejected",
        "contradiction",
        "burst",
        "forgot_other",
        "distrusted",
    ],
)
def test_negative_events_lower_an_agents_score(event: str) -> None:
    t = trust.new_agent("a", 0.0, known_client=True)
    assert trust.apply(t, event, 1.0).score < t.score


@pytest.mark.parametrize("event", ["quarantined", "review_rejected", "distrusted", "burst"])
def test_the_human_is_never_scored_down(event: str) -> None:
    user = trust.new_agent("user", 0.0)
    assert trust.apply(user, event, 10.0).score == user.score


def test_the_human_is_recognised_after_a_round_trip_through_storage() -> None:
    u = trust.new_agent("user", 0.0)
    row = trust.AgentTrust(u.alpha, u.beta, u.prior_alpha, u.prior_beta, u.clean_credit, 0.0)
    assert trust.apply(row, "quarantined", 1.0).score == u.score


def test_relax_never_moves_backwards_in_time() -> None:
    t = trust.apply(trust.new_agent("a", 0.0), "quarantined", 100.0)
    assert trust.relax(t, 50.0) == t


def test_secrets_are_rejected_even_for_the_human() -> None:
    d = trust.decide([sig("secret", 1.0)], agent_trust=0.99, source="user", is_user=True)
    assert d.status == "rejected" and d.reasons == ["secret"]


def test_the_human_is_stored_but_still_told_why_a_write_looked_risky() -> None:
    d = trust.decide(
        [sig("instruction_override", 0.9)], agent_trust=0.98, source="user", is_user=True
    )
    assert d.status == "stored" and d.reasons == ["instruction_override"]


def test_less_trusted_writers_are_quarantined_at_lower_risk() -> None:
    signals = [sig("dangerous_command", 0.5)]
    assert trust.decide(signals, agent_trust=0.33, source="agent").status == "quarantined"
    assert trust.decide(signals, agent_trust=0.75, source="agent").status == "stored"


def test_web_tool_and_file_sources_get_more_scrutiny() -> None:
    signals = [sig("exfiltration", 0.5)]
    assert trust.decide(signals, agent_trust=0.6, source="agent").status == "stored"
    d = trust.decide(signals, agent_trust=0.6, source="web")
    assert d.status == "quarantined" and "untrusted_source" in d.reasons


def test_independent_weak_signals_add_up_across_families() -> None:
    one = trust.decide([sig("role_forgery", 0.4)], agent_trust=0.6, source="agent")
    two = trust.decide(
        [sig("role_forgery", 0.4), sig("secrecy_trigger", 0.4)], agent_trust=0.6, source="agent"
    )
    assert one.status == "stored" and two.status == "quarantined"


def test_repeats_within_one_family_do_not_stack() -> None:
    d = trust.decide([sig("role_forgery", 0.4)] * 5, agent_trust=0.6, source="agent")
    assert d.status == "stored" and d.risk == pytest.approx(0.4)


def test_no_amount_of_trust_lets_a_clear_attack_through() -> None:
    d = trust.decide([sig("instruction_override", 0.9)], agent_trust=1.0, source="agent")
    assert d.status == "quarantined"


def test_reasons_are_sorted_unique_categories() -> None:
    d = trust.decide(
        [sig("role_forgery", 0.9), sig("exfiltration", 0.6), sig("role_forgery", 0.8)],
        agent_trust=0.3,
        source="tool",
    )
    assert d.reasons == sorted(set(d.reasons))
    assert set(d.reasons) == {"exfiltration", "role_forgery", "untrusted_source", "low_agent_trust"}
