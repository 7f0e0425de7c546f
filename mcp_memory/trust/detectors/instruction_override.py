"""Text that tries to replace the reader's instructions rather than record a fact.

Coding notes say "always" and "never" all the time; what they do not do is address the model's
instruction hierarchy ("previous instructions", "system prompt", "you are now ...").
"""

from __future__ import annotations

from mcp_memory.trust.detectors.base import Signal, compile_table, run_table

FAMILY = "instruction_override"

_DROP = (
    r"(?:ignore|ignoring|disregard\w*|forget|forgetting|overlook|override|overriding|bypass|"
    r"set aside|throw out|discard|abandon|pay no (?:attention|heed) to|"
    r"stop (?:following|obeying)|do not (?:follow|obey)|don'?t (?:follow|obey)|no longer follow)"
)
_FILLER = (
    r"(?:\s+(?:all|any|of|the|your|my|these|those|every|everything|that|you|have|been|"
    r"were|was|are|is|given|told|received|got|just|\w+'?s?)){0,4}"
)
_EARLIER = (
    r"(?:previous(?:ly)?|prior|above|earlier|preceding|foregoing|former|original|initial|"
    r"system|developer|safety|before|given)"
)
_ORDERS = (
    r"(?:instructions?|directives?|rules?|guidelines?|prompts?|orders?|commands?|programming|"
    r"training|polic(?:y|ies)|restrictions?|constraints?|guardrails?|context|messages?|"
    r"conversation|guidance|memor(?:y|ies)|system prompt)"
)

_ROWS: list[tuple[str, float, str]] = [
    (
        rf"\b{_DROP}{_FILLER}\s+{_EARLIER}\b(?:\s+\w+){{0,2}}\s+{_ORDERS}\b",
        0.9,
        "Tells the reader to discard its earlier instructions.",
    ),
    (
        rf"\b{_DROP}\s+(?:all\s+|any\s+)?(?:of\s+)?(?:your|the|its)\s+(?:\w+\s+)?"
        r"(?:instructions|directives|guidelines|system prompt|programming|training|rules)\b",
        0.85,
        "Tells the reader to discard its instructions.",
    ),
    (
        rf"\b{_DROP}\s+(?:everything|all|anything)\s+(?:you(?:'ve| have)? (?:been|were) "
        r"(?:told|taught|instructed|given)|(?:said|written|stated) (?:above|before|earlier)|"
        r"above|before this|prior to this|that came before|you know)",
        0.85,
        "Tells the reader to discard everything it was told.",
    ),
    (
        rf"\b{_DROP}\s+(?:about\s+)?(?:all\s+|everything\s+|anything\s+|every\w*\s+)?(?:that\s+)?"
        r"(?:you(?:'ve| have)?\s+(?:been|were|got)\s+(?:told|taught|instructed|"
        r"given|programmed|trained)|"
        r"(?:those|these|the|your)\s+(?:rules|restrictions|limits)\s+that\b)",
        0.8,
        "Tells the reader to discard what it was told.",
    ),
    (
        r"\bregardless\s+of\s+(?:any\s+|all\s+|the\s+|your\s+)?(?:previous|prior|earlier|"
        r"original|system|your)\s+(?:tasks?|instructions|rules|directives|context|guidelines)\b",
        0.6,
        "Asks the reader to act regardless of its instructions.",
    ),
    (
        r"\b(?:i am|i'm)\s+(?:your|the)\s+(?:developer|creator|admin(?:istrator)?|owner|operator|"
        r"programmer|maker|supervisor|boss|god)\b|\bas your (?:creator|developer|owner|master)\b|"
        r"\bi am god\b",
        0.55,
        "Claims authority over the reader.",
    ),
    (
        r"\b(?:i'?m|i am|we are|we're|you are|you're)\s+(?:now\s+)?(?:entering|in|switching to)\s+"
        r"(?:an?\s+|the\s+)?['\"]?[\w ]{0,30}\b(?:override|god|sudo|jailbreak|"
        r"unrestricted)\s+mode\b",
        0.7,
        "Declares an override mode.",
    ),
    (
        r"\byou\s+(?:have to|must|need to|are required to)\s+(?:answer|obey|comply with|fulfil+)\s+"
        r"(?:all|every|any)\s+(?:of\s+)?(?:my|the user'?s)\s+(?:questions|requests|"
        r"commands|orders)\b",
        0.6,
        "Demands unconditional compliance.",
    ),
    (
        # The same override in other languages: a poisoned page is not always in English.
        r"\b(?:ignor\w*|olvid\w*|vergiss\w*|vergessen|missacht\w*|oubli\w*|esque[cç]\w*|"
        r"dimentic\w*|negeer|zignoruj)\b.{0,40}\b(?:instruc\w*|anweisung\w*|istruzion\w*|"
        r"consignes?|directiv\w*|regeln|reglas|règles|regras|instructies|instrukcj\w*)|"
        r"(?:以前|之前|前の|これまでの|先前|이전).{0,12}(?:指示|命令|指令|ルール|지시|명령).{0,8}"
        r"(?:無視|忘れ|忽略|无视|무시|잊)",
        0.8,
        "Tells the reader to discard its earlier instructions (non-English).",
    ),
    (
        r"\byou are now\s+(?:a|an|the|no longer|free|unrestricted|unfiltered|jailbroken|dan|"
        r"operating|acting|called|named|my|in (?:developer|god|admin|jailbreak|unrestricted|"
        r"unfiltered|sudo|root) mode)\b",
        0.75,
        "Reassigns the reader's identity or mode.",
    ),
    (
        r"(?:^|\n|\.\s|:\s|\*\*)\s*(?:new|updated|revised|real|actual|true|override|secret|hidden|"
        r"additional|important|priority|supplementary)\s+(?:system\s+)?"
        r"(?:instructions?|directives?|orders?|system prompt)\s*[:\-—]",
        0.8,
        "Announces replacement instructions.",
    ),
    (
        r"\bfrom now on,?\s+(?:you|the (?:assistant|agent|ai|model|llm))\s+"
        r"(?:must|will|shall|should|are|have to|need to|may)\b",
        0.45,
        "Sets a standing order for the reader from now on.",
    ),
    (
        r"\byou are now\b.{0,40}\b(?:unrestricted|unfiltered|uncensored|jailbroken|no (?:safety )?"
        r"(?:limits|restrictions|filters|rules|guidelines)|without (?:any )?(?:limits|restrictions|"
        r"rules|filters))",
        0.8,
        "Reassigns the reader's identity with its limits removed.",
    ),
    (
        r"\b(?:follow|obey|trust|use)\s+only\s+(?:the\s+)?(?:instructions|rules|directives|orders|"
        r"commands)\s+(?:stored|written|found|given|kept|in|from)\b",
        0.7,
        "Restricts the reader to instructions planted in data.",
    ),
    (
        rf"\b{_DROP}\s+(?:the\s+|your\s+)?(?:user|operator|developer|human|owner|"
        rf"maintainer)(?:'s|s'|s)?"
        r"\s+(?:instructions|requests|rules|directives|guidance|wishes|commands)\b",
        0.8,
        "Tells the reader to stop following the user.",
    ),
    (
        r"\b(?:override|replace|overwrite|rewrite|reveal|print|leak|disclose|dump|expose|"
        r"repeat|output|show)\s+(?:me\s+)?(?:your|the|its)\s+(?:entire\s+|full\s+|hidden\s+|"
        r"original\s+|secret\s+)?(?:system prompt|system message|initial prompt|"
        r"hidden instructions|pre-?prompt|instructions above|base instructions)\b",
        0.8,
        "Targets the system prompt.",
    ),
    (
        r"\b(?:enter|switch (?:in)?to|activate|enable|unlock|turn on|engage)\s+(?:the\s+)?"
        r"(?:dan|jailbreak|jailbroken|god|unrestricted|unfiltered|uncensored|no-?limits?|"
        r"evil|chaos|sudo)\s+mode\b",
        0.85,
        "Asks the reader to enter a jailbreak mode.",
    ),
    (
        r"\b(?:you are|you're|act as|respond as|answer as)\s+(?:now\s+)?(?:in\s+)?"
        r"(?:developer|admin|maintenance|debug|god|root|override)\s+mode\b",
        0.7,
        "Claims the reader is in a privileged mode.",
    ),
    (r"\bdo anything now\b|\bDAN\b(?:\s+mode|\s*:)", 0.8, "Uses the DAN jailbreak persona."),
    (
        r"\b(?:this|these|the following)\s+(?:instructions?|rules?|memory|memories|note|notes|"
        r"directives?|message)\s+(?:override|overrides|supersedes?|replaces?|takes? precedence "
        r"over|outranks?|trumps?|cancels?)\s+(?:all|any|every|previous|prior|the|your|other|"
        r"earlier|system)\b",
        0.85,
        "Claims precedence over the reader's other instructions.",
    ),
    (
        r"\b(?:has|have|with|is the|at)\s+(?:the\s+)?(?:highest|top|absolute|maximum|overriding)\s+"
        r"priority\s+(?:over|above|and overrides)\s+(?:all|any|every|the|your|system|user)\b",
        0.75,
        "Claims top priority over other instructions.",
    ),
    (
        r"\b(?:no longer|not|never)\s+(?:be\s+)?(?:bound|restricted|limited|"
        r"constrained|governed)\s+"
        r"by\s+(?:your|any|the|its|openai|anthropic|those|these)\b",
        0.8,
        "Tells the reader it is not bound by its rules.",
    ),
    (
        r"\b(?:ignore|bypass|disable|turn off|circumvent|remove|drop|evade)\s+(?:all\s+|any\s+|"
        r"your\s+|the\s+)?(?:safety|content|ethical|moral|alignment|refusal|moderation)\s+"
        r"(?:filters?|guidelines|guardrails|polic(?:y|ies)|checks|restrictions|rules|training|"
        r"protocols?|settings?)\b",
        0.85,
        "Asks the reader to drop its safety rules.",
    ),
    (
        r"\b(?:treat|regard|consider|handle|interpret)\s+(?:this|these|the following|it|them)\s+"
        r"(?:(?:note|memory|text|message|content)\s+)?(?:as|like)\s+(?:a\s+|"
        r"an\s+)?(?:system|developer|"
        r"admin|root|operator|trusted|authoritative|official)\s+(?:instructions?|"
        r"prompts?|messages?|"
        r"directives?|commands?|orders?)\b",
        0.85,
        "Asks for data to be treated as instructions.",
    ),
    (
        r"\b(?:you must|you will|you shall|you have to)\s+(?:always\s+)?(?:obey|comply with|"
        r"follow)\s+(?:this|these|the following|every|all|my)\s+(?:instructions?|commands?|"
        r"orders?|rules?|directives?)\b(?!\s+(?:in|from) the (?:docs|readme|style))",
        0.6,
        "Demands unconditional obedience.",
    ),
    (
        r"\b(?:pretend|imagine|roleplay|role-play|act as if)\b.{0,60}\b(?:no|without|free of|"
        r"not bound by)\s+(?:any\s+)?(?:restrictions|rules|filters|guidelines|limits|ethics|"
        r"censorship)\b",
        0.75,
        "Role-play framed to escape the reader's rules.",
    ),
    (
        r"\b(?:your|the)\s+(?:real|true|actual|new|only)\s+(?:task|goal|objective|purpose|"
        r"mission|job|instructions?)\s+(?:is|are|now is)\b",
        0.6,
        "Redefines the reader's task.",
    ),
    (
        r"\b(?:these|the following) (?:memories|notes|rules) (?:come|comes|came) from "
        r"(?:the )?(?:system|administrator|admin|developers?|anthropic|openai|your creators?)\b",
        0.7,
        "Claims memory text was written by the system.",
    ),
    (
        r"\b(?:instead|rather)\b.{0,30}\b(?:say|respond|reply|answer|output|print|state|claim)\b"
        r".{0,40}\b(?:ignore|regardless|no matter|whatever)\b",
        0.5,
        "Redirects the reader's answer regardless of the request.",
    ),
]

_NEEDLES = {
    0: (
        "ignor|disregard|forget|overlook|overrid|bypass|set aside|throw out|discard|"
        "abandon|pay no|follow|obey"
    ),
    1: (
        "ignor|disregard|forget|overlook|overrid|bypass|set aside|throw out|discard|"
        "abandon|pay no|follow|obey"
    ),
    2: (
        "ignor|disregard|forget|overlook|overrid|bypass|set aside|throw out|discard|"
        "abandon|pay no|follow|obey"
    ),
    3: (
        "ignor|disregard|forget|overlook|overrid|bypass|set aside|throw out|discard|"
        "abandon|pay no|follow|obey"
    ),
    4: "regardless",
    5: "i am|i'm|as your",
    6: " mode",
    7: "answer|obey|comply|fulfil",
    8: (
        "ignor|olvid|vergiss|vergessen|missacht|oubli|esque|dimentic|negeer|zignoruj|以前|"
        "之前|前の|これまで|先前|이전"
    ),
    9: "you are now",
    10: "instruction|directive|orders|system prompt",
    11: "from now on",
    12: "you are now",
    13: "only",
    14: (
        "ignor|disregard|forget|overlook|overrid|bypass|set aside|throw out|discard|"
        "abandon|pay no|follow|obey"
    ),
    15: "prompt|system message|instructions",
    16: " mode",
    17: " mode",
    18: "do anything now|dan",
    19: "overrid|supersede|replace|precedence|outrank|trump|cancel",
    20: "priority",
    21: "bound by|restricted by|limited by|constrained by|governed by",
    22: "safety|content|ethical|moral|alignment|refusal|moderation",
    23: "treat|regard|consider|handle|interpret",
    24: "obey|comply|follow",
    25: "pretend|imagine|roleplay|role-play|act as if",
    26: "real|true|actual|new|only",
    27: "come from|comes from|came from",
    28: "instead|rather",
}
_TABLE = compile_table(_ROWS, needles=_NEEDLES)


def detect(text: str) -> list[Signal]:
    """Flag attempts to replace or outrank the reader's instructions."""
    return run_table(FAMILY, text, _TABLE)
