"""MCP resources and prompts over the store: recent memories, one memory by id, a priming prompt.

Only the registration lives here; what they show comes from mcp_memory.context, which the
`mcp-memory context` hook uses without loading the MCP SDK. Everything is read-only and
fences memory text as data, like recall does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.server.mcpserver.prompts.base import UserMessage
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from mcp_memory.context import (
    context_text,
    memories_for,
    readable_memory,
    recent_memories,
    record_text,
)
from mcp_memory.errors import NotFound
from mcp_memory.models import MemoryRecord
from mcp_memory.store import MemoryStore

StoreOf = Callable[[Any], MemoryStore]
_lifespan_state: ContextVar[Any] = ContextVar("mcp_memory_lifespan_state")
log = logging.getLogger("mcp_memory")


def default_store_of(state: Any) -> MemoryStore:
    return state.store


async def _bind_state(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Static resources get no Context in the SDK; this lets them reach the lifespan state."""
    token = _lifespan_state.set(ctx.lifespan_context)
    try:
        return await call_next(ctx)
    finally:
        _lifespan_state.reset(token)


def register_extras(server: MCPServer, store_of: StoreOf = default_store_of) -> None:
    """Add resources and the prime_session prompt. store_of maps the lifespan state to the store."""
    server.middleware.append(_bind_state)
    server.middleware.append(_unknown_prompt_guard(server))
    _register_resources(server, store_of)
    _register_prompts(server, store_of)


def _unknown_prompt_guard(server: MCPServer) -> Callable[..., Any]:
    """The SDK answers an unknown prompt name with error code 0 and logs a full traceback; it
    is the caller's mistake, so it gets -32602 (Invalid params) and one line on stderr."""

    async def guard(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        name = ctx.params.get("name") if isinstance(ctx.params, Mapping) else None
        if (
            ctx.method == "prompts/get"
            and isinstance(name, str)
            and name not in {prompt.name for prompt in await server.list_prompts()}
        ):
            log.warning("mcp-memory: prompts/get for an unknown prompt %r", name)
            raise MCPError(INVALID_PARAMS, f"Unknown prompt: {name}")
        return await call_next(ctx)

    return guard


def _current_store(store_of: StoreOf) -> MemoryStore:
    return store_of(_lifespan_state.get())


def _served_memory(store: MemoryStore, memory_id: str) -> MemoryRecord:
    """The SDK answers a missing resource by its own error type, not by ours."""
    try:
        return readable_memory(store, memory_id)
    except NotFound as exc:
        raise ResourceNotFoundError(str(exc)) from None


def _register_resources(server: MCPServer, store_of: StoreOf) -> None:
    @server.resource(
        "memory://recent",
        name="recent-memories",
        mime_type="text/plain",
        description="Recent, trusted memories of the current project, fenced as data",
    )
    async def recent() -> str:
        store = _current_store(store_of)
        result = await anyio.to_thread.run_sync(lambda: recent_memories(store))
        return context_text(result, store.settings.project)

    @server.resource(
        "memory://recent.json",
        name="recent-memories-json",
        mime_type="application/json",
        description="Recent, trusted memories of the current project as JSON",
    )
    async def recent_json() -> str:
        store = _current_store(store_of)
        result = await anyio.to_thread.run_sync(lambda: recent_memories(store))
        return result.model_dump_json(indent=2)

    @server.resource(
        "memory://{id}",
        name="memory",
        mime_type="text/plain",
        description="One memory with its provenance (never quarantined or forgotten)",
    )
    async def one(id: str, ctx: Context) -> str:
        store = store_of(ctx.request_context.lifespan_context)
        record = await anyio.to_thread.run_sync(lambda: _served_memory(store, id))
        return record_text(record)


def _register_prompts(server: MCPServer, store_of: StoreOf) -> None:
    @server.prompt(
        title="Prime session with memory",
        description="Load this project's memories (or those about a topic) and the "
        "rules for when to remember, recall, link and forget",
    )
    async def prime_session(ctx: Context, topic: str | None = None) -> list[UserMessage]:
        store = store_of(ctx.request_context.lifespan_context)
        result = await anyio.to_thread.run_sync(lambda: memories_for(store, topic))
        return [UserMessage(context_text(result, store.settings.project, topic or None))]
