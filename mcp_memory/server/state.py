"""What the tools share for the server's lifetime, and who each call comes from.

Its own module so that both create_server (which builds it) and the tools (which read it)
can depend on it without depending on each other.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
import uuid
from collections.abc import Callable

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER

from mcp_memory.config import ANONYMOUS_AGENT, USER_AGENT
from mcp_memory.errors import (
    DatabaseReadOnly,
    DatabaseUnusable,
    InvalidToken,
    StorageError,
)
from mcp_memory.models import Actor
from mcp_memory.server.auth import request_token
from mcp_memory.storage import storage_error
from mcp_memory.store import MemoryStore
from mcp_memory.tokens import TokenInfo, TokenStore
from mcp_memory.trust.agents import unverified_name
from mcp_memory.validation import identity_text

log = logging.getLogger("mcp_memory")


# Opens the store; handed the store it replaces (None at first), whose loaded model it reuses.
Opener = Callable[[MemoryStore | None], MemoryStore]
Worker = Callable[[MemoryStore, threading.Event], threading.Thread]
SHUTDOWN_WAIT_S = 15.0


class ServerState:
    """What the tools share: the store, the claimed agent name (if any), the process's own
    token (stdio: MCP_MEMORY_TOKEN), session ids.

    One ServerState per lifespan: over stdio (and in-process clients) that is one client
    connection, over HTTP it is every session the server will serve.

    The store is opened at start, and if the database cannot be used then (corrupt, a
    folder where the file should be, an old read-only file) the server still starts: every
    call tries again and, until it can, fails with a ToolError that names the cause. A
    store whose database turns unusable or read-only under it is dropped the same way
    (`failed`), so fixing the file is enough: no client restart."""

    def __init__(
        self,
        store: MemoryStore | None,
        agent: str | None,
        *,
        token_required: bool = False,
        token: str | None = None,
        opener: Opener | None = None,
        worker: Worker | None = None,
    ) -> None:
        self.agent = agent
        self.token_required = token_required
        self._connection_session = uuid.uuid4().hex[:16]
        self._salt = secrets.token_bytes(16)
        self._secret = token
        self._opener = opener
        self._worker = worker
        self._guard = threading.Lock()
        self._store: MemoryStore | None = None
        self._dropped: MemoryStore | None = None
        self._running: list[tuple[threading.Event, threading.Thread]] = []
        self.tokens: TokenStore | None = None
        self.token: TokenInfo | None = None
        if store is not None:
            self._adopt(store)  # a wrong token stops the server before any client talks to it
        elif opener is not None:
            self._start()

    def _start(self) -> None:
        """Open at start, so the model loads and a wrong token stops the server at once; a
        database that cannot be used yet is logged once and left to the first call."""
        try:
            store = self._open()
        except StorageError as exc:
            log.warning("mcp-memory: %s; every tool answers with this until it is fixed", exc)
            return
        try:
            self._adopt(store)
        except StorageError as exc:
            store.close()
            log.warning("mcp-memory: %s; every tool answers with this until it is fixed", exc)

    @property
    def store(self) -> MemoryStore:
        return self.open_store()

    def open_store(self) -> MemoryStore:
        """The open store, opened now if it was not: ToolError (with the cause) if it cannot."""
        store = self._store
        if store is not None:
            return store
        with self._guard:
            if self._store is None:
                self._reopen()
            assert self._store is not None
            return self._store

    def _open(self) -> MemoryStore:
        """The opener's store; a failure of the driver's own comes out named (errors.py)."""
        if self._opener is None:
            raise StorageError("the memory database is closed")
        try:
            return self._opener(self._dropped)
        except Exception as exc:
            named = storage_error(exc)
            if named is None:
                raise
            raise named from exc

    def _reopen(self) -> None:
        try:
            store = self._open()
        except StorageError as exc:
            raise ToolError(str(exc)) from exc
        try:
            self._adopt(store)
        except InvalidToken as exc:
            store.close()
            raise ToolError(f"MCP_MEMORY_TOKEN: {exc}") from exc
        except StorageError as exc:
            store.close()
            raise ToolError(str(exc)) from exc
        self._dropped = None
        log.info("mcp-memory: the database can be used again")

    def _adopt(self, store: MemoryStore) -> None:
        tokens = TokenStore(store.conn, store.lock, backend=store.backend)
        try:
            self.token = tokens.authenticate(self._secret) if self._secret else None
        except Exception as exc:
            named = storage_error(exc)
            if named is None:
                raise
            raise named from exc
        self.tokens, self._store = tokens, store
        if self._worker is not None:
            stop = threading.Event()
            self._running.append((stop, self._worker(store, stop)))

    def failed(self, exc: StorageError) -> None:
        """After a call met an unusable database, or a read-only one that can now be written
        (a connection opened on a read-only file stays read-only after a chmod): let the
        next call open it afresh. A store handed in by the caller is theirs: never dropped."""
        store = self._store
        if self._opener is None or store is None:
            return
        if not isinstance(exc, DatabaseUnusable) and not (
            isinstance(exc, DatabaseReadOnly) and _writable_now(store)
        ):
            return
        with self._guard:
            if self._store is store:
                self._store, self._dropped = None, store
                for stop, _ in self._running:
                    stop.set()  # the old store closes when its last user lets go of it

    def close(self, own: bool) -> None:
        """Stop the background work (an embedding batch runs native ONNX threads: exiting
        under it aborts), then close the store if this server opened it."""
        for stop, thread in self._running:
            stop.set()
            thread.join(timeout=SHUTDOWN_WAIT_S)
        if own and self._store is not None:
            self._store.close()

    def process_token(self) -> TokenInfo | None:
        """The token this server process was started with, re-read on every call as HTTP
        requests are: a revoke by any process takes effect at the next tool call."""
        if self._secret is None:
            return None
        self.open_store()  # which checks the token, if it was not open yet
        if self.token is None or self.tokens is None:
            return None
        try:
            active = self.tokens.is_active(self.token.id)
        except StorageError as exc:  # fail closed: no call runs under an unchecked identity
            raise ToolError(f"cannot check this server's token: {exc}") from exc
        if not active:
            raise ToolError(
                f"this server's token ({self.token.prefix}..., agent {self.token.agent!r}) was "
                "revoked: put a new one (`mcp-memory agents token create`) in MCP_MEMORY_TOKEN "
                "and restart the client"
            )
        return self.token

    def actor(self, ctx: Context) -> Actor:
        """Who is calling. A token (the HTTP request's, else the process's MCP_MEMORY_TOKEN)
        is the whole answer: neither --agent nor the client's self-chosen clientInfo.name can
        override it. Without one the caller is unverified, and its claimed name is stored
        marked (`unverified:NAME`), a row of its own that starts at the anonymous prior."""
        params = ctx.session.client_params
        info = params.client_info if params is not None else None
        client_name = identity_text(info.name if info else "", 128)
        token = request_token(ctx.request_context.request) or self.process_token()
        if token is not None:
            name = token.agent
        elif self.token_required:  # the HTTP layer refuses these first; never fall back
            raise ToolError("this server requires a bearer token")
        else:
            claimed = identity_text(self.agent or "", 128) or client_name or ANONYMOUS_AGENT
            name = unverified_name(claimed)
        # Cleaned before this check, so "us\x00er" cannot become the human's identity.
        if name == USER_AGENT:  # the human's identity is the CLI's alone
            name = "mcp:user"
        session = self.session_id(ctx)
        return Actor(
            agent=name[:128],
            client_name=client_name,
            client_version=identity_text(info.version or "", 64) if info else "",
            session_id=session,
            verified=token is not None,
        )

    def session_id(self, ctx: Context) -> str:
        """The same id for every call of one MCP session, so "same session" context forms.

        Not `ctx.session`: the SDK builds a new ServerSession for every request. What does
        last a session: over streamable HTTP its `Mcp-Session-Id` header (recorded keyed-
        hashed, never as is: it is the session's handle), over stdio this lifespan, which
        serves that one connection. A stateless HTTP request (the 2026-07-28 protocol) has
        no session, so each is its own."""
        request = ctx.request_context.request
        headers = getattr(request, "headers", None)
        handle = headers.get(MCP_SESSION_ID_HEADER) if headers is not None else None
        if handle:
            return hashlib.blake2b(handle.encode(), key=self._salt, digest_size=8).hexdigest()
        if request is None:
            return self._connection_session
        return uuid.uuid4().hex[:16]


def _writable_now(store: MemoryStore) -> bool:
    """Whether reopening could help: the file is writable now (a `mode=ro` URI never is; a
    read-only mount says no even to root). PostgreSQL roles are not re-checked here."""
    if store.backend.kind != "sqlite" or str(store.settings.db_path).startswith("file:"):
        return False
    path = store.backend.database_file()
    return bool(path) and os.access(path, os.W_OK)
