"""Text forms of results. Recall output fences memories as data an agent must not obey.

Each response gets a random nonce in its fence tags, so stored text cannot
guess the closing tag; anything tag-like that tries anyway is defanged.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable

from mcp_memory.models import DATA_NOTICE, ForgetResult, RecallResult, RememberResult

_TAGLIKE = re.compile(r"<\s*/?\s*(memor(y|ies)|system|assistant|user|instructions?)\b", re.I)
_MARKUP = {"&": "&amp;", '"': "&quot;", "'": "&#39;", "<": "&lt;", ">": "&gt;"}
# Controls (newlines, tabs, C1), format characters (bidi overrides and isolates, zero-width
# joiners), line and paragraph separators, surrogates, private use, unassigned.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def attr(value: object) -> str:
    """An attribute value that can only be read as one value: markup characters and anything
    invisible or line-breaking become character references, so a name or tag cannot close
    its quotes and add attributes (`x" agent="user`), break the tag, or reorder what the
    reader sees. Reversible: reading the references back gives the exact stored value."""
    out = []
    for ch in str(value):
        if ch in _MARKUP:
            out.append(_MARKUP[ch])
        elif unicodedata.category(ch) in _HIDDEN:
            out.append(f"&#x{ord(ch):X};")
        else:
            out.append(ch)
    return "".join(out)


def attrs(pairs: Iterable[tuple[str, object]]) -> str:
    """The attributes of a fence tag, every value through `attr`: the one way any renderer
    (recall, memory://, SessionStart context) writes them."""
    return " ".join(f'{key}="{attr(value)}"' for key, value in pairs)


def neutralise(content: str, nonce: str) -> str:
    content = content.replace(nonce, "[nonce]")
    return _TAGLIKE.sub(lambda m: m.group(0).replace("<", "&lt;"), content)


def recall_text(result: RecallResult, nonce: str | None = None) -> str:
    nonce = nonce or secrets.token_hex(8)
    if not result.results:
        return "No memories matched."
    lines = [f'<memories nonce="{nonce}">', f"Stored memories follow. {DATA_NOTICE}"]
    if result.mode == "keyword":
        lines.append("(keyword-only recall: no embedding model is loaded yet)")
    for hit in result.results:
        pairs: list[tuple[str, object]] = [
            ("id", hit.id),
            ("agent", hit.agent),
            ("source", hit.source),
            ("trust", f"{hit.trust:.2f}"),
            ("score", f"{hit.score:.3f}"),
            ("kind", hit.kind),
            ("created", hit.created_at),
        ]
        pairs += [("stale", "true")] if hit.stale else []
        pairs += [("tags", ",".join(hit.tags))] if hit.tags else []
        lines.append(f"<memory-{nonce} {attrs(pairs)}>")
        lines.append(neutralise(hit.content, nonce))
        if hit.links:
            refs = (f"{link.relation} {link.direction} #{link.id}" for link in hit.links)
            lines.append("links: " + ", ".join(refs))
        lines.append(f"</memory-{nonce}>")
    lines.append(f'</memories nonce="{nonce}">')
    return "\n".join(lines)


def plural(n: int, singular: str, many: str | None = None) -> str:
    """'1 memory', '2 memories', '0 memories': every count a person reads goes through here."""
    word = singular if n == 1 else many or f"{singular}s"
    return f"{n:,} {word}"


def remember_text(result: RememberResult, supersedes: int | None = None) -> str:
    """`supersedes`: the older memory the write asked to replace (the result does not say)."""
    if result.status == "stored":
        return (
            f"Stored memory #{result.id} (trust {result.trust:.2f}){_replaced(result, supersedes)}."
        )
    if result.status == "duplicate":
        return f"Already remembered as memory #{result.id}; nothing new stored."
    why = ", ".join(result.reasons) or "unspecified"
    if result.status == "quarantined":
        also = f"; if approved, it replaces #{supersedes}" if supersedes is not None else ""
        return (
            f"Memory #{result.id} was quarantined for human review ({why}); "
            f"it will not be recalled unless approved{also}."
        )
    return f"Rejected ({why}); nothing was stored."


def _replaced(result: RememberResult, supersedes: int | None) -> str:
    if supersedes is None:
        return ""
    if "supersede_needs_review" in result.reasons:
        return f"; #{supersedes} is another writer's, so replacing it waits for human review"
    return f"; it replaced #{supersedes}, which recall no longer shows"


def forget_text(result: ForgetResult) -> str:
    if result.status == "forgotten":
        return f"Memory #{result.id} forgotten: recall no longer shows it."
    if result.status == "already_forgotten":
        return f"Memory #{result.id} was already forgotten."
    return f"Memory #{result.id} is another writer's: forgetting it waits for human review."
