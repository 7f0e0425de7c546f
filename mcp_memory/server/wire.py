"""JSON-RPC messages the SDK would drop or misread, answered with the error JSON-RPC asks for.

The SDK's stdio transport answers nothing to a message it cannot parse (python-sdk #2751), so
a client waits forever on that id; its HTTP transport answers -32602 with a pydantic dump, and
both read an object, boolean or null id as a notification, so the request is run and its
answer never sent. Both transports put `rejection` in front of the SDK: what it returns is
answered here, everything else goes through untouched.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import pydantic_core
from mcp_types import jsonrpc_message_adapter
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602

log = logging.getLogger("mcp_memory")


@dataclass(frozen=True)
class Rejection:
    code: int
    message: str
    id: str | int | None  # the message's own id when it had a usable one
    silent: bool = False  # a notification: JSON-RPC never answers one, not even to refuse it

    def reply(self) -> dict[str, Any]:
        return {
            "jsonrpc": "2.0",
            "id": self.id,
            "error": {"code": self.code, "message": self.message},
        }


def _usable_id(message: dict[str, Any]) -> str | int | None:
    """MCP ids are strings or integers, never null (JSON's true is not an integer here)."""
    value = message.get("id")
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return None


def _shape_problem(message: dict[str, Any]) -> tuple[int, str] | None:
    if message.get("jsonrpc") != "2.0":
        return INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"'
    # An error answer may carry a null id (JSON-RPC: the id it answers was unreadable).
    null_ok = "error" in message and "method" not in message and message.get("id") is None
    if "id" in message and _usable_id(message) is None and not null_ok:
        return INVALID_REQUEST, "Invalid Request: an id must be a string or an integer"
    if "method" in message and not isinstance(message["method"], str):
        return INVALID_REQUEST, 'Invalid Request: "method" must be a string'
    params = message.get("params")
    if isinstance(params, list):  # valid JSON-RPC, but every MCP method takes named params
        return INVALID_PARAMS, "Invalid params: MCP takes params by name (an object), not a list"
    if "method" in message and params is not None and not isinstance(params, dict):
        return INVALID_REQUEST, 'Invalid Request: "params" must be an object'
    return None


def rejection(raw: str | bytes) -> Rejection | None:
    """None when the SDK reads the message as what it is; otherwise the error to answer.

    A batch is refused as one Invalid Request: MCP dropped JSON-RPC batching (2025-06-18).
    """
    try:
        message = pydantic_core.from_json(raw)  # the SDK's parser: what it reads, we read
    except ValueError as exc:
        return Rejection(PARSE_ERROR, f"Parse error: {exc}", None)
    if isinstance(message, list):
        return Rejection(INVALID_REQUEST, "Invalid Request: batches are not supported", None)
    if not isinstance(message, dict):
        return Rejection(INVALID_REQUEST, "Invalid Request: a message must be an object", None)
    problem = _shape_problem(message)
    if problem is None:
        try:
            jsonrpc_message_adapter.validate_json(raw, by_name=False)
        except ValidationError:
            problem = (
                INVALID_REQUEST,
                "Invalid Request: not a JSON-RPC request, notification or response",
            )
    if problem is None:
        return None
    code, text = problem
    # Only a well-formed notification goes unanswered; a message too broken to tell what it
    # is gets an answer with a null id, as JSON-RPC's own examples do.
    silent = code == INVALID_PARAMS and "id" not in message
    return Rejection(code, text, _usable_id(message), silent)


def report(found: Rejection) -> None:
    """One line on stderr per refused message: the client got the details."""
    verb = "dropped" if found.silent else f"answered {found.code} to"
    log.warning("mcp-memory: %s an invalid message: %s", verb, found.message)


MAX_CHECKED_BODY = 4 * 1024 * 1024
"""The SDK's own body limit: a larger body is passed on unchecked, and the SDK answers 413."""


class MessageGuard:
    """ASGI middleware in front of the SDK's streamable-HTTP app: a POSTed message that
    `rejection` refuses is answered here, HTTP 400 with the JSON-RPC error (a notification
    too: over HTTP every POST gets a status, and the spec asks for 400 on one it cannot
    accept). Everything else reaches the SDK with its body intact."""

    def __init__(self, app: ASGIApp, *, path: str = "/mcp") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._checks(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more and size <= MAX_CHECKED_BODY:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([], False, receive, message), send)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
        found = None if more else rejection(b"".join(chunks))
        if found is None:
            await self.app(scope, _replay(chunks, more, receive), send)
            return
        report(found)
        await _json_response(send, 400, found.reply())

    def _checks(self, scope: Scope) -> bool:
        """Only what the SDK would parse: a JSON POST to the MCP endpoint (it answers the
        wrong method or media type itself)."""
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            return False
        headers = dict(scope.get("headers") or [])
        return headers.get(b"content-type", b"").split(b";")[0].strip() == b"application/json"


def _replay(
    chunks: list[bytes], more: bool, receive: Receive, first: Message | None = None
) -> Receive:
    """A receive that hands out the body read so far as one message, then the rest as it comes."""
    pending: list[Message] = [first] if first else []
    if not first:
        pending.append({"type": "http.request", "body": b"".join(chunks), "more_body": more})

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


async def _json_response(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
