"""Bearer tokens for the HTTP server: each names one agent, is shown once, and is kept as a hash.

The token *is* the agent's identity on an authenticated server: whoever presents it writes
as its agent, whatever their client calls itself. So the database must never hold anything
that can be replayed: only a SHA-256 of the token is stored, next to a short display prefix
(``mcpm_`` plus 8 characters) that lets a human match a token seen in a config file or a log
to a row in `agents token list` without the row being usable as a credential.

Why SHA-256 rather than a password hash (bcrypt, scrypt, argon2): these tokens are 256 bits
from `secrets`, not something a person chose, so there is no dictionary to slow down; a
deliberately slow hash would only add its cost to every HTTP request. Lookup is by the
hash (an index), so no stored secret is ever compared byte by byte with attacker input; the
final `hmac.compare_digest` is belt and braces.

Why every request reads the database instead of a cache: revocation has to take effect on
the next request, including on a server that is already running in another process. The
read is one indexed row (microseconds), so a cache would buy nothing worth a window in
which a revoked token still works. `last_used_at` is the one thing written on the request
path, and only when the stored value is more than `LAST_USED_EVERY_S` old, so a busy client
does not turn every request into a write.

Creating and revoking are the human's acts (the CLI, agent ``user``); both are written to the
hash-chained audit log in the same transaction as the change.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mcp_memory import audit
from mcp_memory.config import UNVERIFIED_PREFIX, USER_AGENT
from mcp_memory.errors import InvalidInput, InvalidToken, NotFound, StorageError
from mcp_memory.storage import Backend, backend_of, open_backend
from mcp_memory.storage import driver as db

TOKEN_PREFIX = "mcpm_"
TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 43 characters, 256 bits
DISPLAY_CHARS = 8  # characters after TOKEN_PREFIX shown in listings
MAX_TOKEN_CHARS = 256  # anything longer is not one of ours; refuse before hashing
MAX_AGENT_CHARS = 128  # same cap the server puts on clientInfo names
MAX_NOTE_CHARS = 500
MIN_REF_CHARS = len(TOKEN_PREFIX) + 4  # shortest prefix `revoke` accepts
LAST_USED_EVERY_S = 60.0
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_\-]+$")
_DISPLAY = len(TOKEN_PREFIX) + DISPLAY_CHARS
_COLUMNS = "id, agent, prefix, note, created_at, created_by, last_used_at, revoked_at, revoked_by"


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat("T", "seconds")


@dataclass(frozen=True)
class TokenInfo:
    """One token as anyone may see it: never the secret, never the hash."""

    id: int
    agent: str
    prefix: str
    note: str
    created_at: float
    created_by: str
    last_used_at: float | None
    revoked_at: float | None
    revoked_by: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["active"] = self.active
        for key in ("created_at", "last_used_at", "revoked_at"):
            out[key] = _iso(out[key])
        return out


@dataclass(frozen=True)
class NewToken:
    """What `create` returns: the only time the secret exists outside the client's config."""

    info: TokenInfo
    secret: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.info.to_dict(), "token": self.secret}


def token_hash(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def generate_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def check_agent_name(name: object) -> str:
    """Names a human types for a token: printable, no surrounding blanks, at most 128 chars."""
    if not isinstance(name, str):
        raise InvalidInput("agent name must be a string")
    if not name or not name.strip():
        raise InvalidInput(
            "agent name is empty: name the agent this token is for, e.g. alice-laptop"
        )
    if len(name) > MAX_AGENT_CHARS:
        raise InvalidInput(f"agent name is {len(name)} characters; at most {MAX_AGENT_CHARS}")
    if name != name.strip():
        raise InvalidInput(f"agent name {name[:80]!r} starts or ends with blanks")
    if any(unicodedata.category(c).startswith(("C", "Z")) and c != " " for c in name):
        raise InvalidInput(
            f"agent name {name[:80]!r} contains control, format or unusual space characters"
        )
    name = unicodedata.normalize("NFC", name)
    if name.casefold().startswith(UNVERIFIED_PREFIX):  # the mark of callers without a token
        raise InvalidInput(
            f"agent name {name[:80]!r} starts with {UNVERIFIED_PREFIX!r}, the mark of callers "
            "without a token: choose another name"
        )
    return name


def check_note(note: object) -> str:
    if note is None:
        return ""
    if not isinstance(note, str):
        raise InvalidInput("note must be a string")
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(f"note is {len(note)} characters; at most {MAX_NOTE_CHARS}")
    if any(unicodedata.category(c) in ("Cc", "Cf") and c not in "\t" for c in note):
        raise InvalidInput("note contains control or invisible formatting characters")
    return note.strip()


def check_secret(secret: object) -> str:
    """Shape check before any lookup: what cannot be one of our tokens is refused as such."""
    if not isinstance(secret, str) or not secret:
        raise InvalidToken("empty bearer token", code="invalid_request")
    if len(secret) > MAX_TOKEN_CHARS or not _TOKEN_CHARS.match(secret):
        raise InvalidToken("malformed bearer token", code="invalid_request")
    if not secret.startswith(TOKEN_PREFIX):
        raise InvalidToken(f"not an mcp-memory token (they start with {TOKEN_PREFIX})")
    return secret


def parse_authorization(value: str | bytes | None) -> str | None:
    """The token in an `Authorization` header value; None when there is no header at all.

    Raises InvalidToken for a header that is present but not `Bearer <token>`.
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    scheme, _, rest = value.strip().partition(" ")
    if not scheme:
        raise InvalidToken("empty Authorization header", code="invalid_request")
    if scheme.lower() != "bearer":
        raise InvalidToken(
            "unsupported authorization scheme: send `Authorization: Bearer <token>`",
            code="invalid_request",
        )
    secret = rest.strip(" \t")
    if not secret:
        raise InvalidToken("Authorization: Bearer without a token", code="invalid_request")
    return check_secret(secret)


class TokenStore:
    """Token rows over one connection; safe to share between threads (one lock)."""

    def __init__(
        self,
        conn: db.Connection,
        lock: threading.RLock | None = None,
        *,
        backend: Backend | None = None,
    ) -> None:
        self.backend = backend if backend is not None else backend_of(conn)
        self.conn = conn
        self.lock = lock or threading.RLock()
        self._touch_tried: dict[int, float] = {}  # token id -> when this process last tried

    @classmethod
    def open(cls, path: str | Path) -> TokenStore:
        backend = open_backend(path)
        backend.migrate()
        return cls(backend.conn, backend=backend)

    def close(self) -> None:
        with self.lock:
            self.backend.close()

    def _row(self, row: Any) -> TokenInfo:
        return TokenInfo(
            id=row["id"],
            agent=row["agent"],
            prefix=row["prefix"],
            note=row["note"],
            created_at=row["created_at"],
            created_by=row["created_by"],
            last_used_at=row["last_used_at"],
            revoked_at=row["revoked_at"],
            revoked_by=row["revoked_by"],
        )

    # ---- the human's side ------------------------------------------------------------------

    def create(
        self,
        agent: str,
        *,
        note: str | None = None,
        actor: str = USER_AGENT,
        interactive: bool = True,
    ) -> NewToken:
        """Issue a token for `agent`. The returned secret is not stored anywhere.
        `interactive`: a person confirmed it at a terminal (recorded in the audit entry)."""
        agent = check_agent_name(agent)
        note = check_note(note)
        secret = generate_secret()
        now = time.time()
        with self.backend.write_transaction(self.lock) as conn:
            # `returning id`, not cursor.lastrowid: the same statement works on PostgreSQL.
            token_id = int(
                conn.execute(
                    "insert into agent_tokens(agent, prefix, token_hash, note, created_at, "
                    "created_by) values (?, ?, ?, ?, ?, ?) returning id",
                    (agent, secret[:_DISPLAY], token_hash(secret), note, now, actor),
                ).fetchall()[0][0]
            )
            audit.append(
                conn,
                actor=actor,
                action="token_create",
                data={
                    "token_id": token_id,
                    "agent": agent,
                    "prefix": secret[:_DISPLAY],
                    "interactive": interactive,
                },
            )
            row = conn.execute(
                f"select {_COLUMNS} from agent_tokens where id = ?", (token_id,)
            ).fetchone()
        return NewToken(self._row(row), secret)

    def list_tokens(
        self, *, agent: str | None = None, active_only: bool = False
    ) -> list[TokenInfo]:
        sql = f"select {_COLUMNS} from agent_tokens"
        clauses, params = [], []
        if agent is not None:
            clauses.append("agent = ?")
            params.append(check_agent_name(agent))
        if active_only:
            clauses.append("revoked_at is null")
        if clauses:
            sql += " where " + " and ".join(clauses)
        with self.lock:
            rows = self.conn.execute(sql + " order by id", params).fetchall()
        return [self._row(r) for r in rows]

    def active_count(self) -> int:
        with self.lock:
            row = self.conn.execute(
                "select count(*) from agent_tokens where revoked_at is null"
            ).fetchone()
        return int(row[0])

    def find(self, ref: str) -> TokenInfo:
        """A token by id (`3`), display prefix (`mcpm_Ab12`, at least 4 characters after
        `mcpm_`) or the full token someone found lying around."""
        if not isinstance(ref, str) or not ref.strip():
            raise InvalidInput("name a token: its id or prefix, as in `agents token list`")
        ref = ref.strip()
        if len(ref) > MAX_TOKEN_CHARS or not _TOKEN_CHARS.match(ref.lstrip("#")):
            raise InvalidInput(f"{ref[:40]!r} is not a token id or prefix")
        ref = ref.lstrip("#")
        with self.lock:
            if ref.isdigit():
                row = self.conn.execute(
                    f"select {_COLUMNS} from agent_tokens where id = ?", (int(ref),)
                ).fetchone()
                if row is None:
                    raise NotFound(f"no token with id {ref}")
                return self._row(row)
            if not ref.startswith(TOKEN_PREFIX):
                raise InvalidInput(
                    f"{ref[:40]!r} is not a token id or prefix (prefixes start with {TOKEN_PREFIX})"
                )
            if len(ref) > _DISPLAY:  # longer than any prefix: the whole token
                row = self.conn.execute(
                    f"select {_COLUMNS} from agent_tokens where token_hash = ?", (token_hash(ref),)
                ).fetchone()
                if row is None:
                    raise NotFound("no token matches that value")
                return self._row(row)
            if len(ref) < MIN_REF_CHARS:
                raise InvalidInput(
                    f"prefix {ref!r} is too short: give at least {MIN_REF_CHARS} characters"
                )
            rows = self.conn.execute(
                f"select {_COLUMNS} from agent_tokens where substr(prefix, 1, ?) = ? order by id",
                (len(ref), ref),
            ).fetchall()
        if not rows:
            raise NotFound(f"no token with prefix {ref}")
        if len(rows) > 1:
            ids = ", ".join(str(r["id"]) for r in rows)
            raise InvalidInput(f"prefix {ref} matches several tokens (ids {ids}): use the id")
        return self._row(rows[0])

    def revoke(
        self, ref: str, *, actor: str = USER_AGENT, interactive: bool = True
    ) -> tuple[TokenInfo, bool]:
        """Revoke one token; returns it and whether this call revoked it (False: it already was).

        The next request carrying it is refused, by every server process sharing the file.
        """
        found = self.find(ref)
        with self.backend.write_transaction(self.lock) as conn:
            return self._revoke(conn, found.id, actor, interactive)

    def revoke_agent(
        self, agent: str, *, actor: str = USER_AGENT, interactive: bool = True
    ) -> list[TokenInfo]:
        """Revoke every active token of one agent; returns the ones this call revoked."""
        agent = check_agent_name(agent)
        with self.backend.write_transaction(self.lock) as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "select id from agent_tokens where agent = ? and revoked_at is null "
                    "order by id",
                    (agent,),
                )
            ]
            return [self._revoke(conn, token_id, actor, interactive)[0] for token_id in ids]

    def _revoke(
        self, conn: db.Connection, token_id: int, actor: str, interactive: bool = True
    ) -> tuple[TokenInfo, bool]:
        """Inside the caller's write transaction, with its audit entry."""
        cur = conn.execute(
            "update agent_tokens set revoked_at = ?, revoked_by = ? "
            "where id = ? and revoked_at is null",
            (time.time(), actor, token_id),
        )
        sql = f"select {_COLUMNS} from agent_tokens where id = ?"
        row = conn.execute(sql, (token_id,)).fetchone()
        changed = cur.rowcount == 1
        if changed:
            audit.append(
                conn,
                actor=actor,
                action="token_revoke",
                data={
                    "token_id": token_id,
                    "agent": row["agent"],
                    "prefix": row["prefix"],
                    "interactive": interactive,
                },
            )
        return self._row(row), changed

    # ---- the server's side -----------------------------------------------------------------

    def authenticate(self, secret: str, *, now: float | None = None) -> TokenInfo:
        """The active token behind `secret`, or InvalidToken saying why not. Reads the
        database every time: a revoke committed by any process is seen by the next call."""
        secret = check_secret(secret)
        digest = token_hash(secret)
        with self.lock:
            row = self.conn.execute(
                f"select {_COLUMNS}, token_hash from agent_tokens where token_hash = ?", (digest,)
            ).fetchone()
        if row is None or not hmac.compare_digest(row["token_hash"], digest):
            raise InvalidToken("unknown bearer token")
        info = self._row(row)
        if not info.active:
            raise InvalidToken("bearer token revoked")
        now = now if now is not None else time.time()
        if info.last_used_at is None or now - info.last_used_at >= LAST_USED_EVERY_S:
            self._touch(info.id, now)
        return info

    def is_active(self, token_id: int) -> bool:
        """Whether the token exists and is not revoked, read from the database now: an open
        stream asks this while it runs, so a revoke by any process reaches it."""
        with self.lock:
            row = self.conn.execute(
                "select revoked_at from agent_tokens where id = ?", (token_id,)
            ).fetchone()
        return row is not None and row[0] is None

    def _touch(self, token_id: int, now: float) -> None:
        """Best effort and never waiting: while someone else holds the write lock (an erase,
        an import) the request goes on unrecorded, and this process tries again only after
        LAST_USED_EVERY_S, so a locked database costs one failed BEGIN a minute per token,
        not a busy-timeout wait on every request (requests queue on self.lock)."""
        with self.lock:
            if now - self._touch_tried.get(token_id, float("-inf")) < LAST_USED_EVERY_S:
                return
            self._touch_tried[token_id] = now
            try:
                with (
                    self.backend.short_lock_timeout(),
                    self.backend.write_transaction(self.lock, retries=1) as conn,
                ):
                    conn.execute(
                        "update agent_tokens set last_used_at = ? where id = ? "
                        "and (last_used_at is null or last_used_at < ?)",
                        (now, token_id, now),
                    )
            except StorageError:  # someone else holds the write lock: next minute, then
                pass
