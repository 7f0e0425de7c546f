"""Concealment and delayed triggers: the two habits of a planted memory that waits to act.

Legitimate notes explain things to the user; they do not ask to hide from them. Security advice
like "don't reveal to the user whether an e-mail exists" is about the product's users, so the
patterns key on hiding *this note/instruction/action* and on magic-word triggers.
"""

from __future__ import annotations

from mcp_memory.trust.detectors.base import Signal, compile_table, run_table

FAMILY = "secrecy_trigger"

_WHO = (
    r"(?:the\s+)?(?:user|human|developer|operator|anyone|anybody|them|reviewers?|"
    r"maintainers?|team|owner|admin)"
)
_THIS = (
    r"(?:this|these|that|it|the (?:instructions?|memory|memories|note|notes|rule|rules|change|"
    r"changes|step|request|above|following|endpoint|upload|webhook|action))"
)

_ROWS: list[tuple[str, float, str]] = [
    (
        rf"\b(?:do not|don'?t|never|must not|should not|shouldn'?t|avoid)\s+(?:ever\s+)?"
        rf"(?:tell|mention|inform|reveal|disclose|show|explain|report|admit|acknowledge|"
        rf"bring up|surface|say|let)\s+(?:{_WHO}\s+(?:about\s+)?{_THIS}|"
        rf"{_THIS}\s+(?:to|with)\s+{_WHO}|"
        rf"{_WHO}\s+(?:know|see|notice|find out)|{_THIS}\b(?!\s+(?:function|method|field|column|"
        rf"value|error|exception|stack)))",
        0.85,
        "Asks to hide an instruction or action from the user.",
    ),
    (
        rf"\bwithout\s+(?:telling|informing|notifying|asking|alerting|warning|consulting|"
        rf"mentioning (?:it|this) to|letting)\s+{_WHO}\b(?!\s+(?:first|twice))",
        0.7,
        "Acts behind the user's back.",
    ),
    (
        r"\b(?:keep|keeping|kept)\s+(?:this|it|these|that|the (?:instruction|memory|"
        r"note|rule)s?)\s+"
        r"(?:a\s+)?(?:secret|hidden|confidential|private|between us|quiet|to yourself|"
        r"from (?:the user|them|anyone|the team))\b",
        0.8,
        "Asks to keep an instruction secret.",
    ),
    (
        rf"\b(?:hide|conceal|mask|obscure)\s+(?:this|it|these|that|the (?:request|change|upload|"
        rf"command|output|action|instructions?))\s+from\s+{_WHO}\b",
        0.85,
        "Asks to hide actions from the user.",
    ),
    (
        r"\b(?:silently|quietly|secretly|covertly|discreetly|stealthily|invisibly|"
        r"surreptitiously)\s+"
        r"(?:add|run|send|insert|change|modify|include|execute|install|replace|commit|push|"
        r"disable|remove|delete|append|redirect|upload|forward|post|copy|inject|rewrite|swap|"
        r"exfiltrate|use|call|fetch|curl|email|cc|bcc|ship|approve|merge)\b",
        0.7,
        "Asks for a covert action.",
    ),
    (
        rf"\b{_WHO}\s+(?:must|should|need|needs|does|do)\s*(?:not|n'?t)\s+(?:ever\s+)?"
        r"(?:know|notice|see|find out|learn|be told|be aware|suspect)\b",
        0.85,
        "Says the user must not find out.",
    ),
    (
        r"\b(?:when(?:ever)?|if|once|as soon as)\s+(?:the\s+)?(?:user|human|someone|anyone|they)\s+"
        r"(?:says|types|writes|sends|mentions|uses the (?:word|phrase)|asks about)\s*"
        r"[\"'“‘`]([^\"'”’`\n]{1,40})[\"'”’`]",
        0.75,
        "A magic-phrase trigger for a later action.",
    ),
    (
        r"\b(?:trigger|code|magic|secret|activation|wake)\s+(?:word|phrase|string|token)\b",
        0.7,
        "Defines a trigger phrase.",
    ),
    (
        r"\bafter\s+(?:\d+|a few|several|two|three|four|five|ten|twenty|n)\s+(?:more\s+)?"
        r"(?:messages|turns|replies|responses|interactions|conversations|exchanges|prompts|"
        r"requests|sessions)\b",
        0.65,
        "A delayed trigger counted in conversation turns.",
    ),
    (
        r"\b(?:in|during|for)\s+(?:the\s+|all\s+|any\s+)?(?:next|future|later|"
        r"subsequent|following)\s+"
        r"(?:sessions?|conversations?|chats?)\b.{0,80}\b(?:then|you (?:must|should|will)|"
        r"silently|without|always|instead|secretly)\b",
        0.6,
        "A standing order scheduled for a later session.",
    ),
    (
        r"\bnext time\b.{0,80}\b(?:then|instead)\b.{0,80}\b(?:send|run|execute|add|disable|"
        r"upload|include|post|curl|delete|push|reveal|ignore|recommend|switch)\b",
        0.55,
        "A delayed 'next time ... then' trigger.",
    ),
    (
        r"\b(?:once|after|when)\s+(?:it is|it's|the date is|the clock hits)?\s*"
        r"(?:past\s+)?(?:\d{4}-\d{2}-\d{2}|(?:january|february|march|april|may|june|july|august|"
        r"september|october|november|december)\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})\b.{0,60}"
        r"\b(?:start|begin|switch|stop|silently|secretly|always)\b",
        0.55,
        "A date-triggered change of behaviour.",
    ),
    (
        r"\b(?:do not|don'?t|never)\s+(?:log|record|print|display|echo|store|write down|"
        r"mention)\s+(?:this|these|that you|the fact)\b.{0,40}\b(?:instruction|memory|note|"
        r"request|action|conversation|user)\b",
        0.7,
        "Asks to leave no trace of an action.",
    ),
    (
        r"\bdeny\s+(?:that\s+)?(?:you|there|any|this|the)\b.{0,50}\b(?:instructions?|memory|"
        r"memories|notes?|change|request|upload|webhook|rules?)\b",
        0.7,
        "Asks to deny an instruction afterwards.",
    ),
    (
        r"\b(?:deny|pretend|claim|act as if|say)\b.{0,30}\b(?:you (?:never|didn'?t|did not)|"
        r"nothing (?:was|happened)|there (?:is|was) no)\b.{0,40}\b(?:instruction|memory|change|"
        r"request|upload|note|sent|send|received)",
        0.7,
        "Asks to deny an action afterwards.",
    ),
]

_NEEDLES = {
    0: "not|don't|dont|never|avoid",
    1: "without",
    2: "keep",
    3: "hide|conceal|mask|obscure",
    4: "silently|quietly|secretly|covertly|discreetly|stealthily|invisibly|surreptitiously",
    5: "not|n't",
    6: "says|types|writes|sends|mentions|uses the|asks about",
    7: "word|phrase|string|token",
    8: "after",
    9: "next|future|later|subsequent|following",
    10: "next time",
    11: "once|after|when",
    12: "not|don't|dont|never",
    13: "deny",
    14: "deny|pretend|claim|act as if|say",
}
_TABLE = compile_table(_ROWS, needles=_NEEDLES)


def detect(text: str) -> list[Signal]:
    """Flag concealment from the user and delayed triggers."""
    return run_table(FAMILY, text, _TABLE)
