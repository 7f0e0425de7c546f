"""Running the server: stdio for the one client that started it, streamable HTTP for several,
with bearer tokens required beyond loopback (or with --require-token)."""

from __future__ import annotations

import ipaddress
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

import anyio
from mcp.server.mcpserver import MCPServer

from mcp_memory.config import Settings
from mcp_memory.render import plural
from mcp_memory.server.app import create_server
from mcp_memory.server.auth import BearerTokenMiddleware
from mcp_memory.server.sessions import (
    MAX_SESSIONS,
    SESSION_IDLE_S,
    SESSIONS_PER_IDENTITY,
    SessionLimiter,
)
from mcp_memory.server.stdio import serve_stdio
from mcp_memory.server.wire import MessageGuard
from mcp_memory.tokens import TokenStore

log = logging.getLogger("mcp_memory")


def configure_logging(level: int = logging.INFO) -> None:
    """stdout is JSON-RPC on stdio: every log line goes to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("mcp_memory")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False  # the SDK puts a rich handler on the root logger: say it once


def run(
    transport: Literal["stdio", "http"] = "stdio",
    *,
    settings: Settings | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
) -> None:
    configure_logging()
    settings = settings or Settings.from_env()
    if transport == "stdio":
        anyio.run(serve_stdio, create_server(settings))
        return
    if settings.token:  # one process-wide identity would vouch for every tokenless request
        log.warning(
            "mcp-memory: MCP_MEMORY_TOKEN is ignored over HTTP: each request sends its own "
            "`Authorization: Bearer <token>`."
        )
        settings = replace(settings, token=None)
    required = settings.require_token or not is_loopback(host)
    tokens = TokenStore.open(settings.db_path)
    try:
        _announce_auth(host, required, tokens.active_count(), settings.agent)
        server = create_server(settings, token_required=required)
        app = asgi_app(server, tokens, host=host, required=required)
        _serve_asgi(app, host, port, server.settings.log_level)
    finally:
        tokens.close()


def asgi_app(
    server: MCPServer,
    tokens: TokenStore,
    *,
    host: str,
    required: bool,
    per_identity: int = SESSIONS_PER_IDENTITY,
    idle_s: float = SESSION_IDLE_S,
    clock: Callable[[], float] = time.monotonic,
) -> BearerTokenMiddleware:
    """The HTTP stack, outermost first: bearer tokens (who is calling), the message guard
    (answers what the SDK would misread, wire.MessageGuard), the per-identity session cap
    (it needs to know who), the SDK's streamable-HTTP app, whose own idle timeout is ours so
    that a session we expire is also ended there. Tests pass a smaller cap and their own
    clock."""
    mcp_app = server.streamable_http_app(
        host=host, session_idle_timeout=idle_s, max_sessions=MAX_SESSIONS
    )
    limiter = SessionLimiter(mcp_app, per_identity=per_identity, idle_s=idle_s, clock=clock)
    return BearerTokenMiddleware(MessageGuard(limiter), tokens, required=required)


def _announce_auth(host: str, required: bool, active: int, agent: str | None) -> None:
    """One clear line on stderr about who may connect; the human reads it when starting."""
    if required:
        why = (
            "--require-token / MCP_MEMORY_REQUIRE_TOKEN"
            if is_loopback(host)
            else f"{host} is not a loopback address"
        )
        log.info(
            "mcp-memory: every HTTP request needs `Authorization: Bearer <token>` (%s); %s.",
            why,
            plural(active, "active token"),
        )
        if active == 0:
            log.warning(
                "mcp-memory: no active token exists, so every request will be refused (401). "
                "Create one with `mcp-memory agents token create NAME`; it works at once, "
                "no restart needed."
            )
        if agent:
            log.warning(
                "mcp-memory: --agent/MCP_MEMORY_AGENT %r is ignored: each request's agent is "
                "the one its token was created for.",
                agent,
            )
    elif active:
        log.info(
            "mcp-memory: loopback without --require-token: requests without a token are "
            "served unverified (as `unverified:NAME`, NAME from --agent, else the client's "
            "own name); a request that sends a token is held to it."
        )


def _serve_asgi(app: Any, host: str, port: int, log_level: str) -> None:
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level=log_level.lower())
    anyio.run(uvicorn.Server(config).serve)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
