"""How many streamable-HTTP sessions each identity may hold open, and when an idle one ends.

Every session the SDK opens keeps a server task and its streams until the client ends it;
a client that opens sessions and never closes them (400 stayed open in a test) grows the
server without bound. The SDK's own `max_sessions` is one pool for the whole server, so one
caller could take every slot. This ASGI layer sits between BearerTokenMiddleware (which says
who is calling) and the MCP app and keeps a count per identity: the token's agent, or, for
callers without a token (loopback only), one shared pool. A request that would open one
session too many is refused before the SDK sees it, with HTTP 429 and a JSON-RPC error
that says why and what to do.

A session is idle while no request of it is in flight (an open event stream counts as in
flight, exactly as in the SDK). After `idle_s` idle it is expired: forgotten here, its id
answers 404 (so the client initializes a new one, as the protocol says), and the SDK,
given the same timeout, ends its task. The clock is injectable, so tests need no sleeps.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_memory.server.auth import SCOPE_KEY

SESSIONS_PER_IDENTITY = 32
"""Concurrent HTTP sessions one identity may hold: one per client window is the normal
use, so this leaves room for many windows and restarts, but not for a flood."""
SESSION_IDLE_S = 30 * 60
"""A session with no request in flight for this long is closed. Clients that hold an event
stream open are never idle; others initialize a new session on the 404, as the spec says."""
MAX_SESSIONS = 1024
"""The SDK's own cap for the whole server, a backstop behind the per-identity one."""
MCP_PATH = "/mcp"
SESSION_HEADER = b"mcp-session-id"
INVALID_REQUEST = -32600  # JSON-RPC: the SDK answers unknown sessions with this code too


@dataclass
class _Session:
    identity: str | None  # whose pool it counts in: the token's agent, None without a token
    owner: int | None  # the token it was opened with: only that token's requests touch it
    last_active: float
    in_flight: int = 0


class SessionLimiter:
    """ASGI middleware: per-identity session cap and idle expiry for the MCP endpoint."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        per_identity: int = SESSIONS_PER_IDENTITY,
        idle_s: float = SESSION_IDLE_S,
        clock: Callable[[], float] = time.monotonic,
        path: str = MCP_PATH,
    ) -> None:
        if per_identity < 1 or idle_s <= 0:
            raise ValueError("per_identity must be >= 1 and idle_s > 0")
        self.app = app
        self.per_identity = per_identity
        self.idle_s = idle_s
        self.clock = clock
        self.path = path
        self.sessions: dict[str, _Session] = {}
        self._opening: Counter[str | None] = Counter()  # admitted, response not started yet
        self._ended: dict[str, float] = {}  # expired ids, kept until the SDK surely let go

    def open_count(self, identity: str | None) -> int:
        """Sessions `identity` holds now, counting ones being opened."""
        self._expire()
        held = sum(1 for s in self.sessions.values() if s.identity == identity)
        return held + self._opening[identity]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != self.path:
            await self.app(scope, receive, send)
            return
        self._expire()
        handle = _header(scope, SESSION_HEADER)
        if handle is None:
            if scope.get("method") == "POST" and _may_open_session(scope):
                await self._open(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        if handle in self._ended:
            await _error(send, 404, "Session not found (it expired after being idle)")
            return
        session = self.sessions.get(handle)
        if session is None or session.owner != _token_id(scope):
            await self.app(scope, receive, send)  # the SDK answers 404 for these
            return
        await self._serve(handle, session, scope, receive, send)

    async def _open(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = scope.get(SCOPE_KEY)
        identity = token.agent if token is not None else None
        held = self.open_count(identity)
        if held >= self.per_identity:
            await _error(send, 429, self._refusal(identity, held))
            return
        self._opening[identity] += 1
        opened: list[str] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and not opened:
                self._opening[identity] -= 1
                handle = _header(message, SESSION_HEADER)
                opened.append(handle or "")
                if handle and message["status"] < 400:
                    session = _Session(identity, _token_id(scope), self.clock(), in_flight=1)
                    self.sessions[handle] = session
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            if not opened:  # no response at all: the admission is void
                self._opening[identity] -= 1
            elif opened[0] in self.sessions:
                self._done(opened[0], self.sessions[opened[0]], None, scope)

    async def _serve(
        self, handle: str, session: _Session, scope: Scope, receive: Receive, send: Send
    ) -> None:
        session.in_flight += 1
        status: list[int] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self._done(handle, session, status[0] if status else None, scope)

    def _done(self, handle: str, session: _Session, status: int | None, scope: Scope) -> None:
        """A request of this session ended: it is idle again from now, or gone."""
        session.in_flight -= 1
        session.last_active = self.clock()
        ended = status == 404 or (scope.get("method") == "DELETE" and status in (200, 202, 204))
        if ended:  # the client closed it, or the SDK no longer knows it
            self.sessions.pop(handle, None)

    def _expire(self) -> None:
        now = self.clock()
        for handle, session in list(self.sessions.items()):
            if session.in_flight == 0 and now - session.last_active >= self.idle_s:
                del self.sessions[handle]
                self._ended[handle] = now
        for handle, when in list(self._ended.items()):
            if now - when >= self.idle_s:  # the SDK, on the same timeout, has closed it
                del self._ended[handle]

    def _refusal(self, identity: str | None, held: int) -> str:
        who = f"agent {identity!r}" if identity is not None else "callers without a token"
        return (
            f"too many open MCP sessions for {who} ({held} of {self.per_identity}): end one "
            f"(close the client, or HTTP DELETE with its Mcp-Session-Id) or wait, a session "
            f"idle for {self.idle_s / 60:g} minutes expires"
        )


def _header(holder: Scope | Message, name: bytes) -> str | None:
    for key, value in holder.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _may_open_session(scope: Scope) -> bool:
    """A POST without a session id opens one unless it speaks the 2026-07-28 protocol, whose
    requests are stateless: the SDK routes on this same header."""
    version = _header(scope, b"mcp-protocol-version")
    return version is None or version in HANDSHAKE_PROTOCOL_VERSIONS


def _token_id(scope: Scope) -> int | None:
    token = scope.get(SCOPE_KEY)
    return token.id if token is not None else None


async def _error(send: Send, status: int, message: str) -> None:
    """A JSON-RPC error with no request id (the body was not read), like the SDK's own."""
    body: dict[str, Any] = {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": INVALID_REQUEST, "message": message},
    }
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
