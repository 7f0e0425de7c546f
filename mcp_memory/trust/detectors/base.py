"""Shared vocabulary of the detectors: the Signal record and text helpers.

Kept apart from ``__init__`` so every family module can import it without a cycle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mcp_memory.trust.detectors.deobfuscate import plain_shell, plain_unicode

FAMILIES: tuple[str, ...] = (
    "hidden_unicode",
    "instruction_override",
    "role_forgery",
    "dangerous_command",
    "exfiltration",
    "secrecy_trigger",
    "encoded_payload",
    "secret",
    "semantic",
)

EVIDENCE_MAX = 120


@dataclass(frozen=True)
class Signal:
    """One reason to distrust a write; the trust layer combines them, the CLI shows them."""

    family: str
    severity: float
    evidence: str
    detail: str


# Characters that render as nothing (or reorder what is rendered). Shown as <U+XXXX> in evidence so
# a reviewer sees exactly what a terminal would hide.
_INVISIBLE_RE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f"
    "\U000e0100-\U000e01ef\ud800-\udfff]"
)

# Latin look-alikes from Cyrillic and Greek: mixing them into English is a classic way to slip
# "ignore previous instructions" past a keyword filter.
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
        "ј": "j", "ѕ": "s", "ԁ": "d", "ӏ": "l", "ɡ": "g", "А": "A", "В": "B", "Е": "E",
        "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X",
        "ο": "o", "α": "a", "ε": "e", "ι": "i", "ν": "v", "Ι": "I", "Ο": "O",
        "һ": "h", "ԛ": "q", "ԝ": "w", "ѵ": "v", "ү": "y", "Ү": "Y", "Ѕ": "S", "І": "I", "Ј": "J",
        "ρ": "p", "κ": "k", "τ": "t", "υ": "u", "χ": "x", "ϲ": "c", "ϳ": "j", "Α": "A", "Β": "B",
        "Ε": "E", "Ζ": "Z", "Η": "H", "Κ": "K", "Μ": "M", "Ν": "N", "Ρ": "P", "Τ": "T",
        "Υ": "Y", "Χ": "X",
    }
)  # fmt: skip


def _escape_char(match: re.Match[str]) -> str:
    return f"<U+{ord(match.group(0)):04X}>"


def make_safe(text: str) -> str:
    """Render text so that nothing in it is invisible, reordering, or a control character."""
    text = _INVISIBLE_RE.sub(_escape_char, text)
    return "".join(
        ch if ch.isprintable() or ch == " " else f"<U+{ord(ch):04X}>"
        for ch in text.replace("\n", " ").replace("\t", " ")
    )


def excerpt(text: str, start: int, end: int, limit: int = EVIDENCE_MAX) -> str:
    """A display-safe window around a match, capped so audit rows stay short."""
    pad = max(0, (limit - (end - start)) // 2)
    lo = max(0, start - min(pad, 30))
    raw = text[lo : max(end, lo + 1) + pad]
    safe = make_safe(raw).strip()
    if len(safe) > limit:
        safe = safe[: limit - 1] + "…"
    return safe


def normalise(text: str) -> str:
    """The text as a reader (or a model) perceives it: invisibles dropped, look-alikes folded,
    and the shell spelled plainly (deobfuscate.py).

    Pattern detectors run on this view so that obfuscation cannot split a trigger phrase.
    """
    return plain_shell(plain_unicode(text, _INVISIBLE_RE, _CONFUSABLES))


def signal(family: str, severity: float, text: str, m: re.Match[str], detail: str) -> Signal:
    """Build a Signal from a regex match with a bounded, safe excerpt."""
    sev = round(min(1.0, max(0.0, severity)), 3)
    return Signal(family, sev, excerpt(text, m.start(), m.end()), detail)


def strongest(signals: list[Signal]) -> list[Signal]:
    """Keep the most severe signal per (family, detail) so output stays short and stable."""
    best: dict[tuple[str, str], Signal] = {}
    for s in signals:
        key = (s.family, s.detail)
        if key not in best or s.severity > best[key].severity:
            best[key] = s
    return sorted(best.values(), key=lambda s: (-s.severity, s.family, s.detail))


# --- framing: the same command is a warning in one sentence and a fake lesson in another ---------

_CLAUSE_BREAK = re.compile(r"[.!?;:,\n]\s|\s[-–—]\s|\bbut\b|\bso\b|\bthen\b", re.IGNORECASE)
_NEGATION = re.compile(
    r"\b(?:never|don'?t|do not|does not|doesn'?t|avoid(?:ing)?|must not|mustn'?t|should not|"
    r"shouldn'?t|no longer|stop(?:ped)? using|instead of|rather than|removed?|removing|forbid\w*|"
    r"prohibit\w*|banned?|not allowed|disallow\w*|reject\w*|flag(?:s|ged)?|warns?|blocks?|"
    r"without|refuse\w*|dangerous|insecure to|is unsafe|bad idea|anti-?pattern|replaced?)\b",
    re.IGNORECASE,
)
_INSTRUCTIVE = re.compile(
    r"\b(?:always|just|simply|from now on|whenever|every ?time|make sure|remember to|"
    r"you (?:should|must|can)|should always|must always|best practice|recommended|the fix is|"
    r"to fix|fix(?:ed)? (?:it )?by|workaround|quick fix|to save time|saves? time|faster|"
    r"speed(?:s)? (?:it )?up|to speed up|it'?s (?:fine|safe|ok|okay|harmless)|go ahead|globally|"
    r"in production|by default|for all|lesson|pro tip|tip:|trick|don'?t worry|no need|"
    r"to (?:get past|unblock|avoid)|if (?:it|the \w+|\w+) (?:fails|complains|errors|is slow)|"
    r"when (?:it|the \w+) (?:fails|complains|errors)|ignore the warning|skip the|agents should|"
    r"the team (?:agreed|decided)|standard procedure|policy is|(?:so|and) (?:it|they|that) "
    r"(?:never|won'?t|doesn'?t|don'?t) (?:blocks?|fails?|breaks?)|never blocks?|always pass(?:es)?|"
    r"goes? green|in every|on every|everywhere|all (?:scripts|projects|repos|machines|calls))\b",
    re.IGNORECASE,
)
_LOCAL_ONLY = re.compile(
    r"\b(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|in (?:unit )?tests?|test fixture|"
    r"mock server|local (?:dev|mock|stub)|docker-compose|devcontainer|your own|personal fork|"
    r"feature branch|own branch)\b",
    re.IGNORECASE,
)


def _clause(text: str, start: int, end: int) -> tuple[str, str, str]:
    """Return (before, match, after) limited to the clause the match sits in."""
    lo = max(0, start - 160)
    before = text[lo:start]
    cuts = list(_CLAUSE_BREAK.finditer(before))
    if cuts:
        before = before[cuts[-1].end() :]
    after = text[end : end + 120]
    cut = _CLAUSE_BREAK.search(after)
    if cut:
        after = after[: cut.start()]
    return before, text[start:end], after


def framing(text: str, start: int, end: int) -> str:
    """'negated', 'instructive' or 'neutral': how the clause around a risky command presents it."""
    before, _, after = _clause(text, start, end)
    if _NEGATION.search(before):
        return "negated"
    window = text[max(0, start - 220) : end + 160]
    if _INSTRUCTIVE.search(before) or _INSTRUCTIVE.search(after) or _INSTRUCTIVE.search(window):
        return "instructive"
    return "neutral"


def graded(base: float, text: str, start: int, end: int, boost: float = 0.35) -> float:
    """Grade a risky command by its framing: warnings drop, lessons and local-only uses adjust."""
    frame = framing(text, start, end)
    if frame == "negated":
        return base * 0.25
    sev = base + boost if frame == "instructive" else base
    if _LOCAL_ONLY.search(text[max(0, start - 200) : end + 200]):
        sev *= 0.5
    return sev


Pattern = tuple["re.Pattern[str]", float, str, tuple[str, ...]]


def compile_table(
    rows: list[tuple[str, float, str]],
    flags: int = re.IGNORECASE,
    needles: dict[int, str] | None = None,
) -> list[Pattern]:
    """Compile (regex, severity, detail) rows once at import.

    ``needles`` maps a row index to space-separated lower-case substrings, one of which must be in
    the text for the row to run: a substring test is ~100x cheaper than a failed regex scan.
    """
    needles = needles or {}
    return [
        (
            re.compile(rx, flags),
            sev,
            detail,
            tuple(needles.get(i, "").split("|")) if i in needles else (),
        )
        for i, (rx, sev, detail) in enumerate(rows)
    ]


def has_needle(low: str, needles: tuple[str, ...]) -> bool:
    """True when a row has no needles or one of them occurs in the lower-cased text."""
    return not needles or any(n in low for n in needles)


def run_table(family: str, text: str, table: list[Pattern]) -> list[Signal]:
    """First match of each row becomes a signal; rows are independent so order does not matter."""
    out = []
    low = text.lower()
    for rx, sev, detail, needles in table:
        if not has_needle(low, needles):
            continue
        m = rx.search(text)
        if m:
            out.append(signal(family, sev, text, m, detail))
    return out
