"""Fake lessons that teach unsafe shortcuts.

A coding note that *mentions* ``curl``, ``--force`` or ``verify=False`` is normal. What a poisoned
lesson adds is framing ("always", "just", "to save time") or a hostile target (a bare IP, plain
http, an unknown host). So each risky command has a base severity that the clause around it grades:
a warning ("never use --no-verify") drops it, a lesson raises it, a localhost/test-only use
halves it.
"""

from __future__ import annotations

import re

from mcp_memory.trust.detectors.base import Signal, excerpt, framing, graded, has_needle
from mcp_memory.trust.detectors.hosts import host_risk

FAMILY = "dangerous_command"

_URL = re.compile(r"(?:https?|ftp)://[^\s\"'`)<>|,;]+", re.IGNORECASE)
_host_risk = host_risk  # exfiltration and the other rule modules grade destinations the same way


def _first_url(text: str) -> str | None:
    m = _URL.search(text)
    return m.group(0) if m else None


_FETCH = r"(?:curl|wget|fetch|iwr|irm|invoke-webrequest|invoke-restmethod|aria2c)"
_RUNNER = (
    r"(?:(?:ba|z|k|da|fi|c|tc)?sh|pwsh|powershell|python\d?(?:\.\d+)?|perl|ruby|node|php|"
    r"iex|invoke-expression|source|\.)"
)
_MID = (
    r"(?:\|\s*(?:tee|cat|gunzip|zcat|gzip\s+-d|base64\s+(?:-d|--decode)|tr|sed|dos2unix)\b"
    r"[^|\n;]{0,80})*"
)
# Every way of handing a downloaded script to an interpreter without looking at it first (the
# shell's name is already plain: deobfuscate.plain_shell).
_PIPE_TO_SHELL = re.compile(
    rf"\b{_FETCH}\b[^|\n;]{{0,240}}{_MID}\|\s*(?:sudo\s+(?:-\S+\s+)*)?{_RUNNER}"
    r"(?![\w.-])(?!\s+-m\s+json)|"
    rf"(?<![\w.-]){_RUNNER}\s+(?:-\w+\s+)*[\"']?(?:\$\(|`)\s*{_FETCH}\b[^)`]{{0,240}}|"
    rf"(?<![\w.-]){_RUNNER}\s+(?:-\w+\s+)*<\(\s*{_FETCH}\b[^)]{{0,240}}\)|"
    rf"(?<![\w.-]){_RUNNER}\s*(?:-\w+\s+)*<<<\s*[\"']?(?:\$\(|`)\s*{_FETCH}\b[^)`]{{0,240}}|"
    rf"\beval\s+[\"']?(?:\$\(|`)\s*{_FETCH}\b[^)`]{{0,240}}|"
    r"\biex\s*\(\s*(?:new-object\s+net\.webclient|iwr|irm|invoke-webrequest)\b[^\n]{0,200}|"
    rf"\b{_FETCH}\b[^\n|;]{{0,200}}?(?:&&|;)\s*(?:sudo\s+)?(?:(?:ba|z)?sh|source|\.|python3?|"
    r"chmod\s+\+x)\s+\S*\.(?:sh|py|ps1|pl|rb)\b",
    re.IGNORECASE,
)


_FETCH_NEEDLES = ("curl", "wget", "fetch", "iwr", "irm", "invoke-", "aria2c", "webclient")


def _pipe_to_shell(text: str) -> list[Signal]:
    low = text.lower()
    if not any(k in low for k in _FETCH_NEEDLES):
        return []
    m = _PIPE_TO_SHELL.search(text)
    if not m:
        return []
    url = _first_url(m.group(0))
    risk, why = _host_risk(url) if url else (0.55, "a script source that is not shown")
    frame = framing(text, m.start(), m.end())
    if risk <= 0.1:  # localhost or an official installer on the documented allowlist
        sev = min(0.3, graded(risk + 0.1, text, m.start(), m.end(), boost=0.15))
    else:  # any other host: the script is whatever that host serves today
        sev = 0.55 if risk <= 0.15 else 0.4 + risk * 0.5
        sev = sev * 0.25 if frame == "negated" else sev + (0.25 if frame == "instructive" else 0.0)
    detail = f"Pipes a downloaded script from {why} straight into an interpreter."
    return [Signal(FAMILY, round(min(sev, 1.0), 3), excerpt(text, m.start(), m.end()), detail)]


# (regex, base severity, detail, fixed): fixed rows ignore framing (no honest note needs them).
_ROWS: list[tuple[str, float, str, bool]] = [
    (
        r"/dev/tcp/[\w.\-]+/\d+|\bnc(?:at)?\b[^\n|]{0,60}\s-[ec]\s*/bin/(?:ba)?sh|"
        r"\bmkfifo\b[^\n]{0,80}\bnc\b|\bsocat\b[^\n]{0,80}\bexec:|"
        r"import socket,\s*subprocess|socket\.socket\([^)]*\);?\s*\w+\.connect\(\(\s*['\"]\d",
        0.95,
        "A reverse-shell construction.",
        True,
    ),
    (
        r"\brm\s+-(?:rf|fr|r\s+-f)\s+(?:--no-preserve-root\s+)?(?:/|~|\$HOME|/\*|"
        r"\.git)(?:\s|$|[\"'`])|"
        r":\(\)\s*\{\s*:\|:&\s*\};:|\bmkfs(?:\.\w+)?\s+/dev/|\bdd\s+if=/dev/(?:zero|"
        r"random|urandom)\s+of=/dev/|"
        r"\bchmod\s+-R\s+777\s+/(?:\s|$)",
        0.7,
        "A destructive command.",
        False,
    ),
    (
        r"\bverify\s*=\s*False\b|\bNODE_TLS_REJECT_UNAUTHORIZED\s*=?\s*[\"']?0|"
        r"\bPYTHONHTTPSVERIFY\s*=\s*[\"']?0|\bGIT_SSL_NO_VERIFY\s*=\s*[\"']?(?:1|true)|"
        r"\bhttp\.sslVerify\s*(?:=\s*|\s+)false|\bstrict-ssl\s*(?:=\s*|\s+)false|"
        r"\bInsecureSkipVerify\s*:\s*true|\brejectUnauthorized\s*:\s*false|"
        r"_create_unverified_context|\bCURLOPT_SSL_VERIFYPEER\b\s*,\s*(?:0|false)|"
        r"\bcheck_hostname\s*=\s*False|\bssl_verify\s*[:=]\s*false|"
        r"\b(?:curl|wget|helm|kubectl|pip)\b[^\n|]{0,100}\s(?:-k|--insecure|--no-check-certificate|"
        r"--insecure-skip-tls-verify|--trusted-host)\b|--no-check-certificate|"
        r"--insecure-skip-tls-verify|\bsslverify\s*=\s*(?:0|false)|CERT_NONE|"
        r"\b(?:disable|turn off|skip|bypass|ignore)\s+(?:the\s+)?(?:ssl|tls|https|"
        r"certificate|cert)\s+"
        r"(?:verification|validation|checks?|errors?|warnings?)",
        0.3,
        "Turns off TLS certificate verification.",
        False,
    ),
    (
        r"(?:\bgit\b[^\n]{0,60}\s--no-verify\b|\bgit\s+commit\b[^\n]{0,40}\s-n\b|\bHUSKY\s*=\s*0\b|"
        r"\bcore\.hooksPath\s+/dev/null|\bSKIP\s*=\s*[\w,-]*(?:lint|check|test|secret|hook)|"
        r"\b(?:skip|bypass|disable|remove|delete|uninstall)\s+(?:the\s+)?(?:pre-?commit|pre-?push|"
        r"commit|git)\s+hooks?\b|--no-verify\b)",
        0.3,
        "Skips git hooks and their checks.",
        False,
    ),
    (
        r"\bgit\s+push\b(?:\s+[\w./:@-]+)*?\s+(?:--force(?!-with-lease|-if-includes)\b|-f\b)"
        r"(?:\s+[\w./:@-]+)*|\bgit\s+push\s+[\w.-]+\s+\+(?:main|master)\b",
        0.2,
        "Force-pushes and can destroy shared history.",
        False,
    ),
    (
        r"\[(?:skip ci|ci skip|no ci|skip actions)\]|\*\*\*NO_CI\*\*\*|"
        r"-k\s+[\"']?not\s+\w*(?:secur|auth|crypt|vuln|safety|permission|sanit|xss|csrf|inject)\w*|"
        r"\b(?:SKIP_TESTS|SKIP_CHECKS|DISABLE_TESTS|NO_TESTS|"
        r"SKIP_SECURITY\w*)\s*=\s*(?:1|true|yes)|"
        r"-DskipTests\b|-Dmaven\.test\.skip=true|--disable-(?:security|ssl|tls|verif\w*|sandbox|"
        r"web-security|checks?|scan\w*|lint\w*|tests?|hooks|auth\w*|csrf|audit|signature\w*)\b|"
        r"\bnoqa\b[^\n]{0,30}\b(?:every|all|each)\b|\b(?:every|all|each)\b[^\n]{0,30}#\s*noqa\b|"
        r"/\*\s*eslint-disable\s*\*/|#\s*nosec\b|\bcontinue-on-error\s*:\s*true|"
        r"\b(?:pytest|npm test|yarn test|go test|cargo test|make test|tox|jest)\b[^\n]{0,60}"
        r"\|\|\s*(?:true|exit 0|:)|--exit-zero\b|"
        r"\b(?:disable|skip|turn off|remove|delete|bypass|comment out|mute|silence)\s+"
        r"(?:the\s+|all\s+|any\s+)?(?:security|sast|dast|secret|dependency|vulnerability|codeql|"
        r"snyk|trivy|bandit|semgrep|gitleaks|dependabot|audit|license)\s*(?:scans?|"
        r"scanning|checks?|"
        r"jobs?|steps?|alerts?|gates?|tests?|audits?|workflows?)?\b|"
        r"\b(?:delete|remove|skip|disable|comment out|xfail|mark)\s+(?:the\s+|all\s+|any\s+)?"
        r"(?:failing|flaky|broken|red|security|auth)\s+tests?\b|"
        r"\b(?:disable|turn off|remove)\s+(?:the\s+)?(?:branch protection|required reviews?|"
        r"code ?owners|signature verification|commit signing|2fa|mfa|two-factor|csrf protection|"
        r"authentication|auth checks?|rate limiting|the linter|linting|type ?checking)\b|"
        r"\bcommit\.gpgsign\s+false\b|\bsetenforce\s+0\b|\bufw\s+disable\b|"
        r"\b--allow-unauthenticated\b|\bapt-key\s+add\b|\bsecurity\s*=\s*none\b",
        0.25,
        "Disables tests, linters, hooks or security checks.",
        False,
    ),
    (
        r"\bpip3?\s+config\s+set\s+(?:global|user|site)\.(?:extra-)?index-url\s+\S+|"
        r"--(?:extra-)?index-url(?:=|\s+)\S+|"
        r"\bpip3?\s+install\b[^\n]{0,80}\s-i\s+\S+|\bPIP_(?:EXTRA_)?INDEX_URL\s*=\s*\S+|"
        r"\b(?:npm|yarn|pnpm)\s+config\s+set\s+(?:@[\w-]+:)?registry\s+\S+|"
        r"--registry(?:=|\s+)\S+|^\s*(?:@[\w-]+:)?registry\s*=\s*\S+|"
        r"\bGOPROXY\s*=\s*\S+|\bgem\s+sources\s+(?:--add|-a)\s+\S+|"
        r"\bUV_(?:EXTRA_)?INDEX_URL\s*=\s*\S+|"
        r"\bconda\s+config\s+--add\s+channels\s+\S+|\bcargo\b[^\n]{0,40}--index\s+\S+",
        0.1,
        "Points the package manager at a different index.",
        False,
    ),
    (
        r"\b(?:GOSUMDB\s*=\s*off|GONOSUMCHECK\s*=|GONOSUMDB\s*=|GOINSECURE\s*=|"
        r"GOFLAGS\s*=\s*-insecure|"
        r"--no-(?:package-)?lock\w*\s+--ignore-scripts=false|"
        r"npm\s+config\s+set\s+strict-ssl\s+false|"
        r"--disable-integrity|--no-integrity|--skip-integrity|--allow-insecure-registry|"
        r"--insecure-registry)\b",
        0.35,
        "Turns off package integrity checks.",
        False,
    ),
    (
        r"\$\{\{\s*secrets\.[A-Z0-9_]+\s*\}\}[^\n]{0,120}\b(?:curl|wget|nc|http)|"
        r"\b(?:curl|wget|nc)\b[^\n]{0,160}\$\{\{\s*secrets\.|"
        r"\btoJSON\(\s*secrets\s*\)|"
        r"\.github/workflows/[\w.-]+[^\n]{0,200}\b(?:curl|wget|nc|base64|printenv|env\s*\|)|"
        r"\b(?:curl|wget)\b[^\n]{0,200}\.github/workflows|pull_request_target[^\n]{0,200}"
        r"(?:head\.sha|head\.ref|github\.event\.pull_request\.head)|permissions\s*:\s*write-all",
        0.5,
        "Tampers with CI workflows or leaks CI secrets.",
        False,
    ),
    (
        r"\b(?:commit|push|check in|add)\s+(?:the\s+)?(?:\.env|credentials|secrets?|private keys?|"
        r"id_rsa|api keys?)\b(?:\s+files?)?\s+(?:to|into)\s+(?:the\s+)?(?:repo|git|main|github)|"
        r"\bhard-?code\s+(?:the\s+)?(?:api keys?|passwords?|tokens?|secrets?|credentials)\b|"
        r"\bchmod\s+(?:-R\s+)?777\b|\b(?:csrf_exempt|@csrf\.exempt)\b[^\n]{0,40}\b(?:all|every)\b|"
        r"\bAccess-Control-Allow-Origin\s*:\s*\*[^\n]{0,40}\bcredentials\b|"
        r"\bsudo\s+chown\s+-R\s+\S+\s+/(?:usr|etc)\b|\bDEBUG\s*=\s*True\b[^\n]{0,40}\bproduction\b",
        0.25,
        "An unsafe shortcut (secrets in git, world-writable files, auth off).",
        False,
    ),
]

_NEEDLES = {
    0: "/dev/tcp|nc|mkfifo|socat|socket",
    1: "rm |:()|mkfs|dd if|chmod",
    2: "verify|tls|ssl|insecure|certificate|cert|-k|trusted-host|check_hostname",
    3: "no-verify|commit|husky|hookspath|skip=|hook",
    4: "push",
    5: (
        "skip|ci|not |test|disable|noqa|eslint|nosec|continue-on-error|exit-zero|remove|"
        "delete|bypass|comment out|mute|silence|xfail|mark|turn off|gpgsign|"
        "setenforce|ufw|unauthenticated|apt-key|security"
    ),
    6: "index|registry|goproxy|gem sources|channels|cargo",
    7: "gosumdb|gonosum|goinsecure|goflags|strict-ssl|integrity|insecure",
    8: "secrets|github/workflows|pull_request_target|write-all",
    9: "commit|push|check in|add|hard|chmod|csrf|access-control|chown|debug",
}
_TABLE = [
    (re.compile(rx, re.IGNORECASE | re.MULTILINE), s, d, f, tuple(_NEEDLES[i].split("|")))
    for i, (rx, s, d, f) in enumerate(_ROWS)
]
_PROTECTED_BRANCH = re.compile(
    r"\b(?:main|master|prod|production|release|trunk|develop|stable|live|protected|shared|upstream|"
    r"origin/main|origin/master|default branch|everyone|all branches)\b",
    re.IGNORECASE,
)
_INDEX_ROW = 6
_FORCE_ROW = 4


def _url_adjusted(idx: int, base: float, m: re.Match[str], text: str) -> float:
    """Registry changes are only as bad as where they point; force-push only if it hits main."""
    if idx == _INDEX_ROW:
        url = _first_url(m.group(0))
        if url is None:
            return 0.0
        return base + _host_risk(url)[0] * 0.55
    if idx == _FORCE_ROW:
        near = text[max(0, m.start() - 80) : m.end() + 80]
        return base + (0.3 if _PROTECTED_BRANCH.search(near) else 0.0)
    return base


def _table_signals(text: str) -> list[Signal]:
    out = []
    low = text.lower()
    for idx, (rx, base, detail, fixed, needles) in enumerate(_TABLE):
        if not has_needle(low, needles):
            continue
        best: tuple[float, re.Match[str]] | None = None
        for m in rx.finditer(text):
            adj = _url_adjusted(idx, base, m, text)
            sev = adj if fixed else graded(adj, text, m.start(), m.end())
            if best is None or sev > best[0]:
                best = (sev, m)
        if best and best[0] > 0.05:
            sev, m = best
            out.append(
                Signal(FAMILY, round(min(sev, 1.0), 3), excerpt(text, m.start(), m.end()), detail)
            )
    return out


_CRED_FILE = re.compile(
    r"~?/?\.ssh/(?:id_\w+|authorized_keys|config)\b|\bid_(?:rsa|ed25519|ecdsa|dsa)\b|"
    r"\.aws/credentials|\.npmrc\b|\.pypirc\b|\.netrc\b|\.docker/config\.json|\.kube/config|"
    r"\.git-credentials|/etc/(?:shadow|passwd|sudoers)\b|\.gnupg\b|gcloud/\w*credentials|"
    r"(?:^|[\s/\"'`(])\.env(?:\.local|\.production|\.prod)?\b(?![.\w-])|\bprintenv\b|"
    r"\benv\s*\||\bos\.environ\b|\bprocess\.env\b(?!\.\w)|keychain|\.bash_history|\.zsh_history|"
    r"wallet\.dat|\bcookies\.sqlite|Login Data",
    re.IGNORECASE,
)
_SENDER = re.compile(
    r"\b(?:curl|wget|nc|ncat|scp|rsync|ftp|sftp|upload\w*|post(?:ed|ing)?|send(?:s|ing)?|"
    r"transmit\w*|forward\w*|e-?mail\w*|paste\w*|exfiltrat\w*|share|sync|beacon|"
    r"requests\.post|fetch\(|axios|http\.request|webhook|include (?:it|them|the contents?) in)\b",
    re.IGNORECASE,
)


def _credential_signals(text: str) -> list[Signal]:
    m = _CRED_FILE.search(text)
    if not m:
        return []
    window = text[max(0, m.start() - 250) : m.end() + 250]
    url = _first_url(window)
    sends = _SENDER.search(window)
    if not sends:
        return []
    external = url is not None and _host_risk(url)[0] >= 0.5
    base = 0.6 if external else 0.35
    sev = graded(base, text, m.start(), m.end(), boost=0.3)
    detail = "Reads a credential file and sends it somewhere."
    return [Signal(FAMILY, round(min(sev, 1.0), 3), excerpt(text, m.start(), m.end()), detail)]


def detect(text: str) -> list[Signal]:
    """Flag unsafe commands, graded by how they are framed and where they point."""
    return _pipe_to_shell(text) + _table_signals(text) + _credential_signals(text)
