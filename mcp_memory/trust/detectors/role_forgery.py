"""Markup that forges conversation structure: fake system/user turns, closed memory envelopes.

Recall wraps memories in an envelope marked as data; a memory that closes that envelope, or opens a
system turn, tries to escape it. Ordinary HTML/JSX (``<User />``, ``<div>``) is not a role tag.
"""

from __future__ import annotations

import re

from mcp_memory.trust.detectors.base import Signal, compile_table, run_table

FAMILY = "role_forgery"

_ROWS_CASELESS: list[tuple[str, float, str]] = [
    (
        r"<\|\s*(?:im_start|im_end|im_sep|system|user|assistant|endoftext|eot_id|eom_id|"
        r"start_header_id|end_header_id|begin_of_text|end_of_turn|start_of_turn)\s*\|>",
        0.95,
        "Chat-template control tokens forge a new conversation turn.",
    ),
    (r"\[/?(?:INST|SYS)\]|<<\s*/?SYS\s*>>", 0.9, "Llama-style instruction markers."),
    (
        r"</\s*(?:memory|memories|memory_content|recalled_memories?|context|tool_result|"
        r"tool_output|function_results?|document|documents|untrusted_data|data|search_results?|"
        r"user_input|retrieved|observation)\s*>",
        0.85,
        "Closes a data envelope so that what follows reads as instructions.",
    ),
    (
        r"<\s*/?\s*(?:system|system-reminder|system_prompt|systemprompt|sys|developer|"
        r"admin_instructions|instructions|important_instructions)\s*(?:\s[^<>]{0,40})?>",
        0.85,
        "A fake system/instruction tag.",
    ),
    (
        r"(?:^|\n)\s*(?:[#=*\-]{2,}\s*)?(?:BEGIN|END|START)\s+(?:OF\s+)?(?:SYSTEM|MEMORY|CONTEXT|"
        r"USER INPUT|TOOL OUTPUT|DOCUMENT|INSTRUCTIONS|PROMPT|ADMIN|DEVELOPER)\b"
        r"(?:\s+(?:PROMPT|MESSAGE|BLOCK|SECTION|INSTRUCTIONS|MODE))?\s*(?:[#=*\-]{2,})?",
        0.8,
        "Fake boundary marker that pretends a data section ended.",
    ),
    (
        r"(?:^|\n)\s*#{1,6}\s*(?:system|assistant|developer|system prompt|system message|"
        r"new instructions|admin(?:istrator)?(?: instructions)?|override|important instructions|"
        r"instructions for (?:the )?(?:ai|assistant|agent|model|llm)s?)\s*:?\s*(?:\n|$)",
        0.75,
        "A markdown heading that opens a new instruction section.",
    ),
    (
        r"(?:^|\n|\s)(?:system|developer)\s*(?:message|prompt|note|override)?\s*:\s*"
        r"(?:you|the assistant|ignore|from now|always|never|do not|important|new)\b",
        0.75,
        "Forges a system-turn prefix.",
    ),
    (
        r"(?:^|\n)\s*\*{0,2}(?:assistant|ai|claude|chatgpt|gpt|model)\*{0,2}\s*:\s*"
        r"(?:sure|okay|ok|certainly|of course|understood|i will|i'll|as requested|here is|"
        r"done)\b",
        0.75,
        "Forges an assistant turn that agrees in advance.",
    ),
    (
        r"(?:^|\n)\s*(?:human|user)\s*:.{3,300}?(?:\n|\s)\s*(?:assistant|ai)\s*:",
        0.7,
        "Forges a user/assistant exchange.",
    ),
    (
        r"<\s*(?:god|admin|developer|root|sudo|dan|jailbreak|override|system)[ _-]mode\s*>",
        0.8,
        "A fake mode tag.",
    ),
    (
        r"\[(?:system|admin|developer)\s*(?:message|note|notice|override|instruction)s?\]",
        0.75,
        "Bracketed fake system notice.",
    ),
]

# Case matters here: <user> in lower case is a chat role; <User> is a JSX component.
_ROWS_CASED: list[tuple[str, float, str]] = [
    (r"</?(?:user|assistant|human|ai)>", 0.6, "Lower-case chat-role tags forge a turn."),
]

_NEEDLES = {
    0: "<|",
    1: "[inst|[/inst|[sys|[/sys|<<",
    2: "</",
    3: "<",
    4: "begin|end|start",
    5: "#",
    6: "system|developer",
    7: "assistant|ai|claude|gpt|model",
    8: "human|user",
    9: "mode",
    10: "[",
}
_TABLE = compile_table(_ROWS_CASELESS, re.IGNORECASE, _NEEDLES) + compile_table(_ROWS_CASED, 0)


def detect(text: str) -> list[Signal]:
    """Flag text that forges the structure around it."""
    return run_table(FAMILY, text, _TABLE)
