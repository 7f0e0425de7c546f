"""Invalid JSON-RPC gets the JSON-RPC error, on both transports, and the session goes on.

Over stdio the SDK alone answers nothing to a line it cannot read (python-sdk #2751), and
over HTTP it answers -32602 with a pydantic dump; both read an object id as a notification,
so the request runs and its answer is never sent. These tests speak raw JSON-RPC to real
server processes, the way a client with a bug (or a fuzzer) would.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream
from mcp import Client
from mcp.shared.exceptions import MCPError

from mcp_memory import MemoryStore
from mcp_memory.server.app import create_server
from mcp_memory.server.wire import rejection

from .test_http_auth import INIT, Start, serve  # noqa: F401 - `serve` is a fixture

INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
REMEMBER = {"name": "remember", "arguments": {"content": "an object id must not run this"}}

# (raw line, JSON-RPC error code, id in the answer)
INVALID = [
    ("{bad json", -32700, None),
    ('[{"jsonrpc":"2.0","id":3,"method":"ping"}]', -32600, None),
    ('"just a string"', -32600, None),
    ('{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', -32600, None),
    ('{"jsonrpc":"2.0","id":true,"method":"ping"}', -32600, None),
    ('{"jsonrpc":"2.0","id":null,"method":"ping"}', -32600, None),
    ('{"jsonrpc":"2.0","id":1.5,"method":"ping"}', -32600, None),
    ('{"jsonrpc":"2.0","id":4,"method":"tools/list","params":[1]}', -32602, 4),
    ('{"jsonrpc":"2.0","id":5,"method":"ping","params":7}', -32600, 5),
    ('{"jsonrpc":"2.0","id":"six","method":42}', -32600, "six"),
    ('{"id":7,"method":"ping"}', -32600, 7),
    ('{"jsonrpc":"2.0","id":8}', -32600, 8),
]


def no_model(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "MCP_MEMORY_MODEL_DIR": str(tmp_path / "no-model")}


# ---- which messages are refused, and how -----------------------------------------------------


@pytest.mark.parametrize(("line", "code", "id"), INVALID, ids=[c[0][:40] for c in INVALID])
def test_each_invalid_message_is_refused_with_its_json_rpc_code_and_id(
    line: str, code: int, id: Any
) -> None:
    found = rejection(line)
    assert found is not None and (found.code, found.id, found.silent) == (code, id, False)
    assert found.reply() == {"jsonrpc": "2.0", "id": id, "error": found.reply()["error"]}


@pytest.mark.parametrize(
    "message",
    [
        INIT,
        INITIALIZED,
        {"jsonrpc": "2.0", "id": "a", "method": "ping", "params": None},
        {"jsonrpc": "2.0", "id": 9, "result": {}},
        {"jsonrpc": "2.0", "id": 9, "error": {"code": -1, "message": "client says no"}},
        {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "unreadable"}},
    ],
)
def test_every_message_the_sdk_reads_as_what_it_is_passes_untouched(
    message: dict[str, Any],
) -> None:
    assert rejection(json.dumps(message)) is None


def test_a_notification_with_list_params_is_dropped_without_an_answer() -> None:
    found = rejection('{"jsonrpc":"2.0","method":"notifications/initialized","params":[]}')
    assert found is not None and found.silent


# ---- stdio ---------------------------------------------------------------------------------


class RawStdio:
    def __init__(self, proc: Process) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.proc = proc
        self.out = BufferedByteReceiveStream(proc.stdout)

    async def send(self, line: str | dict[str, Any]) -> None:
        text = line if isinstance(line, str) else json.dumps(line)
        assert self.proc.stdin is not None
        await self.proc.stdin.send(text.encode() + b"\n")

    async def receive(self) -> dict[str, Any]:
        with anyio.fail_after(30):  # no answer at all is the bug this guards against
            return json.loads(await self.out.receive_until(b"\n", 1 << 20))


@pytest.mark.anyio
async def test_over_stdio_every_invalid_line_is_answered_and_the_session_goes_on(
    tmp_path: Path,
) -> None:
    env = {**no_model(tmp_path), "MCP_MEMORY_DB": str(tmp_path / "stdio.db")}
    cmd = [sys.executable, "-m", "mcp_memory", "serve"]
    async with await anyio.open_process(cmd, env=env, cwd=tmp_path) as proc:
        wire = RawStdio(proc)
        await wire.send(INIT)
        assert "result" in await wire.receive()
        await wire.send(INITIALIZED)
        for line, code, id in INVALID:
            await wire.send(line)
            answer = await wire.receive()
            assert (answer["id"], answer["error"]["code"]) == (id, code), (line, answer)
        await wire.send('{"jsonrpc":"2.0","method":"notifications/initialized","params":[1]}')
        await wire.send(
            {"jsonrpc": "2.0", "id": 20, "method": "prompts/get", "params": {"name": "x"}}
        )
        assert (await wire.receive())["error"]["code"] == -32602  # not the SDK's 0
        await wire.send({"jsonrpc": "2.0", "id": 21, "method": "tools/call", "params": REMEMBER})
        stored = await wire.receive()  # the notification above got nothing: this is id 21
        assert stored["id"] == 21 and stored["result"]["structuredContent"]["status"] == "stored"
        assert proc.stdin is not None and proc.stderr is not None
        await proc.stdin.aclose()
        with anyio.fail_after(30):
            errors = b"".join([chunk async for chunk in proc.stderr]).decode()
            await proc.wait()
    assert proc.returncode == 0
    assert errors.count("mcp-memory: answered") == len(INVALID)
    assert "unknown prompt 'x'" in errors and "Traceback" not in errors


# ---- in-process ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_unknown_prompt_is_invalid_params_and_a_known_one_still_renders(
    store: MemoryStore,
) -> None:
    async with Client(create_server(store=store), mode="auto") as c:
        with pytest.raises(MCPError) as refused:
            await c.get_prompt("no_such_prompt")
        primed = await c.get_prompt("prime_session", {"topic": "tests"})
    assert refused.value.code == -32602 and "no_such_prompt" in refused.value.message
    assert primed.messages


# ---- HTTP ----------------------------------------------------------------------------------


def post_raw(port: int, body: str, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            "/mcp",
            body=body.encode(),
            headers={
                "content-type": "application/json",
                "accept": "application/json, text/event-stream",
                **headers,
            },
        )
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_over_http_invalid_messages_get_400_with_the_json_rpc_error_and_nothing_runs(
    serve: Start,  # noqa: F811
) -> None:
    server = serve()
    status, headers, _ = server.post({})
    session = {"mcp-session-id": headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
    assert server.post(session, INITIALIZED)[0] == 202
    for line, code, id in INVALID:
        status, body = post_raw(server.port, line, session)
        answer = json.loads(body)
        assert (status, answer["id"], answer["error"]["code"]) == (400, id, code), (line, body)
        assert "pydantic" not in answer["error"]["message"]
    call = {"jsonrpc": "2.0", "id": {"n": 1}, "method": "tools/call", "params": REMEMBER}
    status, body = post_raw(server.port, json.dumps(call), session)
    assert status == 400 and json.loads(body)["error"]["code"] == -32600
    assert server.memories() == []  # refused, not run as a notification
    get = {"jsonrpc": "2.0", "id": 3, "method": "prompts/get", "params": {"name": "nope"}}
    status, _, body = server.post(session, get)
    assert status == 200 and b'"code":-32602' in body
    status, body = post_raw(server.port, json.dumps({**call, "id": 2}), session)
    assert status == 200 and b'"status":"stored"' in body.replace(b" ", b"")
    assert [m.content for m in server.memories()] == [REMEMBER["arguments"]["content"]]
