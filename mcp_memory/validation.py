"""Input checks shared by every entry point: refuse early, before anything is written."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from mcp_memory import config
from mcp_memory.errors import InvalidInput

_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_C0 = re.compile(r"[\x00-\x1f\x7f]")
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp"})  # controls, bidi and zero-width, line breaks
# A tag is a word or a few: letters, digits and marks of any script, and these joiners. No
# quotes, angle brackets, ampersands, commas (tags are rendered comma-joined) or anything
# invisible, so a tag reads the same in every output and cannot pose as markup.
_TAG_PUNCT = frozenset(" _-.+#/:@")


def identity_text(value: object, limit: int | None = None) -> str:
    """An identity string (agent name, client name/version, session id) fit to store.

    These come from MCP clients (`clientInfo`, `--agent`) and are provenance, not input
    worth refusing a call over, so they are cleaned rather than rejected: NUL and the other
    C0 and C1 controls, DEL, bidi overrides, zero-width and other format characters and line
    separators are removed (PostgreSQL text cannot hold NUL at all, and an invisible
    character in a name only serves to spoof another name in the review queue or in a
    rendered fence), and an unpaired surrogate, which neither SQLite's nor PostgreSQL's
    UTF-8 can hold, becomes "?". Applied on every backend so the same client gets the same
    name everywhere. `limit` truncates after cleaning, so removed characters do not count
    against it."""
    if not isinstance(value, str):
        return ""
    text = _C0.sub("", value)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _HIDDEN)
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text if limit is None else text[:limit]


def content(text: object) -> str:
    """NFC-normalised content; the hash and duplicate check depend on one canonical form."""
    if not isinstance(text, str):
        raise InvalidInput("content must be a string")
    text = unicodedata.normalize("NFC", text.replace("\x00", "")).strip()
    if not text:
        raise InvalidInput("content is empty: nothing to remember")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > config.MAX_CONTENT_BYTES:
        raise InvalidInput(
            f"content is {size} bytes; the limit is {config.MAX_CONTENT_BYTES} bytes. "
            "Split it into smaller memories and link them."
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput("content contains unpaired surrogates; send valid UTF-8 text") from exc
    return text


def tags(values: Iterable[object] | None) -> list[str]:
    out: list[str] = []
    for value in values or []:
        if not isinstance(value, str):
            raise InvalidInput("tags must be strings")
        tag = unicodedata.normalize("NFC", value).strip().lower()
        if not tag or len(tag) > config.MAX_TAG_CHARS or not all(map(_tag_char, tag)):
            raise InvalidInput(
                f"bad tag {value[:80]!r}: tags are 1-{config.MAX_TAG_CHARS} letters, digits, "
                "spaces and _-.+#/:@"
            )
        if tag not in out:
            out.append(tag)
    if len(out) > config.MAX_TAGS:
        raise InvalidInput(f"{len(out)} tags; at most {config.MAX_TAGS} are allowed")
    return out


def _tag_char(ch: str) -> bool:
    return ch in _TAG_PUNCT or unicodedata.category(ch)[0] in "LNM"


def kind(value: object) -> str:
    value = "note" if value in (None, "") else value
    if not isinstance(value, str) or not _KIND.fullmatch(value):
        raise InvalidInput(
            f"bad kind {str(value)[:80]!r}: use a short lowercase word such as note, decision, "
            "fact, lesson, preference, todo, bug"
        )
    return value


def kinds(values: Iterable[object] | None) -> list[str]:
    return [kind(v) for v in values or []]


def project(value: object) -> str:
    if value is None:
        return ""
    if (
        not isinstance(value, str)
        or _CONTROL.search(value)
        or len(value) > config.MAX_PROJECT_CHARS
    ):
        raise InvalidInput(
            f"bad project {str(value)[:80]!r}: up to {config.MAX_PROJECT_CHARS} printable chars"
        )
    return value.strip()


def source(value: object) -> str:
    value = value or "agent"
    if value not in config.SOURCES:
        raise InvalidInput(f"bad source {value!r}: one of {', '.join(config.SOURCES)}")
    return str(value)


def relation(value: object) -> str:
    if value not in config.RELATIONS:
        raise InvalidInput(
            f"unknown relation {str(value)[:80]!r}: one of {', '.join(config.RELATIONS)}"
        )
    return str(value)


def memory_id(value: object, name: str = "id") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value > 2**63 - 1:
        raise InvalidInput(f"{name} must be a positive integer memory id, got {str(value)[:40]!r}")
    return value


def files(values: Iterable[object] | None) -> list[str]:
    out: list[str] = []
    for value in values or []:
        if not isinstance(value, str) or not value.strip() or _CONTROL.search(value):
            raise InvalidInput(f"bad file path {str(value)[:80]!r}")
        if len(value) > config.MAX_PATH_CHARS:
            raise InvalidInput(f"file path longer than {config.MAX_PATH_CHARS} characters")
        if value.strip() not in out:
            out.append(value.strip())
    if len(out) > config.MAX_FILES:
        raise InvalidInput(f"{len(out)} files; at most {config.MAX_FILES} may anchor one memory")
    return out


def query(text: object) -> str:
    if not isinstance(text, str):
        raise InvalidInput("query must be a string")
    text = text.replace("\x00", " ").strip()
    if not text:
        raise InvalidInput("query is empty: say what to recall")
    return text[: config.MAX_QUERY_CHARS]


def limit(value: object) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= config.MAX_RECALL_LIMIT
    ):
        raise InvalidInput(f"limit must be an integer from 1 to {config.MAX_RECALL_LIMIT}")
    return value
