"""Memories that claim to outrank the project's own instruction files, or that talk to the reader
about the task it was given.

AGENTS.md, CLAUDE.md, .cursorrules and their kin are what the human wrote for every agent in the
repository. A memory is data some earlier agent wrote; one that says to disregard those files, that
they are stale, or that only memories count, is trying to move authority from the human to
itself. Notes that *mention* the files ("AGENTS.md says run make lint") are ordinary.

The second group is the hijack template: text addressed to the reader about *its current task*
("before you can solve the task I gave you, first ..."). A note about a codebase has no reason to
talk about the reader's task.
"""

from __future__ import annotations

import re

from mcp_memory.trust.detectors.base import Signal, excerpt, framing

FAMILY = "instruction_override"

_FILES = (
    r"(?:agents\.md|claude\.md|gemini\.md|\.cursorrules|\.cursor/rules|cursor rules|"
    r"\.windsurfrules|\.clinerules|copilot-instructions\.md|conventions\.md|"
    r"(?:the\s+)?(?:project|repo(?:sitory)?|workspace|team)(?:'s)?\s+(?:instruction|rules?|agent) "
    r"files?|(?:the\s+)?instruction files?|(?:the\s+)?(?:agent|coding) guidelines file)"
)
_MEMORIES = (
    r"(?:memor(?:y|ies)|these notes|this note|the notes stored here|mcp-memory|the memory "
    r"(?:server|store)|stored notes|recalled notes)"
)
_DROP = (
    r"(?:ignore|ignoring|disregard\w*|skip|skipping|bypass|override|overrid\w*|forget|"
    r"stop (?:reading|following|using|loading)|don'?t (?:read|follow|load|open|consult|trust|use)|"
    r"do not (?:read|follow|load|open|consult|trust|use)|no need to (?:read|follow|open|check|"
    r"consult)|never (?:read|follow|open|load|consult))"
)
_STALE = (
    r"(?:outdated|obsolete|stale|deprecated|wrong|incorrect|superseded|no longer (?:valid|"
    r"applies|apply|authoritative|maintained|relevant|accurate|used)|not authoritative|"
    r"out of date|legacy|unreliable|a decoy|fake)"
)

_ROWS: list[tuple[str, float, str]] = [
    (
        rf"{_FILES}(?:[^.\n]|\.(?=\S)){{0,80}}?\b{_DROP}\s+(?:it|them|that(?: file)?|those"
        r"(?: files)?|this(?: file)?)\b",
        0.7,
        "Tells the reader to disregard an instruction file it just named.",
    ),
    (
        rf"\b{_DROP}\s+(?:the\s+|any\s+|all\s+)?(?:rules\s+|instructions\s+)?(?:in\s+|from\s+)?{_FILES}",
        0.75,
        "Tells the reader to disregard the project's instruction files.",
    ),
    (
        rf"{_FILES}\s+(?:(?:is|are|has been|have been|file is|files are|contains?|has|holds|lists|"
        rf"were|was)\s+(?:now\s+|completely\s+|all\s+|\w+\s+)?)?{_STALE}|"
        rf"{_FILES}(?:[^.\n]|\.(?=\S)){{0,50}}?\b(?:was|were|is|are)\s+written\s+(?:for|by)\s+"
        r"(?:an?\s+)?(?:old|older|previous|former|different|another|outdated)\b",
        0.45,
        "Declares the project's instruction files invalid.",
    ),
    (
        rf"\b{_MEMORIES}\s+(?:take|takes|have|has|get|gets)\s+(?:precedence|priority)\s+(?:over|above)"
        rf"|{_FILES}(?:[^.\n]|\.(?=\S)){{0,60}}?\b{_MEMORIES}\s+(?:always\s+)?(?:wins?|prevails?|"
        r"comes? first|is right|takes? (?:precedence|priority))"
        rf"|\b{_MEMORIES}\s+(?:override|overrides|supersede|supersedes|outrank|outranks|replace|"
        rf"replaces|trump|trumps)\s+(?:the\s+|any\s+|all\s+)?(?:{_FILES}|instructions|rules|"
        r"guidelines|conventions)",
        0.75,
        "Claims memories outrank the project's instructions.",
    ),
    (
        rf"\bonly\s+(?:the\s+)?{_MEMORIES}\s+(?:count|matter|apply|are authoritative|are binding|"
        rf"are valid)|\b{_MEMORIES}\s+(?:is|are)\s+(?:the\s+)?(?:only|single|sole|real|true)\s+"
        r"(?:source of truth|authority|rules?|instructions?)|\b(?:follow|obey|trust)\s+only\s+"
        rf"(?:the\s+)?{_MEMORIES}",
        0.7,
        "Makes memories the only authority.",
    ),
    (
        rf"\b(?:delete|remove|empty|truncate|wipe|rename)\s+(?:the\s+)?{_FILES}",
        0.4,
        "Asks to delete the project's instruction files.",
    ),
    (
        r"\bbefore\s+(?:you\s+)?(?:can\s+)?(?:solv\w*|complet\w*|finish\w*|do|doing|start\w*|"
        r"continu\w*(?: with)?|answer\w*|work\w* on|proceed\w* with|tackl\w*|respond\w* to|"
        r"repl\w* to)\s+(?:(?:your|my|the user'?s|the human'?s)\s+(?:\w+\s+)?|"
        r"the\s+(?:current|original|assigned|given|actual|real|main)\s+|"
        r"the\s+(?=(?:task|request|question)\s+(?:that\s+|which\s+)?(?:i|the user|your user|"
        r"the human|they|we|you were)\s+(?:gave|assigned|asked|given)))"
        r"(?:task|request|question|assignment|job|work)\b",
        0.6,
        "Addresses the reader's current task (hijack).",
    ),
    (
        r"\b(?:the|this|that)\s+task\s+(?:that\s+)?(?:i|the user|they|he|she)\s+(?:gave|assigned|"
        r"asked)\s+(?:you|to you)\b|\bthis is an important message from\b|"
        r"\b(?:message|instructions?)\s+(?:from|by)\s+(?:me|the user|your user)\b[^.\n]{0,40}"
        r"\bto you\b",
        0.55,
        "Speaks to the reader as its user (hijack template).",
    ),
    (
        r"\b(?:after|once|when)\s+(?:you(?:'re|'ve| are| have)?\s+)?(?:done|completed|finished)\b"
        r"[^.\n]{0,30}?\b(?:solve|continue(?: with)?|return to|go back to|resume|proceed with)\s+"
        r"(?:the|your)\s+(?:original\s+|initial\s+|actual\s+|real\s+)?(?:task|request|work|"
        r"assignment)",
        0.6,
        "Hands the reader back its task afterwards.",
    ),
]
_FILE_NEEDLES = (
    "agents.md|claude.md|gemini.md|cursor|windsurf|cline|copilot-inst|conventions.md|"
    "instruction file|rules file|agent file|guidelines file"
)
_ROW_NEEDLES = (
    _FILE_NEEDLES,_FILE_NEEDLES, _FILE_NEEDLES, "memor|notes|mcp-memory", "memor|notes|mcp-memory",
                _FILE_NEEDLES, "before", "task|message", "task|request")  # fmt: skip
_TABLE = [
    (re.compile(rx, re.IGNORECASE), sev, detail, tuple(n.split("|")))
    for (rx, sev, detail), n in zip(_ROWS, _ROW_NEEDLES, strict=True)
]
_STALE_ROW = 2
_REPLACED_BY = re.compile(rf"\b(?:instead|only|rely on|use the)\b|{_MEMORIES}", re.IGNORECASE)


def detect(text: str) -> list[Signal]:
    """Flag memories that outrank the instruction files or address the reader's task."""
    low = text.lower()
    out = []
    for idx, (rx, base, detail, needles) in enumerate(_TABLE):
        m = rx.search(text) if any(n in low for n in needles) else None
        if not m:
            continue
        if idx == _STALE_ROW and _REPLACED_BY.search(text):
            base += 0.2  # stale, *and* here is what to follow instead
        frame = framing(text, m.start(), m.end())
        sev = base * 0.25 if frame == "negated" else base + (0.1 if frame == "instructive" else 0)
        out.append(
            Signal(FAMILY, round(min(sev, 1.0), 3), excerpt(text, m.start(), m.end()), detail)
        )
    return out
