"""Invisible and reordering characters: text a human reviewer cannot see but a model reads.

Legitimate uses are allowed: emoji joiner sequences, marks inside right-to-left prose, a BOM at
the very start, zero-width non-joiners between letters of scripts that need them.
"""

from __future__ import annotations

import re
import unicodedata

from mcp_memory.trust.detectors.base import Signal, excerpt

FAMILY = "hidden_unicode"

_TAGS = re.compile("[\U000e0000-\U000e007f]+")
_BIDI_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")
_BIDI_OVERRIDE = re.compile("[\u202d\u202e]")
_DIR_MARK = re.compile("[\u200e\u200f\u061c]")
_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060-\u2064\u180e\ufeff]")
_VARIATION_SUPP = re.compile("[\U000e0100-\U000e01ef]")
_FILLERS = re.compile("[\u115f\u1160\u3164\uffa0\u2800]")
_RTL_LETTER = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_VS16 = "\ufe0f"


def _is_emoji(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x1F000 <= cp <= 0x1FAFF
        or 0x2600 <= cp <= 0x27BF
        or 0x2300 <= cp <= 0x23FF
        or cp in (0x2640, 0x2642, 0x2695, 0x2696, 0x2708, 0x2764, 0x20E3, 0xFE0F, 0x2B50)
        or 0x1F3FB <= cp <= 0x1F3FF
    )


def _joins_letters(text: str, i: int) -> bool:
    """ZWNJ/ZWJ between letters of a script that uses them (Persian, Indic...) is orthography."""
    prev = text[i - 1] if i > 0 else ""
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if not prev or not nxt or prev.isascii() or nxt.isascii():
        return False
    return unicodedata.category(prev)[0] in "LM" and unicodedata.category(nxt)[0] in "LM"


def _zero_width_hits(text: str) -> list[int]:
    hits: list[int] = []
    for m in _ZERO_WIDTH.finditer(text):
        i, ch = m.start(), m.group(0)
        if ch == "\ufeff" and i == 0:
            continue
        if ch == "\u200d" and i > 0 and (_is_emoji(text[i - 1]) or text[i - 1] == _VS16):
            continue
        if ch in "\u200c\u200d" and _joins_letters(text, i):
            continue
        hits.append(i)
    return hits


def _decode_tags(run: str) -> str:
    return "".join(chr(ord(c) - 0xE0000) for c in run if 0xE0020 <= ord(c) <= 0xE007E)


def _tag_signals(text: str) -> list[Signal]:
    out = []
    for m in _TAGS.finditer(text):
        hidden = _decode_tags(m.group(0))
        if m.start() > 0 and text[m.start() - 1] == "\U0001f3f4" and len(hidden) <= 7:
            continue  # subdivision flags (🏴 + tag letters) are real emoji
        shown = f"tag text {hidden[:80]!r}" if hidden else excerpt(text, m.start(), m.end())
        out.append(
            Signal(FAMILY, 0.95, shown[:120], "Unicode tag characters hide ASCII text from view.")
        )
    return out


def _bidi_signals(text: str, has_rtl: bool) -> list[Signal]:
    out = []
    for m in _BIDI_CONTROL.finditer(text):
        if has_rtl and not _BIDI_OVERRIDE.match(m.group(0)):
            continue
        sev = 0.55 if has_rtl else 0.9
        detail = "Bidirectional control characters reorder what a reviewer sees."
        out.append(Signal(FAMILY, sev, excerpt(text, m.start(), m.end()), detail))
        break
    if not has_rtl:
        m = _DIR_MARK.search(text)
        if m:
            detail = "Direction marks inside left-to-right text serve no visible purpose."
            out.append(Signal(FAMILY, 0.6, excerpt(text, m.start(), m.end()), detail))
    return out


def _zero_width_signals(text: str) -> list[Signal]:
    hits = _zero_width_hits(text)
    if not hits:
        return []
    sev = 0.9 if len(hits) >= 3 else 0.7
    detail = f"{len(hits)} zero-width character(s) outside emoji or joining scripts."
    return [Signal(FAMILY, sev, excerpt(text, hits[0], hits[0] + 1), detail)]


def _other_signals(text: str) -> list[Signal]:
    out = []
    vs = _VARIATION_SUPP.findall(text)
    if len(vs) >= 2:
        m = _VARIATION_SUPP.search(text)
        assert m is not None
        detail = "A run of variation selectors can smuggle bytes behind one visible glyph."
        out.append(Signal(FAMILY, 0.85, excerpt(text, m.start(), m.end()), detail))
    fillers = list(_FILLERS.finditer(text))
    if fillers:
        m = fillers[0]
        detail = "Blank filler characters render as empty space but carry content."
        sev = 0.8 if len(fillers) >= 2 else 0.5
        out.append(Signal(FAMILY, sev, excerpt(text, m.start(), m.end()), detail))
    return out


_KNOWN = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2069\u180e\ufeff\u061c\u00ad\U000e0000-\U000e007f]"
)


def _generic_format_signals(text: str) -> list[Signal]:
    """Any other format (Cf) character: rare in notes, so a low-severity flag for the reviewer."""
    for i, ch in enumerate(text):
        if ch.isascii() or _KNOWN.match(ch):
            continue
        if unicodedata.category(ch) == "Cf" and not (0x600 <= ord(ch) <= 0x605):
            detail = f"Invisible format character U+{ord(ch):04X}."
            return [Signal(FAMILY, 0.45, excerpt(text, i, i + 1), detail)]
    return []


def detect(text: str) -> list[Signal]:
    """Flag characters that change what a model reads without changing what a human sees."""
    if text.isascii():
        return []
    has_rtl = bool(_RTL_LETTER.search(text))
    return (
        _tag_signals(text)
        + _bidi_signals(text, has_rtl)
        + _zero_width_signals(text)
        + _other_signals(text)
        + _generic_format_signals(text)
    )
