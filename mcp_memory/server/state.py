"""What the tools share for the server's lifetime, and who each call comes from.

Its own module so that both create_server (which builds it) and the tools (which read it)
can depend on it without depending on each other.
"""

from __future__ import annotations

import uuid
import weakref

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from mcp_memory.config import ANONYMOUS_AGENT, USER_AGENT
from mcp_memory.models import Actor
from mcp_memory.server.auth import request_token
from mcp_memory.store import MemoryStore
from mcp_memory.validation import identity_text


class ServerState:
    """What the tools share: the store, the fixed agent name (if any), session ids."""

    def __init__(
        self, store: MemoryStore, agent: str | None, *, token_required: bool = False
    ) -> None:
        self.store = store
        self.agent = agent
        self.token_required = token_required
        self.sessions: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()

    def actor(self, ctx: Context) -> Actor:
        """Who is calling. A bearer token, when the HTTP request carried one, is the whole
        answer: neither --agent nor the client's self-chosen clientInfo.name can override it."""
        params = ctx.session.client_params
        info = params.client_info if params is not None else None
        client_name = identity_text(info.name if info else "", 128)
        token = request_token(ctx.request_context.request)
        if token is not None:
            name = token.agent
        elif self.token_required:  # the HTTP layer refuses these first; never fall back
            raise ToolError("this server requires a bearer token")
        else:
            name = identity_text(self.agent or "", 128) or client_name or ANONYMOUS_AGENT
        # Cleaned before this check, so "us\x00er" cannot become the human's identity.
        if name == USER_AGENT:  # the human's identity is the CLI's alone
            name = "mcp:user"
        session = self.sessions.setdefault(ctx.session, uuid.uuid4().hex[:16])
        return Actor(
            agent=name[:128],
            client_name=client_name,
            client_version=identity_text(info.version or "", 64) if info else "",
            session_id=session,
        )
