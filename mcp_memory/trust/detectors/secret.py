"""Credentials pasted into a note. A memory is shared and long-lived, so the store refuses them.

Uses detect-secrets' own plugin classes (regex plugins only; its entropy plugins flag every git SHA
and are replaced here by an assignment-shaped check). The plugins are built once and only run on
lines that could hold a credential, which keeps the cost a fraction of a millisecond.
The evidence never contains the secret: only its type, its length and where it sat.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from typing import Any

from mcp_memory.trust.detectors.base import Signal, make_safe
from mcp_memory.trust.detectors.encoded_payload import _b64_decode, _readable

FAMILY = "secret"

# Entropy plugins (noise on SHAs/UUIDs) and public IPs (not a secret) are left to other detectors.
_SKIPPED_PLUGINS = {"Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector"}

_KEYWORDS = re.compile(
    r"PRIVATE KEY|://[^\s/@]*:[^\s/@]+@|passw|secret|token|api[_-]?key|apikey|auth|credential|"
    r"bearer|pwd|login|hooks\.slack|\s-p\S|\s-u\s",
    re.IGNORECASE,
)
_LONG_TOKEN = re.compile(r"[A-Za-z0-9_\-+/=.]{16,}")


def _worth_scanning(line: str) -> bool:
    """Plugins cost ~0.5 ms a line; run them only where a credential could be.

    Pure lower-case hex (git SHAs, digests) and plain words never hold the shapes they detect.
    """
    if _KEYWORDS.search(line):
        return True
    for m in _LONG_TOKEN.finditer(line):
        tok = m.group(0)
        if any(c.isdigit() for c in tok) and any(c.isupper() for c in tok):
            return True
    return False


_PLACEHOLDER = re.compile(
    r"example|sample|dummy|placeholder|changeme|change_me|your[_-]|<[^>]*>|\$\{|\{\{|x{4,}|\*{3,}|"
    r"\.{3}|redacted|fake|test(?:ing)?[_-]?(?:key|token|secret|pass(?:word)?)|^(?:password|secret|"
    r"token|none|null|true|false)$|os\.environ|getenv|process\.env|secrets\.|vault",
    re.IGNORECASE,
)
# Token shapes newer than (or missing from) detect-secrets 1.5's plugins.
_EXTRA = [
    (
        "OpenAI/Anthropic Key",
        re.compile(r"\bsk-(?:proj-|ant-(?:api\d{2}-)?|live-)?[A-Za-z0-9_\-]{32,}"),
    ),
    ("Google API Key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("Hugging Face Token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
    ("mcp-memory Token", re.compile(r"\bmcpm_[A-Za-z0-9_\-]{40,}")),  # our own bearer tokens
    (
        "GitHub Token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b"),
    ),
    ("Slack Token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("Stripe Key", re.compile(r"\b(?:sk|rk)_live_[A-Za-z0-9]{20,}\b")),
    ("Private Key", re.compile(r"-----BEGIN (?:[A-Z ]+ )?PRIVATE KEY(?: BLOCK)?-----")),
]
# Credentials by where they sit rather than by vendor format: a password between `://user:` and
# `@`, after a password flag or `curl -u user:`, in a Basic auth header, or after "password is".
# detect-secrets' own URL plugin stops at characters such as `!`, and people paste these shapes.
_CONTEXTUAL = [
    ("URL Credentials", re.compile(r"[a-z][a-z0-9+.-]*://[^\s:/@]*:([^\s@/]+)@[\w.-]", re.I)),
    (
        "Password Flag",
        re.compile(
            r"(?:--password(?:=|\s+)|\b(?:mysql|mysqldump|mariadb)\b[^\n|;]*?\s-p)"
            r"[\"']?([^\s\"']+)"
        ),
    ),
    ("Login Password", re.compile(r"\blogin\b[^\n|;]*?\s-p\s+[\"']?([^\s\"']+)")),
    ("Basic Auth Credentials", re.compile(r"(?:-u|--user)\s+[\"']?[^\s:\"']+:([^\s\"']+)")),
    ("Basic Auth Header", re.compile(r"\bBasic\s+([A-Za-z0-9+/]{8,}={0,2})")),
    ("Slack Webhook", re.compile(r"hooks\.slack\.com/services/(T\w+/B\w+/\w{16,})")),
    (
        "Stated Secret",
        re.compile(
            r"\b(?:password|passwd|passphrase|secret|token|api[ _-]?key)\s+(?:is|was|=|:)?\s*"
            r"[\"'`]?([^\s\"'`]{8,})",
            re.I,
        ),
    ),
]
_ASSIGNED = re.compile(
    r"\b[\w.-]*(?:secret|token|api[_-]?key|apikey|passw(?:or)?d|pwd|access[_-]?key|private[_-]?key|"
    r"client[_-]?secret|auth)[\w.-]*[\"']?\s*(?:=|:|:=|=>)\s*[\"']?([A-Za-z0-9_\-+/=.!@#$%^&*]{12,})",
    re.IGNORECASE,
)


def _decodes_to_prose(value: str) -> bool:
    """Base64 of readable text is an encoded message (encoded_payload's job), not a key."""
    raw = _b64_decode(value)
    return raw is not None and _readable(raw) is not None


def _entropy(s: str) -> float:
    counts = Counter(s)
    return -sum(c / len(s) * math.log2(c / len(s)) for c in counts.values())


@lru_cache(maxsize=1)
def _plugins() -> tuple[Any, ...]:
    """Instantiate detect-secrets' plugins once: importing and building them costs ~0.2 s."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    mapping = get_mapping_from_secret_type_to_class()
    return tuple(cls() for cls in mapping.values() if cls.__name__ not in _SKIPPED_PLUGINS)


def _is_placeholder(value: str, line: str) -> bool:
    """Judge the value itself: "example" elsewhere on the line must not launder a key."""
    del line
    return bool(_PLACEHOLDER.search(value))


_DEV_DEFAULTS = {
    "postgres", "password", "root", "admin", "secret", "changeme", "test", "dev", "local", "guest",
    "example", "pass", "mysql", "redis", "user", "minioadmin", "rabbitmq", "docker", "toor",
}  # fmt: skip
_WEAK_KINDS = {"Secret Keyword", "Basic Auth Credentials"}
_KEY_BODY = re.compile(r"PRIVATE KEY(?: BLOCK)?-----\s*(?:[A-Za-z0-9+/=]{40,}\s*)", re.MULTILINE)


def _counts(kind: str, value: str, line: str, text: str) -> bool:
    """Whether a plugin hit is a credential a human would be upset to find in shared memory."""
    if kind == "Private Key":
        return bool(_KEY_BODY.search(text))
    if kind in _WEAK_KINDS and (value.lower() in _DEV_DEFAULTS or len(value) < 6):
        return False
    # Only weak, keyword-shaped hits may be excused by their line saying "example": otherwise one
    # word anywhere near a real AWS or GitHub key would smuggle it in.
    return not _is_placeholder(value, line if kind in _WEAK_KINDS else "")


def _chunks(text: str, size: int = 4000, overlap: int = 200) -> list[str]:
    """Lines cut to bounded pieces so a 100 KB one-liner costs linear time, not a regex blow-up."""
    out: list[str] = []
    for line in text.splitlines() or [text]:
        if len(line) <= size:
            out.append(line)
            continue
        out.extend(line[i : i + size] for i in range(0, len(line), size - overlap))
    return out


def _redacted(kind: str, value: str, line_no: int) -> Signal:
    evidence = make_safe(f"{kind} ({len(value)} chars) in part {line_no}, redacted")
    detail = f"Looks like a real {kind}; memories are shared and long-lived, so it is refused."
    return Signal(FAMILY, 1.0, evidence[:120], detail)


def _plugin_hits(line: str) -> list[tuple[str, str]]:
    hits = []
    for plugin in _plugins():
        try:
            values = list(plugin.analyze_string(line))
        except Exception:  # noqa: BLE001 - a third-party plugin must never break a write
            continue
        hits.extend((plugin.secret_type, v) for v in values if v)
    return hits


def _mixed(value: str) -> bool:
    """Letters with digits or symbols: a password, not a word such as "required"."""
    letters = any(c.isalpha() for c in value)
    return letters and any(c.isdigit() or not c.isalnum() for c in value)


def _basic_password(value: str) -> str:
    """`user:password` in base64 (a Basic auth value) is judged by its password part."""
    raw = _b64_decode(value)
    text = raw.decode("utf-8", "replace") if raw else ""
    if ":" in text and text.isprintable():
        return text.partition(":")[2]
    return value


def _stated(value: str) -> bool:
    """After a bare "token"/"password" only a key-like value counts: letters and digits, not a
    word, and not base64 of readable text (an encoded message is encoded_payload's job)."""
    has_both = any(c.isalpha() for c in value) and any(c.isdigit() for c in value)
    return has_both and _entropy(value) >= 3.0 and not _decodes_to_prose(value)


def _contextual_hits(line: str) -> list[tuple[str, str]]:
    hits = []
    for kind, rx in _CONTEXTUAL:
        for m in rx.finditer(line):
            value = m.group(1).rstrip(".,;)")
            if kind in ("Basic Auth Header", "Stated Secret"):
                value = _basic_password(value)
            if kind == "Basic Auth Header" and not _mixed(value):
                continue
            if kind == "Stated Secret" and not _stated(value):
                continue
            if value.startswith("$") or value.lower() in _DEV_DEFAULTS or len(value) < 6:
                continue
            hits.append((kind, value))
    return hits


def _line_hits(line: str) -> list[tuple[str, str]]:
    hits = _plugin_hits(line)
    hits += [(kind, m.group(0)) for kind, rx in _EXTRA for m in rx.finditer(line)]
    hits += _contextual_hits(line)
    for m in _ASSIGNED.finditer(line):
        value = m.group(1)
        if _decodes_to_prose(value):
            continue
        if _entropy(value) >= 3.5 and re.search(r"\d", value) and re.search(r"[A-Za-z]", value):
            hits.append(("Assigned Secret", value))
    return hits


def detect(text: str) -> list[Signal]:
    """Flag credentials; the evidence names the kind and never repeats the value."""
    out: list[Signal] = []
    for line_no, line in enumerate(_chunks(text), start=1):
        if not _worth_scanning(line):
            continue
        for kind, value in _line_hits(line):
            if _counts(kind, value, line, text):
                out.append(_redacted(kind, value, line_no))
                break
        if len(out) >= 3:
            break
    return out
