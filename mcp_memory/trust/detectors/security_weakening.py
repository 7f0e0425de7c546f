"""Standing orders and "facts" that switch a security control off.

A poisoned lesson rarely contains a dangerous command; it states a policy ("the admin endpoints
need no auth, they are internal", "don't ask the user before deleting"). The rules here are built
from meaning, not phrases: a *control* (authentication, TLS verification, signing, hooks, review,
scanning, confirmation prompts, secret hygiene, personal-data hygiene) combined with a *weakening*
(turn it off, it is not needed, X does not need it, do it without it), in either order. The
clause around the match then grades it the way every other rule is graded (base.framing): a
warning ("never disable auth") drops it, a standing order raises it, a local/test-only setting
lowers it. What the control protects matters too: admin or production surfaces raise it, public
ones (health checks, the login page) lower it, and the classic rationalisation ("they are
internal", "behind the VPN") raises it again.
"""

from __future__ import annotations

import re

from mcp_memory.trust.detectors.base import Signal, excerpt, framing

FAMILY = "dangerous_command"

_CONTROL = (
    r"(?:auth(?:entication|orization|n|z)?|log-?ins?|access control|permission checks?|"
    r"authorization checks?|api[- ]?key checks?|token (?:checks?|validation)|rbac|acls?|sso|"
    r"mfa|2fa|two-factor(?: auth\w*)?|(?:tls|ssl|https|certificate|cert)(?: (?:verification|"
    r"validation|checks?|pinning))?|(?:commit |tag |artifact |package |gpg |code )?sign(?:ing|"
    r"atures?)|gpg|sigstore|cosign|(?:pre-?commit|pre-?push|git) hooks?|husky|hooks|"
    r"(?:code )?reviews?|approvals?|ci(?: checks?| pipeline| runs?)?|status checks?|"
    r"required checks|branch protection|(?:security|secret|dependency|vulnerability) "
    r"(?:scan(?:s|ning|ner)?|checks?|audits?)|sast|dast|dependabot|codeql|snyk|"
    r"csrf(?: protection| tokens?)?|rate[- ]limit(?:ing|s)?|sandbox(?:ing)?|encryption|"
    r"input validation|sanitization|output escaping|content security policy|csp|"
    r"(?:hash|checksum|integrity) (?:checks?|verification|pinning)|confirmation(?: prompts?)?|"
    r"approval prompts?|permission prompts?|interactive prompts?|confirmation steps?|"
    r"confirm(?:ation)? dialogs?|are-you-sure prompts?|safety prompts?)"
    r"(?:\s+(?:checks?|verification|validation|"
    r"enforcement|protection|middleware|requirements?))?"
)
_OFF = (
    r"(?:disable|disabling|turn(?:ing)? off|skip(?:ping)?|bypass(?:ing)?|remove|removing|"
    r"drop(?:ping)?|omit(?:ting)?|leave out|get rid of|switch off|comment(?:ing)? out|rip out|"
    r"no need for|don'?t bother with|forgo|relax|loosen|weaken|ignore|ignoring|deactivate)"
)
_NOT_NEEDED = (
    r"(?:not (?:needed|required|necessary|important|enforced|worth it)|unnecessary|optional|"
    r"overkill|pointless|redundant|a waste of time|just noise|only for show|"
    r"(?:safe|fine|ok|okay) to (?:skip|disable|ignore|turn off|remove|bypass))"
)
_SECRET = (
    r"(?:api[- ]?keys?|secret keys?|secrets?|(?:session |bearer |access |refresh )?tokens?|jwts?|"
    r"passwords?|credentials|private keys?|connection strings?|access keys?|signing keys?|"
    r"session cookies|cookies)"
)
_PLACE = (
    r"(?:(?:every |each |all )?log(?:s| lines?| output| messages?| entr(?:y|ies))?|"
    r"source(?: code)?|code(?:base)?|repo(?:sitory)?|git|config(?: files?)?|readme|"
    r"docs|comments?|commits?|dockerfile|frontend|client(?:-side)?(?: code)?|stdout|console|"
    r"error messages?|the url|query strings?|plain ?text)"
)
# Data whose leak is a breach by itself (credentials, card and identity numbers) ...
_PII_HIGH = (
    r"(?:passwords?|credit card(?: numbers?)?|card numbers?|cvvs?|ssns?|"
    r"social security(?: numbers?)?|passport(?: numbers?)?|tax ids?|bank (?:account|details)\w*|"
    r"auth(?:orization)? headers?|session cookies|access tokens)"
)
# ... and personal data that is sensitive in bulk or in the wrong place.
_PII = (
    rf"(?:{_PII_HIGH}|dates? of birth|medical (?:data|records)|health (?:data|records)|"
    r"personal data|pii|(?:e-?mail|home) addresses|phone numbers)"
)

# What a caller must present: needing none of these is the same claim as needing no auth.
_GUARD = (
    rf"(?:{_CONTROL}|(?:bearer\s+|session\s+|access\s+)?tokens?|jwts?|api[- ]?keys?|credentials|"
    r"passwords?|client certs?|signatures?|sessions?)"
)

_OPEN = (
    r"(?:unauthenticated|without (?:any )?(?:auth\w*|a login|login|a token|tokens|credentials)|"
    r"with no (?:auth\w*|login)|open to (?:anyone|everyone|the (?:internet|world|public)))"
)

_ROWS: list[tuple[str, float, str]] = [
    (
        rf"\b{_OFF}\s+(?:the\s+|all\s+|any\s+|every\s+)?(?:[\w-]+\s+){{0,2}}?{_CONTROL}\b|"
        rf"\bleave\s+(?:the\s+)?(?:[\w-]+\s+)?{_CONTROL}\s+out\b",
        0.4,
        "Switches a security control off.",
    ),
    (
        rf"\b(?:is|are|was|were|has been|have been)\s+(?:\w+\s+)?{_NOT_NEEDED}",  # control before
        0.55,
        "Declares a security control unnecessary.",
    ),
    (
        r"\b(?:don'?t|doesn'?t|do not|does not|never|no longer|aren'?t|isn'?t|are not|is not|"
        r"were never|was never)\s+(?:(?:meant|supposed|going|required) to\s+|have to\s+)?"
        rf"(?:need|require|use|check|verify|validate|enforce|want)\s+(?:any\s+|an?\s+|the\s+)?"
        rf"{_GUARD}\b|\b(?:need|needs|require|requires)"
        rf"\s+no\s+{_GUARD}\b|\bno\s+{_GUARD}\s+(?:is\s+)?(?:needed|required|necessary)\b|"
        r"\b(?:nobody|no one|none of (?:us|them|the \w+))\s+(?:really\s+)?"
        r"(?:needs?|requires?|uses?)\s+"
        rf"{_GUARD}\b",
        0.55,
        "States that something needs no security control.",
    ),
    (
        r"\b(?:errors?|warnings?|failures?|mismatch(?:es)?)\b[^.;\n]{0,50}?"  # control before
        r"\b(?:can|may|should|are "
        r"safe to)\s+(?:safely\s+|just\s+|always\s+)?(?:be\s+)?(?:ignored|ignore|skipped|skip|"
        r"suppressed|disabled)\b",
        0.5,
        "Says security errors can be ignored.",
    ),
    (
        rf"\b(?:it'?s|it is|is)\s+(?:fine|ok|okay|safe|acceptable|allowed)\s+to\s+(?:{_OFF}|commit|"
        rf"log|print|share|push|paste)\s+(?:the\s+|our\s+|any\s+)?(?:{_CONTROL}|{_SECRET}|\.env)\b|"
        rf"\b(?:{_CONTROL}|{_SECRET}|\.env)\s+(?:is|are)\s+(?:totally\s+|perfectly\s+)?(?:fine|ok|okay|"
        r"safe|acceptable|allowed)\s+to\s+(?:print|log|commit|share|push|paste|expose|skip|disable|"
        r"ignore|turn off|remove|leave out)\b",
        0.55,
        "Says weakening a control is acceptable.",
    ),
    (
        r"\b(?:don'?t|do not|never|no need to|stop)\s+(?:ever\s+)?(?:bother\s+)?"
        r"(?:ask(?:ing)?|"
        r"prompt(?:ing)?|wait(?:ing)? for|check(?:ing)? with|confirm(?:ing)? with)\s+(?:the\s+)?"
        r"(?:user|human|developer|operator|anyone|me|them)?\s*(?:(?:for\s+)?(?:confirmation|approval|"
        r"permission|sign-?off|a go-ahead)\b|first\b|before\b)|"
        r"\bauto-?approve\s+(?:all|every|any)\s+(?:tool "
        r"calls?|commands?|actions?|changes?|prs?|pull requests?|merges?)\b|"
        r"--dangerously-skip-permissions\b|--yolo\b",
        0.45,
        "Removes the human's confirmation step.",
    ),
    (
        rf"\b(?:hard-?code|commit|check in|paste|put|store|keep|embed|print|log|echo|write|inline)"
        rf"\s+(?:the\s+|our\s+|your\s+|all\s+|real\s+|production\s+)?(?:[\w-]+\s+){{0,2}}?{_SECRET}\s+"
        rf"(?:directly\s+|verbatim\s+)?(?:in|into|to)\s+(?:the\s+|our\s+)?{_PLACE}\b|"
        rf"\bhard-?cod(?:e|es|ed|ing)\s+(?:the\s+|our\s+|a\s+|any\s+|all\s+)?(?:[\w-]+\s+)?{_SECRET}|"
        rf"\b{_SECRET}\s+(?:is|are|can be|should be|may be)\s+hard-?coded\b",
        0.4,
        "Puts secrets where they leak (code, git, logs).",
    ),
    (
        r"\b(?:log|logging|record|print|store|persist|dump|send|write|keep|capture|track|retain|"
        r"include|put|paste|add|copy|attach|share|post|forward|expose)"
        r"\s+(?:the\s+|all\s+|every\s+|full\s+|raw\s+|users?'?s?\s+|customers?'?s?\s+|plain-?text\s+|"
        rf"unmasked\s+|unredacted\s+|complete\s+|their\s+){{0,3}}{_PII}\b",
        0.3,
        "Logs or stores personal data or credentials.",
    ),
    (
        r"\b(?:merge|push|deploy|ship|release|commit|publish)\b(?:\s+[\w/.-]+){0,3}?\s+without\s+"
        r"(?:any\s+|a\s+|the\s+)?(?:code\s+)?(?:reviews?|approvals?|ci|checks|tests|signing|"
        r"signatures?|hooks|scans?)\b|\b(?:push|commit|merge)\s+(?:directly|straight)\s+(?:in)?to\s+"
        r"(?:main|master|prod(?:uction)?|release)\b",
        0.35,
        "Ships without review or checks.",
    ),
    (
        rf"\b{_OPEN}",  # after a state verb (checked in _grade: a leading verb is slow)
        0.45,
        "States that a service is open without authentication.",
    ),
    (
        r"\b(?:stays?|remains?|is|are|kept|left|should "  # control before
        r"(?:be|stay)|must (?:be|stay)|can (?:be|stay)|goes)\s+(?:turned\s+|switched\s+)?(?:off|"
        r"disabled|deactivated|bypassed|skipped)\b",
        0.5,
        "States that a security control stays off.",
    ),
    (
        r"\b(?:security|auth\w*|permission|access|csrf|injection|xss|crypto\w*)\s+tests?\b"
        r"(?:[^.;\n]|\.(?=\S)){0,40}?\b(?:xfail|skip(?:ped)?|disabled?|quarantin\w*|"
        r"commented out|deleted?|removed?)\b",
        0.55,
        "Silences the tests that guard security.",
    ),
]
_NEEDLES = (
    "disabl|turn|skip|bypass|remov|drop|omit|leave |rid of|switch|comment|rip out|no need|"
    "bother|forgo|relax|loosen|weaken|ignor|deactivat",
    "not |unnecessary|optional|overkill|pointless|redundant|waste|noise|for show|to skip|"
    "to disable|to ignore|to turn|to remove|to bypass",
    "n't|not |never|no longer|no |nobody|no one|none of",
    "ignor|skip|suppress|disabl",
    "fine to|ok to|okay to|safe to|acceptable to|allowed to",
    "ask|prompt|wait for|check with|confirm with|approve|yolo|dangerously",
    "key|secret|token|jwt|password|credential|connection string|cookie",
    "password|card|cvv|ssn|social security|passport|tax id|bank|header|cookie|token|birth|"
    "medical|health|personal|pii|address|phone",
    "without|directly|straight",
    "unauthenticated|without|with no|open to",
    "s off|y off|n off|e off|t off|disabled|deactivated|bypassed|skipped",
    "security test|auth|permission test|access test|csrf|injection|xss|crypto",
)
_TABLE = [
    (re.compile(rx, re.IGNORECASE), sev, detail, tuple(n.split("|")))
    for (rx, sev, detail), n in zip(_ROWS, _NEEDLES, strict=True)
]
_PII_ROW = 7
_CLAIM_ROWS = (1, 2, 9, 10)  # "X is not needed", "X needs no Y", open without auth, stays off
_CONFIRM_ROW = 5
_SECRET_ROW = 6
_OPEN_ROW = 9
_SHARED_PLACE = re.compile(
    r"\b(?:logs?|source|code(?:base)?|repo(?:sitory)?|git|readme|docs|comments?|commits?|frontend|"
    r"client|error messages?|url|query strings?)\b",
    re.IGNORECASE,
)
_STATE_VERB = re.compile(
    r"\b(?:runs?|running|served|exposed|open|left|stays?|is|are|be|kept|works?)\s+(?:\w+\s+)?$",
    re.IGNORECASE,
)
_DESTRUCTIVE = re.compile(
    r"\b(?:delet\w*|remov\w*|drop\w*|destroy\w*|wip\w*|overwrit\w*|force[- ]push\w*|rm -rf|"
    r"deploy\w*|publish\w*|releas\w*|merg\w*|push\w*|migrat\w*|pay\w*|transfer\w*|send\w*|"
    r"e-?mail\w*|production|prod)\b",
    re.IGNORECASE,
)

_PRIVILEGED = re.compile(
    r"\b(?:admin\w*|internal|management|debug|all|every|any|write|delete|prod(?:uction)?|"
    r"database|db|private|billing|payments?|user data|customer\w*|root|superuser|ops|backoffice|"
    r"back-office|webhooks?|agents?|main|master)\b",
    re.IGNORECASE,
)
_PUBLIC = re.compile(
    r"\b(?:health\w*|status|public|static|docs|documentation|login page|sign-?up|signin|ping|"
    r"readiness|liveness|metrics|landing|assets|robots\.txt|favicon|open data|the login)\b|"
    r"/(?:health|healthz|ready|live|ping|status)\b",
    re.IGNORECASE,
)
_AUTHISH = re.compile(
    r"\b(?:auth\w*|log-?ins?|tokens?|api[- ]?keys?|credentials|passwords?|sso|mfa|2fa|rbac|"
    r"acls?|access control|permission)\b",
    re.IGNORECASE,
)
_RATIONALE = re.compile(
    r"\b(?:(?:they|it|those|these)(?:'re| are| is|'s)\s+(?:only\s+)?internal|"
    r"behind (?:the |a |our )?(?:vpn|firewall|proxy|load balancer|gateway)|only reachable|"
    r"(?:trusted|private|internal) network|by design|keep it that way|"
    r"nobody (?:outside|else) can|no one (?:outside|else) can|"
    r"not exposed|never exposed|slows? (?:us|things|everything|the agent) down|gets? in the way|"
    r"to save time|for speed|(?:are|is) annoying|just noise)\b",
    re.IGNORECASE,
)
_WARNED = re.compile(
    r"\b(?:is|are|was|would be)\s+(?:a\s+)?(?:bad idea|dangerous|insecure|unsafe|not allowed|"
    r"forbidden|prohibited|a security (?:risk|hole|issue)|a vulnerability|never (?:ok|okay|"
    r"acceptable))|\b(?:we|they|you)\s+(?:must|should)\s+not\b|\bcaused\b[^.;\n]{0,24}\b(?:incident|"
    r"outage|breach|leak)\b",
    re.IGNORECASE,
)
_PROTECTED = re.compile(
    r"\b(?:hash(?:ed|es)?|bcrypt|argon2?|scrypt|pbkdf2|encrypted|masked|redacted|tokeni[sz]ed|"
    r"vault|secret manager|secrets manager|keychain|kms|env(?:ironment)? var\w*|\.env)\b",
    re.IGNORECASE,
)
_VERBATIM = re.compile(
    r"\b(?:full|raw|plain-?text|in (?:the )?clear|unmasked|unredacted|verbatim|for debugging|"
    r"everything|as[- ]is|in full|to (?:our |an? |the )?(?:analytics|third[- ]part\w*|partners?|"
    r"advertis\w*|marketing|sentry|datadog|mixpanel|segment))\b",
    re.IGNORECASE,
)
_LOCAL = re.compile(
    r"\b(?:localhost|127\.0\.0\.1|in (?:unit )?tests?|test (?:fixtures?|suite|env\w*|settings|"
    r"config\w*|mode|modules?|databases?|db|servers?)|testing|for (?:the )?tests|mock|stub|"
    r"local (?:dev\w*|mock|stub|only)|locally|dev(?:elopment)? (?:settings|mode|server|env\w*)|"
    r"debug builds?|on your (?:own )?machine|dev ?container|sandboxed)\b",
    re.IGNORECASE,
)
# Where the control lives elsewhere by design, or the claim is scoped to harmless changes.
_DELEGATED = re.compile(
    r"\b(?:itself|gateway|reverse proxy|proxy|upstream|sidecar|ingress|load balancer|service mesh|"
    r"(?:handled|done|validated|checked|enforced|verified|terminated) (?:by|at|upstream)|"
    r"validates|verifies|trusted publishing|oidc)\b",
    re.IGNORECASE,
)
_SOFTENED = re.compile(
    r"\b(?:but|though|although|yet)\s+(?:still\s+|strongly\s+|highly\s+)?(?:recommended|encouraged|"
    r"preferred|advised|expected|appreciated)\b",
    re.IGNORECASE,
)
_SCOPED = re.compile(
    r"\bfor (?:docs?|documentation|typo|readme|comment|draft|example|sample|generated|vendored|"
    r"dependabot|renovate)[\w-]*(?:[- ]only)?\s+(?:changes?|prs?|pull requests?|commits?|"
    r"fix(?:es)?|"
    r"files?|builds?|updates?)\b",
    re.IGNORECASE,
)


def _grade(idx: int, base: float, text: str, m: re.Match[str], start: int) -> float:
    if idx == _OPEN_ROW and not _STATE_VERB.search(text[max(0, start - 40) : start]):
        return 0.0  # "requests without a token get a 401" describes enforcement
    frame = framing(text, start, m.end())
    before, after = text[max(0, start - 60) : start], text[m.end() : m.end() + 80]
    if frame == "negated" or _WARNED.search(after) or _WARNED.search(before):
        return base * 0.25
    clause = text[max(0, start - 100) : m.end() + 100]
    sev = base + (0.15 if frame == "instructive" else 0.0)
    sev += 0.15 if _PRIVILEGED.search(clause) else 0.0
    sev += 0.15 if _RATIONALE.search(clause) else 0.0
    if _PUBLIC.search(clause) and _AUTHISH.search(text[start : m.end()]):
        sev *= 0.4  # a public page needs no login; it still needs TLS, CSRF and rate limits
    if _LOCAL.search(clause):
        sev *= 0.6
    if idx in _CLAIM_ROWS and re.search(r"\boptional\b", text[start : m.end()], re.IGNORECASE):
        sev -= 0.1  # "optional" describes many honest project policies; "not needed" fewer
    if _SOFTENED.search(clause):
        sev *= 0.5  # "optional but recommended": the note still asks for the control
    if idx in _CLAIM_ROWS and (_DELEGATED.search(clause) or _SCOPED.search(clause)):
        sev *= (
            0.6  # "checked by the gateway", "optional for docs-only changes": a design, not a hole
        )
    if idx == _CONFIRM_ROW and _DESTRUCTIVE.search(clause):
        sev += 0.15  # the prompt being removed is the one that guards an irreversible step
    if idx == _PII_ROW:
        sev += 0.1 if re.search(_PII_HIGH, text[start : m.end()], re.IGNORECASE) else 0.0
        sev += 0.25 if _VERBATIM.search(clause) else 0.0
        sev *= 0.3 if _PROTECTED.search(clause) else 1.0
    if idx == _SECRET_ROW and _SHARED_PLACE.search(text[start : m.end()]):
        sev += 0.15  # where others read it: the repository, its docs, logs, the client
    return sev


# Rows whose control comes before the predicate: the regex finds the (rarer) predicate and the
# control is then looked for just before it, because a regex leading with the long control
# alternation costs a scan of every note.
_CONTROL_BEFORE = {
    1: re.compile(rf"\b{_CONTROL}\s+$", re.IGNORECASE),
    3: re.compile(rf"\b{_CONTROL}\s+$", re.IGNORECASE),
    10: re.compile(rf"\b{_CONTROL}\b(?:[^.;\n]|\.(?=\S)){{0,50}}$", re.IGNORECASE),
}


def _subject_start(idx: int, text: str, m: re.Match[str]) -> int | None:
    """Where the match really starts (its control included), or None when it has no control."""
    rx = _CONTROL_BEFORE.get(idx)
    if rx is None:
        return m.start()
    lo = max(0, m.start() - 80)
    found = rx.search(text, lo, m.start())
    return found.start() if found else None


def detect(text: str) -> list[Signal]:
    """Flag statements that weaken a security control, graded by framing and target."""
    low = text.lower()
    out = []
    for idx, (rx, base, detail, needles) in enumerate(_TABLE):
        if not any(n in low for n in needles):
            continue
        best: tuple[float, re.Match[str], int] | None = None
        for m in rx.finditer(text):
            start = _subject_start(idx, text, m)
            if start is None:
                continue
            sev = _grade(idx, base, text, m, start)
            if best is None or sev > best[0]:
                best = (sev, m, start)
        if best and best[0] > 0.05:
            sev, m, start = best
            out.append(
                Signal(FAMILY, round(min(sev, 1.0), 3), excerpt(text, start, m.end()), detail)
            )
    return _corroborated(out)


def _corroborated(out: list[Signal]) -> list[Signal]:
    """Two different weakening claims in one note ("signing is optional, leave cosign out") are
    more than either alone: the strongest gains 0.1."""
    if len([s for s in out if s.severity >= 0.3]) < 2:
        return out
    top = max(out, key=lambda s: s.severity)
    bumped = Signal(top.family, round(min(1.0, top.severity + 0.1), 3), top.evidence, top.detail)
    return [bumped if s is top else s for s in out]
