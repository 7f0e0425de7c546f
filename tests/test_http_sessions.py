"""MCP sessions: one `session_id` per session on every transport, and a bounded number of
HTTP sessions per identity, each expiring when idle.

The session ids are checked against real servers (a stdio subprocess, an HTTP subprocess).
The cap and the expiry run the real HTTP stack (tokens, limiter, the SDK's app, uvicorn on
a loopback port) in this process, so the test owns the limiter's clock and never sleeps.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
from mcp import Client, StdioServerParameters
from mcp.types import Implementation

from mcp_memory import MemoryStore, Settings, TokenStore
from mcp_memory.server.app import create_server
from mcp_memory.server.http import asgi_app
from mcp_memory.server.sessions import SESSIONS_PER_IDENTITY

from .conftest import FakeEmbedder
from .test_http_auth import INIT, Start, client, serve  # noqa: F401 - `serve` is a fixture

pytestmark = pytest.mark.anyio
VERSION = {"mcp-protocol-version": "2025-06-18"}


def _sessions_by_content(db: Path) -> dict[str, str]:
    store = MemoryStore.open(settings=Settings(db_path=db), embedder=None)
    try:
        return {r.content: r.session_id for r in store.iter_records()}
    finally:
        store.close()


def _assert_one_id_per_session(db: Path, sessions: list[list[str]]) -> None:
    ids = _sessions_by_content(db)
    per_session = [{ids[content] for content in writes} for writes in sessions]
    assert all(len(one) == 1 and "" not in one for one in per_session), per_session
    assert len(set.union(*per_session)) == len(sessions), per_session


async def test_writes_in_one_stdio_session_share_a_session_id_and_other_sessions_do_not(
    tmp_path: Path,
) -> None:
    db = tmp_path / "stdio.db"
    env = {**os.environ, "MCP_MEMORY_DB": str(db), "MCP_MEMORY_MODEL_DIR": str(tmp_path / "no")}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_memory", "serve"], env=env, cwd=str(tmp_path)
    )
    sessions = [
        ["Stdio session one writes about ports", "Stdio session one writes about logs"],
        ["Stdio session two writes about caches", "Stdio session two writes about queues"],
    ]
    for writes in sessions:
        async with Client(params, client_info=Implementation(name="codex", version="1")) as c:
            for content in writes:
                stored = await c.call_tool("remember", {"content": content})
                assert stored.structured_content["status"] == "stored", stored.content
    _assert_one_id_per_session(db, sessions)


async def test_writes_in_one_http_session_share_a_session_id_and_other_sessions_do_not(
    serve: Start,  # noqa: F811 - the fixture imported above
) -> None:
    server = serve()
    sessions = [
        ["HTTP session one writes about ports", "HTTP session one writes about logs"],
        ["HTTP session two writes about caches", "HTTP session two writes about queues"],
        ["HTTP session three writes about locks", "HTTP session three writes about pools"],
    ]
    token = server.token("alice")
    for writes, bearer in zip(sessions, (None, None, token), strict=True):
        async with client(server.url, bearer, mode="legacy") as c:
            for content in writes:
                stored = await c.call_tool("remember", {"content": content})
                assert stored.structured_content["status"] == "stored", stored.content
    _assert_one_id_per_session(server.db, sessions)


async def test_a_running_server_refuses_one_session_too_many_per_identity_by_default(
    serve: Start,  # noqa: F811
) -> None:
    server = serve()
    alice = {"Authorization": f"Bearer {server.token('alice')}"}
    for _ in range(SESSIONS_PER_IDENTITY):
        status, headers, _ = server.post(alice)
        assert status == 200 and headers["mcp-session-id"]
    status, headers, body = server.post(alice)
    assert status == 429 and "mcp-session-id" not in headers
    assert "too many open MCP sessions for agent 'alice'" in json.loads(body)["error"]["message"]
    status, headers, _ = server.post({})  # callers without a token have their own pool
    assert status == 200 and headers["mcp-session-id"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Loopback:
    """The whole HTTP stack of `serve --transport http`, on a loopback port of this process."""

    def __init__(self, base: str, tokens: TokenStore, http: httpx2.AsyncClient) -> None:
        self.url, self.tokens, self.http = base + "/mcp", tokens, http

    def bearer(self, agent: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.create(agent).secret}"}

    async def open(self, auth: dict[str, str]) -> httpx2.Response:
        return await self.http.post(self.url, json=INIT, headers=auth)

    async def ping(self, auth: dict[str, str], session: str) -> int:
        ping = {"jsonrpc": "2.0", "id": 7, "method": "ping"}
        headers = {**auth, **VERSION, "mcp-session-id": session}
        return (await self.http.post(self.url, json=ping, headers=headers)).status_code

    async def close(self, auth: dict[str, str], session: str) -> int:
        headers = {**auth, **VERSION, "mcp-session-id": session}
        return (await self.http.delete(self.url, headers=headers)).status_code


@asynccontextmanager
async def loopback(tmp_path: Path, clock: Clock, cap: int) -> AsyncIterator[Loopback]:
    settings = Settings(db_path=tmp_path / "loop.db", project="proj")
    store = MemoryStore.open(settings=settings, embedder=FakeEmbedder(), root=tmp_path)
    tokens = TokenStore.open(settings.db_path)
    app = asgi_app(
        create_server(settings, store=store),
        tokens,
        host="127.0.0.1",
        required=False,
        per_identity=cap,
        idle_s=60,
        clock=clock,
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections queue here until uvicorn has started: no polling
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    headers = {"accept": "application/json, text/event-stream"}
    try:
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(server.serve, [sock])
                async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
                    yield Loopback(base, tokens, http)
                server.should_exit = True
    finally:
        sock.close()
        tokens.close()
        store.close()


def _refused_as_too_many(response: httpx2.Response, who: str) -> bool:
    error: dict[str, Any] = response.json()["error"]
    return (
        response.status_code == 429
        and "mcp-session-id" not in response.headers
        and f"too many open MCP sessions for {who} (2 of 2)" in error["message"]
        and error["code"] == -32600
    )


async def test_each_identity_holds_at_most_its_cap_of_sessions_and_the_next_is_refused(
    tmp_path: Path,
) -> None:
    async with loopback(tmp_path, Clock(), cap=2) as loop:
        alice, bob = loop.bearer("alice"), loop.bearer("bob")
        first, second = [(await loop.open(alice)).headers["mcp-session-id"] for _ in range(2)]
        assert _refused_as_too_many(await loop.open(alice), "agent 'alice'")
        assert _refused_as_too_many(await loop.open(loop.bearer("alice")), "agent 'alice'")
        assert (await loop.open(bob)).status_code == 200  # another identity, another pool
        assert [(await loop.open({})).status_code for _ in range(2)] == [200, 200]
        assert _refused_as_too_many(await loop.open({}), "callers without a token")
        # Bob naming Alice's session is refused by the SDK and frees none of her slots.
        assert await loop.ping(bob, first) == 404
        assert _refused_as_too_many(await loop.open(alice), "agent 'alice'")
        assert await loop.close(alice, first) == 200  # ending one makes room for one
        assert await loop.ping(alice, first) == 404
        assert (await loop.open(alice)).status_code == 200
        assert _refused_as_too_many(await loop.open(alice), "agent 'alice'")
        assert await loop.ping(alice, second) == 200


async def test_idle_sessions_expire_and_free_their_slots_but_an_open_stream_keeps_one(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with loopback(tmp_path, clock, cap=2) as loop:
        alice = loop.bearer("alice")
        idle, streaming = [(await loop.open(alice)).headers["mcp-session-id"] for _ in range(2)]
        clock.now += 59
        assert await loop.ping(alice, idle) == 200  # in use: the idle time starts again
        assert _refused_as_too_many(await loop.open(alice), "agent 'alice'")
        get = {**alice, **VERSION, "mcp-session-id": streaming, "accept": "text/event-stream"}
        async with loop.http.stream("GET", loop.url, headers=get) as stream:
            assert stream.status_code == 200
            clock.now += 60  # `idle` has been idle this long; `streaming` is in flight
            assert await loop.ping(alice, idle) == 404  # expired: the client starts anew
            assert (await loop.open(alice)).status_code == 200  # its slot is free again
            assert _refused_as_too_many(await loop.open(alice), "agent 'alice'")
            assert await loop.ping(alice, streaming) == 200


def test_the_documented_session_limits_are_the_ones_enforced() -> None:
    from mcp_memory.server.sessions import SESSION_IDLE_S

    root = Path(__file__).resolve().parent.parent
    for doc in ("README.md", "docs/http-auth.md"):
        text = (root / doc).read_text(encoding="utf-8")
        assert f"at most {SESSIONS_PER_IDENTITY}" in text, doc
        assert f"idle for {SESSION_IDLE_S // 60} minutes" in text, doc
