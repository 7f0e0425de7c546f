"""Streamable HTTP: one server, several clients, each its own agent."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client
from mcp.types import Implementation

from mcp_memory import MemoryStore, Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port, db = _free_port(), tmp_path / "http.db"
    env = {**os.environ, "MCP_MEMORY_DB": str(db)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_memory", "serve", "--transport", "http", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        for line in proc.stderr:  # blocks until uvicorn says it is listening
            if "running on" in line.lower() or proc.poll() is not None:
                break
        assert proc.poll() is None, "server exited early"
        yield f"http://127.0.0.1:{port}/mcp", db
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.anyio
async def test_each_http_client_is_its_own_agent(http_server: tuple[str, Path]) -> None:
    url, db = http_server
    async with Client(url, client_info=Implementation(name="cursor", version="1")) as a:
        first = await a.call_tool("remember", {"content": "HTTP clients share one memory"})
        assert first.structured_content["status"] == "stored"
    async with Client(url, client_info=Implementation(name="windsurf", version="2")) as b:
        found = await b.call_tool("recall", {"query": "HTTP clients share memory"})
        hits = found.structured_content["results"]
        assert hits and hits[0]["agent"] == "unverified:cursor"  # tokenless: a claimed name
        await b.call_tool("remember", {"content": "Windsurf also writes here"})
    store = MemoryStore.open(settings=Settings(db_path=db), embedder=None)
    assert {r.agent for r in store.iter_records()} == {
        "unverified:cursor",
        "unverified:windsurf",
    }
    store.close()


def test_the_http_server_binds_to_loopback_by_default() -> None:
    from typer.testing import CliRunner

    from mcp_memory.cli import app

    help_text = CliRunner().invoke(app, ["serve", "--help"]).output
    assert "127.0.0.1" in help_text


def test_only_loopback_addresses_count_as_private() -> None:
    from mcp_memory.server.http import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert not is_loopback("example.com")
