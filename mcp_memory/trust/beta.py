"""Pure trust arithmetic: a Beta(alpha, beta) belief per agent and a per-write decision.

No I/O: the store persists alpha/beta/clean_credit/unconfirmed/updated_at and calls these
functions. The model is deliberately asymmetric. Clean writes are cheap to produce, so they earn
a little trust up to a hard cap (no farming); confirmed bad behaviour is rare and informative, so
it costs a lot and also forfeits part of what clean writing earned (a sleeper cannot bank
goodwill).

Detector-made evidence is not confirmed, and detectors have a false-positive rate: a busy honest
writer will be quarantined now and then. So a quarantine costs in proportion to how sure the
detectors were (`sureness` of its risk), and that cost is kept apart as `unconfirmed`: each
clean write forgives a small share of it, so what counts is the rate of quarantines, not their
number over a lifetime of writes. A human rejecting the write confirms it (full cost, no longer
forgiven by writing); approving it refunds exactly what it cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # compiling the detectors' patterns costs a read (CLI recall) ~0.1 s
    from mcp_memory.trust.detectors import Signal

SECONDS_PER_DAY = 86_400.0

USER_AGENT = "user"

# Priors as pseudo-counts (alpha, beta). Their size is how much evidence it takes to move them.
# The human at the CLI is the root of trust: near 1 and never scored down.
USER_PRIOR = (50.0, 1.0)
# Agents the human named in config: trusted up front, but still lose trust on bad evidence.
TRUSTED_PRIOR = (8.0, 2.0)
# A client that announced itself (clientInfo.name): some accountability, modest trust (0.6).
KNOWN_CLIENT_PRIOR = (3.0, 2.0)
# Anonymous writers start below even (0.33): nothing vouches for them.
ANONYMOUS_PRIOR = (1.0, 2.0)

# Clean writes: each adds CLEAN_STEP to alpha until CLEAN_CREDIT_CAP in total. So writing alone can
# raise a known client from 0.60 to at most (3+3)/(3+3+2) = 0.75, a trusted agent to 0.846, and an
# anonymous one to 0.667. FARMING_CEILING documents the highest score writing alone can reach.
CLEAN_STEP = 0.05
CLEAN_CREDIT_CAP = 3.0
FARMING_CEILING = 0.85

# Negative evidence (added to beta). A quarantine is detector-made (may be a false positive), a
# rejected review is the human confirming it, a secret leak is usually careless, not hostile.
# A quarantine costs its full weight only when the detectors were sure (see sureness()).
BETA_WEIGHTS: dict[str, float] = {
    "quarantined": 2.0,
    "rejected_write": 1.0,
    "review_rejected": 3.0,
    "contradiction": 1.0,
    "burst": 0.5,
    "forgot_other": 0.5,
    "distrusted": 20.0,
}
# Made by detectors, not confirmed by anyone: kept in `unconfirmed` and forgiven by clean writes.
UNCONFIRMED_EVENTS = frozenset({"quarantined", "contradiction", "burst"})
# Each clean write forgives this share of the unconfirmed penalty. At a 1% false-positive rate
# that holds an honest writer's unconfirmed penalty near (cost per quarantine) x 1: a rate, not a
# running total. Five quarantines in a row (a sleeper) are forgiven by nothing.
FORGIVE_PER_CLEAN = 0.01
# Every negative event also forfeits this share of the alpha earned above the prior (scaled by
# sureness for a quarantine). Detector-made forfeits can be earned back by writing clean; what
# a human confirmed cannot, until it relaxes with time.
FORFEIT_SHARE = 0.5
# Detector-made evidence alone never takes an agent below this score: under QUARANTINE_ALL_BELOW
# every write is held and held writes earn nothing, so only a human's judgement (a rejected
# review, `agents distrust`) may put an agent there. A sleeper still falls to a third of a known
# client's earned score here.
UNCONFIRMED_FLOOR = 0.25
# Sureness of a quarantine from its combined risk: none at or below SURE_FROM (a single weak
# signal, where detectors' false positives live), all at SURE_AT and above (several families,
# or one that cannot be innocent), rising as a square between them, so a borderline hold costs
# little and a clear attack costs the full weight.
SURE_FROM = 0.55
SURE_AT = 0.95
# A human approval outweighs many clean writes and cancels one quarantine's penalty.
APPROVAL_ALPHA = 1.0
# A human "trust" command: strong positive evidence and forgiveness of past negatives.
TRUSTED_ALPHA = 20.0

EVENTS = frozenset(
    {
        "clean_write",
        "quarantined",
        "rejected_write",
        "review_rejected",
        "review_approved",
        "contradiction",
        "burst",
        "forgot_other",
        "distrusted",
        "trusted",
    }
)
NEGATIVE_EVENTS = frozenset(BETA_WEIGHTS)


@dataclass(frozen=True)
class AgentTrust:
    """Beta belief about one agent, with the bookkeeping that keeps it honest."""

    alpha: float
    beta: float
    prior_alpha: float
    prior_beta: float
    clean_credit: float
    updated_at: float
    # The part of `beta` that detectors added and no human has confirmed (see module doc).
    unconfirmed: float = 0.0

    @property
    def score(self) -> float:
        """Posterior mean: the expected share of this agent's writes that are good."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def is_user(self) -> bool:
        """The human is recognised by their prior, which only prior_for() hands out."""
        return (self.prior_alpha, self.prior_beta) == USER_PRIOR


def prior_for(
    agent: str, *, trusted_agents: frozenset[str] = frozenset(), known_client: bool = False
) -> tuple[float, float]:
    """The starting belief for an agent, from what vouches for it."""
    if agent == USER_AGENT:
        return USER_PRIOR
    if agent in trusted_agents:
        return TRUSTED_PRIOR
    if known_client:
        return KNOWN_CLIENT_PRIOR
    return ANONYMOUS_PRIOR


def new_agent(
    agent: str,
    now: float,
    *,
    trusted_agents: frozenset[str] = frozenset(),
    known_client: bool = False,
) -> AgentTrust:
    """A first-seen agent sits exactly at its prior."""
    a, b = prior_for(agent, trusted_agents=trusted_agents, known_client=known_client)
    return AgentTrust(a, b, a, b, 0.0, now)


def relax(t: AgentTrust, now: float, half_life_days: float = 30.0) -> AgentTrust:
    """Evidence fades toward the prior: old sins are forgiven, old credit must be re-earned."""
    dt = max(0.0, now - t.updated_at)
    if dt == 0.0 or half_life_days <= 0:
        return replace(t, updated_at=max(t.updated_at, now))
    keep = math.pow(0.5, dt / (half_life_days * SECONDS_PER_DAY))
    return replace(
        t,
        alpha=t.prior_alpha + (t.alpha - t.prior_alpha) * keep,
        beta=t.prior_beta + (t.beta - t.prior_beta) * keep,
        clean_credit=t.clean_credit * keep,
        unconfirmed=t.unconfirmed * keep,
        updated_at=now,
    )


def sureness(risk: float | None) -> float:
    """How sure the detectors were that a held write is bad, 0..1; None (unknown) is sure."""
    if risk is None:
        return 1.0
    x = min(max((risk - SURE_FROM) / (SURE_AT - SURE_FROM), 0.0), 1.0)
    return x * x


def _clean_write(t: AgentTrust) -> AgentTrust:
    step = min(CLEAN_STEP, max(0.0, CLEAN_CREDIT_CAP - t.clean_credit))
    forgive = min(t.unconfirmed * FORGIVE_PER_CLEAN, max(0.0, t.beta - t.prior_beta))
    return replace(
        t,
        alpha=t.alpha + step,
        clean_credit=t.clean_credit + step,
        beta=t.beta - forgive,
        unconfirmed=t.unconfirmed - forgive,
    )


def _negative(t: AgentTrust, event: str, risk: float | None) -> AgentTrust:
    share = sureness(risk) if event == "quarantined" else 1.0
    cost = BETA_WEIGHTS[event] * share
    if event == "review_rejected":  # the human confirms: the rest of the full quarantine cost
        cost += BETA_WEIGHTS["quarantined"] * (1.0 - sureness(risk))
    forfeit = max(0.0, t.alpha - t.prior_alpha) * FORFEIT_SHARE * share
    if event in UNCONFIRMED_EVENTS:  # forgiven by clean writes, and the forfeit re-earnable
        alpha = t.alpha - forfeit
        cost = min(cost, max(0.0, alpha / UNCONFIRMED_FLOOR - alpha - t.beta))
        return replace(
            t,
            alpha=alpha,
            clean_credit=max(0.0, t.clean_credit - forfeit),
            beta=t.beta + cost,
            unconfirmed=t.unconfirmed + cost,
        )
    confirmed = _confirm(t, risk) if event == "review_rejected" else t.unconfirmed
    return replace(t, alpha=t.alpha - forfeit, beta=t.beta + cost, unconfirmed=confirmed)


def _confirm(t: AgentTrust, risk: float | None) -> float:
    """A reviewed write's quarantine cost stops being unconfirmed (what is left of it)."""
    return max(0.0, t.unconfirmed - BETA_WEIGHTS["quarantined"] * sureness(risk))


def _approved(t: AgentTrust, risk: float | None) -> AgentTrust:
    """The human says the held write was fine: refund exactly what its quarantine cost."""
    refund = BETA_WEIGHTS["quarantined"] * sureness(risk)
    beta = max(t.prior_beta, t.beta - refund)
    return replace(t, alpha=t.alpha + APPROVAL_ALPHA, beta=beta, unconfirmed=_confirm(t, risk))


def apply(t: AgentTrust, event: str, now: float, risk: float | None = None) -> AgentTrust:
    """Relax to now, then move the belief by one event. `risk` is the combined risk of the
    write a quarantine or review is about (it sets what the quarantine cost); None when the
    caller does not know it, which charges and refunds the full weight."""
    if event not in EVENTS:
        raise ValueError(f"unknown trust event {event!r}; expected one of {sorted(EVENTS)}")
    t = relax(t, now)
    if event in NEGATIVE_EVENTS:
        return t if t.is_user else _negative(t, event, risk)
    if event == "clean_write":
        return _clean_write(t)
    if event == "review_approved":
        return _approved(t, risk)
    # "trusted": strong positive evidence, and every past negative forgiven
    return replace(t, alpha=t.alpha + TRUSTED_ALPHA, beta=t.prior_beta, unconfirmed=0.0)


# --- per-write decision --------------------------------------------------------------------------

UNTRUSTED_SOURCES = frozenset({"web", "tool", "file"})
# Quarantine when combined risk reaches BASE + SLOPE * trust (capped): a 0.6 known client
# quarantines at 0.53, an anonymous writer at 0.45, and nobody above 0.65, so trust never buys a
# pass for a clear attack.
THRESHOLD_BASE = 0.35
THRESHOLD_SLOPE = 0.3
THRESHOLD_CAP = 0.65
# Text copied from the web, a tool result or a file gets this much less benefit of the doubt.
UNTRUSTED_SOURCE_PENALTY = 0.1
# Below this score every write goes to review (e.g. after the human ran `agents distrust`).
QUARANTINE_ALL_BELOW = 0.2
LOW_TRUST = 0.4
# Signals weaker than this are noise for the reasons list (but still count toward risk).
REASON_FLOOR = 0.15


@dataclass(frozen=True)
class Decision:
    """What the store does with one write, and why (categories only, never content)."""

    status: str
    risk: float
    reasons: list[str]


def combined_risk(signals: list[Signal]) -> float:
    """Noisy-OR over families, strongest signal per family: independent evidence adds up."""
    per_family: dict[str, float] = {}
    for s in signals:
        per_family[s.family] = max(per_family.get(s.family, 0.0), min(max(s.severity, 0.0), 1.0))
    miss = 1.0
    for sev in per_family.values():
        miss *= 1.0 - sev
    return 1.0 - miss


def threshold(agent_trust: float, source: str) -> float:
    """The risk at which a write from this writer and source goes to review."""
    t = min(THRESHOLD_CAP, THRESHOLD_BASE + THRESHOLD_SLOPE * min(max(agent_trust, 0.0), 1.0))
    return t - UNTRUSTED_SOURCE_PENALTY if source in UNTRUSTED_SOURCES else t


def decide(
    signals: list[Signal], *, agent_trust: float, source: str, is_user: bool = False
) -> Decision:
    """Store, quarantine or reject one write; the human is never quarantined, secrets never kept.

    The human's own write carries no risk: risk scales the trust a memory is recalled with
    (records.memory_trust), and a safety note the human typed ("never pipe curl to sh") must
    not come back as a 0.2-trust memory because it names what it warns against."""
    risk = round(combined_risk(signals), 4)
    reasons = {s.family for s in signals if s.severity >= REASON_FLOOR}
    if any(s.family == "secret" for s in signals):
        return Decision("rejected", 1.0, sorted(reasons | {"secret"}))
    if is_user:  # the person at the terminal vouches for it: families noted, no risk carried
        return Decision("stored", 0.0, sorted(reasons))
    if source in UNTRUSTED_SOURCES and reasons:
        reasons.add("untrusted_source")
    if agent_trust < LOW_TRUST and (reasons or agent_trust < QUARANTINE_ALL_BELOW):
        reasons.add("low_agent_trust")
    if agent_trust < QUARANTINE_ALL_BELOW or risk >= threshold(agent_trust, source):
        return Decision("quarantined", risk, sorted(reasons))
    return Decision("stored", risk, sorted(reasons))
