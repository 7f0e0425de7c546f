"""Register mcp-memory in an MCP client's own config file, without harming what is there.

Edits are textual where the format allows comments (JSONC, TOML), so a user's
comments and other servers survive; every edit is re-parsed and compared with
the intended document before anything is written, and the old file is backed up.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from json.decoder import scanstring
from pathlib import Path
from typing import Any, Literal

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 needs the backport
    import tomli as tomllib

Scope = Literal["project", "user"]
Format = Literal["json", "jsonc", "toml"]
SERVER_NAME = "mcp-memory"
PASS_THROUGH_ENV = ("MCP_MEMORY_DB", "MCP_MEMORY_MODEL_DIR")


class InstallError(Exception):
    """The config cannot be changed safely (unparseable, unexpected shape, unsupported scope)."""


class UnknownClient(InstallError):
    pass


# ---- where each client keeps its config ------------------------------------------------


def home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def config_home() -> Path:
    """The per-user settings folder desktop apps use on this OS (XDG on Linux)."""
    if sys.platform == "darwin":
        return home() / "Library" / "Application Support"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or home() / "AppData" / "Roaming")
    return Path(os.environ.get("XDG_CONFIG_HOME") or home() / ".config")


def _codex_home() -> Path:
    return Path(os.environ.get("CODEX_HOME") or home() / ".codex")


def _zed_user() -> Path:
    """Zed reads ~/.config/zed on macOS too; only Windows differs."""
    if sys.platform == "win32":
        return config_home() / "Zed" / "settings.json"
    return Path(os.environ.get("XDG_CONFIG_HOME") or home() / ".config") / "zed" / "settings.json"


PathFor = Callable[[Path], Path]


@dataclass(frozen=True)
class Client:
    name: str
    section: str
    fmt: Format = "json"
    project: PathFor | None = None
    user: Callable[[], Path] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    docs: str = ""
    prefer_user: bool = False

    @property
    def default_scope(self) -> Scope:
        return "project" if self.project is not None and not self.prefer_user else "user"


CLIENTS: dict[str, Client] = {
    c.name: c
    for c in (
        Client(
            "claude-code",
            "mcpServers",
            project=lambda p: p / ".mcp.json",
            user=lambda: home() / ".claude.json",
            extra={"type": "stdio"},
            docs="https://docs.claude.com/en/docs/claude-code/mcp",
        ),
        Client(
            "cursor",
            "mcpServers",
            project=lambda p: p / ".cursor" / "mcp.json",
            user=lambda: home() / ".cursor" / "mcp.json",
            docs="https://docs.cursor.com/context/model-context-protocol",
        ),
        Client(
            "vscode",
            "servers",
            "jsonc",
            project=lambda p: p / ".vscode" / "mcp.json",
            user=lambda: config_home() / "Code" / "User" / "mcp.json",
            extra={"type": "stdio"},
            docs="https://code.visualstudio.com/docs/copilot/reference/mcp-configuration",
        ),
        Client(
            "codex",
            "mcp_servers",
            "toml",
            project=lambda p: p / ".codex" / "config.toml",
            user=lambda: _codex_home() / "config.toml",
            prefer_user=True,  # Codex reads .codex/config.toml only in projects marked trusted
            docs="https://github.com/openai/codex/blob/main/docs/config.md",
        ),
        Client(
            "windsurf",
            "mcpServers",
            user=lambda: home() / ".codeium" / "windsurf" / "mcp_config.json",
            docs="https://docs.windsurf.com/windsurf/cascade/mcp",
        ),
        Client(
            "zed",
            "context_servers",
            "jsonc",
            project=lambda p: p / ".zed" / "settings.json",
            user=_zed_user,
            docs="https://zed.dev/docs/ai/mcp",
        ),
        Client(
            "claude-desktop",
            "mcpServers",
            user=lambda: config_home() / "Claude" / "claude_desktop_config.json",
            docs="https://modelcontextprotocol.io/quickstart/user",
        ),
        Client(
            "cline",
            "mcpServers",
            user=lambda: (
                config_home()
                / "Code"
                / "User"
                / "globalStorage"
                / "saoudrizwan.claude-dev"
                / "settings"
                / "cline_mcp_settings.json"
            ),
            extra={"disabled": False},
            docs="https://docs.cline.bot/mcp/configuring-mcp-servers",
        ),
    )
}


def client(name: str) -> Client:
    try:
        return CLIENTS[name]
    except KeyError:
        raise UnknownClient(f"unknown client {name!r}; supported: {', '.join(CLIENTS)}") from None


def config_path(c: Client, scope: Scope, project_dir: Path) -> Path:
    locate = c.project if scope == "project" else c.user
    if locate is None:
        raise InstallError(
            f"{c.name} has no {scope}-scope config; use --scope "
            f"{'user' if scope == 'project' else 'project'}"
        )
    return locate(project_dir) if scope == "project" else locate()  # type: ignore[call-arg]


# ---- the entry we write ------------------------------------------------------------------


def server_command() -> list[str]:
    """An absolute path: GUI clients do not inherit the shell's PATH or virtualenv."""
    exe = shutil.which("mcp-memory")
    if exe:
        return [str(Path(exe).absolute()), "serve"]
    return [sys.executable, "-m", "mcp_memory", "serve"]


def server_entry(
    c: Client, command: list[str] | None = None, environ: dict[str, str] | None = None
) -> dict[str, Any]:
    """MCP_MEMORY_AGENT names the client so trust is tracked per client; a DB or model dir set
    where install runs is passed on so every client shares the store the CLI reviews."""
    command = command or server_command()
    environ = os.environ if environ is None else environ
    env = {"MCP_MEMORY_AGENT": c.name}
    env.update({k: environ[k] for k in PASS_THROUGH_ENV if environ.get(k)})
    return {**c.extra, "command": command[0], "args": command[1:], "env": env}


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


def toml_block(section: str, name: str, entry: dict[str, Any]) -> str:
    head = f"{_toml_key(section)}.{_toml_key(name)}"
    args = ", ".join(_toml_str(a) for a in entry["args"])
    env = "\n".join(f"{_toml_key(k)} = {_toml_str(v)}" for k, v in entry["env"].items())
    return (
        f"[{head}]\ncommand = {_toml_str(entry['command'])}\nargs = [{args}]\n\n"
        f"[{head}.env]\n{env}\n"
    )


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


# ---- plan, check, write --------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    client: str
    path: Path
    name: str
    entry: dict[str, Any]
    old_text: str | None
    new_text: str

    @property
    def changed(self) -> bool:
        return self.old_text != self.new_text


def parse(text: str, fmt: Format) -> dict[str, Any]:
    return tomllib.loads(text) if fmt == "toml" else parse_json(text, fmt)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InstallError(f"cannot read {path}: {exc}") from exc


def _parsed(text: str, fmt: Format, path: Path) -> dict[str, Any]:
    try:
        return parse(text, fmt)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise InstallError(
            f"{path} is not valid {fmt.upper()} ({exc}); fix it or move it "
            "aside, nothing was changed"
        ) from exc


def plan(
    client_name: str,
    scope: Scope | None = None,
    *,
    project_dir: Path | None = None,
    name: str = SERVER_NAME,
    entry: dict[str, Any] | None = None,
) -> Plan:
    """Compute the new file text; nothing is written. Raises InstallError if it is unsafe."""
    c = client(client_name)
    path = config_path(c, scope or c.default_scope, project_dir or Path.cwd())
    entry = entry or server_entry(c)
    old = _read(path)
    doc = _parsed(old or "", c.fmt, path)
    section = doc.get(c.section, {})
    if not isinstance(section, dict):
        raise InstallError(f"{path}: {c.section!r} is not a table/object; nothing was changed")
    if section.get(name) == entry:
        return Plan(c.name, path, name, entry, old, old or "")
    new = (edit_toml if c.fmt == "toml" else edit_json)(old or "", c.section, name, entry)
    _verify(new, c, doc, name, entry, path)
    return Plan(c.name, path, name, entry, old, new)


def _verify(
    new: str, c: Client, doc: dict[str, Any], name: str, entry: dict[str, Any], path: Path
) -> None:
    """The edit must change exactly our entry; anything else means the text edit misfired."""
    expected = {**doc, c.section: {**doc.get(c.section, {}), name: entry}}
    try:
        ok = parse(new, c.fmt) == expected
    except (ValueError, tomllib.TOMLDecodeError):
        ok = False
    if not ok:
        raise InstallError(
            f"could not safely edit {path}; add the {name!r} entry by hand "
            "(see `mcp-memory install --dry-run`)"
        )


def backup_path(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate, n = path.with_name(f"{path.name}.{stamp}.bak"), 1
    while candidate.exists():
        candidate, n = path.with_name(f"{path.name}.{stamp}-{n}.bak"), n + 1
    return candidate


def apply(p: Plan) -> Path | None:
    """Write the plan atomically, keeping the old file's mode. Returns the backup, if any."""
    if not p.changed:
        return None
    p.path.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    if p.old_text is not None:
        backup = backup_path(p.path)
        shutil.copy2(p.path, backup)
    target = p.path.resolve()  # a symlinked dotfile stays a symlink: write where it points
    tmp = target.with_name(target.name + ".mcp-memory.tmp")
    tmp.write_text(p.new_text, encoding="utf-8")
    if backup is not None:
        shutil.copymode(backup, tmp)
    os.replace(tmp, target)
    return backup
