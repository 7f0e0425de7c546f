"""An MCP client's config file (not ours, that is config.py): parse it, set one server entry.

Edits are textual where the format allows comments (JSONC, TOML), so a user's comments,
layout and other servers survive; install.plan re-parses every edit before writing it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from json.decoder import scanstring
from typing import Any, Literal

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 needs the backport
    import tomli as tomllib

Format = Literal["json", "jsonc", "toml"]
PARSE_ERRORS = (ValueError, tomllib.TOMLDecodeError)  # what parse() raises on a broken file


class InstallError(Exception):
    """The config cannot be changed safely (unparseable, unexpected shape, unsupported scope)."""


def parse(text: str, fmt: Format) -> dict[str, Any]:
    return tomllib.loads(text) if fmt == "toml" else parse_json(text, fmt)


# ---- JSON / JSONC ------------------------------------------------------------------------


def blank_comments(text: str) -> str:
    """Comments and trailing commas become spaces, so offsets still match the original."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            i = scanstring(text, i + 1)[1]
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise ValueError("unterminated /* comment")
            end += 2
        elif ch == ",":
            j = _skip_ws_comments(text, i + 1)
            end = i + 1 if j < n and text[j] in "}]" else i
        else:
            end = i
        if end > i:
            out[i:end] = [c if c == "\n" else " " for c in text[i:end]]
            i = end
        else:
            i += 1
    return "".join(out)


def _skip_ws_comments(text: str, i: int) -> int:
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text.startswith("//", i):
            nl = text.find("\n", i)
            i = len(text) if nl < 0 else nl
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
        else:
            return i
    return i


def parse_json(text: str, fmt: Format) -> dict[str, Any]:
    source = blank_comments(text) if fmt == "jsonc" else text
    if not source.strip():
        return {}
    doc = json.loads(source)
    if not isinstance(doc, dict):
        raise ValueError("the top level is not an object")
    return doc


@dataclass(frozen=True)
class Member:
    key: str
    value_start: int
    value_end: int


def _members(s: str, brace: int) -> list[Member]:
    """Top-level members of the object whose '{' is at s[brace] (s has no comments)."""
    decoder, found = json.JSONDecoder(), []
    i = _skip(s, brace + 1)
    while s[i] != "}":
        key, i = scanstring(s, i + 1)
        start = _skip(s, _skip(s, i) + 1)
        end = decoder.raw_decode(s, start)[1]
        found.append(Member(key, start, end))
        i = _skip(s, end)
        if s[i] == ",":
            i = _skip(s, i + 1)
    return found


def _skip(s: str, i: int) -> int:
    while s[i].isspace():
        i += 1
    return i


def _indented(value: Any, depth: int) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + "  " * depth)


def _insert_member(
    text: str, s: str, brace: int, has_members: bool, key: str, value: Any, depth: int
) -> str:
    """Insert as the object's first member; s is text with comments blanked (same offsets)."""
    member = f"\n{'  ' * depth}{json.dumps(key)}: {_indented(value, depth)}"
    if has_members:
        return text[: brace + 1] + member + "," + text[brace + 1 :]
    close = s.index("}", brace)
    if text[brace + 1 : close].strip():  # keep a comment that sits in the empty object
        return text[: brace + 1] + member + text[brace + 1 :]
    return text[: brace + 1] + member + "\n" + "  " * (depth - 1) + text[close:]


def edit_json(text: str, section: str, name: str, entry: dict[str, Any]) -> str:
    """Set root[section][name] = entry by editing text in place (keeps comments and layout)."""
    if not text.strip():
        return json.dumps({section: {name: entry}}, indent=2, ensure_ascii=False) + "\n"
    s = blank_comments(text)
    root = _skip(s, 0)
    top = {m.key: m for m in _members(s, root)}
    if section not in top:
        return _insert_member(text, s, root, bool(top), section, {name: entry}, 1)
    sec = top[section]
    if s[sec.value_start] != "{":
        raise InstallError(f"{section!r} is not an object")
    inner = {m.key: m for m in _members(s, sec.value_start)}
    if name in inner:
        m = inner[name]
        return text[: m.value_start] + _indented(entry, 2) + text[m.value_end :]
    return _insert_member(text, s, sec.value_start, bool(inner), name, entry, 2)


# ---- TOML --------------------------------------------------------------------------------


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_key(key: str) -> str:
    bare = key and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in key)
    return key if bare else _toml_str(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return _toml_str(str(value))


def toml_block(section: str, name: str, entry: dict[str, Any]) -> str:
    """Our entry as TOML: its plain keys, then each table (env, http_headers) of its own."""
    head = f"{_toml_key(section)}.{_toml_key(name)}"
    plain = [
        f"{_toml_key(k)} = {_toml_value(v)}" for k, v in entry.items() if not isinstance(v, dict)
    ]
    out = f"[{head}]\n" + "".join(line + "\n" for line in plain)
    for key, table in entry.items():
        if isinstance(table, dict):
            rows = "".join(f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in table.items())
            out += f"\n[{head}.{_toml_key(key)}]\n{rows}"
    return out


def _drop_table(text: str, section: str, name: str) -> str:
    """Remove our own [section.name] table and its sub-tables (written by an earlier install)."""
    heads = {f"{_toml_key(section)}.{_toml_key(name)}", f'{section}."{name}"'}
    kept, skipping = [], False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("["):
            header = stripped.strip("[]").split("]")[0].strip()
            skipping = any(header == h or header.startswith(h + ".") for h in heads)
        if not skipping:
            kept.append(line)
    return "".join(kept)


def edit_toml(text: str, section: str, name: str, entry: dict[str, Any]) -> str:
    body = _drop_table(text, section, name).rstrip("\n")
    return (body + "\n\n" if body else "") + toml_block(section, name, entry)
