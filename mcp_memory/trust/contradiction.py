"""Does a new note contradict an older one on the same subject? (pure, no I/O)

The caller has already established "same subject" by embedding distance; here
we look for the cheap, high-precision tells of disagreement: a flipped
negation, opposing verbs, or the same sentence with different numbers.
"""

from __future__ import annotations

import re

_NEGATION = re.compile(
    r"\b(not|never|no longer|don't|do not|doesn't|does not|isn't|is not|aren't|avoid|"
    r"without|deprecated|disabled?|stop(ped)? using|instead of)\b",
    re.I,
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


def reason(new: str, old: str) -> str | None:
    """A short label for why `new` disagrees with `old`, or None when it does not seem to."""
    if bool(_NEGATION.search(new)) != bool(_NEGATION.search(old)):
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
