"""Register mcp-memory in an MCP client's own config file, without harming what is there.

This module knows the clients (where each keeps its config, what our entry looks like)
and plans, checks and writes the change; client_config does the comment-preserving text
edits. Every edit is re-parsed and compared with the intended document before anything
is written, and the old file is backed up.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from mcp_memory.client_config import (
    PARSE_ERRORS,
    Format,
    InstallError,
    edit_json,
    edit_toml,
    parse,
)
from mcp_memory.client_token import TOKEN_ENV, entry_token

__all__ = [
    "CLIENTS",
    "SERVER_NAME",
    "Client",
    "InstallError",
    "Plan",
    "Scope",
    "UnknownClient",
    "apply",
    "backup_path",
    "client",
    "config_path",
    "parse",
    "permissions_plan",
    "plan",
    "server_command",
    "server_entry",
]

Scope = Literal["project", "user"]
SERVER_NAME = "mcp-memory"
PASS_THROUGH_ENV = ("MCP_MEMORY_DB", "MCP_MEMORY_MODEL_DIR")


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
    # Where the client keeps rules that make its agent ask before running a shell command
    # (Claude Code's permissions.ask), for project and user scope; None: no such file.
    permissions: Callable[[Scope, Path], Path] | None = None
    # An HTTP entry (`install --url`): the keys it adds, what the URL and headers are called;
    # http=None: the client takes remote servers only through its own UI.
    http: dict[str, Any] | None = field(default_factory=dict)
    url_key: str = "url"
    headers_key: str = "headers"

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
            http={"type": "http"},
            docs="https://docs.claude.com/en/docs/claude-code/mcp",
            permissions=lambda scope, p: (
                (p if scope == "project" else home()) / ".claude" / "settings.json"
            ),
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
            http={"type": "http"},
            docs="https://code.visualstudio.com/docs/copilot/reference/mcp-configuration",
        ),
        Client(
            "codex",
            "mcp_servers",
            "toml",
            project=lambda p: p / ".codex" / "config.toml",
            user=lambda: _codex_home() / "config.toml",
            prefer_user=True,  # Codex reads .codex/config.toml only in projects marked trusted
            headers_key="http_headers",  # Codex ignores `headers` on a url server
            docs="https://github.com/openai/codex/blob/main/docs/config.md",
        ),
        Client(
            "windsurf",
            "mcpServers",
            user=lambda: home() / ".codeium" / "windsurf" / "mcp_config.json",
            url_key="serverUrl",
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
            http=None,  # remote servers are added as Connectors in the app
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
            http={"type": "streamableHttp", "disabled": False},
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
    c: Client,
    command: list[str] | None = None,
    environ: dict[str, str] | None = None,
    token: str | None = None,
    model_dir: Path | None = None,
) -> dict[str, Any]:
    """MCP_MEMORY_AGENT names the client so trust is tracked per client; a DB or model dir set
    where install runs is passed on so every client shares the store the CLI reviews; the
    token (MCP_MEMORY_TOKEN) is what proves the name to the server. `model_dir` (install
    --model-dir) names the model folder outright: the way to give a client's server a model
    on a machine that cannot download one."""
    command = command or server_command()
    environ = os.environ if environ is None else environ
    env = {"MCP_MEMORY_AGENT": c.name}
    env.update({k: environ[k] for k in PASS_THROUGH_ENV if environ.get(k)})
    if model_dir is not None:
        env["MCP_MEMORY_MODEL_DIR"] = str(model_dir)
    if token:
        env[TOKEN_ENV] = token
    return {**c.extra, "command": command[0], "args": command[1:], "env": env}


_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def http_entry(c: Client, url: str, token: str | None) -> dict[str, Any]:
    """An entry for `serve --transport http` at `url`, the token in its Authorization header.
    Plain http only to this machine: anywhere else the token would cross the network in clear."""
    if c.http is None:
        raise InstallError(
            f"{c.name} adds remote servers in its own settings; install without --url"
        )
    parts = urlsplit(url)
    local = parts.scheme == "http" and parts.hostname in _LOOPBACK
    if not parts.netloc or not (parts.scheme == "https" or local):
        raise InstallError(
            f"--url must be https://HOST/mcp (http:// only for localhost), not {url!r}"
        )
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return {**c.http, c.url_key: url, **({c.headers_key: headers} if headers else {})}


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
    except PARSE_ERRORS as exc:
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
    token_for: Callable[[str | None], str] | None = None,
    url: str | None = None,
    model_dir: Path | None = None,
) -> Plan:
    """Compute the new file text; nothing is written. Raises InstallError if it is unsafe.

    token_for (a client_token.TokenIssuer) gets the token the current entry holds, if any,
    and returns the one to write; without it the entry carries no token. With `url` the
    entry points at an HTTP server instead of starting `mcp-memory serve`; `model_dir` puts
    MCP_MEMORY_MODEL_DIR in the entry (a folder holding model.onnx)."""
    c = client(client_name)
    if url is not None:
        http_entry(c, url, None)  # refuse a bad URL before a token is made for it
    model_dir = _model_folder(model_dir, url)
    path = config_path(c, scope or c.default_scope, project_dir or Path.cwd())
    old = _read(path)
    doc = _parsed(old or "", c.fmt, path)
    section = doc.get(c.section, {})
    if not isinstance(section, dict):
        raise InstallError(f"{path}: {c.section!r} is not a table/object; nothing was changed")
    if entry is None:
        token = token_for(entry_token(section.get(name))) if token_for else None
        entry = (
            http_entry(c, url, token)
            if url is not None
            else server_entry(c, token=token, model_dir=model_dir)
        )
    if section.get(name) == entry:
        return Plan(c.name, path, name, entry, old, old or "")
    new = (edit_toml if c.fmt == "toml" else edit_json)(old or "", c.section, name, entry)
    _verify(new, c, doc, name, entry, path)
    return Plan(c.name, path, name, entry, old, new)


def _model_folder(model_dir: Path | None, url: str | None) -> Path | None:
    """An absolute folder with the model in it: the client starts the server from anywhere."""
    if model_dir is None:
        return None
    if url is not None:
        raise InstallError(
            "--model-dir is for a server the client starts; an HTTP server (--url) takes "
            "MCP_MEMORY_MODEL_DIR from its own environment"
        )
    folder = Path(model_dir).expanduser().resolve()
    if not (folder / "model.onnx").is_file():
        raise InstallError(f"--model-dir {model_dir}: no model.onnx in {folder}")
    return folder


def _verify(
    new: str, c: Client, doc: dict[str, Any], name: str, entry: dict[str, Any], path: Path
) -> None:
    """The edit must change exactly our entry; anything else means the text edit misfired."""
    expected = {**doc, c.section: {**doc.get(c.section, {}), name: entry}}
    try:
        ok = parse(new, c.fmt) == expected
    except PARSE_ERRORS:
        ok = False
    if not ok:
        raise InstallError(
            f"could not safely edit {path}; add the {name!r} entry by hand "
            "(see `mcp-memory install --dry-run`)"
        )


# The human's commands (see cli/_common.confirm_or_yes): an agent running them through its
# shell tool must make the client ask the human first, on top of the CLI's own --yes rule.
ASK_COMMANDS = (
    "quarantine approve",
    "quarantine reject",
    "agents trust",
    "agents distrust",
    "agents token create",
    "agents token revoke",
    "erase",
    "import",
    "install",
)
ASK_RULES = tuple(f"Bash(mcp-memory {command}:*)" for command in ASK_COMMANDS) + (
    "Bash(python -m mcp_memory:*)",
    "Bash(python3 -m mcp_memory:*)",
)


def permissions_plan(
    client_name: str, scope: Scope | None = None, *, project_dir: Path | None = None
) -> Plan | None:
    """Add ASK_RULES to the client's `permissions.ask` (Claude Code settings.json), keeping
    every rule and setting already there; None for a client without such a file."""
    c = client(client_name)
    if c.permissions is None:
        return None
    path = c.permissions(scope or c.default_scope, project_dir or Path.cwd())
    old = _read(path)
    doc = _parsed(old or "", "json", path)
    perms = doc.get("permissions", {})
    ask = perms.get("ask", []) if isinstance(perms, dict) else None
    if not isinstance(ask, list):
        raise InstallError(f"{path}: 'permissions.ask' is not a list; nothing was changed")
    merged = ask + [rule for rule in ASK_RULES if rule not in ask]
    if merged == ask:
        return Plan(c.name, path, "permissions.ask", {"ask": ask}, old, old or "")
    new = edit_json(old or "", "permissions", "ask", merged)  # type: ignore[arg-type]
    try:
        ok = parse(new, "json") == {**doc, "permissions": {**perms, "ask": merged}}
    except PARSE_ERRORS:
        ok = False
    if not ok:
        raise InstallError(f"could not safely edit {path}; add {list(ASK_RULES)} by hand")
    return Plan(c.name, path, "permissions.ask", {"ask": merged}, old, new)


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
    else:  # a new config holds the client's token: only its owner may read it
        tmp.chmod(0o600)
    os.replace(tmp, target)
    return backup
