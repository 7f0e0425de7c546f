"""Every field a writer chooses is screened, not only the content.

A memory's kind, tags and file anchors are shown to every agent that recalls it, so a payload
placed there reaches a reader as surely as one in the content. Rather than teach each detector
about fields, the gate screens one text: the content, then a block with the other fields (each on
its own line, and kind/tags/paths once more with their separators read as spaces, so
``ignore-previous-instructions`` or a phrase split over two tags reads as words). The detectors'
de-obfuscation (base.normalise) applies to that whole text.

The block starts with a NUL, which validated content never holds (validation.content strips it),
so the checks that must compare content with other content (contradiction, near-duplicates) can
take the content back out exactly with ``content_of``.
"""

from __future__ import annotations

import re

from mcp_memory.models import NewMemory

MARK = "\n\n\x00 "
DEFAULT_KIND = "note"
_SEPARATORS = re.compile(r"[_\-/\\.:+#@]+")


def _spaced(value: str) -> str:
    return _SEPARATORS.sub(" ", value).strip()


def screened(new: NewMemory) -> str:
    """The content, then every other field the writer set (see the module docstring)."""
    return compose(new.content, new.kind, new.tags, new.files)


def compose(content: str, kind: str, tags: list[str], paths: list[str]) -> str:
    """screened() for callers that hold the fields without a NewMemory (import)."""
    lines: list[str] = []
    if kind != DEFAULT_KIND:
        lines.append(f"kind: {kind}")
    if tags:
        lines.append("tags: " + ", ".join(tags))
    lines += [f"file: {path}" for path in paths]
    spaced = [_spaced(v) for v in [kind, *tags] if v != DEFAULT_KIND]
    spaced += [_spaced(path) for path in paths]
    if any(spaced):
        lines.append(" ".join(s for s in spaced if s))
    return content + MARK + "\n".join(lines) if lines else content


def content_of(text: str) -> str:
    """The content part of a screened text (the text itself when it has no field block)."""
    return text.split(MARK, 1)[0]
