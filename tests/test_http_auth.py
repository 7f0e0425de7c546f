"""`serve --transport http` with bearer tokens, against a real server process.

Each test starts `python -m mcp_memory serve` and talks to it over TCP: the SDK client
for what a real agent does, raw HTTP for what only an attacker or a broken client sends.
The servers run keyword-only (no model) to keep start-up cheap.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import Implementation

from mcp_memory import MemoryStore, Settings, TokenStore, audit

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"},
    },
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    port: int
    db: Path
    log: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def token(self, agent: str) -> str:
        store = TokenStore.open(self.db)
        try:
            return store.create(agent).secret
        finally:
            store.close()

    def revoke(self, ref: str) -> None:
        """From another process, the way the human does it."""
        cli = [sys.executable, "-m", "mcp_memory", "agents", "token", "revoke", "--yes", ref]
        done = subprocess.run([*cli, "--db", str(self.db)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    def memories(self) -> list[Any]:
        store = MemoryStore.open(settings=Settings(db_path=self.db), embedder=None)
        try:
            return list(store.iter_records())
        finally:
            store.close()

    def post(
        self, headers: dict[str, str], body: dict[str, Any] | None = None, path: str = "/mcp"
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(
                "POST",
                path,
                body=json.dumps(body or INIT),
                headers={
                    "content-type": "application/json",
                    "accept": "application/json, text/event-stream",
                    **headers,
                },
            )
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()


Start = Callable[..., Server]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Start]:
    """Start servers on demand; each is stopped (terminate, by its own pid) at teardown."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str, host: str = "127.0.0.1", env: dict[str, str] | None = None) -> Server:
        server = Server(_free_port(), tmp_path / f"http-{len(procs)}.db")
        TokenStore.open(server.db).close()  # migrate up front, so tests can add tokens first
        full_env = {
            **os.environ,
            "MCP_MEMORY_DB": str(server.db),
            "MCP_MEMORY_MODEL_DIR": str(tmp_path / "no-model"),  # keyword-only: cheap start
            **(env or {}),
        }
        cmd = [sys.executable, "-m", "mcp_memory", "serve", "--transport", "http"]
        proc = subprocess.Popen(
            [*cmd, "--host", host, "--port", str(server.port), *args],
            env=full_env,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        procs.append(proc)
        assert proc.stderr is not None
        for line in proc.stderr:  # blocks until uvicorn says it is listening
            server.log.append(line)
            if "running on" in line.lower():
                break
        assert proc.poll() is None, "server exited early:\n" + "".join(server.log)
        # keep draining stderr so a chatty server never blocks on a full pipe
        threading.Thread(target=server.log.extend, args=(proc.stderr,), daemon=True).start()
        return server

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=15)


@asynccontextmanager
async def client(
    url: str, token: str | None = None, *, name: str = "cursor", mode: str = "legacy"
) -> AsyncIterator[Client]:
    """What a configured agent does: the token rides in every request's Authorization header."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(url, http_client=http)
        info = Implementation(name=name, version="1")
        async with Client(transport, mode=mode, client_info=info) as c:  # type: ignore[arg-type]
            yield c


async def refused(url: str, token: str | None, content: str, *, name: str = "cursor") -> bool:
    """True when the server would not let this client even start (the SDK raises, maybe
    wrapped in an exception group by the client's task group)."""
    try:
        async with client(url, token, name=name) as c:
            await c.call_tool("remember", {"content": content})
    except BaseException as exc:  # noqa: BLE001 - we inspect it
        leaves, todo = [], [exc]
        while todo:
            e = todo.pop()
            todo.extend(getattr(e, "exceptions", ()))
            leaves.append(e)
        return any(isinstance(e, (MCPError, httpx2.HTTPStatusError)) for e in leaves)
    return False


def _is_refusal(status: int, headers: dict[str, str], body: bytes) -> bool:
    return (
        status == 401
        and headers.get("www-authenticate", "").startswith("Bearer ")
        and headers.get("content-type") == "application/json"
        and bool(json.loads(body).get("error_description"))
        and "mcp-session-id" not in headers
    )


@pytest.mark.anyio
async def test_beyond_loopback_every_request_needs_a_valid_token_and_refusals_run_nothing(
    serve: Start,
) -> None:
    server = serve(host="0.0.0.0")
    good = server.token("alice")
    revoked = server.token("mallory")
    server.revoke(revoked[:13])
    for headers in (
        {},
        {"Authorization": "Bearer mcpm_" + "A" * 43},
        {"Authorization": f"Bearer {revoked}"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {good}"},
        {"Authorization": f"Bearer {good[:-1]}"},
        {"Authorization": f"Bearer {good} extra"},
    ):
        status, got, body = server.post(headers)
        assert _is_refusal(status, got, body), (headers, status, body)
    status, got, body = server.post({}, path="/anything-else")
    assert _is_refusal(status, got, body)
    for token in (None, revoked, "mcpm_" + "B" * 43):
        assert await refused(server.url, token, "must never be stored")
    assert server.memories() == []
    async with client(server.url, good) as c:
        stored = await c.call_tool("remember", {"content": "Alice may write from afar"})
    assert stored.structured_content["status"] == "stored"
    assert [m.agent for m in server.memories()] == ["alice"]
    assert not any("without authentication" in line for line in server.log)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_revoking_a_token_refuses_its_very_next_request_on_a_running_server(
    serve: Start, mode: str
) -> None:
    server = serve("--require-token")
    token = server.token("alice")
    async with client(server.url, token, mode=mode) as c:
        first = await c.call_tool("remember", {"content": "Written before the revoke"})
        assert first.structured_content["status"] == "stored"
        server.revoke(token)  # by the full token, from another process, server untouched
        with pytest.raises(MCPError):
            await c.call_tool("remember", {"content": "Written after the revoke"})
        with pytest.raises(MCPError):
            await c.call_tool("recall", {"query": "Written"})
    assert [m.content for m in server.memories()] == ["Written before the revoke"]
    status, headers, body = server.post({"Authorization": f"Bearer {token}"})
    assert _is_refusal(status, headers, body) and b"revoked" in body


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_tokens_agent_is_recorded_whatever_the_client_or_the_server_calls_itself(
    serve: Start, mode: str
) -> None:
    server = serve("--require-token", "--agent", "server-chosen", env={"MCP_MEMORY_AGENT": "env"})
    alice, human = server.token("alice"), server.token("user")
    async with client(server.url, alice, name="claude-code", mode=mode) as c:
        a = await c.call_tool("remember", {"content": "Alice's note on retries"})
        b = await c.call_tool("remember", {"content": "Alice's note on timeouts"})
        ids = {"source_id": a.structured_content["id"], "target_id": b.structured_content["id"]}
        await c.call_tool("link", {**ids, "relation": "related"})
        hits = (await c.call_tool("recall", {"query": "Alice note retries"})).structured_content
        assert hits["results"][0]["agent"] == "alice"
    async with client(server.url, human, name="user", mode=mode) as c:
        await c.call_tool("remember", {"content": "A token named user is not the human"})
    records = server.memories()
    assert {m.agent for m in records} == {"alice", "mcp:user"}
    assert {m.client_name for m in records} == {"claude-code", "user"}  # provenance kept
    store = TokenStore.open(server.db)
    links = audit.entries(store.conn, action="link")
    store.close()
    assert [e.actor for e in links] == ["alice"]
    assert any("server-chosen" in line and "ignored" in line for line in server.log)


@pytest.mark.anyio
async def test_loopback_without_require_token_serves_tokenless_clients_but_holds_token_bearers(
    serve: Start,
) -> None:
    server = serve()
    token = server.token("alice")
    async with client(server.url, name="cursor") as c:
        await c.call_tool("remember", {"content": "Cursor wrote this without a token"})
    async with client(server.url, token, name="cursor") as c:
        await c.call_tool("remember", {"content": "Alice wrote this with her token"})
    assert await refused(server.url, "mcpm_" + "C" * 43, "a wrong token is not ignored")
    assert sorted(m.agent for m in server.memories()) == ["alice", "unverified:cursor"]


@pytest.mark.anyio
async def test_the_require_token_environment_variable_protects_loopback_too(
    serve: Start,
) -> None:
    server = serve(env={"MCP_MEMORY_REQUIRE_TOKEN": "1"})
    status, headers, body = server.post({})
    assert _is_refusal(status, headers, body)
    assert any("no active token" in line for line in server.log)
    token = server.token("alice")  # created after start: works at once, no restart
    async with client(server.url, token) as c:
        await c.call_tool("remember", {"content": "Tokens made after start work"})
    assert [m.agent for m in server.memories()] == ["alice"]


def test_a_session_opened_with_one_token_cannot_be_used_with_another(serve: Start) -> None:
    server = serve("--require-token")
    alice, bob = server.token("alice"), server.token("bob")
    status, headers, _ = server.post({"Authorization": f"Bearer {alice}"})
    assert status == 200 and headers["mcp-session-id"]
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "remember", "arguments": {"content": "bob posing as alice"}},
    }
    session = {"mcp-session-id": headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
    owner = {"Authorization": f"Bearer {alice}", **session}
    ready = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert server.post(owner, ready)[0] == 202
    assert server.post({**owner, "Authorization": f"Bearer {bob}"}, call)[0] == 404
    assert server.memories() == []
    assert server.post(owner, call)[0] == 200  # the same call with the session's own token
    assert [m.agent for m in server.memories()] == ["alice"]


def test_a_nul_byte_in_the_header_is_refused_before_anything_runs(serve: Start) -> None:
    server = serve("--require-token")
    token = server.token("alice").encode()
    body = json.dumps(INIT).encode()
    raw = (
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
        b"Accept: application/json, text/event-stream\r\n"
        b"Authorization: Bearer " + token[:10] + b"\x00" + token[10:] + b"\r\n"
        b"Content-Length: %d\r\n\r\n"
    ) % (server.port, len(body))
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(raw + body)
        reply = sock.recv(65536)
    assert reply.split(b" ")[1] in (b"400", b"401"), reply[:200]
    assert b"mcp-session-id" not in reply.lower()
    assert server.memories() == []


def test_revoking_a_token_closes_its_open_event_stream_on_a_running_server(serve: Start) -> None:
    server = serve("--require-token")
    token = server.token("alice")
    status, headers, _ = server.post({"Authorization": f"Bearer {token}"})
    assert status == 200
    owner = {
        "Authorization": f"Bearer {token}",
        "mcp-session-id": headers["mcp-session-id"],
        "mcp-protocol-version": "2025-06-18",
    }
    assert server.post(owner, {"jsonrpc": "2.0", "method": "notifications/initialized"})[0] == 202
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", "/mcp", headers={**owner, "accept": "text/event-stream"})
        stream = conn.getresponse()
        assert stream.status == 200
        assert stream.getheader("content-type", "").startswith("text/event-stream")
        server.revoke(token[:13])
        deadline = time.monotonic() + 20
        while stream.readline():  # b"" once the server has ended the stream
            assert time.monotonic() < deadline, "the stream outlived the revoke"
    finally:
        conn.close()
    assert server.post(owner, {"jsonrpc": "2.0", "id": 3, "method": "ping"})[0] == 401
