"""Once over a real stdio subprocess: the way Claude Code and Cursor run us."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.types import Implementation

pytestmark = pytest.mark.anyio


async def test_the_server_answers_over_real_stdio_and_keeps_stdout_clean(tmp_path: Path) -> None:
    env = {**os.environ, "MCP_MEMORY_DB": str(tmp_path / "stdio.db"), "MCP_MEMORY_AGENT": "codex"}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_memory", "serve"], env=env, cwd=str(tmp_path)
    )
    async with Client(params, client_info=Implementation(name="stdio-test", version="1")) as c:
        r = await c.call_tool("remember", {"content": "The stdio transport works end to end"})
        assert not r.is_error, r.content
        assert r.structured_content["status"] == "stored"
        found = await c.call_tool("recall", {"query": "stdio transport"})
        hit = found.structured_content["results"][0]
        assert hit["id"] == r.structured_content["id"] and hit["agent"] == "unverified:codex"
        bad = await c.call_tool("remember", {"content": "   "})
        assert bad.is_error and "empty" in bad.content[0].text
