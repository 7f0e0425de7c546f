"""MCP resources and prompts over the store: recent memories, one memory by id, a priming prompt.

Only the registration lives here; what they show comes from mcp_memory.context, which the
`mcp-memory context` hook uses without loading the MCP SDK. Everything is read-only and
fences memory text as data, like recall does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.server.mcpserver.prompts.base import UserMessage
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS

from mcp_memory.context import (
    context_text,
    memories_for,
    readable_memory,
    recent_memories,
    record_text,
)
from mcp_memory.errors import MemoryStoreError, NotFound, StorageError
from mcp_memory.models import MemoryRecord
from mcp_memory.storage import storage_error
from mcp_memory.store import MemoryStore

StoreOf = Callable[[Any], MemoryStore]
T = TypeVar("T")
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


async def _served(state: Any, store_of: StoreOf, work: Callable[[MemoryStore], T]) -> T:
    """Run `work` on the store in a worker thread, failing as the tools do: a database that
    cannot be used (corrupt, read-only, locked, missing folder) is an error naming the cause,
    and the server drops the store so that a fixed file is used again without a restart.
    Left to the SDK, the client got "Error reading resource" and stderr a long traceback."""
    try:
        store = store_of(state)
        return await anyio.to_thread.run_sync(lambda: work(store))
    except ToolError as exc:  # the server state could not open the database
        raise MCPError(INTERNAL_ERROR, str(exc)) from None
    except NotFound as exc:  # the SDK answers a missing resource by its own error type
        raise ResourceNotFoundError(str(exc)) from None
    except MemoryStoreError as exc:
        named: StorageError | None = exc if isinstance(exc, StorageError) else None
        if named is None:
            raise
    except Exception as exc:
        named = storage_error(exc)
        if named is None:
            raise
    failed = getattr(state, "failed", None)
    if failed is not None:
        failed(named)
    log.warning("mcp-memory: %s", named)
    raise MCPError(INTERNAL_ERROR, str(named))


def _memory_text(store: MemoryStore, memory_id: str) -> str:
    record: MemoryRecord = readable_memory(store, memory_id)
    return record_text(record)


def _register_resources(server: MCPServer, store_of: StoreOf) -> None:
    @server.resource(
        "memory://recent",
        name="recent-memories",
        mime_type="text/plain",
        description="Recent, trusted memories of the current project, fenced as data",
    )
    async def recent() -> str:
        return await _served(
            _lifespan_state.get(),
            store_of,
            lambda store: context_text(recent_memories(store), store.settings.project),
        )

    @server.resource(
        "memory://recent.json",
        name="recent-memories-json",
        mime_type="application/json",
        description="Recent, trusted memories of the current project as JSON",
    )
    async def recent_json() -> str:
        return await _served(
            _lifespan_state.get(),
            store_of,
            lambda store: recent_memories(store).model_dump_json(indent=2),
        )

    @server.resource(
        "memory://{id}",
        name="memory",
        mime_type="text/plain",
        description="One memory with its provenance (never quarantined or forgotten)",
    )
    async def one(id: str, ctx: Context) -> str:
        state = ctx.request_context.lifespan_context
        return await _served(state, store_of, lambda store: _memory_text(store, id))


def _register_prompts(server: MCPServer, store_of: StoreOf) -> None:
    @server.prompt(
        title="Prime session with memory",
        description="Load this project's memories (or those about a topic) and the "
        "rules for when to remember, recall, link and forget",
    )
    async def prime_session(ctx: Context, topic: str | None = None) -> list[UserMessage]:
        def primer(store: MemoryStore) -> str:
            return context_text(memories_for(store, topic), store.settings.project, topic or None)

        text = await _served(ctx.request_context.lifespan_context, store_of, primer)
        return [UserMessage(text)]
