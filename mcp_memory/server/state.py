"""What the tools share for the server's lifetime, and who each call comes from.

Its own module so that both create_server (which builds it) and the tools (which read it)
can depend on it without depending on each other.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER

from mcp_memory.config import ANONYMOUS_AGENT, USER_AGENT
from mcp_memory.errors import StorageError
from mcp_memory.models import Actor
from mcp_memory.server.auth import request_token
from mcp_memory.store import MemoryStore
from mcp_memory.tokens import TokenInfo, TokenStore
from mcp_memory.trust.agents import unverified_name
from mcp_memory.validation import identity_text


class ServerState:
    """What the tools share: the store, the claimed agent name (if any), the process's own
    token (stdio: MCP_MEMORY_TOKEN), session ids.

    One ServerState per lifespan: over stdio (and in-process clients) that is one client
    connection, over HTTP it is every session the server will serve."""

    def __init__(
        self,
        store: MemoryStore,
        agent: str | None,
        *,
        token_required: bool = False,
        token: str | None = None,
    ) -> None:
        self.store = store
        self.agent = agent
        self.token_required = token_required
        self._connection_session = uuid.uuid4().hex[:16]
        self._salt = secrets.token_bytes(16)
        self.tokens = TokenStore(store.conn, store.lock, backend=store.backend)
        # Checked now, so a wrong token stops the server before any client talks to it.
        self.token: TokenInfo | None = self.tokens.authenticate(token) if token else None

    def process_token(self) -> TokenInfo | None:
        """The token this server process was started with, re-read on every call as HTTP
        requests are: a revoke by any process takes effect at the next tool call."""
        if self.token is None:
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
