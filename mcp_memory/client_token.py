"""The token `mcp-memory install CLIENT` writes into a client's config, so the client proves
which agent it is on every transport (issue 16).

Re-running install must not pile up tokens, and must not break a client that already works:

- The token already in the entry is kept when it is still active and belongs to the same
  agent: installing twice changes nothing, and a client running with it keeps working.
- Otherwise (first install, a revoked or foreign token, a hand-edited entry) a new token is
  issued, and the tokens earlier installs wrote into *this same file and entry* (they carry
  the same note) are revoked once the new file is written. Tokens the human made by hand, or
  that another config file holds (the user-scope config, another project), are left alone:
  revoking them would silently cut off a client that still uses them.
- A dry run never creates a token: it shows a placeholder where the new one would go.

So rotating a client's token is `mcp-memory agents token revoke --agent CLIENT --yes`
followed by `mcp-memory install CLIENT`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp_memory.errors import MemoryStoreError

if TYPE_CHECKING:  # install's help needs the client list, not the storage stack
    from mcp_memory.tokens import NewToken, TokenInfo, TokenStore

TOKEN_ENV = "MCP_MEMORY_TOKEN"
PENDING_TOKEN = "mcpm_<a new token is created when you run install without --dry-run>"


def entry_token(entry: object) -> str | None:
    """The token an earlier install wrote into an entry: the stdio `env` or an HTTP
    `Authorization: Bearer` header (under `headers` or Codex's `http_headers`)."""
    if not isinstance(entry, dict):
        return None
    env = entry.get("env")
    if isinstance(env, dict) and isinstance(env.get(TOKEN_ENV), str):
        return str(env[TOKEN_ENV])
    for key in ("headers", "http_headers"):
        headers = entry.get(key)
        value = headers.get("Authorization") if isinstance(headers, dict) else None
        if isinstance(value, str) and value.lower().startswith("bearer "):
            return value[7:].strip()
    return None


def install_note(client: str, name: str, path: Path) -> str:
    """Marks the tokens one config entry received, so a re-install finds and replaces them."""
    from mcp_memory.tokens import MAX_NOTE_CHARS

    text = f"mcp-memory install {client}: entry {name!r} in {path}"
    clean = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf"))
    return clean[:MAX_NOTE_CHARS]


def open_tokens(db: str | Path, *, create: bool) -> TokenStore | None:
    """The token table of the database the client will use. Without `create` (a dry run), a
    SQLite file that does not exist yet stays that way: there is no token in it to keep."""
    if isinstance(db, Path) and not create and not db.exists():
        return None
    from mcp_memory.tokens import TokenStore

    return TokenStore.open(db)


@dataclass
class TokenIssuer:
    """Decides the token one install writes; see the module docstring for the policy.

    Called by `install.plan` with the token found in the current entry (or None). After the
    file is written call `commit()` (revokes the tokens it replaces); if writing failed,
    `rollback()` (revokes the token it created, so no unused credential is left behind).
    """

    tokens: TokenStore | None
    agent: str
    note: str
    dry_run: bool = False
    interactive: bool = True
    created: NewToken | None = None
    kept: bool = False
    replaced: list[TokenInfo] = field(default_factory=list)

    def __call__(self, current: str | None) -> str:
        if current and self._still_good(current):
            self.kept = True
            return current
        if self.dry_run or self.tokens is None:
            return PENDING_TOKEN
        active = self.tokens.list_tokens(agent=self.agent, active_only=True)
        self.replaced = [t for t in active if t.note == self.note]
        self.created = self.tokens.create(self.agent, note=self.note, interactive=self.interactive)
        return self.created.secret

    def _still_good(self, current: str) -> bool:
        if self.tokens is None:
            return False
        try:
            info = self.tokens.find(current)
        except MemoryStoreError:  # malformed, unknown, or not a token at all
            return False
        return info.active and info.agent == self.agent and len(current) > len(info.prefix)

    def commit(self) -> list[TokenInfo]:
        """Revoke the tokens the new one replaces; returns them."""
        if self.tokens is None or self.created is None:
            return []
        for old in self.replaced:
            self.tokens.revoke(str(old.id), interactive=self.interactive)
        return self.replaced

    def rollback(self) -> None:
        if self.tokens is not None and self.created is not None:
            self.tokens.revoke(str(self.created.info.id), interactive=self.interactive)
            self.created = None

    def close(self) -> None:
        if self.tokens is not None:
            self.tokens.close()

    def summary(self) -> dict[str, Any]:
        """What happened to tokens, for the CLI's report (never the secret)."""
        made = self.created.info if self.created else None
        return {
            "agent": self.agent,
            "kept": self.kept,
            "created": None if made is None else {"id": made.id, "prefix": made.prefix},
            "revoked": [{"id": t.id, "prefix": t.prefix} for t in self.replaced if made],
        }
