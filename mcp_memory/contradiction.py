"""Does a new note contradict an older one on the same subject? (pure, no I/O)

The caller has already established "same subject" by embedding distance; here
we look for the cheap, high-precision tells of disagreement: a flipped
negation, opposing verbs, or the same sentence with different numbers.
"""

from __future__ import annotations

import re

_NEGATION = re.compile(
    r"\b(not|never|no longer|don't|do not|doesn't|does not|isn't|is not|aren't|avoid|"
    r"without|deprecated|disabled?|stop(ped)? using|instead of)\b", re.I)
_OPPOSITES = [
    ("enable", "disable"), ("allow", "deny"), ("allow", "block"), ("true", "false"),
    ("always", "never"), ("use", "avoid"), ("required", "optional"), ("safe", "unsafe"),
    ("on", "off"), ("add", "remove"), ("sync", "async"), ("public", "private"),
]
_NUMBER = re.compile(r"\b\d+(?:\.\d+)*\b")
_WORD = re.compile(r"[a-z][a-z0-9_]+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def reason(new: str, old: str) -> str | None:
    """A short label for why `new` disagrees with `old`, or None when it does not seem to."""
    if bool(_NEGATION.search(new)) != bool(_NEGATION.search(old)):
        return "negation_flip"
    new_w, old_w = _words(new), _words(old)
    for a, b in _OPPOSITES:
        if (a in new_w and b in old_w and b not in new_w) or (b in new_w and a in old_w and a not in new_w):
            return f"opposite:{a}/{b}"
    new_n, old_n = set(_NUMBER.findall(new)), set(_NUMBER.findall(old))
    shared = len(new_w & old_w) / max(1, len(new_w | old_w))
    if new_n and old_n and new_n != old_n and shared >= 0.5:
        return "different_values"
    return None
