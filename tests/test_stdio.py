"""Once over a real stdio subprocess: the way Claude Code and Cursor run us."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
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


FIRST_NOTES = [
    "We run PostgreSQL 16 in production; schema changes go through alembic.",
    "The frontend is built with Vite and tested with Playwright.",
    "Deploys go through the release/* branches after CI is green.",
    "Release notes go in CHANGELOG.md before a version is tagged.",
    "Use ruff for lint and format; the line length is 100.",
]


@pytest.mark.slow
async def test_notes_written_the_moment_the_server_spawns_are_found_by_meaning(
    tmp_path: Path,
) -> None:
    """Agents recall at session start, while the model is still loading: those calls wait for
    it (bounded) instead of storing notes without vectors and answering on keywords."""
    if not os.environ.get("MCP_MEMORY_MODEL_DIR"):
        pytest.skip("needs the real model (MCP_MEMORY_MODEL_DIR)")
    env = {
        **os.environ,
        "MCP_MEMORY_DB": str(tmp_path / "first.db"),
        "MCP_MEMORY_CACHE_DIR": str(tmp_path / "cache"),  # a cold int8 copy: the slowest start
    }
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_memory", "serve"], env=env, cwd=str(tmp_path)
    )
    async with Client(params, client_info=Implementation(name="first-minute", version="1")) as c:
        results = []
        async with anyio.create_task_group() as tg:
            for note in FIRST_NOTES:

                async def write(text: str = note) -> None:
                    results.append(await c.call_tool("remember", {"content": text}))

                tg.start_soon(write)
        statuses = [(r.structured_content or {}).get("status") for r in results]
        assert statuses == ["stored"] * len(FIRST_NOTES), [r.content[0].text for r in results]
        found = await c.call_tool("recall", {"query": "what relational DB do we run?", "limit": 3})
    assert found.structured_content["mode"] == "hybrid"
    assert "PostgreSQL" in found.structured_content["results"][0]["content"]
