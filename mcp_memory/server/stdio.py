"""stdio as the SDK serves it, with every incoming line checked first (wire.rejection).

The SDK's stdio transport drops a line it cannot read without a word (python-sdk #2751), so
the client that sent it waits on that id until it gives up. Here such a line is answered
with the JSON-RPC error and never reaches the SDK; the session goes on.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from io import TextIOWrapper
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import jsonrpc_message_adapter

from mcp_memory.server.wire import Rejection, rejection, report


@contextmanager
def _wire_stdin() -> Iterator[Any]:
    """Read the wire from a private copy of fd 0 and point fd 0 at the null device, as the
    SDK does for its own stdin: nothing else in the process, nor a child, can take a line
    meant for the server. Restored on exit."""
    try:
        private = os.dup(0)
        null = os.open(os.devnull, os.O_RDONLY)
    except OSError:  # no usable fd 0 to divert: read sys.stdin in place
        yield anyio.wrap_file(sys.stdin)
        return
    os.dup2(null, 0)
    os.close(null)
    try:
        # closefd=False: a worker thread may still block reading it after we return.
        wire = os.fdopen(private, "rb", closefd=False)
        yield anyio.wrap_file(TextIOWrapper(wire, encoding="utf-8", errors="replace"))
    finally:
        os.dup2(private, 0)


async def _checked(lines: Any, refusals: MemoryObjectSendStream[Rejection]) -> AsyncIterator[str]:
    """The lines the SDK can read; the others go to `refusals` to be answered."""
    async with refusals:
        async for line in lines:
            if not line.strip():
                continue
            found = rejection(line)
            if found is None:
                yield line
                continue
            report(found)
            if not found.silent:
                await refusals.send(found)


async def _answer(refusals: MemoryObjectReceiveStream[Rejection], write: Any) -> None:
    """Through the SDK's own writer, so an error line never interleaves with another reply."""
    async with refusals:
        async for found in refusals:
            message = jsonrpc_message_adapter.validate_python(found.reply(), by_name=False)
            try:
                await write.send(SessionMessage(message))
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                return  # the session ended (stdin closed) before the answer went out


async def serve_stdio(server: MCPServer) -> None:
    """MCPServer.run_stdio_async with checked input (the SDK has no hook for it)."""
    lowlevel = server._lowlevel_server
    send, receive = anyio.create_memory_object_stream[Rejection](16)
    with _wire_stdin() as wire:
        async with (
            stdio_server(stdin=_checked(wire, send)) as (read, write),  # type: ignore[arg-type]
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(_answer, receive, write)
            await lowlevel.run(read, write, lowlevel.create_initialization_options())
            tg.cancel_scope.cancel()
