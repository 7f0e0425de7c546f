"""Local, LLM-free detectors for poisoned memory writes.

``scan`` runs every content detector; ``SemanticDetector`` adds a meaning-based check on the
embedding the store already computed. Each detector returns ``Signal``s; ``mcp_memory.trust.beta``
turns them into a decision. Detectors never raise on any ``str``: a bug in one detector must
not block writes, so it is contained and reported as a low-severity signal instead.
"""

from __future__ import annotations

from collections.abc import Callable

from mcp_memory.trust.detectors import (
    dangerous_command,
    encoded_payload,
    exfiltration,
    hidden_unicode,
    instruction_files,
    instruction_override,
    multilingual,
    role_forgery,
    secrecy_trigger,
    secret,
    security_weakening,
    supply_chain,
)
from mcp_memory.trust.detectors.base import FAMILIES, Signal, make_safe, normalise, strongest
from mcp_memory.trust.detectors.semantic import SemanticDetector

__all__ = ["FAMILIES", "SemanticDetector", "Signal", "scan"]

_TEXT_DETECTORS: tuple[tuple[str, Callable[[str], list[Signal]]], ...] = (
    ("instruction_override", instruction_override.detect),
    ("role_forgery", role_forgery.detect),
    ("dangerous_command", dangerous_command.detect),
    ("exfiltration", exfiltration.detect),
    ("secrecy_trigger", secrecy_trigger.detect),
    ("dangerous_command", security_weakening.detect),
    ("dangerous_command", supply_chain.detect),
    ("instruction_override", instruction_files.detect),
    ("instruction_override", multilingual.detect),
)
MAX_DEPTH = 2


def _guarded(family: str, fn: Callable[[str], list[Signal]], text: str) -> list[Signal]:
    try:
        return fn(text)
    except Exception as exc:  # noqa: BLE001 - a detector bug must not lose or block a write
        detail = f"Detector crashed ({type(exc).__name__}); the write needs a human look."
        return [Signal(family, 0.3, make_safe(str(exc))[:120], detail)]


def _scan_plain(text: str, depth: int) -> list[Signal]:
    """Pattern detectors over the de-obfuscated view, plus a bounded recursive decode step."""
    view = normalise(text)
    out: list[Signal] = []
    for family, fn in _TEXT_DETECTORS:
        out += _guarded(family, fn, view)
    if depth < MAX_DEPTH:
        out += _guarded(
            "encoded_payload",
            lambda t: encoded_payload.detect(t, lambda inner: _scan_plain(inner, depth + 1)),
            text,
        )
    return out


def scan(text: str) -> list[Signal]:
    """All content detectors on one note, most severe first."""
    if not isinstance(text, str):
        text = str(text)
    signals = _guarded("hidden_unicode", hidden_unicode.detect, text)
    signals += _scan_plain(text, 0)
    signals += _guarded("secret", secret.detect, text)
    return strongest(signals)
