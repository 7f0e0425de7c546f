"""Does a new note contradict an older one on the same subject? (pure, no I/O)

The caller has already established "same subject" by embedding distance; here
we look for the cheap, high-precision tells of disagreement: a flipped
polarity (negators and inverting words, read in the clauses about the shared subject),
opposing verbs, or the same sentence with different numbers.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Polarity: a claim about the same subject read as "do it" or "don't". Each negator and each
# word that inverts an action (skip, disable, turn ... off, optional) flips it, so "never
# disable TLS" and "do not skip the hooks" come out positive, "you may skip the hooks" and
# "it's fine to turn TLS verification off" negative. Only clauses that share words with the
# other note are read, and a negator only counts when it governs something that matters (a
# shared word, an inverting word, a modal such as "required"): "Don't worry, you may skip
# the hooks" cannot hide its "skip" behind a negation that is about something else.
_NEGATORS = frozenset({"not", "never", "no", "nor", "cannot", "without", "neither"})
_INVERTERS = re.compile(
    r"^(?:disabl(?:e|es|ed|ing)|skip(?:s|ped|ping)?|bypass(?:es|ed|ing)?|ignor(?:e|es|ed|ing)"
    r"|omit(?:s|ted|ting)?|avoid(?:s|ed|ing)?|deactivat(?:e|es|ed|ing)|stop(?:s|ped|ping)?"
    r"|deprecated|optional|unnecessary|needless|instead|off)$"
)
# what a negator may govern besides shared words and inverters
_MODAL_HEADS = _words(
    "required needed necessary mandatory allowed permitted safe ok okay fine recommended "
    "supposed advisable wise turn switch shut set"
)
# words between a negator and what it governs ("do not ever skip", "no longer use")
_FILLER = _words(
    "be is are was were been to do does did ever always really just the a an you we it i "
    "they need longer have has had should must will would can could may might please even "
    "yet so too at all any"
)
_CLAUSE = re.compile(r"[,;:.!?()\n]+|\s(?:but|although|though|however)\s", re.I)
_TOKEN = re.compile(r"[a-z0-9_]+(?:['’]t)?")
_STOP = _words(
    "the a an and or of to in on for with by at is are be it this that you we i they as "
    "from into your our their its may can should must will"
)
_OPPOSITES = [
    ("enable", "disable"),
    ("allow", "deny"),
    ("allow", "block"),
    ("true", "false"),
    ("always", "never"),
    ("use", "avoid"),
    ("required", "optional"),
    ("safe", "unsafe"),
    ("on", "off"),
    ("add", "remove"),
    ("sync", "async"),
    ("public", "private"),
]
# A number is a claimed value only when asserted ("is 100", "= 30") or given a unit
# ("100 rps", "30 minutes"); "service 4" or "fact 17" are names, not claims.
_VALUE = re.compile(
    r"(?:\b(?:is|are|was|were|be|to|at|of|equals)\s+|[=:]\s*)(\d+(?:\.\d+)*)\b"
    r"|\b(\d+(?:\.\d+)*)\s*(?:ms|s|sec|secs|seconds?|minutes?|mins?|hours?|h|days?|rps|qps|"
    r"%|kb|mb|gb|tb|requests?|req|retries|times|connections?|workers?|threads?|replicas?|"
    r"items?|rows?|users?|percent)\b",
    re.I,
)
_WORD = re.compile(r"[a-z][a-z0-9_]+")


def _values(text: str) -> set[str]:
    return {a or b for a, b in _VALUE.findall(text)}


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _negator(token: str) -> bool:
    return token in _NEGATORS or token.endswith(("n't", "n’t"))


def _flips(tokens: list[str], shared: set[str]) -> int:
    """How many times one clause inverts itself: inverting words, and negators followed
    (past filler) by a shared word, an inverting word or a modal head."""
    count = 0
    for i, token in enumerate(tokens):
        if _INVERTERS.match(token):
            count += 1
        elif _negator(token):
            head = next((t for t in tokens[i + 1 :] if t not in _FILLER), "")
            if head in shared or _INVERTERS.match(head) or head in _MODAL_HEADS:
                count += 1
    return count


def _content(tokens: list[str]) -> set[str]:
    return {t for t in tokens if len(t) > 2 and t not in _STOP and not _negator(t)}


def polarity(text: str, other: str) -> bool:
    """True when `text` says "do it" about what it shares with `other`, False for "don't"."""
    theirs = _content(_TOKEN.findall(other.lower()))
    clauses = [_TOKEN.findall(c.lower()) for c in _CLAUSE.split(text) if c and c.strip()]
    relevant = [c for c in clauses if _content(c) & theirs] or clauses
    return sum(_flips(c, theirs) for c in relevant) % 2 == 0


def reason(new: str, old: str) -> str | None:
    """A short label for why `new` disagrees with `old`, or None when it does not seem to."""
    if polarity(new, old) != polarity(old, new):
        return "negation_flip"
    new_w, old_w = _words(new), _words(old)
    for a, b in _OPPOSITES:
        if (a in new_w and b in old_w and b not in new_w) or (
            b in new_w and a in old_w and a not in new_w
        ):
            return f"opposite:{a}/{b}"
    new_n, old_n = _values(new), _values(old)
    shared = len(new_w & old_w) / max(1, len(new_w | old_w))
    if new_n and old_n and new_n != old_n and shared >= 0.5:
        return "different_values"
    return None
