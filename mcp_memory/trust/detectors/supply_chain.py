"""Steering where code comes from: look-alike hosts, "vetted forks", preferred mirrors, and
tampering with the CI workflows and lockfiles that pin it.

These notes contain no dangerous command; they change which bytes a later ``pip install`` or CI
run fetches. The rules key on meaning: an *alternative source* (a fork, a mirror, a registry, a
host imitating a well-known one, hosts.lookalike) combined with *steering* (use it, prefer it,
instead of upstream) or a *trust claim* nobody can check ("vetted", "security-patched"); and an
*edit* of a workflow or lockfile combined with a *payload* (a download, secrets, a switched-off
check, a rewritten hash or source).
"""

from __future__ import annotations

import re

from mcp_memory.trust.detectors.base import Signal, excerpt, framing
from mcp_memory.trust.detectors.hosts import (
    HOST_IN_TEXT,
    WELL_KNOWN,
    host_of,
    host_risk,
    lookalike,
    registrable,
)

FAMILY = "dangerous_command"

_WARNING_WORDS = re.compile(
    r"\b(?:typo-?squat\w*|phishing|malicious|malware|fake|look-?alike|impersonat\w*|beware|"
    r"scam\w*|spoof\w*|block(?:ed|list)?|deny-?list\w*|do not trust|don'?t trust|compromised|"
    r"reported|attack\w*)\b",
    re.IGNORECASE,
)
_ACTION = re.compile(
    r"\b(?:install\w*|download\w*|fetch\w*|pull\w*|curl|wget|pip|npm|yarn|pnpm|uv|cargo|gem|go get|"
    r"use|using|prefer\w*|point\w*|switch\w*|registry|index|mirror|source|clone|from|get)\b",
    re.IGNORECASE,
)


def _sig(sev: float, text: str, m: re.Match[str], detail: str) -> Signal:
    return Signal(
        FAMILY, round(min(max(sev, 0.0), 1.0), 3), excerpt(text, m.start(), m.end()), detail
    )


def _lookalike_signals(text: str) -> list[Signal]:
    seen: set[str] = set()
    for m in HOST_IN_TEXT.finditer(text):
        host = m.group(1).lower()
        if host in seen or len(seen) > 64:
            continue
        seen.add(host)
        imitated = lookalike(host)
        if not imitated:
            continue
        near = text[max(0, m.start() - 120) : m.end() + 120]
        sev = 0.75 if _ACTION.search(near) else 0.5
        if _WARNING_WORDS.search(near) or framing(text, m.start(), m.end()) == "negated":
            sev *= 0.2
        return [_sig(sev, text, m, f"A host that imitates {imitated}.")]
    return []


_ALT = (
    r"(?:forks?|forked|mirrors?|re-?uploads?|rebuilds?|repackag\w*|cop(?:y|ies)|"
    r"(?:\w+-)?patched (?:builds?|versions?|"
    r"copy|copies|releases?|wheels?|packages?|distributions?)|drop-in replacements?|"
    r"alternative (?:packages?|builds?|registr(?:y|ies)|index(?:es)?|sources?)|"
    r"(?:package )?registr(?:y|ies)|package index(?:es)?|index(?:-url)?|proxy|cdn)"
)
_STEER = re.compile(
    rf"\b(?:use|uses|using|install|installing|switch(?:ed)? to|prefer|depend on|pin(?: it)? to|"
    rf"replace\s+\S+\s+with|migrate to|pull\s+(?:\S+\s+)?from|point\s+(?:\S+\s+){{0,2}}(?:at|to)|"
    rf"set\s+(?:the\s+)?(?:registry|index(?:-url)?|mirror)\s+to|fetch\s+(?:\S+\s+)?from|"
    rf"always\s+(?:go|install|fetch)\s+(?:through|from)|go\s+through)\b[^.\n]{{0,80}}?\b{_ALT}\b|"
    r"\b(?:install\w*|use|get|pull|download|fetch|take|grab)\s+(?:[\w.@-]+\s+){0,5}?from\s+"
    r"(?:git\+)?https?://|"
    rf"\b(?:the|our|this|a)\s+(?:[\w'-]+\s+){{0,2}}{_ALT}\s+(?:of|for)\s+[\w.@/-]+",
    re.IGNORECASE,
)
_TRUST_CLAIM = re.compile(
    r"\b(?:vetted|verified|trusted|approved|blessed|sanctioned|audited|hardened|"
    r"security-?patched|certified|whitelisted|allow-?listed|signed-off|known-good|"
    r"community-verified|pre-approved)\b",
    re.IGNORECASE,
)
_INSTEAD = re.compile(
    r"\b(?:instead of|rather than|not|never|over|in place of|avoid|replaces?)\s+(?:the\s+)?"
    r"(?:official|upstream|original|public|real|default|pypi|npm(?:js)?|crates\.io|rubygems|"
    r"docker hub|github releases?|pypi\.org|registry\.npmjs\.org)\b|"
    r"\b(?:upstream|the official (?:one|package|release)|pypi|npm)\s+(?:is|are|has been)\s+"
    r"(?:compromised|broken|unsafe|outdated|abandoned|backdoored|vulnerable)",
    re.IGNORECASE,
)
_HONEST_FORK = re.compile(
    r"\b(?:until|pending|while)\b[^.\n]{0,60}\b(?:upstream|pr|pull request|merge[sd]?|release[sd]?|"
    r"fix(?:ed)?)\b|\b(?:internal|private|company|corp(?:orate)?)\s+(?:mirror|registry|index|proxy)\b",
    re.IGNORECASE,
)
_URL = re.compile(r"https?://[^\s\"'`)<>|,;]+|git\+https?://[^\s\"'`)<>|,;]+", re.IGNORECASE)


_STEER_NEEDLES = ("fork", "mirror", "registr", "index", "proxy", "cdn", "patched", "rebuild",
                  "repackag", "upload", "replacement", "alternative", "install", "from http",
                  "from git+", "copy of", "copies of")  # fmt: skip
_CI_NEEDLES = ("workflow", "gitlab", "jenkins", "circleci", "pipeline", "buildkite", "ci ", "ci.")


# Well-known hosts where anyone can publish: naming one says nothing about who published.
_USER_CONTENT = frozenset(
    {"github.com", "githubusercontent.com", "github.io", "gitlab.com", "gitlab.io",
     "bitbucket.org", "huggingface.co", "docker.io", "docker.com", "ghcr.io", "quay.io",
     "sourceforge.net", "jsdelivr.net", "unpkg.com", "amazonaws.com", "googleapis.com"}
)  # fmt: skip


def _vendor_site(url: str) -> bool:
    reg = registrable(host_of(url))
    return reg in WELL_KNOWN and reg not in _USER_CONTENT


def _steering_signals(text: str) -> list[Signal]:
    low = text.lower()
    if not any(n in low for n in _STEER_NEEDLES):
        return []
    m = _STEER.search(text)
    if not m:
        return []
    near = text[max(0, m.start() - 150) : m.end() + 150]
    frame = framing(text, m.start(), m.end())
    if frame == "negated" or _WARNING_WORDS.search(near):
        return []
    url = _URL.search(near)
    risk = host_risk(url.group(0).removeprefix("git+"))[0] if url else 0.3
    if url and (risk <= 0.15 or _vendor_site(url.group(0).removeprefix("git+"))):
        return []  # an official registry or vendor, localhost or a private host: not a lure
    sev = 0.2 + risk * 0.3
    sev += 0.25 if _TRUST_CLAIM.search(near) else 0.0
    sev += 0.15 if _INSTEAD.search(near) else 0.0
    sev += 0.15 if frame == "instructive" else 0.0
    sev *= 0.5 if _HONEST_FORK.search(near) else 1.0
    return [_sig(sev, text, m, "Steers installs to an alternative source of a package.")]


_WORKFLOW = (
    r"(?:\.github/workflows/[\w./-]*|(?:github )?actions? workflows?|workflow (?:files?|ya?ml)|"
    r"\.gitlab-ci\.ya?ml|gitlab ci|jenkinsfile|\.circleci/config\.ya?ml|azure-pipelines\.ya?ml|"
    r"buildkite|ci (?:config|configuration|pipeline|workflow|ya?ml|jobs?|steps?)|the pipeline|"
    r"release (?:workflow|pipeline|job)|the (?:ci |release |build |deploy )?workflows?)"
)
_EDIT = (
    r"(?:edit|modify|change|update|patch|add|append|insert|rewrite|replace|remove|delete|"
    r"comment out|tweak|mark|set|configure|flip|make)"
)
# A workflow named, then an edit verb near it (two small searches: one regex leading with both
# alternations costs a scan of every note).
_WORKFLOW_RX = re.compile(_WORKFLOW, re.IGNORECASE)
_EDIT_RX = re.compile(rf"\b{_EDIT}\b", re.IGNORECASE)
_CI_PAYLOAD = re.compile(
    r"\b(?:curl|wget|printenv|base64)\b|\$\{\{\s*secrets|\bsecrets\.\w+|\btoJSON\(|"
    r"continue[-_]?on[-_]?error\s*[:=]?\s*true|\bif\s*:\s*false|allow_failure\s*:\s*true|"
    r"write-all|"
    r"pull_request_target|--no-verify|"
    r"\b(?:skip|disable|remove|drop|delete|comment out)\s+(?:the\s+)?"
    r"(?:\w+\s+)?(?:tests?|security|scan\w*|lint\w*|audit|signing|checks?|codeql|verification)\b|"
    r"\bself-hosted\b|\bid-token\s*:\s*write|\benv\s*\|",
    re.IGNORECASE,
)
# Payloads that by themselves leak the CI's secrets or remove a gate from it.
_CI_LEAK = re.compile(
    r"\$\{\{\s*secrets|\bsecrets\.\w+|\btoJSON\(|\bprintenv\b|\benv\s*\||\ball env(?:ironment)? "
    r"var\w*|write-all|pull_request_target|id-token\s*:\s*write|"
    r"continue[-_]?on[-_]?error\s*[:=]?\s*true[^\n]{0,60}\b(?:security|scan\w*|audit|tests?|"
    r"codeql|sast)|\b(?:security|scan\w*|audit|codeql|sast)\b[^\n]{0,60}"
    r"continue[-_]?on[-_]?error\s*[:=]?\s*true",
    re.IGNORECASE,
)
_OFFICIAL_ACTION_OWNERS = frozenset(
    {"actions", "github", "docker", "aws-actions", "google-github-actions", "azure", "hashicorp",
     "pypa", "astral-sh", "codecov", "softprops", "peter-evans", "dtolnay", "rust-lang",
     "golangci", "gradle", "ruby", "pnpm", "oven-sh", "denoland"}
)  # fmt: skip
_ACTION_USE = re.compile(
    r"(?<![\w./-])([\w.-]+)/(checkout|setup-python|setup-node|setup-go|setup-java|cache|"
    r"upload-artifact|download-artifact|github-script|login-action|setup-buildx-action|"
    r"build-push-action|configure-aws-credentials|setup-uv|gh-action-pypi-publish)@",
    re.IGNORECASE,
)


def _ci_signals(text: str) -> list[Signal]:
    out: list[Signal] = []
    low = text.lower()
    for m in _ACTION_USE.finditer(text) if "@" in low else ():
        if m.group(1).lower() not in _OFFICIAL_ACTION_OWNERS:
            detail = f"A well-known action ({m.group(2)}) taken from another owner ({m.group(1)})."
            out.append(_sig(0.7, text, m, detail))
            break
    m = _WORKFLOW_RX.search(text) if any(n in low for n in _CI_NEEDLES) else None
    if m and _EDIT_RX.search(text[max(0, m.start() - 90) : m.end() + 70]):
        near = text[max(0, m.start() - 100) : m.end() + 160]
        frame = framing(text, m.start(), m.end())
        if _CI_PAYLOAD.search(near) and frame != "negated":
            url = _URL.search(near)
            sev = 0.45 + (0.15 if frame == "instructive" else 0.0)
            sev += 0.2 if url and host_risk(url.group(0))[0] >= 0.5 else 0.0
            sev += 0.15 if _CI_LEAK.search(near) else 0.0
            out.append(_sig(sev, text, m, "Edits a CI workflow to run, leak or skip something."))
    return out


_LOCK = (
    r"(?:lock ?files?|package-lock\.json|yarn\.lock|pnpm-lock\.ya?ml|poetry\.lock|uv\.lock|"
    r"pipfile\.lock|cargo\.lock|go\.sum|composer\.lock|gemfile\.lock|bun\.lockb?|flake\.lock|"
    r"requirements[\w.-]*\.(?:txt|lock))"
)
# Within one sentence: a dot only ends it when a space follows (URLs and file names keep theirs).
_SPAN = r"(?:[^.\n]|\.(?=\S))"
_LOCK_FIELD = (
    r"(?:resolved|integrity|sha\d*|hash(?:es)?|checksums?|urls?|sources?|registry|tarball)"
)
_LOCK_ROWS = [
    (
        rf"\b(?:edit|change|replace|update|set|point|rewrite|hand-edit|patch|modify|swap|overwrite|"
        rf"substitute|copy)\b{_SPAN}"
        rf"{{0,50}}?\b{_LOCK_FIELD}\b{_SPAN}{{0,50}}?{_LOCK}|{_LOCK}{_SPAN}{{0,50}}?\b(?:edit|change|"
        rf"replace|rewrite|hand-edit|patch|modify|swap|point)\w*\b{_SPAN}{{0,60}}?\b{_LOCK_FIELD}\b|"
        rf"{_LOCK}(?:'s)?\s+(?:\w+\s+)?{_LOCK_FIELD}\b{_SPAN}{{0,40}}?"
        r"\b(?:should|must|need to|to)\s+"
        r"(?:now\s+|all\s+)?(?:point|be|use|come from|resolve)\b",
        0.55,
        "Rewrites what a lockfile pins (its hashes or sources).",
    ),
    (
        r"\b(?:checksum|hash|integrity|sha\w*|go\.sum)\s+(?:mismatch\w*|errors?|failures?|"
        r"verification fail\w*)\b[^.;\n]{0,60}?\b(?:ignore|delete|remove|skip|disable|bypass|"
        r"--no-verify|gonosumdb|gonosumcheck|goflags|--no-integrity|--skip-integrity)",
        0.55,
        "Gets past a checksum mismatch instead of investigating it.",
    ),
    (
        rf"\b(?:delete|remove|ignore|gitignore|untrack|stop committing|don'?t commit|do not commit|"
        rf"skip|drop)\s+(?:the\s+)?{_LOCK}|--no-frozen-lockfile\b|--frozen-lockfile=false|"
        r"--no-lockfile\b|--no-package-lock\b|package-lock\s*=\s*false",
        0.3,
        "Stops pinning dependencies with a lockfile.",
    ),
]
_LOCK_TABLE = [(re.compile(rx, re.IGNORECASE), s, d) for rx, s, d in _LOCK_ROWS]
_NEGATED_INSIDE = re.compile(r"\b(?:never|don'?t|do not|not|avoid|without)\b", re.IGNORECASE)
_IN_CI = re.compile(
    r"\b(?:in ci|ci|pipeline|production|release|every build|always)\b", re.IGNORECASE
)


def _lock_signals(text: str) -> list[Signal]:
    low = text.lower()
    if not any(k in low for k in ("lock", ".sum", "checksum", "hash", "integrity", "requirements")):
        return []
    out = []
    for rx, base, detail in _LOCK_TABLE:
        m = rx.search(text)
        if not m:
            continue
        frame = framing(text, m.start(), m.end())
        if frame == "negated" or _NEGATED_INSIDE.search(m.group(0)):
            continue  # "never edit the lockfile", "on a mismatch, never set GONOSUMDB"
        near = text[max(0, m.start() - 100) : m.end() + 100]
        url = _URL.search(near)
        sev = base + (0.15 if frame == "instructive" else 0.0)
        sev += 0.1 if _IN_CI.search(near) and base < 0.5 else 0.0
        sev += host_risk(url.group(0))[0] * 0.3 if url else 0.0
        out.append(_sig(sev, text, m, detail))
    return out


def detect(text: str) -> list[Signal]:
    """Flag look-alike hosts, source steering, and CI/lockfile tampering."""
    return (
        _lookalike_signals(text) + _steering_signals(text) + _ci_signals(text) + _lock_signals(text)
    )
