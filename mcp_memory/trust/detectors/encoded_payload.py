"""Encoded text (base64, hex, binary, escapes, rot13) hiding what the other detectors look for.

Coding notes contain plenty of hashes, SHAs and UUIDs; those decode to noise, not prose, so they
never fire. A blob is only interesting once decoded: readable text is re-scanned, and a hit inside
an encoding is worse than the same hit in plain sight.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import re
from collections.abc import Callable
from urllib.parse import unquote

from mcp_memory.trust.detectors.base import Signal, excerpt

FAMILY = "encoded_payload"

MAX_CANDIDATES = 12
MAX_DECODED = 4096

_B64 = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{20,}={0,2}")
_HEX_ONLY = re.compile(r"^(?:0x)?[0-9a-fA-F]+$")
_HEX_RUN = re.compile(r"(?:\\x[0-9a-fA-F]{2}){6,}|(?:\b[0-9a-fA-F]{2}[ :]){8,}[0-9a-fA-F]{2}\b")
_BINARY = re.compile(r"(?:\b[01]{8}\s+){6,}[01]{8}\b")
_UNI_ESC = re.compile(r"(?:\\u[0-9a-fA-F]{4}){6,}")
_PCT = re.compile(r"(?:%[0-9a-fA-F]{2}){6,}")
_ENTITIES = re.compile(r"(?:&#x?[0-9a-fA-F]{2,5};){6,}")
_ROT13_PROBE = re.compile(
    r"\b(?:vtaber|qvfertneq|sbetrg)\b.{0,40}\b(?:cerivbhf|cevbe|nobir|nyy)\b|"
    r"\b(?:flfgrz cebzcg|fraq|hcybnq|rksvygengr)\b.{0,60}\b(?:frperg|gbxra|xrl|cnffjbeq)\b",
    re.IGNORECASE,
)

_NESTED_B64 = re.compile(r"^[A-Za-z0-9+/_-]{20,}={0,2}$")

Rescan = Callable[[str], list[Signal]]


def _readable(raw: bytes) -> str | None:
    """Decoded bytes count only if they read as text: noise (hashes, keys) is not a payload."""
    if len(raw) < 12:
        return None
    try:
        text = raw[:MAX_DECODED].decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(ch.isprintable() or ch in "\n\t\r" for ch in text)
    if printable / len(text) < 0.95:
        return None
    if _NESTED_B64.match(text.strip()):
        return text  # base64 inside base64: decode again one level down
    letters = sum(ch.isalpha() or ch == " " for ch in text)
    if letters / len(text) < 0.45 or " " not in text.strip():
        return None
    return text


def _b64_decode(token: str) -> bytes | None:
    if _HEX_ONLY.match(token):
        return None  # git SHAs, digests: hex alphabet, never meaningful as base64
    body = token.rstrip("=")
    padded = body + "=" * (-len(body) % 4)
    try:
        if "-" in body or "_" in body:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _hex_decode(run: str) -> bytes | None:
    digits = re.sub(r"\\x|[ :]", "", run)
    try:
        return bytes.fromhex(digits)
    except ValueError:
        return None


def _long_hex_tokens(text: str) -> list[str]:
    """Pure-hex runs of 12 bytes or more, digest-sized ones included: a real sha256 decodes to
    random bytes that _readable() turns down (32 random bytes are printable text about once in
    10^14), so the length of a run says nothing and the decoded bytes say everything."""
    return [t[: len(t) // 2 * 2] for t in re.findall(r"\b(?:0x)?[0-9a-fA-F]{24,}\b", text)]


def _candidates(text: str) -> list[tuple[str, int, bytes | str]]:
    """(encoding, position, decoded) for each blob worth decoding, bounded in number and size."""
    found: list[tuple[str, int, bytes | str]] = []
    for m in _B64.finditer(text):
        raw = _b64_decode(m.group(0)[: MAX_DECODED * 2])
        if raw is not None:
            found.append(("base64", m.start(), raw))
        if len(found) >= MAX_CANDIDATES:
            break
    for m in _HEX_RUN.finditer(text):
        raw = _hex_decode(m.group(0))
        if raw is not None:
            found.append(("hex", m.start(), raw))
    for tok in _long_hex_tokens(text)[:8]:
        raw = _hex_decode(tok.removeprefix("0x"))
        if raw is not None:
            found.append(("hex", text.find(tok), raw))
    for m in _BINARY.finditer(text):
        bits = m.group(0).split()
        found.append(("binary", m.start(), bytes(int(b, 2) for b in bits[:MAX_DECODED])))
    for rx, name, fn in (
        (_UNI_ESC, "unicode escapes", lambda s: codecs.decode(s, "unicode_escape")),
        (_PCT, "percent-encoding", unquote),
        (_ENTITIES, "HTML entities", html.unescape),
    ):
        for m in rx.finditer(text):
            try:
                found.append((name, m.start(), fn(m.group(0)[: MAX_DECODED * 6])))
            except (UnicodeDecodeError, ValueError):
                continue
    return found[: MAX_CANDIDATES * 2]


def _judge(kind: str, pos: int, decoded: str, text: str, rescan: Rescan) -> Signal | None:
    inner = [s for s in rescan(decoded) if s.family != "secret"]
    where = excerpt(text, pos, pos + 24)
    if inner:
        top = max(inner, key=lambda s: s.severity)
        sev = min(1.0, max(top.severity, 0.6) + 0.15)
        detail = f"{kind} decodes to text that trips {top.family}: {top.evidence[:50]!r}."
        return Signal(FAMILY, round(sev, 3), where, detail)
    if len(decoded.split()) >= 6:
        return Signal(FAMILY, 0.3, where, f"{kind} decodes to prose; worth a look.")
    return None


def detect(text: str, rescan: Rescan) -> list[Signal]:
    """Decode blobs (bounded) and re-scan what they say with the other detectors."""
    out: list[Signal] = []
    for kind, pos, decoded in _candidates(text):
        plain = decoded if isinstance(decoded, str) else _readable(decoded)
        if plain is None:
            continue
        sig = _judge(kind, pos, plain[:MAX_DECODED], text, rescan)
        if sig:
            out.append(sig)
    m = _ROT13_PROBE.search(text)
    if m:
        decoded = codecs.decode(text[max(0, m.start() - 100) : m.end() + 200], "rot13")
        sig = _judge("rot13", m.start(), decoded, text, rescan)
        if sig:
            out.append(sig)
    return out
